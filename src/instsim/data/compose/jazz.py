"""The "jazz" grammar: swing, ii-V-I, walking bass, rootless voicings, ride.

The held-out style: the default model never trains on it. Its entry point is
:func:`song`.
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
from .gm import DRUM_KITS, HAT_PEDAL, KICK, RIDE, RIDE_BELL, SIDESTICK, SNARE
from .harmony import _Context, _song_context, _voicing
from .score import Part, Score
from .writers import (
    _bass,
    _melody,
    _others,
    _vel,
)

#: "others" in jazz songs: GM family (first program) -> (weight, roles, role weights).
_JAZZ_OTHERS: dict[int, tuple[float, tuple[str, ...], tuple[float, ...]]] = {
    56: (1.2, ("head", "counter"), (1.0, 0.5)),  # trumpet, trombone
    64: (1.5, ("head", "counter"), (1.0, 0.4)),  # saxes
    72: (0.5, ("head",), (1.0,)),  # flute
    8: (0.6, ("head", "sparkle"), (1.0, 0.4)),  # vibes
    16: (0.5, ("pad",), (1.0,)),  # organ
    48: (0.3, ("pad",), (1.0,)),  # strings
}
_JAZZ_PROGRAMS = {56: (56, 57, 58, 59), 64: (64, 65, 66, 67, 71), 72: (73, 72), 8: (11, 12),
                  16: (16, 17), 48: (48, 49)}  # fmt: skip


_JAZZ_PROGRESSIONS = (
    (1, 4, 0, 0),
    (1, 4, 0, 5),
    (0, 5, 1, 4),
    (2, 5, 1, 4),
    (0, 3, 1, 4),
    (3, 6, 2, 5),
)


def _jazz_drums(rng: np.random.Generator, ctx: _Context, st: dict[str, Any], base: float) -> Beats:
    """Ride "ding ding-ga ding", hi-hat pedal on 2 and 4, feathered kick, sparse snare comping."""
    notes: Beats = []
    bpb = ctx.beats_per_bar
    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        for i in range(bpb):
            b = t0 + i
            notes.append((b, 0.5, st["ride"], _vel(rng, base * 0.8, 5, 6 if i % 2 else 0)))
            if i % 2 == 1 and bpb == 4:
                notes.append((b + 2 / 3, 0.25, st["ride"], _vel(rng, base * 0.6, 5)))
                notes.append((b, 0.25, HAT_PEDAL, _vel(rng, base * 0.6, 4)))
            if rng.random() < st["feather"]:
                notes.append((b, 0.25, KICK, _vel(rng, base * 0.35, 3)))
            if rng.random() < st["comp"]:
                notes.append(
                    (
                        b + float(rng.choice([0.0, 2 / 3])),
                        0.25,
                        st["snare"],
                        _vel(rng, base * 0.55, 6),
                    )
                )
    return notes


def _jazz_piano(
    rng: np.random.Generator, ctx: _Context, role: str, base: float, center: int
) -> Beats:
    """Rootless voicings (3-7-9 / 7-3-5) comped on Charleston / anticipated rhythms, or a swung line."""
    if role == "solo":
        return _melody(rng, ctx, base, center, center + 19, slow=False)
    bpb = ctx.beats_per_bar
    rhythms = (
        ((0.0, 1.5), (1.5, 3.5), (0.0, 2.5), (2.5,), (0.5, 2.0, 3.5))
        if bpb == 4
        else ((0.0, 1.5), (1.0, 2.5))
    )
    notes: Beats = []
    for bar in range(ctx.n_bars):
        hits = rhythms[int(rng.integers(len(rhythms)))]  # comping is free, bar by bar
        for h in hits:
            b = bar * bpb + h
            ch = ctx.chord_at(b + (0.5 if h % 1 else 0.0))
            seventh = ch.tones[3] if len(ch.tones) > 3 else 10
            pcs = [ch.tones[1], seventh, 14, 7 if rng.random() < 0.5 else 9]  # no root
            lo = center - 6
            voicing = sorted(lo + (ch.root + t - lo) % 12 for t in pcs)
            v = _vel(rng, base, 6)
            notes.extend(
                (b, float(rng.choice([0.4, 0.9, 1.4])), p, _vel(rng, v, 3)) for p in voicing
            )
    return notes


def song(streams: list[np.random.Generator], seconds: float) -> Score:
    rng = streams[0]
    tempo = float(np.round(rng.uniform(90.0, 220.0), 1))
    bpb = 3 if rng.random() < 0.15 else 4
    mode = str(_choice(rng, ["major", "minor"], [0.7, 0.3]))
    swing = float(rng.uniform(0.6, 0.68))
    prog_a = list(_JAZZ_PROGRESSIONS[int(rng.integers(len(_JAZZ_PROGRESSIONS)))])
    prog_b = list(_JAZZ_PROGRESSIONS[int(rng.integers(len(_JAZZ_PROGRESSIONS)))])
    bpc = float(_choice(rng, [1.0, 2.0], [0.6, 0.4]))
    ctx = _song_context(rng, seconds, tempo, bpb, mode, (prog_a, prog_b), bpc,
                        str(_choice(rng, ["AABA", "ABAB", "AAB"])), 1.0, 8 if bpc == 2.0 else 4)  # fmt: skip
    plan: list[tuple[str, str, str, int]] = [
        ("drums", "drums", "swing", int(_choice(rng, DRUM_KITS, [0.3, 0.1, 0, 0, 0, 0.35, 0.25])))
    ]
    if rng.random() < 0.97:
        plan.append(("bass", "bass", "walking", int(_choice(rng, [32, 33, 35], [3, 1, 0.5]))))
    has_piano, has_guitar = rng.random() < 0.85, rng.random() < 0.4
    if has_piano or not has_guitar:
        plan.append(("piano", "piano", str(_choice(rng, ["comp", "solo"], [0.75, 0.25])),
                     int(_choice(rng, range(8), [4, 1, 0.5, 0.3, 2, 0.5, 0, 0]))))  # fmt: skip
    if has_guitar:
        plan.append(("guitar", "guitar", "pick", int(_choice(rng, [26, 24, 25], [3, 1, 0.5]))))
    plan += _plan_others(rng, _count(rng, [0.35, 0.4, 0.25], 1), _JAZZ_OTHERS, _JAZZ_PROGRAMS)
    st = {"ride": int(rng.choice([RIDE, RIDE_BELL], p=[0.85, 0.15])), "feather": float(rng.uniform(0.0, 0.5)),
          "comp": float(rng.uniform(0.05, 0.3)), "snare": int(rng.choice([SNARE, SIDESTICK]))}  # fmt: skip
    sections_p = {"piano": (0.9, 0.0, 0.0, 0.1), "others": (0.5, 0.3, 0.1, 0.1)}

    def write(prng: np.random.Generator, part: Part, base: float) -> Beats:
        if part.group == "drums":
            return _jazz_drums(prng, ctx, st, base)
        if part.group == "bass":
            return _bass(prng, ctx, "walking", base, False)
        if part.group == "piano":
            return _jazz_piano(prng, ctx, part.role, base, int(prng.integers(56, 68)))
        if part.group == "guitar":  # four-to-the-bar shells
            return [(b, 0.8, p, _vel(prng, base * 0.8, 4)) for b in range(ctx.n_bars * bpb)
                    for p in _voicing(ctx.chord_at(b), 55, 3, None)]  # fmt: skip
        return _others(prng, ctx, part, base)

    parts = _realize(streams, ctx, plan, swing, seconds, write, sections_p, 0.015)
    return _score(ctx, seconds, mode, swing, parts, {"grammar": "jazz", "drums": st})
