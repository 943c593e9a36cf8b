"""Convert every song of a POP909 clone into a score and report what succeeds and why any fail.

Usage::

    python examples/check_pop909.py /path/to/POP909-Dataset [--seconds 60] [--json out.json]

For each song folder: :func:`instsim.data.arrangements.load_song`, then
:func:`~instsim.data.arrangements.arrange` with the seed ``(0, k)``. Prints the number
of songs that convert, the failures with their reasons, how often each group has a
part, and the spread of tempi and meters. Needs ``instsim[synth]`` (pretty_midi);
no audio is rendered.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

from instsim.data import arrangements as A
from instsim.errors import ArrangementError
from instsim.instruments import INSTRUMENTS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path, help="POP909 clone (or its POP909/ folder)")
    ap.add_argument("--seconds", type=float, default=60.0, help="window length [s]")
    ap.add_argument("--json", type=Path, default=None, help="write the report here")
    args = ap.parse_args()

    found = A.scan_arrangements(args.root, check=False)  # every song folder, parsed below
    base = found.root
    ids = sorted([*found.song_ids, *found.skipped])
    failures: dict[str, str] = {}
    groups: Counter[str] = Counter()
    five = 0
    tempi, meters, drift, n_notes = [], Counter(), [], Counter()
    t0 = time.perf_counter()
    for k, sid in enumerate(ids):
        try:
            song = A.load_song(base / sid)
            score = A.arrange(song, (0, k), args.seconds)
        except ArrangementError as exc:
            failures[sid] = exc.reason
            continue
        present = {p.group for p in score.parts}
        groups.update(present)
        five += present == set(INSTRUMENTS)
        tempi.append(score.tempo)
        meters[f"{score.beats_per_bar}/4"] += 1
        lo, hi = score.style["tempo_range_bpm"]
        drift.append(hi - lo)
        for p in score.parts:
            n_notes[p.name] += len(p.notes)
    wall = time.perf_counter() - t0
    ok = len(ids) - len(failures)
    report = {
        "songs": len(ids),
        "converted": ok,
        "failed": failures,
        "with_all_five_groups": five,
        "songs_with_group": {g: groups[g] for g in INSTRUMENTS},
        "tempo_bpm": {
            "min": float(np.min(tempi)),
            "median": float(np.median(tempi)),
            "max": float(np.max(tempi)),
        },
        "tempo_drift_in_window_bpm": {
            "median": float(np.median(drift)),
            "p95": float(np.percentile(drift, 95)),
        },
        "meters": dict(meters),
        "mean_notes_per_part": {k: round(v / ok, 1) for k, v in sorted(n_notes.items())},
        "seconds_per_song": round(wall / max(1, len(ids)), 4),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
