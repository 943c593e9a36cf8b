"""Batch extraction: a collection of audio files in, one embedding file per track out.

This is the library behind ``instsim extract`` (see docs/extract.md):

* :class:`InputCollection` finds the inputs (files, folders walked recursively,
  list files) and gives each a *relative path*, the path of the file below the
  deepest folder that holds every input. Outputs mirror these relative paths
  under the output folder, which nothing can escape: relative paths are computed
  lexically from absolute paths and never contain ``..``, and a symlink inside
  the output folder that points elsewhere is refused.
* :func:`extract_batch` runs an :class:`~instsim.Extractor` over them and writes
  ``npz`` files (one per track) or one ``parquet`` table; it skips inputs whose
  outputs exist and were made with the same model, parameters and input file,
  records bad inputs in ``failures.jsonl`` and carries on.

Never losing work: every file is written under ``OUTDIR/.instsim/tmp`` and renamed
into place when complete, so a killed run leaves no half-written output; a rerun
cleans the staging folder and skips what is done. For parquet, each track is
first written as a part file in ``OUTDIR/.instsim/parts`` (the resume cache);
at the end of the run the parts of this run's inputs are merged, in input order,
into ``OUTDIR/embeddings.parquet`` (written to a temporary name, then renamed).
Runs are deterministic: a run killed and restarted ends with the same files,
byte for byte, as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from .audio import AUDIO_EXTENSIONS
from .errors import ConfigError, InstsimError

if TYPE_CHECKING:  # pragma: no cover
    from .extractor import Extractor, TrackEmbedding

__all__ = [
    "AGGREGATES",
    "FORMATS",
    "BatchSummary",
    "InputCollection",
    "InputItem",
    "InputProblem",
    "Reporter",
    "TqdmReporter",
    "default_threads",
    "default_workers",
    "extract_batch",
    "safe_output_path",
]

#: Output formats of :func:`extract_batch`.
FORMATS = ("npz", "parquet")
#: ``"mean"``: one vector per track; ``"none"``: one per segment.
AGGREGATES = ("mean", "none")
#: Staging folder inside the output folder (temporary files, parquet parts, lock).
STAGING = ".instsim"
FAILURES_NAME = "failures.jsonl"
TABLE_NAME = "embeddings.parquet"
_ROWS_PER_GROUP = 8192


# ---- inputs -------------------------------------------------------------------------------
@dataclass(frozen=True)
class InputItem:
    """One input file.

    Attributes
    ----------
    path : str
        The path to open, as given (or as found below a given folder).
    rel : str
        Its POSIX path relative to the collection's base folder (never absolute,
        never containing ``..``): outputs are named after it.
    """

    path: str
    rel: str


@dataclass(frozen=True)
class InputProblem:
    """Something found while collecting inputs.

    ``fatal`` problems (an unreadable folder, a reserved name) mean inputs were
    lost: they are recorded as failures. Others (a symlink loop, a file listed
    twice) are warnings.
    """

    path: str
    error: str
    message: str
    fatal: bool = True


def _is_audio_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS


class InputCollection:
    """The inputs of a batch run, found lazily and in a deterministic order.

    Parameters
    ----------
    paths : sequence of path
        Audio files (taken whatever their extension) and folders (walked
        recursively, in name order, for files with an audio extension; symlinks
        are followed, loops reported and skipped).
    lists : sequence of path
        Text files listing one path (file or folder) per line; blank lines and
        lines starting with ``#`` are ignored; relative paths are relative to the
        list file's folder (``"-"`` reads standard input, relative to the current
        folder).
    exclude : sequence of path
        Folders never entered (the output's staging folder).

    Attributes
    ----------
    base : str
        The deepest folder holding every input (absolute); relative paths are
        relative to it.
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike] = (),
        lists: Sequence[str | os.PathLike] = (),
        exclude: Sequence[str | os.PathLike] = (),
    ) -> None:
        self._paths = [os.fspath(p) for p in paths]
        self._lists: list[tuple[str, str]] = []  # (list file, folder its entries are relative to)
        self._spool: IO[str] | None = None
        for lst in lists:
            lst = os.fspath(lst)
            if lst == "-":
                if self._spool is None:  # read once, replay from a temporary file
                    self._spool = tempfile.TemporaryFile("w+", encoding="utf-8")
                    self._spool.write(sys.stdin.read())
                self._lists.append(("-", os.getcwd()))
            else:
                self._lists.append((lst, os.path.dirname(os.path.abspath(lst))))
        self._exclude = {os.path.realpath(p) for p in exclude}
        self.base = self._common_base()

    def _specs(self) -> Iterator[str]:
        """Every path given, in order: arguments, then each list's entries."""
        yield from self._paths
        for lst, rel_to in self._lists:
            for line in self._lines(lst):
                yield line if os.path.isabs(line) else os.path.join(rel_to, line)

    def _lines(self, lst: str) -> Iterator[str]:
        if lst == "-":
            assert self._spool is not None
            self._spool.seek(0)
        source = contextlib.nullcontext(self._spool) if lst == "-" else open(lst, encoding="utf-8")
        with source as fh:
            for line in fh:
                line = line.rstrip("\r\n")
                if line.strip() and not line.lstrip().startswith("#"):
                    yield line

    def _common_base(self) -> str:
        base: str | None = None
        for spec in self._specs():
            a = os.path.abspath(spec)
            root = a if os.path.isdir(spec) else os.path.dirname(a)
            base = root if base is None else _commonpath(base, root)
        return base or os.getcwd()

    def count(self) -> int:
        """Number of input files (walks folders again; reports nothing)."""
        return sum(1 for x in self._iter(report=False) if isinstance(x, InputItem))

    def __iter__(self) -> Iterator[InputItem | InputProblem]:
        return self._iter(report=True)

    def _iter(self, report: bool) -> Iterator[InputItem | InputProblem]:
        seen: set[str] = set()
        visited: set[tuple[int, int]] = set()
        for spec in self._specs():
            if os.path.isdir(spec):
                items: Iterable[InputItem | InputProblem] = self._walk(spec, visited, ())
            else:
                items = [InputItem(spec, _rel(os.path.abspath(spec), self.base))]
            for x in items:
                if isinstance(x, InputProblem):
                    if report:
                        yield x
                    continue
                if x.rel in seen:
                    if report:
                        yield InputProblem(x.path, "DuplicateInput", "listed twice", fatal=False)
                    continue
                seen.add(x.rel)
                if x.rel.split("/", 1)[0] == STAGING:
                    if report:
                        yield InputProblem(
                            x.path,
                            "ReservedName",
                            f"its output name would start with {STAGING!r}, "
                            "the staging folder of instsim extract",
                        )
                    continue
                yield x

    def _walk(
        self, folder: str, visited: set[tuple[int, int]], chain: tuple[tuple[int, int], ...]
    ) -> Iterator[InputItem | InputProblem]:
        try:
            st = os.stat(folder)
        except OSError as exc:
            yield InputProblem(folder, type(exc).__name__, f"cannot read folder: {exc.strerror}")
            return
        key = (st.st_dev, st.st_ino)
        if key in chain:
            yield InputProblem(
                folder, "SymlinkLoop", "symlink loop: leads back to a folder above it", fatal=False
            )
            return
        if key in visited:
            yield InputProblem(
                folder, "DuplicateFolder", "already walked through another path", fatal=False
            )
            return
        if os.path.realpath(folder) in self._exclude:
            return
        visited.add(key)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield InputProblem(
                folder, type(exc).__name__, f"cannot list folder: {exc.strerror or exc}"
            )
            return
        for e in entries:
            path = os.path.join(folder, e.name)
            if e.is_dir():  # follows symlinks
                yield from self._walk(path, visited, (*chain, key))
            elif _is_audio_name(e.name):  # files, and broken links (reported when decoded)
                yield InputItem(path, _rel(os.path.abspath(path), self.base))

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None


def _commonpath(a: str, b: str) -> str:
    try:
        return os.path.commonpath([a, b])
    except ValueError:  # different drives (Windows)
        return os.path.abspath(os.sep)


def _rel(abspath: str, base: str) -> str:
    rel = os.path.relpath(abspath, base)
    return Path(rel).as_posix()


def safe_output_path(outdir: str | os.PathLike, rel: str, suffix: str) -> Path:
    """``outdir / rel + suffix``, guaranteed to lie inside ``outdir``.

    Parameters
    ----------
    outdir : path
        The output folder (it may contain symlinks itself).
    rel : str
        POSIX relative path (from :class:`InputItem`).
    suffix : str
        Appended to the last component (``".npz"``), so ``a.wav`` and ``a.flac``
        in one folder get different outputs.

    Raises
    ------
    ConfigError
        ``rel`` is absolute, empty, contains ``.``/``..``/NUL components, or a
        symlink already inside ``outdir`` would lead the file out of it.
    """
    parts = rel.split("/")
    if (
        not rel
        or os.path.isabs(rel)
        or any(p in ("", ".", "..") or "\x00" in p or (os.altsep and os.altsep in p) for p in parts)
    ):
        raise ConfigError("output_dir", f"unsafe relative output path {rel!r}")
    root = os.path.realpath(outdir)
    target = Path(outdir, *parts[:-1], parts[-1] + suffix)
    real_parent = os.path.realpath(target.parent)
    if real_parent != root and not real_parent.startswith(root.rstrip(os.sep) + os.sep):
        raise ConfigError(
            "output_dir",
            f"{str(target)!r} would be written outside the output folder {root!r} "
            "(a symlink inside it points elsewhere)",
        )
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise ConfigError("output_dir", f"{str(target)!r} exists and is not a regular file")
    return target


# ---- reporting ----------------------------------------------------------------------------
class Reporter:
    """Receives progress events from :func:`extract_batch`; the base class ignores them.

    Set ``wants_total`` to have the inputs counted first (one extra walk) and the
    count passed to :meth:`start`.
    """

    wants_total = False

    def start(self, total: int | None) -> None:
        """Called once, with the number of inputs when it was counted."""

    def item(self, status: str, path: str, seconds: float = 0.0) -> None:
        """One input finished: ``status`` is ``"done"``, ``"skipped"`` or ``"failed"``."""

    def failure(self, path: str, error: str, message: str) -> None:
        """An input failed (also recorded in ``failures.jsonl``)."""

    def warning(self, path: str, message: str) -> None:
        """Something worth knowing that lost no input (a symlink loop, a duplicate)."""

    def close(self, summary: BatchSummary) -> None:
        """The run ended."""


class TqdmReporter(Reporter):
    """A progress bar on stderr: files done, hours of audio, real-time factor, ETA.

    Failures and warnings are printed on stderr as one line each; ``quiet``
    hides the bar and the summary line but never the failures.
    """

    def __init__(self, quiet: bool = False, file: IO[str] | None = None) -> None:
        self.quiet = quiet
        self.wants_total = not quiet
        self.file = file if file is not None else sys.stderr
        self.bar: Any = None
        self.t0 = time.perf_counter()
        self.audio = 0.0

    def start(self, total: int | None) -> None:
        self.t0 = time.perf_counter()
        if not self.quiet:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=total, unit="file", file=self.file, dynamic_ncols=True, mininterval=0.5
            )

    def _write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=self.file)
        else:
            print(line, file=self.file, flush=True)

    def item(self, status: str, path: str, seconds: float = 0.0) -> None:
        self.audio += seconds
        if self.bar is not None:
            wall = max(time.perf_counter() - self.t0, 1e-9)
            self.bar.set_postfix_str(
                f"{self.audio / 3600:.2f} h audio, {self.audio / wall:.0f}x realtime", refresh=False
            )
            self.bar.update(1)

    def failure(self, path: str, error: str, message: str) -> None:
        self._write(f"FAILED {path}: {error}: {message}")

    def warning(self, path: str, message: str) -> None:
        self._write(f"warning: {path}: {message}")

    def close(self, summary: BatchSummary) -> None:
        if self.bar is not None:
            self.bar.close()
        if not self.quiet:
            print(summary.line(), file=self.file, flush=True)


@dataclass
class BatchSummary:
    """What a batch run did.

    Attributes
    ----------
    done, skipped, failed : int
        Inputs embedded now, left alone because their output was up to date, and
        failed (including folders that could not be read).
    audio_seconds : float [seconds]
        Duration of the audio embedded in this run.
    wall_seconds : float [seconds]
    output : Path
        The output folder (npz) or table (parquet).
    failures : Path or None
        ``failures.jsonl`` when something failed.
    stopped : bool
        ``fail_fast`` stopped the run early.
    """

    done: int = 0
    skipped: int = 0
    failed: int = 0
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    output: Path | None = None
    failures: Path | None = None
    stopped: bool = False

    @property
    def exit_code(self) -> int:
        """0 when nothing failed, 1 otherwise (the CLI's exit code)."""
        return 1 if self.failed or self.stopped else 0

    @property
    def realtime_factor(self) -> float:
        """Audio seconds embedded per wall-clock second."""
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def line(self) -> str:
        """One-line summary: done, skipped, failed, audio duration, wall time."""
        text = (
            f"{self.done} done, {self.skipped} skipped, {self.failed} failed; "
            f"{_hms(self.audio_seconds)} of audio in {_hms(self.wall_seconds)} "
            f"({self.realtime_factor:.0f}x realtime)"
        )
        if self.stopped:
            text += "; stopped at the first failure (--fail-fast)"
        if self.failures is not None:
            text += f"; failures: {self.failures}"
        return text


def _hms(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(round(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# ---- provenance and resume ----------------------------------------------------------------
def model_digest(extractor: Extractor) -> str:
    """SHA-256 of the model's config and weights: two runs agree on it iff the model is the same."""
    h = hashlib.sha256(json.dumps(extractor.config.to_dict(), sort_keys=True).encode())
    for name, tensor in sorted(extractor.model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.view(-1).view(dtype=_byte_dtype()).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _byte_dtype() -> Any:
    import torch

    return torch.uint8


def _source_stamp(path: str) -> dict[str, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return {"size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


@dataclass
class _Run:
    """Everything about a run that its outputs depend on."""

    extractor: Extractor
    focus: list[str]
    aggregate: str
    segment_seconds: float
    hop_seconds: float
    params: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        ext = self.extractor
        self.params = {
            "model_id": ext.model_id,
            "model_revision": ext.revision,
            "model_sha256": model_digest(ext),
            "focus": self.focus,
            "aggregate": self.aggregate,
            "segment_seconds": self.segment_seconds,
            "hop_seconds": self.hop_seconds,
        }

    @property
    def params_json(self) -> str:
        return _dumps(self.params)


# ---- atomic writes ------------------------------------------------------------------------
class _Staging:
    """``OUTDIR/.instsim``: a lock, temporary files, and parquet parts."""

    def __init__(self, outdir: Path) -> None:
        self.root = outdir / STAGING
        self.tmp = self.root / "tmp"
        self.parts = self.root / "parts"
        self._lock: IO[bytes] | None = None

    def open(self) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.root / "lock", "wb")  # held for the whole run
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            pass
        else:
            try:
                fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self._lock.close()
                self._lock = None
                raise ConfigError(
                    "output_dir",
                    f"another instsim extract is writing to {str(self.root.parent)!r}; "
                    "wait for it or choose another output folder",
                ) from None
        for p in self.tmp.iterdir():  # leftovers of a killed run
            with contextlib.suppress(OSError):
                p.unlink()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            for p in self.tmp.iterdir():
                p.unlink()
            self.tmp.rmdir()
        if self._lock is not None:
            with contextlib.suppress(OSError):
                (self.root / "lock").unlink()
            self._lock.close()
            self._lock = None
        for d in (self.parts, self.root):  # only when empty (no parquet parts kept)
            with contextlib.suppress(OSError):
                d.rmdir()

    def write(self, target: Path, write: Callable[[Path], None]) -> None:
        """Write ``target`` via a temporary file in the staging folder, then rename it."""
        fd, name = tempfile.mkstemp(dir=self.tmp, suffix=".tmp")
        os.close(fd)
        tmp = Path(name)
        try:
            write(tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644 & ~_umask())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---- writers ------------------------------------------------------------------------------
def _vectors(te: TrackEmbedding, run: _Run) -> np.ndarray:
    if run.aggregate == "mean":
        return te.vector(run.focus)
    return te.segment_vectors(run.focus)


def write_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays as an uncompressed ``.npz`` whose bytes depend only on the arrays.

    ``np.savez`` stamps each member with the current time; fixed timestamps make
    reruns byte-identical. ``np.load`` reads the result as usual.
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)


class _NpzSink:
    """One ``.npz`` per track, mirroring the inputs' relative paths."""

    suffix = ".npz"

    def __init__(self, outdir: Path, staging: _Staging, run: _Run) -> None:
        self.outdir, self.staging, self.run = outdir, staging, run

    @property
    def output(self) -> Path:
        return self.outdir

    def target(self, item: InputItem) -> Path:
        return safe_output_path(self.outdir, item.rel, self.suffix)

    def is_done(self, item: InputItem, stamp: dict[str, int] | None) -> bool:
        try:
            target = self.target(item)
            if stamp is None or not target.is_file():
                return False
            with np.load(target, allow_pickle=False) as f:
                same_params = str(f["params"]) == self.run.params_json
                return same_params and str(f["source_stat"]) == _dumps(stamp)
        except Exception:  # unreadable, foreign or older file: redo it
            return False

    def write(self, item: InputItem, te: TrackEmbedding, stamp: dict[str, int] | None) -> None:
        from . import __version__

        run, ext = self.run, self.run.extractor
        arrays = {
            "embedding": _vectors(te, run),
            "timestamps": te.timestamps.astype(np.float64),
            "silent": te.silent.astype(bool),
            "instruments": np.array(run.focus, dtype=str),
            "duration": np.float64(te.duration),
            "model_id": np.array(ext.model_id),
            "model_revision": np.array(ext.revision or ""),
            "model_sha256": np.array(run.params["model_sha256"]),
            "sample_rate": np.int64(ext.sample_rate),
            "frontend": np.array(_dumps(ext.config.frontend.to_dict())),
            "segment_seconds": np.float64(run.segment_seconds),
            "hop_seconds": np.float64(run.hop_seconds),
            "aggregate": np.array(run.aggregate),
            "subspace_dim": np.int64(ext.subspace_dim),
            "instsim_version": np.array(__version__),
            "source": np.array(item.path),
            "relpath": np.array(item.rel),
            "params": np.array(run.params_json),
            "source_stat": np.array(_dumps(stamp)),
        }
        self.staging.write(self.target(item), lambda p: write_npz(p, arrays))

    def record(self, item: InputItem) -> None:
        """Inputs done or skipped, in order (only the parquet sink needs them)."""

    def finish(self) -> None:
        pass


class _ParquetSink:
    """Per-track part files in ``.instsim/parts``, merged into one table at the end."""

    def __init__(self, outdir: Path, staging: _Staging, run: _Run) -> None:
        import pyarrow as pa

        self.pa = pa
        self.outdir, self.staging, self.run = outdir, staging, run
        self.staging.parts.mkdir(parents=True, exist_ok=True)
        if run.aggregate == "mean":
            cols = [
                ("path", pa.string()),
                ("relpath", pa.string()),
                ("duration", pa.float64()),
                ("n_segments", pa.int32()),
                ("embedding", pa.list_(pa.float32())),
            ]
        else:
            cols = [
                ("path", pa.string()),
                ("relpath", pa.string()),
                ("segment", pa.int32()),
                ("start", pa.float64()),
                ("end", pa.float64()),
                ("silent", pa.bool_()),
                ("embedding", pa.list_(pa.float32())),
            ]
        self.schema = pa.schema(cols)
        self._order = tempfile.TemporaryFile("w+", encoding="utf-8", dir=staging.tmp)

    @property
    def output(self) -> Path:
        return self.outdir / TABLE_NAME

    def _part(self, item: InputItem) -> Path:
        return self.staging.parts / (
            hashlib.sha256(item.rel.encode()).hexdigest()[:40] + ".parquet"
        )

    def _meta(self, item: InputItem, stamp: dict[str, int] | None) -> dict[bytes, bytes]:
        return {
            b"instsim.params": self.run.params_json.encode(),
            b"instsim.source_stat": _dumps(stamp).encode(),
            b"instsim.relpath": item.rel.encode(),
        }

    def is_done(self, item: InputItem, stamp: dict[str, int] | None) -> bool:
        import pyarrow.parquet as pq

        part = self._part(item)
        if stamp is None or not part.is_file():
            return False
        try:
            meta = pq.read_schema(part).metadata or {}
        except Exception:
            return False
        return all(meta.get(k) == v for k, v in self._meta(item, stamp).items())

    def write(self, item: InputItem, te: TrackEmbedding, stamp: dict[str, int] | None) -> None:
        import pyarrow.parquet as pq

        pa = self.pa
        vec = np.atleast_2d(_vectors(te, self.run)).astype(np.float32)
        n, d = vec.shape
        emb = pa.ListArray.from_arrays(
            pa.array(np.arange(0, (n + 1) * d, d, dtype=np.int32)), pa.array(vec.reshape(-1))
        )
        if self.run.aggregate == "mean":
            cols = [[item.path], [item.rel], [te.duration], [len(te.timestamps)], emb]
        else:
            cols = [
                [item.path] * n,
                [item.rel] * n,
                np.arange(n, dtype=np.int32),
                te.timestamps[:, 0],
                te.timestamps[:, 1],
                te.silent,
                emb,
            ]
        table = pa.Table.from_arrays(
            [
                pa.array(c, type=f.type) if not isinstance(c, pa.Array) else c
                for c, f in zip(cols, self.schema)
            ],
            schema=self.schema.with_metadata(self._meta(item, stamp)),
        )
        self.staging.write(self._part(item), lambda p: pq.write_table(table, p))

    def record(self, item: InputItem) -> None:
        self._order.write(self._part(item).name + "\t" + item.rel + "\n")

    def finish(self) -> None:
        """Merge this run's parts, in input order, into ``embeddings.parquet`` (atomically)."""
        import pyarrow.parquet as pq

        from . import __version__

        pa, run, ext = self.pa, self.run, self.run.extractor

        def parts() -> Iterator[Path]:  # this run's parts, in input order
            self._order.seek(0)
            for line in self._order:
                yield self.staging.parts / line.split("\t", 1)[0]

        digest = hashlib.sha256()
        for part in parts():
            meta = pq.read_schema(part).metadata or {}
            for key in (b"instsim.relpath", b"instsim.params", b"instsim.source_stat"):
                digest.update(meta.get(key, b"") + b"\0")
        meta = {
            b"instsim": _dumps(
                {
                    "instsim_version": __version__,
                    "model_id": ext.model_id,
                    "model_revision": ext.revision,
                    "model_sha256": run.params["model_sha256"],
                    "instruments": run.focus,
                    "subspace_dim": ext.subspace_dim,
                    "sample_rate": ext.sample_rate,
                    "frontend": ext.config.frontend.to_dict(),
                    "segment_seconds": run.segment_seconds,
                    "hop_seconds": run.hop_seconds,
                    "aggregate": run.aggregate,
                }
            ).encode(),
            b"instsim.digest": digest.hexdigest().encode(),
        }
        out = self.output
        if out.is_file():
            with contextlib.suppress(Exception):
                old = pq.read_schema(out).metadata or {}
                if old.get(b"instsim.digest") == meta[b"instsim.digest"]:
                    self._order.close()
                    return  # same inputs, same parts: the table is up to date
        schema = self.schema.with_metadata(meta)

        def merge(path: Path) -> None:
            with pq.ParquetWriter(path, schema) as writer:
                batch: list[Any] = []
                rows = 0
                for part in parts():
                    t = pq.read_table(part)
                    batch.append(t.replace_schema_metadata(meta))
                    rows += t.num_rows
                    if rows >= _ROWS_PER_GROUP:
                        writer.write_table(pa.concat_tables(batch))
                        batch, rows = [], 0
                if batch:
                    writer.write_table(pa.concat_tables(batch))

        try:
            self.staging.write(out, merge)
        finally:
            self._order.close()


# ---- the run ------------------------------------------------------------------------------
def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


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


def _env_threads() -> bool:
    """The user chose torch's thread count through the environment."""
    return any(os.environ.get(v) for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"))


def default_threads(workers: int) -> int:
    """Threads for the network on a CPU: the cores the decoders leave free (at least 1).

    Oversubscribed cores hurt: torch's thread pool waits on its slowest thread,
    so a decoder stealing a core from it stalls every forward pass.
    """
    return max(1, _cores() - max(1, workers))


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
) -> BatchSummary:
    """Embed a collection of audio files into ``output_dir``.

    Parameters
    ----------
    inputs : sequence of path
        Files and folders (see :class:`InputCollection`).
    output_dir : path
        Created if needed. Receives one ``<relpath>.npz`` per track (``fmt="npz"``)
        or ``embeddings.parquet`` (``fmt="parquet"``), and ``failures.jsonl`` when
        something failed.
    extractor : Extractor
        The model.
    lists : sequence of path
        Text files listing inputs, one per line (``"-"``: standard input).
    fmt : {"npz", "parquet"}
    focus : sequence of str or None
        Sub-spaces to keep, in this order; ``None``: all of the model's.
    aggregate : {"mean", "none"}
        One vector per track, or one per segment.
    segment_seconds, hop_seconds : float [seconds] or None
        Segmentation; ``None``: the model's defaults.
    batch_size : int > 0
        Segments per forward pass (segments of several files share a batch).
    workers : int >= 0
        Decoding processes (0: one background thread).
    threads : int > 0 or None
        Torch threads for the network during the run (restored afterwards);
        ``None``: :func:`default_threads` on a CPU unless ``OMP_NUM_THREADS`` is
        set, unchanged on a GPU.
    overwrite : bool
        Redo every input, even those with up-to-date outputs.
    fail_fast : bool
        Stop at the first failed input (the parquet table is then not written;
        the finished tracks are kept for the next run).
    reporter : Reporter or None
        Progress events (:class:`TqdmReporter` draws a bar).

    Returns
    -------
    BatchSummary

    Raises
    ------
    ConfigError
        Bad ``fmt``, ``aggregate``, segment parameters, an output folder that is a
        file or is in use by another run.
    UnknownInstrumentError
        ``focus`` names a sub-space the model does not have.
    """
    from .extractor import _focus_list

    t0 = time.perf_counter()
    if fmt not in FORMATS:
        raise ConfigError("format", f"got {fmt!r}; valid: {', '.join(map(repr, FORMATS))}")
    if aggregate not in AGGREGATES:
        raise ConfigError(
            "aggregate", f"got {aggregate!r}; valid: {', '.join(map(repr, AGGREGATES))}"
        )
    focus_names = _focus_list(list(focus) if focus else None, extractor.instruments)
    cfg = extractor.config
    seg_s = cfg.segment_seconds if segment_seconds is None else segment_seconds
    hop_s = cfg.hop_seconds if hop_seconds is None else hop_seconds
    extractor._segment_params(seg_s, hop_s)  # validates both
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError(
                "format", "'parquet' needs pyarrow: pip install 'instsim[parquet]'"
            ) from None
    outdir = Path(output_dir)
    if outdir.exists() and not outdir.is_dir():
        raise ConfigError("output_dir", f"{str(outdir)!r} exists and is not a folder")
    outdir.mkdir(parents=True, exist_ok=True)

    run = _Run(extractor, focus_names, aggregate, float(seg_s), float(hop_s))
    staging = _Staging(outdir)
    staging.open()
    reporter = reporter or Reporter()
    summary = BatchSummary()
    collection = InputCollection(inputs, lists, exclude=[staging.root])
    failures_path = outdir / FAILURES_NAME
    with contextlib.suppress(FileNotFoundError):
        failures_path.unlink()  # it describes the latest run only
    failures: IO[str] | None = None
    try:
        sink: _NpzSink | _ParquetSink = (
            _NpzSink(outdir, staging, run) if fmt == "npz" else _ParquetSink(outdir, staging, run)
        )
        summary.output = sink.output
        reporter.start(collection.count() if reporter.wants_total else None)

        def fail(path: str, error: str, message: str) -> None:
            nonlocal failures
            if failures is None:
                failures = open(failures_path, "a", encoding="utf-8")
            failures.write(_dumps({"path": path, "error": error, "message": message}) + "\n")
            failures.flush()
            summary.failed += 1
            reporter.failure(path, error, message)
            reporter.item("failed", path)

        # events in input order: ("problem", p) | ("skip", item) | ("run", item, stamp)
        events: deque[tuple] = deque()

        def feed() -> Iterator[str]:
            for x in collection:
                if isinstance(x, InputProblem):
                    events.append(("problem", x))
                    continue
                stamp = _source_stamp(x.path)
                if not overwrite and sink.is_done(x, stamp):
                    events.append(("skip", x))
                    continue
                events.append(("run", x, stamp))
                yield x.path

        def drain_until_run() -> tuple | None:
            """Handle problems and skips up to the next embedded input; return it."""
            while events:
                ev = events.popleft()
                if ev[0] == "run":
                    return ev
                if ev[0] == "skip":
                    sink.record(ev[1])
                    summary.skipped += 1
                    reporter.item("skipped", ev[1].path)
                else:
                    p: InputProblem = ev[1]
                    if p.fatal:
                        fail(p.path, p.error, p.message)
                        if fail_fast:
                            summary.stopped = True
                            return None
                    else:
                        reporter.warning(p.path, p.message)
            return None

        # same-shape forward passes: bit-identical outputs however files are batched
        extractor._pad_batches = True
        import torch

        torch_threads = torch.get_num_threads()
        if threads is None and extractor.device.type == "cpu" and not _env_threads():
            threads = default_threads(workers)
        if threads is not None:
            torch.set_num_threads(threads)
        results = extractor.embed_files(
            feed(),
            batch_size=batch_size,
            segment_seconds=seg_s,
            hop_seconds=hop_s,
            on_error="return",
            workers=workers,
            prefetch_segments=max(64, 2 * batch_size),  # two batches ahead: overlap, little memory
        )
        try:
            for res in results:
                ev = drain_until_run()
                if summary.stopped:
                    break
                assert ev is not None and ev[1].path == res.source
                item, stamp = ev[1], ev[2]
                if res.error is None:
                    try:
                        sink.write(item, res.embedding, stamp)
                    except (OSError, InstsimError) as exc:
                        fail(item.path, type(exc).__name__, f"cannot write output: {exc}")
                    else:
                        sink.record(item)
                        summary.done += 1
                        summary.audio_seconds += res.embedding.duration
                        reporter.item("done", item.path, res.embedding.duration)
                        continue
                else:
                    fail(item.path, type(res.error).__name__, str(res.error))
                if fail_fast:
                    summary.stopped = True
                    break
        finally:
            results.close()
            extractor._pad_batches = False
            torch.set_num_threads(torch_threads)
        if not summary.stopped:
            drain_until_run()  # problems and skips after the last embedded input
        if not summary.stopped:
            sink.finish()
    finally:
        if failures is not None:
            failures.close()
            summary.failures = failures_path
        collection.close()
        staging.close()
        summary.wall_seconds = time.perf_counter() - t0
        reporter.close(summary)
    return summary
