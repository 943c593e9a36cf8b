"""Pseudo-mixed pieces and the triplets built from them (paper §3.1, docs/method.md).

A pseudo-mix ``(A_c + B_¬c)`` puts group ``c`` of piece ``A`` over every other
group of piece ``B``. Only pieces of one *tempo group* are mixed, and the two
are aligned so that the first onsets of their pieces coincide: at time ``t`` of
``A``'s timeline, ``B`` plays its own time ``t + onset(B) - onset(A)``. Tempo
(essentia ``RhythmExtractor2013``) and first onset (essentia onset detection)
are estimated from each piece's audio, not read from metadata.

Everything is described by small frozen *specs*, so training and evaluation
build identical audio:

* :class:`PartSpec` -- some groups of one piece, starting at an offset of that piece;
* :class:`SegmentSpec` -- a segment of a (pseudo-)mix: parts summed, a duration;
* :class:`TripletSpec` -- anchor, positive, negative and the condition;
* :class:`PseudoMix` -- a whole pseudo-mix on the focus piece's timeline
  (evaluation cuts it into 10 s segments with :meth:`PseudoMix.segments`).

:func:`render` turns a spec into audio from any :class:`GroupSource` (the
memory-mapped :class:`instsim.data.cache.GroupCache`, or :class:`MemorySource`).
:class:`TripletSampler` draws the basic and additional triplets of docs/method.md
from per-piece summaries (:class:`PieceInfo`), without touching audio.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import DatasetError, ParameterError, UnknownInstrumentError
from ..instruments import INSTRUMENTS
from .groups import SILENCE_DB, GroupSignals

__all__ = [
    "GroupSource",
    "MemorySource",
    "PartSpec",
    "PieceInfo",
    "PseudoMix",
    "SegmentSpec",
    "TripletSampler",
    "TripletSpec",
    "analyse_piece",
    "estimate_tempo",
    "first_onset",
    "fold_tempo",
    "render",
    "render_groups",
    "tempo_groups",
]

_ESSENTIA_SR = 44100  # RhythmExtractor2013 only works at this rate


# -- audio analysis (essentia) ------------------------------------------------------
def _essentia() -> Any:
    import essentia

    essentia.log.infoActive = False
    essentia.log.warningActive = False
    import essentia.standard as es

    return es


def estimate_tempo(
    y: np.ndarray, sr: int, method: str = "multifeature", min_bpm: int = 40, max_bpm: int = 208
) -> float | None:
    """Tempo of a piece with essentia's ``RhythmExtractor2013``.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
        Mono audio (resampled to 44.1 kHz internally, the rate the algorithm needs).
    sr : int > 0 [Hz]
    method : {"multifeature", "degara"}
        essentia's beat tracker ("degara" is about 3x faster).
    min_bpm, max_bpm : int [BPM]

    Returns
    -------
    float or None
        Tempo [BPM]; ``None`` when no beat is found (silence, very short audio).
    """
    from ..audio import resample

    es = _essentia()
    x = resample(np.ascontiguousarray(y, dtype=np.float32), sr, _ESSENTIA_SR)
    if not np.any(x):
        return None
    try:
        bpm, ticks, *_ = es.RhythmExtractor2013(method=method, minTempo=min_bpm, maxTempo=max_bpm)(
            x
        )
    except RuntimeError:
        return None
    bpm = float(bpm)
    # fewer than two beats, or a value outside the search range, is no estimate
    if len(ticks) < 2 or not math.isfinite(bpm) or not min_bpm <= bpm <= max_bpm:
        return None
    return bpm


def first_onset(
    y: np.ndarray, sr: int, method: str = "hfc", frame_size: int = 1024, hop_size: int = 256
) -> float | None:
    """Time of the first onset, with essentia's ``OnsetDetection`` + ``Onsets``.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
    sr : int > 0 [Hz]
    method : str
        essentia onset detection function ("hfc", "complex", "flux", ...).
    frame_size, hop_size : int [samples]
        Analysis frames are centred on multiples of ``hop_size`` (resolution
        ``hop_size / sr`` seconds; 11.6 ms at 22.05 kHz).

    Returns
    -------
    float or None
        Onset time [seconds]; ``None`` when no onset is detected.
    """
    import essentia

    es = _essentia()
    x = np.pad(np.ascontiguousarray(y, dtype=np.float32), (frame_size // 2, frame_size))
    window = es.Windowing(type="hann")
    fft = es.FFT(size=frame_size)
    polar = es.CartesianToPolar()
    detect = es.OnsetDetection(method=method, sampleRate=float(sr))
    values = []
    for frame in es.FrameGenerator(x, frameSize=frame_size, hopSize=hop_size, startFromZero=True):
        mag, phase = polar(fft(window(frame)))
        values.append(detect(mag, phase))
    if len(values) < 2 or not np.any(values):
        return None
    onsets = es.Onsets(frameRate=sr / hop_size)(essentia.array([values]), [1])
    return float(onsets[0]) if len(onsets) else None


# -- per-piece summary ----------------------------------------------------------------
def _bits(a: np.ndarray) -> str:
    return "".join("1" if v else "0" for v in np.asarray(a, dtype=bool))


def _unbits(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("ascii"), dtype=np.uint8) == ord("1")


@dataclass
class PieceInfo:
    """What the sampler needs to know about one piece (no audio).

    Attributes
    ----------
    track_id : str
    split : str or None
    n_samples : int
        Length of the group signals at ``sample_rate``.
    sample_rate : int [Hz]
    activity : dict of group -> np.ndarray [shape=(n_segments,), dtype=bool]
        Non-silent analysis segments of each group (grid: segment ``k`` starts at
        ``k * hop_seconds``; see :func:`instsim.data.groups.segment_activity`).
    segment_seconds, hop_seconds : float [seconds]
    silence_db : float [dBFS]
    tempo_bpm : float or None
        Estimated tempo of the piece's mix [BPM].
    first_onset_seconds : float or None
        First onset of the piece's mix [seconds].
    """

    track_id: str
    split: str | None
    n_samples: int
    sample_rate: int
    activity: dict[str, np.ndarray]
    segment_seconds: float = 3.0
    hop_seconds: float = 1.5
    silence_db: float = SILENCE_DB
    tempo_bpm: float | None = None
    first_onset_seconds: float | None = None

    @property
    def duration(self) -> float:
        """Length [seconds]."""
        return self.n_samples / self.sample_rate

    @property
    def present(self) -> dict[str, bool]:
        """Groups with at least one non-silent segment."""
        return {g: bool(a.any()) for g, a in self.activity.items()}

    @property
    def n_segments(self) -> int:
        return max((a.shape[0] for a in self.activity.values()), default=0)

    def active_offsets(self, group: str | None = None) -> np.ndarray:
        """Start times of the non-silent segments of ``group`` (of any group when ``None``).

        Returns
        -------
        np.ndarray [shape=(n_active,), dtype=float64] [seconds]
            Multiples of ``hop_seconds``; each segment lasts ``segment_seconds``.
        """
        if group is None:
            mask = np.logical_or.reduce(list(self.activity.values()))
        elif group in self.activity:
            mask = self.activity[group]
        else:
            raise UnknownInstrumentError(group, self.activity)
        return np.flatnonzero(mask) * self.hop_seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "track_id": self.track_id,
            "split": self.split,
            "n_samples": self.n_samples,
            "sample_rate": self.sample_rate,
            "activity": {g: _bits(a) for g, a in self.activity.items()},
            "segment_seconds": self.segment_seconds,
            "hop_seconds": self.hop_seconds,
            "silence_db": self.silence_db,
            "tempo_bpm": self.tempo_bpm,
            "first_onset_seconds": self.first_onset_seconds,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PieceInfo:
        return cls(
            track_id=d["track_id"],
            split=d.get("split"),
            n_samples=int(d["n_samples"]),
            sample_rate=int(d["sample_rate"]),
            activity={g: _unbits(s) for g, s in d["activity"].items()},
            segment_seconds=float(d.get("segment_seconds", 3.0)),
            hop_seconds=float(d.get("hop_seconds", 1.5)),
            silence_db=float(d.get("silence_db", SILENCE_DB)),
            tempo_bpm=d.get("tempo_bpm"),
            first_onset_seconds=d.get("first_onset_seconds"),
        )


def analyse_piece(
    track_id: str,
    signals: GroupSignals,
    split: str | None = None,
    segment_seconds: float = 3.0,
    hop_seconds: float = 1.5,
    silence_db: float = SILENCE_DB,
    tempo_method: str = "multifeature",
) -> PieceInfo:
    """Summarise one piece: per-group activity, tempo and first onset of its mix.

    The mix is the sum of the group signals (what pseudo-mixes are made of).
    """
    mix = signals.mix()
    sr = signals.sample_rate
    active = mix.size > 0 and bool(np.any(mix))
    return PieceInfo(
        track_id=track_id,
        split=split,
        n_samples=signals.n_samples,
        sample_rate=sr,
        activity=signals.activity(segment_seconds, hop_seconds, silence_db),
        segment_seconds=float(segment_seconds),
        hop_seconds=float(hop_seconds),
        silence_db=float(silence_db),
        tempo_bpm=estimate_tempo(mix, sr, tempo_method) if active else None,
        first_onset_seconds=first_onset(mix, sr) if active else None,
    )


# -- tempo groups ---------------------------------------------------------------------
def fold_tempo(bpm: float, low_bpm: float = 70.0) -> float:
    """Fold a tempo into one octave ``[low_bpm, 2 * low_bpm)`` by halving/doubling.

    Half- and double-tempo estimates (a common beat-tracker error, and musically
    compatible tempi) then land in the same tempo group.
    """
    if not (bpm > 0 and math.isfinite(bpm)):
        raise ParameterError("bpm", f"tempo must be a positive number of BPM, got {bpm!r}")
    while bpm < low_bpm:
        bpm *= 2.0
    while bpm >= 2.0 * low_bpm:
        bpm /= 2.0
    return bpm


def tempo_groups(
    tempi: Mapping[str, float | None],
    bin_bpm: float = 5.0,
    fold: bool = True,
    low_bpm: float = 70.0,
) -> dict[int, list[str]]:
    """Group pieces by tempo: bins of ``bin_bpm`` BPM (after octave folding).

    Parameters
    ----------
    tempi : mapping of track id -> tempo [BPM] or None
        Pieces without a tempo are left out.
    bin_bpm : float > 0 [BPM]
        Bin width. With ``fold`` the bins cover ``[low_bpm, 2 * low_bpm)``
        (14 bins of 5 BPM by default).
    fold : bool
        Fold tempi into one octave first (:func:`fold_tempo`).
    low_bpm : float > 0 [BPM]

    Returns
    -------
    dict of bin index -> sorted list of track ids
    """
    if not bin_bpm > 0:
        raise ParameterError("bin_bpm", f"must be > 0, got {bin_bpm}")
    out: dict[int, list[str]] = {}
    for tid, bpm in tempi.items():
        if bpm is None:
            continue
        t = fold_tempo(bpm, low_bpm) if fold else float(bpm)
        out.setdefault(int((t - (low_bpm if fold else 0.0)) // bin_bpm), []).append(tid)
    return {k: sorted(v) for k, v in sorted(out.items())}


# -- specs ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PartSpec:
    """Some groups of one piece, read from ``offset_seconds`` of that piece.

    A negative offset, or one running past the piece's end, reads zeros there.
    """

    track_id: str
    groups: tuple[str, ...]
    offset_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "track_id": self.track_id,
            "groups": list(self.groups),
            "offset": self.offset_seconds,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PartSpec:
        return cls(d["track_id"], tuple(d["groups"]), float(d["offset"]))


@dataclass(frozen=True)
class SegmentSpec:
    """One segment of a (pseudo-)mix: the sum of its parts over ``duration_seconds``."""

    parts: tuple[PartSpec, ...]
    duration_seconds: float

    @property
    def track_ids(self) -> tuple[str, ...]:
        return tuple(p.track_id for p in self.parts)

    def part_with(self, group: str) -> PartSpec | None:
        """The part that supplies ``group`` (``None`` if none does)."""
        for p in self.parts:
            if group in p.groups:
                return p
        return None

    def window(self, start_seconds: float, duration_seconds: float) -> SegmentSpec:
        """The sub-segment starting ``start_seconds`` into this one."""
        return SegmentSpec(
            tuple(
                PartSpec(p.track_id, p.groups, p.offset_seconds + start_seconds) for p in self.parts
            ),
            float(duration_seconds),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"parts": [p.to_dict() for p in self.parts], "duration": self.duration_seconds}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SegmentSpec:
        return cls(tuple(PartSpec.from_dict(p) for p in d["parts"]), float(d["duration"]))


@dataclass(frozen=True)
class TripletSpec:
    """A triplet of segments for one condition.

    Attributes
    ----------
    condition : str
        The sub-space this triplet trains (its mask ``m_c``).
    anchor, positive, negative : SegmentSpec
    kind : {"basic", "additional"}
    base_condition : str
        The condition the pieces were drawn for (equals ``condition`` for a basic triplet).
    pieces : (str, str, str)
        Track ids of ``A`` (anchor), ``B`` (rest of the basic positive) and ``C``
        (focus of the basic negative).
    """

    condition: str
    anchor: SegmentSpec
    positive: SegmentSpec
    negative: SegmentSpec
    kind: str
    base_condition: str
    pieces: tuple[str, str, str]

    def render(self, source: GroupSource) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(anchor, positive, negative) audio, each [shape=(n,), float32]."""
        return (
            render(self.anchor, source),
            render(self.positive, source),
            render(self.negative, source),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "condition": self.condition,
            "anchor": self.anchor.to_dict(),
            "positive": self.positive.to_dict(),
            "negative": self.negative.to_dict(),
            "kind": self.kind,
            "base_condition": self.base_condition,
            "pieces": list(self.pieces),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TripletSpec:
        return cls(
            d["condition"],
            SegmentSpec.from_dict(d["anchor"]),
            SegmentSpec.from_dict(d["positive"]),
            SegmentSpec.from_dict(d["negative"]),
            d["kind"],
            d["base_condition"],
            tuple(d["pieces"]),  # type: ignore[arg-type]
        )


# -- rendering ------------------------------------------------------------------------------
@runtime_checkable
class GroupSource(Protocol):
    """Where group signals come from: ``signal(track_id, group)`` at ``sample_rate``.

    ``signal`` returns a 1-D float array (may be a read-only memory map), or
    ``None`` when the piece has no such group.
    """

    sample_rate: int

    def signal(self, track_id: str, group: str) -> np.ndarray | None: ...


class MemorySource:
    """A :class:`GroupSource` over group signals held in memory.

    Parameters
    ----------
    signals : mapping of track id -> GroupSignals (or mapping of group -> array or None)
    sample_rate : int [Hz] or None
        Required when ``signals`` holds plain mappings.
    """

    def __init__(
        self,
        signals: Mapping[str, GroupSignals | Mapping[str, np.ndarray | None]],
        sample_rate: int | None = None,
    ) -> None:
        self._signals: dict[str, Mapping[str, np.ndarray | None]] = {}
        rates = set()
        for tid, s in signals.items():
            if isinstance(s, GroupSignals):
                rates.add(s.sample_rate)
                self._signals[tid] = s.signals
            else:
                self._signals[tid] = s
        if sample_rate is None:
            if len(rates) != 1:
                raise ParameterError(
                    "sample_rate", "pass it: the signals have none or several rates"
                )
            sample_rate = rates.pop()
        elif rates - {sample_rate}:
            raise ParameterError(
                "sample_rate", f"signals at {sorted(rates)} Hz, expected {sample_rate} Hz"
            )
        self.sample_rate = int(sample_rate)

    def signal(self, track_id: str, group: str) -> np.ndarray | None:
        try:
            return self._signals[track_id].get(group)
        except KeyError:
            raise DatasetError(f"no signals for track {track_id!r}") from None


def _add_part(out: np.ndarray, y: np.ndarray, start: int) -> None:
    n = out.shape[0]
    a, b = max(start, 0), min(start + n, y.shape[0])
    if b > a:
        out[a - start : b - start] += y[a:b]


def render(
    spec: SegmentSpec, source: GroupSource, groups: Iterable[str] | None = None
) -> np.ndarray:
    """Audio of a segment spec: the sum of its parts' groups.

    Parameters
    ----------
    spec : SegmentSpec
    source : GroupSource
    groups : iterable of str or None
        Render only these groups (default: all the parts name).

    Returns
    -------
    np.ndarray [shape=(round(duration_seconds * sample_rate),), dtype=float32]
        Zeros where a part is outside its piece or a group is absent.
    """
    sr = source.sample_rate
    out = np.zeros(round(spec.duration_seconds * sr), dtype=np.float32)
    only = None if groups is None else set(groups)
    for part in spec.parts:
        start = round(part.offset_seconds * sr)
        for g in part.groups:
            if only is not None and g not in only:
                continue
            y = source.signal(part.track_id, g)
            if y is not None:
                _add_part(out, y, start)
    return out


def render_groups(
    spec: SegmentSpec, source: GroupSource, groups: Sequence[str] = INSTRUMENTS
) -> dict[str, np.ndarray | None]:
    """Each group's clean signal inside a segment (the targets of the auxiliary loss).

    Returns
    -------
    dict of group -> np.ndarray [shape=(n,), float32] or None
        ``None`` when no part supplies the group or the piece lacks it.
    """
    out: dict[str, np.ndarray | None] = {}
    for g in groups:
        part = spec.part_with(g)
        if part is None or source.signal(part.track_id, g) is None:
            out[g] = None
        else:
            out[g] = render(
                SegmentSpec(
                    (PartSpec(part.track_id, (g,), part.offset_seconds),), spec.duration_seconds
                ),
                source,
            )
    return out


# -- pseudo-mixes ------------------------------------------------------------------------------
def _shift(focus: PieceInfo, rest: PieceInfo) -> float:
    """Seconds to add to a time of ``focus`` to get the aligned time of ``rest``."""
    if focus.first_onset_seconds is None or rest.first_onset_seconds is None:
        raise DatasetError(
            f"pieces {focus.track_id!r} and {rest.track_id!r} need first onsets to be aligned"
        )
    return rest.first_onset_seconds - focus.first_onset_seconds


def _rest_groups(condition: str, groups: Sequence[str]) -> tuple[str, ...]:
    return tuple(g for g in groups if g != condition)


def _rest_activity(info: PieceInfo, condition: str) -> np.ndarray:
    acts = [a for g, a in info.activity.items() if g != condition]
    if not acts:
        return np.zeros(info.n_segments, dtype=bool)
    return np.logical_or.reduce(acts)


def _aligned_ok(n_focus: int, rest_active: np.ndarray, shift: float, rest: PieceInfo) -> np.ndarray:
    """For each segment start of the focus grid: is the aligned segment of ``rest`` active?"""
    hop, seg = rest.hop_seconds, rest.segment_seconds
    t = np.arange(n_focus) * hop + shift
    k = np.rint(t / hop).astype(np.int64)
    last = max(rest.duration - seg, 0.0)
    ok = (t >= -1e-9) & (t <= last + 1e-9) & (k >= 0) & (k < rest_active.shape[0])
    ok[ok] &= rest_active[k[ok]]
    return ok


@dataclass(frozen=True)
class PseudoMix:
    """A whole pseudo-mix ``(A_c + B_¬c)`` on the timeline of the focus piece ``A``.

    Attributes
    ----------
    focus, rest : PieceInfo
        ``A`` (supplies group ``condition``) and ``B`` (supplies every other group).
    condition : str
    groups : tuple of str
        All group names (the rest is every group but ``condition``).
    """

    focus: PieceInfo
    rest: PieceInfo
    condition: str
    groups: tuple[str, ...] = INSTRUMENTS

    @property
    def shift_seconds(self) -> float:
        """``B`` plays its time ``t + shift_seconds`` at time ``t`` of ``A`` (first onsets aligned)."""
        return _shift(self.focus, self.rest)

    def spec(
        self, start_seconds: float = 0.0, duration_seconds: float | None = None
    ) -> SegmentSpec:
        """The pseudo-mix from ``start_seconds`` of ``A`` (default: all of ``A``)."""
        if duration_seconds is None:
            duration_seconds = self.focus.duration - start_seconds
        return SegmentSpec(
            (
                PartSpec(self.focus.track_id, (self.condition,), start_seconds),
                PartSpec(
                    self.rest.track_id,
                    _rest_groups(self.condition, self.groups),
                    start_seconds + self.shift_seconds,
                ),
            ),
            float(duration_seconds),
        )

    def segments(
        self, segment_seconds: float = 10.0, hop_seconds: float | None = None
    ) -> list[SegmentSpec]:
        """Cut into segments where both ``A_c`` and ``B_¬c`` play.

        A segment is kept when some analysis segment of ``A``'s activity grid
        inside it has ``A_c`` active and the aligned ``B_¬c`` active.
        """
        hop = segment_seconds if hop_seconds is None else hop_seconds
        focus, rest = self.focus, self.rest
        both = focus.activity[self.condition] & _aligned_ok(
            focus.n_segments, _rest_activity(rest, self.condition), self.shift_seconds, rest
        )
        starts = np.arange(both.shape[0]) * focus.hop_seconds
        out = []
        t = 0.0
        while t + segment_seconds <= focus.duration + 1e-9:
            inside = (starts >= t - 1e-9) & (
                starts + focus.segment_seconds <= t + segment_seconds + 1e-9
            )
            if both[inside].any():
                out.append(self.spec(t, segment_seconds))
            t += hop
        return out


# -- the triplet sampler ---------------------------------------------------------------------------
class TripletSampler:
    """Draw the basic and additional triplets of docs/method.md from a set of pieces.

    For condition ``c``: pieces ``A``, ``B``, ``C`` are distinct and of one tempo
    group, ``c`` is present in ``A`` and ``C``, and every part is non-silent
    where it is cut (by the pieces' activity grids):

    * anchor   = segment of the original ``A`` (all its groups; ``A_c`` and ``A_¬c`` active);
    * positive = segment of ``(A_c + B_¬c)`` (same ``c``, other rest);
    * negative = segment of ``(C_c + A_¬c)`` (other ``c``, the anchor's rest);
    * additional, for each ``c' != c``: ``(anchor, negative, positive)`` under ``c'``.

    The three segments start at independently drawn points of ``A``'s segment
    grid (``k * hop_seconds``); the aligned part of ``B`` or ``C`` starts at the
    same time plus the onset shift (:class:`PseudoMix`). Segments are as long as
    the pieces' analysis segments (3 s by default; build the pieces' activity on
    another grid for other lengths).

    Parameters
    ----------
    pieces : iterable of PieceInfo (or mapping of id -> PieceInfo)
        All on one segment grid. Pieces without a tempo or first onset, or in a
        tempo group of fewer than 3 pieces, are left out (see :attr:`excluded`).
    conditions : sequence of str
        Group names, in sub-space order.
    bin_bpm, fold, low_bpm
        Tempo grouping (:func:`tempo_groups`).
    additional : {"all", "present", "none"}
        Which additional triplets to add: for every ``c' != c`` (docs/method.md),
        only for the ``c'`` active in the anchor, or none (the "basic" variant).
    seed : int
        Seeds the generator: the same seed and pieces give the same triplets.
    max_tries : int
        Attempts before :meth:`sample` gives up on a condition.
    """

    def __init__(
        self,
        pieces: Iterable[PieceInfo] | Mapping[str, PieceInfo],
        *,
        conditions: Sequence[str] = INSTRUMENTS,
        bin_bpm: float = 5.0,
        fold: bool = True,
        low_bpm: float = 70.0,
        additional: str = "all",
        seed: int = 0,
        max_tries: int = 200,
    ) -> None:
        if additional not in ("all", "present", "none"):
            raise ParameterError(
                "additional", f"got {additional!r}; valid: 'all', 'present', 'none'"
            )
        items = list(pieces.values()) if isinstance(pieces, Mapping) else list(pieces)
        self.pieces: dict[str, PieceInfo] = {p.track_id: p for p in items}
        self.conditions = tuple(conditions)
        grids = {(p.segment_seconds, p.hop_seconds) for p in items}
        if len(grids) > 1:
            raise ParameterError("pieces", f"on different segment grids: {sorted(grids)}")
        for p in items:
            missing = set(self.conditions) - set(p.activity)
            if missing:
                raise UnknownInstrumentError(sorted(missing)[0], list(p.activity))
        #: Length of every triplet segment [seconds]: the pieces' analysis segment,
        #: so "non-silent" means exactly what the activity grids say.
        self.segment_seconds = items[0].segment_seconds if items else 3.0
        self.additional = additional
        self.max_tries = int(max_tries)
        self.rng = np.random.default_rng(seed)

        usable = {
            t: p.tempo_bpm
            for t, p in self.pieces.items()
            if p.tempo_bpm is not None and p.first_onset_seconds is not None
        }
        self.excluded: dict[str, str] = {
            t: "no tempo or first onset" for t in self.pieces if t not in usable
        }
        self.tempo_groups: dict[int, list[str]] = {}
        for k, members in tempo_groups(usable, bin_bpm, fold, low_bpm).items():
            if len(members) >= 3:
                self.tempo_groups[k] = members
            else:
                self.excluded.update({t: f"tempo group {k} has < 3 pieces" for t in members})
        self.group_of: dict[str, int] = {t: k for k, m in self.tempo_groups.items() for t in m}
        self._rest = {
            (t, c): _rest_activity(self.pieces[t], c)
            for t in self.group_of
            for c in self.conditions
        }
        self.anchors: dict[str, list[str]] = {
            c: [
                t
                for t in sorted(self.group_of)
                if (self.pieces[t].activity[c] & self._rest[t, c]).any()
            ]
            for c in self.conditions
        }

    # -- building blocks -----------------------------------------------------------
    def _choice(self, mask: np.ndarray) -> int:
        return int(self.rng.choice(np.flatnonzero(mask)))

    def _start(self, piece: PieceInfo, k: int) -> float:
        return k * piece.hop_seconds

    def partners(self, track_id: str, condition: str, n: int) -> list[str]:
        """``n`` distinct pieces whose rest can be mixed under ``A_c`` (for evaluation).

        Candidates share ``A``'s tempo group and have, somewhere, ``B_¬c`` active
        where ``A_c`` is active once aligned. Drawn with the sampler's generator.

        Raises
        ------
        DatasetError
            Fewer than ``n`` such pieces.
        """
        a = self.pieces[track_id]
        if track_id not in self.group_of:
            raise DatasetError(
                f"piece {track_id!r} is not usable for pseudo-mixes: "
                f"{self.excluded.get(track_id, 'unknown piece')}"
            )
        found = []
        for b in self.rng.permutation(self.tempo_groups[self.group_of[track_id]]):
            b = str(b)
            if b == track_id:
                continue
            ok = a.activity[condition] & _aligned_ok(
                a.n_segments, self._rest[b, condition], _shift(a, self.pieces[b]), self.pieces[b]
            )
            if ok.any():
                found.append(b)
                if len(found) == n:
                    return found
        raise DatasetError(
            f"only {len(found)} pieces of {track_id!r}'s tempo group can be pseudo-mixed with "
            f"its {condition}; {n} were asked for"
        )

    def pseudomix(self, focus: str, rest: str, condition: str) -> PseudoMix:
        """The pseudo-mix ``(focus_c + rest_¬c)``."""
        return PseudoMix(self.pieces[focus], self.pieces[rest], condition, self.conditions)

    def _try(self, c: str) -> list[TripletSpec] | None:
        a_id = self.anchors[c][int(self.rng.integers(len(self.anchors[c])))]
        a = self.pieces[a_id]
        a_c, a_rest = a.activity[c], self._rest[a_id, c]
        others = [t for t in self.tempo_groups[self.group_of[a_id]] if t != a_id]
        order = [others[i] for i in self.rng.permutation(len(others))]
        b_id = pos_ok = None
        for t in order:
            ok = a_c & _aligned_ok(
                a.n_segments, self._rest[t, c], _shift(a, self.pieces[t]), self.pieces[t]
            )
            if ok.any():
                b_id, pos_ok = t, ok
                break
        if b_id is None:
            return None
        c_id = neg_ok = None
        for t in order:
            if t == b_id:
                continue
            other = self.pieces[t]
            ok = a_rest & _aligned_ok(a.n_segments, other.activity[c], _shift(a, other), other)
            if ok.any():
                c_id, neg_ok = t, ok
                break
        if c_id is None:
            return None
        seg = self.segment_seconds
        rest = _rest_groups(c, self.conditions)
        k_a = self._choice(a_c & a_rest)
        t_a = self._start(a, k_a)
        t_p = self._start(a, self._choice(pos_ok))
        t_n = self._start(a, self._choice(neg_ok))
        anchor = SegmentSpec((PartSpec(a_id, self.conditions, t_a),), seg)
        positive = SegmentSpec(
            (
                PartSpec(a_id, (c,), t_p),
                PartSpec(b_id, rest, t_p + _shift(a, self.pieces[b_id])),
            ),
            seg,
        )
        negative = SegmentSpec(
            (
                PartSpec(c_id, (c,), t_n + _shift(a, self.pieces[c_id])),
                PartSpec(a_id, rest, t_n),
            ),
            seg,
        )
        pieces = (a_id, b_id, c_id)
        out = [TripletSpec(c, anchor, positive, negative, "basic", c, pieces)]
        if self.additional != "none":
            for c2 in rest:
                if self.additional == "present" and not a.activity[c2][k_a]:
                    continue
                out.append(TripletSpec(c2, anchor, negative, positive, "additional", c, pieces))
        return out

    def sample(self, condition: str | None = None) -> list[TripletSpec]:
        """One anchor's triplets: the basic one for ``condition`` first, then the additional ones.

        Parameters
        ----------
        condition : str or None
            ``None`` draws one uniformly among the conditions that have anchors.

        Raises
        ------
        UnknownInstrumentError
            ``condition`` is not one of :attr:`conditions`.
        DatasetError
            No triplet can be drawn for the condition (too few compatible pieces).
        """
        if condition is not None and condition not in self.conditions:
            raise UnknownInstrumentError(condition, self.conditions)
        usable = [c for c in self.conditions if self.anchors[c]]
        if condition is None:
            if not usable:
                raise DatasetError(
                    "no triplet can be drawn: no tempo group has 3 usable pieces "
                    f"({len(self.pieces)} pieces, {len(self.excluded)} excluded)"
                )
            condition = usable[int(self.rng.integers(len(usable)))]
        if not self.anchors[condition]:
            raise DatasetError(
                f"no piece can anchor a {condition!r} triplet (it needs {condition} and other "
                "groups playing together, in a tempo group of at least 3 pieces)"
            )
        for _ in range(self.max_tries):
            out = self._try(condition)
            if out is not None:
                return out
        raise DatasetError(
            f"no {condition!r} triplet found in {self.max_tries} tries: the pieces of the drawn "
            "tempo groups do not overlap once aligned; add pieces or widen bin_bpm"
        )

    def epoch(self, n_anchors: int, condition: str | None = None) -> Iterator[list[TripletSpec]]:
        """``n_anchors`` successive :meth:`sample` results (20,000 per epoch in the paper)."""
        for _ in range(int(n_anchors)):
            yield self.sample(condition)
