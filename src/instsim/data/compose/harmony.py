"""Harmony: modes, keys, chord progressions, voicings and a song's harmonic context.

:data:`MODES` are the scales a song can be in; ``_progression`` draws scale-degree
progressions (from a library per mode or a weighted walk), ``_triad`` builds the
:class:`~instsim.data.compose.score.Chord` on a degree, ``_voicing`` picks chord tones
near a register, moving little from the previous voicing. ``_Context`` holds a
song's tempo, meter, key, form and chords per section, and answers which chord
sounds at a beat; ``_song_context`` and ``_plain_context`` draw one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .score import Chord

#: Scale steps (semitones above the tonic) of the modes a song can be in.
MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}


_LIBRARY = {
    "major": (
        (0, 4, 5, 3), (0, 5, 3, 4), (1, 4, 0, 0), (0, 3, 4, 3), (5, 3, 0, 4), (0, 2, 3, 4),
        (0, 3, 0, 4), (0, 4, 5, 2, 3, 0, 3, 4), (3, 4, 2, 5), (0, 5, 1, 4),
    ),
    "minor": (
        (0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2), (0, 5, 3, 4), (0, 2, 6, 3),
        (0, 3, 0, 4), (5, 6, 0, 0),
    ),
    "dorian": ((0, 3, 0, 3), (0, 6, 3, 0), (0, 1, 0, 3), (0, 3, 6, 0)),
    "mixolydian": ((0, 6, 3, 0), (0, 3, 6, 3), (0, 6, 0, 3), (0, 4, 6, 3)),
}  # fmt: skip


def _triad(scale: Sequence[int], key: int, degree: int, seventh: bool, sus: int) -> Chord:
    steps = [scale[(degree + k) % 7] + 12 * ((degree + k) // 7) for k in (0, 2, 4, 6)]
    rel = [s - steps[0] for s in steps]
    tones = [0, rel[1], rel[2]]
    if sus == 2:
        tones[1] = 2
    elif sus == 4:
        tones[1] = 5
    if seventh:
        tones.append(rel[3])
    return Chord(root=(key + steps[0]) % 12, tones=tuple(tones), degree=degree)


def _progression(rng: np.random.Generator, mode: str, avoid: tuple[int, ...] | None) -> list[int]:
    lib = _LIBRARY[mode]
    for _ in range(8):
        if rng.random() < 0.6:
            prog = list(lib[int(rng.integers(len(lib)))])
        else:
            n = 4 if rng.random() < 0.8 else int(rng.choice([3, 6, 8]))
            prog = [0 if avoid is None else int(rng.choice([3, 5, 1]))]
            w = np.array([1.0, 1.0, 0.6, 1.6, 1.6, 1.4, 0.5])
            while len(prog) < n:
                p = w.copy()
                p[prog[-1]] = 0.0
                prog.append(int(rng.choice(7, p=p / p.sum())))
        if avoid is None or tuple(prog) != avoid:
            return prog
    return [(d + 3) % 7 for d in prog]


@dataclass
class _Context:
    tempo: float
    beats_per_bar: int
    key: int
    scale: tuple[int, ...]
    n_bars: int
    form: str
    section_bars: int
    bars_per_chord: float
    chords: dict[str, list[Chord]]
    kick_steps: list[list[int]]

    def section_of(self, bar: int) -> tuple[str, int]:
        k = bar // self.section_bars
        return self.form[k % len(self.form)], k

    def chord_at(self, beat: float) -> Chord:
        bar = int(beat // self.beats_per_bar)
        label, k = self.section_of(bar)
        chords = self.chords[label]
        pos = beat - k * self.section_bars * self.beats_per_bar
        idx = int(pos // (self.bars_per_chord * self.beats_per_bar))
        return chords[idx % len(chords)]

    def next_chord(self, beat: float) -> Chord:
        step = self.bars_per_chord * self.beats_per_bar
        return self.chord_at((beat // step + 1) * step)

    def scale_pitches(self, lo: int, hi: int) -> list[int]:
        pcs = {(self.key + s) % 12 for s in self.scale}
        return [p for p in range(lo, hi + 1) if p % 12 in pcs]


def _chord_pitches(chord: Chord, lo: int, hi: int) -> list[int]:
    pcs = chord.pitch_classes()
    return [p for p in range(lo, hi + 1) if p % 12 in pcs]


def _voicing(chord: Chord, center: int, n: int, prev: list[int] | None) -> list[int]:
    """``n`` chord tones near ``center``, the root's pitch class included, moving little from ``prev``."""
    pool = _chord_pitches(chord, center - 12, center + 12)
    best, best_cost = None, np.inf
    for i in range(len(pool) - n + 1):
        cand = pool[i : i + n]
        if chord.root not in {p % 12 for p in cand} and n >= 3:
            continue
        cost = abs(np.mean(cand) - center) * 0.5
        if prev:
            cost += sum(min(abs(c - q) for q in prev) for c in cand) / n
        if cost < best_cost:
            best, best_cost = cand, cost
    return list(best) if best is not None else pool[:n]


def _song_context(
    rng: np.random.Generator,
    seconds: float,
    tempo: float,
    bpb: int,
    mode: str,
    progs: tuple[list[int], list[int]],
    bpc: float,
    form: str,
    sevenths: float,
    section_bars: int,
) -> _Context:
    """The harmony and form of a song: key, chords per section, bar count."""
    key = int(rng.integers(12))
    scale = MODES[mode]
    chords = {
        lab: [_triad(scale, key, d, rng.random() < sevenths, 0) for d in prog]
        for lab, prog in zip("AB", progs)
    }
    n_bars = int(np.ceil(seconds / (bpb * 60.0 / tempo))) + 1
    return _Context(tempo, bpb, key, scale, n_bars, form, section_bars, bpc, chords, [[0, 8]] * 2)


def _plain_context(
    rng: np.random.Generator,
    seconds: float,
    tempo: float,
    bpb: int,
    mode: str,
    bpc: float,
    form: str,
    sevenths: float,
    progs: tuple[list[int], list[int]] | None = None,
) -> _Context:
    """A song's harmony: two progressions (drawn unless given), 4- or 8-bar sections.

    Parameters
    ----------
    rng : numpy.random.Generator
        The song stream (stream 0).
    seconds : float [s]
        Song length.
    tempo : float [BPM]
    bpb : int
        Beats per bar.
    mode : str
        One of :data:`MODES`.
    bpc : float [bars]
        Bars per chord.
    form : str
        Section letters.
    sevenths : float in [0, 1]
        Probability of a seventh on each chord.
    progs : (list of int, list of int) or None
        Scale degrees of the A and B progressions; drawn with :func:`_progression` if None.

    Returns
    -------
    _Context
    """
    if progs is None:
        prog_a = _progression(rng, mode, None)
        progs = (prog_a, _progression(rng, mode, tuple(prog_a)))
    section_bars = 8 if max(len(progs[0]), len(progs[1])) * bpc > 4 else 4
    return _song_context(rng, seconds, tempo, bpb, mode, progs, bpc, form, sevenths, section_bars)
