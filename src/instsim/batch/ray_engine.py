"""The Ray engine: decoding in Ray tasks, the network in a pool of Ray actors.

:func:`ray_results` is what :class:`~.engine.RayEngine` runs; it yields the same
:class:`~instsim.TrackResult` stream as :meth:`Extractor.embed_files`, one per
path and in input order, so the run around it (resume, sinks, ``failures.jsonl``,
progress) is the local engine's, unchanged. The pipeline is one Ray Data dataset:

1. ``from_items`` over the paths to embed (``{"index", "path"}`` rows).
2. ``map_batches(_decode)`` in CPU tasks (spread over the nodes), one file per
   call: decode, resample and cut into segments (:func:`instsim.decode.decode_item`,
   the local engine's code), streamed a chunk at a time. One row per segment (its
   audio, span and level), then one end row per file (its segment count and
   duration, or the pickled error that stopped decoding), so a bad file is a
   failure of that file, never of the job.
3. ``map_batches(_Embedder)`` in an ``ActorPoolStrategy`` pool: each actor loads
   the model once (on a GPU when ``num_gpus > 0``) and embeds ``batch_size``
   segments per forward pass, zero-padded to ``batch_size`` like the local
   engine's ``pad_batches``, so a segment's embedding does not depend on the
   segments that shared its batch.
4. The driver (this process) gathers each track's segments, decides silence
   exactly as the local engine does, and hands results out in input order.

Fault tolerance: Ray Data restarts a killed actor and retries its batches, and the
driver keeps the first copy of each ``(track, segment)`` and ignores repeats, so a
lost worker neither loses nor duplicates a track. Outputs are written by the
driver only, through the same atomic staging as the local engine, so the output
folder must be reachable from the driver; the inputs must be readable, by the same
paths, from every node (a shared file system).
"""

from __future__ import annotations

import copy
import logging
import os
import pickle
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InstsimError, WorkerLostError

if TYPE_CHECKING:  # pragma: no cover
    from ..extractor import Extractor, TrackResult
    from .engine import RayEngine
    from .provenance import RunParams

__all__ = ["ray_results"]

#: Files per input block: a block is one decoding task's list of files.
_FILES_PER_BLOCK = 16
#: Memory reserved per decoding task [bytes]: one decoded block and one chunk of
#: segments, with room to spare.
_DECODE_MEMORY = 256 * 2**20


def ray_results(
    engine: RayEngine,
    extractor: Extractor,
    paths: Iterable[str],
    run: RunParams,
    batch_size: int,
) -> Generator[TrackResult, None, None]:
    """Embed ``paths`` on Ray: one :class:`~instsim.TrackResult` per path, in input order.

    Parameters
    ----------
    engine : RayEngine
        Cluster address, actors, GPUs and threads per actor.
    extractor : Extractor
        The model; its weights are shipped to the actors once (Ray object store).
    paths : iterable of str
        The inputs to embed (read in full before the cluster starts).
    run : RunParams
        Segmentation.
    batch_size : int > 0
        Segments per forward pass.

    Yields
    ------
    TrackResult
        ``error`` set for an input that failed (decoding, silence, or a lost worker).
    """
    import ray
    import ray.data

    from ..decode import DecodeParams

    todo = list(paths)
    if not todo:
        return
    seg = extractor.segmentation(segment_seconds=run.segment_seconds, hop_seconds=run.hop_seconds)
    started = _connect(ray, engine.address)
    quiet = logging.getLogger("ray.data")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # no "execution finished" lines under instsim's bar
    ctx = ray.data.DataContext.get_current()
    before = ctx.enable_progress_bars, ctx.print_on_execution_start
    ctx.enable_progress_bars = ctx.print_on_execution_start = False  # instsim draws its own bar
    try:
        # the model's object ref lives as long as the run: a restarted actor reads it again
        ds, _model_ref = _pipeline(
            ray, engine, extractor, todo, DecodeParams(None, seg), batch_size
        )
        yield from _gather(extractor, todo, ds.iter_batches(batch_size=None, batch_format="numpy"))
    finally:
        quiet.setLevel(level)
        ctx.enable_progress_bars, ctx.print_on_execution_start = before
        if started:
            ray.shutdown()


def _connect(ray: Any, address: str | None) -> bool:
    """Join ``address`` or start a local Ray; True when this call started it (so shuts it down)."""
    if ray.is_initialized():
        return False
    if address is not None:
        from ..errors import ConfigError

        try:
            ray.init(address=address, logging_level=logging.WARNING)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise ConfigError(
                "address", f"cannot join the Ray cluster at {address!r}: {exc}"
            ) from None
        return True
    # a local Ray for this run: its workers do the command's work, so they run at the
    # command's priority (Ray's default starts workers at nice 15, starved on a busy machine)
    ray.init(
        address="local",
        include_dashboard=False,
        logging_level=logging.WARNING,
        _system_config={"worker_niceness": 0},
    )
    return True


def _pipeline(
    ray: Any,
    engine: RayEngine,
    extractor: Extractor,
    todo: list[str],
    params: Any,
    batch_size: int,
) -> tuple[Any, Any]:
    """The dataset of embedded segments (decode tasks, then the actor pool), and the model's ref."""
    threads = engine.threads or 1
    gpus = engine.num_gpus
    actors = engine.num_workers or _default_actors(ray, gpus)
    _check_cpus(ray, actors, threads, gpus)
    model = extractor.model
    if next(model.parameters()).device.type != "cpu":
        model = copy.deepcopy(model).to("cpu")
    model_ref = ray.put((model, extractor.model_id, extractor.revision))
    # absolute paths: a worker's current folder is not the driver's
    # (errors name the input as given: see _as_given)
    items = [{"index": i, "path": os.path.abspath(p), "given": p} for i, p in enumerate(todo)]
    blocks = max(1, min(len(items), max(64, len(items) // _FILES_PER_BLOCK)))
    ds = ray.data.from_items(items, override_num_blocks=blocks)
    ds = ds.map_batches(
        _decode,
        fn_kwargs={"params": params},
        batch_size=1,
        batch_format="numpy",
        num_cpus=1,
        # a logical reservation (a node runs no more decoders than its memory holds);
        # requirements unlike the actors' also keep Ray Data from fusing decoding into
        # the actors: decoding stays in CPU tasks (spread over the nodes: Ray Data's default)
        memory=_DECODE_MEMORY,
    )
    ds = ds.map_batches(
        _Embedder,
        fn_constructor_kwargs={
            "model_ref": model_ref,
            "batch_size": batch_size,
            "gpu": gpus > 0,
            "threads": threads,
        },
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=threads,
        num_gpus=gpus or None,
    )
    return ds, model_ref


def _check_cpus(ray: Any, actors: int, threads: int, gpus: float) -> None:
    """CPU actors must leave a CPU for the decoding tasks, or the run would wait forever."""
    from ..errors import ConfigError

    cpus = int(ray.cluster_resources().get("CPU", 0))
    need = (0 if gpus > 0 else actors * threads) + 1
    if cpus < need:
        raise ConfigError(
            "num_workers",
            f"{actors} network actor(s) x {threads} CPU(s) leave no CPU for decoding: the "
            f"Ray cluster has {cpus} CPU(s) and needs {need}; use fewer actors (at most "
            f"{max(0, (cpus - 1) // threads)}) or a larger cluster",
        )


def _default_actors(ray: Any, gpus: float) -> int:
    """One actor per GPU (``gpus`` each), else half the cluster's CPUs (at least 1)."""
    res = ray.cluster_resources()
    if gpus > 0:
        return max(1, int(res.get("GPU", 0) // gpus))
    return max(1, int(res.get("CPU", 1)) // 2)


def _as_given(exc: InstsimError, path: str, given: str) -> InstsimError:
    """``exc`` naming the input as the user gave it (workers read it by its absolute path)."""
    if path == given:
        return exc
    exc.args = tuple(a.replace(path, given) if isinstance(a, str) else a for a in exc.args)
    for key, value in vars(exc).items():
        if isinstance(value, str):
            setattr(exc, key, value.replace(path, given))
    return exc


# ---- stage 2: decoding (a Ray task per block of files) --------------------------------------
def _decode(batch: dict[str, np.ndarray], params: Any) -> Iterator[dict[str, np.ndarray]]:
    """Decode the files of ``batch``: one row per segment, then one end row per file.

    Segments are yielded a chunk at a time (:class:`~instsim.decode.Segments`), so
    memory holds one chunk, not a whole file. Columns: ``index`` (input position),
    ``seg`` (segment number; -1 on the end row), ``audio`` ``(n, segment_length)``
    float32 (zeros on the end row), ``start``/``end`` [samples], ``rms_db``
    [dBFS], and on the end row the track's ``n_segments`` and ``duration`` [s]
    and ``error`` (the pickled :class:`InstsimError` that stopped decoding; empty
    when none, and on segment rows).
    """
    from ..decode import Finished, decode_item

    length = params.segmentation.length
    for index, path, given in zip(batch["index"], batch["path"], batch["given"]):
        index, path = int(index), str(path)
        n = 0
        duration = 0.0
        error = b""
        try:
            for msg in decode_item(index, path, params):
                if isinstance(msg, Finished):
                    duration = msg.duration
                    continue
                k = len(msg.audio)
                yield _rows(
                    index,
                    np.arange(n, n + k),
                    msg.audio,
                    msg.spans,
                    msg.rms_db,
                    n_segments=0,
                    duration=0.0,
                    error=b"",
                )
                n += k
        except InstsimError as exc:  # a bad file: its end row says why, the job goes on
            error = pickle.dumps(_as_given(exc, path, str(given)))
        yield _rows(
            index,
            np.array([-1]),
            np.zeros((1, length), np.float32),
            np.zeros((1, 2), np.int64),
            np.zeros(1),
            n_segments=n,
            duration=duration,
            error=error,
        )


def _rows(
    index: int,
    seg: np.ndarray,
    audio: np.ndarray,
    spans: np.ndarray,
    rms_db: np.ndarray,
    *,
    n_segments: int,
    duration: float,
    error: bytes,
) -> dict[str, np.ndarray]:
    k = len(seg)
    return {
        "index": np.full(k, index, dtype=np.int64),
        "seg": seg.astype(np.int64),
        "audio": np.asarray(audio, dtype=np.float32),
        "start": spans[:, 0].astype(np.int64),
        "end": spans[:, 1].astype(np.int64),
        "rms_db": np.asarray(rms_db, dtype=np.float64),
        "n_segments": np.full(k, n_segments, dtype=np.int64),
        "duration": np.full(k, duration, dtype=np.float64),
        "error": np.array([error] * k, dtype=object),
    }


# ---- stage 3: the network (an actor pool) ---------------------------------------------------
class _Embedder:
    """A Ray Data actor: loads the model once, embeds batches of segment rows.

    Parameters
    ----------
    model_ref : ObjectRef
        ``(model, model_id, revision)`` in the object store.
    batch_size : int
        Every forward pass has this many rows (zero-padded), as in the local engine.
    gpu : bool
        Run on the actor's GPU.
    threads : int
        Torch threads on a CPU.
    """

    def __init__(self, model_ref: Any, batch_size: int, gpu: bool, threads: int) -> None:
        import ray
        import torch

        from ..extractor import Extractor

        model, model_id, revision = ray.get(model_ref)
        if not gpu:
            torch.set_num_threads(threads)
        self.ext = Extractor(model, model_id, revision, device="cuda" if gpu else "cpu")
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        real = np.flatnonzero(batch["seg"] >= 0)
        d = self.ext.embedding_dim
        emb = np.zeros((len(batch["seg"]), d), dtype=np.float32)
        audio = batch["audio"]
        for lo in range(0, len(real), self.batch_size):
            rows = real[lo : lo + self.batch_size]
            x = np.asarray(audio[rows], dtype=np.float32)
            if len(x) < self.batch_size:  # same-shape passes: independent of batch neighbours
                x = np.concatenate([x, np.zeros((self.batch_size - len(x), x.shape[1]), x.dtype)])
            emb[rows] = self.ext.embed_waveforms(x)[: len(rows)]
        out = {k: v for k, v in batch.items() if k != "audio"}
        out["emb"] = emb
        return out


# ---- stage 4: the driver gathers tracks, in input order -------------------------------------
@dataclass
class _Track:
    """Segments of one input received so far (keyed by segment number: repeats ignored)."""

    n_segments: int | None = None  # known from the track's end row
    duration: float = 0.0
    parts: dict[int, tuple[np.ndarray, int, int, float]] = field(default_factory=dict)


def _gather(
    extractor: Extractor, todo: list[str], batches: Iterable[dict[str, np.ndarray]]
) -> Generator[TrackResult, None, None]:
    """Assemble each input's result from its rows; yield results in input order."""
    from ..extractor import TrackResult

    tracks: dict[int, _Track] = {}
    ready: dict[int, TrackResult] = {}
    next_out = 0
    for b in batches:
        for i in range(len(b["index"])):
            k = int(b["index"][i])
            if k < next_out or k in ready:
                continue  # a repeat (a retried batch) of a track already complete
            err = b["error"][i]
            if err:
                ready[k] = TrackResult(k, todo[k], error=pickle.loads(err))
                tracks.pop(k, None)
                continue
            t = tracks.setdefault(k, _Track())
            seg = int(b["seg"][i])
            if seg >= 0:
                t.parts.setdefault(
                    seg,
                    (b["emb"][i], int(b["start"][i]), int(b["end"][i]), float(b["rms_db"][i])),
                )
            else:  # the end row: how many segments to wait for
                t.n_segments, t.duration = int(b["n_segments"][i]), float(b["duration"][i])
            if t.n_segments is not None and len(t.parts) >= t.n_segments:
                ready[k] = _result(extractor, k, todo[k], t)
                del tracks[k]
        while next_out in ready:
            yield ready.pop(next_out)
            next_out += 1
    for k in range(next_out, len(todo)):  # never came back: a failure, never a silent loss
        yield ready.pop(k, None) or TrackResult(k, todo[k], error=WorkerLostError(todo[k]))


def _result(extractor: Extractor, k: int, source: str, t: _Track) -> TrackResult:
    """The local engine's assembly (:func:`instsim.extractor._track_result`) of a gathered track."""
    from ..extractor import _Assembly, _track_result

    order = sorted(t.parts)
    a = _Assembly(source, done=True, duration=t.duration)
    if order:
        a.emb = [t.parts[j][0] for j in order]
        a.spans = [np.array([[t.parts[j][1], t.parts[j][2]] for j in order], dtype=np.int64)]
        a.rms_db = [np.array([t.parts[j][3] for j in order], dtype=np.float64)]
    return _track_result(extractor, k, a)
