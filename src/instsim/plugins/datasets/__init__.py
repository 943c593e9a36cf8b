"""Dataset plugins (entry-point group ``instsim.datasets``).

A dataset plugin turns a local copy of a multitrack corpus into
:class:`Multitrack` objects: a mix, its stems, and each stem's instrument
group. Training, evaluation and ``instsim dataset check`` only use this
contract, so a new corpus needs one class. Subclass :class:`MultitrackDataset`
and register it from your package::

    [project.entry-points."instsim.datasets"]
    mycorpus = "mypackage.corpus:MyCorpus"

Then ``instsim dataset check --dataset mycorpus --data-home DIR`` and
:func:`open_dataset` ``("mycorpus", DIR)`` work. The built-in ``slakh`` plugin
(:class:`instsim.plugins.datasets.slakh.SlakhDataset`) is registered the same way.

Nothing here imports mirdata: plugins import what they need when they are loaded.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...data.groups import GroupSignals
from ...errors import DatasetError
from ...instruments import INSTRUMENTS

__all__ = [
    "Multitrack",
    "MultitrackDataset",
    "Stem",
    "ValidationReport",
    "open_dataset",
]

#: ``progress(done, total)`` callbacks used by long dataset operations.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Stem:
    """One stem of a multitrack (one MIDI track rendered to audio).

    Attributes
    ----------
    stem_id : str
        Id inside its multitrack (Slakh: ``"S00"``).
    group : str
        Instrument group (see :func:`instsim.data.groups.group_of`).
    audio_path : str or None
        Audio file; ``None`` when the stem was not rendered (no audio exists).
    midi_path : str or None
    program : int or None
        General MIDI program (0-based; Slakh writes 128 for drums).
    is_drum : bool
    inst_class : str or None
        The corpus' instrument class (Slakh: ``"Bass"``, ``"Strings (continued)"``...).
    name : str or None
        MIDI program name (``"Electric Bass (finger)"``).
    plugin : str or None
        The virtual instrument patch that rendered it.
    audio_rendered : bool or None
        The corpus metadata's own flag, as written.
    """

    stem_id: str
    group: str
    audio_path: str | None
    midi_path: str | None = None
    program: int | None = None
    is_drum: bool = False
    inst_class: str | None = None
    name: str | None = None
    plugin: str | None = None
    audio_rendered: bool | None = None

    @property
    def has_audio(self) -> bool:
        return self.audio_path is not None


class Multitrack:
    """A piece: its mix, its stems, their groups and the corpus metadata.

    Paths are set eagerly; audio is decoded on every call and never kept in the
    object (use :mod:`instsim.data.cache` to decode once).

    Parameters
    ----------
    track_id : str
    stems : dict of stem id -> Stem
    mix_path, midi_path, metadata_path : str or None
    split : str or None
        ``"train"``, ``"validation"``, ``"test"``, ``"omitted"``, or ``None`` for a
        corpus without splits.
    metadata : dict
        The corpus' own metadata for this piece, as parsed.
    instruments : tuple of str
        The dataset's instrument names (default :data:`instsim.instruments.INSTRUMENTS`).
    source : object or None
        The underlying loader object (for Slakh: mirdata's ``MultiTrack``).
    """

    def __init__(
        self,
        track_id: str,
        stems: dict[str, Stem],
        *,
        mix_path: str | None = None,
        midi_path: str | None = None,
        metadata_path: str | None = None,
        split: str | None = None,
        metadata: dict[str, Any] | None = None,
        instruments: tuple[str, ...] = INSTRUMENTS,
        source: Any = None,
    ) -> None:
        self.track_id = track_id
        self.stems = dict(stems)
        self.mix_path = mix_path
        self.midi_path = midi_path
        self.metadata_path = metadata_path
        self.split = split
        self.metadata = metadata or {}
        self.instruments = tuple(instruments)
        self.source = source
        unknown = {s.group for s in self.stems.values()} - set(self.instruments)
        if unknown:
            raise DatasetError(
                f"track {track_id!r}: stems in unknown groups {sorted(unknown)}; "
                f"instruments are {list(self.instruments)}"
            )
        self._tempo: float | bool | None = False  # False = not read yet

    def __repr__(self) -> str:
        present = [g for g, s in self.groups.items() if s]
        return (
            f"Multitrack({self.track_id!r}, split={self.split!r}, "
            f"stems={len(self.stems)}, groups={present})"
        )

    @property
    def groups(self) -> dict[str, list[str]]:
        """Stem ids with audio in each group (every group is a key; ``[]`` when it has none)."""
        out: dict[str, list[str]] = {g: [] for g in self.instruments}
        for sid, stem in sorted(self.stems.items()):
            if stem.has_audio:
                out[stem.group].append(sid)
        return out

    @property
    def tempo(self) -> float | None:
        """The tempo written in the piece's MIDI file at time 0 [BPM], or ``None``.

        This is metadata; pseudo-mixes group pieces by the tempo *estimated from
        audio* instead (:func:`instsim.data.pseudomix.estimate_tempo`).
        """
        if self._tempo is False:
            self._tempo = None
            if self.midi_path and os.path.isfile(self.midi_path):
                import pretty_midi

                try:
                    _, tempi = pretty_midi.PrettyMIDI(self.midi_path).get_tempo_changes()
                except Exception as exc:
                    raise DatasetError(f"cannot read MIDI file {self.midi_path!r}: {exc}") from None
                self._tempo = float(tempi[0]) if len(tempi) else None
        return self._tempo  # type: ignore[return-value]

    def load_mix(self, sr: int | None = 22050) -> np.ndarray:
        """Decode the corpus' mix file: mono float32 at ``sr`` [shape=(n_samples,)].

        Raises
        ------
        DatasetError
            The piece has no mix file.
        AudioDecodeError
            The file is missing or unreadable.
        """
        from ...audio import load_audio

        if not self.mix_path:
            raise DatasetError(f"track {self.track_id!r} has no mix file")
        return load_audio(self.mix_path, sr)[0]

    def load_stem(self, stem_id: str, sr: int | None = 22050) -> np.ndarray:
        """Decode one stem: mono float32 at ``sr`` [shape=(n_samples,)]."""
        from ...audio import load_audio

        stem = self.stems.get(stem_id)
        if stem is None:
            raise DatasetError(
                f"track {self.track_id!r} has no stem {stem_id!r}; stems: {sorted(self.stems)}"
            )
        if stem.audio_path is None:
            raise DatasetError(f"stem {stem_id!r} of track {self.track_id!r} has no audio")
        return load_audio(stem.audio_path, sr)[0]

    def load_groups(self, sr: int = 22050) -> GroupSignals:
        """Decode every stem with audio and sum them by group.

        Stems are summed at their own sample rate and each group is then
        resampled once (soxr), so a group equals the resampled sum of its stems.
        All groups are zero-padded to the longest one.

        Parameters
        ----------
        sr : int > 0 [Hz]

        Returns
        -------
        GroupSignals
            ``signals[g]`` is ``None`` for a group without any stem with audio.
        """
        from ...audio import audio_info, load_audio, resample

        groups = self.groups
        paths = {sid: self.stems[sid].audio_path for ids in groups.values() for sid in ids}
        rates = {audio_info(p).sample_rate for p in paths.values()}  # type: ignore[arg-type]
        # One native rate (the usual case): sum at that rate, resample each group once.
        # Mixed rates: decode every stem straight to ``sr`` and sum there.
        decode_sr = None if len(rates) <= 1 else sr
        signals: dict[str, np.ndarray | None] = {}
        for g, stem_ids in groups.items():
            total: np.ndarray | None = None
            file_sr = sr
            for sid in stem_ids:
                y, file_sr = load_audio(paths[sid], decode_sr)  # type: ignore[arg-type]
                if total is None:
                    total = y.astype(np.float32, copy=True)
                    continue
                if y.shape[0] > total.shape[0]:
                    total = np.pad(total, (0, y.shape[0] - total.shape[0]))
                total[: y.shape[0]] += y
            signals[g] = None if total is None else resample(total, file_sr, sr)
        n = max((s.shape[0] for s in signals.values() if s is not None), default=0)
        for g, s in signals.items():
            if s is not None and s.shape[0] < n:
                signals[g] = np.pad(s, (0, n - s.shape[0]))
        return GroupSignals(sr, signals, {g: list(v) for g, v in groups.items()})


@dataclass
class ValidationReport:
    """What :meth:`MultitrackDataset.validate` found.

    Attributes
    ----------
    dataset : str
        Plugin name.
    data_home : str
    version : str or None
    tracks_per_split : dict of split -> int
        ``{"all": n}`` for a corpus without splits.
    group_counts : dict of group -> int
        How many pieces have at least one stem with audio in each group.
    missing : list of str
        Files the index lists that do not exist.
    unreadable : list of (str, str)
        Files that exist but cannot be read, with the reason.
    invalid_checksums : list of str
        Files whose md5 differs from the index.
    notes : list of str
        Facts worth showing that are not problems (index source, checksums recorded, ...).
    """

    dataset: str
    data_home: str
    version: str | None = None
    tracks_per_split: dict[str, int] = field(default_factory=dict)
    group_counts: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    invalid_checksums: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """``True`` when nothing is missing, unreadable or corrupt."""
        return not (self.missing or self.unreadable or self.invalid_checksums)

    @property
    def n_tracks(self) -> int:
        return sum(self.tracks_per_split.values())

    def summary(self, max_items: int = 20) -> str:
        """A human-readable, multi-line report (what ``instsim dataset check`` prints)."""
        lines = [
            f"dataset {self.dataset!r} at {self.data_home}"
            + (f" (version {self.version})" if self.version else "")
        ]
        lines.append(f"tracks: {self.n_tracks}")
        for split, n in self.tracks_per_split.items():
            lines.append(f"  {split:<12} {n}")
        lines.append("tracks with each instrument group:")
        for g, n in self.group_counts.items():
            lines.append(f"  {g:<12} {n}")
        for note in self.notes:
            lines.append(f"note: {note}")

        def listing(title: str, items: list[str]) -> None:
            if not items:
                return
            lines.append(f"{title}: {len(items)}")
            lines.extend(f"  {x}" for x in items[:max_items])
            if len(items) > max_items:
                lines.append(f"  ... and {len(items) - max_items} more")

        listing("missing files", self.missing)
        listing("unreadable files", [f"{p}: {why}" for p, why in self.unreadable])
        listing("files with a wrong md5 checksum", self.invalid_checksums)
        lines.append("OK" if self.ok else "PROBLEMS FOUND")
        return "\n".join(lines)


class MultitrackDataset(abc.ABC):
    """Contract for dataset plugins.

    Subclasses set :attr:`name` and implement :meth:`splits`, :meth:`track_ids`,
    :meth:`multitrack` and :meth:`validate`. The constructor must accept the
    local folder and an optional version, plus keyword options of its own; it
    must not touch the network (a copy is made by the user, see docs/data.md).

    Parameters
    ----------
    data_home : str or os.PathLike
        Folder holding the local copy.
    version : str or None
        Corpus version or layout; ``None`` detects it.

    Attributes
    ----------
    name : str
        The registered plugin name.
    instruments : tuple of str
        Instrument names, in sub-space order (default :data:`instsim.instruments.INSTRUMENTS`).
    versions : tuple of str
        Accepted ``version`` values (empty: any); the CLI checks them.
    """

    name: ClassVar[str] = ""
    instruments: ClassVar[tuple[str, ...]] = INSTRUMENTS
    versions: ClassVar[tuple[str, ...]] = ()

    def __init__(self, data_home: str | os.PathLike, version: str | None = None, **kwargs: Any):
        if kwargs:
            raise TypeError(
                f"{type(self).__name__} got unexpected options: {', '.join(sorted(kwargs))}"
            )
        self.data_home = Path(data_home)
        self.version = version

    @abc.abstractmethod
    def splits(self) -> list[str]:
        """Split names present in this copy (``[]`` when the corpus has no splits)."""

    @abc.abstractmethod
    def track_ids(self, split: str | None = None) -> list[str]:
        """Sorted piece ids, of one split or of all (``split=None``).

        Raises
        ------
        DatasetError
            ``split`` is not one of :meth:`splits`.
        """

    @abc.abstractmethod
    def multitrack(self, track_id: str) -> Multitrack:
        """One piece.

        Raises
        ------
        DatasetError
            Unknown ``track_id`` (the message gives examples) or unreadable metadata.
        """

    @abc.abstractmethod
    def validate(
        self, checksums: bool = False, progress: Progress | None = None
    ) -> ValidationReport:
        """Check the local copy: missing, unreadable and (optionally) corrupt files."""

    # -- provided ---------------------------------------------------------
    def multitracks(self, split: str | None = None) -> Iterator[Multitrack]:
        """Every piece of ``split`` (or of all splits), in :meth:`track_ids` order."""
        for tid in self.track_ids(split):
            yield self.multitrack(tid)

    def __len__(self) -> int:
        return len(self.track_ids())

    def __contains__(self, track_id: object) -> bool:
        return track_id in set(self.track_ids())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.data_home)!r}, version={self.version!r})"


def open_dataset(
    name: str, data_home: str | os.PathLike, version: str | None = None, **kwargs: Any
) -> MultitrackDataset:
    """Open a local corpus with the dataset plugin registered as ``name``.

    Raises
    ------
    PluginNotFoundError
        No plugin of that name; the message lists the registered ones.
    PluginContractError
        The plugin is not a :class:`MultitrackDataset` (see :mod:`instsim.contracts`).
    DatasetError
        The folder is missing or not in the plugin's layout.

    Examples
    --------
    >>> ds = open_dataset("slakh", "~/mir_datasets/slakh")  # doctest: +SKIP
    >>> ds.track_ids("test")[:2]  # doctest: +SKIP
    ['Track01876', 'Track01877']
    """
    from ... import registry

    cls = registry.load("datasets", name)  # checked against the dataset contract
    return cls(Path(data_home).expanduser(), version=version, **kwargs)
