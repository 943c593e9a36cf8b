"""The "pop" grammar: the original song model, kept bit for bit.

One song plan (tempo 60-180 BPM, 4/4 or 3/4, a mode, swing, sevenths, an A/B
progression and a form), a part plan (``_plan_parts``: drums, bass, one or two
pianos and guitars, 0-4 "others"), and the shared part writers of
:mod:`~instsim.data.compose.writers`. Its entry point is :func:`song`.
"""

from __future__ import annotations

import numpy as np

from .common import (
    _choice,
    _keep_sections,
    _timing,
)
from .gm import DRUM_KITS, ROLE_PROGRAMS, _program_range
from .harmony import MODES, _Context, _progression, _triad
from .score import Part, Score
from .writers import (
    _bass,
    _chords_part,
    _drum_style,
    _drums,
    _guitar,
    _melody,
)

_MODE_P = (0.4, 0.35, 0.125, 0.125)


_KIT_P = (0.3, 0.15, 0.15, 0.1, 0.1, 0.1, 0.1)


def _plan_parts(rng: np.random.Generator) -> list[tuple[str, str, str, int]]:
    """(name, group, role, program) of every part, drums first."""
    plan: list[tuple[str, str, str, int]] = []
    if rng.random() < 0.93:
        plan.append(("drums", "drums", "groove", int(_choice(rng, DRUM_KITS, _KIT_P))))
    if rng.random() < 0.95:
        role = _choice(rng, ["root", "eighths", "octaves", "walking", "arpeggio", "kick"],
                       [0.2, 0.18, 0.12, 0.12, 0.16, 0.22])  # fmt: skip
        plan.append(("bass", "bass", role, int(rng.integers(32, 40))))
    has_piano, has_guitar = rng.random() >= 0.22, rng.random() >= 0.22
    if not (has_piano or has_guitar):
        has_piano, has_guitar = (True, False) if rng.random() < 0.5 else (False, True)
    if has_piano:
        n = 2 if rng.random() < 0.15 else 1
        roles = list(rng.permutation(["comp", "arpeggio", "ballad"]))[:n]
        for i, role in enumerate(roles):
            prog = int(_choice(rng, range(8), [3, 2, 1.2, 1, 2, 1.5, 1, 1.2]))
            plan.append(("piano" if i == 0 else "piano2", "piano", str(role), prog))
    if has_guitar:
        n = 2 if rng.random() < 0.2 else 1
        for i in range(n):
            prog = int(_choice(rng, range(24, 32), [2, 2, 1.2, 1.5, 1, 1.5, 1.5, 0.4]))
            if prog in (29, 30):
                role = _choice(rng, ["power", "riff", "strum"], [0.55, 0.3, 0.15])
            elif prog in (24, 25):
                role = _choice(rng, ["strum", "pick", "riff"], [0.5, 0.4, 0.1])
            elif prog == 31:
                role = "pick"
            else:
                role = _choice(rng, ["strum", "pick", "skank", "riff"], [0.3, 0.25, 0.25, 0.2])
            plan.append(("guitar" if i == 0 else "guitar2", "guitar", role, prog))
    n_others = int(_choice(rng, [0, 1, 2, 3, 4], [0.05, 0.25, 0.38, 0.22, 0.1]))
    roles: list[str] = []
    if n_others:
        roles.append("lead" if rng.random() < 0.75 else "pad")
        pool = ["pad", "stabs", "arp", "counter", "lead"]
        w = np.array([1.5, 0.8, 1.0, 1.0, 0.3])
        while len(roles) < n_others:
            role = _choice(rng, pool, w)
            w[pool.index(role)] *= 0.15
            roles.append(role)
    for i, role in enumerate(roles):
        prog = int(_choice(rng, ROLE_PROGRAMS[role]))
        plan.append((role if role not in roles[:i] else f"{role}{i}", "others", role, prog))
    return plan


def song(streams: list[np.random.Generator], seconds: float) -> Score:
    """A "pop" song: the original grammar, its parts written by the shared writers.

    Parameters
    ----------
    streams : list of numpy.random.Generator
        The song's streams (:func:`~instsim.data.compose.song_streams`): 0 for the song,
        ``1 + i`` for part ``i``.
    seconds : float > 0 [s]
        Song length.

    Returns
    -------
    Score
    """
    rng = streams[0]
    tempo = float(np.round(rng.uniform(60.0, 180.0), 1))
    bpb = 3 if rng.random() < 0.1 else 4
    key = int(rng.integers(12))
    mode = str(_choice(rng, list(MODES), _MODE_P))
    swing = 0.5 if rng.random() < 0.7 else float(rng.uniform(0.56, 0.67))
    sevenths = float(rng.choice([0.0, 0.15, 0.6], p=[0.55, 0.3, 0.15]))
    if tempo > 140:
        bpc = float(_choice(rng, [1.0, 2.0], [0.6, 0.4]))
    elif tempo < 85:
        bpc = float(_choice(rng, [0.5, 1.0], [0.3, 0.7]))
    else:
        bpc = float(_choice(rng, [0.5, 1.0, 2.0], [0.1, 0.75, 0.15]))
    prog_a = _progression(rng, mode, None)
    prog_b = _progression(rng, mode, tuple(prog_a))
    form = str(_choice(rng, ["AABA", "ABAB", "AABB", "ABBA", "AAB"]))
    scale = MODES[mode]
    chords = {
        lab: [_triad(scale, key, d, rng.random() < sevenths, int(_choice(rng, [0, 2, 4], [0.92, 0.03, 0.05])))
              for d in prog]
        for lab, prog in (("A", prog_a), ("B", prog_b))
    }  # fmt: skip
    span = max(len(prog_a), len(prog_b)) * bpc
    section_bars = 8 if span > 4 else 4
    bar_s = bpb * 60.0 / tempo
    n_bars = int(np.ceil(seconds / bar_s)) + 1
    plan = _plan_parts(rng)
    ctx = _Context(tempo, bpb, key, scale, n_bars, form, section_bars, bpc, chords, [[0, 8]] * 2)
    drum_style = _drum_style(streams[1], ctx) if plan and plan[0][0] == "drums" else {}
    if drum_style:
        ctx.kick_steps = drum_style["kick_steps"]

    parts: list[Part] = []
    gains = {"drums": (0.0, 2.5), "bass": (-1.5, 2.0), "piano": (-3.0, 1.0), "guitar": (-3.0, 1.0),
             "lead": (0.0, 3.0), "pad": (-6.0, -2.0)}  # fmt: skip
    for i, (name, group, role, program) in enumerate(plan):
        prng = streams[1 + i]
        # per-part choices first, so the notes below may use any number of draws
        base = float(prng.uniform(68, 112))
        lo_db, hi_db = gains.get(group, gains.get(role, (-4.0, 0.0)))
        gain_db = float(prng.uniform(lo_db, hi_db))
        jitter = float(prng.uniform(0.0, 0.006 if group == "drums" else 0.012))
        r = prng.random()
        if group == "others":  # some parts sit out part of the form
            sections = "A" if r < 0.09 else "B" if r < 0.18 else "after-intro" if r < 0.3 else "all"
        elif group in ("piano", "guitar"):
            sections = "after-intro" if r < 0.2 else "all"
        else:
            sections = "all"
        timing_rng = np.random.default_rng(int(prng.integers(2**63)))
        part = Part(name, group, role, program, group == "drums", gain_db=gain_db, velocity=int(base),
                    sections=sections, index=i)  # fmt: skip
        if group == "drums":
            beats = _drums(prng, ctx, drum_style, base)
        elif group == "bass":
            beats = _bass(prng, ctx, role, base, program in (38, 39) and prng.random() < 0.5)
        elif group == "piano":
            center = int(prng.integers(58, 68))
            beats = _chords_part(
                prng, ctx, role, base, center, int(prng.integers(3, 5)), prng.random() < 0.5
            )
        elif group == "guitar":
            beats = _guitar(prng, ctx, role, base)
        else:
            lo, hi = _program_range(program)
            center = int(np.clip((lo + hi) // 2, 48, 84))
            if role in ("lead", "counter"):
                beats = _melody(prng, ctx, base, lo, hi, slow=role == "counter")
            else:
                nv = 3 if role == "arp" else int(prng.integers(3, 5))
                beats = _chords_part(prng, ctx, role, base, center, nv, False)
        beats = _keep_sections(ctx, part, beats, seconds)
        part.notes = _timing(beats, ctx, swing, jitter, timing_rng, seconds)
        if part.notes:
            parts.append(part)
    style = {
        "sevenths": sevenths,
        "section_bars": section_bars,
        "drums": {k: v for k, v in drum_style.items() if k != "kick_steps"} if drum_style else None,
    }
    if drum_style:
        style["drums"]["kick_steps"] = [list(map(int, k)) for k in drum_style["kick_steps"]]
    return Score(
        seconds=float(seconds),
        tempo=tempo,
        beats_per_bar=bpb,
        key=key,
        mode=mode,
        swing=swing,
        form=form,
        progressions={k: [c.name() for c in v] for k, v in chords.items()},
        bars_per_chord=bpc,
        parts=parts,
        style=style,
    )
