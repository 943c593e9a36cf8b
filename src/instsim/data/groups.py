"""Instrument groups (Slakh's recipe) and per-segment silence.

The paper groups Slakh's stems into five instruments, following Slakh's own
recipe (docs/method.md, "Data"):

==========  ==============================================================
group       stems
==========  ==============================================================
``drums``   every stem whose MIDI track is a drum track (``is_drum``)
``bass``    General MIDI programs 32-39 (acoustic, electric, fretless, slap, synth bass)
``piano``   programs 0-7 (acoustic, electric, honky-tonk pianos, harpsichord, clavinet)
``guitar``  programs 24-31 (acoustic, electric, overdriven, distorted guitars)
``others``  every other stem (strings, brass, reeds, organs, synths ...), mixed together
==========  ==============================================================

A group *signal* is the sum of its stems. A group with no stem, or whose
signal is silent everywhere, is *absent*.

Silence is decided per analysis segment (default 3 s long every 1.5 s, the
grid :func:`instsim.segments.segment_stream` uses): a segment is *active*
when its RMS level is at least ``threshold_db`` dBFS (default
:data:`SILENCE_DB` = -60 dBFS: a fixed gate for the dataset's clean, normalised stems;
the extractor gates real recordings relative to each track's loudest segment instead,
see :func:`instsim.segments.silence_mask`).
:func:`passes_test_filter` applies the paper's test-set filter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import ParameterError, UnknownInstrumentError

__all__ = [
    "GROUPING_VERSION",
    "PROGRAM_GROUPS",
    "SILENCE_DB",
    "GroupSignals",
    "active_fractions",
    "group_of",
    "n_segments",
    "passes_test_filter",
    "segment_activity",
]


#: General MIDI program numbers (0-based) of the pitched groups; drums go by ``is_drum``.
PROGRAM_GROUPS: dict[str, range] = {
    "piano": range(0, 8),
    "guitar": range(24, 32),
    "bass": range(32, 40),
}

#: Bumped whenever the mapping from stems to groups changes (it keys caches).
GROUPING_VERSION = 1

#: Default silence threshold [dBFS RMS per segment].
SILENCE_DB = -60.0


def group_of(program: int | None, is_drum: bool | None) -> str:
    """The group of one stem by Slakh's recipe.

    Parameters
    ----------
    program : int in [0, 127] or None
        General MIDI program number (0-based, as in Slakh's ``program_num``).
        Slakh writes 128 for drum tracks; any value is fine when ``is_drum``.
    is_drum : bool or None
        The MIDI track's drum flag.

    Returns
    -------
    str
        One of :data:`~instsim.instruments.INSTRUMENTS`.

    Examples
    --------
    >>> group_of(33, False), group_of(0, True), group_of(48, False)
    ('bass', 'drums', 'others')
    """
    if is_drum:
        return "drums"
    if program is not None:
        for name, programs in PROGRAM_GROUPS.items():
            if int(program) in programs:
                return name
    return "others"


def _check_grid(sr: int, segment_seconds: float, hop_seconds: float) -> tuple[int, int]:
    if sr <= 0:
        raise ParameterError("sr", f"must be > 0 Hz, got {sr}")
    for name, v in (("segment_seconds", segment_seconds), ("hop_seconds", hop_seconds)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ParameterError(name, f"must be a positive number of seconds, got {v!r}")
    return max(1, round(segment_seconds * sr)), max(1, round(hop_seconds * sr))


def n_segments(
    n_samples: int, sr: int, segment_seconds: float = 3.0, hop_seconds: float = 1.5
) -> int:
    """Number of analysis segments of a signal of ``n_samples`` samples.

    Segment ``k`` covers ``[k * hop, k * hop + length)``; the tail shorter than a
    segment is dropped, except that a signal shorter than one segment has one
    (zero-padded) segment. This is the grid of :func:`instsim.segments.segment_stream`.
    """
    length, hop = _check_grid(sr, segment_seconds, hop_seconds)
    if n_samples <= 0:
        return 0
    if n_samples < length:
        return 1
    return (n_samples - length) // hop + 1


def segment_activity(
    y: np.ndarray | None,
    sr: int,
    segment_seconds: float = 3.0,
    hop_seconds: float = 1.5,
    threshold_db: float = SILENCE_DB,
    n: int | None = None,
) -> np.ndarray:
    """Which analysis segments of ``y`` are not silent.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)] or None
        Mono signal. ``None`` (an absent group) is silent everywhere.
    sr : int > 0 [Hz]
    segment_seconds, hop_seconds : float > 0 [seconds]
        The segment grid (see :func:`n_segments`).
    threshold_db : float [dBFS]
        A segment is active when ``10 log10(mean(y²)) >= threshold_db``.
    n : int or None
        Number of segments to return (pad with ``False`` / truncate); by default
        :func:`n_segments` of ``len(y)``. Use it to put signals of slightly
        different lengths on one grid.

    Returns
    -------
    np.ndarray [shape=(n_segments,), dtype=bool]
    """
    length, hop = _check_grid(sr, segment_seconds, hop_seconds)
    if y is None:
        return np.zeros(n or 0, dtype=bool)
    y = np.asarray(y)
    count = n_segments(y.shape[0], sr, segment_seconds, hop_seconds)
    if count == 0:
        out = np.zeros(0, dtype=bool)
    else:
        csum = np.concatenate([[0.0], np.cumsum(np.square(y, dtype=np.float64))])
        starts = np.arange(count) * hop
        ends = np.minimum(starts + length, y.shape[0])
        power = (csum[ends] - csum[starts]) / length  # padded tail counts as zeros
        out = 10.0 * np.log10(power + 1e-12) >= threshold_db
    if n is not None:
        out = np.concatenate([out, np.zeros(max(0, n - out.size), dtype=bool)])[:n]
    return out


def active_fractions(activity: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Fraction of the piece's non-silent segments in which each group is active.

    "Non-silent" segments are those where at least one group is active (the
    silent parts of the piece are removed first, as in the paper's test filter).

    Parameters
    ----------
    activity : mapping of group name -> np.ndarray [shape=(n_segments,), dtype=bool]

    Returns
    -------
    dict of group name -> float in [0, 1]
        0.0 for every group when the whole piece is silent.
    """
    if not activity:
        return {}
    n = max(a.shape[0] for a in activity.values())
    grid = {g: np.pad(np.asarray(a, dtype=bool), (0, n - a.shape[0])) for g, a in activity.items()}
    any_active = np.logical_or.reduce(list(grid.values()))
    total = int(any_active.sum())
    return {g: (float(a[any_active].sum()) / total if total else 0.0) for g, a in grid.items()}


def passes_test_filter(activity: Mapping[str, np.ndarray], min_fraction: float = 0.1) -> bool:
    """The paper's test filter: keep a piece unless an instrument barely plays.

    After removing the piece's silent segments, every group that is *present*
    (active in at least one segment) must be active in at least ``min_fraction``
    of the remaining segments. Absent groups do not count against a piece: the
    paper keeps 136 of 151 test pieces, far more than have all five groups
    *(our reading of §4.1.5)*.

    Parameters
    ----------
    activity : mapping of group name -> np.ndarray [shape=(n_segments,), dtype=bool]
        From :func:`segment_activity` (or :meth:`GroupSignals.activity`).
    min_fraction : float in [0, 1]
        0.1 in the paper.

    Returns
    -------
    bool
        ``False`` also for a piece that is silent everywhere.
    """
    if not 0.0 <= min_fraction <= 1.0:
        raise ParameterError("min_fraction", f"must be in [0, 1], got {min_fraction}")
    fractions = active_fractions(activity)
    present = [g for g, a in activity.items() if np.asarray(a).any()]
    if not present:
        return False
    return all(fractions[g] >= min_fraction for g in present)


@dataclass
class GroupSignals:
    """The five group signals of one multitrack, at one sample rate.

    Attributes
    ----------
    sample_rate : int [Hz]
    signals : dict of group name -> np.ndarray [shape=(n_samples,), dtype=float32] or None
        One entry per instrument of :data:`~instsim.instruments.INSTRUMENTS` (or of the
        dataset's own instruments); ``None`` when no rendered stem belongs to the group. All arrays have
        the same length.
    stems : dict of group name -> list of str
        The stem ids summed into each group.
    """

    sample_rate: int
    signals: dict[str, np.ndarray | None]
    stems: dict[str, list[str]] = field(default_factory=dict)

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(self.signals)

    @property
    def n_samples(self) -> int:
        return max((s.shape[0] for s in self.signals.values() if s is not None), default=0)

    @property
    def duration(self) -> float:
        """Length [seconds]."""
        return self.n_samples / self.sample_rate

    def signal(self, group: str) -> np.ndarray | None:
        """One group's signal (``None`` when absent); unknown names raise ``UnknownInstrumentError``."""
        if group not in self.signals:
            raise UnknownInstrumentError(group, self.signals)
        return self.signals[group]

    def mix(self, groups: tuple[str, ...] | list[str] | None = None) -> np.ndarray:
        """Sum of some groups (all by default) [shape=(n_samples,), dtype=float32]."""
        out = np.zeros(self.n_samples, dtype=np.float32)
        for g in self.groups if groups is None else groups:
            s = self.signal(g)
            if s is not None:
                out[: s.shape[0]] += s
        return out

    def activity(
        self,
        segment_seconds: float = 3.0,
        hop_seconds: float = 1.5,
        threshold_db: float = SILENCE_DB,
    ) -> dict[str, np.ndarray]:
        """Per-group active segments on one common grid (see :func:`segment_activity`).

        Returns
        -------
        dict of group name -> np.ndarray [shape=(n_segments,), dtype=bool]
        """
        n = n_segments(self.n_samples, self.sample_rate, segment_seconds, hop_seconds)
        return {
            g: segment_activity(s, self.sample_rate, segment_seconds, hop_seconds, threshold_db, n)
            for g, s in self.signals.items()
        }

    def present(self, threshold_db: float = SILENCE_DB, **grid: float) -> dict[str, bool]:
        """Whether each group has a stem and at least one non-silent segment."""
        return {
            g: bool(a.any()) for g, a in self.activity(threshold_db=threshold_db, **grid).items()
        }
