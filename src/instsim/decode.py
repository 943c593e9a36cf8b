"""Decoding ahead of the network: one background thread, or several worker processes.

:meth:`instsim.Extractor.embed_files` consumes *messages* describing the inputs'
segments; this module produces them. :func:`decode_item` turns one input (a
path or an array) into chunks of equal-length segments with their timestamps
and silence flags. Two producers run it ahead of the network:

* :class:`ThreadDecoder` (``workers=0``): one background thread, inputs in order.
* :class:`ProcessDecoder` (``workers=N``): ``N`` processes, each decoding whole
  files; at most a bounded window of files is in flight, so memory does not
  grow with the collection, and a crashed worker fails only its own file.

Messages are small frozen dataclasses (``index`` is the input's position in
``inputs``, ``source`` its name)::

    Segments(index, source, spans [n, 2] int64 samples, audio [n, length] float32,
             rms_db [n] float64 dBFS)
    Finished(index, source, duration)   # seconds of decoded audio
    Failed(index, source, error)        # an InstsimError: this input has no embedding
    Fatal(error)                        # a bug or a failing input iterator: re-raised
    Stop()                              # no more messages

Silence is not decided here: it is relative to the track's loudest segment,
which is known only once the whole track is decoded, so the consumer gates
the per-segment levels at :class:`Finished`.

This module imports no torch, so worker processes start fast and stay small.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import pickle
import queue
import signal
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from . import _validate
from .audio import resample, stream_audio, valid_audio
from .errors import AudioDecodeError, InstsimError
from .segments import Segmentation, segment_rms_db, segment_stream

__all__ = [
    "DecodeParams",
    "Failed",
    "Fatal",
    "Finished",
    "Message",
    "ProcessDecoder",
    "Segments",
    "Stop",
    "ThreadDecoder",
    "decode_item",
    "source_name",
]

_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class DecodeParams:
    """What a decoder needs to know to cut inputs into segments.

    Attributes
    ----------
    sr : int [Hz] or None
        Rate of array inputs (files carry their own).
    segmentation : Segmentation
        Segment length and hop, and the model's rate everything is resampled to.
    chunk : int
        Segments per message (fewer messages, same results).
    block_seconds : float [seconds]
        Length of the blocks files are decoded in (memory holds about one block).
    """

    sr: int | None
    segmentation: Segmentation
    chunk: int = 16
    block_seconds: float = 10.0


# ---- messages -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Segments:
    """Up to ``DecodeParams.chunk`` consecutive segments of input ``index``.

    Attributes
    ----------
    spans : np.ndarray [shape=(n, 2), dtype=int64] [samples]
        Start and end of the real audio in each segment, at the model's rate.
    audio : np.ndarray [shape=(n, segment_length), dtype=float32]
    rms_db : np.ndarray [shape=(n,), dtype=float64] [dBFS]
        RMS level of each segment's real audio.
    """

    index: int
    source: str
    spans: np.ndarray
    audio: np.ndarray
    rms_db: np.ndarray


@dataclass(frozen=True)
class Finished:
    """Input ``index`` is completely decoded: ``duration`` seconds of audio."""

    index: int
    source: str
    duration: float


@dataclass(frozen=True)
class Failed:
    """Input ``index`` cannot be decoded; ``error`` says why."""

    index: int
    source: str
    error: Any  # an InstsimError (a _PackedError while crossing a process boundary)


@dataclass(frozen=True)
class Fatal:
    """A bug or a failing input iterator: the consumer re-raises ``error``."""

    error: Any


@dataclass(frozen=True)
class Stop:
    """No more messages."""


@dataclass(frozen=True)
class _Started:
    """Sent by a worker process before it decodes input ``index`` (never leaves this module)."""

    index: int


Message = Segments | Finished | Failed | Fatal | Stop


def source_name(item: object) -> str:
    """What to call an input in results and errors: its path, or ``"<array>"``."""
    return "<array>" if isinstance(item, np.ndarray) else str(item)


def decode_item(index: int, item: Any, params: DecodeParams) -> Iterator[Segments | Finished]:
    """Decode input ``index`` into :class:`Segments` chunks, then :class:`Finished`.

    Memory holds one decoded block (``params.block_seconds``) and one chunk.

    Raises
    ------
    InstsimError
        The input cannot be decoded (missing, corrupt, truncated, empty, NaN).
    ConfigError
        An array input without ``params.sr``, or something neither a path nor an array.
    """
    seg = params.segmentation
    sr_model = seg.sample_rate
    source = source_name(item)
    if isinstance(item, np.ndarray):
        rate = _validate.audio_input(item, params.sr)
        y = valid_audio(item, "<array>")
        blocks: Iterable[np.ndarray] = [resample(y, int(rate), sr_model)]  # type: ignore[arg-type]
    else:
        _validate.audio_input(item, None)
        blocks = stream_audio(item, sr_model, block_seconds=params.block_seconds)

    n_samples = 0

    def counted(it: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        nonlocal n_samples
        for b in it:
            n_samples += b.size
            yield b

    spans: list[tuple[int, int]] = []
    audio: list[np.ndarray] = []
    rms_db: list[float] = []

    def chunk() -> Segments:
        out = Segments(
            index,
            source,
            np.array(spans, dtype=np.int64).reshape(-1, 2),
            np.stack(audio),
            np.array(rms_db, dtype=np.float64),
        )
        spans.clear()
        audio.clear()
        rms_db.clear()
        return out

    for s in segment_stream(counted(blocks), seg.length, seg.hop):
        spans.append((s.start, s.end))
        audio.append(s.audio)
        rms_db.append(segment_rms_db(s.audio[: s.end - s.start]))
        if len(audio) >= params.chunk:
            yield chunk()
    if audio:
        yield chunk()
    yield Finished(index, source, n_samples / sr_model)


def _messages(index: int, item: Any, params: DecodeParams) -> Iterator[Message]:
    """:func:`decode_item`, with an :class:`InstsimError` turned into :class:`Failed`."""
    try:
        yield from decode_item(index, item, params)
    except InstsimError as exc:
        yield Failed(index, source_name(item), exc)


@dataclass
class _PackedError:
    """An exception in a form that survives pickling.

    instsim's errors take their details as constructor arguments, so the default
    ``Exception`` pickling (``cls(*args)``) cannot rebuild them; this restores
    the class, ``args`` and attributes without calling ``__init__``.
    """

    cls: type
    args: tuple
    state: dict

    @classmethod
    def pack(cls, exc: BaseException) -> _PackedError | BaseException:
        packed = cls(type(exc), exc.args, dict(vars(exc)))
        try:
            pickle.dumps(packed)
        except Exception:
            return RuntimeError(f"{type(exc).__name__}: {exc}")
        return packed

    def unpack(self) -> BaseException:
        exc = self.cls.__new__(self.cls)
        exc.args = self.args
        exc.__dict__.update(self.state)
        return exc


class ThreadDecoder:
    """Decode inputs in order in one background thread (``workers=0``).

    At most ``max_messages`` messages (of up to ``params.chunk`` segments) wait
    in the queue.
    """

    def __init__(self, inputs: Iterable[Any], params: DecodeParams, max_messages: int) -> None:
        self._q: queue.Queue = queue.Queue(maxsize=max(1, max_messages))
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._produce, args=(inputs, params), name="instsim-decode", daemon=True
        )
        self._thread.start()

    def _put(self, msg: Message) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(msg, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, inputs: Iterable[Any], params: DecodeParams) -> None:
        try:
            for k, item in enumerate(inputs):
                for msg in _messages(k, item, params):
                    if not self._put(msg):
                        return
        except BaseException as exc:  # a bug or an iterator failure: hand it to the consumer
            self._put(Fatal(exc))
        finally:
            self._put(Stop())

    def get(self) -> Message | None:
        """The next message (blocks until one is there)."""
        return self._q.get()

    def idle(self) -> bool:
        """Never: this producer runs ahead on its own and ends with :class:`Stop`."""
        return False

    def release(self, k: int) -> None:
        """Input ``k`` was handed to the caller (nothing to do here)."""

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _worker_main(tasks: Connection, results: Connection, params: DecodeParams, depth: int) -> None:
    """Body of a decoding process: receive ``(k, item)`` tasks, send messages back.

    A sender thread ships decoded chunks while the next ones are decoded (up to
    ``depth`` waiting). Before each file, everything about the previous one has
    been delivered and a ``_Started(k)`` message is sent synchronously, so if
    this process dies the parent knows exactly which file it was reading. The
    process ends when the parent sends ``None`` or goes away (the pipes break).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    out: queue.Queue = queue.Queue(maxsize=max(1, depth))
    broken = threading.Event()
    lock = threading.Lock()

    def send(msg: Message | _Started) -> None:
        if broken.is_set():
            return
        try:
            with lock:
                results.send(msg)
        except (OSError, EOFError):  # the parent is gone
            broken.set()

    def sender() -> None:
        while True:
            msg = out.get()
            try:
                if msg is None:
                    return
                send(msg)
            finally:
                out.task_done()

    thread = threading.Thread(target=sender, name="instsim-send", daemon=True)
    thread.start()
    try:
        while not broken.is_set():
            try:
                task = tasks.recv()
            except (EOFError, OSError):
                break
            if task is None:
                break
            k, item = task
            send(_Started(k))
            try:
                for msg in _messages(k, item, params):
                    if isinstance(msg, Failed):  # instsim's errors do not pickle as they are
                        msg = replace(msg, error=_PackedError.pack(msg.error))
                    while not broken.is_set():
                        try:
                            out.put(msg, timeout=_POLL_SECONDS)
                            break
                        except queue.Full:
                            continue
            except BaseException as exc:  # a bug: report it, the consumer re-raises it
                out.join()
                send(Fatal(_PackedError.pack(exc)))
                break
            out.join()  # all of this file is delivered before the next one starts
    finally:
        out.put(None)
        thread.join(timeout=_POLL_SECONDS)


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start processes without re-importing the caller's ``__main__`` in them.

    A "spawn" child normally re-runs the parent's main script first, which fails
    (or recurses) in a script without an ``if __name__ == "__main__":`` guard. The
    decoding workers need nothing from ``__main__`` (their target lives in this
    module and they receive only paths and arrays), so the main module's
    ``__file__`` and ``__spec__`` are hidden while the child is being started.
    """
    main = sys.modules.get("__main__")
    saved = {n: main.__dict__[n] for n in ("__file__", "__spec__") if main and n in main.__dict__}
    try:
        if main is not None:
            main.__dict__.pop("__file__", None)
            if "__spec__" in saved:
                main.__spec__ = None
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)


class _Worker:
    """One decoding process, its two pipes, and the inputs it holds."""

    def __init__(self, ctx: Any, params: DecodeParams, depth: int) -> None:
        task_r, self.tasks = ctx.Pipe(duplex=False)
        self.results, result_w = ctx.Pipe(duplex=False)
        self.outstanding: deque[int] = deque()  # sent, not finished, in order
        self.items: dict[int, Any] = {}
        self.started: int | None = None  # the input it said it is reading
        self.heard = False
        self.process = ctx.Process(
            target=_worker_main, args=(task_r, result_w, params, depth), daemon=True
        )
        with _main_module_hidden():
            self.process.start()
        task_r.close()  # only the child holds these ends now: its death breaks the pipes
        result_w.close()
        # tasks go through a thread: a large array must never block the consumer
        # while the worker waits for the consumer to read its results
        self._todo: queue.Queue = queue.Queue()
        self._feeder = threading.Thread(target=self._feed, name="instsim-tasks", daemon=True)
        self._feeder.start()

    def _feed(self) -> None:
        while True:
            task = self._todo.get()
            try:
                self.tasks.send(task)
            except (OSError, EOFError):  # the worker is gone; the consumer notices
                return
            if task is None:
                return

    def send(self, k: int, item: Any) -> None:
        if isinstance(item, os.PathLike):
            item = os.fspath(item)
        self.outstanding.append(k)
        self.items[k] = item
        self._todo.put((k, item))

    def finished(self, k: int) -> None:
        with contextlib.suppress(ValueError):
            self.outstanding.remove(k)
        self.items.pop(k, None)
        if self.started == k:
            self.started = None

    def stop(self) -> None:
        self._todo.put(None)

    def join(self) -> None:
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=2)
        self._todo.put(None)  # a dead worker's pipe is broken: the feeder ends either way
        self._feeder.join(timeout=2)
        self.results.close()
        self.tasks.close()


class ProcessDecoder:
    """Decode inputs in ``workers`` processes, feeding one consumer.

    Each worker decodes whole files (two queued at most, so none waits for work).
    At most ``window`` inputs are in flight between dispatch and hand-over to the
    caller, which bounds memory whatever the collection size; the consumer sees
    segments of several files interleaved and batches them together.

    If a worker dies (a decoder crash, the OOM killer), the file it was reading
    fails with an :class:`~instsim.errors.AudioDecodeError` and a fresh worker
    takes over the files it had not started.

    Parameters
    ----------
    inputs : iterable
        Paths or arrays; pulled lazily in the caller's thread.
    params : DecodeParams
    workers : int > 0
        Number of decoding processes.
    window : int > 0
        Inputs in flight at most.
    max_messages : int > 0
        Decoded chunks waiting for the consumer at most (all workers together).
    """

    def __init__(
        self,
        inputs: Iterable[Any],
        params: DecodeParams,
        workers: int,
        window: int,
        max_messages: int,
    ) -> None:
        self._ctx = mp.get_context("spawn")  # never fork a process running torch threads
        self._params = params
        self._depth = max(1, max_messages // workers)
        self._inputs = enumerate(inputs)
        self._exhausted = False
        self._window = max(1, window)
        self._inflight: set[int] = set()
        self._ready: deque[Message] = deque()  # messages already read, not yet handed out
        self._workers: list[_Worker] = []
        self._workers = [self._spawn() for _ in range(workers)]

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self._params, self._depth)

    def _dispatch(self) -> None:
        while not self._exhausted and len(self._inflight) < self._window:
            w = min(self._workers, key=lambda w: len(w.outstanding))
            if len(w.outstanding) >= 2:
                return
            try:
                k, item = next(self._inputs)
            except StopIteration:
                self._exhausted = True
                return
            self._inflight.add(k)
            w.send(k, item)

    def _decoding(self) -> int:
        return sum(len(w.outstanding) for w in self._workers)

    def _read(self, w: _Worker) -> bool:
        """Read one message from ``w`` into the ready queue; False when its pipe is closed."""
        try:
            msg = w.results.recv()
        except (EOFError, OSError):
            return False
        w.heard = True
        if isinstance(msg, _Started):
            w.started = msg.index
            return True
        if isinstance(msg, (Failed, Fatal)) and isinstance(msg.error, _PackedError):
            msg = replace(msg, error=msg.error.unpack())
        if isinstance(msg, (Finished, Failed)):
            w.finished(msg.index)
        self._ready.append(msg)
        return True

    def _replace(self, i: int) -> None:
        """Worker ``i`` died: fail the file it was reading, hand the rest to a new one."""
        w = self._workers[i]
        while w.results.poll():  # what it sent before dying
            if not self._read(w):
                break
        code = w.process.exitcode
        w.join()
        if not w.heard:
            raise RuntimeError(
                f"a decoding process failed to start (exit code {code}); "
                "use workers=0 to decode in a thread instead"
            )
        leftover = [(k, w.items[k]) for k in w.outstanding]
        self._workers[i] = new = self._spawn()
        for k, item in leftover:
            if k == w.started:
                err = AudioDecodeError(
                    source_name(item),
                    f"the decoding process died (exit code {code}) while reading this file",
                )
                self._ready.append(Failed(k, source_name(item), err))
            else:
                new.send(k, item)

    def get(self, timeout: float = _POLL_SECONDS) -> Message | None:
        """The next message, :class:`Stop` when all is done, or ``None`` when the
        consumer should run what it has (nothing is being decoded, or ``timeout``)."""
        self._dispatch()
        if self._ready:
            return self._ready.popleft()
        if self._exhausted and not self._inflight:
            return Stop()
        if self._decoding() == 0:
            return None
        conns = {w.results: w for w in self._workers}
        sentinels = {w.process.sentinel: i for i, w in enumerate(self._workers)}
        ready = mp_connection.wait([*conns, *sentinels], timeout)
        for r in ready:
            if r in conns:
                w = conns[r]
                if not self._read(w):  # pipe closed: it died; its sentinel tells
                    w.process.join(timeout=_POLL_SECONDS)
        for i, w in enumerate(self._workers):
            if w.process.exitcode is not None:
                self._replace(i)
        self._dispatch()
        return self._ready.popleft() if self._ready else None

    def idle(self) -> bool:
        """No file is being decoded: the consumer should flush its partial batch."""
        return self._decoding() == 0 and not self._ready

    def release(self, k: int) -> None:
        """Input ``k`` was handed to the caller: its slot in the window is free."""
        self._inflight.discard(k)

    def close(self) -> None:
        for w in self._workers:
            w.stop()
        for w in self._workers:
            w.join()
