"""The "ballad" grammar: slow, brushes, sustained bass, wide broken chords, pads.

One of four training styles (with rock, funk and latin) that have their own drum,
bass, piano and guitar writers; its "others" come from several GM families per
song. Its entry point is :func:`song`.
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
from .gm import CRASH, CRASH2, HAT_CLOSED, HAT_PEDAL, KICK, RIDE, SIDESTICK, SNARE, SNARE2
from .harmony import _chord_pitches, _Context, _plain_context
from .score import Chord, Part, Score
from .writers import (
    _dynamics,
    _fingerpicked,
    _styled_others,
    _vel,
)

#: "others" in ballad songs: GM family (first program) -> (weight, roles, role weights).
_BALLAD_OTHERS: dict[int, tuple[float, tuple[str, ...], tuple[float, ...]]] = {
    48: (1.8, ("pad",), (1.0,)),  # string ensembles, choir
    40: (1.0, ("counter", "pad"), (1.0, 0.6)),  # violin, viola, cello
    88: (1.0, ("pad",), (1.0,)),  # synth pads
    72: (0.8, ("lead", "counter"), (1.0, 0.6)),  # flute, recorder
    64: (0.6, ("lead",), (1.0,)),  # sax, oboe, english horn
    56: (0.5, ("counter", "pad"), (1.0, 0.5)),  # french horn, brass section
    8: (0.4, ("sparkle",), (1.0,)),  # celesta, glockenspiel, vibes
}
_BALLAD_PROGRAMS = {48: (48, 49, 50, 51, 52, 53), 40: (40, 41, 42), 88: (88, 89, 91, 92, 94, 95),
                    72: (73, 74, 72), 64: (65, 66, 68, 69), 56: (60, 61), 8: (8, 9, 11)}  # fmt: skip


def _ballad_drums(
    rng: np.random.Generator, ctx: _Context, st: dict[str, Any], base: float
) -> Beats:
    """Soft and sparse: kick on the one, rim clicks on the backbeat in the verses.

    The choruses ("B") play the snare (a brush on brush kits) on beat 3 (half time) or
    on the backbeat, eighth notes on the ride or hat, and open with a soft cymbal.
    Everything at 45-65 % of the part's base velocity.
    """
    notes: Beats = []
    bpb = ctx.beats_per_bar
    base = base * st["level"]
    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        chorus = ctx.section_of(bar)[0] == "B"
        if chorus and bar % ctx.section_bars == 0:
            notes.append((t0, 2.0, st["cymbal"], _vel(rng, base, 4)))
        notes.append((t0, 0.5, KICK, _vel(rng, base, 4, 6)))
        if bpb == 4 and st["kick_and"] and chorus:
            notes.append((t0 + 2.5, 0.5, KICK, _vel(rng, base * 0.8, 4)))
        if bpb == 3:
            backbeats = [2]
        else:
            backbeats = [2] if chorus and st["halftime"] else [1, 3]
        for i in range(bpb):
            b = t0 + i
            if i in backbeats:
                note = st["snare"] if chorus else SIDESTICK
                notes.append((b, 0.5, note, _vel(rng, base, 4, 4)))
            if chorus or st["verse_time"]:
                for h in (0.0, 0.5) if chorus else (0.0,):
                    notes.append(
                        (b + h, 0.5, st["cymbal_time"], _vel(rng, base * 0.8, 4, 0 if h else 6))
                    )
    return notes


def _ballad_bass(rng: np.random.Generator, ctx: _Context, role: str, base: float) -> Beats:
    """Sustained roots, one per chord (at most per bar), with passing tones.

    ``"roots"``: the root held to the next chord, a scale passing tone leading into
    the next root on the last beat now and then; ``"root-fifth"``: root then fifth, a
    half bar each.
    """
    bpb = ctx.beats_per_bar
    lo = int(rng.integers(28, 34))
    passing = float(rng.uniform(0.25, 0.6))
    step = min(bpb, ctx.bars_per_chord * bpb)
    scale = ctx.scale_pitches(lo - 2, lo + 26)
    notes: Beats = []

    def root(ch: Chord) -> int:
        return lo + (ch.root - lo) % 12

    for start in np.arange(0.0, ctx.n_bars * bpb, step):
        b = float(start)
        ch, nxt = ctx.chord_at(b), ctx.chord_at(b + step)
        r, r2 = root(ch), root(nxt)
        if role == "root-fifth" and step >= 2:
            half = step / 2
            notes.append((b, half * 0.95, r, _vel(rng, base, 4, 6)))
            notes.append(
                (b + half, half * 0.95, r + 7 if r + 7 <= lo + 18 else r - 5, _vel(rng, base, 4))
            )
            continue
        between = [q for q in scale if min(r, r2) < q < max(r, r2)]
        if step >= 2 and r2 != r and between and rng.random() < passing:
            notes.append((b, (step - 1) * 0.97, r, _vel(rng, base, 4, 6)))
            notes.append((b + step - 1, 0.95, between[len(between) // 2], _vel(rng, base, 4, -4)))
        else:
            notes.append((b, step * 0.97, r, _vel(rng, base, 4, 6)))
    return notes


def _ballad_piano(rng: np.random.Generator, ctx: _Context, role: str, base: float) -> Beats:
    """Pedalled broken chords in a wide voicing: left hand low, right hand high.

    The left hand plays root, fifth and octave (or tenth) from C2-E2 up, the right hand
    three chord tones around A#4-F5. ``"broken"``: eighth notes or eighth-note
    triplets (a per-song choice, the triplets giving the 12/8 ballad feel) up through
    both hands, and back down in some songs; ``"rolled"``: the left hand's root and
    fifth on each chord, the right-hand chord rolled half way through it. Notes ring
    until the chord changes (the sustain pedal).
    """
    bpb = ctx.beats_per_bar
    lh_lo = int(rng.integers(36, 41))
    rh_center = int(rng.integers(70, 78))
    tenth = bool(rng.random() < 0.4)
    updown = bool(rng.random() < 0.5)
    sub = 3 if role == "broken" and rng.random() < 0.5 else 2  # notes per beat
    step = round(min(bpb, ctx.bars_per_chord * bpb) * sub)  # chord length in notes
    notes: Beats = []
    for tick in range(ctx.n_bars * bpb * sub):
        b = tick / sub
        k = tick % step  # position within the chord
        ch = ctx.chord_at(b)
        r = lh_lo + (ch.root - lh_lo) % 12
        third = next((t for t in ch.tones if t in (3, 4)), 4)
        lh = [r, r + 7, r + 12 + third if tenth else r + 12]
        rh = _chord_pitches(ch, rh_center - 5, rh_center + 7)[:3]
        ring = (step - k) / sub  # until the chord changes
        if role == "broken":
            seq = lh + rh
            seq = seq + seq[-2:0:-1] if updown else seq
            notes.append((b, ring, seq[k % len(seq)], _vel(rng, base, 5, 6 if k == 0 else 0)))
        elif k == 0:
            v = _vel(rng, base, 5, 6)
            notes.extend((b + j * 0.12, ring, p, _vel(rng, v, 3)) for j, p in enumerate(lh[:2]))
        elif k == step // 2:
            v = _vel(rng, base, 5, -4)
            notes.extend((b + j * 0.08, ring, p, _vel(rng, v, 3)) for j, p in enumerate(rh))
    return notes


def song(streams: list[np.random.Generator], seconds: float) -> Score:
    rng = streams[0]
    tempo = float(np.round(rng.uniform(60.0, 85.0), 1))
    bpb = 3 if rng.random() < 0.25 else 4
    mode = str(_choice(rng, ["major", "minor"], [0.6, 0.4]))
    bpc = float(_choice(rng, [0.5, 1.0, 2.0], [0.2, 0.7, 0.1]))
    if bpb == 3 and bpc == 0.5:  # a chord per bar at least: half a 3/4 bar is off the eighths
        bpc = 1.0
    form = str(_choice(rng, ["AABA", "ABAB", "AABB"]))
    ctx = _plain_context(rng, seconds, tempo, bpb, mode, bpc, form, 0.35)
    plan = _plan_core(
        rng, (40, 32, 0, 8), (0.45, 0.25, 0.15, 0.15),
        ({"roots": 2.0, "root-fifth": 1.0}, (32, 33, 35), (1.5, 1.5, 1.0)),
        ({"broken": 2.0, "rolled": 1.0}, (0, 1, 4), (3.0, 1.0, 1.5)),
        ({"fingerpick": 1.0}, (24, 25), (1.0, 2.0)),
    )  # fmt: skip
    plan += _plan_others(rng, _count(rng, [0.35, 0.4, 0.25], 2), _BALLAD_OTHERS, _BALLAD_PROGRAMS)
    plan = _one_lead(plan)
    st = {
        "level": float(rng.uniform(0.45, 0.65)),
        "halftime": bool(rng.random() < 0.5),
        "kick_and": bool(rng.random() < 0.5),
        "snare": int(_choice(rng, [SNARE, SNARE2, SIDESTICK], [0.6, 0.25, 0.15])),
        "cymbal": int(_choice(rng, [CRASH, RIDE, CRASH2], [0.4, 0.4, 0.2])),
        "cymbal_time": int(_choice(rng, [RIDE, HAT_CLOSED, HAT_PEDAL], [0.5, 0.35, 0.15])),
        "verse_time": bool(rng.random() < 0.5),
    }
    spb = 4 * bpb
    thumb = tuple(range(0, spb, 4))
    fingers = tuple(int(s) for s in _choice(rng, [tuple(range(2, spb, 4)), (2, 6, 7, 10, 14)[: spb // 3],
                                                   tuple(range(2, spb, 2))]))  # fmt: skip
    quiet = float(rng.uniform(0.1, 0.2))
    sections_p = {"drums": (0.7, 0.0, 0.0, 0.3), "guitar": (0.6, 0.15, 0.1, 0.15),
                  "others": (0.35, 0.1, 0.35, 0.2)}  # fmt: skip

    def write(prng: np.random.Generator, part: Part, base: float) -> Beats:
        base *= 0.85
        if part.group == "drums":
            beats = _ballad_drums(prng, ctx, st, base)
        elif part.group == "bass":
            beats = _ballad_bass(prng, ctx, part.role, base)
        elif part.group == "piano":
            beats = _ballad_piano(prng, ctx, part.role, base)
        elif part.group == "guitar":
            beats = _fingerpicked(prng, ctx, base, thumb, fingers, 40 + int(prng.integers(0, 5)),
                                  int(prng.integers(60, 67)))  # fmt: skip
        else:
            beats = _styled_others(prng, ctx, part, base, slow=True)
        return _dynamics(ctx, beats, quiet)

    parts = _realize(streams, ctx, plan, 0.5, seconds, write, sections_p, 0.015)
    style = {"grammar": "ballad", "section_bars": ctx.section_bars, "verse_quiet": quiet, "drums": st,
             "guitar_fingers": list(fingers)}  # fmt: skip
    return _score(ctx, seconds, mode, 0.5, parts, style)
