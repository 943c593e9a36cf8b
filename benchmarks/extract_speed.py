"""Throughput and memory of ``instsim extract`` next to the floor on the same machine.

Generates a reproducible collection (default 20 tracks x 3 min, 44.1 kHz stereo
16-bit FLAC), then, alternating ``--repeats`` times:

* **floor**: in a fresh process, for each file: decode + resample + cut into
  segments, then one batched forward (log-mel + network) of all its segments
  under ``torch.inference_mode``; imports and model loading are not counted.
  Serial, no overlap, nothing written: the work that cannot be avoided.
* **extract**: ``instsim extract COLLECTION -o OUT --overwrite -q`` in a fresh
  process, timed end to end (Python start-up and model loading included).

and reports real-time factors (audio seconds per wall second) and the ratio
extract / floor (wall time). ``--long`` also runs extract on one long file
(default 60 min) and reports its peak memory: the max RSS of the extract
process, and the peak of the summed RSS of it and its decoding processes.

The model is a randomly initialised full-size U-Net CSN (speed does not depend
on the weights) unless ``--model`` is given.

Usage::

    python benchmarks/extract_speed.py                      # 20 x 3 min
    python benchmarks/extract_speed.py --tracks 5 --minutes 1 --repeats 1
    python benchmarks/extract_speed.py --long --long-minutes 60
    python benchmarks/extract_speed.py --workers 0 1 2      # compare decoder settings
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = [sys.executable, "-c", "from instsim.cli import main; main()"]


# ---- reproducible audio -------------------------------------------------------------------
def _song_block(seed: int, block: int, n: int, sr: int, channels: int):
    """``n`` samples of a synthetic song (chords, bass line, drum-like noise hits).

    Deterministic in ``(seed, block)``; compresses with FLAC roughly like real
    music (tonal content plus broadband transients), so decoding costs similar.
    """
    import numpy as np

    rng = np.random.default_rng([seed, block])
    t = (block * n + np.arange(n)) / sr
    y = np.zeros(n)
    root = 110 * 2 ** (rng.integers(0, 12) / 12)
    for ratio, amp in ((1.0, 0.12), (1.26, 0.08), (1.5, 0.08), (2.0, 0.05)):
        y += amp * np.sin(2 * np.pi * root * ratio * t + rng.uniform(0, 6.28))
    y += 0.2 * np.sin(2 * np.pi * root / 2 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))
    beat = 0.5
    phase = t % beat
    y += 0.35 * np.exp(-phase / 0.04) * rng.standard_normal(n)  # kick/snare-like hits
    hat = (t % (beat / 2)) / 0.01
    y += 0.05 * np.exp(-hat) * rng.standard_normal(n)
    y = np.tanh(y)
    if channels == 1:
        return (0.7 * y).astype(np.float32)
    pans = np.linspace(0.8, 1.0, channels)
    return (0.7 * y[:, None] * pans[None, :]).astype(np.float32)


def write_song(path: Path, seconds: float, seed: int, sr: int, channels: int) -> None:
    """Write a synthetic song as 16-bit FLAC, in 10 s blocks (bounded memory)."""
    import soundfile as sf

    block = 10 * sr
    total = round(seconds * sr)
    tmp = path.with_suffix(".part.flac")
    with sf.SoundFile(tmp, "w", sr, channels, subtype="PCM_16", format="FLAC") as f:
        for b, start in enumerate(range(0, total, block)):
            f.write(_song_block(seed, b, min(block, total - start), sr, channels))
    tmp.replace(path)


def make_collection(root: Path, tracks: int, minutes: float, sr: int, channels: int) -> list[Path]:
    spec = {"tracks": tracks, "minutes": minutes, "sr": sr, "channels": channels, "v": 1}
    manifest = root / "manifest.json"
    paths = [root / f"track{i:03d}.flac" for i in range(tracks)]
    if manifest.is_file() and json.loads(manifest.read_text()) == spec:
        if all(p.is_file() for p in paths):
            return paths
    root.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(paths):
        write_song(p, minutes * 60, seed=i, sr=sr, channels=channels)
    manifest.write_text(json.dumps(spec))
    return paths


# ---- the floor (runs in a child process: ``--_floor``) ------------------------------------
def floor_main(files: list[str], model: str, batch_size: int) -> None:
    import numpy as np
    import torch

    from instsim import Extractor
    from instsim.audio import stream_audio
    from instsim.segments import segment_stream

    ext = Extractor.from_pretrained(model, device="cpu")
    segmentation = ext.segmentation()
    seg, hop = segmentation.length, segmentation.hop
    warm = np.zeros((batch_size, seg), dtype=np.float32)
    ext.embed_waveforms(warm)  # one-off set-up (kernel selection), as in any long run
    t_decode = t_net = 0.0
    audio = 0.0
    n_segments = 0
    t0 = time.perf_counter()
    for f in files:
        a = time.perf_counter()
        blocks = stream_audio(f, ext.sample_rate)
        segs = [s.audio for s in segment_stream(blocks, seg, hop)]
        batch = np.stack(segs)
        b = time.perf_counter()
        with torch.inference_mode():
            ext.embed_waveforms(batch)
        c = time.perf_counter()
        t_decode += b - a
        t_net += c - b
        n_segments += len(segs)
    wall = time.perf_counter() - t0
    for f in files:
        import soundfile as sf

        audio += sf.info(f).duration
    print(
        json.dumps(
            {
                "wall": wall,
                "decode": t_decode,
                "network": t_net,
                "audio": audio,
                "segments": n_segments,
                "threads": torch.get_num_threads(),
            }
        )
    )


def run_floor(files: list[Path], model: Path, batch_size: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--_floor", str(model), str(batch_size), *map(str, files)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- extract in a subprocess, with memory sampling ----------------------------------------
def _tree_rss_kb(pid: int) -> int:
    """Summed VmRSS of ``pid`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def _label(workers: int | None, threads: int | None) -> str:
    w = "auto" if workers is None else workers
    return f"--workers {w}" + ("" if threads is None else f", OMP_NUM_THREADS={threads}")


def run_extract(args: list[str], sample_memory: bool = False, threads: int | None = None) -> dict:
    """Run ``instsim extract ARGS`` in a child process; wall time, and memory when asked.

    ``max_rss_mb`` is the largest max-RSS among the child and its decoding
    processes (``wait4`` rusage); ``peak_tree_mb`` the peak of their summed RSS,
    sampled every 20 ms.
    """
    with tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        env = dict(os.environ)
        if threads is not None:
            env["OMP_NUM_THREADS"] = str(threads)
        proc = subprocess.Popen([*CLI, "extract", *args], stderr=err, env=env)
        peak_tree = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if sample_memory:
                peak_tree = max(peak_tree, _tree_rss_kb(proc.pid))
            time.sleep(0.02 if sample_memory else 0.005)
        wall = time.perf_counter() - t0
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            raise RuntimeError(f"instsim extract failed with exit code {code}:\n{err.read()}")
    return {"wall": wall, "max_rss_mb": usage.ru_maxrss / 1024, "peak_tree_mb": peak_tree / 1024}


# ---- report -------------------------------------------------------------------------------
def machine() -> dict:
    import torch

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    return {
        "cpu": cpu,
        "cores": cores,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tracks", type=int, default=20)
    ap.add_argument("--minutes", type=float, default=3.0, help="length of each track")
    ap.add_argument("--sr", type=int, default=44100)
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "instsim-bench")
    ap.add_argument("--model", type=Path, default=None, help="model folder (default: random U-Net)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument(
        "--workers",
        type=int,
        nargs="*",
        default=[None],
        help="--workers values to try (default: auto)",
    )
    ap.add_argument(
        "--threads",
        type=int,
        nargs="*",
        default=[None],
        help="OMP_NUM_THREADS values to try for extract (default: instsim's choice)",
    )
    ap.add_argument("--device", default="cpu", help="--device of extract (cpu, cuda, auto)")
    ap.add_argument(
        "--repeats", type=int, default=3, help="floor/extract pairs, alternated (0: skip)"
    )
    ap.add_argument("--long", action="store_true", help="also measure one long file's peak memory")
    ap.add_argument("--long-minutes", type=float, default=60.0)
    ap.add_argument("--json", type=Path, default=None, help="write all figures here")
    args = ap.parse_args()

    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    model = args.model
    if model is None:
        from instsim import Extractor

        model = work / "model-unet-random"
        if not (model / "model.safetensors").is_file():
            Extractor.from_config({"backbone": "unet"}, seed=0).save_pretrained(model)
    t = time.perf_counter()
    coll = work / f"collection-{args.tracks}x{args.minutes:g}min-{args.sr}-{args.channels}ch"
    files = make_collection(coll, args.tracks, args.minutes, args.sr, args.channels)
    print(f"collection: {len(files)} files in {coll} ({time.perf_counter() - t:.0f} s to prepare)")
    info = machine()
    info["load_before"] = os.getloadavg()
    print(f"machine: {info}")

    results: dict = {"machine": info, "args": {k: str(v) for k, v in vars(args).items()}}
    configs = [(w, th) for w in args.workers for th in args.threads]
    floors: list[dict] = []
    extracts: dict[str, list[dict]] = {_label(w, th): [] for w, th in configs}
    out = work / "out"
    for r in range(args.repeats):
        f = run_floor(files, model, args.batch_size)
        floors.append(f)
        print(
            f"[{r + 1}/{args.repeats}] floor: {f['wall']:.2f} s ({f['audio'] / f['wall']:.0f}x; "
            f"decode {f['decode']:.2f} s, network {f['network']:.2f} s)"
        )
        for w, th in configs:
            cmd = [str(coll), "-o", str(out), "--model", str(model), "--overwrite", "-q"]
            cmd += ["--batch-size", str(args.batch_size), "--device", args.device]
            if w is not None:
                cmd += ["--workers", str(w)]
            e = run_extract(cmd, threads=th)
            extracts[_label(w, th)].append(e)
            print(
                f"[{r + 1}/{args.repeats}] extract {_label(w, th)}: {e['wall']:.2f} s "
                f"({f['audio'] / e['wall']:.0f}x, {e['wall'] / f['wall']:.2f}x the floor)"
            )
    if floors:
        audio = floors[0]["audio"]
        floor_wall = statistics.median(x["wall"] for x in floors)
        results["floor"] = {
            "audio_seconds": audio,
            "wall_median": floor_wall,
            "rtf": audio / floor_wall,
            "decode_median": statistics.median(x["decode"] for x in floors),
            "network_median": statistics.median(x["network"] for x in floors),
            "runs": floors,
        }
        results["extract"] = {}
        print("\n| run | wall (median) | real-time factor | wall / floor |")
        print("|---|---|---|---|")
        print(
            f"| floor: decode + resample + log-mel + forward, serial | {floor_wall:.2f} s "
            f"| {audio / floor_wall:.0f}x | 1.00 |"
        )
        for name, runs in extracts.items():
            wall = statistics.median(x["wall"] for x in runs)
            results["extract"][name] = {"wall_median": wall, "rtf": audio / wall, "runs": runs}
            print(
                f"| `instsim extract` {name} | {wall:.2f} s | {audio / wall:.0f}x "
                f"| {wall / floor_wall:.2f} |"
            )

    if args.long:
        long_dir = work / f"long-{args.long_minutes:g}min-{args.sr}-{args.channels}ch"
        t = time.perf_counter()
        long_file = make_collection(long_dir, 1, args.long_minutes, args.sr, args.channels)[0]
        size = long_file.stat().st_size / 1e6
        print(f"\nlong file: {args.long_minutes:g} min, {size:.0f} MB FLAC", end="")
        print(f" ({time.perf_counter() - t:.0f} s to prepare)")
        results["long"] = {}
        for w, th in configs:
            cmd = [str(long_dir), "-o", str(work / "out-long"), "--model", str(model)]
            cmd += ["--overwrite", "-q", "--batch-size", str(args.batch_size)]
            cmd += ["--device", args.device]
            if w is not None:
                cmd += ["--workers", str(w)]
            m = run_extract(cmd, sample_memory=True, threads=th)
            m["audio_seconds"] = args.long_minutes * 60
            m["rtf"] = m["audio_seconds"] / m["wall"]
            results["long"][_label(w, th)] = m
            print(
                f"long file, {_label(w, th)}: {m['wall']:.1f} s "
                f"({m['rtf']:.0f}x realtime); max RSS of one process {m['max_rss_mb']:.0f} MB; "
                f"peak summed RSS of extract + decoding processes {m['peak_tree_mb']:.0f} MB"
            )
    info["load_after"] = os.getloadavg()
    print(f"load average before {info['load_before']}, after {info['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_floor":
        floor_main(sys.argv[4:], sys.argv[2], int(sys.argv[3]))
    else:
        main()
