"""Scan General MIDI collections, cut one window of every usable file, report what comes out.

Usage::

    python examples/check_midi_collection.py DIR [DIR ...] [--seconds 30] [--json out.json]

For each collection folder (MIDI files plus a ``collection.yaml``):
:func:`instsim.data.midi_collection.scan_collection` (the skipped files with their
reasons), then :func:`~instsim.data.midi_collection.window_score` of every usable file
with the seed ``(0, k)``. Prints how many files are usable, why the others are not, how
often each group has a part in a window, the parts per window and the spread of tempi and
meters. Needs ``instsim[synth]`` (pretty_midi); no audio is rendered.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

from instsim.data import midi_collection as M
from instsim.instruments import INSTRUMENTS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("roots", type=Path, nargs="+", help="collection folders")
    ap.add_argument("--seconds", type=float, default=30.0, help="window length [s]")
    ap.add_argument("--json", type=Path, default=None, help="write the report here")
    args = ap.parse_args()

    report = {}
    for root in args.roots:
        t0 = time.perf_counter()
        coll = M.scan_collection(root, args.seconds)
        scan_s = time.perf_counter() - t0
        groups: Counter[str] = Counter()
        n_parts, n_groups, tempi, meters = [], [], [], Counter()
        for k, rel in enumerate(coll.files):
            score = M.window_score(coll.root / rel, (0, k), args.seconds, coll.info)
            present = {p.group for p in score.parts}
            groups.update(present)
            n_parts.append(len(score.parts))
            n_groups.append(len(present))
            tempi.append(score.tempo)
            meters[score.style["time_signature"]] += 1
        n = len(coll.files)
        print(f"{coll.name} ({coll.info.licence}): {n} usable, {len(coll.skipped)} skipped; "
              f"scan {scan_s:.1f} s")  # fmt: skip
        for rel, why in coll.skipped.items():
            print(f"  skipped {rel}: {why}")
        print("  windows with a part of: "
              + ", ".join(f"{g} {groups[g] / n:.0%}" for g in INSTRUMENTS))  # fmt: skip
        print(f"  parts per window: median {np.median(n_parts):g} ({min(n_parts)}-{max(n_parts)}); "
              f"groups per window: median {np.median(n_groups):g}, all five {n_groups.count(5)}")  # fmt: skip
        print(f"  tempo at the window start: median {np.median(tempi):.0f} BPM "
              f"({min(tempi):.0f}-{max(tempi):.0f}); meters {dict(meters.most_common())}")  # fmt: skip
        report[coll.name] = {
            "usable": n,
            "skipped": coll.skipped,
            "group_share": {g: groups[g] / n for g in INSTRUMENTS},
            "parts_per_window": n_parts,
            "tempi": tempi,
            "meters": dict(meters),
            "scan_seconds": scan_s,
        }
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
