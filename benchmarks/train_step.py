"""Cost of a stage-3 training step through a model's ``inputs`` (``stage3.through_inputs``).

Times the part of a stage-3 step that the routing changes: log-mel (and, routed, the
harmonic/percussive split and a second backbone pass) of a batch of anchor, positive and
negative segments, the network forward and the backward pass of a loss on the output,
for the bundled model's network and frontend:

* **floor**: every sub-space from the mix (``stage3.through_inputs: false``, one pass);
* **routed**: through the bundled config's ``inputs`` (drums from the percussive part).

Rendering the pseudo-mixes from the cache, the EQ augmentation and the optimizer step
are the same in both and are not timed; add them from docs/performance.md's measured
runs to estimate a whole epoch. Random waveforms, the bundled weights; nothing is kept.

    python benchmarks/train_step.py                 # batch 32 (96 segments), 10 steps
    python benchmarks/train_step.py --batch 32 --steps 20 --threads 2
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np
import torch

from instsim.hub import load_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="default", help="model folder, Hub id or 'default'")
    ap.add_argument("--batch", type=int, default=32, help="anchors per step (3 segments each)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per path, alternating")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, _ = load_model(args.model)
    model = model.float().train()
    if not model.config.inputs:
        raise SystemExit(f"{args.model}: its config routes no sub-space; nothing to compare")
    n = round(model.config.segment_seconds * model.config.frontend.sample_rate)
    rng = np.random.default_rng(0)
    waves = torch.from_numpy((0.1 * rng.standard_normal((3 * args.batch, n))).astype(np.float32))

    def step(routed: bool) -> float:
        t = time.perf_counter()
        emb = model(waves) if routed else model.embed_mel(model.frontend(waves))
        emb.square().mean().backward()
        model.zero_grad(set_to_none=True)
        return time.perf_counter() - t

    for routed in (False, True):  # warm-up
        step(routed)
    times: dict[str, list[float]] = {"floor": [], "routed": []}
    for _ in range(args.steps):
        times["floor"].append(step(False))
        times["routed"].append(step(True))
    med = {k: statistics.median(v) for k, v in times.items()}
    for k in ("floor", "routed"):
        print(
            f"{k:7s} {med[k] * 1000:7.0f} ms per step of {args.batch} anchors "
            f"({args.batch / med[k]:.1f} anchors/s; {1000 * med[k] / args.batch:.1f} ms per anchor)"
        )
    print(f"routed / floor: {med['routed'] / med['floor']:.2f}x")
    print(
        json.dumps(
            {
                "model": args.model,
                "inputs": model.config.inputs,
                "batch": args.batch,
                "steps": args.steps,
                "threads": args.threads,
                "median_s": med,
                "extra_ms_per_anchor": 1000 * (med["routed"] - med["floor"]) / args.batch,
                "cpu": platform.processor() or platform.machine(),
                "torch": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
