"""The score types of a composed song: :class:`Chord`, :class:`Part` and :class:`Score`.

A :class:`Score` is what :func:`~instsim.data.compose.compose` returns: tempo, meter,
key, mode, form and chord names, and its :class:`Part` s, each an instrument with
its notes in seconds and its General MIDI patch. :data:`KEY_NAMES` names pitch
classes for the chord and key labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


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
