"""Scale-out: the Ray engine with 1 and 2 network actors next to the local engine, same run.

Generates a reproducible collection (default 40 tracks x 30 s, 44.1 kHz stereo 16-bit
FLAC, the synthetic music of ``extract_speed.py``), then runs ``extract_batch`` on it
once per configuration, each in a fresh process, in this order:

* **local**: the default engine (``--workers 0``: one decoding thread, the network on
  the cores left).
* **ray, N actors** for each ``--actors N``: ``engine="ray"`` on a local Ray started
  for the run with ``N + 1`` logical CPUs (its start-up and shutdown are counted):
  decoding in Ray tasks, the network in ``N`` actors (1 CPU and 1 torch thread each).
  On 2 cores, 2 actors oversubscribe the machine (3 busy processes on 2 cores).

The model (a randomly initialised full-size U-Net CSN; speed does not depend on the
weights) is loaded before the clock starts. Reported per run: wall time of
``extract_batch`` (Ray start-up included), throughput in hours of audio per hour, the
overhead against the local engine, the time to the first finished track (start-up),
and the steady throughput after it (what a long run on a warm cluster approaches).
Every run writes npz outputs, checked to match the local engine's (max abs diff).

Usage::

    python benchmarks/scale.py                       # 40 x 30 s, local + ray 1 and 2 actors
    nice -n 5 python benchmarks/scale.py --tracks 20 --actors 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from extract_speed import write_song  # the same synthetic songs


def make_collection(root: Path, tracks: int, seconds: float, sr: int, channels: int) -> list[Path]:
    """``tracks`` synthetic songs of ``seconds`` each, as FLAC (reused when already there)."""
    spec = {"tracks": tracks, "seconds": seconds, "sr": sr, "channels": channels, "v": 1}
    manifest = root / "manifest.json"
    paths = [root / f"track{i:03d}.flac" for i in range(tracks)]
    if manifest.is_file() and json.loads(manifest.read_text()) == spec:
        if all(p.is_file() for p in paths):
            return paths
    root.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(paths):
        write_song(p, seconds, seed=i, sr=sr, channels=channels)
    manifest.write_text(json.dumps(spec))
    return paths


# ---- one run (a child process: ``--_one``) ---------------------------------------------------
def one_main(engine: str, actors: int, model: str, out: str, batch_size: int, root: str) -> None:
    """Run one configuration and print its figures as JSON (the last line of stdout)."""
    from instsim import Extractor
    from instsim.batch import Reporter, extract_batch

    class Clock(Reporter):
        """Times of the first and last finished track."""

        def __init__(self) -> None:
            self.t: list[tuple[float, float]] = []

        def item(self, status: str, path: str, seconds: float = 0.0) -> None:
            self.t.append((time.perf_counter(), seconds))

    ext = Extractor.from_pretrained(model, device="cpu")
    clock = Clock()
    kw = {"engine": "ray", "num_workers": actors} if engine == "ray" else {"workers": 0}
    t0 = time.perf_counter()
    if engine == "ray":
        # the local Ray the engine would start, with one logical CPU per actor plus one
        # for decoding (more than the machine has when actors >= cores: oversubscribed)
        import ray

        ray.init(
            address="local",
            num_cpus=actors + 1,
            include_dashboard=False,
            logging_level="WARNING",
            _system_config={"worker_niceness": 0},
        )
    s = extract_batch([root], out, ext, batch_size=batch_size, reporter=clock, **kw)
    if engine == "ray":
        ray.shutdown()
    wall = time.perf_counter() - t0
    first = clock.t[0][0] - t0 if clock.t else float("nan")
    tail_audio = sum(sec for _, sec in clock.t[1:])
    tail_wall = clock.t[-1][0] - clock.t[0][0] if len(clock.t) > 1 else float("nan")
    print(
        json.dumps(
            {
                "done": s.done,
                "failed": s.failed,
                "audio_seconds": s.audio_seconds,
                "wall": wall,
                "first": first,
                "steady_rtf": tail_audio / tail_wall if tail_wall > 0 else float("nan"),
            }
        )
    )


def run_one(engine: str, actors: int, model: Path, out: Path, batch_size: int, root: Path) -> dict:
    cmd = [sys.executable, __file__, "--_one", engine, str(actors), str(model), str(out)]
    res = subprocess.run(
        [*cmd, str(batch_size), str(root)], capture_output=True, text=True, check=False
    )
    if res.returncode != 0:
        sys.exit(f"{engine} x{actors} failed:\n{res.stderr[-4000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def max_diff(a: Path, b: Path) -> float:
    import numpy as np

    worst = 0.0
    for p in sorted(a.rglob("*.npz")):
        with np.load(p) as x, np.load(b / p.relative_to(a)) as y:
            worst = max(worst, float(np.abs(x["embedding"] - y["embedding"]).max()))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tracks", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=30.0, help="length of each track")
    ap.add_argument("--sr", type=int, default=44100)
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--actors", type=int, nargs="+", default=[1, 2], help="ray runs to make")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--model", type=Path, default=None, help="[default: full-size, random]")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "instsim-scale")
    args = ap.parse_args()

    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    model = args.model
    if model is None:
        model = work / "model-unet-random"
        if not (model / "config.json").is_file():
            from instsim import Extractor

            Extractor.from_config({"backbone": "unet"}, seed=0).save_pretrained(model)
    coll = work / f"collection-{args.tracks}x{args.seconds:g}s-{args.sr}-{args.channels}ch"
    files = make_collection(coll, args.tracks, args.seconds, args.sr, args.channels)
    load0 = os.getloadavg()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"{len(files)} tracks x {args.seconds:g} s, {cores} cores, {platform.processor() or '?'}, "
        f"load average at start {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}",
        flush=True,
    )
    rows = []
    configs = [("local", 0)] + [("ray", n) for n in args.actors]
    for engine, actors in configs:
        out = work / f"out-{engine}-{actors}"
        if out.exists():
            import shutil

            shutil.rmtree(out)
        r = run_one(engine, actors, model, out, args.batch_size, coll)
        r["label"] = "local engine" if engine == "local" else f"ray, {actors} actor(s)"
        r["out"] = out
        rows.append(r)
        print(f"  {r['label']}: {r['wall']:.1f} s", flush=True)
    load1 = os.getloadavg()
    base = rows[0]
    print()
    print("| run | wall | throughput (audio h / h) | overhead vs local | first track | steady |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        rtf = r["audio_seconds"] / r["wall"]
        over = r["wall"] - base["wall"]
        ratio = r["wall"] / base["wall"]
        overhead = "-" if r is base else f"+{over:.1f} s ({ratio:.2f}x)"
        print(
            f"| {r['label']} | {r['wall']:.1f} s | {rtf:.0f}x | {overhead} | "
            f"{r['first']:.1f} s | {r['steady_rtf']:.0f}x |"
        )
    for r in rows[1:]:
        assert r["done"] == base["done"] and r["failed"] == base["failed"] == 0
        print(f"{r['label']}: max abs diff vs local {max_diff(base['out'], r['out']):.2e}")
    print(f"load average at end {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_one":
        e, n, m, o, b, root = sys.argv[2:8]
        one_main(e, int(n), m, o, int(b), root)
    else:
        main()
