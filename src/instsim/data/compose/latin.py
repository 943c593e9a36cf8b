"""The "latin" grammar: clave, tumbao, montuno, nylon guitar, percussion, brass/flute.

One bar of 4/4 with 16ths holds one clave cycle (two bars of salsa's cut time, whose
eighths are our 16ths): a tempo of 80-105 here is salsa's 160-210. One of four
training styles (with rock, funk and ballad) that have their own drum, bass, piano
and guitar writers; its "others" come from several GM families per song. Its entry
point is :func:`song`.
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
    CLAVES,
    CONGA_LOW,
    CONGA_MUTE,
    CONGA_OPEN,
    COWBELL,
    CRASH,
    GUIRO_LONG,
    GUIRO_SHORT,
    KICK,
    MARACAS,
    TIMBALE_HI,
    TIMBALE_LO,
)
from .harmony import _chord_pitches, _Context, _plain_context
from .score import Chord, Part, Score
from .writers import (
    _fingerpicked,
    _near,
    _section_end,
    _styled_others,
    _vel,
)

_CLAVES: dict[str, tuple[int, ...]] = {
    "son 3-2": (0, 3, 6, 10, 12), "son 2-3": (2, 4, 8, 11, 14),
    "rumba 3-2": (0, 3, 7, 10, 12), "rumba 2-3": (2, 4, 8, 11, 15),
}  # fmt: skip
_CASCARA = (0, 2, 3, 5, 7, 8, 10, 12, 13, 15)  # 3-2; the 2-3 cascara swaps the halves
_LATIN_PROGRESSIONS = ((0, 3, 4, 3), (0, 4, 4, 0), (1, 4, 0, 0), (0, 3, 0, 4), (5, 1, 4, 0),
                       (0, 0, 4, 4))  # fmt: skip
#: "others" in latin songs: GM family (first program) -> (weight, roles, role weights).
_LATIN_OTHERS: dict[int, tuple[float, tuple[str, ...], tuple[float, ...]]] = {
    56: (1.6, ("hits", "lead", "counter"), (1.5, 0.8, 0.4)),  # trumpets, trombones
    72: (1.2, ("lead", "counter"), (1.0, 0.3)),  # flute
    64: (0.8, ("hits", "lead", "counter"), (0.8, 0.6, 0.4)),  # saxes
    40: (0.7, ("counter", "pad", "lead"), (0.8, 0.8, 0.5)),  # violins (charanga)
    8: (0.6, ("sparkle", "lead"), (1.0, 0.6)),  # vibes, marimba
    48: (0.4, ("pad",), (1.0,)),  # strings
}
_LATIN_PROGRAMS = {56: (56, 56, 57, 61), 72: (73, 72, 75), 64: (64, 65, 66), 40: (40, 41),
                   8: (11, 12, 13), 48: (48, 49)}  # fmt: skip


def _latin_drums(rng: np.random.Generator, ctx: _Context, st: dict[str, Any], base: float) -> Beats:
    """Latin percussion on GM drum keys: clave, conga tumbao, timbales, cowbell, shaker/guiro.

    Claves play the song's clave every bar; congas the tumbao (soft heel-toe, a slap,
    two open tones per half-cycle); in "A" sections the timbale shell plays cascara, in
    "B" sections (the montuno) a cowbell plays quarter notes of cut time; maracas or
    guiro keep the eighths; a soft kick marks the bombo note; a timbale roll ends a
    section and a crash opens a "B" section.
    """
    notes: Beats = []
    bpb, spb = ctx.beats_per_bar, 4 * ctx.beats_per_bar
    cascara = st["cascara"]
    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        label, _ = ctx.section_of(bar)
        if bar % ctx.section_bars == 0 and label == "B":
            notes.append((t0, 1.0, CRASH, _vel(rng, base, 5, 8)))
        fill_from = spb - 4 if _section_end(ctx, bar) else spb
        for s in range(spb):
            b = t0 + s / 4
            if s in st["clave"]:
                notes.append((b, 0.2, CLAVES, _vel(rng, base * 0.85, 4, 6)))
            q = s % 8  # conga tumbao, per half-cycle
            if q in (6, 7):
                notes.append((b, 0.2, CONGA_OPEN if q == 6 or st["two_open"] else CONGA_LOW,
                              _vel(rng, base * 0.85, 4, 6)))  # fmt: skip
            elif q == 2:
                notes.append((b, 0.2, CONGA_MUTE, _vel(rng, base * 0.8, 4, 8)))
            elif st["heel_toe"]:
                notes.append((b, 0.2, CONGA_MUTE, _vel(rng, base * 0.35, 3)))
            if s >= fill_from:
                note = TIMBALE_HI if (s - fill_from) < 2 else TIMBALE_LO
                notes.append((b, 0.2, note, _vel(rng, base * 0.9, 5, 4 * (s - fill_from))))
            elif label == "A" and s in cascara:
                notes.append((b, 0.2, TIMBALE_HI, _vel(rng, base * 0.5, 4, 6 if s % 4 == 0 else 0)))
            elif label == "B" and s % 4 == 0:
                notes.append((b, 0.2, COWBELL, _vel(rng, base * 0.7, 4, 8 if s % 8 == 0 else 0)))
            if st["shaker"] == MARACAS:
                notes.append((b, 0.15, MARACAS, _vel(rng, base * 0.45, 4, 8 if s % 2 == 0 else 0)))
            elif s % 4 == 0:
                notes.append((b, 0.45, GUIRO_LONG, _vel(rng, base * 0.5, 4)))
            elif s % 4 == 2:
                notes.append((b, 0.15, GUIRO_SHORT, _vel(rng, base * 0.5, 4)))
            if s == st["bombo"]:
                notes.append((b, 0.25, KICK, _vel(rng, base * 0.7, 4)))
    return notes


def _tumbao_bass(rng: np.random.Generator, ctx: _Context, role: str, base: float) -> Beats:
    """Tumbao: the bass anticipates the downbeat (nothing sounds on the one).

    Per half-cycle (8 steps) a note on step 3 (a fifth or the root of the current chord)
    and one on step 6, the root of the chord that arrives on the next downbeat, held
    across it. ``"tumbao"`` plays exactly that; ``"tumbao+"`` adds a passing note on
    the "and" before the anticipation now and then.
    """
    bpb, spb = ctx.beats_per_bar, 4 * ctx.beats_per_bar
    lo = int(rng.integers(28, 33))
    fifth_first = float(rng.uniform(0.4, 0.9))
    notes: Beats = []

    def root(ch: Chord) -> int:
        return lo + (ch.root - lo) % 12

    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        for half in range(0, spb, 8):
            b3, b6 = t0 + (half + 3) / 4, t0 + (half + 6) / 4
            ch = ctx.chord_at(b3)
            nxt = ctx.chord_at(t0 + (half + 8) / 4)
            p3 = root(ch) + (7 if rng.random() < fifth_first else 0)
            notes.append((b3, 0.7, p3, _vel(rng, base, 5, 4)))
            if role == "tumbao+" and rng.random() < 0.4:
                notes.append((t0 + (half + 5) / 4, 0.2, root(nxt) + int(rng.choice([-2, 2, 5])),
                              _vel(rng, base, 5, -8)))  # fmt: skip
            notes.append((b6, 1.2, root(nxt), _vel(rng, base, 5, 10)))
    return notes


def _montuno(rng: np.random.Generator, ctx: _Context, role: str, base: float, top: int) -> Beats:
    """Montuno piano: a syncopated one-cycle figure in octaves, mostly on the off-beat 16ths.

    Each onset plays a chord tone near the figure's contour (``top`` is the centre of
    the upper line, MIDI note) doubled an octave below; ``"filled"`` also fills the
    octave with a chord tone in between.
    """
    bpb, spb = ctx.beats_per_bar, 4 * ctx.beats_per_bar
    odd = [s for s in range(1, spb, 2) if rng.random() < 0.85]
    even = [s for s in range(0, spb, 2) if rng.random() < 0.25]
    figure = sorted({*odd, *even} or {1, 5})
    contour = [int(x) for x in rng.choice([-1, 0, 1, 2], size=len(figure))]
    notes: Beats = []
    for bar in range(ctx.n_bars):
        t0 = bar * bpb
        for i, s in enumerate(figure):
            b = t0 + s / 4
            ch = ctx.chord_at(b + 0.25)  # the figure anticipates chord changes
            pool = _chord_pitches(ch, top - 7, top + 7)
            if not pool:
                continue
            mid = pool.index(_near(pool, top))
            p = pool[int(np.clip(mid + contour[i], 0, len(pool) - 1))]
            chord = [p - 12, p]
            if role == "filled":
                inner = [q for q in _chord_pitches(ch, p - 11, p - 1)]
                chord += inner[len(inner) // 2 : len(inner) // 2 + 1]
            v = _vel(rng, base, 5, 6 if s % 2 == 1 else 0)
            notes.extend((b, 0.22, q, _vel(rng, v, 3)) for q in chord)
    return notes


def song(streams: list[np.random.Generator], seconds: float) -> Score:
    rng = streams[0]
    tempo = float(np.round(rng.uniform(80.0, 105.0), 1))
    mode = str(_choice(rng, ["major", "minor"], [0.5, 0.5]))
    clave = str(_choice(rng, list(_CLAVES), [1.5, 1.0, 0.8, 0.6]))
    prog_a = list(_LATIN_PROGRESSIONS[int(rng.integers(len(_LATIN_PROGRESSIONS)))])
    prog_b = list(_LATIN_PROGRESSIONS[int(rng.integers(len(_LATIN_PROGRESSIONS)))])
    bpc = float(_choice(rng, [0.5, 1.0], [0.6, 0.4]))
    form = str(_choice(rng, ["AABB", "ABAB", "AB", "AAB"]))
    ctx = _plain_context(rng, seconds, tempo, 4, mode, bpc, form, 0.2, (prog_a, prog_b))
    plan = _plan_core(
        rng, (0, 8, 32), (0.6, 0.3, 0.1),
        ({"tumbao": 2.0, "tumbao+": 1.0}, (32, 33, 35), (2.0, 1.5, 1.0)),
        ({"octaves": 1.0, "filled": 1.0}, (0, 1), (3.0, 1.0)),
        ({"arpeggio": 1.0}, (24,), (1.0,)),
    )  # fmt: skip
    plan += _plan_others(rng, _count(rng, [0.3, 0.45, 0.25], 2), _LATIN_OTHERS, _LATIN_PROGRAMS)
    plan = _one_lead(plan)
    c = _CLAVES[clave]
    three_two = clave.endswith("3-2")
    st = {
        "clave": list(c),
        "cascara": list(_CASCARA) if three_two else sorted((s + 8) % 16 for s in _CASCARA),
        "bombo": c[1] if three_two else c[3],  # the 3-side's second stroke
        "two_open": bool(rng.random() < 0.5),
        "heel_toe": bool(rng.random() < 0.6),
        "shaker": int(_choice(rng, [MARACAS, GUIRO_LONG], [0.6, 0.4])),
    }
    thumb = (0, 8)
    fingers = tuple(int(s) for s in _choice(rng, [(4, 6, 12, 14), (2, 4, 6, 10, 12, 14), (4, 12),
                                                   (6, 10, 14)]))  # fmt: skip
    sections_p = {"piano": (0.9, 0.0, 0.0, 0.1), "guitar": (0.7, 0.15, 0.0, 0.15),
                  "others": (0.4, 0.2, 0.25, 0.15)}  # fmt: skip

    def write(prng: np.random.Generator, part: Part, base: float) -> Beats:
        if part.group == "drums":
            return _latin_drums(prng, ctx, st, base)
        if part.group == "bass":
            return _tumbao_bass(prng, ctx, part.role, base)
        if part.group == "piano":
            return _montuno(prng, ctx, part.role, base, int(prng.integers(70, 79)))
        if part.group == "guitar":
            return _fingerpicked(prng, ctx, base * 0.9, thumb, fingers, 40 + int(prng.integers(0, 5)),
                                 int(prng.integers(59, 66)))  # fmt: skip
        return _styled_others(prng, ctx, part, base)

    parts = _realize(streams, ctx, plan, 0.5, seconds, write, sections_p, 0.008)
    style = {"grammar": "latin", "clave": clave, "section_bars": ctx.section_bars, "drums": st,
             "guitar_fingers": list(fingers)}  # fmt: skip
    return _score(ctx, seconds, mode, 0.5, parts, style)
