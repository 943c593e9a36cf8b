"""The "band" grammar: five feels, with a piano that does not comp along with the guitar.

The feels are rock, funk, soul, latin and ballad. Per feel (``_BAND_ROLES``): a
tempo range, the roles of piano, guitar and bass and drum overrides; the piano has
its own writer and register (``_band_piano``), and 1-7 "others" enter and leave by
section. Its entry point is :func:`song`.
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
    _weighted,
)
from .gm import DRUM_KITS
from .harmony import MODES, _progression, _song_context
from .score import Part, Score
from .writers import (
    _band_piano,
    _bass,
    _drum_style,
    _drums,
    _guitar,
    _others,
)

#: "others" in band songs: GM family (first program) -> (weight, roles, role weights).
_BAND_OTHERS: dict[int, tuple[float, tuple[str, ...], tuple[float, ...]]] = {
    8: (0.8, ("arp", "lead", "sparkle"), (1.0, 0.6, 1.0)),  # chromatic percussion
    16: (1.1, ("pad", "stabs"), (1.0, 1.0)),  # organ
    40: (1.1, ("pad", "counter", "arp", "lead"), (1.0, 0.8, 0.5, 0.5)),  # strings
    48: (1.6, ("pad", "stabs", "counter"), (1.5, 0.5, 0.5)),  # ensembles, choir, hits
    56: (1.3, ("stabs", "lead", "counter"), (1.4, 0.8, 0.6)),  # brass
    64: (1.2, ("lead", "counter"), (1.2, 0.8)),  # reeds
    72: (0.8, ("lead", "counter"), (1.0, 0.8)),  # pipes
    80: (0.8, ("lead", "arp"), (1.2, 0.6)),  # synth leads
    88: (0.9, ("pad",), (1.0,)),  # synth pads
    96: (0.4, ("pad", "sparkle"), (1.0, 0.5)),  # synth effects
    104: (0.4, ("lead", "arp"), (1.0, 0.6)),  # ethnic
}


#: Register centre (MIDI note) of each band piano role.
_BAND_PIANO_CENTRES = {"melody": (62, 80), "montuno": (55, 72), "stride": (55, 67),
                       "sparkle": (76, 85), "shells": (50, 66), "octaves": (45, 64)}  # fmt: skip


_BAND_FEELS = ("rock", "funk", "soul", "latin", "ballad")
#: per feel: tempo range, roles of piano / guitar / bass with weights, drum overrides.
_BAND_ROLES: dict[str, dict[str, Any]] = {
    "rock": {"tempo": (100, 160), "piano": {"octaves": 2, "stride": 1, "sparkle": 1.5, "shells": 1, "melody": 1},
             "guitar": {"power": 2, "strum": 1.5, "riff": 1.5}, "bass": {"eighths": 2, "root": 1, "kick": 1.5},
             "perc": "none"},
    "funk": {"tempo": (88, 122), "piano": {"montuno": 1.5, "octaves": 1.5, "sparkle": 1, "shells": 1},
             "guitar": {"skank": 1.5, "pick": 1.5, "riff": 1}, "bass": {"octaves": 2, "kick": 1.5, "arpeggio": 1},
             "perc": "tambourine"},
    "soul": {"tempo": (70, 108), "piano": {"shells": 2, "melody": 1.5, "stride": 1, "sparkle": 1},
             "guitar": {"pick": 1.5, "skank": 1, "strum": 1}, "bass": {"walking": 1, "root": 1.5, "arpeggio": 1},
             "perc": "shaker"},
    "latin": {"tempo": (90, 132), "piano": {"montuno": 3, "octaves": 1, "melody": 1},
              "guitar": {"pick": 1.5, "strum": 1}, "bass": {"arpeggio": 1.5, "root": 1.5, "kick": 1},
              "perc": "congas"},
    "ballad": {"tempo": (58, 84), "piano": {"melody": 2, "sparkle": 1.5, "shells": 1.5, "stride": 0.5},
               "guitar": {"pick": 2, "strum": 1}, "bass": {"root": 2, "walking": 0.5},
               "perc": "none"},
}  # fmt: skip


def song(streams: list[np.random.Generator], seconds: float) -> Score:
    rng = streams[0]
    feel = str(_choice(rng, _BAND_FEELS, [1.3, 1.0, 1.0, 0.8, 0.8]))
    roles = _BAND_ROLES[feel]
    tempo = float(np.round(rng.uniform(*roles["tempo"]), 1))
    bpb = 3 if feel == "ballad" and rng.random() < 0.3 else 4
    mode = str(
        _choice(
            rng, list(MODES), [0.45, 0.3, 0.15, 0.1] if feel != "funk" else [0.2, 0.3, 0.35, 0.15]
        )
    )
    swing = (
        0.5 if feel in ("rock", "latin") or rng.random() < 0.6 else float(rng.uniform(0.55, 0.64))
    )
    prog_a = _progression(rng, mode, None)
    prog_b = _progression(rng, mode, tuple(prog_a))
    bpc = float(
        _choice(rng, [1.0, 2.0, 0.5], [0.6, 0.3, 0.1] if feel != "funk" else [0.3, 0.6, 0.1])
    )
    form = str(_choice(rng, ["ABAB", "AABA", "AABB", "AAB", "ABBA"]))
    sevenths = {"soul": 0.6, "funk": 0.5, "ballad": 0.4}.get(feel, 0.1)
    section_bars = 8 if max(len(prog_a), len(prog_b)) * bpc > 4 else 4
    ctx = _song_context(rng, seconds, tempo, bpb, mode, (prog_a, prog_b), bpc, form, sevenths,
                        section_bars)  # fmt: skip

    plan: list[tuple[str, str, str, int]] = []
    if rng.random() < 0.95:
        kit = int(_choice(rng, DRUM_KITS, [0.3, 0.2, 0.2 if feel == "rock" else 0.05, 0.05, 0.05, 0.1,
                                             0.2 if feel == "ballad" else 0.05]))  # fmt: skip
        plan.append(("drums", "drums", "groove", kit))
    if rng.random() < 0.96:
        plan.append(
            (
                "bass",
                "bass",
                _weighted(rng, roles["bass"]),
                int(_choice(rng, range(32, 40), [2, 3, 1.5, 1, 1, 0.5, 0.8, 0.5])),
            )
        )
    has_piano, has_guitar = rng.random() < 0.85, rng.random() < 0.75
    if not (has_piano or has_guitar):
        has_piano = True
    if has_piano:
        first = _weighted(rng, roles["piano"])
        plan.append(
            (
                "piano",
                "piano",
                first,
                int(_choice(rng, range(8), [3, 2, 1, 0.7, 2.5, 1.5, 0.6, 1.2])),
            )
        )
        if rng.random() < 0.15:
            second = _weighted(
                rng, {k: v for k, v in roles["piano"].items() if k != first} or {"sparkle": 1.0}
            )
            plan.append(("piano2", "piano", second, int(rng.integers(0, 8))))
    if has_guitar:
        for i in range(2 if rng.random() < 0.25 else 1):
            prog = int(_choice(rng, range(24, 32), [1.5, 1.5, 1, 2, 1, 1.5 if feel == "rock" else 0.5,
                                                     1.5 if feel == "rock" else 0.3, 0.3]))  # fmt: skip
            plan.append(
                ("guitar" if i == 0 else "guitar2", "guitar", _weighted(rng, roles["guitar"]), prog)
            )
    n_others = _count(rng, [0.07, 0.15, 0.25, 0.23, 0.15, 0.1, 0.05], 1)
    plan += _plan_others(rng, n_others, _BAND_OTHERS)

    drum_style = _drum_style(streams[1], ctx) if plan[0][0] == "drums" else {}
    if drum_style:  # the feel decides what the generic groove left open
        if feel in ("funk", "latin") and ctx.tempo < 125:
            drum_style["hat_division"] = 4
        drum_style["feel"] = {"ballad": "halftime", "funk": "breakbeat"}.get(
            feel, drum_style["feel"]
        )
        if roles["perc"] != "none":
            drum_style["perc"] = roles["perc"]
        ctx.kick_steps = drum_style["kick_steps"]
    sections_p = {"piano": (0.75, 0.05, 0.05, 0.15), "guitar": (0.7, 0.05, 0.1, 0.15),
                  "others": (0.45, 0.15, 0.2, 0.2)}  # fmt: skip

    def write(prng: np.random.Generator, part: Part, base: float) -> Beats:
        if part.group == "drums":
            return _drums(prng, ctx, drum_style, base)
        if part.group == "bass":
            return _bass(
                prng, ctx, part.role, base, part.program in (38, 39) and prng.random() < 0.5
            )
        if part.group == "piano":
            return _band_piano(
                prng, ctx, part.role, base, int(prng.integers(*_BAND_PIANO_CENTRES[part.role]))
            )
        if part.group == "guitar":
            return _guitar(prng, ctx, part.role, base)
        return _others(prng, ctx, part, base)

    parts = _realize(streams, ctx, plan, swing, seconds, write, sections_p, 0.012)
    return _score(ctx, seconds, mode, swing, parts, {"grammar": "band", "feel": feel, "sevenths": sevenths,
                                                     "section_bars": section_bars})  # fmt: skip
