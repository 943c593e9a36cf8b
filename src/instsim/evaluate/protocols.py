"""The paper's two evaluation protocols, for any network that embeds waveforms.

Both protocols (docs/method.md, "Evaluation protocols"; docs/evaluation.md) label
segments by the piece they come from and score a leave-one-out kNN vote
(:mod:`instsim.evaluate.knn`, ``k = 5``):

* **music-ID** (Table 1): every non-silent segment of every test piece, in
  each sub-space, for 3 s and 10 s inputs (:func:`music_id_segments`,
  :func:`music_id_accuracy`); a query's neighbours never include a segment of
  its piece that overlaps it in time (:data:`MUSIC_ID_NEIGHBOURS`);
* **pseudo-mix** (Table 2): 10 s segments of pseudo-mixes ``(A_c + B_¬c)``,
  labelled by ``A``, in sub-space ``c``, with the exclusion rule
  (:func:`draw_pseudo_mix_set`, :func:`pseudo_mix_accuracy`,
  :data:`PSEUDO_MIX_NEIGHBOURS`).

What is evaluated is a :class:`System`: one or several *embedders* (anything
with ``instruments``, ``subspace_dim``, ``sample_rate`` and
``embed_waveforms``, such as :class:`instsim.Extractor`) and, per instrument,
a :class:`View` saying which embedder sees which input (the mix, or one clean
group) and which part of its output is compared. The CSN, the per-instrument
FCNs (on clean stems or on the mix) and a non-disentangled baseline are all
systems, so they go through the same code.

Segments are described by :class:`~instsim.data.pseudomix.SegmentSpec` and
rendered with :func:`~instsim.data.pseudomix.render` from a
:class:`~instsim.data.pseudomix.GroupSource` (the memory-mapped
:class:`~instsim.data.cache.GroupCache`); an :class:`EmbeddingStore` embeds each
(embedder, input, segment) once per run, in batches.

Comparison: before any distance, each compared sub-space is L2-normalised on
its own (:func:`instsim.extractor.normalize_subspaces`); the "all" view keeps
every sub-space, each normalised, so each contributes equally.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .. import _validate
from ..data.groups import SILENCE_DB, n_segments, segment_activity
from ..data.pseudomix import GroupSource, PartSpec, PieceInfo, SegmentSpec, TripletSampler, render
from ..errors import ConfigError, DatasetError, UnknownInstrumentError
from ..extractor import normalize_subspaces
from ..instruments import INSTRUMENTS
from .knn import ExcludeRows, exclusion_mask, knn_accuracy, overlap_exclusion
from .real import follow_rates

__all__ = [
    "MUSIC_ID_NEIGHBOURS",
    "PSEUDO_MIX_NEIGHBOURS",
    "Embedder",
    "EmbeddingStore",
    "PseudoMixSet",
    "SegmentSet",
    "System",
    "View",
    "draw_pseudo_mix_set",
    "music_id_accuracy",
    "music_id_exclusion",
    "music_id_segments",
    "pseudo_mix_accuracy",
    "pseudo_mix_follow_rates",
    "same_time_follow_rates",
]

#: ``progress(n)``: called with the number of segments just embedded.
Advance = Callable[[int], None]

#: Which segments may vote for a music-ID query (stated in every report).
MUSIC_ID_NEIGHBOURS = (
    "leave-one-out; segments of the query's piece that overlap it in time "
    "(|t_a - t_b| < segment length) are left out, so only different time segments of "
    "the piece can vote; a segment exactly one length away shares no audio and counts"
)

#: Which segments may vote for a pseudo-mix query (stated in every report).
PSEUDO_MIX_NEIGHBOURS = (
    "leave-one-out; every segment whose rest comes from the query's B is left out "
    "(the query's own pseudo-mix included, so its segments never vote for each other)"
)


@runtime_checkable
class Embedder(Protocol):
    """What the protocols need from a network (:class:`instsim.Extractor` fits).

    ``embed_waveforms(batch [B, n_samples] at sample_rate) -> [B, len(instruments) * subspace_dim]``
    returns raw (not normalised) embeddings.
    """

    @property
    def instruments(self) -> tuple[str, ...]: ...

    @property
    def subspace_dim(self) -> int: ...

    @property
    def sample_rate(self) -> int: ...

    def embed_waveforms(self, batch: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class View:
    """How a system embeds a segment for one instrument.

    Attributes
    ----------
    embedder : str
        Key of the embedder in :attr:`System.embedders`.
    inputs : tuple of str or None
        Groups rendered as the network's input: ``None`` is the (pseudo-)mix
        (every group of the segment), ``("bass",)`` the clean bass stem.
    subspace : str or None
        Sub-space compared (L2-normalised); ``None``: the whole embedding, each
        of its sub-spaces L2-normalised.
    """

    embedder: str
    inputs: tuple[str, ...] | None = None
    subspace: str | None = None


@dataclass
class System:
    """Something evaluated: embedders plus, per instrument, the :class:`View` used.

    Attributes
    ----------
    name : str
        Short identifier (a key of the report).
    label : str
        What the report's tables call it.
    kind : str
        ``"csn"``, ``"fcn-clean"``, ``"fcn-mix"`` or ``"baseline"``.
    embedders : dict of str -> Embedder
    music_id : dict of str -> View
        Music-ID views, by instrument (and ``"all"`` for the whole embedding).
    pseudo_mix : dict of str -> View
        Pseudo-mix views, by focused instrument (must be dataset groups).
    source : str
        Where the networks came from (a folder or Hub id), for the report.
    """

    name: str
    label: str
    kind: str
    embedders: dict[str, Embedder]
    music_id: dict[str, View]
    pseudo_mix: dict[str, View]
    source: str = ""

    @classmethod
    def csn(
        cls, name: str, embedder: Embedder, label: str | None = None, source: str = ""
    ) -> System:
        """A disentangled network on the mix: sub-space ``c`` for instrument ``c``, plus ``"all"``."""
        views = {c: View(name, None, c) for c in embedder.instruments}
        return cls(
            name,
            label or name,
            "csn",
            {name: embedder},
            {**views, "all": View(name, None, None)},
            dict(views),
            source,
        )

    @classmethod
    def per_instrument(
        cls,
        name: str,
        embedders: Mapping[str, Embedder],
        clean: bool,
        label: str | None = None,
        source: str = "",
        key_prefix: str = "fcn",
    ) -> System:
        """One network per instrument (the paper's "separated" FCNs).

        ``clean=True`` feeds network ``c`` the clean group ``c`` (an upper reference:
        perfect separation); ``clean=False`` feeds it the mix. The clean variant
        takes no part in the pseudo-mix protocol: the focused stem is identical in
        every pseudo-mix of a piece, so the answer would be trivially right.
        Embedders are keyed ``"<key_prefix>/<instrument>"``, so a clean and a mix
        system over the same networks share them.
        """
        keys = {c: f"{key_prefix}/{c}" for c in embedders}
        views = {c: View(keys[c], (c,) if clean else None, None) for c in embedders}
        return cls(
            name,
            label or name,
            "fcn-clean" if clean else "fcn-mix",
            {keys[c]: e for c, e in embedders.items()},
            views,
            {} if clean else dict(views),
            source,
        )

    @classmethod
    def whole(
        cls,
        name: str,
        embedder: Embedder,
        conditions: Sequence[str] = INSTRUMENTS,
        label: str | None = None,
        source: str = "",
    ) -> System:
        """A non-disentangled network on the mix: its whole embedding for every instrument."""
        view = View(name, None, None)
        return cls(
            name,
            label or name,
            "baseline",
            {name: embedder},
            {"all": view},
            {c: view for c in conditions},
            source,
        )


# -- segments ---------------------------------------------------------------------------
@dataclass
class SegmentSet:
    """The music-ID segments: every non-silent segment of every piece, on one grid.

    Attributes
    ----------
    segment_seconds, hop_seconds : float [seconds]
    specs : list of SegmentSpec
        Segment ``i`` is the mix of its piece from ``k * hop_seconds`` for ``segment_seconds``.
    labels : np.ndarray [shape=(n,), dtype=object]
        Track id of each segment.
    active : dict of group -> np.ndarray [shape=(n,), dtype=bool]
        Whether each group is non-silent in each segment.
    n_silent : int
        Segments left out because the mix is silent there.
    """

    segment_seconds: float
    hop_seconds: float
    specs: list[SegmentSpec]
    labels: np.ndarray
    active: dict[str, np.ndarray]
    n_silent: int = 0

    def __len__(self) -> int:
        return len(self.specs)

    @property
    def starts(self) -> np.ndarray:
        """``(n,)`` float [seconds]: where each segment starts in its piece."""
        return np.asarray([s.parts[0].offset_seconds for s in self.specs], dtype=np.float64)

    @property
    def key(self) -> str:
        """``"3s"``, ``"10s"``: the report's key for this input length."""
        return f"{self.segment_seconds:g}s"

    @property
    def n_pieces(self) -> int:
        return len(set(self.labels.tolist()))


def music_id_segments(
    source: GroupSource,
    track_ids: Iterable[str],
    segment_seconds: float = 3.0,
    hop_seconds: float = 1.5,
    silence_db: float = SILENCE_DB,
    groups: Sequence[str] = INSTRUMENTS,
) -> SegmentSet:
    """Cut every piece's mix into segments and keep the non-silent ones.

    The mix is the sum of the piece's group signals (as pseudo-mixes are
    built). Segment ``k`` covers ``[k * hop, k * hop + length)``; a piece shorter
    than one segment has one zero-padded segment (:func:`instsim.data.groups.n_segments`).

    Parameters
    ----------
    source : GroupSource
        Group signals (a :class:`~instsim.data.cache.GroupCache`).
    track_ids : iterable of str
    segment_seconds, hop_seconds : float > 0 [seconds]
        3 s / 1.5 s and 10 s / 5 s in the reports.
    silence_db : float [dBFS]
        A segment is kept when the mix's RMS is at least this.
    groups : sequence of str
        The dataset's group names.

    Returns
    -------
    SegmentSet
    """
    sr = source.sample_rate
    specs: list[SegmentSpec] = []
    labels: list[str] = []
    active: dict[str, list[np.ndarray]] = {g: [] for g in groups}
    n_silent = 0
    for tid in track_ids:
        signals = {g: source.signal(tid, g) for g in groups}
        n_samples = max((s.shape[0] for s in signals.values() if s is not None), default=0)
        if n_samples == 0:
            continue
        mix = np.zeros(n_samples, dtype=np.float32)
        for s in signals.values():
            if s is not None:
                mix[: s.shape[0]] += s
        n = n_segments(n_samples, sr, segment_seconds, hop_seconds)
        keep = segment_activity(mix, sr, segment_seconds, hop_seconds, silence_db, n)
        n_silent += int(n - keep.sum())
        for g in groups:
            a = segment_activity(signals[g], sr, segment_seconds, hop_seconds, silence_db, n)
            active[g].append(a[keep])
        for k in np.flatnonzero(keep):
            specs.append(
                SegmentSpec(
                    (PartSpec(tid, tuple(groups), float(k * hop_seconds)),), segment_seconds
                )
            )
            labels.append(tid)
    return SegmentSet(
        float(segment_seconds),
        float(hop_seconds),
        specs,
        np.asarray(labels, dtype=object),
        {g: np.concatenate(a) if a else np.zeros(0, dtype=bool) for g, a in active.items()},
        n_silent,
    )


# -- embedding ----------------------------------------------------------------------------
class EmbeddingStore:
    """Embeds each (network, input, segment) once per run, in batches, and hands out vectors.

    Use :meth:`request` for everything a run needs, :meth:`compute` once (its
    ``progress`` sees the whole amount of work), then :meth:`get`.

    Parameters
    ----------
    sources : GroupSource or mapping of sample rate [Hz] -> GroupSource
        Where segments are rendered from; an embedder reads the source at its
        own :attr:`Embedder.sample_rate`.
    batch_size : int > 0
        Segments per forward pass.
    """

    def __init__(
        self, sources: GroupSource | Mapping[int, GroupSource], batch_size: int = 32
    ) -> None:
        _validate.positive_int("batch_size", batch_size)
        if isinstance(sources, Mapping):
            self.sources = {int(sr): s for sr, s in sources.items()}
        else:
            self.sources = {int(sources.sample_rate): sources}
        self.batch_size = batch_size
        self._embedders: dict[str, Embedder] = {}
        self._done: dict[tuple[str, tuple[str, ...] | None, SegmentSpec], np.ndarray] = {}
        self._todo: dict[tuple[str, tuple[str, ...] | None, SegmentSpec], None] = {}

    def _register(self, system: System, view: View) -> Embedder:
        emb = system.embedders.get(view.embedder)
        if emb is None:
            raise ConfigError("view", f"system {system.name!r} has no embedder {view.embedder!r}")
        known = self._embedders.setdefault(view.embedder, emb)
        if known is not emb:
            raise ConfigError("embedder", f"two different networks share the key {view.embedder!r}")
        if int(emb.sample_rate) not in self.sources:
            raise ConfigError(
                "sample_rate",
                f"network {view.embedder!r} runs at {emb.sample_rate} Hz but segments are "
                f"available at {sorted(self.sources)} Hz",
            )
        if view.subspace is not None and view.subspace not in emb.instruments:
            raise UnknownInstrumentError(view.subspace, emb.instruments)
        return emb

    def request(self, system: System, view: View, specs: Iterable[SegmentSpec]) -> None:
        """Ask for the embeddings of ``specs`` as ``view`` of ``system`` sees them."""
        self._register(system, view)
        for spec in specs:
            key = (view.embedder, view.inputs, spec)
            if key not in self._done:
                self._todo[key] = None

    @property
    def pending(self) -> int:
        """Segments requested and not embedded yet."""
        return len(self._todo)

    def compute(self, progress: Advance | None = None) -> None:
        """Embed every pending segment (batches of one network, input and length)."""
        by_job: dict[tuple[str, tuple[str, ...] | None, float], list[SegmentSpec]] = {}
        for emb_key, inputs, spec in self._todo:
            by_job.setdefault((emb_key, inputs, spec.duration_seconds), []).append(spec)
        for (emb_key, inputs, _), specs in by_job.items():
            emb = self._embedders[emb_key]
            source = self.sources[int(emb.sample_rate)]
            for i in range(0, len(specs), self.batch_size):
                chunk = specs[i : i + self.batch_size]
                audio = np.stack([render(s, source, inputs) for s in chunk])
                out = np.asarray(emb.embed_waveforms(audio), dtype=np.float32)
                if out.shape != (len(chunk), len(emb.instruments) * emb.subspace_dim):
                    raise ConfigError(
                        "embedder",
                        f"{emb_key!r} returned shape {out.shape} for {len(chunk)} segments; "
                        f"expected ({len(chunk)}, {len(emb.instruments) * emb.subspace_dim})",
                    )
                for s, v in zip(chunk, out):
                    key = (emb_key, inputs, s)
                    self._done[key] = v
                    self._todo.pop(key, None)
                if progress is not None:
                    progress(len(chunk))

    def get(self, system: System, view: View, specs: Sequence[SegmentSpec]) -> np.ndarray:
        """Vectors ``(n, d)`` compared by ``view``: one sub-space, or all, L2-normalised per sub-space.

        Embeds anything not computed yet.
        """
        emb = self._register(system, view)
        keys = [(view.embedder, view.inputs, s) for s in specs]
        if any(k not in self._done for k in keys):
            self.request(system, view, specs)
            self.compute()
        d = emb.subspace_dim
        dim = len(emb.instruments) * d
        raw = np.stack([self._done[k] for k in keys]) if keys else np.zeros((0, dim), np.float32)
        if view.subspace is None:
            return normalize_subspaces(raw, len(emb.instruments))
        i = list(emb.instruments).index(view.subspace)
        return normalize_subspaces(raw[:, i * d : (i + 1) * d], 1)


# -- music-ID --------------------------------------------------------------------------------
def _accuracy(
    x: np.ndarray, labels: np.ndarray, k: int, exclude: np.ndarray | ExcludeRows | None = None
) -> float | None:
    """kNN accuracy [%], or ``None`` when fewer than two segments or two labels are left."""
    if len(labels) < 2 or len(set(labels.tolist())) < 2:
        return None
    return knn_accuracy(x, labels, k=k, exclude=exclude)


def music_id_exclusion(segments: SegmentSet, mask: np.ndarray | None = None) -> ExcludeRows:
    """The neighbours a music-ID query may not use: its piece's segments overlapping it.

    Parameters
    ----------
    segments : SegmentSet
    mask : np.ndarray [shape=(n,), dtype=bool] or None
        Only these segments are queries and neighbours (e.g. where an instrument plays).

    Returns
    -------
    ExcludeRows
        See :func:`instsim.evaluate.knn.overlap_exclusion`.
    """
    labels, starts = segments.labels, segments.starts
    if mask is not None:
        labels, starts = labels[mask], starts[mask]
    return overlap_exclusion(labels, starts, segments.segment_seconds)


def music_id_accuracy(
    store: EmbeddingStore, system: System, segments: SegmentSet, k: int = 5
) -> dict[str, Any]:
    """Music-ID kNN accuracy of every view of ``system`` on ``segments``.

    A query's ``k`` neighbours are drawn from the other pieces and from the
    segments of its own piece that share no audio with it
    (:func:`music_id_exclusion`): on a grid whose hop is shorter than the
    segments, the segments next to a query in time are partly the query itself.

    Returns
    -------
    dict
        ``"accuracy"``: instrument (and ``"all"``) -> accuracy [%] over every
        segment (``None`` with fewer than two pieces). ``"active"``: instrument
        -> accuracy [%] when queries and neighbours are restricted to the
        segments where that instrument plays (``None`` when not computable).
        ``"n_active"``: instrument -> number of those segments.
    """
    acc: dict[str, float | None] = {}
    active: dict[str, float | None] = {}
    n_active: dict[str, int] = {}
    exclude = music_id_exclusion(segments)
    for name, view in system.music_id.items():
        x = store.get(system, view, segments.specs)
        acc[name] = _accuracy(x, segments.labels, k, exclude)
        if name in segments.active:
            m = segments.active[name]
            n_active[name] = int(m.sum())
            active[name] = _accuracy(x[m], segments.labels[m], k, music_id_exclusion(segments, m))
    return {"accuracy": acc, "active": active, "n_active": n_active}


# -- pseudo-mixes ------------------------------------------------------------------------------
@dataclass
class PseudoMixSet:
    """The segments of one draw of the pseudo-mix protocol for one instrument.

    Attributes
    ----------
    condition : str
        The focused instrument ``c``.
    seed : int
    specs : list of SegmentSpec
        Segments of every pseudo-mix ``(A_c + B_¬c)``.
    focus, rest : np.ndarray [shape=(n,), dtype=object]
        ``A`` (the label) and ``B`` (the exclusion key) of each segment.
    mixes : list of (str, str, int)
        ``(A, B, number of segments)`` of every pseudo-mix used.
    requested_pieces, requested_partners : int
    notes : list of str
        Why fewer pieces or pseudo-mixes than requested were used.
    """

    condition: str
    seed: int
    specs: list[SegmentSpec]
    focus: np.ndarray
    rest: np.ndarray
    mixes: list[tuple[str, str, int]]
    requested_pieces: int
    requested_partners: int
    notes: list[str] = field(default_factory=list)

    @property
    def n_pieces(self) -> int:
        return len({a for a, _, _ in self.mixes})

    @property
    def n_mixes(self) -> int:
        return len(self.mixes)

    @property
    def n_segments(self) -> int:
        return len(self.specs)

    def counts(self) -> dict[str, Any]:
        """What the report records about this draw."""
        return {
            "seed": self.seed,
            "pieces": self.n_pieces,
            "pseudo_mixes": self.n_mixes,
            "segments": self.n_segments,
            "requested_pieces": self.requested_pieces,
            "requested_partners": self.requested_partners,
            "mixes": [{"focus": a, "rest": b, "segments": n} for a, b, n in self.mixes],
            "notes": list(self.notes),
        }


def draw_pseudo_mix_set(
    pieces: Mapping[str, PieceInfo],
    condition: str,
    *,
    n_pieces: int = 10,
    n_partners: int = 4,
    segment_seconds: float = 10.0,
    hop_seconds: float | None = None,
    seed: int = 0,
    groups: Sequence[str] = INSTRUMENTS,
    tempo_bin_bpm: float = 5.0,
) -> PseudoMixSet:
    """Draw focus pieces and partners, and cut their pseudo-mixes into segments.

    Focus pieces ``A`` are taken in a seeded random order among the pieces
    where ``condition`` is present and that have a usable tempo group (the
    pseudo-mix code only mixes pieces of one tempo group, aligned on their first
    onsets). Each gets up to ``n_partners`` distinct partners ``B``
    (:meth:`TripletSampler.partners`); when fewer exist it gets as many as there
    are, and the shortfall is recorded in :attr:`PseudoMixSet.notes`. A
    pseudo-mix with no segment where both ``A_c`` and ``B_¬c`` play is dropped.

    Parameters
    ----------
    pieces : mapping of track id -> PieceInfo
        The test pieces (all on one activity grid).
    condition : str
        The focused instrument (a group).
    n_pieces, n_partners : int > 0
        10 and 4 in the paper.
    segment_seconds : float [seconds]
        10 s in the paper.
    hop_seconds : float [seconds] or None
        Hop between segments (default ``segment_seconds``: back to back).
    seed : int
    groups : sequence of str
    tempo_bin_bpm : float > 0 [BPM]
        Width of the tempo groups (:func:`instsim.data.pseudomix.tempo_groups`).

    Returns
    -------
    PseudoMixSet
    """
    if condition not in groups:
        raise UnknownInstrumentError(condition, groups)
    _validate.positive_int("n_pieces", n_pieces)
    _validate.positive_int("n_partners", n_partners)
    notes: list[str] = []
    specs: list[SegmentSpec] = []
    focus: list[str] = []
    rest: list[str] = []
    mixes: list[tuple[str, str, int]] = []
    if not pieces:
        notes.append("no pieces")
        return PseudoMixSet(
            condition,
            seed,
            [],
            np.zeros(0, object),
            np.zeros(0, object),
            [],
            n_pieces,
            n_partners,
            notes,
        )
    sampler = TripletSampler(pieces, conditions=groups, bin_bpm=tempo_bin_bpm, seed=seed)
    candidates = [t for t in sorted(sampler.group_of) if pieces[t].present.get(condition, False)]
    absent = sum(1 for p in pieces.values() if not p.present.get(condition, False))
    rng = np.random.default_rng(seed)
    for a in rng.permutation(np.asarray(candidates, dtype=object)).tolist():
        if len({m[0] for m in mixes}) >= n_pieces:
            break
        partners: list[str] = []
        for n in range(n_partners, 0, -1):
            try:
                partners = sampler.partners(a, condition, n)
                break
            except DatasetError:
                continue
        used = []
        for b in partners:
            segs = sampler.pseudomix(a, b, condition).segments(segment_seconds, hop_seconds)
            if segs:
                used.append((b, segs))
        if not used:
            continue
        if len(used) < n_partners:
            notes.append(f"{a}: {len(used)} of {n_partners} pseudo-mixes possible")
        for b, segs in used:
            mixes.append((a, b, len(segs)))
            specs.extend(segs)
            focus.extend([a] * len(segs))
            rest.extend([b] * len(segs))
    got = len({m[0] for m in mixes})
    if got < n_pieces:
        notes.append(
            f"{got} of {n_pieces} focus pieces possible ({len(pieces)} pieces; {absent} without "
            f"{condition}; {len(sampler.excluded)} without a usable tempo group)"
        )
    return PseudoMixSet(
        condition,
        seed,
        specs,
        np.asarray(focus, dtype=object),
        np.asarray(rest, dtype=object),
        mixes,
        n_pieces,
        n_partners,
        notes,
    )


def pseudo_mix_accuracy(
    store: EmbeddingStore, system: System, pm: PseudoMixSet, k: int = 5
) -> float | None:
    """kNN accuracy [%] of the focused piece in ``system``'s view for ``pm.condition``.

    When predicting a segment of ``(A_c + B_¬c)``, every segment whose rest
    comes from ``B`` is removed from the neighbours (docs/method.md; the query's own
    pseudo-mix included). That rule already covers the music-ID overlap rule:
    segments of one pseudo-mix (back to back by default, overlapping with a
    shorter hop) all share ``B``, so none of them votes for another.

    Returns
    -------
    float or None
        ``None`` when the system has no view for the instrument, or the set has
        fewer than two focus pieces (nothing to tell apart).
    """
    view = system.pseudo_mix.get(pm.condition)
    if view is None:
        return None
    x = store.get(system, view, pm.specs)
    return _accuracy(x, pm.focus, k, exclude=exclusion_mask(pm.rest) if len(pm.rest) else None)


def pseudo_mix_follow_rates(
    store: EmbeddingStore, system: System, pm: PseudoMixSet
) -> dict[str, float] | None:
    """Does sub-space ``c`` follow the focus or the rest? The real-audio check's rates on pseudo-mixes.

    Segments are compared only with segments that start at the same time of their focus
    piece's timeline: two pseudo-mixes ``(A_c + B_¬c)`` and ``(A_c + B'_¬c)`` then hold
    the very same stretch of ``A_c``, as two mixes of the real-audio check hold the same
    recording (:func:`instsim.evaluate.real.follow_rates`). For each segment, its nearest
    other segment of that time (cosine, in the view for ``c``) either holds the same focus
    piece ``A`` ("follows c"), comes from the same rest piece ``B`` ("follows rest"), or
    neither. Unlike :func:`pseudo_mix_accuracy`, which rewards telling focus *pieces*
    apart from other moments of them, this asks what a user asking "the same ``c``,
    whatever the rest" meets; its "follows rest" ranked six models in the order real
    recordings rank them (docs/results.md, "Follow rates on pseudo-mixes").

    Returns
    -------
    dict or None
        ``follows_c``, ``follows_rest`` and their chance levels ``chance_c``,
        ``chance_rest`` [%] (a random other segment of the same time), over the
        ``segments`` that have another segment of their time; ``None`` when the system
        has no view for ``c`` or no time holds two segments.
    """
    view = system.pseudo_mix.get(pm.condition)
    if view is None or not pm.specs:
        return None
    x = store.get(system, view, pm.specs)
    times = [s.part_with(pm.condition).offset_seconds for s in pm.specs]
    return same_time_follow_rates(x, times, pm.focus, pm.rest)


def same_time_follow_rates(
    x: np.ndarray, times: Sequence[float], focus: Sequence[object], rest: Sequence[object]
) -> dict[str, float] | None:
    """:func:`pseudo_mix_follow_rates` on given vectors: nearest other row of the same time.

    Parameters
    ----------
    x : np.ndarray [shape=(n, d)]
        One vector per segment (compared by cosine).
    times : sequence of float [seconds], shape (n,)
        Start of each segment on its focus piece's timeline (rounded to 1 ms).
    focus, rest : sequence [shape=(n,)]
        Each segment's focus piece ``A`` and rest piece ``B`` (any hashable ids).

    Returns
    -------
    dict or None
        As :func:`pseudo_mix_follow_rates`.
    """
    x = np.asarray(x)
    t = np.round(np.asarray(times, dtype=np.float64), 3)
    a = np.asarray(focus, dtype=object)
    b = np.asarray(rest, dtype=object)
    if not (len(t) == len(a) == len(b) == x.shape[0]):
        raise ConfigError(
            "labels", f"{x.shape[0]} vectors, {len(t)} times, {len(a)} focus, {len(b)} rest"
        )
    keys = ("follows_c", "follows_rest", "chance_c", "chance_rest")
    sums = dict.fromkeys(keys, 0.0)
    n = 0
    for when in np.unique(t):
        idx = np.flatnonzero(t == when)
        if len(idx) < 2:
            continue
        rates = follow_rates(x[idx], a[idx], b[idx])  # one grid: the segments of this time
        for k in keys:
            sums[k] += rates[k] * len(idx)
        n += len(idx)
    if n == 0:
        return None
    return {**{k: v / n for k, v in sums.items()}, "segments": n}
