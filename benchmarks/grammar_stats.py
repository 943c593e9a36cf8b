"""Note statistics of the composition grammars (instsim.data.compose), no audio.

For ``--songs`` seeds per grammar (``(seed, k)``, ``--seconds`` long) it prints a Markdown
table: tempo range, mean notes per second of each instrument class (0 where a song lacks
the class), the share of songs holding all five classes, and how the piano differs from
the guitar: the Jaccard index of their onset sets on the song's 16th-note grid and the
absolute difference of their mean pitches (songs holding both), and the share of all
onsets on off-beat 16ths (the "e" and "a" of each beat). docs/synth.md quotes its output.

Usage::

    python benchmarks/grammar_stats.py [--songs 20] [--seconds 30] [--seed 2026]
"""

from __future__ import annotations

import argparse

import numpy as np

from instsim.data import compose as C
from instsim.instruments import INSTRUMENTS


def onsets(score: C.Score, group: str) -> set[int]:
    """Onsets of ``group``'s parts on the song's 16th-note grid (grid indices)."""
    step = score.beat_seconds / 4
    return {round(n[0] / step) for p in score.parts if p.group == group for n in p.notes}


def mean_pitch(score: C.Score, group: str) -> float:
    """Mean MIDI pitch of ``group``'s notes."""
    return float(np.mean([n[2] for p in score.parts if p.group == group for n in p.notes]))


def song_stats(score: C.Score) -> dict[str, float]:
    """Notes per second per class, piano/guitar Jaccard and pitch gap, off-beat share."""
    out = {
        g: sum(len(p.notes) for p in score.parts if p.group == g) / score.seconds
        for g in INSTRUMENTS
    }
    out["all5"] = float(all(out[g] > 0 for g in INSTRUMENTS))
    pia, gui = onsets(score, "piano"), onsets(score, "guitar")
    if pia and gui:
        out["jaccard"] = len(pia & gui) / len(pia | gui)
        out["pitch_gap"] = abs(mean_pitch(score, "piano") - mean_pitch(score, "guitar"))
    grid = [i for g in INSTRUMENTS for i in onsets(score, g)]
    out["offbeat16"] = float(np.mean([i % 2 == 1 for i in grid])) if grid else 0.0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    cols = [*INSTRUMENTS, "all5", "jaccard", "pitch_gap", "offbeat16"]
    print("| grammar | tempo (BPM) | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 2) + "|")
    for grammar in C.GRAMMARS:
        scores = [C.compose((args.seed, k), args.seconds, grammar) for k in range(args.songs)]
        stats = [song_stats(s) for s in scores]
        tempi = [s.tempo for s in scores]
        cells = []
        for c in cols:
            vals = [st[c] for st in stats if c in st]
            cells.append(f"{np.mean(vals):.2f}" if vals else "-")
        print(f"| {grammar} | {min(tempi):.0f}-{max(tempi):.0f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
