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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import ConfigError, InstsimError, SilentAudioError, UnknownInstrumentError
from .model import CSN, CSNConfig

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
        Segments below the model's silence threshold (left out of the track mean).
    instruments : tuple of str
        Sub-space names, in order.
    subspace_dim : int
    duration : float [seconds]
        Length of the decoded audio.
    """

    source: str
    raw: np.ndarray
    timestamps: np.ndarray
    silent: np.ndarray
    instruments: tuple[str, ...]
    subspace_dim: int
    duration: float

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

    #: Pad partial batches to ``batch_size`` in :meth:`embed_files`, so every forward
    #: pass has the same shape. CPU kernels are chosen by batch shape and round
    #: differently (by about 1e-8), so this makes a track's embedding bit-identical
    #: whatever other inputs shared its batches; ``instsim extract`` turns it on.
    _pad_batches: bool = False

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

    # ---- core -------------------------------------------------------------------
    def _segment_params(
        self, segment_seconds: float | None, hop_seconds: float | None
    ) -> tuple[int, int]:
        seg = self.config.segment_seconds if segment_seconds is None else segment_seconds
        hop = self.config.hop_seconds if hop_seconds is None else hop_seconds
        for name, v in (("segment_seconds", seg), ("hop_seconds", hop)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise ConfigError(name, f"must be a positive number of seconds, got {v!r}")
        sr = self.sample_rate
        return max(1, round(seg * sr)), max(1, round(hop * sr))

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
        batch_size: int = 32,
        segment_seconds: float | None = None,
        hop_seconds: float | None = None,
        progress: Callable[[TrackResult], None] | None = None,
        on_error: str = "raise",
        prefetch_segments: int = 256,
        workers: int = 0,
    ) -> Iterator[TrackResult]:
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
        batch_size : int > 0
            Segments per forward pass (32 or more keeps a CPU busy).
        segment_seconds, hop_seconds : float [seconds] or None
            Override the model's defaults (3 s and 1.5 s).
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

        Yields
        ------
        TrackResult
        """
        from .decode import DecodeParams, ProcessDecoder, ThreadDecoder

        if on_error not in ("raise", "return"):
            raise ConfigError("on_error", f"got {on_error!r}; valid: 'raise', 'return'")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ConfigError("batch_size", f"must be a positive integer, got {batch_size!r}")
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise ConfigError("workers", f"must be an integer >= 0, got {workers!r}")
        seg_len, hop_len = self._segment_params(segment_seconds, hop_seconds)
        sr_model = self.sample_rate
        silence_db = self.config.silence_db
        params = DecodeParams(sr, sr_model, seg_len, hop_len, silence_db)
        max_messages = max(2, -(-max(1, prefetch_segments) // params.chunk))
        if workers == 0:
            src: Any = ThreadDecoder(inputs, params, max_messages)
        else:
            window = max(64, 2 * batch_size, 8 * workers)
            src = ProcessDecoder(inputs, params, workers, window, max_messages)
        yield from self._consume(src, batch_size, progress, on_error)

    def _consume(
        self,
        src: Any,
        batch_size: int,
        progress: Callable[[TrackResult], None] | None,
        on_error: str,
    ) -> Iterator[TrackResult]:
        """Batch the segments that ``src`` decodes, run the network, yield results in order."""
        sr_model = self.sample_rate
        silence_db = self.config.silence_db
        tracks: dict[int, dict[str, Any]] = {}
        next_out = 0  # index of the next result to hand out
        pending: list[tuple[int, np.ndarray]] = []  # (input index, segment audio)
        pending_ids: dict[int, int] = {}  # input index -> segments in ``pending``

        def flush() -> None:
            if not pending:
                return
            batch = np.stack([a for _, a in pending])
            if self._pad_batches and len(batch) < batch_size:
                pad = np.zeros((batch_size - len(batch), batch.shape[1]), dtype=batch.dtype)
                batch = np.concatenate([batch, pad])
            emb = self.embed_waveforms(batch)[: len(pending)]
            for (k, _), e in zip(pending, emb):
                if k in tracks:
                    tracks[k]["emb"].append(e)
            pending.clear()
            pending_ids.clear()

        def finished() -> Iterator[TrackResult]:
            nonlocal next_out
            while next_out in tracks:
                k = next_out
                t = tracks[k]
                if not t["done"] or k in pending_ids:
                    return
                del tracks[k]
                next_out += 1
                res = TrackResult(k, t["source"])
                if t["error"] is not None:
                    res.error = t["error"]
                else:
                    silent = np.array(t["silent"], dtype=bool)
                    if silent.all():
                        res.error = SilentAudioError(t["source"], silence_db)
                    else:
                        res.embedding = TrackEmbedding(
                            source=t["source"],
                            raw=np.stack(t["emb"]).astype(np.float32),
                            timestamps=np.array(t["ts"], dtype=np.float64).reshape(-1, 2)
                            / sr_model,
                            silent=silent,
                            instruments=self.instruments,
                            subspace_dim=self.subspace_dim,
                            duration=t["duration"],
                        )
                src.release(k)
                if progress is not None:
                    progress(res)
                if res.error is not None and on_error == "raise":
                    raise res.error
                yield res

        def track(k: int, source: str) -> dict[str, Any] | None:
            if k < next_out:
                return None  # already handed out (a late message after a worker crash)
            if k not in tracks:
                tracks[k] = {
                    "source": source,
                    "emb": [],
                    "ts": [],
                    "silent": [],
                    "done": False,
                    "error": None,
                    "duration": 0.0,
                }
            return tracks[k]

        try:
            while True:
                msg = src.get()
                if msg is None:  # nothing is being decoded: run what is waiting
                    flush()
                    yield from finished()
                    continue
                kind = msg[0]
                if kind == "stop":
                    break
                if kind == "fatal":
                    raise msg[1]
                k, source = msg[1], msg[2]
                t = track(k, source)
                if t is None or t["done"]:
                    continue
                if kind == "segs":
                    spans, audio, silent = msg[3], msg[4], msg[5]
                    t["ts"].extend(spans.tolist())
                    t["silent"].extend(silent.tolist())
                    for row in audio:
                        pending.append((k, row))
                        pending_ids[k] = pending_ids.get(k, 0) + 1
                        if len(pending) >= batch_size:
                            flush()
                            yield from finished()
                elif kind == "end":
                    t["done"], t["duration"] = True, msg[3]
                    yield from finished()
                else:  # err
                    t["done"], t["error"] = True, msg[3]
                    yield from finished()
                if pending and src.idle():
                    flush()
                    yield from finished()
            flush()
            yield from finished()
        finally:
            src.close()

    def embed_track(
        self,
        audio: AudioInput,
        sr: int | None = None,
        *,
        segment_seconds: float | None = None,
        hop_seconds: float | None = None,
        batch_size: int = 32,
    ) -> TrackEmbedding:
        """Embed one file or array; see :class:`TrackEmbedding` for what comes back.

        Raises
        ------
        AudioDecodeError, EmptyAudioError, NonFiniteAudioError, SilentAudioError
        """
        (res,) = self.embed_files(
            [audio],
            sr=sr,
            batch_size=batch_size,
            segment_seconds=segment_seconds,
            hop_seconds=hop_seconds,
        )
        assert res.embedding is not None
        return res.embedding

    def embed(
        self,
        audio: AudioInput,
        sr: int | None = None,
        *,
        focus: Focus = None,
        aggregate: str | None = "mean",
        segment_seconds: float | None = None,
        hop_seconds: float | None = None,
        batch_size: int = 32,
    ) -> np.ndarray:
        """Embed a file or array and return float32 vectors.

        Parameters
        ----------
        audio : path or np.ndarray [shape=(n_samples,) or (n_samples, n_channels)]
        sr : int [Hz] or None
            Rate of an array input (required then); ignored for files.
        focus : str, sequence of str or None
            Instrument(s) whose sub-spaces to return; ``None``: all.
        aggregate : {"mean", None}
            ``"mean"``: one track vector (mean of non-silent segments, each sub-space
            L2-normalised); ``None``: one vector per segment.

        Returns
        -------
        np.ndarray [dtype=float32]
            ``(embedding_dim,)``; ``(subspace_dim,)`` for one focus; ``(n_segments, d)``
            with ``aggregate=None``.
        """
        _focus_list(focus, self.instruments)  # fail before any work
        if aggregate not in ("mean", None, "none"):
            raise ConfigError("aggregate", f"got {aggregate!r}; valid: 'mean', None")
        te = self.embed_track(
            audio,
            sr,
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
    path_or_array: AudioInput,
    focus: Focus = None,
    sr: int | None = None,
    aggregate: str | None = "mean",
    model: str | os.PathLike | Extractor | None = None,
    segment_seconds: float = 3.0,
    hop_seconds: float = 1.5,
) -> np.ndarray:
    """Embed one file or array with a cached :class:`Extractor`.

    Parameters
    ----------
    path_or_array : path or np.ndarray [shape=(n_samples,) or (n_samples, n_channels)]
    focus : str, sequence of str or None
        Instrument(s) to keep (see ``instsim.INSTRUMENTS``); ``None``: all.
    sr : int [Hz] or None
        Sample rate of an array input.
    aggregate : {"mean", None}
        ``"mean"``: one track vector; ``None``: one vector per segment.
    model : str, path, Extractor or None
        Model name/folder/Hub repo id, or an Extractor; ``None``: the bundled default.
    segment_seconds, hop_seconds : float [seconds]

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
    ext = _cached_extractor(model)
    return ext.embed(
        path_or_array,
        sr,
        focus=focus,
        aggregate=aggregate,
        segment_seconds=segment_seconds,
        hop_seconds=hop_seconds,
    )
