"""Part writers the grammars share: drums, bass, chords, guitar, melody, piano and "others".

Part writers return notes as ``(start_beat, duration_beats, pitch, velocity)``
(:data:`~instsim.data.compose.common.Beats`). Written first for "pop" and reused by
several grammars (and by :mod:`instsim.data.arrangements`): the drum groove
(``_drum_style``, ``_drums``), bass (``_bass``), chords (``_chords_part``), guitar
(``_guitar``) and melody (``_melody``) writers; the band piano (``_band_piano``), the
electronic loop arpeggio (``_loop_arp``) and the "others" writers (``_others``,
``_styled_others``, ``_horn_hits``, ``_fingerpicked``); and their helpers (``_vel``,
``_near``, ``_onset_mask``, ``_dynamics``, ``_section_end``). Each draws only from
the ``rng`` it is given; the steps from a plan to notes are in
:mod:`~instsim.data.compose.common`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .common import Beats
from .gm import (
    CLAP,
    CONGAS,
    COWBELL,
    CRASH,
    CRASH2,
    HAT_CLOSED,
    HAT_OPEN,
    HAT_PEDAL,
    KICK,
    KICK2,
    RIDE,
    SHAKER,
    SIDESTICK,
    SNARE,
    SNARE2,
    TAMBOURINE,
    TOMS,
    _program_range,
)
from .harmony import _chord_pitches, _Context, _voicing
from .score import Chord, Part


def _vel(rng: np.random.Generator, base: float, sd: float, accent: float = 0.0) -> int:
    return int(np.clip(round(base + accent + rng.normal(0.0, sd)), 1, 127))


def _drum_style(rng: np.random.Generator, ctx: _Context) -> dict[str, Any]:
    spb = 4 * ctx.beats_per_bar
    feel = str(
        rng.choice(["backbeat", "halftime", "four_floor", "breakbeat"], p=[0.5, 0.15, 0.15, 0.2])
    )
    hat = int(rng.choice([HAT_CLOSED, RIDE, HAT_PEDAL, SHAKER], p=[0.62, 0.25, 0.05, 0.08]))
    div = 4 if (ctx.tempo < 110 and rng.random() < 0.55) else 2
    if ctx.tempo > 160 and rng.random() < 0.4:
        div = 1
    if ctx.beats_per_bar == 4:
        snare = {"backbeat": [4, 12], "halftime": [8], "four_floor": [4, 12], "breakbeat": [4, 12]}
    else:
        snare = {"backbeat": [4, 8], "halftime": [8], "four_floor": [4, 8], "breakbeat": [4, 10]}
    snare_steps = snare[feel]
    if feel == "four_floor":
        base_kick = list(range(0, spb, 4))
    else:
        base_kick = [0] + (
            [8] if ctx.beats_per_bar == 4 and feel != "halftime" and rng.random() < 0.8 else []
        )
    cands = [s for s in range(spb) if s not in snare_steps and s not in base_kick]
    kick_bars = []
    for _ in range(2):
        k = int(rng.integers(0, 3 if feel != "breakbeat" else 5))
        p = np.array([3.0 if s % 2 == 0 else 1.0 for s in cands])
        extra = (
            rng.choice(cands, size=min(k, len(cands)), replace=False, p=p / p.sum()) if k else []
        )
        kick_bars.append(sorted({*base_kick, *(int(e) for e in extra)}))
    if rng.random() < 0.5:
        kick_bars[1] = kick_bars[0]
    perc = str(rng.choice(["none", "tambourine", "shaker", "cowbell", "congas", "clap"],
                          p=[0.55, 0.1, 0.1, 0.07, 0.1, 0.08]))  # fmt: skip
    return {
        "feel": feel,
        "hat": hat,
        "hat_division": div,
        "open_hat": bool(rng.random() < 0.35),
        "snare": int(rng.choice([SNARE, SNARE2, SIDESTICK], p=[0.72, 0.2, 0.08])),
        "snare_steps": snare_steps,
        "kick_steps": kick_bars,
        "kick_note": int(rng.choice([KICK, KICK2], p=[0.8, 0.2])),
        "ghost": float(rng.uniform(0.0, 0.15)),
        "perc": perc,
        "fill_every": int(rng.choice([4, 8])),
        "fill_beats": int(rng.choice([1, 2], p=[0.6, 0.4])),
        "fill_kind": str(rng.choice(["toms", "snare", "mixed"])),
        "crash": int(rng.choice([CRASH, CRASH2])),
    }


def _drums(rng: np.random.Generator, ctx: _Context, st: dict[str, Any], base: float) -> Beats:
    notes: Beats = []
    bpb, spb = ctx.beats_per_bar, 4 * ctx.beats_per_bar
    sd = 6.0
    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        fill = (bar + 1) % st["fill_every"] == 0
        fill_from = spb - 4 * st["fill_beats"] if fill else spb
        if bar % ctx.section_bars == 0 or (bar > 0 and (bar % st["fill_every"]) == 0):
            notes.append((t0, 1.0, st["crash"], _vel(rng, base, sd, 10)))
        kicks = st["kick_steps"][bar % 2]
        for s in range(spb):
            if s >= fill_from:
                break
            b = t0 + s / 4
            if s in kicks:
                notes.append((b, 0.25, st["kick_note"], _vel(rng, base, sd, 12)))
            if s in st["snare_steps"]:
                notes.append((b, 0.25, st["snare"], _vel(rng, base, sd, 12)))
            elif s % 2 == 1 and rng.random() < st["ghost"]:
                notes.append((b, 0.25, st["snare"], _vel(rng, base * 0.45, 4)))
            if s % (4 // st["hat_division"]) == 0:
                accent = 8 if s % 4 == 0 else (-6 if s % 2 == 0 else -16)
                hat = st["hat"]
                if st["open_hat"] and s % 4 == 2 and (s == spb - 2 or st["feel"] == "four_floor"):
                    hat = HAT_OPEN
                notes.append((b, 0.25, hat, _vel(rng, base * 0.85, sd, accent)))
            perc = st["perc"]
            if perc == "tambourine" and s in st["snare_steps"]:
                notes.append((b, 0.25, TAMBOURINE, _vel(rng, base * 0.7, sd)))
            elif perc == "shaker" and st["hat"] != SHAKER and s % 2 == 0:
                notes.append((b, 0.25, SHAKER, _vel(rng, base * 0.6, sd, 8 if s % 4 == 2 else 0)))
            elif perc == "cowbell" and s % 4 == 0:
                notes.append((b, 0.25, COWBELL, _vel(rng, base * 0.6, sd)))
            elif perc == "congas" and s % 2 == 0 and (s * 7 + bar) % 3 != 0:
                notes.append((b, 0.25, CONGAS[(s // 2) % 3], _vel(rng, base * 0.7, sd)))
            elif perc == "clap" and s in st["snare_steps"]:
                notes.append((b, 0.25, CLAP, _vel(rng, base * 0.8, sd)))
        for s in range(fill_from, spb):
            b = t0 + s / 4
            i = s - fill_from
            n_fill = spb - fill_from
            if st["fill_kind"] == "snare" or (st["fill_kind"] == "mixed" and i % 2 == 0):
                note = st["snare"]
            else:
                note = TOMS[min(len(TOMS) - 1, i * len(TOMS) // n_fill)]
            if rng.random() < 0.85 or i == 0:
                notes.append((b, 0.25, note, _vel(rng, base * (0.7 + 0.4 * i / n_fill), sd)))
            if i % 4 == 0:
                notes.append((b, 0.25, st["kick_note"], _vel(rng, base, sd)))
    return notes


_BASS_RHYTHMS = {
    4: ((0.0, 2.0), (0.0, 1.5, 3.0), (0.0, 2.5, 3.5), (0.0,), (0.0, 1.0, 2.0, 3.0), (0.0, 0.75, 2.0, 3.5)),
    3: ((0.0,), (0.0, 2.0), (0.0, 1.0, 2.0), (0.0, 1.5)),
}  # fmt: skip


def _bass(
    rng: np.random.Generator, ctx: _Context, style: str, base: float, octave_up: bool
) -> Beats:
    notes: Beats = []
    bpb = ctx.beats_per_bar
    lo = 28 + (12 if octave_up else 0)

    def root(ch: Chord) -> int:
        return lo + (ch.root - 4) % 12

    rhythm = _BASS_RHYTHMS[bpb][int(rng.integers(len(_BASS_RHYTHMS[bpb])))]
    arp = [(0, 2, 1, 2), (0, 1, 2, 1), (0, 2, 3, 2), (0, 0, 2, 1)][int(rng.integers(4))]
    legato = float(rng.uniform(0.55, 0.95))
    walk_prev = None
    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        if style == "root":
            hits = list(rhythm)
            for i, h in enumerate(hits):
                nxt = hits[i + 1] if i + 1 < len(hits) else bpb
                ch = ctx.chord_at(t0 + h)
                notes.append(
                    (t0 + h, (nxt - h) * legato, root(ch), _vel(rng, base, 6, 8 if h == 0 else 0))
                )
        elif style in ("eighths", "octaves"):
            for i in range(2 * bpb):
                b = t0 + i / 2
                r = root(ctx.chord_at(b))
                p = r + 12 if style == "octaves" and i % 2 == 1 else r
                notes.append((b, 0.5 * legato, p, _vel(rng, base, 6, 8 if i % 2 == 0 else -4)))
        elif style == "walking":
            for i in range(bpb):
                b = t0 + i
                ch = ctx.chord_at(b)
                r = root(ch)
                nxt = ctx.chord_at(b + 1)
                if i == 0 or walk_prev is None:
                    p = r
                elif nxt != ch or i == bpb - 1:
                    target = root(nxt)
                    p = target + int(rng.choice([-1, 1, -2, 2]))
                else:
                    cands = _chord_pitches(ch, r, r + 12) + ctx.scale_pitches(r, r + 12)
                    cands = [c for c in cands if 0 < abs(c - walk_prev) <= 5] or [r + 7]
                    p = int(rng.choice(cands))
                walk_prev = p
                notes.append((b, 0.9, p, _vel(rng, base, 6, 6 if i == 0 else 0)))
        elif style == "arpeggio":
            for i in range(2 * bpb):
                b = t0 + i / 2
                ch = ctx.chord_at(b)
                tones = [*ch.tones, 12]
                p = root(ch) + tones[arp[i % 4] % len(tones)]
                notes.append((b, 0.5 * legato, p, _vel(rng, base, 6, 6 if i % 4 == 0 else 0)))
        else:  # "kick": lock to the drum pattern
            steps = ctx.kick_steps[bar % 2]
            for i, s in enumerate(steps):
                nxt = steps[i + 1] if i + 1 < len(steps) else 4 * bpb
                b = t0 + s / 4
                ch = ctx.chord_at(b)
                p = root(ch) + (7 if rng.random() < 0.15 else 0)
                notes.append((b, max(0.2, (nxt - s) / 4 * legato), p, _vel(rng, base, 6)))
    return notes


_COMP_RHYTHMS = {
    4: ((0.0, 2.0), (0.0, 1.0, 2.0, 3.0), (0.0, 1.5, 3.0), (0.5, 1.5, 2.5, 3.5), (0.0, 0.75, 1.5, 2.5, 3.0), (0.0,)),
    3: ((0.0,), (0.0, 1.0, 2.0), (1.0, 2.0), (0.0, 1.5)),
}  # fmt: skip


def _chords_part(
    rng: np.random.Generator,
    ctx: _Context,
    style: str,
    base: float,
    center: int,
    n_voices: int,
    left_hand: bool,
) -> Beats:
    """Piano/organ/pad style chord parts: ``comp``, ``arpeggio``, ``ballad``, ``pad``, ``stabs``, ``arp``."""
    notes: Beats = []
    bpb = ctx.beats_per_bar
    rhythm = _COMP_RHYTHMS[bpb][int(rng.integers(len(_COMP_RHYTHMS[bpb])))]
    legato = float(rng.uniform(0.5, 0.95))
    sub = (
        4
        if (style == "arp" or (style == "arpeggio" and ctx.tempo < 100 and rng.random() < 0.5))
        else 2
    )
    shape = [(0, 1, 2, 3), (0, 1, 2, 3, 2, 1), (0, 2, 1, 3), (3, 2, 1, 0)][int(rng.integers(4))]
    prev: list[int] | None = None
    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        if style in ("comp", "stabs"):
            hits = list(rhythm)
            for i, h in enumerate(hits):
                nxt = hits[i + 1] if i + 1 < len(hits) else bpb
                ch = ctx.chord_at(t0 + h)
                prev = _voicing(ch, center, n_voices, prev)
                dur = 0.3 if style == "stabs" else (nxt - h) * legato
                v = _vel(rng, base, 5, 6 if h == 0 else 0)
                notes.extend((t0 + h, dur, p, _vel(rng, v, 3)) for p in prev)
                if left_hand and h == 0:
                    notes.append((t0, bpb * legato, 36 + (ch.root - 0) % 12, _vel(rng, base, 5)))
        elif style in ("ballad", "pad"):  # one held chord per chord change (per bar at most)
            step = (
                min(bpb, ctx.bars_per_chord * bpb)
                if style == "ballad"
                else ctx.bars_per_chord * bpb
            )
            b = 0.0
            while b < bpb - 1e-9:
                if (t0 + b) % step < 1e-9:
                    ch = ctx.chord_at(t0 + b)
                    prev = _voicing(ch, center, n_voices, prev)
                    dur = step * (1.0 if style == "pad" else legato)
                    v = _vel(rng, base, 4)
                    notes.extend((t0 + b, dur, p, _vel(rng, v, 3)) for p in prev)
                    if left_hand:
                        notes.append((t0 + b, dur, 36 + ch.root % 12, _vel(rng, base, 5)))
                b += 0.5  # chord changes fall on half-beats
        else:  # "arpeggio" / "arp": broken chords
            for i in range(sub * bpb):
                b = t0 + i / sub
                ch = ctx.chord_at(b)
                pool = _chord_pitches(ch, center - 5, center + 14)
                if not pool:
                    continue
                idx = shape[i % len(shape)] + (2 if (i // len(shape)) % 2 else 0)
                p = pool[min(idx, len(pool) - 1)]
                notes.append((b, (1 / sub) * (1.6 if style == "arpeggio" else 0.9), p,
                              _vel(rng, base, 5, 6 if i % sub == 0 else 0)))  # fmt: skip
                if left_hand and i == 0:
                    notes.append((b, bpb * 0.9, 36 + ch.root % 12, _vel(rng, base, 5)))
    return notes


_STRUMS = ("D.DU.UDU", "D.D.D.D.", "D.DUDUDU", "DUDUDUDU", "D..UD.DU", "D...D...", "D.DU.U.U")


def _guitar(rng: np.random.Generator, ctx: _Context, style: str, base: float) -> Beats:
    notes: Beats = []
    bpb = ctx.beats_per_bar
    beat_s = 60.0 / ctx.tempo
    strum_delay = float(rng.uniform(0.006, 0.02)) / beat_s  # in beats
    pattern = _STRUMS[int(rng.integers(len(_STRUMS)))][: 2 * bpb]
    pick = [(0, 2, 3, 4, 1, 3, 2, 4), (0, 3, 2, 4, 3, 2, 1, 2), (0, 2, 4, 3, 1, 3, 4, 2)][
        int(rng.integers(3))
    ]
    mute = float(rng.uniform(0.2, 0.45))
    riff_cells: dict[str, list[tuple[float, int]]] = {}
    low = 40 + int(rng.integers(0, 5))

    def shape(ch: Chord) -> list[int]:
        r = low + (ch.root - low) % 12
        third = next((t for t in ch.tones if t in (2, 3, 4, 5)), 4)
        fifth = next((t for t in ch.tones if t in (6, 7, 8)), 7)
        cand = [r, r + fifth, r + 12, r + 12 + third, r + 12 + fifth, r + 24]
        return [p for p in cand if p <= 79]

    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        label, _ = ctx.section_of(bar)
        if style == "strum":
            for i, c in enumerate(pattern):
                if c == ".":
                    continue
                b = t0 + i / 2
                strings = shape(ctx.chord_at(b))
                if c == "U":
                    strings = strings[::-1][:4]
                v = _vel(rng, base, 5, 6 if c == "D" and i % 2 == 0 else -8)
                for j, p in enumerate(strings):  # rings until the next stroke re-strikes it
                    notes.append((b + j * strum_delay, 1.5, p, _vel(rng, v, 3)))
        elif style == "pick":
            for i in range(2 * bpb):
                b = t0 + i / 2
                strings = shape(ctx.chord_at(b))
                p = strings[pick[i % len(pick)] % len(strings)]
                notes.append((b, 1.0, p, _vel(rng, base, 5, 6 if i == 0 else 0)))
        elif style == "power":
            for i in range(2 * bpb):
                b = t0 + i / 2
                ch = ctx.chord_at(b)
                r = low + (ch.root - low) % 12
                v = _vel(rng, base, 5, 10 if i % 2 == 0 else 0)
                for p in (r, r + 7, r + 12):
                    notes.append((b, mute if i % 4 else 0.45, p, _vel(rng, v, 2)))
        elif style == "skank":
            for i in range(bpb):
                b = t0 + i + 0.5
                voicing = [p + 12 for p in shape(ctx.chord_at(b))[2:5]]
                v = _vel(rng, base, 5)
                for j, p in enumerate(voicing):
                    notes.append((b + j * strum_delay * 0.5, 0.22, p, _vel(rng, v, 3)))
        else:  # "riff": a one-bar figure per section, moved to each chord's root
            if label not in riff_cells:
                cell = []
                pos = 0.0
                while pos < bpb - 1e-9:
                    d = float(rng.choice([0.5, 0.5, 1.0, 0.25]))
                    if rng.random() < 0.8:
                        cell.append((pos, int(rng.choice([0, 0, 7, 12, 10, 5, 3]))))
                    pos += d
                riff_cells[label] = cell or [(0.0, 0)]
            for pos, iv in riff_cells[label]:
                ch = ctx.chord_at(t0 + pos)
                r = low + (ch.root - low) % 12
                p = r + iv
                if p % 12 not in {(ctx.key + s) % 12 for s in ctx.scale} | ch.pitch_classes():
                    p -= 1
                notes.append((t0 + pos, 0.45, p, _vel(rng, base, 5, 6 if pos == 0 else 0)))
    return notes


_MELODY_CELLS = (
    (1.0, 1.0, 1.0, 1.0), (1.5, 0.5, 1.0, 1.0), (0.5, 0.5, 1.0, 2.0), (2.0, 1.0, 1.0),
    (0.5, 0.5, 0.5, 0.5, 1.0, 1.0), (1.0, 0.5, 0.5, 2.0), (3.0, 1.0), (0.75, 0.75, 0.5, 2.0),
)  # fmt: skip


def _melody(
    rng: np.random.Generator, ctx: _Context, base: float, lo: int, hi: int, slow: bool
) -> Beats:
    """A motif-based line: 2-bar phrases per section, chord tones on strong beats, rests between."""
    notes: Beats = []
    bpb = ctx.beats_per_bar
    phrase_len = 2 * bpb
    phrases: dict[str, list[tuple[float, float, int]]] = {}
    scale = ctx.scale_pitches(lo, hi)
    for bar in range(0, ctx.n_bars, 2):
        label, _ = ctx.section_of(bar)
        if label not in phrases:
            phrase: list[tuple[float, float, int]] = []
            idx = len(scale) // 2 + int(rng.integers(-3, 4))
            rest = float(rng.choice([0.0, 1.0, 2.0]))  # breath at the end of the phrase
            pos = 0.0
            while pos < phrase_len - rest - 1e-9:
                cell = _MELODY_CELLS[int(rng.integers(len(_MELODY_CELLS)))]
                for d in cell:
                    d = 2 * d if slow else d
                    if pos >= phrase_len - rest - 1e-9:
                        break
                    if rng.random() < 0.1 and phrase:
                        pos += d
                        continue
                    step = int(rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]))
                    idx = int(np.clip(idx + step, 0, len(scale) - 1))
                    phrase.append((pos, min(d, phrase_len - pos), idx))
                    pos += d
            phrases[label] = phrase
        for pos, d, idx in phrases[label]:
            b = bar * bpb + pos
            if b >= ctx.n_bars * bpb:
                break
            p = scale[idx]
            if pos == int(pos) and pos % 2 == 0:  # strong beat: snap to the chord
                tones = _chord_pitches(ctx.chord_at(b), lo, hi)
                if tones:
                    p = min(tones, key=lambda q: (abs(q - p), q))
            if rng.random() < 0.08:  # small variation between repeats
                p = scale[int(np.clip(idx + rng.choice([-1, 1]), 0, len(scale) - 1))]
            notes.append((b, d * 0.92, p, _vel(rng, base, 6, 6 if pos % bpb == 0 else 0)))
    return notes


def _near(pitches: list[int], target: float) -> int:
    return min(pitches, key=lambda q: (abs(q - target), q))


def _onset_mask(rng: np.random.Generator, steps: int, p_on: float, p_off: float) -> list[int]:
    """A syncopated hit pattern on a grid of ``steps`` (on-beat steps every 4th, or 2nd for 8ths)."""
    while True:
        mask = [s for s in range(steps) if rng.random() < (p_on if s % 4 == 0 else p_off)]
        if len(mask) >= 2:
            return mask


_SHELL_RHYTHMS = {
    4: ((0.0, 2.5), (0.5, 2.0, 3.5), (0.0, 0.75, 2.75), (1.5, 3.0), (0.0, 3.5), (0.0, 1.5, 2.5, 3.5)),
    3: ((0.0, 1.5), (0.5, 2.0), (0.0, 2.5), (1.0, 2.5)),
}  # fmt: skip


def _band_piano(
    rng: np.random.Generator, ctx: _Context, role: str, base: float, center: int
) -> Beats:
    """Piano parts with their own rhythm, register and voicing (not the guitar's comping)."""
    notes: Beats = []
    bpb = ctx.beats_per_bar
    steps = 4 * bpb
    cells: dict[str, list[int]] = {}
    if role == "melody":  # right-hand line, sometimes in thirds/sixths
        lo, hi = center - 8, center + 12
        scale = ctx.scale_pitches(lo - 12, hi)
        below = int(rng.choice([2, 5]))
        for b, d, p, v in _melody(rng, ctx, base, lo, hi, slow=bool(rng.random() < 0.3)):
            notes.append((b, d, p, v))
            if p in scale and rng.random() < 0.35 and scale.index(p) >= below:
                notes.append((b, d, scale[scale.index(p) - below], _vel(rng, v, 3, -6)))
        return notes
    rhythm = _SHELL_RHYTHMS[bpb][int(rng.integers(len(_SHELL_RHYTHMS[bpb])))]
    legato = float(rng.uniform(0.6, 0.95))
    prev: list[int] | None = None
    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        label, _ = ctx.section_of(bar)
        if role == "stride":  # low bass note on the strong beats, chord on the others
            for i in range(bpb):
                b = t0 + i
                ch = ctx.chord_at(b)
                if i % 2 == 0:
                    r = 33 + (ch.root - 9) % 12 + (7 if i == 2 and rng.random() < 0.5 else 0)
                    notes.append((b, 0.8, r, _vel(rng, base, 5, 6)))
                    if rng.random() < 0.5:
                        notes.append((b, 0.8, r + 12, _vel(rng, base, 5)))
                else:
                    prev = _voicing(ch, center, 3, prev)
                    v = _vel(rng, base, 5, -4)
                    notes.extend((b, 0.45, p, _vel(rng, v, 3)) for p in prev)
        elif role == "shells":  # open voicing: root + 7th/10th low, upper structure high
            for i, h in enumerate(rhythm):
                nxt = rhythm[i + 1] if i + 1 < len(rhythm) else bpb
                ch = ctx.chord_at(t0 + h + (0.5 if h % 1 else 0.0))  # anticipations
                r = 36 + (ch.root - 0) % 12
                shell = [r, r + (ch.tones[3] if len(ch.tones) > 3 else 12 + ch.tones[1])]
                upper = _chord_pitches(ch, center + 5, center + 17)[:3]
                v = _vel(rng, base, 5, 6 if h == 0 else 0)
                dur = (nxt - h) * legato
                notes.extend((t0 + h, dur, p, _vel(rng, v, 3)) for p in shell + upper)
        elif role in ("montuno", "octaves", "sparkle"):
            if label not in cells:  # one pattern per section, repeated
                if role == "sparkle":
                    cells[label] = sorted(
                        int(s)
                        for s in rng.choice(2 * steps, int(rng.integers(2, 6)), replace=False)
                    )
                else:
                    cells[label] = _onset_mask(
                        rng, 2 * steps, 0.35, 0.5 if role == "montuno" else 0.3
                    )
                cells[label + "+"] = [int(x) for x in rng.integers(0, 4, size=2 * steps)]
            for s in cells[label]:
                if (bar % 2) != s // steps:
                    continue
                b = t0 + (s % steps) / 4
                ch = ctx.chord_at(b)
                pool = _chord_pitches(ch, center - 6, center + 8)
                if not pool:
                    continue
                top = pool[min(cells[label + "+"][s], len(pool) - 1)]
                v = _vel(rng, base, 5, 8 if s % 2 == 1 else 0)
                if role == "sparkle":
                    chord = [top] + ([top + 12] if rng.random() < 0.3 else [])
                    dur = 0.75
                elif role == "montuno":
                    mid = [p for p in pool if top - 12 < p < top]
                    chord = [top - 12, top, *mid[-1:]]
                    dur = 0.22
                else:
                    r = _near(_chord_pitches(ch, center - 6, center + 6) or [top], center)
                    chord = [r - 12, r]
                    dur = 0.3
                notes.extend((b, dur, p, _vel(rng, v, 3)) for p in chord)
    return notes


def _others(
    rng: np.random.Generator, ctx: _Context, part: Part, base: float, loop: bool = False
) -> Beats:
    """An "others" part by role, in its program's range."""
    lo, hi = _program_range(part.program)
    center = int(np.clip((lo + hi) // 2, 48, 84))
    role = part.role
    if role in ("lead", "counter", "head"):
        return _melody(rng, ctx, base, lo, hi, slow=role == "counter")
    if role == "sparkle":
        return _band_piano(rng, ctx, "sparkle", base, int(np.clip(hi - 8, 70, 88)))
    if role == "fx":  # long swells, one per section
        notes: Beats = []
        step = ctx.section_bars * ctx.beats_per_bar
        for b in np.arange(0.0, ctx.n_bars * ctx.beats_per_bar, step / 2):
            pool = _chord_pitches(ctx.chord_at(float(b)), center, center + 12)
            notes.append(
                (float(b), step / 2 * 0.95, pool[0] if pool else center, _vel(rng, base, 5))
            )
        return notes
    if role == "arp" and loop:
        return _loop_arp(rng, ctx, base, center)
    nv = 3 if role == "arp" else int(rng.integers(3, 5))
    return _chords_part(rng, ctx, role, base, center, nv, False)


def _loop_arp(rng: np.random.Generator, ctx: _Context, base: float, center: int) -> Beats:
    """A 1- or 2-bar arpeggiated loop (16ths or 8ths) over chord tones, repeated."""
    bpb = ctx.beats_per_bar
    sub = 4 if rng.random() < 0.7 else 2
    n = sub * bpb * int(rng.choice([1, 2]))
    pattern = [int(x) for x in rng.integers(0, 5, size=n)]
    rests = {int(x) for x in rng.choice(n, size=int(rng.integers(0, n // 4 + 1)), replace=False)}
    gate = float(rng.uniform(0.4, 0.9))
    notes: Beats = []
    for i in range(ctx.n_bars * sub * bpb):
        if i % n in rests:
            continue
        b = i / sub
        pool = _chord_pitches(ctx.chord_at(b), center - 5, center + 14)
        if pool:
            p = pool[min(pattern[i % n], len(pool) - 1)]
            notes.append((b, gate / sub, p, _vel(rng, base, 4, 8 if i % (sub * 2) == 0 else 0)))
    return notes


def _dynamics(ctx: _Context, beats: Beats, quiet: float) -> Beats:
    """Verse/chorus dynamics: velocities in "A" sections (verses) scaled by ``1 - quiet``."""
    out: Beats = []
    for b, d, p, v in beats:
        if ctx.section_of(int(b // ctx.beats_per_bar))[0] == "A":
            v = max(1, round(v * (1.0 - quiet)))
        out.append((b, d, p, v))
    return out


def _section_end(ctx: _Context, bar: int) -> bool:
    """Whether ``bar`` is the last of its section."""
    return bar % ctx.section_bars == ctx.section_bars - 1


def _horn_hits(rng: np.random.Generator, ctx: _Context, base: float, lo: int, hi: int) -> Beats:
    """Horn-section hits: a syncopated 2-bar rhythm per section, 2-3 close chord tones.

    The top voice is the chord tone nearest the upper third of the program's range
    ``[lo, hi]`` (MIDI notes); the hits play in the second half of every 4-bar phrase
    (or in every phrase, a per-song choice), short and accented, the last one of the
    rhythm sometimes held.
    """
    bpb = ctx.beats_per_bar
    steps = 8 * bpb  # two bars of 16ths
    every = bool(rng.random() < 0.4)
    n_voices = int(rng.choice([2, 3], p=[0.4, 0.6]))
    top_target = lo + 2 * (hi - lo) / 3
    cells: dict[str, list[tuple[int, float]]] = {}
    notes: Beats = []
    for bar in range(0, ctx.n_bars, 2):
        label, _ = ctx.section_of(bar)
        if label not in cells:
            offs = [s for s in range(steps) if s % 4 != 0]
            k = int(rng.integers(2, 5))
            hits = sorted(int(s) for s in rng.choice(offs, k, replace=False))
            if rng.random() < 0.5:
                hits = [0, *hits]
            cells[label] = [(s, 0.2) for s in hits[:-1]] + [
                (hits[-1], float(rng.choice([0.2, 1.0])))
            ]
        if not every and (bar // 2) % 2 == 0:
            continue
        for s, dur in cells[label]:
            b = bar * bpb + s / 4
            pool = _chord_pitches(ctx.chord_at(b), lo, hi)
            if not pool:
                continue
            top = _near(pool, top_target)
            voices = [q for q in pool if q <= top][-n_voices:]
            v = _vel(rng, base, 5, 10)
            notes.extend((b, dur, p, _vel(rng, v, 3)) for p in voices)
    return notes


def _styled_others(
    rng: np.random.Generator, ctx: _Context, part: Part, base: float, slow: bool = False
) -> Beats:
    """An "others" part of the four later grammars: horn ``hits``, slow lines, or :func:`_others`."""
    lo, hi = _program_range(part.program)
    if part.role == "hits":
        return _horn_hits(rng, ctx, base, lo, hi)
    if slow and part.role in ("lead", "counter"):
        return _melody(rng, ctx, base, lo, hi, slow=True)
    return _others(rng, ctx, part, base)


def _fingerpicked(
    rng: np.random.Generator,
    ctx: _Context,
    base: float,
    thumb: Sequence[int],
    fingers: Sequence[int],
    low: int,
    high: int,
) -> Beats:
    """Fingerpicked guitar: the thumb on the bass strings, the fingers on the treble strings.

    Parameters
    ----------
    rng : numpy.random.Generator
    ctx : _Context
    base : float
        Base MIDI velocity.
    thumb, fingers : sequence of int
        16th-note steps of the bar where the thumb (root, then fifth, alternating) and
        the fingers (chord tones in a per-song order) pluck.
    low : int
        Lowest bass-string root (MIDI note, E2 = 40 to G#2 = 44).
    high : int
        Centre of the treble strings (MIDI note).

    Returns
    -------
    list of (start [beats], duration [beats], pitch, velocity)
        Every string rings 1.5 beats (cut short by its next pluck).
    """
    order = [int(x) for x in rng.permutation(3)] * 2
    if rng.random() < 0.5:
        order = order[:3] + order[:3][::-1]
    notes: Beats = []
    for bar in range(ctx.n_bars):
        t0 = bar * ctx.beats_per_bar
        events = sorted([(s, "t") for s in thumb] + [(s, "f") for s in fingers])
        n_t = n_f = 0
        for s, kind in events:
            b = t0 + s / 4
            ch = ctx.chord_at(b)
            r = low + (ch.root - low) % 12
            if kind == "t":
                p = r if n_t % 2 == 0 else r + 7
                n_t += 1
                v = _vel(rng, base, 5, 6 if s == 0 else 0)
            else:
                pool = _chord_pitches(ch, high - 5, high + 7) or [r + 12]
                p = pool[order[n_f % len(order)] % len(pool)]
                n_f += 1
                v = _vel(rng, base, 5, -6)
            notes.append((b, 1.5, p, v))
    return notes
