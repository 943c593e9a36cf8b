"""The "rock" grammar: power chords, driving eighths, backbeat, verse/chorus dynamics.

One of four training styles (with funk, latin and ballad) that have their own
drum, bass, piano and guitar writers; its "others" come from several GM families
per song. Its entry point is :func:`song`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import (
    Beats,
    _choice,
    _count,
    _one_lead,
    _plan_core,
    _plan_others,
    _realize,
    _score,
)
from .gm import (
    CRASH,
    CRASH2,
    HAT_CLOSED,
    HAT_OPEN,
    HAT_PEDAL,
    KICK,
    KICK2,
    RIDE,
    SNARE,
    SNARE2,
    TOMS,
)
from .harmony import MODES, _Context, _plain_context, _voicing
from .score import Chord, Part, Score
from .writers import (
    _dynamics,
    _section_end,
    _styled_others,
    _vel,
)

#: "others" in rock songs: GM family (first program) -> (weight, roles, role weights).
_ROCK_OTHERS: dict[int, tuple[float, tuple[str, ...], tuple[float, ...]]] = {
    16: (1.5, ("pad", "stabs"), (1.0, 0.7)),  # organ
    48: (1.0, ("pad",), (1.0,)),  # string ensembles, choir
    40: (0.5, ("pad", "counter"), (1.0, 0.6)),  # solo strings
    56: (0.8, ("hits", "lead"), (1.0, 0.4)),  # brass
    64: (0.5, ("lead", "hits"), (1.0, 0.5)),  # saxes
    80: (0.9, ("lead",), (1.0,)),  # synth leads
    88: (0.7, ("pad",), (1.0,)),  # synth pads
}
_ROCK_PROGRAMS = {16: (16, 17, 18, 19), 48: (48, 49, 50, 52), 40: (40, 42),
                  56: (56, 57, 61, 62), 64: (64, 65, 66), 80: (80, 81, 84, 87),
                  88: (88, 89, 90, 91, 94, 95)}  # fmt: skip
#: chorus rhythms of ringing power chords (beats of a 4/4 bar)
_ROCK_CHORUS = ((0.0, 1.5, 2.0, 3.5), (0.0, 2.0), (0.0, 0.5, 1.5, 2.5, 3.5), (0.0, 1.0, 2.0, 3.0),
                (0.0, 1.5, 3.0))  # fmt: skip


def _rock_drum_style(rng: np.random.Generator) -> dict[str, Any]:
    """Per-song rock groove: kick pushes, hats, crash, fills."""
    kicks = []
    for _ in range(2):
        pushes = rng.choice([6, 7, 10, 14], int(rng.integers(0, 3)), replace=False)
        kicks.append(sorted({0, 8, *(int(s) for s in pushes)}))
    if rng.random() < 0.5:
        kicks[1] = kicks[0]
    return {
        "kick_steps": kicks,
        "kick_note": int(rng.choice([KICK, KICK2], p=[0.8, 0.2])),
        "snare": int(rng.choice([SNARE, SNARE2], p=[0.75, 0.25])),
        "verse_hat": int(rng.choice([HAT_CLOSED, HAT_PEDAL], p=[0.85, 0.15])),
        "chorus_hat": int(rng.choice([RIDE, HAT_OPEN, CRASH2], p=[0.5, 0.35, 0.15])),
        "crash": int(rng.choice([CRASH, CRASH2])),
        "fill_beats": int(rng.choice([1, 2], p=[0.6, 0.4])),
    }


def _rock_drums(rng: np.random.Generator, ctx: _Context, st: dict[str, Any], base: float) -> Beats:
    """Straight backbeat: kick on 1 and 3 (plus the song's pushes), snare on 2 and 4.

    Eighth-note closed hats in the verses ("A"), ride or open hats in the choruses ("B"),
    a crash on every section start and a snare/tom fill closing every section.
    """
    notes: Beats = []
    bpb, spb = ctx.beats_per_bar, 4 * ctx.beats_per_bar
    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        chorus = ctx.section_of(bar)[0] == "B"
        if bar % ctx.section_bars == 0:
            notes.append((t0, 1.0, st["crash"], _vel(rng, base, 5, 14)))
        fill_from = spb - 4 * st["fill_beats"] if _section_end(ctx, bar) else spb
        hat = st["chorus_hat"] if chorus else st["verse_hat"]
        for s in range(fill_from):
            b = t0 + s / 4
            if s in ctx.kick_steps[bar % 2]:
                notes.append((b, 0.25, st["kick_note"], _vel(rng, base, 5, 12)))
            if s % 8 == 4:
                notes.append((b, 0.25, st["snare"], _vel(rng, base, 5, 14)))
            if s % 2 == 0 and not (s == 0 and bar % ctx.section_bars == 0):
                accent = 6 if s % 4 == 0 else -8
                notes.append((b, 0.25, hat, _vel(rng, base * (0.85 if chorus else 0.7), 5, accent)))
        for i, s in enumerate(range(fill_from, spb)):
            n_fill = spb - fill_from
            note = st["snare"] if i < n_fill // 2 and rng.random() < 0.6 else TOMS[i * 5 // n_fill]
            notes.append((t0 + s / 4, 0.25, note, _vel(rng, base * (0.75 + 0.35 * i / n_fill), 5)))
            if i % 4 == 0:
                notes.append((t0 + s / 4, 0.25, st["kick_note"], _vel(rng, base, 5)))
    return notes


def _rock_bass(rng: np.random.Generator, ctx: _Context, role: str, base: float) -> Beats:
    """Rock bass from E1 (roots E1-D#2), locked to the kick.

    ``"drive"``: eighth notes on the root, accented where the kick plays, with a chromatic
    (or fifth-above) approach into a chord change; ``"lock"``: a note on each kick step (and
    every beat of the chorus), held until the next.
    """
    bpb, spb = ctx.beats_per_bar, 4 * ctx.beats_per_bar
    lo = 28
    approach = float(rng.uniform(0.2, 0.7))
    notes: Beats = []

    def root(ch: Chord) -> int:
        return lo + (ch.root - 4) % 12

    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        kicks = ctx.kick_steps[bar % 2]
        if role == "drive":
            for s in range(0, spb, 2):
                b = t0 + s / 4
                ch, nxt = ctx.chord_at(b), ctx.chord_at(b + 0.5)
                p = root(ch)
                if nxt != ch and rng.random() < approach:  # chromatic or fifth approach
                    p = root(nxt) + int(rng.choice([-1, 1, 7]))
                    p = p if p >= lo else p + 2  # E1 is the lowest string
                notes.append((b, 0.42, p, _vel(rng, base, 5, 10 if s in kicks else -4)))
        else:
            chorus = ctx.section_of(bar)[0] == "B"
            steps = sorted({*kicks, *(range(0, spb, 4) if chorus else ())})
            for i, s in enumerate(steps):
                nxt = steps[i + 1] if i + 1 < len(steps) else spb
                b = t0 + s / 4
                p = root(ctx.chord_at(b)) + (12 if s % 8 == 6 and rng.random() < 0.3 else 0)
                notes.append((b, (nxt - s) / 4 * 0.85, p, _vel(rng, base, 5, 8 if s == 0 else 0)))
    return notes


def _rock_guitar(rng: np.random.Generator, ctx: _Context, role: str, base: float) -> Beats:
    """Distorted/overdriven guitar on the low strings.

    ``"power"``: palm-muted eighth-note power chords (root + fifth, short, soft) in the
    verses, ringing power chords (root + fifth + octave) on a per-song rhythm in the
    choruses. ``"riff"``: a one-bar single-note riff per section from the minor
    pentatonic on the chord root, with a power chord on its downbeat.
    """
    bpb = ctx.beats_per_bar
    low = 40 + int(rng.integers(0, 5))
    chorus_rhythm = _ROCK_CHORUS[int(rng.integers(len(_ROCK_CHORUS)))]
    mute = float(rng.uniform(0.12, 0.25))
    riffs: dict[str, list[tuple[float, float, int]]] = {}
    notes: Beats = []
    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        label, _ = ctx.section_of(bar)
        if role == "power":
            if label == "A":
                for i in range(2 * bpb):
                    b = t0 + i / 2
                    r = low + (ctx.chord_at(b).root - low) % 12
                    v = _vel(rng, base * 0.85, 5, 8 if i % 2 == 0 else 0)
                    notes.extend((b, mute, p, _vel(rng, v, 2)) for p in (r, r + 7))
            else:
                for i, h in enumerate(chorus_rhythm):
                    nxt = chorus_rhythm[i + 1] if i + 1 < len(chorus_rhythm) else bpb
                    b = t0 + h
                    r = low + (ctx.chord_at(b).root - low) % 12
                    v = _vel(rng, base, 5, 10 if h == 0 else 4)
                    notes.extend(
                        (b, (nxt - h) * 0.95, p, _vel(rng, v, 2)) for p in (r, r + 7, r + 12)
                    )
        else:
            if label not in riffs:
                cell, pos = [], 0.0
                while pos < bpb - 1e-9:
                    d = float(rng.choice([0.25, 0.5, 0.5, 0.75, 1.0]))
                    if pos == 0 or rng.random() < 0.8:
                        cell.append(
                            (pos, min(d, bpb - pos), int(rng.choice([0, 3, 5, 7, 10, 12, 0])))
                        )
                    pos += d
                riffs[label] = cell
            for pos, d, iv in riffs[label]:
                b = t0 + pos
                r = low + (ctx.chord_at(b).root - low) % 12
                chord = (r, r + 7) if pos == 0 else (r + iv,)
                v = _vel(rng, base, 5, 8 if pos == 0 else 0)
                notes.extend((b, d * 0.9, p, _vel(rng, v, 2)) for p in chord)
    return notes


def _rock_keys(
    rng: np.random.Generator, ctx: _Context, role: str, base: float, center: int
) -> Beats:
    """Piano or electric piano around ``center`` (MIDI note), full voicings with the third.

    ``"pad"``: one 4-note voicing held per chord change (at most per bar);
    ``"stabs"``: short 3-4-note chords on a per-song pattern of off-beat 16ths and
    eighths (the "and" of 2, the "a" of 4 ...), twice as many in the choruses.
    """
    bpb, spb = ctx.beats_per_bar, 4 * ctx.beats_per_bar
    offs = [s for s in range(spb) if s % 4 != 0]
    verse = sorted(int(s) for s in rng.choice(offs, int(rng.integers(2, 4)), replace=False))
    chorus = sorted({*verse, *(int(s) for s in rng.choice(offs, 2, replace=False))})
    n_voices = int(rng.integers(3, 5))
    prev: list[int] | None = None
    notes: Beats = []
    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        if role == "pad":
            step = min(bpb, ctx.bars_per_chord * bpb)
            for h in np.arange(0.0, bpb, 0.5):
                if (t0 + h) % step < 1e-9:
                    prev = _voicing(ctx.chord_at(t0 + h), center, 4, prev)
                    v = _vel(rng, base * 0.85, 4)
                    notes.extend((t0 + h, step * 0.98, p, _vel(rng, v, 3)) for p in prev)
        else:
            for s in chorus if ctx.section_of(bar)[0] == "B" else verse:
                b = t0 + s / 4
                prev = _voicing(ctx.chord_at(b + 0.25), center, n_voices, prev)
                v = _vel(rng, base, 5, 6)
                notes.extend((b, 0.3, p, _vel(rng, v, 3)) for p in prev)
    return notes


def song(streams: list[np.random.Generator], seconds: float) -> Score:
    rng = streams[0]
    tempo = float(np.round(rng.uniform(96.0, 168.0), 1))
    mode = str(_choice(rng, list(MODES), [0.35, 0.3, 0.1, 0.25]))
    bpc = float(_choice(rng, [0.5, 1.0, 2.0], [0.25, 0.6, 0.15]))
    form = str(_choice(rng, ["AABB", "ABAB", "AABA"], [1.0, 2.0, 1.0]))
    ctx = _plain_context(rng, seconds, tempo, 4, mode, bpc, form, 0.0)
    plan = _plan_core(
        rng, (0, 8, 16), (0.4, 0.3, 0.3),
        ({"drive": 1.5, "lock": 1.0}, (33, 34, 38), (2.0, 2.0, 0.3)),
        ({"pad": 1.0, "stabs": 1.2}, (0, 1, 2, 4, 5), (2.0, 2.0, 0.5, 1.5, 1.0)),
        ({"power": 2.0, "riff": 1.0}, (29, 30), (1.0, 1.2)),
    )  # fmt: skip
    if rng.random() < 0.45:  # a second guitar: the riff over the rhythm part, or doubling it
        role2 = "riff" if plan[-1][2] == "power" else "power"
        plan.append(("guitar2", "guitar", role2, int(_choice(rng, [29, 30, 27], [1.0, 1.0, 0.5]))))
    plan += _plan_others(rng, _count(rng, [0.35, 0.4, 0.25], 2), _ROCK_OTHERS, _ROCK_PROGRAMS)
    plan = _one_lead(plan)
    st = _rock_drum_style(streams[1])
    ctx.kick_steps = st["kick_steps"]
    quiet = float(rng.uniform(0.1, 0.25))
    sections_p = {"piano": (0.65, 0.05, 0.2, 0.1), "guitar": (0.9, 0.0, 0.0, 0.1),
                  "others": (0.4, 0.1, 0.35, 0.15)}  # fmt: skip

    def write(prng: np.random.Generator, part: Part, base: float) -> Beats:
        if part.group == "drums":
            beats = _rock_drums(prng, ctx, st, base)
        elif part.group == "bass":
            beats = _rock_bass(prng, ctx, part.role, base)
        elif part.group == "piano":
            beats = _rock_keys(prng, ctx, part.role, base, int(prng.integers(60, 72)))
        elif part.group == "guitar":
            beats = _rock_guitar(prng, ctx, part.role, base)
        else:
            beats = _styled_others(prng, ctx, part, base)
        return _dynamics(ctx, beats, quiet)

    parts = _realize(streams, ctx, plan, 0.5, seconds, write, sections_p, 0.008)
    style = {"grammar": "rock", "section_bars": ctx.section_bars, "verse_quiet": quiet, "drums": st}
    return _score(ctx, seconds, mode, 0.5, parts, style)
