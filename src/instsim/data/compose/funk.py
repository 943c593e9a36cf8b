"""The "funk" grammar: 16th grooves, ghost notes, slap bass, chicken scratch, off-beat keys.

One of four training styles (with rock, latin and ballad) that have their own
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
from .gm import CRASH, CRASH2, HAT_CLOSED, HAT_OPEN, KICK, SNARE, SNARE2
from .harmony import _chord_pitches, _Context, _plain_context, _voicing
from .score import Part, Score
from .writers import (
    _near,
    _onset_mask,
    _section_end,
    _styled_others,
    _vel,
)

#: "others" in funk songs: GM family (first program) -> (weight, roles, role weights).
_FUNK_OTHERS: dict[int, tuple[float, tuple[str, ...], tuple[float, ...]]] = {
    56: (1.8, ("hits", "lead"), (2.0, 0.3)),  # brass
    64: (1.4, ("hits", "lead", "counter"), (1.0, 0.8, 0.3)),  # saxes
    80: (0.8, ("lead",), (1.0,)),  # synth leads
    16: (0.7, ("pad", "stabs"), (1.0, 0.6)),  # organ
    48: (0.5, ("pad",), (1.0,)),  # strings
    88: (0.4, ("pad",), (1.0,)),  # synth pads
}
_FUNK_PROGRAMS = {56: (56, 57, 61, 62, 63), 64: (64, 65, 66, 67), 80: (80, 81, 82, 84),
                  16: (16, 17, 18), 48: (48, 49, 50), 88: (88, 89, 90)}  # fmt: skip
_FUNK_VAMPS_A = ((0,), (0, 3), (0, 6), (0, 0, 3, 3), (0, 4))
_FUNK_VAMPS_B = ((3,), (3, 4), (5, 4), (6, 3), (1, 4), (3, 0))


def _funk_drum_style(rng: np.random.Generator) -> dict[str, Any]:
    """Per-song funk groove: 2-bar syncopated kick, ghost-note and open-hat steps."""
    kicks = []
    for _ in range(2):
        extra = rng.choice([2, 3, 6, 7, 9, 10, 11, 14, 15], int(rng.integers(2, 5)), replace=False)
        kicks.append(sorted({0, *(int(s) for s in extra)}))
    ghost_pool = [1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15]
    ghosts = sorted(int(s) for s in rng.choice(ghost_pool, int(rng.integers(3, 7)), replace=False))
    opens = sorted(
        int(s) for s in rng.choice([2, 6, 10, 14, 7, 15], int(rng.integers(1, 3)), replace=False)
    )
    return {
        "kick_steps": kicks,
        "ghost_steps": ghosts,
        "open_steps": opens,
        "snare": int(rng.choice([SNARE, SNARE2], p=[0.7, 0.3])),
        "ghost_level": float(rng.uniform(0.25, 0.45)),
        "crash": int(rng.choice([CRASH, CRASH2])),
    }


def _funk_drums(rng: np.random.Generator, ctx: _Context, st: dict[str, Any], base: float) -> Beats:
    """16th hats (open on the song's off-beat steps), syncopated kick, backbeat with ghost notes.

    Ghost notes are snare strokes at ``ghost_level`` of the base velocity; a crash marks
    every section start and a short 16th snare figure ends every section.
    """
    notes: Beats = []
    bpb, spb = ctx.beats_per_bar, 4 * ctx.beats_per_bar
    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        if bar % ctx.section_bars == 0:
            notes.append((t0, 1.0, st["crash"], _vel(rng, base, 5, 10)))
        fill_from = spb - 2 if _section_end(ctx, bar) else spb
        for s in range(spb):
            b = t0 + s / 4
            if s in ctx.kick_steps[bar % 2]:
                notes.append((b, 0.25, KICK, _vel(rng, base, 4, 12 if s == 0 else 4)))
            if s % 8 == 4 or s >= fill_from:
                notes.append((b, 0.25, st["snare"], _vel(rng, base, 4, 12)))
            elif s in st["ghost_steps"]:
                notes.append((b, 0.2, st["snare"], _vel(rng, base * st["ghost_level"], 3)))
            if s in st["open_steps"]:
                notes.append((b, 0.45, HAT_OPEN, _vel(rng, base * 0.75, 4)))
            elif not (s == 0 and bar % ctx.section_bars == 0):
                accent = 8 if s % 4 == 0 else (0 if s % 2 == 0 else -14)
                notes.append((b, 0.2, HAT_CLOSED, _vel(rng, base * 0.75, 4, accent)))
    return notes


def _funk_bass(rng: np.random.Generator, ctx: _Context, role: str, base: float) -> Beats:
    """Slap or finger bass: a one-bar 16th figure per section, moved to each chord's root.

    The root on the one, octave pops (``"slap"``) or fifths and sevenths (``"finger"``)
    on off-beat 16ths, dead notes (short, soft) and rests on the other syncopations, a
    chromatic approach on the last 16th before a chord change.
    """
    bpb, spb = ctx.beats_per_bar, 4 * ctx.beats_per_bar
    lo = int(rng.integers(28, 34))
    upper = (12, 12, 10, 7) if role == "slap" else (7, 10, 12, 5, 3)
    cells: dict[str, list[tuple[int, str]]] = {}
    notes: Beats = []
    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        label, _ = ctx.section_of(bar)
        if label not in cells:
            cell = [(0, "root")]
            for s in range(1, spb):
                r = rng.random()
                if r < (0.25 if s % 4 == 0 else 0.3 if s % 2 == 0 else 0.22):
                    cell.append((s, "up" if rng.random() < 0.5 else "root"))
                elif r < 0.4:
                    cell.append((s, "dead"))
            cells[label] = cell
        cell = cells[label]
        for i, (s, kind) in enumerate(cell):
            nxt = cell[i + 1][0] if i + 1 < len(cell) else spb
            b = t0 + s / 4
            ch = ctx.chord_at(b)
            r = lo + (ch.root - lo) % 12
            if kind == "dead":
                notes.append((b, 0.08, r, _vel(rng, base * 0.45, 4)))
                continue
            p = r + (int(rng.choice(upper)) if kind == "up" else 0)
            if s == spb - 1 and ctx.chord_at(b + 0.25) != ch:
                p = lo + (ctx.chord_at(b + 0.25).root - lo) % 12 - 1
            dur = (
                min(0.75, (nxt - s) / 4 * 0.8)
                if role == "finger"
                else min(0.3, (nxt - s) / 4 * 0.8)
            )
            notes.append((b, dur, p, _vel(rng, base, 5, 12 if s == 0 or kind == "up" else 0)))
    return notes


def _funk_guitar(
    rng: np.random.Generator, ctx: _Context, role: str, base: float, keys: list[int]
) -> Beats:
    """Clean guitar 16ths, interlocking with the keyboard's ``keys`` steps.

    ``"scratch"``: chicken-scratch strokes on a high 3-note voicing, full chords on the
    song's accented steps (never one of ``keys``) and muted strokes (short, soft) on
    most others (rarely on ``keys``);
    ``"single"``: a muted single-note 16th line on chord tones up the neck.
    """
    bpb, spb = ctx.beats_per_bar, 4 * ctx.beats_per_bar
    center = int(rng.integers(64, 72))
    accents = set(_onset_mask(rng, spb, 0.3, 0.3)) - set(keys)
    play = float(rng.uniform(0.55, 0.85))
    line = [int(x) for x in rng.integers(0, 3, size=spb)]
    prev: list[int] | None = None
    notes: Beats = []
    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        for s in range(spb):
            b = t0 + s / 4
            if s not in accents and rng.random() > (play * 0.3 if s in keys else play):
                continue
            ch = ctx.chord_at(b)
            if role == "single":
                pool = _chord_pitches(ch, center - 3, center + 9) or [center]
                p = pool[line[s] % len(pool)]
                acc = s in accents
                v = _vel(rng, base * (1.0 if acc else 0.55), 4)
                notes.append((b, 0.2 if acc else 0.08, p, v))
                continue
            prev = _voicing(ch, center, 3, prev)
            acc = s in accents
            v = _vel(rng, base * (1.0 if acc else 0.5), 4, 6 if acc else 0)
            strum = prev if s % 2 == 0 else prev[::-1]  # down on the 8ths, up between
            for j, p in enumerate(strum):
                notes.append((b + j * 0.012, 0.22 if acc else 0.06, p, _vel(rng, v, 2)))
    return notes


def _funk_keys(
    rng: np.random.Generator, ctx: _Context, role: str, base: float, steps: list[int]
) -> Beats:
    """Electric piano or clavinet on the off-beat ``steps`` (16ths of the bar).

    ``"ep"``: 4-note voicings from about G3 to D5, held an eighth to a quarter;
    ``"clav"``: short two-hand stabs, a low chord tone and an upper dyad.
    """
    bpb = ctx.beats_per_bar
    center = int(rng.integers(56, 64))
    hold = float(rng.uniform(0.4, 0.9))
    prev: list[int] | None = None
    notes: Beats = []
    for bar in range(ctx.n_bars):
        for s in steps:
            b = bar * bpb + s / 4
            ch = ctx.chord_at(b)
            v = _vel(rng, base, 5, 6 if s % 2 == 1 else 0)
            if role == "ep":
                prev = _voicing(ch, center, 4, prev)
                notes.extend((b, hold, p, _vel(rng, v, 3)) for p in prev)
            else:
                low = _near(
                    _chord_pitches(ch, center - 14, center - 3) or [center - 12], center - 9
                )
                prev = _voicing(ch, center + 3, 2, prev)
                notes.extend((b, 0.15, p, _vel(rng, v, 3)) for p in [low, *prev])
    return notes


def song(streams: list[np.random.Generator], seconds: float) -> Score:
    rng = streams[0]
    tempo = float(np.round(rng.uniform(88.0, 118.0), 1))
    mode = str(_choice(rng, ["dorian", "mixolydian", "minor"], [0.4, 0.35, 0.25]))
    swing = 0.5 if rng.random() < 0.7 else float(rng.uniform(0.52, 0.56))
    prog_a = list(_FUNK_VAMPS_A[int(rng.integers(len(_FUNK_VAMPS_A)))])
    prog_b = list(_FUNK_VAMPS_B[int(rng.integers(len(_FUNK_VAMPS_B)))])
    bpc = float(_choice(rng, [1.0, 2.0], [0.5, 0.5]))
    form = str(_choice(rng, ["AABA", "ABAB", "AAAB", "AABB"]))
    ctx = _plain_context(rng, seconds, tempo, 4, mode, bpc, form, 0.85, (prog_a, prog_b))
    plan = _plan_core(
        rng, (0, 8, 24, 25), (0.45, 0.3, 0.1, 0.15),
        ({"slap": 1.0, "finger": 1.0}, (33, 34, 35, 36, 37), (1.5, 0.5, 0.3, 1.5, 1.0)),
        ({"ep": 1.0, "clav": 1.0}, (4, 5, 7), (1.2, 1.0, 1.5)),
        ({"scratch": 2.0, "single": 1.0}, (27, 28), (1.0, 1.0)),
    )  # fmt: skip
    # the bass role follows its program: slap basses slap
    bass = plan[1]
    if bass[3] in (36, 37) or (bass[3] == 34 and bass[2] == "slap"):
        plan[1] = (bass[0], bass[1], "slap", bass[3])
    elif bass[3] == 35:
        plan[1] = (bass[0], bass[1], "finger", bass[3])
    plan += _plan_others(rng, _count(rng, [0.3, 0.45, 0.25], 2), _FUNK_OTHERS, _FUNK_PROGRAMS)
    plan = _one_lead(plan)
    keys = sorted(
        int(s)
        for s in rng.choice([2, 3, 6, 7, 10, 11, 14, 15], int(rng.integers(2, 5)), replace=False)
    )
    st = _funk_drum_style(streams[1])
    ctx.kick_steps = st["kick_steps"]
    sections_p = {"piano": (0.85, 0.0, 0.0, 0.15), "guitar": (0.9, 0.0, 0.0, 0.1),
                  "others": (0.35, 0.15, 0.35, 0.15)}  # fmt: skip

    def write(prng: np.random.Generator, part: Part, base: float) -> Beats:
        if part.group == "drums":
            return _funk_drums(prng, ctx, st, base)
        if part.group == "bass":
            return _funk_bass(prng, ctx, part.role, base)
        if part.group == "piano":
            return _funk_keys(prng, ctx, part.role, base, keys)
        if part.group == "guitar":
            return _funk_guitar(prng, ctx, part.role, base, keys)
        return _styled_others(prng, ctx, part, base)

    parts = _realize(streams, ctx, plan, swing, seconds, write, sections_p, 0.004)
    style = {"grammar": "funk", "section_bars": ctx.section_bars, "keys_steps": keys, "drums": st}
    return _score(ctx, seconds, mode, swing, parts, style)
