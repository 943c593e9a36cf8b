"""The batch run: inputs in, one output per track, failures recorded, progress reported.

:func:`extract_batch` reads top to bottom: check the arguments, open the output
folder (:class:`~.staging.Staging`) and the format's sink, then stream the
inputs through the extractor. Between the two sits a queue (:class:`_Queue`) that
keeps the inputs' order: an input is either skipped (its output is up to date),
a problem found while collecting inputs, or embedded; skips and problems are
settled in input order just before the next embedded result is written.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from .. import _validate
from ..errors import ConfigError, InstsimError
from .engine import ENGINES, _cores, default_threads, make_engine
from .inputs import InputCollection, InputItem, InputProblem
from .progress import BatchSummary, Reporter
from .provenance import RunParams, dumps, source_stamp
from .sinks import Sink, sink_factory
from .staging import Staging

if TYPE_CHECKING:  # pragma: no cover
    from ..extractor import Extractor, TrackResult

__all__ = [
    "AGGREGATES",
    "ENGINES",
    "FAILURES_NAME",
    "default_threads",
    "default_workers",
    "extract_batch",
]

#: ``"mean"``: one vector per track; ``"none"``: one per segment.
AGGREGATES = ("mean", "none")
FAILURES_NAME = "failures.jsonl"


def default_workers(device: str = "cpu") -> int:
    """Decoding processes to use when not told.

    On a CPU, decoding and the network share the cores: up to 2 cores, one
    background thread decodes (0 processes: no inter-process copies); then a
    quarter of the cores decode. With a GPU the network is rarely the slower
    stage: every core but one decodes.
    """
    n = _cores()
    if device.startswith("cuda"):
        return max(1, n - 1)
    return 0 if n <= 2 else max(1, n // 4)


def extract_batch(
    inputs: Sequence[str | os.PathLike],
    output_dir: str | os.PathLike,
    extractor: Extractor,
    *,
    lists: Sequence[str | os.PathLike] = (),
    fmt: str = "npz",
    focus: Sequence[str] | None = None,
    aggregate: str = "mean",
    segment_seconds: float | None = None,
    hop_seconds: float | None = None,
    batch_size: int = 32,
    workers: int = 0,
    threads: int | None = None,
    overwrite: bool = False,
    fail_fast: bool = False,
    reporter: Reporter | None = None,
    engine: str = "local",
    address: str | None = None,
    num_workers: int | None = None,
    num_gpus: float = 0.0,
) -> BatchSummary:
    """Embed a collection of audio files into ``output_dir``.

    Parameters
    ----------
    inputs : sequence of path
        Files and folders (see :class:`InputCollection`); a folder holding no
        audio file is recorded as a failure.
    output_dir : path
        Created if needed. Receives one ``<relpath>.npz`` per track (``fmt="npz"``)
        or ``embeddings.parquet`` (``fmt="parquet"``), and ``failures.jsonl`` when
        something failed.
    extractor : Extractor
        The model.
    lists : sequence of path
        Text files listing inputs, one per line (``"-"``: standard input).
    fmt : {"npz", "parquet"}
        A format registered in :data:`~instsim.batch.sinks.SINKS`.
    focus : sequence of str or None
        Sub-spaces to keep, in this order; ``None``: all of the model's.
    aggregate : {"mean", "none"}
        One vector per track, or one per segment.
    segment_seconds, hop_seconds : float [seconds] or None
        Segmentation; ``None``: the model's defaults.
    batch_size : int > 0
        Segments per forward pass (segments of several files share a batch).
    workers : int >= 0
        Local engine: decoding processes (0: one background thread).
    threads : int > 0 or None
        Local engine: torch threads for the network during the run (restored
        afterwards); ``None``: :func:`default_threads` on a CPU unless
        ``OMP_NUM_THREADS`` is set, unchanged on a GPU. Ray engine: CPUs and
        torch threads of each network actor (``None``: 1).
    overwrite : bool
        Redo every input, even those with up-to-date outputs.
    fail_fast : bool
        Stop at the first failed input (the parquet table is then not written;
        the finished tracks are kept for the next run).
    reporter : Reporter or None
        Progress events (:class:`TqdmReporter` draws a bar).
    engine : {"local", "ray"}
        Where decoding and the network run (:mod:`~instsim.batch.engine`): this
        process, or a Ray cluster (needs ``instsim[ray]``). Outputs, failures,
        resume and the summary are the same either way.
    address : str or None
        Ray engine: the cluster to join; ``None``: a local Ray for the run.
    num_workers : int > 0 or None
        Ray engine: network actors (each loads the model once); ``None``: one per
        GPU with ``num_gpus``, else half the cluster's CPUs.
    num_gpus : float >= 0
        Ray engine: GPUs per network actor (0: CPU actors).

    Returns
    -------
    BatchSummary

    Raises
    ------
    ConfigError
        Bad ``fmt`` (or its extra not installed), ``aggregate``, segment
        parameters, ``batch_size``, ``workers``, ``threads`` or engine option; an
        output folder that is a file or is in use by another run.
    MissingExtraError
        ``engine="ray"`` without ``instsim[ray]`` installed.
    UnknownInstrumentError
        ``focus`` names a sub-space the model does not have.
    """
    t0 = time.perf_counter()
    make_sink = sink_factory(fmt)
    run = _run_params(extractor, focus, aggregate, segment_seconds, hop_seconds)
    batch_size = _validate.positive_int("batch_size", batch_size)
    runner = make_engine(
        engine,
        workers=workers,
        threads=threads,
        address=address,
        num_workers=num_workers,
        num_gpus=num_gpus,
    )
    outdir = _output_folder(output_dir)
    staging = Staging(outdir)
    staging.open()
    reporter = reporter or Reporter()
    summary = BatchSummary()
    collection = InputCollection(inputs, lists, exclude=[staging.root])
    failures = _FailureLog(outdir / FAILURES_NAME)
    try:
        sink = make_sink(outdir, staging, run)
        summary.output = sink.output
        reporter.start(collection.count() if reporter.wants_total else None)
        outcome = _Outcome(sink, summary, reporter, failures, fail_fast)
        queue = _Queue(collection, sink, overwrite)
        _write_results(runner.results(extractor, queue.paths(), run, batch_size), queue, outcome)
        if not summary.stopped:
            queue.settle(outcome)  # problems and skips after the last embedded input
        if not summary.stopped:
            sink.finish()
    finally:
        summary.failures = failures.close()
        collection.close()
        staging.close()
        summary.wall_seconds = time.perf_counter() - t0
        reporter.close(summary)
    return summary


# ---- the parts of a run, in the order extract_batch uses them -----------------------------
def _run_params(
    extractor: Extractor,
    focus: Sequence[str] | None,
    aggregate: str,
    segment_seconds: float | None,
    hop_seconds: float | None,
) -> RunParams:
    """Check what the outputs depend on, resolved against the model's config."""
    _validate.choice("aggregate", aggregate, AGGREGATES)
    names = extractor.resolve_focus(list(focus) if focus else None)
    seg = extractor.segmentation(segment_seconds=segment_seconds, hop_seconds=hop_seconds)
    return RunParams(extractor, names, aggregate, seg.segment_seconds, seg.hop_seconds)


def _output_folder(output_dir: str | os.PathLike) -> Path:
    outdir = Path(output_dir)
    if outdir.exists() and not outdir.is_dir():
        raise ConfigError("output_dir", f"{str(outdir)!r} exists and is not a folder")
    outdir.mkdir(parents=True, exist_ok=True)
    return outdir


class _FailureLog:
    """``failures.jsonl``: describes the latest run only, written only when something fails."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def write(self, path: str, error: str, message: str) -> None:
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")
        self._file.write(dumps({"path": path, "error": error, "message": message}) + "\n")
        self._file.flush()

    def close(self) -> Path | None:
        """Close the file; its path when something failed."""
        if self._file is None:
            return None
        self._file.close()
        self._file = None
        return self.path


@dataclass
class _Outcome:
    """What becomes of each input: the sink, the summary, the reporter and the failure log."""

    sink: Sink
    summary: BatchSummary
    reporter: Reporter
    failures: _FailureLog
    fail_fast: bool

    def skipped(self, item: InputItem) -> None:
        self.sink.record(item)
        self.summary.skipped += 1
        self.reporter.item("skipped", item.path)

    def problem(self, p: InputProblem) -> None:
        if p.fatal:
            self.failed(p.path, p.error, p.message)
        else:
            self.reporter.warning(p.path, p.message)

    def embedded(self, job: _Embed, res: TrackResult) -> None:
        if res.error is not None:
            self.failed(job.item.path, type(res.error).__name__, str(res.error))
            return
        te = res.embedding
        assert te is not None
        try:
            self.sink.write(job.item, te, job.stamp)
        except (OSError, InstsimError) as exc:
            self.failed(job.item.path, type(exc).__name__, f"cannot write output: {exc}")
            return
        self.sink.record(job.item)
        self.summary.done += 1
        self.summary.audio_seconds += te.duration
        self.reporter.item("done", job.item.path, te.duration)

    def failed(self, path: str, error: str, message: str) -> None:
        self.failures.write(path, error, message)
        self.summary.failed += 1
        self.reporter.failure(path, error, message)
        self.reporter.item("failed", path)
        if self.fail_fast:
            self.summary.stopped = True


@dataclass(frozen=True)
class _Skip:
    """An input whose output is up to date."""

    item: InputItem


@dataclass(frozen=True)
class _Embed:
    """An input handed to the extractor, with the file stamp its output will record."""

    item: InputItem
    stamp: dict[str, int] | None


class _Queue:
    """The inputs in order, between the collection and the extractor.

    :meth:`paths` walks the collection (in the extractor's decoding thread),
    queues every input as a :class:`_Skip`, an :class:`InputProblem` or an
    :class:`_Embed`, and yields the paths to embed. :meth:`next_embedded`
    settles the skips and problems queued before the next embedded input.
    """

    def __init__(self, collection: InputCollection, sink: Sink, overwrite: bool) -> None:
        self.collection = collection
        self.sink = sink
        self.overwrite = overwrite
        self.events: deque[_Skip | InputProblem | _Embed] = deque()

    def paths(self) -> Iterator[str]:
        for x in self.collection:
            if isinstance(x, InputProblem):
                self.events.append(x)
                continue
            stamp = source_stamp(x.path)
            if not self.overwrite and self.sink.is_done(x, stamp):
                self.events.append(_Skip(x))
                continue
            self.events.append(_Embed(x, stamp))
            yield x.path

    def next_embedded(self, outcome: _Outcome) -> _Embed | None:
        """Settle what comes before the next embedded input and return it (``None``:
        nothing left, or ``fail_fast`` stopped the run)."""
        while self.events and not outcome.summary.stopped:
            ev = self.events.popleft()
            if isinstance(ev, _Embed):
                return ev
            if isinstance(ev, _Skip):
                outcome.skipped(ev.item)
            else:
                outcome.problem(ev)
        return None

    def settle(self, outcome: _Outcome) -> None:
        """Settle the skips and problems left after the last embedded input."""
        self.next_embedded(outcome)


def _write_results(
    results: Generator[TrackResult, None, None], queue: _Queue, outcome: _Outcome
) -> None:
    """Hand each result (they come in input order) to the sink, settling the queue on the way."""
    try:
        for res in results:
            job = queue.next_embedded(outcome)
            if job is None:  # fail_fast stopped the run on a problem queued before it
                break
            assert job.item.path == res.source
            outcome.embedded(job, res)
            if outcome.summary.stopped:
                break
    finally:
        results.close()
