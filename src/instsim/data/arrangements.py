"""Real arrangements: POP909 songs turned into multitrack :class:`~instsim.data.compose.Score` s.

POP909 (Wang et al., ISMIR 2020; MIT licence) holds 909 Chinese pop songs arranged
for piano by professional musicians. Each song folder ``NNN/`` has ``NNN.mid``
with the tracks ``MELODY`` (the sung melody), ``BRIDGE`` (secondary melodies and
fills) and ``PIANO`` (the accompaniment), and annotations extracted from the MIDI:
``beat_midi.txt`` (beat times [s], with downbeat flags), ``chord_midi.txt`` (start
[s], end [s], chord label such as ``C#:min7/b7`` or ``N``) and ``key_audio.txt``
(start, end, key such as ``Gb:maj``).

:func:`arrange` cuts a window of ``seconds`` out of a song (its offset drawn from
the song seed, on a downbeat) and makes a score of five groups:

- **real** (played by people, only re-patched): ``PIANO`` is the piano part on a
  General MIDI piano (0-7); ``MELODY`` is an "others" lead on a wind, brass,
  string or synth-lead program (moved by whole octaves into the program's range);
  ``BRIDGE`` is an "others" counter-melody on another family or, in 30 % of the
  songs, a guitar part (24-27).
- **written** (by the grammar helpers of :mod:`instsim.data.compose`, on the song's
  real beat grid and chord timeline): a drum groove on the real beats (so it follows
  the song's tempo drift), a bass line on the chords' bass notes with passing tones
  before chord changes, and a strummed or picked guitar on the chords.

The written parts work in "grid beats": beat ``k * bpb + j`` of the helpers is beat
``j`` of the window's ``k``-th real bar, placed by linear interpolation between the
annotated beat times; helper beats past the end of a short bar are dropped.

No audio here: :func:`instsim.data.synth.synthesize_song` renders the scores
(``arrangement=``), and ``instsim synth --arrangements DIR`` mixes them into a corpus.
``pretty_midi`` (the ``synth`` extra) loads on first use.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ArrangementError, ConfigError
from . import compose as C

__all__ = [
    "CITATION",
    "LICENCE",
    "MELODY_PROGRAMS",
    "ArrangementSet",
    "ChordSpan",
    "Pop909Song",
    "arrange",
    "draw_song",
    "load_song",
    "parse_chord",
    "scan_arrangements",
    "split_song_ids",
]

#: Licence of POP909 (recorded in every corpus that uses it).
LICENCE = "MIT (POP909, https://github.com/music-x-lab/POP909-Dataset)"
#: How to cite POP909.
CITATION = (
    "Ziyu Wang, Ke Chen, Junyan Jiang, Yiyi Zhang, Maoran Xu, Shuqi Dai, Guxian Bin and "
    "Gus Xia. POP909: A Pop-song Dataset for Music Arrangement Generation. ISMIR 2020."
)
#: The MIDI tracks of a POP909 song.
TRACKS: tuple[str, ...] = ("MELODY", "BRIDGE", "PIANO")

#: Programs a MELODY (or BRIDGE counter-melody) is played on, by General MIDI family.
MELODY_PROGRAMS: dict[str, tuple[int, ...]] = {
    "strings": (40, 41, 42, 48, 49, 50),
    "brass": (56, 57, 59, 60, 61),
    "reed": (64, 65, 66, 67, 68, 69, 70, 71),
    "pipe": (72, 73, 74, 75, 77, 78, 79),
    "synth lead": (80, 81, 82, 83, 84, 85, 86, 87),
}
_BRIDGE_GUITARS = (24, 25, 26, 27)

_ROOTS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
#: Chord qualities of POP909's labels -> semitones above the root.
QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "minmaj7": (0, 3, 7, 11),
    "maj6": (0, 4, 7, 9),
    "min6": (0, 3, 7, 9),
    "dim": (0, 3, 6),
    "dim7": (0, 3, 6, 9),
    "hdim7": (0, 3, 6, 10),
    "aug": (0, 4, 8),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "sus4(b7)": (0, 5, 7, 10),
}
_DEGREES = {1: 0, 2: 2, 3: 4, 4: 5, 5: 7, 6: 9, 7: 11, 9: 2, 11: 5, 13: 9}
_LABEL = re.compile(r"^([A-G])([#b]?):([^/]+)(?:/([#b]*)(\d+))?$")

_SHARE_SEED = 0xA770  # which songs of a corpus are arrangements
_PICK_SEED = 0xA771  # which POP909 song a track plays


def _pc(letter: str, accidental: str) -> int:
    return (_ROOTS[letter] + {"#": 1, "b": -1, "": 0}[accidental]) % 12


def parse_chord(label: str) -> tuple[C.Chord, int] | None:
    """A POP909 chord label as a chord and its bass pitch class.

    Parameters
    ----------
    label : str
        ``root:quality[/bass]``, e.g. ``"Bb:min7/b7"``; ``"N"`` is no chord.

    Returns
    -------
    (compose.Chord, int) or None
        The chord (``degree`` -1: not relative to a key) and the pitch class the bass
        plays (the slash bass, the root without one); ``None`` for ``"N"``.

    Raises
    ------
    ValueError
        The label is not of that form or its quality is not one of :data:`QUALITIES`.
    """
    label = label.strip()
    if label == "N":
        return None
    m = _LABEL.match(label)
    if m is None:
        raise ValueError(f"chord label {label!r} is not 'root:quality[/bass]' or 'N'")
    letter, acc, quality, bass_acc, bass_deg = m.groups()
    if quality not in QUALITIES:
        raise ValueError(
            f"chord label {label!r} has an unknown quality {quality!r}; "
            f"known: {', '.join(QUALITIES)}"
        )
    root = _pc(letter, acc)
    bass = root
    if bass_deg is not None:
        deg = int(bass_deg)
        if deg not in _DEGREES or len(bass_acc) > 1:
            raise ValueError(f"chord label {label!r} has an unknown bass degree")
        bass = (root + _DEGREES[deg] + {"#": 1, "b": -1, "": 0}[bass_acc]) % 12
    return C.Chord(root=root, tones=QUALITIES[quality], degree=-1), bass


@dataclass(frozen=True)
class ChordSpan:
    """One line of ``chord_midi.txt``: ``chord`` is ``None`` for ``N`` (no chord)."""

    start: float
    end: float
    label: str
    chord: C.Chord | None
    bass: int | None


Note = tuple[float, float, int, int]


@dataclass
class Pop909Song:
    """A parsed POP909 song folder.

    Attributes
    ----------
    song_id : str
        The folder name (``"001"`` ...).
    folder : Path
    tracks : dict of str -> list of (start [s], end [s], pitch, velocity)
        Notes of ``MELODY``, ``BRIDGE`` and ``PIANO`` (those present), sorted by start.
    beats : np.ndarray [shape=(n_beats,), seconds]
        Beat times, increasing.
    downbeats : np.ndarray [shape=(n_beats,), bool]
        Which beats start a bar.
    chords : list of ChordSpan
        The chord timeline, by start.
    keys : list of (start [s], end [s], tonic pitch class, mode)
        ``mode`` is ``"major"`` or ``"minor"``.
    """

    song_id: str
    folder: Path
    tracks: dict[str, list[Note]]
    beats: np.ndarray
    downbeats: np.ndarray
    chords: list[ChordSpan]
    keys: list[tuple[float, float, int, str]]

    @property
    def end_seconds(self) -> float:
        """End of the last note [s]."""
        return max((n[1] for notes in self.tracks.values() for n in notes), default=0.0)


def _read_rows(path: Path, what: str) -> list[list[str]]:
    if not path.is_file():
        raise ArrangementError(path, f"the {what} annotation file is missing")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArrangementError(path, f"cannot read the {what} annotation: {exc}") from None
    rows = [line.split() for line in text.splitlines() if line.strip()]
    if not rows:
        raise ArrangementError(path, f"the {what} annotation file is empty")
    return rows


def _floats(path: Path, i: int, cells: Sequence[str], what: str) -> list[float]:
    try:
        vals = [float(c) for c in cells]
    except ValueError:
        raise ArrangementError(
            path, f"line {i + 1}: {what} {list(cells)!r} are not numbers"
        ) from None
    if not all(math.isfinite(v) for v in vals):
        raise ArrangementError(path, f"line {i + 1}: {what} {list(cells)!r} are not finite")
    return vals


def load_song(folder: str | os.PathLike[str]) -> Pop909Song:
    """Parse one POP909 song folder (``NNN/NNN.mid`` and its annotations).

    Parameters
    ----------
    folder : path
        The song folder; its name is the song id and names the MIDI file.

    Returns
    -------
    Pop909Song

    Raises
    ------
    ArrangementError
        The folder or ``NNN.mid`` is missing, the MIDI cannot be parsed, it has no
        ``PIANO`` track (or the track has no notes), or ``beat_midi.txt``,
        ``chord_midi.txt`` or ``key_audio.txt`` is missing or has a bad line (fewer
        than two increasing beats, no downbeat, an unknown chord label ...). The
        message names the file and the reason.
    MissingExtraError
        ``pretty_midi`` (``instsim[synth]``) is not installed.
    """
    from ..extras import require

    require("synth", "POP909 arrangements")
    import pretty_midi

    d = Path(folder).expanduser()
    if not d.is_dir():
        raise ArrangementError(d, "no such song folder")
    sid = d.name
    midi = d / f"{sid}.mid"
    if not midi.is_file():
        raise ArrangementError(midi, f"the song's MIDI file {midi.name!r} is missing")
    try:
        pm = pretty_midi.PrettyMIDI(str(midi))
    except Exception as exc:  # mido/pretty_midi raise many kinds on corrupt files
        raise ArrangementError(midi, f"corrupt MIDI file ({type(exc).__name__}: {exc})") from None
    tracks: dict[str, list[Note]] = {}
    for inst in pm.instruments:
        name = (inst.name or "").strip().upper()
        if name in TRACKS and not inst.is_drum:
            notes = [(float(n.start), float(n.end), int(n.pitch), int(n.velocity))
                     for n in inst.notes if n.end > n.start]  # fmt: skip
            tracks[name] = sorted(tracks.get(name, []) + notes, key=lambda n: (n[0], n[2]))
    if not tracks.get("PIANO"):
        found = [i.name for i in pm.instruments]
        why = "has no notes" if "PIANO" in tracks else "is missing"
        raise ArrangementError(
            midi, f"the PIANO track {why} (tracks: {found!r}; expected {list(TRACKS)!r})"
        )

    bpath = d / "beat_midi.txt"
    rows = _read_rows(bpath, "beat")
    beats, down = [], []
    for i, r in enumerate(rows):
        if len(r) < 3:
            raise ArrangementError(
                bpath, f"line {i + 1}: expected 'time beat downbeat' (3 columns), got {r!r}"
            )
        t, _, db = _floats(bpath, i, r[:3], "values")
        beats.append(t)
        down.append(db > 0.5)
    beat_arr = np.asarray(beats)
    if beat_arr.size < 2 or np.any(np.diff(beat_arr) <= 0):
        raise ArrangementError(bpath, "needs at least two beats at increasing times")
    if not any(down):
        raise ArrangementError(bpath, "marks no downbeat (third column all 0)")

    cpath = d / "chord_midi.txt"
    chords = []
    for i, r in enumerate(_read_rows(cpath, "chord")):
        if len(r) != 3:
            raise ArrangementError(cpath, f"line {i + 1}: expected 'start end label', got {r!r}")
        s, e = _floats(cpath, i, r[:2], "times")
        try:
            parsed = parse_chord(r[2])
        except ValueError as exc:
            raise ArrangementError(cpath, f"line {i + 1}: {exc}") from None
        chords.append(ChordSpan(s, e, r[2], *(parsed or (None, None))))
    chords.sort(key=lambda c: c.start)

    kpath = d / "key_audio.txt"
    keys = []
    for i, r in enumerate(_read_rows(kpath, "key")):
        m = re.match(r"^([A-G])([#b]?):(maj|min)$", r[2]) if len(r) == 3 else None
        if m is None:
            raise ArrangementError(
                kpath, f"line {i + 1}: expected 'start end key' with a key like 'Gb:maj', got {r!r}"
            )
        s, e = _floats(kpath, i, r[:2], "times")
        keys.append(
            (s, e, _pc(m.group(1), m.group(2)), "major" if m.group(3) == "maj" else "minor")
        )
    return Pop909Song(sid, d, tracks, beat_arr, np.asarray(down), chords, keys)


# ---------------------------------------------------------------------------
# the corpus-level loader


@dataclass
class ArrangementSet:
    """The usable songs of a POP909 folder.

    Attributes
    ----------
    root : Path
        The folder holding the song folders (``POP909/`` of the clone).
    song_ids : list of str
        Songs that parse (:func:`load_song`), sorted.
    skipped : dict of str -> str
        Song id -> the reason it cannot be used.
    """

    root: Path
    song_ids: list[str]
    skipped: dict[str, str] = field(default_factory=dict)

    def folder(self, song_id: str) -> Path:
        return self.root / song_id


def _song_root(root: Path) -> Path:
    """``root`` itself, or its ``POP909/`` sub-folder when ``root`` holds no song folder."""
    if (root / "POP909").is_dir() and not any(n.isdigit() for n in os.listdir(root)):
        return root / "POP909"
    return root


def scan_arrangements(root: str | os.PathLike[str], check: bool = True) -> ArrangementSet:
    """Find the songs of a POP909 folder, skipping (and reporting) the bad ones.

    Parameters
    ----------
    root : path
        The dataset folder: the clone (holding ``POP909/``) or the folder of song
        folders itself. Song folders are the sub-folders with a digit-only name.
    check : bool
        Parse every song fully (:func:`load_song`; about 50 ms a song) so that the
        corpus only ever draws songs that convert. ``False``: only check that each
        folder holds its ``NNN.mid`` and the two annotations.

    Returns
    -------
    ArrangementSet

    Raises
    ------
    ConfigError
        ``root`` is not a folder or holds no song folder (field ``arrangements``).
    """
    p = Path(root).expanduser()
    if not p.is_dir():
        raise ConfigError("arrangements", f"{str(p)!r} is not a folder (the POP909 dataset)")
    base = _song_root(p)
    ids = sorted(n for n in os.listdir(base) if n.isdigit() and (base / n).is_dir())
    if not ids:
        raise ConfigError(
            "arrangements",
            f"{str(p)!r} holds no POP909 song folder (sub-folders named 001, 002, ... "
            "with NNN.mid, beat_midi.txt, chord_midi.txt and key_audio.txt)",
        )
    ok, skipped = [], {}
    for sid in ids:
        try:
            if check:
                load_song(base / sid)
            else:
                for name in (f"{sid}.mid", "beat_midi.txt", "chord_midi.txt", "key_audio.txt"):
                    if not (base / sid / name).is_file():
                        raise ArrangementError(base / sid / name, "missing")
            ok.append(sid)
        except ArrangementError as exc:
            skipped[sid] = str(exc)
    return ArrangementSet(base.resolve(), ok, skipped)


def _hash01(song_id: str) -> float:
    h = hashlib.sha256(f"pop909/{song_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64


def split_song_ids(song_ids: Sequence[str], fractions: Sequence[float]) -> dict[str, list[str]]:
    """Partition song ids among train, validation and test: no song is in two splits.

    The ids are ordered by a fixed hash (independent of any seed) and cut in the
    proportions ``fractions`` (largest remainders, every non-zero split gets a song
    when there are enough), so a corpus' splits, and corpora made with the same
    songs and fractions, never share a POP909 song.

    Parameters
    ----------
    song_ids : sequence of str
    fractions : (float, float, float)
        Train, validation, test fractions.

    Returns
    -------
    dict of str -> list of str
        ``{"train": [...], "validation": [...], "test": [...]}``, each sorted.
    """
    from .synth import SPLITS, _split_counts

    order = sorted(set(song_ids), key=lambda s: (_hash01(s), s))
    out, k = {}, 0
    for split, n in zip(SPLITS, _split_counts(len(order), fractions)):
        out[split] = sorted(order[k : k + n])
        k += n
    return out


def draw_song(
    seed: int, index: int, split: str, pools: dict[str, list[str]], share: float
) -> str | None:
    """The POP909 song of corpus track ``index`` (in ``split``), or ``None`` for a grammar song.

    A share ``share`` of the tracks (drawn from ``(seed, index)``) are arrangements
    when the split's pool has songs. Their songs come from a permutation of the
    split's pool (seeded by ``seed`` and the split) at position ``index`` modulo its
    size, so the contiguous tracks of a split repeat no song until it is used up, and
    track ``index`` depends only on ``(seed, index)``, its split and the pool.

    Parameters
    ----------
    seed : int >= 0
        The corpus seed.
    index : int >= 0
        The track's song index (``Track{index+1:05d}``).
    split : str
        ``"train"``, ``"validation"`` or ``"test"``.
    pools : dict of str -> list of str
        Song ids per split (:func:`split_song_ids`).
    share : float in [0, 1]
        Share of arrangement tracks.

    Returns
    -------
    str or None
        A song id of ``pools[split]``, or ``None``.
    """
    pool = pools.get(split) or []
    if not pool or share <= 0:
        return None
    if share < 1 and np.random.default_rng([seed, index, _SHARE_SEED]).random() >= share:
        return None
    from .synth import SPLITS

    perm = np.random.default_rng([seed, _PICK_SEED, SPLITS.index(split)]).permutation(len(pool))
    return pool[int(perm[index % len(pool)])]


# ---------------------------------------------------------------------------
# the score


class _GridContext(C._Context):
    """A compose context whose beats are the song's real beats and chords its real chords.

    Helper beat ``b`` is beat ``b - k * bpb`` of the window's ``k``-th bar,
    ``k = b // bpb``; :meth:`seconds` places it on the annotated beat times.
    """

    def __init__(self, song: Pop909Song, bar_starts: list[int], bar_lens: list[int],
                 bpb: int, tempo: float, key: int, mode: str, offset: float) -> None:  # fmt: skip
        super().__init__(
            tempo, bpb, key, C.MODES[mode], len(bar_starts), "A", 8, 1.0, {}, [[0, 8]] * 2
        )
        self.song = song
        self.bar_starts = bar_starts
        self.bar_lens = bar_lens
        self.offset = offset
        real = [c for c in song.chords if c.chord is not None]
        self._starts = np.array([c.start for c in song.chords])
        self._real = real
        self._real_starts = np.array([c.start for c in real])

    def global_beat(self, b: float) -> float | None:
        """The song's fractional beat index of helper beat ``b`` (``None``: past a short bar)."""
        bar = math.floor(b / self.beats_per_bar + 1e-9)
        if bar < 0 or bar >= len(self.bar_starts):
            return None
        j = b - bar * self.beats_per_bar
        if j >= self.bar_lens[bar] - 1e-9:
            return None
        return self.bar_starts[bar] + j

    def time_of(self, g: float) -> float:
        """Song time [s] of fractional beat index ``g`` (extrapolated past the last beat)."""
        beats = self.song.beats
        i = int(min(max(math.floor(g), 0), len(beats) - 2))
        return float(beats[i] + (g - i) * (beats[i + 1] - beats[i]))

    def span_at(self, t: float) -> ChordSpan | None:
        """The chord line sounding at song time ``t`` (``None`` outside the timeline)."""
        i = int(np.searchsorted(self._starts, t + 1e-6, side="right")) - 1
        if i < 0:
            return None
        span = self.song.chords[i]
        return span if t < span.end - 1e-6 else None

    def chord_at(self, beat: float) -> C.Chord:
        """The chord at helper beat ``beat``: the last real chord (not ``N``) started by then."""
        g = self.global_beat(beat)
        t = self.time_of(g if g is not None else self.bar_starts[-1] + self.bar_lens[-1])
        if not self._real:
            return C.Chord(self.key, (0, 4, 7), 0)
        i = max(0, int(np.searchsorted(self._real_starts, t + 1e-6, side="right")) - 1)
        return self._real[i].chord  # type: ignore[return-value]

    def has_chord(self, t: float) -> bool:
        span = self.span_at(t)
        return span is not None and span.chord is not None


def _bars(song: Pop909Song, first: int, t_end: float) -> tuple[list[int], list[int], int]:
    """Bar starts (beat indices) from beat ``first`` up to ``t_end``, their lengths, and bpb."""
    down = np.flatnonzero(song.downbeats)
    spacing = np.diff(down)
    modal = int(np.bincount(spacing).argmax()) if spacing.size else 4
    bpb = 3 if modal in (3, 6) else 4
    starts = [int(d) for d in down if d >= first]
    if not starts or starts[0] != first:
        starts.insert(0, first)
    n = len(song.beats)
    bar_starts, bar_lens = [], []
    for i, s in enumerate(starts):
        nxt = starts[i + 1] if i + 1 < len(starts) else max(n, s + bpb)
        while s < nxt:  # long bars (or a missing downbeat) become several bars of bpb
            length = min(bpb, nxt - s)
            if s < n and song.beats[s] >= t_end:
                return bar_starts, bar_lens, bpb
            bar_starts.append(s)
            bar_lens.append(length)
            s += length
        if s >= n:  # past the annotated beats: whole bars, extrapolated
            while song.beats[-1] + (s - n + 1) * (song.beats[-1] - song.beats[-2]) < t_end:
                bar_starts.append(s)
                bar_lens.append(bpb)
                s += bpb
            break
    return bar_starts, bar_lens, bpb


def _window(song: Pop909Song, seconds: float, rng: np.random.Generator) -> tuple[int, float]:
    """The beat index and time [s] of the window's first beat: a downbeat drawn from the seed,
    with the window inside the notes of the song when it is long enough."""
    first_note = min(n[0] for notes in song.tracks.values() for n in notes if notes)
    last = song.end_seconds - seconds
    down = np.flatnonzero(song.downbeats)
    times = song.beats[down]
    ok = down[(times >= first_note - 1e-6 - 4 * _beat_period(song)) & (times <= last)]
    if ok.size == 0:  # a song shorter than the window: from its first bar with notes
        after = down[times >= first_note - 4 * _beat_period(song)]
        i = int(after[0]) if after.size else int(down[0])
    else:
        i = int(ok[int(rng.integers(ok.size))])
    return i, float(song.beats[i])


def _beat_period(song: Pop909Song) -> float:
    return float(np.median(np.diff(song.beats)))


def _cut(notes: Sequence[Note], offset: float, seconds: float) -> list[Note]:
    """Notes starting in ``[offset, offset + seconds)``, shifted by ``-offset``, ends clipped."""
    out = []
    for s, e, p, v in notes:
        if offset - 1e-9 <= s < offset + seconds:
            out.append((round(s - offset, 6), round(min(e, offset + seconds) - offset, 6), p, v))
    return C._fix_overlaps(out)


def _octave_into(notes: list[Note], lo: int, hi: int) -> tuple[list[Note], int]:
    """Move a line by whole octaves so its median pitch is nearest the middle of ``[lo, hi]``."""
    if not notes:
        return notes, 0
    med = float(np.median([n[2] for n in notes]))
    shift = 12 * round(((lo + hi) / 2 - med) / 12)
    return [(s, e, int(np.clip(p + shift, 0, 127)), v) for s, e, p, v in notes], shift


def _bass_line(rng: np.random.Generator, ctx: _GridContext, style: str, base: float) -> C.Beats:
    """Bass on the chords' bass notes: a bar rhythm, a re-strike at every chord change, and
    (``p_pass``) a chromatic or whole-step approach note half a beat before a change."""
    bpb = ctx.beats_per_bar
    rhythm = C._BASS_RHYTHMS[bpb][int(rng.integers(len(C._BASS_RHYTHMS[bpb])))]
    if style in ("eighths", "octaves"):  # octaves: the off-beat eighths an octave up
        rhythm = tuple(i / 2 for i in range(2 * bpb))
    legato = float(rng.uniform(0.6, 0.95))
    p_pass = float(rng.uniform(0.2, 0.6))
    lo = int(rng.integers(28, 35))

    out = object()  # a helper beat outside the bars (past a short bar or the window)

    def span(b: float) -> Any:
        g = ctx.global_beat(b)
        return out if g is None else ctx.span_at(ctx.time_of(g))

    def bass_of(sp: Any) -> int | None:
        if sp is out or sp is None or sp.bass is None:
            return None
        return lo + (sp.bass - lo) % 12

    onsets: set[float] = set()
    for bar in range(ctx.n_bars):
        onsets.update(bar * bpb + h for h in rhythm)
        for h in np.arange(0.5, bpb, 0.5):  # chord changes, on the half-beat grid
            b = bar * bpb + float(h)
            here = span(b)
            if bass_of(here) is not None and span(b - 0.5) is not here:
                onsets.add(b)
    ordered = sorted(onsets)
    notes: C.Beats = []
    for i, b in enumerate(ordered):
        here = span(b)
        p = bass_of(here)
        if p is None:
            continue
        nxt = ordered[i + 1] if i + 1 < len(ordered) else b + 1.0
        starts_chord = span(b - 0.5) is not here  # then it always plays the chord's bass
        after = span(b + 0.5)
        target = bass_of(after) if after is not here else None
        if not starts_chord and target is not None and target != p and rng.random() < p_pass:
            # approach the next chord's bass from a semitone or a whole tone away
            step = int(rng.choice([-2, -1, 1, 2]))
            dur = min(0.45, (nxt - b) * 0.95)
            notes.append((b, dur, target + step, C._vel(rng, base, 5, -6)))
            continue
        octave = 12 if style == "octaves" and (b % 1) >= 0.5 else 0
        v = C._vel(rng, base, 6, 8 if b % bpb == 0 else 0)
        notes.append((b, max(0.2, (nxt - b) * legato), p + octave, v))
    return notes


def _to_seconds(
    ctx: _GridContext,
    beats: C.Beats,
    seconds: float,
    jitter_s: float,
    rng: np.random.Generator,
    need_chord: bool,
) -> list[Note]:
    """Helper beats -> window seconds on the real grid; drop notes past short bars, in ``N``
    (no-chord) spans when ``need_chord``, or after the window; fix overlaps."""
    out = []
    for start, dur, pitch, vel in beats:
        g = ctx.global_beat(start)
        if g is None:
            continue
        t = ctx.time_of(g)
        if need_chord and not ctx.has_chord(t):
            continue
        s = t - ctx.offset + (rng.normal(0.0, jitter_s) if jitter_s > 0 else 0.0)
        note = C._clip_note(s, ctx.time_of(g + dur) - ctx.offset, pitch, vel, seconds)
        if note is not None:
            out.append(note)
    return C._fix_overlaps(out)


def arrange(
    song: Pop909Song | str | os.PathLike[str],
    song_seed: int | Sequence[int],
    seconds: float,
) -> C.Score:
    """A multitrack score from a window of one POP909 song.

    Parameters
    ----------
    song : Pop909Song or path
        A parsed song or its folder (:func:`load_song`).
    song_seed : int or sequence of int
        Entropy of every choice (window offset, programs, written parts), through
        :func:`instsim.data.compose.song_streams`: stream 0 for the song, ``1 + i``
        for part ``i``; the corpus uses ``(seed, index)``.
    seconds : float > 0 [s]
        Window length. A song shorter than that leaves the end silent.

    Returns
    -------
    compose.Score
        ``tempo`` is the median tempo of the window's beats [BPM], ``key`` and ``mode``
        the annotated key at the window start, ``progressions["A"]`` the window's chord
        labels, and ``style`` records the source (``source``, ``pop909_id``,
        ``offset_seconds``, ``tempo_range_bpm``) and the written parts' choices. Parts:
        drums, bass, piano (PIANO), guitar (written or BRIDGE), lead (MELODY) and
        counter (BRIDGE), each kept when it has a note in the window.

    Raises
    ------
    ArrangementError
        ``song`` is a folder that :func:`load_song` cannot use.
    ConfigError
        ``seconds`` is not a positive number.
    """
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not 0 < seconds < math.inf
    ):
        raise ConfigError("seconds", f"must be a positive number of seconds, got {seconds!r}")
    seconds = float(seconds)
    if not isinstance(song, Pop909Song):
        song = load_song(song)
    streams = C.song_streams(song_seed)
    rng = streams[0]
    first, offset = _window(song, seconds, rng)
    # written parts stop with the song (a song shorter than the window ends in silence)
    bar_starts, bar_lens, bpb = _bars(song, first, min(offset + seconds, song.end_seconds))
    in_win = song.beats[(song.beats >= offset - 1e-9) & (song.beats < offset + seconds)]
    periods = np.diff(in_win) if in_win.size > 2 else np.diff(song.beats)
    tempo = float(np.round(60.0 / np.median(periods), 3))
    local = 60.0 / periods
    key, mode = next(((k, m) for s, e, k, m in song.keys if s <= offset < e),
                     song.keys[0][2:] if song.keys else (0, "major"))  # fmt: skip
    ctx = _GridContext(song, bar_starts, bar_lens, bpb, tempo, int(key), str(mode), offset)

    # song-level choices, all from stream 0 in a fixed order
    piano_prog = int(C._choice(rng, range(8), [3, 2, 1.2, 1, 2, 1.5, 1, 1.2]))
    families = list(MELODY_PROGRAMS)
    lead_family = str(C._choice(rng, families))
    lead_prog = int(C._choice(rng, MELODY_PROGRAMS[lead_family]))
    bridge_guitar = bool(rng.random() < 0.3)
    counter_family = str(C._choice(rng, [f for f in families if f != lead_family]))
    bridge_prog = int(
        C._choice(rng, _BRIDGE_GUITARS) if bridge_guitar
        else C._choice(rng, MELODY_PROGRAMS[counter_family])
    )  # fmt: skip
    kit = int(C._choice(rng, C.DRUM_KITS, [0.35, 0.2, 0.1, 0.1, 0.1, 0.05, 0.1]))
    bass_style = str(C._choice(rng, ["root", "eighths", "octaves"], [0.55, 0.25, 0.2]))
    bass_prog = int(C._choice(rng, range(32, 40), [2, 3, 1.5, 1, 1, 0.5, 0.8, 0.5]))
    written_guitar = bool(not bridge_guitar or rng.random() < 0.5)
    guitar_prog = int(C._choice(rng, range(24, 32), [2, 2, 1.2, 1.5, 1, 1, 0.6, 0.4]))
    guitar_style = str(
        C._choice(rng, ["strum", "pick", "skank"], [0.5, 0.4, 0.1]) if guitar_prog < 29
        else C._choice(rng, ["power", "strum"], [0.6, 0.4])
    )  # fmt: skip

    plan: list[tuple[str, str, str, int]] = [
        ("drums", "drums", "groove", kit),
        ("bass", "bass", bass_style, bass_prog),
        ("piano", "piano", "pop909-piano", piano_prog),
    ]
    if written_guitar:
        plan.append(("guitar", "guitar", guitar_style, guitar_prog))
    plan.append(("lead", "others", "pop909-melody", lead_prog))
    plan.append(("bridge", "guitar" if bridge_guitar else "others", "pop909-bridge", bridge_prog))

    drum_style = C._drum_style(streams[1], ctx)
    ctx.kick_steps = drum_style["kick_steps"]
    gains = {"drums": (0.0, 2.5), "bass": (-1.5, 2.0), "piano": (-1.0, 2.0), "guitar": (-3.0, 1.0),
             "lead": (0.0, 3.0), "bridge": (-4.0, 0.0)}  # fmt: skip
    transpose: dict[str, int] = {}
    parts: list[C.Part] = []
    for i, (name, group, role, program) in enumerate(plan):
        prng = streams[1 + i]
        base = float(prng.uniform(68, 112))
        gain_db = float(prng.uniform(*gains.get(name, gains.get(group, (-3.0, 1.0)))))
        jitter = float(prng.uniform(0.0, 0.006 if group == "drums" else 0.01))
        timing_rng = np.random.default_rng(int(prng.integers(2**63)))
        part = C.Part(name, group, role, program, group == "drums", gain_db=gain_db,
                      velocity=int(base), index=i)  # fmt: skip
        if name == "drums":
            part.notes = _to_seconds(ctx, C._drums(prng, ctx, drum_style, base), seconds, jitter,
                                     timing_rng, False)  # fmt: skip
        elif name == "bass":
            part.notes = _to_seconds(ctx, _bass_line(prng, ctx, role, base), seconds, jitter,
                                     timing_rng, True)  # fmt: skip
        elif name == "guitar":
            part.notes = _to_seconds(ctx, C._guitar(prng, ctx, role, base), seconds, jitter,
                                     timing_rng, True)  # fmt: skip
        else:
            track = {"piano": "PIANO", "lead": "MELODY", "bridge": "BRIDGE"}[name]
            notes = _cut(song.tracks.get(track, []), offset, seconds)
            if name != "piano":
                lo, hi = (40, 76) if group == "guitar" else C._program_range(program)
                notes, transpose[name] = _octave_into(notes, lo, hi)
            part.velocity = int(np.median([n[3] for n in notes])) if notes else part.velocity
            part.notes = notes
        if part.notes:
            parts.append(part)

    win_chords = [c for c in song.chords if c.end > offset and c.start < offset + seconds]
    labels = [c.label for c in win_chords if c.chord is not None]
    span_beats = [(c.end - c.start) / (60.0 / tempo) for c in win_chords if c.chord is not None]
    style: dict[str, Any] = {
        "source": "POP909",
        "pop909_id": song.song_id,
        "offset_seconds": round(offset, 6),
        "tempo_range_bpm": [round(float(local.min()), 2), round(float(local.max()), 2)],
        "melody_family": lead_family,
        "bridge_as": "guitar" if bridge_guitar else counter_family,
        "octave_shift": {k: int(v) for k, v in transpose.items()},
        "drums": {
            k: ([list(map(int, x)) for x in v] if k == "kick_steps" else v)
            for k, v in drum_style.items()
        },
    }
    return C.Score(
        seconds=seconds,
        tempo=tempo,
        beats_per_bar=bpb,
        key=int(key),
        mode=str(mode),
        swing=0.5,
        form="A",
        progressions={"A": labels},
        bars_per_chord=round(float(np.mean(span_beats)) / bpb, 3) if span_beats else 1.0,
        parts=parts,
        style=style,
    )
