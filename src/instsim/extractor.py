"""``Extractor``: the stable, public facade over a trained CSN.

An :class:`Extractor` turns audio (an array with its rate, a file, or many
files) into per-segment and per-track embeddings made of named sub-spaces, and
compares them focusing on one or several instruments.

The file pipeline streams: a background thread (or, with ``workers=N``, N
processes) decodes, resamples and cuts each file into segments while the main
thread runs the network on batches that mix segments of several files, so
decoding overlaps with compute and memory does not grow with file length.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import _validate
from .errors import ConfigError, InstsimError, SilentAudioError, UnknownInstrumentError
from .model import CSN, CSNConfig
from .segments import Segmentation, silence_mask

__all__ = ["Extractor", "TrackEmbedding", "TrackResult", "normalize_subspaces"]

AudioInput = str | os.PathLike | np.ndarray
Focus = str | Sequence[str] | None


def normalize_subspaces(x: np.ndarray, n_subspaces: int) -> np.ndarray:
    """L2-normalise each sub-space of ``x`` ``[..., n_subspaces * D]`` independently."""
    shape = x.shape
    v = x.reshape(*shape[:-1], n_subspaces, shape[-1] // n_subspaces).astype(np.float32)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.maximum(norms, 1e-12)).reshape(shape)


@dataclass
class TrackEmbedding:
    """Embeddings of one track (or clip).

    Attributes
    ----------
    source : str
        The file path, or ``"<array>"``.
    raw : np.ndarray [shape=(n_segments, embedding_dim), dtype=float32]
        Network outputs per segment, before normalisation.
    timestamps : np.ndarray [shape=(n_segments, 2), dtype=float64]
        Start and end of each segment [seconds].
    silent : np.ndarray [shape=(n_segments,), dtype=bool]
        Silent segments, left out of the track mean: more than the model's
        ``silence_range_db`` below the track's loudest segment, or below its
        absolute ``silence_floor_db``.
    instruments : tuple of str
        Sub-space names, in order.
    subspace_dim : int
    duration : float [seconds]
        Length of the decoded audio.
    rms_db : np.ndarray [shape=(n_segments,), dtype=float64] [dBFS] or None
        RMS level of each segment, from which ``silent`` was decided.
    """

    source: str
    raw: np.ndarray
    timestamps: np.ndarray
    silent: np.ndarray
    instruments: tuple[str, ...]
    subspace_dim: int
    duration: float
    rms_db: np.ndarray | None = None

    def _columns(self, focus: Focus) -> np.ndarray:
        return _focus_columns(focus, self.instruments, self.subspace_dim)

    @property
    def segments(self) -> np.ndarray:
        """Per-segment embeddings, each sub-space L2-normalised, ``(n_segments, embedding_dim)``."""
        return normalize_subspaces(self.raw, len(self.instruments))

    def vector(self, focus: Focus = None) -> np.ndarray:
        """Track vector: mean of the non-silent segments, then each sub-space L2-normalised.

        Returns ``(embedding_dim,)``, or ``(k * subspace_dim,)`` for ``k`` focused instruments.
        """
        keep = ~self.silent
        mean = self.raw[keep].mean(axis=0) if keep.any() else self.raw.mean(axis=0)
        full = normalize_subspaces(mean[None], len(self.instruments))[0]
        return full[self._columns(focus)]

    def segment_vectors(self, focus: Focus = None) -> np.ndarray:
        """Per-segment vectors ``(n_segments, d)`` restricted to ``focus``."""
        return self.segments[:, self._columns(focus)]


@dataclass
class TrackResult:
    """Outcome for one input of :meth:`Extractor.embed_files`: an embedding or an error."""

    index: int
    source: str
    embedding: TrackEmbedding | None = None
    error: InstsimError | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def _focus_list(focus: Focus, instruments: Sequence[str]) -> list[str]:
    if focus is None:
        return list(instruments)
    names = [focus] if isinstance(focus, str) else list(focus)
    if not names:
        raise UnknownInstrumentError("<empty focus>", instruments)
    for n in names:
        if n not in instruments:
            raise UnknownInstrumentError(n, instruments)
    return names


def _focus_columns(focus: Focus, instruments: Sequence[str], d: int) -> np.ndarray:
    names = _focus_list(focus, instruments)
    idx = [list(instruments).index(n) for n in names]
    return np.concatenate([np.arange(i * d, (i + 1) * d) for i in idx])


def _resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError:
        raise ConfigError(
            "device", f"unknown device {device!r}; valid: 'cpu', 'cuda', 'auto'"
        ) from None


class Extractor:
    """Per-instrument music embeddings from mixed audio.

    Build one with :meth:`from_pretrained` (bundled default, folder or Hub repo) or
    :meth:`from_config` (untrained). Embeddings have ``len(instruments) *
    subspace_dim`` dimensions (640 = 5 x 128 for the default model), sub-spaces in
    the order of :attr:`instruments`.

    Parameters
    ----------
    model : CSN
        The network (put in eval mode and moved to ``device``).
    model_id : str
        Where the model came from (stored in outputs).
    revision : str or None
        Hub revision, when loaded from the Hub.
    device : str or None
        ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"auto"``/``None`` (GPU when available).

    Examples
    --------
    >>> ext = Extractor.from_pretrained()  # doctest: +SKIP
    >>> a = ext.embed("a.flac", focus="drums")  # doctest: +SKIP
    >>> b = ext.embed("b.flac", focus="drums")  # doctest: +SKIP
    >>> ext.similarity(a, b, focus="drums")  # doctest: +SKIP
    0.83
    """

    def __init__(
        self,
        model: CSN,
        model_id: str = "<unsaved>",
        revision: str | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.device = _resolve_device(device)
        self.model = model.to(self.device).eval()
        self.model_id = model_id
        self.revision = revision

    # ---- construction -----------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike | None = None,
        revision: str | None = None,
        device: str | None = None,
        cache_dir: str | os.PathLike | None = None,
    ) -> Extractor:
        """Load a trained model.

        Parameters
        ----------
        name_or_path : str, os.PathLike or None
            ``None``: the default model bundled in the package. An existing folder:
            ``config.json`` + ``model.safetensors``. Anything else: a Hugging Face
            Hub repo id (downloaded once into the Hub cache; ``HF_HUB_OFFLINE=1``
            uses the cache only).
        revision : str or None
            Hub branch, tag or commit to pin.
        device : str or None
            ``"cpu"``, ``"cuda"`` or ``None``/``"auto"``.
        cache_dir : path or None
            Hub cache folder (default: huggingface_hub's).

        Raises
        ------
        ModelNotFoundError, ModelMismatchError
        """
        from .hub import load_model

        dev = _resolve_device(device)
        model, model_id = load_model(
            name_or_path, revision=revision, device=str(dev), cache_dir=cache_dir
        )
        return cls(model, model_id=model_id, revision=revision, device=dev)

    @classmethod
    def from_config(
        cls,
        config: CSNConfig | dict[str, Any] | None = None,
        device: str | None = None,
        seed: int | None = 0,
    ) -> Extractor:
        """Build an untrained model from a config (``{"backbone": "unet"}``; defaults elsewhere).

        ``seed`` makes the random initialisation reproducible (``None``: leave torch's RNG alone).
        """
        cfg = config if isinstance(config, CSNConfig) else CSNConfig.from_dict(dict(config or {}))
        if seed is not None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model = CSN(cfg)
        else:
            model = CSN(cfg)
        return cls(model, model_id=f"untrained:{cfg.name}", device=device)

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs: Any) -> None:
        """Write ``config.json`` + ``model.safetensors`` (and a model card) to a folder."""
        self.model.save_pretrained(save_directory, **kwargs)

    def push_to_hub(self, repo_id: str, **kwargs: Any) -> Any:
        """Upload the model to the Hugging Face Hub (see ``ModelHubMixin.push_to_hub``)."""
        return self.model.push_to_hub(repo_id, **kwargs)

    # ---- properties -------------------------------------------------------------
    @property
    def config(self) -> CSNConfig:
        return self.model.config

    @property
    def instruments(self) -> tuple[str, ...]:
        """Sub-space names, in embedding order."""
        return self.config.instruments

    @property
    def sample_rate(self) -> int:
        """The model's input rate [Hz]; audio is resampled to it."""
        return self.config.frontend.sample_rate

    @property
    def embedding_dim(self) -> int:
        return self.config.embedding_dim

    @property
    def subspace_dim(self) -> int:
        return self.config.subspace_dim

    def __repr__(self) -> str:
        return (
            f"Extractor(model_id={self.model_id!r}, backbone={self.config.backbone!r}, "
            f"instruments={list(self.instruments)}, device='{self.device}')"
        )

    # ---- what a caller may resolve before any work ------------------------------------
    def resolve_focus(self, focus: Focus = None) -> list[str]:
        """The sub-space names ``focus`` stands for, in the order given.

        Parameters
        ----------
        focus : str, sequence of str or None
            One instrument, several, or ``None`` for all of :attr:`instruments`.

        Raises
        ------
        UnknownInstrumentError
            A name the model does not have, or an empty sequence (the message
            lists the model's instruments).
        """
        return _focus_list(focus, self.instruments)

    def segmentation(
        self, *, segment_seconds: float | None = None, hop_seconds: float | None = None
    ) -> Segmentation:
        """Segment length and hop in seconds and samples; ``None`` takes the model's config.

        Raises
        ------
        ConfigError
            A value that is not a positive, finite number of seconds.
        """
        seg = self.config.segment_seconds if segment_seconds is None else segment_seconds
        hop = self.config.hop_seconds if hop_seconds is None else hop_seconds
        return Segmentation(
            _validate.positive_seconds("segment_seconds", seg),
            _validate.positive_seconds("hop_seconds", hop),
            self.sample_rate,
        )

    # ---- core -------------------------------------------------------------------
    @torch.inference_mode()
    def embed_waveforms(self, batch: np.ndarray | torch.Tensor) -> np.ndarray:
        """Run the network on a batch of equal-length waveforms at :attr:`sample_rate`.

        Parameters
        ----------
        batch : array [shape=(batch, n_samples), dtype=float32]

        Returns
        -------
        np.ndarray [shape=(batch, embedding_dim), dtype=float32]
            Raw network outputs (not normalised).
        """
        x = torch.as_tensor(np.asarray(batch, dtype=np.float32)).to(self.device)
        return self.model(x).float().cpu().numpy()

    def embed_files(
        self,
        inputs: Iterable[AudioInput],
        *,
        sr: int | None = None,
        segment_seconds: float | None = None,
        hop_seconds: float | None = None,
        batch_size: int = 32,
        progress: Callable[[TrackResult], None] | None = None,
        on_error: str = "raise",
        prefetch_segments: int = 256,
        workers: int = 0,
        pad_batches: bool = False,
    ) -> Generator[TrackResult, None, None]:
        """Embed many files (or arrays), batching segments of several inputs together.

        Decoding runs ahead of the network, bounded to about ``prefetch_segments``
        segments waiting: in a background thread (``workers=0``) or in ``workers``
        processes that decode different files at the same time (see
        :mod:`instsim.decode`). Results come in input order and are the same
        either way. Inputs are pulled from ``inputs`` lazily, so a generator over
        a huge collection is fine.

        Parameters
        ----------
        inputs : iterable of path or np.ndarray
            Files, or arrays (then ``sr`` gives their rate).
        sr : int [Hz] or None
            Rate of the array inputs; files carry their own. With a list or tuple
            of files only, ``sr`` is refused at the door.
        segment_seconds, hop_seconds : float [seconds] or None
            Segmentation; ``None``: the model's config (3 s and 1.5 s by default).
        batch_size : int > 0
            Segments per forward pass (32 or more keeps a CPU busy).
        progress : callable or None
            Called with each :class:`TrackResult` as it completes.
        on_error : {"raise", "return"}
            ``"raise"`` stops at the first bad input; ``"return"`` yields a result
            with ``error`` set and carries on.
        prefetch_segments : int > 0
            Decoded segments allowed to wait for the network.
        workers : int >= 0
            ``0``: decode in one background thread. ``N > 0``: decode in ``N``
            processes (worth it when decoding, not the network, is the slower
            stage: compressed files, GPU inference, several cores). A worker
            process that dies fails only the file it was decoding.
        pad_batches : bool
            Pad partial batches to ``batch_size``, so every forward pass has the
            same shape. CPU kernels are chosen by batch shape and round
            differently (by about 1e-8), so this makes a track's embedding
            bit-identical whatever other inputs shared its batches (``instsim
            extract`` does this).

        Returns
        -------
        generator of TrackResult
            Decoding starts at the first ``next()``; ``close()`` stops it.

        Raises
        ------
        ConfigError
            A bad argument (at the call, before any work), or, with
            ``on_error="raise"``, an input that is neither a path nor an array.
        """
        from .decode import DecodeParams

        seg = self.segmentation(segment_seconds=segment_seconds, hop_seconds=hop_seconds)
        batch_size = _validate.positive_int("batch_size", batch_size)
        _validate.choice("on_error", on_error, ("raise", "return"))
        prefetch_segments = _validate.positive_int("prefetch_segments", prefetch_segments)
        workers = _validate.integer("workers", workers, minimum=0)
        if sr is not None:
            sr = _validate.sample_rate("sr", sr)
            if (
                isinstance(inputs, (list, tuple))
                and inputs
                and not any(isinstance(x, np.ndarray) for x in inputs)
            ):
                _validate.audio_input(inputs[0], sr)  # files only: sr cannot mean anything
        params = DecodeParams(sr, seg)
        consumer = _Consumer(self, batch_size, bool(pad_batches), progress, on_error)
        return consumer.run(inputs, params, workers, prefetch_segments)

    def embed_track(
        self,
        audio: AudioInput,
        *,
        sr: int | None = None,
        segment_seconds: float | None = None,
        hop_seconds: float | None = None,
        batch_size: int = 32,
    ) -> TrackEmbedding:
        """Embed one file or array; see :class:`TrackEmbedding` for what comes back.

        Parameters
        ----------
        audio : path or np.ndarray [shape=(n_samples,) or (n_samples, n_channels)]
        sr : int [Hz] or None
            Rate of an array (required then); an error with a file.
        segment_seconds, hop_seconds : float [seconds] or None
            Segmentation; ``None``: the model's config.
        batch_size : int > 0
            Segments per forward pass.

        Raises
        ------
        ConfigError
            A bad argument, ``sr`` with a file or no ``sr`` with an array.
        AudioDecodeError, EmptyAudioError, NonFiniteAudioError, SilentAudioError
        """
        _validate.audio_input(audio, sr)
        (res,) = self.embed_files(
            [audio],
            sr=sr,
            segment_seconds=segment_seconds,
            hop_seconds=hop_seconds,
            batch_size=batch_size,
        )
        assert res.embedding is not None
        return res.embedding

    def embed(
        self,
        audio: AudioInput,
        *,
        focus: Focus = None,
        aggregate: str | None = "mean",
        sr: int | None = None,
        segment_seconds: float | None = None,
        hop_seconds: float | None = None,
        batch_size: int = 32,
    ) -> np.ndarray:
        """Embed a file or array and return float32 vectors.

        Only ``audio`` is positional: ``ext.embed("a.flac", "bass")`` is a
        ``TypeError``; write ``ext.embed("a.flac", focus="bass")``.

        Parameters
        ----------
        audio : path or np.ndarray [shape=(n_samples,) or (n_samples, n_channels)]
        focus : str, sequence of str or None
            Instrument(s) whose sub-spaces to return; ``None``: all.
        aggregate : {"mean", None}
            ``"mean"``: one track vector (mean of non-silent segments, each sub-space
            L2-normalised); ``None``: one vector per segment.
        sr : int [Hz] or None
            Rate of an array input (required then); an error with a file.
        segment_seconds, hop_seconds : float [seconds] or None
            Segmentation; ``None``: the model's config.
        batch_size : int > 0
            Segments per forward pass.

        Returns
        -------
        np.ndarray [dtype=float32]
            ``(embedding_dim,)``; ``(subspace_dim,)`` for one focus; ``(n_segments, d)``
            with ``aggregate=None``.

        Raises
        ------
        ConfigError, UnknownInstrumentError
            A bad argument (before any work).
        AudioDecodeError, EmptyAudioError, NonFiniteAudioError, SilentAudioError
        """
        self.resolve_focus(focus)  # fail before any work
        _validate.choice("aggregate", aggregate, ("mean", None, "none"))
        te = self.embed_track(
            audio,
            sr=sr,
            segment_seconds=segment_seconds,
            hop_seconds=hop_seconds,
            batch_size=batch_size,
        )
        return te.vector(focus) if aggregate == "mean" else te.segment_vectors(focus)

    def select(self, embedding: np.ndarray, focus: Focus) -> np.ndarray:
        """Slice full embeddings ``[..., embedding_dim]`` down to the ``focus`` sub-spaces."""
        cols = _focus_columns(focus, self.instruments, self.subspace_dim)
        return np.asarray(embedding)[..., cols]

    def similarity(
        self, a: np.ndarray | TrackEmbedding, b: np.ndarray | TrackEmbedding, focus: Focus = None
    ) -> float | np.ndarray:
        """Cosine similarity focusing on one or several instruments.

        Each chosen sub-space is L2-normalised and the per-sub-space cosines are
        averaged, so the result lies in ``[-1, 1]``.

        Parameters
        ----------
        a, b : np.ndarray [shape=(embedding_dim,) or (n, embedding_dim)] or TrackEmbedding
            Full embeddings (or already focused ones of ``k * subspace_dim`` dims
            matching ``focus``).
        focus : str, sequence of str or None

        Returns
        -------
        float, or np.ndarray [shape=(n, m)] when ``a`` and ``b`` are 2-D.
        """
        names = _focus_list(focus, self.instruments)
        d = self.subspace_dim

        def prep(x: np.ndarray | TrackEmbedding) -> np.ndarray:
            v = x.vector() if isinstance(x, TrackEmbedding) else np.asarray(x, dtype=np.float32)
            if v.shape[-1] == self.embedding_dim:
                v = self.select(v, names)
            elif v.shape[-1] != len(names) * d:
                raise ConfigError(
                    "embedding",
                    f"has {v.shape[-1]} dims; expected {self.embedding_dim} (full) or "
                    f"{len(names) * d} (focused on {names})",
                )
            return normalize_subspaces(v, len(names))

        va, vb = prep(a), prep(b)
        if va.ndim == 1 and vb.ndim == 1:
            return float(va @ vb / len(names))
        return np.atleast_2d(va) @ np.atleast_2d(vb).T / len(names)


@dataclass
class _Assembly:
    """One input while its segments are being decoded and embedded."""

    source: str
    emb: list[np.ndarray] = field(default_factory=list)
    spans: list[np.ndarray] = field(default_factory=list)
    rms_db: list[np.ndarray] = field(default_factory=list)
    done: bool = False
    error: InstsimError | None = None
    duration: float = 0.0


class _Consumer:
    """Batch the segments a decoder sends, run the network, hand out results in input order.

    Segments of several inputs share a batch; an input's result is handed out once
    it is decoded (:class:`~instsim.decode.Finished`) and its last segment has been
    through the network. Silence is gated then, relative to the track's loudest
    segment (:func:`~instsim.segments.silence_mask`).
    """

    def __init__(
        self,
        ext: Extractor,
        batch_size: int,
        pad_batches: bool,
        progress: Callable[[TrackResult], None] | None,
        on_error: str,
    ) -> None:
        self.ext = ext
        self.batch_size = batch_size
        self.pad_batches = pad_batches
        self.progress = progress
        self.on_error = on_error
        self.tracks: dict[int, _Assembly] = {}
        self.next_out = 0  # index of the next result to hand out
        self.pending: list[tuple[int, np.ndarray]] = []  # (input index, segment audio)
        self.pending_ids: dict[int, int] = {}  # input index -> segments in ``pending``

    def run(
        self, inputs: Iterable[Any], params: Any, workers: int, prefetch_segments: int
    ) -> Generator[TrackResult, None, None]:
        """Decode ``inputs`` (in a thread, or ``workers`` processes) and yield their results."""
        from .decode import Failed, Fatal, Finished, ProcessDecoder, Segments, Stop, ThreadDecoder

        max_messages = max(2, -(-prefetch_segments // params.chunk))
        if workers == 0:
            src: Any = ThreadDecoder(inputs, params, max_messages)
        else:
            window = max(64, 2 * self.batch_size, 8 * workers)
            src = ProcessDecoder(inputs, params, workers, window, max_messages)
        try:
            while True:
                msg = src.get()
                if msg is None:  # nothing is being decoded: run what is waiting
                    yield from self.flush(src)
                    continue
                if isinstance(msg, Stop):
                    break
                if isinstance(msg, Fatal):
                    raise msg.error
                t = self.track(msg.index, msg.source)
                if t is not None and not t.done:
                    if isinstance(msg, Segments):
                        yield from self.add(msg, t, src)
                    elif isinstance(msg, Finished):
                        t.done, t.duration = True, msg.duration
                    elif isinstance(msg, Failed):
                        t.done, t.error = True, msg.error
                    yield from self.finished(src)
                if self.pending and src.idle():
                    yield from self.flush(src)
            yield from self.flush(src)
        finally:
            src.close()

    def track(self, k: int, source: str) -> _Assembly | None:
        if k < self.next_out:
            return None  # already handed out (a late message after a worker crash)
        return self.tracks.setdefault(k, _Assembly(source))

    def add(self, msg: Any, t: _Assembly, src: Any) -> Iterator[TrackResult]:
        t.spans.append(msg.spans)
        t.rms_db.append(msg.rms_db)
        for row in msg.audio:
            self.pending.append((msg.index, row))
            self.pending_ids[msg.index] = self.pending_ids.get(msg.index, 0) + 1
            if len(self.pending) >= self.batch_size:
                yield from self.flush(src)

    def flush(self, src: Any) -> Iterator[TrackResult]:
        """Run the waiting segments through the network, then hand out what is complete."""
        if self.pending:
            batch = np.stack([a for _, a in self.pending])
            if self.pad_batches and len(batch) < self.batch_size:
                pad = np.zeros((self.batch_size - len(batch), batch.shape[1]), dtype=batch.dtype)
                batch = np.concatenate([batch, pad])
            emb = self.ext.embed_waveforms(batch)[: len(self.pending)]
            for (k, _), e in zip(self.pending, emb):
                if k in self.tracks:
                    self.tracks[k].emb.append(e)
            self.pending.clear()
            self.pending_ids.clear()
        yield from self.finished(src)

    def finished(self, src: Any) -> Iterator[TrackResult]:
        while self.next_out in self.tracks:
            k = self.next_out
            t = self.tracks[k]
            if not t.done or k in self.pending_ids:
                return
            del self.tracks[k]
            self.next_out += 1
            res = self.result(k, t)
            src.release(k)
            if self.progress is not None:
                self.progress(res)
            if res.error is not None and self.on_error == "raise":
                raise res.error
            yield res

    def result(self, k: int, t: _Assembly) -> TrackResult:
        return _track_result(self.ext, k, t)


def _track_result(ext: Extractor, k: int, t: _Assembly) -> TrackResult:
    """The result of input ``k`` once every segment is embedded: silence gated, or its error.

    Shared by :class:`_Consumer` and the Ray engine (:mod:`instsim.batch.ray_engine`),
    so both decide silence and build :class:`TrackEmbedding` the same way.
    """
    if t.error is not None:
        return TrackResult(k, t.source, error=t.error)
    cfg = ext.config
    rms_db = np.concatenate(t.rms_db) if t.rms_db else np.zeros(0)
    silent = silence_mask(rms_db, cfg.silence_range_db, cfg.silence_floor_db)
    if silent.all():
        return TrackResult(k, t.source, error=SilentAudioError(t.source, cfg.silence_floor_db))
    spans = np.concatenate(t.spans).astype(np.float64)
    te = TrackEmbedding(
        source=t.source,
        raw=np.stack(t.emb).astype(np.float32),
        timestamps=spans.reshape(-1, 2) / ext.sample_rate,
        silent=silent,
        instruments=ext.instruments,
        subspace_dim=ext.subspace_dim,
        duration=t.duration,
        rms_db=rms_db,
    )
    return TrackResult(k, t.source, embedding=te)


_cache: dict[tuple[str, str], Extractor] = {}


def _cached_extractor(model: str | os.PathLike | Extractor | None) -> Extractor:
    if isinstance(model, Extractor):
        return model
    key = (
        str(Path(model).resolve()) if model is not None and Path(model).is_dir() else str(model),
        "auto",
    )
    if key not in _cache:
        if len(_cache) >= 4:
            _cache.pop(next(iter(_cache)))
        _cache[key] = Extractor.from_pretrained(model)
    return _cache[key]


def embed(
    audio: AudioInput,
    *,
    focus: Focus = None,
    aggregate: str | None = "mean",
    sr: int | None = None,
    segment_seconds: float | None = None,
    hop_seconds: float | None = None,
    batch_size: int = 32,
    model: str | os.PathLike | Extractor | None = None,
) -> np.ndarray:
    """Embed one file or array with a cached :class:`Extractor`.

    The same call as :meth:`Extractor.embed`, plus ``model``: only ``audio`` is
    positional, everything else is keyword-only.

    Parameters
    ----------
    audio : path or np.ndarray [shape=(n_samples,) or (n_samples, n_channels)]
    focus : str, sequence of str or None
        Instrument(s) to keep (see ``instsim.INSTRUMENTS``); ``None``: all.
    aggregate : {"mean", None}
        ``"mean"``: one track vector; ``None``: one vector per segment.
    sr : int [Hz] or None
        Sample rate of an array input (required then); an error with a file.
    segment_seconds, hop_seconds : float [seconds] or None
        Segmentation; ``None``: the model's config (3 s and 1.5 s for the default).
    batch_size : int > 0
        Segments per forward pass.
    model : str, path, Extractor or None
        Model name/folder/Hub repo id, or an Extractor; ``None``: the bundled default.

    Returns
    -------
    np.ndarray [dtype=float32]
        ``(640,)`` full track vector; ``(128,)`` with one focus; ``(n_segments, d)``
        with ``aggregate=None``.

    Examples
    --------
    >>> import instsim
    >>> v = instsim.embed("song.flac", focus="bass")  # doctest: +SKIP
    >>> v.shape  # doctest: +SKIP
    (128,)
    """
    return _cached_extractor(model).embed(
        audio,
        focus=focus,
        aggregate=aggregate,
        sr=sr,
        segment_seconds=segment_seconds,
        hop_seconds=hop_seconds,
        batch_size=batch_size,
    )
