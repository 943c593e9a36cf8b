"""Procedural composition of multitrack songs: the score half of the synthetic corpus.

:func:`compose` turns a seed into a :class:`Score`: tempo, meter, key and mode,
an A/B chord plan, and parts (a drum groove, a bass line, piano, guitar and
"other" instruments) as lists of notes in seconds, with General MIDI programs
drawn per song. Everything comes from one seeded :class:`numpy.random.Generator`
tree, so a seed always gives the same score. Each part draws from its own child
stream bar by bar, so a longer song starts with the same music as a shorter one
of the same seed.

The song-level choices (groove, patches, progression, register, style of each
part) are made once per song and repeated in every section, so that any two
segments of one song resemble each other more than segments of another song.

No audio here: :mod:`instsim.data.synth` renders scores with FluidSynth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError, _choices

__all__ = [
    "GM_FAMILIES",
    "GRAMMARS",
    "MODES",
    "ROLE_PROGRAMS",
    "Chord",
    "Part",
    "Score",
    "compose",
    "inst_class",
]

#: Song models :func:`compose` knows, in the order they were added: ``"pop"`` is the
#: original grammar; ``"jazz"`` is the held-out style (the default model never trains
#: on it). Adding a grammar never changes the songs of the earlier ones.
GRAMMARS: tuple[str, ...] = (
    "pop", "band", "electronic", "jazz", "rock", "funk", "latin", "ballad",
)  # fmt: skip

#: Scale steps (semitones above the tonic) of the modes a song can be in.
MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}
_MODE_P = (0.4, 0.35, 0.125, 0.125)
KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

#: General MIDI families (8 programs each), named as Slakh's ``inst_class``.
GM_FAMILIES: tuple[str, ...] = (
    "Piano",
    "Chromatic Percussion",
    "Organ",
    "Guitar",
    "Bass",
    "Strings",
    "Strings (continued)",
    "Brass",
    "Reed",
    "Pipe",
    "Synth Lead",
    "Synth Pad",
    "Synth Effects",
    "Ethnic",
    "Percussive",
    "Sound Effects",
)

#: Programs the "others" roles draw from (General MIDI 8-23 and 40-111; 112-127 are
#: percussive and sound effects and never used).
ROLE_PROGRAMS: dict[str, tuple[int, ...]] = {
    "lead": (
        *range(8, 14), 16, 17, 18, 19, 21, 22, 23, 40, 41, 42, 53, 56, 57, 59, 60,
        *range(64, 88), *range(104, 112),
    ),
    "pad": (16, 17, 18, 19, 20, 44, 48, 49, 50, 51, 52, 53, 54, *range(88, 98), *range(99, 104)),
    "stabs": (16, 17, 18, 45, 47, 55, 56, 57, 61, 62, 63),
    "arp": (*range(8, 16), 45, 46, 80, 81, 84, 85, 86, 87, 98, 104, 105, 106, 107, 108),
    "counter": (40, 41, 42, 43, 48, 49, 58, 60, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74),
}  # fmt: skip

#: Drum kits (bank 128 presets of GM/GS soundfonts): standard, room, power,
#: electronic, TR-808, jazz, brush. A kit missing from a soundfont renders as kit 0.
DRUM_KITS: tuple[int, ...] = (0, 8, 16, 24, 25, 32, 40)
_KIT_P = (0.3, 0.15, 0.15, 0.1, 0.1, 0.1, 0.1)

# GM drum map notes
KICK, KICK2, SIDESTICK, SNARE, CLAP, SNARE2 = 36, 35, 37, 38, 39, 40
HAT_CLOSED, HAT_PEDAL, HAT_OPEN, RIDE, RIDE_BELL = 42, 44, 46, 51, 53
CRASH, CRASH2, TAMBOURINE, COWBELL, SHAKER = 49, 57, 54, 56, 70
TOMS = (50, 48, 47, 45, 43, 41)  # high to low
CONGAS = (62, 63, 64)

_SEED_CHILDREN = 32  # child streams: 0 song, 1-15 parts, 16-31 per-part render effects


def inst_class(program: int, is_drum: bool) -> str:
    """Slakh's ``inst_class`` of a stem: ``"Drums"`` or the General MIDI family name."""
    return "Drums" if is_drum else GM_FAMILIES[int(program) // 8]


@dataclass(frozen=True)
class Chord:
    """A chord: ``root`` pitch class (0 = C) and ``tones`` in semitones above the root."""

    root: int
    tones: tuple[int, ...]
    degree: int

    def pitch_classes(self) -> set[int]:
        return {(self.root + t) % 12 for t in self.tones}

    def name(self) -> str:
        third = 3 in self.tones
        sev = 10 in self.tones or 11 in self.tones
        sus = "sus4" if 5 in self.tones else "sus2" if 2 in self.tones and not third else ""
        q = "m" if third and 7 in self.tones else "dim" if third else ""
        return KEY_NAMES[self.root] + q + sus + ("7" if sev else "")


@dataclass
class Part:
    """One instrument of a song: what it plays and how it is patched.

    Attributes
    ----------
    name : str
        Short label (``"drums"``, ``"bass"``, ``"piano"``, ``"piano2"``, ``"lead"`` ...).
    group : str
        ``drums``, ``bass``, ``piano``, ``guitar`` or ``others`` (Slakh's recipe).
    role : str
        Playing style, e.g. ``"walking"``, ``"strum"``, ``"pad"``.
    program : int in [0, 127]
        General MIDI program; for drums the kit preset (bank 128).
    is_drum : bool
    notes : list of (start [s], end [s], pitch, velocity)
        Sorted by start; no two notes of one pitch overlap.
    gain_db : float [dB]
        Mix level relative to the loudness-normalised stem.
    velocity : int
        The part's base MIDI velocity.
    sections : str
        ``"all"``, ``"A"``, ``"B"`` (plays only there) or ``"after-intro"``.
    index : int
        Position in the song's part plan (selects the part's random streams).
    """

    name: str
    group: str
    role: str
    program: int
    is_drum: bool
    notes: list[tuple[float, float, int, int]] = field(default_factory=list)
    gain_db: float = 0.0
    velocity: int = 90
    sections: str = "all"
    index: int = 0

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "velocity": int(self.velocity),
            "sections": self.sections,
            "n_notes": len(self.notes),
        }


@dataclass
class Score:
    """A composed song.

    Attributes
    ----------
    seconds : float [s]
        Length of the song; no note starts after it.
    tempo : float [BPM]
    beats_per_bar : int
        4 or 3 (quarter-note beats).
    key : int
        Tonic pitch class (0 = C).
    mode : str
        One of :data:`MODES`.
    swing : float
        Position of the off-beat eighth within the beat (0.5 = straight).
    form : str
        Section letters, e.g. ``"AABA"``.
    progressions : dict of str -> list of str
        Chord names per section.
    parts : list of Part
    """

    seconds: float
    tempo: float
    beats_per_bar: int
    key: int
    mode: str
    swing: float
    form: str
    progressions: dict[str, list[str]]
    bars_per_chord: float
    parts: list[Part]
    style: dict[str, Any] = field(default_factory=dict)

    @property
    def beat_seconds(self) -> float:
        return 60.0 / self.tempo

    def describe(self) -> dict[str, Any]:
        """Plain-Python summary (for metadata files)."""
        return {
            "tempo_bpm": round(float(self.tempo), 3),
            "time_signature": f"{self.beats_per_bar}/4",
            "key": KEY_NAMES[self.key],
            "mode": self.mode,
            "swing": round(float(self.swing), 4),
            "form": self.form,
            "bars_per_chord": float(self.bars_per_chord),
            "progressions": {k: list(v) for k, v in self.progressions.items()},
            "style": dict(self.style),
        }


# ---------------------------------------------------------------------------
# harmony


_LIBRARY = {
    "major": (
        (0, 4, 5, 3), (0, 5, 3, 4), (1, 4, 0, 0), (0, 3, 4, 3), (5, 3, 0, 4), (0, 2, 3, 4),
        (0, 3, 0, 4), (0, 4, 5, 2, 3, 0, 3, 4), (3, 4, 2, 5), (0, 5, 1, 4),
    ),
    "minor": (
        (0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2), (0, 5, 3, 4), (0, 2, 6, 3),
        (0, 3, 0, 4), (5, 6, 0, 0),
    ),
    "dorian": ((0, 3, 0, 3), (0, 6, 3, 0), (0, 1, 0, 3), (0, 3, 6, 0)),
    "mixolydian": ((0, 6, 3, 0), (0, 3, 6, 3), (0, 6, 0, 3), (0, 4, 6, 3)),
}  # fmt: skip


def _triad(scale: Sequence[int], key: int, degree: int, seventh: bool, sus: int) -> Chord:
    steps = [scale[(degree + k) % 7] + 12 * ((degree + k) // 7) for k in (0, 2, 4, 6)]
    rel = [s - steps[0] for s in steps]
    tones = [0, rel[1], rel[2]]
    if sus == 2:
        tones[1] = 2
    elif sus == 4:
        tones[1] = 5
    if seventh:
        tones.append(rel[3])
    return Chord(root=(key + steps[0]) % 12, tones=tuple(tones), degree=degree)


def _progression(rng: np.random.Generator, mode: str, avoid: tuple[int, ...] | None) -> list[int]:
    lib = _LIBRARY[mode]
    for _ in range(8):
        if rng.random() < 0.6:
            prog = list(lib[int(rng.integers(len(lib)))])
        else:
            n = 4 if rng.random() < 0.8 else int(rng.choice([3, 6, 8]))
            prog = [0 if avoid is None else int(rng.choice([3, 5, 1]))]
            w = np.array([1.0, 1.0, 0.6, 1.6, 1.6, 1.4, 0.5])
            while len(prog) < n:
                p = w.copy()
                p[prog[-1]] = 0.0
                prog.append(int(rng.choice(7, p=p / p.sum())))
        if avoid is None or tuple(prog) != avoid:
            return prog
    return [(d + 3) % 7 for d in prog]


@dataclass
class _Context:
    tempo: float
    beats_per_bar: int
    key: int
    scale: tuple[int, ...]
    n_bars: int
    form: str
    section_bars: int
    bars_per_chord: float
    chords: dict[str, list[Chord]]
    kick_steps: list[list[int]]

    def section_of(self, bar: int) -> tuple[str, int]:
        k = bar // self.section_bars
        return self.form[k % len(self.form)], k

    def chord_at(self, beat: float) -> Chord:
        bar = int(beat // self.beats_per_bar)
        label, k = self.section_of(bar)
        chords = self.chords[label]
        pos = beat - k * self.section_bars * self.beats_per_bar
        idx = int(pos // (self.bars_per_chord * self.beats_per_bar))
        return chords[idx % len(chords)]

    def next_chord(self, beat: float) -> Chord:
        step = self.bars_per_chord * self.beats_per_bar
        return self.chord_at((beat // step + 1) * step)

    def scale_pitches(self, lo: int, hi: int) -> list[int]:
        pcs = {(self.key + s) % 12 for s in self.scale}
        return [p for p in range(lo, hi + 1) if p % 12 in pcs]


def _chord_pitches(chord: Chord, lo: int, hi: int) -> list[int]:
    pcs = chord.pitch_classes()
    return [p for p in range(lo, hi + 1) if p % 12 in pcs]


def _voicing(chord: Chord, center: int, n: int, prev: list[int] | None) -> list[int]:
    """``n`` chord tones near ``center``, the root's pitch class included, moving little from ``prev``."""
    pool = _chord_pitches(chord, center - 12, center + 12)
    best, best_cost = None, np.inf
    for i in range(len(pool) - n + 1):
        cand = pool[i : i + n]
        if chord.root not in {p % 12 for p in cand} and n >= 3:
            continue
        cost = abs(np.mean(cand) - center) * 0.5
        if prev:
            cost += sum(min(abs(c - q) for q in prev) for c in cand) / n
        if cost < best_cost:
            best, best_cost = cand, cost
    return list(best) if best is not None else pool[:n]


# ---------------------------------------------------------------------------
# parts: each writes notes as (start_beat, duration_beats, pitch, velocity)

Beats = list[tuple[float, float, int, int]]


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


def _program_range(program: int) -> tuple[int, int]:
    """A comfortable pitch range (MIDI notes) for melodic lines on a GM program."""
    table = {
        40: (60, 88), 41: (52, 79), 42: (40, 67), 43: (33, 55), 44: (48, 79), 45: (48, 79),
        46: (48, 84), 47: (40, 55), 56: (58, 82), 57: (40, 70), 58: (30, 55), 59: (58, 80),
        60: (45, 75), 64: (60, 86), 65: (56, 81), 66: (48, 76), 67: (40, 69), 68: (60, 88),
        69: (52, 79), 70: (36, 67), 71: (52, 84), 72: (74, 98), 73: (62, 93), 74: (65, 91),
    }  # fmt: skip
    if program in table:
        return table[program]
    family = program // 8
    return {1: (60, 88), 2: (55, 84), 6: (48, 79), 7: (50, 80), 8: (55, 82), 9: (65, 93),
            10: (55, 84), 11: (48, 79), 12: (52, 84), 13: (55, 84)}.get(family, (55, 84))  # fmt: skip


# ---------------------------------------------------------------------------
# the song


def _choice(
    rng: np.random.Generator, items: Sequence[Any], p: Sequence[float] | None = None
) -> Any:
    if p is not None:
        pa = np.asarray(p, dtype=float)
        p = pa / pa.sum()
    return items[int(rng.choice(len(items), p=p))]


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


def song_streams(song_seed: int | Sequence[int]) -> list[np.random.Generator]:
    """The independent random streams of a song (0: song, 1-15: parts, 16-31: effects)."""
    ss = np.random.SeedSequence(song_seed)
    return [np.random.default_rng(c) for c in ss.spawn(_SEED_CHILDREN)]


def compose(song_seed: int | Sequence[int], seconds: float, grammar: str = "pop") -> Score:
    """Compose one song.

    Parameters
    ----------
    song_seed : int or sequence of int
        Entropy for :class:`numpy.random.SeedSequence`; the corpus uses ``(seed, index)``.
    seconds : float > 0 [s]
        Song length.
    grammar : str
        The song model, one of :data:`GRAMMARS`:

        - ``"pop"``: the original grammar (unchanged);
        - ``"band"``: rock/funk/soul/latin/ballad feels with a piano that has its own
          writer and register, 1-7 "others" entering and leaving by section;
        - ``"electronic"``: loops, builds and drops, synth basses, stabs and pads;
        - ``"jazz"``: swing, ii-V-I, walking bass, rootless voicings; the held-out
          style, never used to train the default model;
        - ``"rock"`` (96-168 BPM): backbeat with crashes on section starts, eighth-note
          bass locked to the kick, distorted power chords (palm-muted verses) or riffs,
          piano pads or off-beat stabs in the middle register, quieter verses;
        - ``"funk"`` (88-118 BPM): 16th hats with ghost notes and open hats, slap or
          finger bass with octave pops and rests, clean chicken-scratch guitar
          interlocking with electric piano or clavinet on the off-beats, horn hits;
        - ``"latin"`` (80-105 BPM, one clave cycle per bar): son or rumba clave,
          congas, timbales, cowbell and shaker, tumbao bass anticipating the
          downbeat, montuno piano in octaves, nylon guitar arpeggios, brass/flute;
        - ``"ballad"`` (60-85 BPM, 4/4 or 3/4): soft brushes or rim clicks, sustained
          bass roots with passing tones, pedalled broken chords in a wide voicing,
          fingerpicked acoustic guitar, strings and pads with long notes.

        Every song of the last four holds all five groups (drums, bass, piano,
        guitar and 2-4 "others" from several GM families).

    Returns
    -------
    Score

    Raises
    ------
    ConfigError
        ``grammar`` is not one of :data:`GRAMMARS`.
    """
    if grammar not in GRAMMARS:
        raise ConfigError(
            "grammar", f"unknown grammar {grammar!r}; choose one of {_choices(GRAMMARS)}"
        )
    streams = song_streams(song_seed)
    if grammar != "pop":
        return _GRAMMAR_SONGS[grammar](streams, float(seconds))
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


# ---------------------------------------------------------------------------
# other grammars: their own song plans and part writers, sharing the harmony,
# voicing and timing helpers above. Stream use is as in "pop": 0 song, 1 + i part i.

_ALL, _ONLY_A, _ONLY_B, _LATE = "all", "A", "B", "after-intro"
_SECTIONS = (_ALL, _ONLY_A, _ONLY_B, _LATE)


def _song_context(
    rng: np.random.Generator,
    seconds: float,
    tempo: float,
    bpb: int,
    mode: str,
    progs: tuple[list[int], list[int]],
    bpc: float,
    form: str,
    sevenths: float,
    section_bars: int,
) -> _Context:
    """The harmony and form of a song: key, chords per section, bar count."""
    key = int(rng.integers(12))
    scale = MODES[mode]
    chords = {
        lab: [_triad(scale, key, d, rng.random() < sevenths, 0) for d in prog]
        for lab, prog in zip("AB", progs)
    }
    n_bars = int(np.ceil(seconds / (bpb * 60.0 / tempo))) + 1
    return _Context(tempo, bpb, key, scale, n_bars, form, section_bars, bpc, chords, [[0, 8]] * 2)


def _count(rng: np.random.Generator, p: Sequence[float], first: int) -> int:
    return first + int(rng.choice(len(p), p=np.asarray(p) / np.sum(p)))


#: "others" in band and jazz songs: GM family (first program) -> (weight, roles, role weights).
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
_ELECTRONIC_OTHERS: dict[int, tuple[float, tuple[str, ...], tuple[float, ...]]] = {
    80: (1.4, ("lead", "arp"), (1.0, 1.2)),
    88: (1.4, ("pad",), (1.0,)),
    96: (0.9, ("fx", "pad"), (1.0, 0.5)),
    8: (0.7, ("arp", "sparkle"), (1.0, 0.8)),
    48: (0.4, ("pad", "stabs"), (1.0, 0.6)),
    16: (0.3, ("stabs", "pad"), (1.0, 0.5)),
}
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


def _near(pitches: list[int], target: float) -> int:
    return min(pitches, key=lambda q: (abs(q - target), q))


def _onset_mask(rng: np.random.Generator, steps: int, p_on: float, p_off: float) -> list[int]:
    """A syncopated hit pattern on a grid of ``steps`` (on-beat steps every 4th, or 2nd for 8ths)."""
    while True:
        mask = [s for s in range(steps) if rng.random() < (p_on if s % 4 == 0 else p_off)]
        if len(mask) >= 2:
            return mask


# -- band: piano that does not comp along with the guitar --------------------

_SHELL_RHYTHMS = {
    4: ((0.0, 2.5), (0.5, 2.0, 3.5), (0.0, 0.75, 2.75), (1.5, 3.0), (0.0, 3.5), (0.0, 1.5, 2.5, 3.5)),
    3: ((0.0, 1.5), (0.5, 2.0), (0.0, 2.5), (1.0, 2.5)),
}  # fmt: skip

#: Register centre (MIDI note) of each band piano role.
_BAND_PIANO_CENTRES = {"melody": (62, 80), "montuno": (55, 72), "stride": (55, 67),
                       "sparkle": (76, 85), "shells": (50, 66), "octaves": (45, 64)}  # fmt: skip


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


def _weighted(rng: np.random.Generator, table: dict[str, float]) -> str:
    return str(_choice(rng, list(table), list(table.values())))


def _band_song(streams: list[np.random.Generator], seconds: float) -> Score:
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


# -- electronic: loops, builds and drops --------------------------------------


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


def _electronic_song(streams: list[np.random.Generator], seconds: float) -> Score:
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


# -- jazz: swing, ii-V-I, walking bass, rootless voicings, ride -----------------

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


def _jazz_song(streams: list[np.random.Generator], seconds: float) -> Score:
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


# ---------------------------------------------------------------------------
# rock, funk, latin, ballad: four more training styles, each with its own drum,
# bass, piano and guitar writers; "others" come from several GM families per song.

# more GM drum-map notes (latin percussion)
BONGO_HI, CONGA_MUTE, CONGA_OPEN, CONGA_LOW = 60, 62, 63, 64
TIMBALE_HI, TIMBALE_LO, GUIRO_SHORT, GUIRO_LONG, CLAVES, MARACAS = 65, 66, 73, 74, 75, 70


def _plain_context(
    rng: np.random.Generator,
    seconds: float,
    tempo: float,
    bpb: int,
    mode: str,
    bpc: float,
    form: str,
    sevenths: float,
    progs: tuple[list[int], list[int]] | None = None,
) -> _Context:
    """A song's harmony: two progressions (drawn unless given), 4- or 8-bar sections.

    Parameters
    ----------
    rng : numpy.random.Generator
        The song stream (stream 0).
    seconds : float [s]
        Song length.
    tempo : float [BPM]
    bpb : int
        Beats per bar.
    mode : str
        One of :data:`MODES`.
    bpc : float [bars]
        Bars per chord.
    form : str
        Section letters.
    sevenths : float in [0, 1]
        Probability of a seventh on each chord.
    progs : (list of int, list of int) or None
        Scale degrees of the A and B progressions; drawn with :func:`_progression` if None.

    Returns
    -------
    _Context
    """
    if progs is None:
        prog_a = _progression(rng, mode, None)
        progs = (prog_a, _progression(rng, mode, tuple(prog_a)))
    section_bars = 8 if max(len(progs[0]), len(progs[1])) * bpc > 4 else 4
    return _song_context(rng, seconds, tempo, bpb, mode, progs, bpc, form, sevenths, section_bars)


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


# -- rock: power chords, driving eighths, backbeat, verse/chorus dynamics ------

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


def _rock_song(streams: list[np.random.Generator], seconds: float) -> Score:
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


# -- funk: 16th grooves, ghost notes, slap bass, chicken scratch, off-beat keys --

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


def _funk_song(streams: list[np.random.Generator], seconds: float) -> Score:
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


# -- latin: clave, tumbao, montuno, nylon guitar, percussion, brass/flute -------
# One bar of 4/4 with 16ths holds one clave cycle (two bars of salsa's cut time, whose
# eighths are our 16ths): a tempo of 80-105 here is salsa's 160-210.

_CLAVES: dict[str, tuple[int, ...]] = {
    "son 3-2": (0, 3, 6, 10, 12), "son 2-3": (2, 4, 8, 11, 14),
    "rumba 3-2": (0, 3, 7, 10, 12), "rumba 2-3": (2, 4, 8, 11, 15),
}  # fmt: skip
_CASCARA = (0, 2, 3, 5, 7, 8, 10, 12, 13, 15)  # 3-2; the 2-3 cascara swaps the halves
_LATIN_PROGRESSIONS = ((0, 3, 4, 3), (0, 4, 4, 0), (1, 4, 0, 0), (0, 3, 0, 4), (5, 1, 4, 0),
                       (0, 0, 4, 4))  # fmt: skip
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


def _latin_song(streams: list[np.random.Generator], seconds: float) -> Score:
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


# -- ballad: slow, brushes, sustained bass, wide broken chords, pads -------------

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


def _ballad_song(streams: list[np.random.Generator], seconds: float) -> Score:
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


_GRAMMAR_SONGS = {
    "band": _band_song,
    "electronic": _electronic_song,
    "jazz": _jazz_song,
    "rock": _rock_song,
    "funk": _funk_song,
    "latin": _latin_song,
    "ballad": _ballad_song,
}
