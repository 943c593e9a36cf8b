"""Shared machinery of the grammars: the steps from a plan to notes.

The steps every grammar takes: part plans (``_plan_others``, ``_plan_core``,
``_one_lead``, with the draws ``_choice``, ``_weighted`` and ``_count``), per-part
choices and sections (``_realize``, ``_keep_sections``), beats to seconds with swing
and jitter (``_timing``, ``_clip_note``, ``_fix_overlaps``) and the :class:`Score`
(``_score``). Stream use is as in "pop": 0 song, ``1 + i`` part ``i``. The notes
between a plan and a part are :data:`Beats`, as the part writers of
:mod:`~instsim.data.compose.writers` write them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .harmony import _Context
from .score import Part, Score

#: Notes as part writers write them: (start_beat, duration_beats, pitch, velocity).
Beats = list[tuple[float, float, int, int]]


def _choice(
    rng: np.random.Generator, items: Sequence[Any], p: Sequence[float] | None = None
) -> Any:
    if p is not None:
        pa = np.asarray(p, dtype=float)
        p = pa / pa.sum()
    return items[int(rng.choice(len(items), p=p))]


def _timing(
    notes: Beats,
    ctx: _Context,
    swing: float,
    jitter_s: float,
    rng: np.random.Generator,
    seconds: float,
) -> list[tuple[float, float, int, int]]:
    """Beats -> seconds with swing and per-note timing jitter; clip to the song; fix overlaps."""
    beat_s = 60.0 / ctx.tempo

    def swung(b: float) -> float:
        whole = np.floor(b)
        f = b - whole
        f = f * (swing / 0.5) if f < 0.5 else swing + (f - 0.5) * (1 - swing) / 0.5
        return (whole + f) * beat_s

    out = []
    for start, dur, pitch, vel in notes:
        s = swung(start) + (rng.normal(0.0, jitter_s) if jitter_s > 0 else 0.0)
        note = _clip_note(s, swung(start + dur), pitch, vel, seconds)
        if note is not None:
            out.append(note)
    return _fix_overlaps(out)


def _clip_note(
    start: float, end: float, pitch: int, vel: int, seconds: float
) -> tuple[float, float, int, int] | None:
    """A note [s] clipped to a song of ``seconds``: at least 30 ms long, pitch and velocity
    in MIDI range; ``None`` when it would start in the song's last 50 ms."""
    s = max(0.0, start)
    if s >= seconds - 0.05:
        return None
    e = min(max(end, s + 0.03), seconds)
    return (round(s, 6), round(e, 6), int(np.clip(pitch, 0, 127)), int(np.clip(vel, 1, 127)))


def _fix_overlaps(
    notes: list[tuple[float, float, int, int]],
) -> list[tuple[float, float, int, int]]:
    """Per pitch: drop duplicates (onsets < 5 ms apart), end a note before the next one starts.

    ``notes`` are ``(start [s], end [s], pitch, velocity)``; returns them sorted by
    start, then pitch.
    """
    out = sorted(notes, key=lambda n: (n[2], n[0], -n[3]))
    clean: list[tuple[float, float, int, int]] = []
    for n in out:  # per pitch: drop duplicates, end a note before the next one starts
        if clean and clean[-1][2] == n[2]:
            prev = clean[-1]
            if n[0] - prev[0] < 0.005:
                continue
            if prev[1] > n[0] - 0.002:
                clean[-1] = (
                    prev[0],
                    round(max(prev[0] + 0.003, n[0] - 0.002), 6),
                    prev[2],
                    prev[3],
                )
        clean.append(n)
    clean.sort(key=lambda n: (n[0], n[2]))
    return clean


def _plays(ctx: _Context, sections: str, beat: float) -> bool:
    if sections == "after-intro":
        return beat >= ctx.section_bars * ctx.beats_per_bar
    return ctx.section_of(int(beat // ctx.beats_per_bar))[0] == sections


def _keep_sections(ctx: _Context, part: Part, beats: Beats, seconds: float) -> Beats:
    """The notes of ``beats`` in the part's sections (all of them if it would enter too late)."""
    if part.sections == "all":
        return beats
    kept = [n for n in beats if _plays(ctx, part.sections, n[0])]
    if kept and kept[0][0] * 60.0 / ctx.tempo < seconds * 0.6:
        return kept
    part.sections = "all"  # it would enter too late (or never) in a song this short
    return beats


_ALL, _ONLY_A, _ONLY_B, _LATE = "all", "A", "B", "after-intro"
_SECTIONS = (_ALL, _ONLY_A, _ONLY_B, _LATE)


def _count(rng: np.random.Generator, p: Sequence[float], first: int) -> int:
    return first + int(rng.choice(len(p), p=np.asarray(p) / np.sum(p)))


def _plan_others(
    rng: np.random.Generator,
    n: int,
    families: dict[int, tuple[float, tuple[str, ...], tuple[float, ...]]],
    programs: dict[int, tuple[int, ...]] | None = None,
) -> list[tuple[str, str, str, int]]:
    """``n`` "others" parts: a GM family each (repeats discouraged), a program in it, a role."""
    fams = list(families)
    w = np.array([families[f][0] for f in fams])
    plan: list[tuple[str, str, str, int]] = []
    names: set[str] = set()
    for _ in range(n):
        fam = int(_choice(rng, fams, w))
        w[fams.index(fam)] *= 0.35
        _, roles, rw = families[fam]
        role = str(_choice(rng, roles, rw))
        pool = programs[fam] if programs and fam in programs else tuple(range(fam, fam + 8))
        prog = int(_choice(rng, pool))
        name = role if role not in names else f"{role}{len(plan)}"
        names.add(name)
        plan.append((name, "others", role, prog))
    return plan


def _realize(
    streams: list[np.random.Generator],
    ctx: _Context,
    plan: list[tuple[str, str, str, int]],
    swing: float,
    seconds: float,
    write: Any,
    sections_p: dict[str, Sequence[float]],
    jitter_max: float,
) -> list[Part]:
    """Notes of every planned part: per-part choices first, then ``write(prng, part, base)``."""
    gains = {"drums": (0.0, 2.5), "bass": (-1.5, 2.0), "piano": (-3.0, 1.0), "guitar": (-3.0, 1.0),
             "lead": (0.0, 3.0), "head": (0.0, 3.0), "pad": (-6.0, -2.0), "fx": (-8.0, -3.0)}  # fmt: skip
    parts: list[Part] = []
    for i, (name, group, role, program) in enumerate(plan):
        prng = streams[1 + i]
        base = float(prng.uniform(68, 112))
        lo_db, hi_db = gains.get(group, gains.get(role, (-4.0, 0.0)))
        gain_db = float(prng.uniform(lo_db, hi_db))
        jitter = float(prng.uniform(0.0, jitter_max * (0.5 if group == "drums" else 1.0)))
        sections = str(_choice(prng, _SECTIONS, sections_p.get(group, (1.0, 0.0, 0.0, 0.0))))
        timing_rng = np.random.default_rng(int(prng.integers(2**63)))
        part = Part(name, group, role, program, group == "drums", gain_db=gain_db, velocity=int(base),
                    sections=sections, index=i)  # fmt: skip
        beats = _keep_sections(ctx, part, write(prng, part, base), seconds)
        part.notes = _timing(beats, ctx, swing, jitter, timing_rng, seconds)
        if part.notes:
            parts.append(part)
    return parts


def _score(ctx: _Context, seconds: float, mode: str, swing: float, parts: list[Part],
           style: dict[str, Any]) -> Score:  # fmt: skip
    return Score(
        seconds=float(seconds),
        tempo=ctx.tempo,
        beats_per_bar=ctx.beats_per_bar,
        key=ctx.key,
        mode=mode,
        swing=swing,
        form=ctx.form,
        progressions={k: [c.name() for c in v] for k, v in ctx.chords.items()},
        bars_per_chord=ctx.bars_per_chord,
        parts=parts,
        style=style,
    )


def _weighted(rng: np.random.Generator, table: dict[str, float]) -> str:
    return str(_choice(rng, list(table), list(table.values())))


def _one_lead(plan: list[tuple[str, str, str, int]]) -> list[tuple[str, str, str, int]]:
    """The plan with every "lead" after the first turned into a "counter" line."""
    out: list[tuple[str, str, str, int]] = []
    leads = 0
    for i, (name, group, role, program) in enumerate(plan):
        if role == "lead":
            leads += 1
            if leads > 1:
                name, role = f"counter{i}", "counter"
        out.append((name, group, role, program))
    return out


def _plan_core(
    rng: np.random.Generator,
    kits: tuple[int, ...],
    kit_p: Sequence[float],
    bass: tuple[dict[str, float], Sequence[int], Sequence[float]],
    piano: tuple[dict[str, float], Sequence[int], Sequence[float]],
    guitar: tuple[dict[str, float], Sequence[int], Sequence[float]],
) -> list[tuple[str, str, str, int]]:
    """Drums, bass, piano and guitar parts (all four always): (role weights, programs, program weights)."""
    plan = [("drums", "drums", "groove", int(_choice(rng, kits, kit_p)))]
    for group, (roles, progs, prog_p) in (("bass", bass), ("piano", piano), ("guitar", guitar)):
        plan.append((group, group, _weighted(rng, roles), int(_choice(rng, progs, prog_p))))
    return plan
