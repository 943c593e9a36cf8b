"""Real General MIDI arrangements: windows of a MIDI collection as :class:`~instsim.data.compose.Score` s.

A *collection* is a folder of Standard MIDI Files (``.mid``/``.midi``, searched
recursively) with a ``collection.yaml`` at its root::

    name: freedoom                       # short, unique among the collections of a corpus
    licence: BSD-3-Clause                # recorded in every track and in corpus.json
    source: https://github.com/freedoom/freedoom
    attribution: Freedoom contributors   # optional
    citation: ...                        # optional
    held_out: false                      # optional: true = for test sets only

Every part of such a file was written by a person (drums, bass, guitars, keys, strings,
synths ...), so nothing is written here: :func:`window_score` keeps each track's real
notes, velocities and General MIDI program and only cuts a window out of the song.
Parts go to the five groups by Slakh's recipe (:func:`instsim.data.groups.group_of`:
``is_drum`` -> drums, programs 0-7 piano, 24-31 guitar, 32-39 bass, the rest others);
a drum track keeps its program as the kit preset (bank 128). Tracks of one program
(and drum flag) are one part (one stem), named by group (``bass``, ``others``,
``others2`` ...). What is *not* kept: controllers (volume, expression, pan, sustain
pedal) and pitch bends, which the renderer does not play; stems are loudness-normalised
anyway and mixed at drawn levels, as every other song.

The window (``seconds`` long) starts on a downbeat (``pretty_midi``'s
``get_downbeats()``), drawn from the song seed among the downbeats whose window:

- has at least :data:`MIN_GROUP_NOTES` note onsets in each of at least
  :data:`MIN_GROUPS` groups, and
- sounds (some note held, a drum hit counted as :data:`DRUM_RING` s) during at least
  :data:`MIN_SOUNDING` of its length,

so a nearly silent mix never comes out. A file shorter than the window plays whole,
from the last downbeat at or before its first note, and the end of the track is silent.

:func:`scan_collection` reads ``collection.yaml`` and parses every file up front,
skipping (with the reason) files that cannot be read, have no notes or only drums,
hold under :data:`MIN_FILE_SECONDS` s of music, repeat another file's bytes, or have
no usable window. :func:`split_files` partitions the files of each collection among
train, validation and test (by a hash of the file, like
:func:`~instsim.data.arrangements.split_song_ids`), so the splits never share a file.

No audio here: :func:`instsim.data.synth.synthesize_song` renders the windows
(``midi_file=``), and ``instsim synth --midi-collection DIR --midi-share F`` mixes
them into a corpus. ``pretty_midi`` (the ``synth`` extra) loads on first use.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, MidiCollectionError
from ..instruments import INSTRUMENTS
from . import compose as C
from .groups import group_of

__all__ = [
    "COLLECTION_FILE",
    "DRUM_RING",
    "MAX_PARTS",
    "MIN_FILE_SECONDS",
    "MIN_GROUPS",
    "MIN_GROUP_NOTES",
    "MIN_SOUNDING",
    "CollectionInfo",
    "MidiCollection",
    "MidiSong",
    "collection_info",
    "draw_file",
    "find_collection",
    "load_info",
    "load_midi",
    "scan_collection",
    "split_files",
    "window_score",
]

#: The description file at the root of a collection.
COLLECTION_FILE = "collection.yaml"
#: Files whose notes span less than this are skipped [s].
MIN_FILE_SECONDS = 8.0
#: A window needs this many groups ...
MIN_GROUPS = 2
#: ... each with at least this many note onsets in it.
MIN_GROUP_NOTES = 4
#: A window must sound (some note held) during at least this share of its length.
MIN_SOUNDING = 0.5
#: How long a drum hit counts as sounding for :data:`MIN_SOUNDING` [s].
DRUM_RING = 0.25
#: At most this many parts (stems) a song: each part has its own effect stream
#: (:func:`~instsim.data.compose.song_streams` has 16); the parts with the fewest
#: notes in the window are dropped past it (recorded in the score's ``style``).
MAX_PARTS = 15

_PICK_SEED = 0x3D1C  # which file a corpus track plays
_SUFFIXES = (".mid", ".midi")
_FIELDS = ("name", "licence", "source", "attribution", "citation", "held_out")

Note = tuple[float, float, int, int]


# ---------------------------------------------------------------------------
# collection.yaml


@dataclass(frozen=True)
class CollectionInfo:
    """What ``collection.yaml`` says about a collection.

    Attributes
    ----------
    name : str
        Short name (letters, digits, ``-``, ``_``, ``.``), unique among a corpus' collections.
    licence : str
        The licence of the MIDI files (recorded in every track).
    source : str
        Where the files come from (a URL).
    attribution, citation : str or None
    held_out : bool
        For test sets only (``instsim synth`` warns when a training split draws from it).
    """

    name: str
    licence: str
    source: str
    attribution: str | None = None
    citation: str | None = None
    held_out: bool = False

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "licence": self.licence, "source": self.source}
        if self.attribution:
            out["attribution"] = self.attribution
        if self.citation:
            out["citation"] = self.citation
        out["held_out"] = self.held_out
        return out


def load_info(root: str | os.PathLike[str]) -> CollectionInfo:
    """Read and check a collection's ``collection.yaml``.

    Parameters
    ----------
    root : path
        The collection folder.

    Returns
    -------
    CollectionInfo

    Raises
    ------
    MidiCollectionError
        ``root`` is not a folder, ``collection.yaml`` is missing or not a YAML mapping,
        a required field (``name``, ``licence``, ``source``) is missing, a field is not
        of its type, or a field is unknown. The message names the file and the field.
    """
    import yaml

    folder = Path(root).expanduser()
    if not folder.is_dir():
        raise MidiCollectionError(folder, "not a folder (a MIDI collection folder)")
    path = folder / COLLECTION_FILE
    if not path.is_file():
        raise MidiCollectionError(
            path,
            f"missing: a collection needs a {COLLECTION_FILE} with the fields name, licence "
            "and source (optional: attribution, citation, held_out); see docs/synth.md",
        )
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MidiCollectionError(path, f"not readable YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise MidiCollectionError(
            path, f"must be a mapping with the fields {', '.join(_FIELDS)}, got {doc!r}"
        )
    unknown = sorted(str(k) for k in set(doc) - set(_FIELDS))
    if unknown:
        raise MidiCollectionError(path, f"unknown field(s) {unknown}; valid: {list(_FIELDS)}")

    def text(key: str, required: bool) -> str | None:
        value = doc.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            what = "missing" if value is None else f"got {value!r}"
            raise MidiCollectionError(path, f"field {key!r} must be a non-empty string ({what})")
        return " ".join(value.split())

    name = text("name", True)
    assert name is not None
    bad = sorted({c for c in name if not (c.isalnum() or c in "-_.")})
    if bad:
        raise MidiCollectionError(
            path,
            f"field 'name' {name!r} may hold letters, digits, '-', '_' and '.' only (not {bad})",
        )
    held_out = doc.get("held_out", False)
    if not isinstance(held_out, bool):
        raise MidiCollectionError(path, f"field 'held_out' must be true or false, got {held_out!r}")
    return CollectionInfo(
        name=name,
        licence=text("licence", True) or "",
        source=text("source", True) or "",
        attribution=text("attribution", False),
        citation=text("citation", False),
        held_out=held_out,
    )


def find_collection(path: str | os.PathLike[str]) -> Path:
    """The collection folder holding a MIDI file: its nearest parent with a ``collection.yaml``.

    Raises
    ------
    MidiCollectionError
        No parent folder has one.
    """
    p = Path(path).expanduser().resolve()
    for parent in p.parents:
        if (parent / COLLECTION_FILE).is_file():
            return parent
    raise MidiCollectionError(
        p, f"not inside a MIDI collection (no parent folder holds a {COLLECTION_FILE})"
    )


# ---------------------------------------------------------------------------
# one file


@dataclass
class MidiSong:
    """A parsed MIDI file of a collection.

    Attributes
    ----------
    path : Path
    parts : list of (group, program, is_drum, track names, notes)
        One entry per (program, drum flag), in :data:`~instsim.instruments.INSTRUMENTS`
        order, then by drum flag and program; ``notes`` are (start [s], end [s], pitch,
        velocity) sorted by start. Tracks without notes are left out.
    downbeats : np.ndarray [shape=(n,), seconds]
        Bar starts, increasing (``pretty_midi``'s ``get_downbeats()``).
    tempo_times, tempi : np.ndarray [seconds], [BPM]
        The tempo map: ``tempi[i]`` holds from ``tempo_times[i]``.
    time_signatures : list of (time [s], numerator, denominator)
    key_signatures : list of (time [s], tonic pitch class, mode)
    """

    path: Path
    parts: list[tuple[str, int, bool, tuple[str, ...], list[Note]]]
    downbeats: np.ndarray
    tempo_times: np.ndarray
    tempi: np.ndarray
    time_signatures: list[tuple[float, int, int]]
    key_signatures: list[tuple[float, int, str]]

    @property
    def first_onset(self) -> float:
        """Start of the first note [s]."""
        return min(p[4][0][0] for p in self.parts)

    @property
    def end_seconds(self) -> float:
        """End of the last note [s]."""
        return max(n[1] for p in self.parts for n in p[4])

    def groups(self) -> set[str]:
        return {p[0] for p in self.parts}

    def tempo_at(self, t: float) -> float:
        """The tempo in force at time ``t`` [BPM]."""
        i = max(0, int(np.searchsorted(self.tempo_times, t + 1e-6, side="right")) - 1)
        return float(self.tempi[i])


def load_midi(path: str | os.PathLike[str]) -> MidiSong:
    """Parse one Standard MIDI File of a collection.

    Parameters
    ----------
    path : path

    Returns
    -------
    MidiSong

    Raises
    ------
    MidiCollectionError
        The file is missing or cannot be parsed, has no notes, or has drum notes only.
    MissingExtraError
        ``pretty_midi`` (``instsim[synth]``) is not installed.
    """
    from ..extras import require

    require("synth", "MIDI collections")
    import pretty_midi

    p = Path(path).expanduser()
    if not p.is_file():
        raise MidiCollectionError(p, "no such MIDI file")
    try:
        with warnings.catch_warnings():  # "tempo change events on non-zero tracks" etc.
            warnings.simplefilter("ignore")
            pm = pretty_midi.PrettyMIDI(str(p))
            downbeats = np.asarray(pm.get_downbeats(), dtype=np.float64)
    except Exception as exc:  # mido/pretty_midi raise many kinds on corrupt files
        raise MidiCollectionError(p, f"corrupt MIDI file ({type(exc).__name__}: {exc})") from None
    merged: dict[tuple[bool, int], tuple[list[str], list[Note]]] = {}
    for inst in pm.instruments:
        notes = [(float(n.start), float(n.end), int(n.pitch), int(n.velocity))
                 for n in inst.notes if n.end > n.start and n.velocity > 0]  # fmt: skip
        if not notes:
            continue
        names, acc = merged.setdefault((bool(inst.is_drum), int(inst.program)), ([], []))
        names.append((inst.name or "").strip())
        acc.extend(notes)
    if not merged:
        raise MidiCollectionError(p, "has no notes")
    if all(drum for drum, _ in merged):
        raise MidiCollectionError(p, "has drum notes only (no pitched part)")
    order = {g: i for i, g in enumerate(INSTRUMENTS)}
    parts = []
    for (drum, program), (names, notes) in merged.items():
        group = group_of(program, drum)
        notes.sort(key=lambda n: (n[0], n[2], n[1], n[3]))
        parts.append((group, program, drum, tuple(names), notes))
    parts.sort(key=lambda q: (order[q[0]], q[2], q[1]))
    times, tempi = pm.get_tempo_changes()
    if len(times) == 0:
        times, tempi = np.array([0.0]), np.array([120.0])
    ts = [(float(t.time), int(t.numerator), int(t.denominator)) for t in pm.time_signature_changes]
    ks = []
    for k in pm.key_signature_changes:
        n = int(k.key_number)
        ks.append((float(k.time), n % 12, "minor" if n >= 12 else "major"))
    if downbeats.size == 0:
        downbeats = np.array([0.0])
    return MidiSong(p, parts, downbeats, np.asarray(times, float), np.asarray(tempi, float),
                    ts, ks)  # fmt: skip


def _merge_intervals(song: MidiSong) -> np.ndarray:
    """The sounding intervals of the whole file, merged [shape=(n, 2), seconds]."""
    iv = sorted(
        (s, max(e, s + DRUM_RING) if drum else e)
        for _, _, drum, _, notes in song.parts
        for s, e, _, _ in notes
    )
    out: list[list[float]] = []
    for s, e in iv:
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


def _sounding(merged: np.ndarray, a: float, b: float) -> float:
    """Seconds of ``[a, b]`` covered by the merged intervals."""
    if b <= a or merged.size == 0:
        return 0.0
    return float(np.clip(np.minimum(merged[:, 1], b) - np.maximum(merged[:, 0], a), 0, None).sum())


def _candidates(song: MidiSong, seconds: float) -> tuple[list[float], bool]:
    """Downbeats a window may start on, and whether the file is shorter than the window."""
    end = song.end_seconds
    first = song.first_onset
    down = song.downbeats
    full = [float(d) for d in down if d + seconds <= end + 1e-6 and d + seconds > first]
    if full:
        return full, False
    before = down[down <= first + 1e-6]
    return [float(before[-1] if before.size else down[0])], True


def windows(song: MidiSong, seconds: float) -> list[float]:
    """The downbeats [s] a ``seconds``-long window of ``song`` may start on (may be empty).

    A window must hold at least :data:`MIN_GROUP_NOTES` onsets in each of at least
    :data:`MIN_GROUPS` groups and sound during :data:`MIN_SOUNDING` of its length (of
    the file's rest, for a file shorter than the window).
    """
    cands, _ = _candidates(song, seconds)
    starts = np.asarray(cands, dtype=np.float64)
    onsets: dict[str, list[float]] = {}
    for group, _, _, _, notes in song.parts:
        onsets.setdefault(group, []).extend(n[0] for n in notes)
    n_groups = np.zeros(starts.size, dtype=int)
    for values in onsets.values():
        arr = np.sort(np.asarray(values))
        count = np.searchsorted(arr, starts + seconds - 1e-9) - np.searchsorted(arr, starts - 1e-9)
        n_groups += count >= MIN_GROUP_NOTES
    merged = _merge_intervals(song)
    span = np.minimum(seconds, song.end_seconds - starts)
    ok = []
    for o, k, sp in zip(starts, n_groups, span):
        if k >= MIN_GROUPS and sp > 0 and _sounding(merged, o, o + sp) >= MIN_SOUNDING * sp:
            ok.append(float(o))
    return ok


def _check_file(song: MidiSong, seconds: float | None) -> None:
    span = song.end_seconds - song.first_onset
    if span < MIN_FILE_SECONDS:
        raise MidiCollectionError(
            song.path, f"only {span:.1f} s of music (under {MIN_FILE_SECONDS:g} s)"
        )
    if len(song.groups()) < MIN_GROUPS:
        raise MidiCollectionError(
            song.path, f"plays one instrument group only ({', '.join(sorted(song.groups()))})"
        )
    if seconds is not None and not windows(song, seconds):
        raise MidiCollectionError(
            song.path,
            f"no {seconds:g}-s window starting on a downbeat has at least {MIN_GROUP_NOTES} "
            f"notes in each of {MIN_GROUPS} instrument groups and sounds "
            f"{MIN_SOUNDING:.0%} of the time",
        )


# ---------------------------------------------------------------------------
# the collection


@dataclass
class MidiCollection:
    """The usable files of a collection folder.

    Attributes
    ----------
    root : Path
        The collection folder (resolved).
    info : CollectionInfo
    files : list of str
        Usable files, as POSIX paths relative to ``root``, sorted.
    skipped : dict of str -> str
        Relative path -> why the file cannot be used.
    """

    root: Path
    info: CollectionInfo
    files: list[str]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.info.name

    def key(self, rel: str) -> str:
        """The corpus-wide id of a file: ``<collection name>/<relative path>``."""
        return f"{self.info.name}/{rel}"

    def describe(self) -> dict[str, Any]:
        return {**self.info.describe(), "folder": str(self.root), "n_files": len(self.files)}


def _midi_files(root: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in filenames:
            if f.lower().endswith(_SUFFIXES) and not f.startswith("."):
                out.append((Path(dirpath) / f).relative_to(root).as_posix())
    return sorted(out)


def scan_collection(root: str | os.PathLike[str], seconds: float | None = None) -> MidiCollection:
    """Read a collection: its ``collection.yaml`` and every MIDI file, skipping the bad ones.

    Parameters
    ----------
    root : path
        The collection folder; MIDI files (``.mid``, ``.midi``, any case) are searched
        recursively (hidden files and folders are not).
    seconds : float > 0 or None [s]
        The window length the corpus will cut: a file with no window passing the rules
        (see the module docstring) for it is skipped. ``None``: not checked.

    Returns
    -------
    MidiCollection
        Skip reasons: the file cannot be parsed, has no notes, drum notes only, under
        :data:`MIN_FILE_SECONDS` of music, one instrument group only, the same bytes
        as another file of the collection, or no usable window.

    Raises
    ------
    MidiCollectionError
        ``collection.yaml`` is missing or bad (:func:`load_info`), the folder holds no
        MIDI file, or none of them is usable (the message gives the first reasons).
    ConfigError
        ``seconds`` is not a positive number.
    """
    if seconds is not None and (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not 0 < seconds < math.inf
    ):
        raise ConfigError("seconds", f"must be a positive number of seconds, got {seconds!r}")
    folder = Path(root).expanduser()
    info = load_info(folder)
    folder = folder.resolve()
    rels = _midi_files(folder)
    if not rels:
        raise MidiCollectionError(
            folder, f"holds no MIDI file ({', '.join(_SUFFIXES)}, searched recursively)"
        )
    ok, skipped, seen = [], {}, {}
    for rel in rels:
        digest = hashlib.sha256((folder / rel).read_bytes()).hexdigest()
        if digest in seen:
            skipped[rel] = f"the same bytes as {seen[digest]!r}"
            continue
        seen[digest] = rel
        try:
            _check_file(load_midi(folder / rel), None if seconds is None else float(seconds))
        except MidiCollectionError as exc:
            skipped[rel] = exc.reason
            continue
        ok.append(rel)
    if not ok:
        shown = "; ".join(f"{k}: {v}" for k, v in list(skipped.items())[:3])
        raise MidiCollectionError(
            folder, f"no usable MIDI file ({len(skipped)} skipped, e.g. {shown})"
        )
    return MidiCollection(folder, info, ok, skipped)


def split_files(
    collections: Sequence[MidiCollection], fractions: Sequence[float]
) -> dict[str, list[str]]:
    """Partition the files of the collections among train, validation and test.

    Each collection is cut on its own by
    :func:`~instsim.data.arrangements.split_song_ids` (a fixed hash of the file id,
    independent of any seed), so no file is in two splits and every split gets files of
    every collection that has enough.

    Parameters
    ----------
    collections : sequence of MidiCollection
    fractions : (float, float, float)
        Train, validation, test fractions.

    Returns
    -------
    dict of str -> list of str
        Split -> file ids (:meth:`MidiCollection.key`), sorted.
    """
    from .arrangements import split_song_ids
    from .synth import SPLITS

    out: dict[str, list[str]] = {s: [] for s in SPLITS}
    for coll in collections:
        for split, rels in split_song_ids([coll.key(r) for r in coll.files], fractions).items():
            out[split].extend(rels)
    return {s: sorted(v) for s, v in out.items()}


def draw_file(
    seed: int,
    index: int,
    split: str,
    pools: dict[str, list[str]],
    share: float,
    arrangement_share: float = 0.0,
) -> str | None:
    """The collection file of corpus track ``index`` (in ``split``), or ``None``.

    The track's uniform draw ``u`` (from ``(seed, index)``) is the one
    :func:`~instsim.data.arrangements.draw_song` uses: ``u < arrangement_share`` is a
    POP909 track, ``arrangement_share <= u < arrangement_share + share`` a collection
    track, the rest composed. The file comes from a permutation of the split's pool
    (seeded by ``seed`` and the split) at position ``index`` modulo its size.

    Parameters
    ----------
    seed, index : int >= 0
        Corpus seed and song index.
    split : str
    pools : dict of str -> list of str
        File ids per split (:func:`split_files`).
    share : float in [0, 1]
        Share of collection tracks.
    arrangement_share : float in [0, 1 - share]
        Share of POP909 tracks of the same corpus (0 without them).

    Returns
    -------
    str or None
        A file id of ``pools[split]``, or ``None``.
    """
    from .arrangements import _SHARE_SEED
    from .synth import SPLITS

    pool = pools.get(split) or []
    if not pool or share <= 0:
        return None
    u = float(np.random.default_rng([seed, index, _SHARE_SEED]).random())
    if not arrangement_share <= u < arrangement_share + share:
        return None
    perm = np.random.default_rng([seed, _PICK_SEED, SPLITS.index(split)]).permutation(len(pool))
    return pool[int(perm[index % len(pool)])]


# ---------------------------------------------------------------------------
# the score

# Krumhansl-Kessler key profiles (major, minor), tonic first
_PROFILES = {
    "major": np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
    "minor": np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
}


def _estimate_key(parts: Sequence[C.Part]) -> tuple[int, str]:
    """Key of the pitched notes (duration-weighted pitch classes, Krumhansl-Kessler)."""
    hist = np.zeros(12)
    for part in parts:
        if not part.is_drum:
            for s, e, p, _ in part.notes:
                hist[p % 12] += e - s
    if not hist.any():
        return 0, "major"
    best = max(
        ((float(np.corrcoef(hist, np.roll(prof, k))[0, 1]), -k, mode)
         for mode, prof in _PROFILES.items() for k in range(12)),
    )  # fmt: skip
    return -best[1], best[2]


def _cut(notes: Sequence[Note], offset: float, seconds: float) -> list[Note]:
    """Notes starting in ``[offset, offset + seconds)``, shifted by ``-offset``, ends clipped."""
    out = []
    for s, e, p, v in notes:
        if offset - 1e-9 <= s < offset + seconds:
            out.append((round(s - offset, 6), round(min(e, offset + seconds) - offset, 6), p, v))
    return C._fix_overlaps(out)


#: Drawn mix level of a part [dB], by group (as for the POP909 parts).
_GAINS = {"drums": (0.0, 2.5), "bass": (-1.5, 2.0), "piano": (-1.0, 2.0),
          "guitar": (-3.0, 1.0), "others": (-4.0, 0.0)}  # fmt: skip


@functools.lru_cache(maxsize=16)
def _info_at(root: str, stamp: tuple[int, int]) -> CollectionInfo:
    return load_info(root)


def collection_info(root: str | os.PathLike[str]) -> CollectionInfo:
    """:func:`load_info` of the collection folder ``root``, cached per process.

    ``collection.yaml`` is read again when its size or modification time changes, so
    an edited description is never served stale.
    """
    root = str(root)
    try:
        st = (Path(root) / COLLECTION_FILE).stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = (0, 0)  # load_info says what is wrong
    return _info_at(root, stamp)


def window_score(
    path: str | os.PathLike[str] | MidiSong,
    song_seed: int | Sequence[int],
    seconds: float,
    info: CollectionInfo | None = None,
) -> C.Score:
    """A multitrack score from a window of one collection file.

    Parameters
    ----------
    path : path or MidiSong
        A MIDI file inside a collection (:func:`find_collection`), or a parsed one.
    song_seed : int or sequence of int
        Entropy of the window offset and the parts' levels, through
        :func:`instsim.data.compose.song_streams` (stream 0: the window, ``1 + i``:
        part ``i``); the corpus uses ``(seed, index)``.
    seconds : float > 0 [s]
        Window length.
    info : CollectionInfo or None
        The collection's description; ``None`` reads it from the collection folder
        holding ``path``.

    Returns
    -------
    compose.Score
        ``tempo`` is the file's tempo at the window start [BPM], ``beats_per_bar`` the
        quarter-note beats of its time signature there, ``key``/``mode`` its key
        signature there (or, without one, estimated from the window's pitch classes);
        ``style`` records ``source`` (``"midi-collection"``), ``collection``, ``file``
        (relative to the collection), ``offset_seconds``, ``tempo_range_bpm``,
        ``time_signature``, ``key_source``, ``tracks`` (part -> MIDI track names) and
        ``dropped_parts``. Parts keep the file's notes, velocities and programs.

    Raises
    ------
    MidiCollectionError
        The file cannot be used (unreadable, no notes, drums only, not in a collection,
        no window passing the rules).
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
    song = path if isinstance(path, MidiSong) else load_midi(path)
    root = find_collection(song.path)
    if info is None:
        info = collection_info(root)
    rel = song.path.resolve().relative_to(root).as_posix()
    ok = windows(song, seconds)
    if not ok:
        _check_file(song, seconds)  # raises with the reason
    streams = C.song_streams(song_seed)
    offset = ok[int(streams[0].integers(len(ok)))]

    cut = []
    for group, program, drum, names, notes in song.parts:
        win = _cut(notes, offset, seconds)
        if win:
            cut.append((group, program, drum, names, win))
    dropped: list[str] = []
    if len(cut) > MAX_PARTS:
        keep = sorted(range(len(cut)), key=lambda i: (-len(cut[i][4]), i))[:MAX_PARTS]
        dropped = [f"{cut[i][0]}:{cut[i][1]}" for i in range(len(cut)) if i not in keep]
        cut = [cut[i] for i in sorted(keep)]
    parts: list[C.Part] = []
    tracks: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for i, (group, program, drum, names, notes) in enumerate(cut):
        seen[group] = seen.get(group, 0) + 1
        name = group if seen[group] == 1 else f"{group}{seen[group]}"
        prng = streams[1 + i]
        gain_db = float(prng.uniform(*_GAINS[group]))
        velocity = int(np.median([n[3] for n in notes]))
        parts.append(C.Part(name, group, "midi-track", int(program), drum, notes=notes,
                            gain_db=gain_db, velocity=velocity, index=i))  # fmt: skip
        tracks[name] = [n for n in names if n]

    tempo = round(song.tempo_at(offset), 3)
    in_win = song.tempi[(song.tempo_times > offset) & (song.tempo_times < offset + seconds)]
    local = np.concatenate([[tempo], in_win])
    num, den = next(((n, d) for t, n, d in reversed(song.time_signatures) if t <= offset + 1e-6),
                    (4, 4))  # fmt: skip
    bpb = max(1, round(num * 4 / den))  # quarter-note beats (6/8 -> 3, 7/8 -> 4)
    sig = next(((k, m) for t, k, m in reversed(song.key_signatures) if t <= offset + 1e-6), None)
    key, mode = sig if sig is not None else _estimate_key(parts)
    style: dict[str, Any] = {
        "source": "midi-collection",
        "collection": info.name,
        "file": rel,
        "offset_seconds": round(offset, 6),
        "window_seconds": round(min(seconds, song.end_seconds - offset), 6),
        "tempo_range_bpm": [round(float(local.min()), 2), round(float(local.max()), 2)],
        "time_signature": f"{num}/{den}",
        "key_source": "key signature" if sig is not None else "estimated",
        "tracks": tracks,
        "dropped_parts": dropped,
    }
    return C.Score(
        seconds=seconds,
        tempo=tempo,
        beats_per_bar=bpb,
        key=int(key),
        mode=str(mode),
        swing=0.5,
        form="A",
        progressions={"A": []},
        bars_per_chord=1.0,
        parts=parts,
        style=style,
    )
