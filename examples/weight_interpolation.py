"""Weight interpolation between two fine-tunes of one network (issue 12; measured, not shipped).

``(1 - t) x FIRST + t x SECOND`` for every floating-point tensor of the state dict
(weights, biases and batch-norm statistics; integer counters are taken from SECOND), one
model folder per ``t``. docs/results.md ("Rest invariance in training") measured v4
(bundled) against candidate v6 (configs/candidate-v6.yaml) this way::

    python examples/weight_interpolation.py default runs/candidate-v6 0.25,0.5,0.75
    instsim evaluate --model runs/interp-0.25 --protocol pseudo-mix --no-baselines \
        --no-plots --draws 10 --data-home data/synth-shiftB --split test \
        --out runs/eval-interp-0.25/shiftB        # and 0.5, 0.75
"""

from __future__ import annotations

import argparse

from instsim.hub import load_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("first", help="model at t = 0 (folder, Hub id or 'default')")
    ap.add_argument("second", help="model at t = 1, the same network fine-tuned otherwise")
    ap.add_argument("ts", help="comma-separated t values, e.g. 0.25,0.5,0.75")
    ap.add_argument("--out-prefix", default="runs/interp-")
    args = ap.parse_args()
    first, _ = load_model(args.first)
    second, _ = load_model(args.second)
    sa, sb = first.state_dict(), second.state_dict()
    if sa.keys() != sb.keys() or any(sa[k].shape != sb[k].shape for k in sa):
        raise SystemExit("the two models are not the same network")
    for t in (float(x) for x in args.ts.split(",")):
        mixed = {k: sa[k] * (1 - t) + sb[k] * t if sa[k].is_floating_point() else sb[k] for k in sa}
        model, _ = load_model(args.second)
        model.load_state_dict(mixed)
        model.config.name = f"{second.config.name}-interp-{t:g}"
        out = f"{args.out_prefix}{t:g}"
        model.save_pretrained(out)
        print("wrote", out)


if __name__ == "__main__":
    main()
