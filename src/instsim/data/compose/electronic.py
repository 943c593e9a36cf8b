"""The "electronic" grammar: loops, builds and drops.

Four-on-the-floor and broken drum styles (``_edm_drum_style``, ``_edm_drums``),
synth basses (``_synth_bass``), looped piano figures (``_edm_piano``), stabs and
pads. Its entry point is :func:`song`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .common import (
    Beats,
    _choice,
    _count,
    _plan_others,
    _realize,
    _score,
)
from .gm import (
    CLAP,
    COWBELL,
    CRASH,
    DRUM_KITS,
    HAT_CLOSED,
    HAT_OPEN,
    KICK,
    KICK2,
    RIDE_BELL,
    SHAKER,
    SNARE,
    SNARE2,
    TAMBOURINE,
)
from .harmony import MODES, _Context, _progression, _song_context, _voicing
from .score import Part, Score
from .writers import (
    _guitar,
    _loop_arp,
    _onset_mask,
    _others,
    _vel,
)

#: "others" in electronic songs: GM family (first program) -> (weight, roles, role weights).
_ELECTRONIC_OTHERS: dict[int, tuple[float, tuple[str, ...], tuple[float, ...]]] = {
    80: (1.4, ("lead", "arp"), (1.0, 1.2)),
    88: (1.4, ("pad",), (1.0,)),
    96: (0.9, ("fx", "pad"), (1.0, 0.5)),
    8: (0.7, ("arp", "sparkle"), (1.0, 0.8)),
    48: (0.4, ("pad", "stabs"), (1.0, 0.6)),
    16: (0.3, ("stabs", "pad"), (1.0, 0.5)),
}


def _edm_drums(rng: np.random.Generator, ctx: _Context, st: dict[str, Any], base: float) -> Beats:
    """Kick/clap/16th hats; "A" sections build (no kick until half way, a roll at the end), "B" drop."""
    notes: Beats = []
    bpb, spb = ctx.beats_per_bar, 4 * ctx.beats_per_bar
    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        label, k = ctx.section_of(bar)
        in_sec = bar - k * ctx.section_bars
        build = label == "A"
        nxt_label = ctx.section_of(bar + 1)[0]
        roll = build and in_sec == ctx.section_bars - 1 and nxt_label == "B"
        if in_sec == 0 and not build:
            notes.append((t0, 2.0, CRASH, _vel(rng, base, 5, 10)))
        for s in range(spb):
            b = t0 + s / 4
            if roll:
                if s >= spb // 2 or s % 2 == 0:
                    notes.append((b, 0.25, st["snare"], _vel(rng, base * (0.5 + 0.5 * s / spb), 4)))
                continue
            if s in st["kick_steps"][bar % 2] and (not build or in_sec >= ctx.section_bars // 2):
                notes.append((b, 0.25, st["kick_note"], _vel(rng, base, 4, 12)))
            if s in st["snare_steps"] and not (build and in_sec < ctx.section_bars // 2):
                notes.append((b, 0.25, st["snare"], _vel(rng, base, 4, 8)))
            if s % st["hat_step"] == 0:
                hat = HAT_OPEN if st["open_offbeat"] and s % 4 == 2 else HAT_CLOSED
                notes.append((b, 0.25, hat, _vel(rng, base * 0.75, 5, 8 if s % 4 == 2 else -4)))
            if st["perc"] and s in st["perc_steps"]:
                notes.append((b, 0.25, st["perc"], _vel(rng, base * 0.6, 5)))
    return notes


def _edm_drum_style(rng: np.random.Generator, ctx: _Context, feel: str) -> dict[str, Any]:
    spb = 4 * ctx.beats_per_bar
    if feel == "four_floor":
        kicks = [list(range(0, spb, 4))] * 2
        snare_steps = [4, 12]
    else:  # broken beat: syncopated kicks around a backbeat (or a half-time snare)
        snare_steps = [8] if feel == "halftime" else [4, 12]
        kicks = [sorted({0, *(int(s) for s in rng.choice([3, 6, 7, 10, 11, 14], int(rng.integers(1, 4)), replace=False))} - set(snare_steps))
                 for _ in range(2)]  # fmt: skip
    return {
        "feel": feel,
        "kick_steps": kicks,
        "kick_note": int(rng.choice([KICK, KICK2])),
        "snare": int(rng.choice([CLAP, SNARE, SNARE2], p=[0.5, 0.3, 0.2])),
        "snare_steps": snare_steps,
        "hat_step": int(rng.choice([1, 2], p=[0.6, 0.4])),
        "open_offbeat": bool(rng.random() < 0.6),
        "perc": int(
            rng.choice([0, SHAKER, TAMBOURINE, COWBELL, RIDE_BELL], p=[0.5, 0.2, 0.1, 0.1, 0.1])
        ),
        "perc_steps": [int(s) for s in rng.choice(spb, int(rng.integers(2, 6)), replace=False)],
    }


def _synth_bass(rng: np.random.Generator, ctx: _Context, role: str, base: float) -> Beats:
    """Sub (held roots), off-beat, rolling 16ths or a 1-bar 16th loop over the chord roots."""
    bpb = ctx.beats_per_bar
    lo = int(rng.integers(24, 34))
    mask = _onset_mask(rng, 4 * bpb, 0.8, 0.35)
    octs = [int(x) for x in rng.choice([0, 0, 0, 12, 7], size=4 * bpb)]
    notes: Beats = []
    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        for s in range(4 * bpb):
            b = t0 + s / 4
            r = lo + (ctx.chord_at(b).root - lo) % 12
            if role == "sub":
                step = min(bpb, ctx.bars_per_chord * bpb)
                if (b % step) < 1e-9:
                    notes.append((b, step * 0.98, r, _vel(rng, base, 3)))
            elif role == "offbeat":
                if s % 4 == 2:
                    notes.append(
                        (b, 0.4, r + 12 * (s % 8 == 6 and rng.random() < 0.2), _vel(rng, base, 4))
                    )
            elif role == "rolling":
                if s % 4 != 0 or s == 0:
                    notes.append((b, 0.2, r + octs[s], _vel(rng, base, 4, 6 if s % 2 == 0 else -6)))
            elif s in mask:
                notes.append((b, 0.22, r + octs[s], _vel(rng, base, 4, 6 if s == 0 else 0)))
    return notes


def _edm_piano(
    rng: np.random.Generator, ctx: _Context, role: str, base: float, center: int
) -> Beats:
    """House-piano stabs on a syncopated 16th loop, or a single-note riff at a low/high register."""
    if role == "riff":
        return _loop_arp(rng, ctx, base, center)
    bpb = ctx.beats_per_bar
    mask = _onset_mask(rng, 8 * bpb, 0.4, 0.35)
    prev: list[int] | None = None
    notes: Beats = []
    for bar in range(ctx.n_bars):
        for s in mask:
            if (bar % 2) != s // (4 * bpb):
                continue
            b = bar * bpb + (s % (4 * bpb)) / 4
            prev = _voicing(ctx.chord_at(b), center, 4, prev)
            v = _vel(rng, base, 4, 6)
            notes.extend((b, 0.2, p, _vel(rng, v, 2)) for p in prev)
    return notes


def song(streams: list[np.random.Generator], seconds: float) -> Score:
    rng = streams[0]
    feel = str(_choice(rng, ["four_floor", "broken", "halftime"], [0.55, 0.25, 0.2]))
    tempo = float(
        np.round(
            rng.uniform(
                *{"four_floor": (115, 132), "broken": (84, 110), "halftime": (160, 176)}[feel]
            ),
            1,
        )
    )
    mode = str(_choice(rng, list(MODES), [0.2, 0.55, 0.2, 0.05]))
    swing = 0.5 if rng.random() < 0.8 else float(rng.uniform(0.52, 0.57))
    n_a = int(_choice(rng, [1, 2, 4], [0.25, 0.4, 0.35]))
    prog_a = _progression(rng, mode, None)[:n_a]
    prog_b = prog_a if rng.random() < 0.6 else _progression(rng, mode, tuple(prog_a))[:n_a]
    bpc = float(_choice(rng, [0.5, 1.0, 2.0], [0.15, 0.6, 0.25]))
    form = str(_choice(rng, ["ABAB", "AABB", "ABBA", "AB"]))
    ctx = _song_context(rng, seconds, tempo, 4, mode, (prog_a, prog_b), bpc, form, 0.2,
                        int(_choice(rng, [4, 8], [0.6, 0.4])))  # fmt: skip
    plan: list[tuple[str, str, str, int]] = [
        (
            "drums",
            "drums",
            feel,
            int(_choice(rng, DRUM_KITS, [0.15, 0.05, 0.1, 0.35, 0.35, 0.0, 0.0])),
        )
    ]
    if rng.random() < 0.97:
        role = str(_choice(rng, ["sub", "offbeat", "rolling", "pattern"], [1.0, 1.0, 0.8, 1.2]))
        plan.append(
            (
                "bass",
                "bass",
                role,
                int(_choice(rng, range(32, 40), [0.3, 0.5, 0.2, 0.1, 0.2, 0.2, 2, 2])),
            )
        )
    if rng.random() < 0.6:
        role = str(_choice(rng, ["stab", "riff"], [1.0, 1.0]))
        plan.append(
            ("piano", "piano", role, int(_choice(rng, range(8), [2, 2, 1, 0.5, 2, 2, 0.5, 1])))
        )
    if rng.random() < 0.3:
        plan.append(("guitar", "guitar", str(_choice(rng, ["skank", "pick", "riff"])),
                     int(_choice(rng, range(24, 32), [0.5, 0.5, 1, 1.5, 2, 1, 1, 0.5]))))  # fmt: skip
    plan += _plan_others(rng, _count(rng, [0.15, 0.3, 0.3, 0.17, 0.08], 1), _ELECTRONIC_OTHERS)
    drum_style = _edm_drum_style(streams[1], ctx, "halftime" if feel == "halftime" else feel)
    ctx.kick_steps = drum_style["kick_steps"]
    sections_p = {
        "piano": (0.5, 0.1, 0.3, 0.1),
        "guitar": (0.5, 0.1, 0.3, 0.1),
        "others": (0.4, 0.2, 0.3, 0.1),
    }

    def write(prng: np.random.Generator, part: Part, base: float) -> Beats:
        if part.group == "drums":
            return _edm_drums(prng, ctx, drum_style, base)
        if part.group == "bass":
            return _synth_bass(prng, ctx, part.role, base)
        if part.group == "piano":  # unusual registers: low riffs, high stabs
            center = int(prng.integers(40, 52) if prng.random() < 0.4 else prng.integers(70, 88))
            return _edm_piano(prng, ctx, part.role, base, center)
        if part.group == "guitar":
            return _guitar(prng, ctx, part.role, base)
        return _others(prng, ctx, part, base, loop=True)

    parts = _realize(streams, ctx, plan, swing, seconds, write, sections_p, 0.003)
    style = {"grammar": "electronic", "feel": feel, "section_bars": ctx.section_bars,
             "drums": {k: v for k, v in drum_style.items()}}  # fmt: skip
    return _score(ctx, seconds, mode, swing, parts, style)
