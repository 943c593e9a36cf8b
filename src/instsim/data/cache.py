"""A disk cache of decoded, resampled group signals, read back as memory maps.

Decoding FLAC stems and resampling them on every epoch would dominate
training, and a corpus does not fit in memory (160 pieces x 60 s x 5 groups in
float32 at 22.05 kHz is 4.2 GB; Slakh2100-redux's 1,710 pieces are ~90 GB in
float16). :meth:`GroupCache.build` decodes every piece once, with a process
pool over all cores, and writes one ``.npy`` file per piece and group;
training reads them with ``np.load(mmap_mode="r")``, so only the samples a
batch touches are read from disk.

Layout of one cache (a folder under ``cache_dir``)::

    <cache_dir>/<dataset>-<sr>hz-<key>/
        manifest.json                  configuration + every piece's PieceInfo
        tracks/<track_id>/<group>.npy  one group signal, float16 or float32, shape (n_samples,)
        tracks/<track_id>/info.json    the piece's PieceInfo (written last: marks it complete)

``key`` hashes the sample rate, the dataset's folder, name and version, the
grouping version (:data:`instsim.data.groups.GROUPING_VERSION`), the group
names and the dtype, so a change to any of them makes a new cache. A group
without any stem has no file. Each piece's :class:`~instsim.data.pseudomix.PieceInfo`
(activity grid, essentia tempo, first onset) is computed during the build, so
the triplet sampler never touches audio. Builds are incremental: pieces already
complete are skipped, and a build asking for another segment grid or silence
threshold recomputes only the activity, from the cached signals.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError, ParameterError, UnknownInstrumentError
from .groups import GROUPING_VERSION, SILENCE_DB, GroupSignals
from .pseudomix import PieceInfo, analyse_piece

__all__ = ["CACHE_FORMAT", "GroupCache", "cache_key", "default_cache_dir"]

CACHE_FORMAT = 1
_DTYPES = ("float16", "float32")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/instsim/groups`` (``~/.cache/instsim/groups``)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "instsim" / "groups"


def _dataset_path(dataset: Any) -> str:
    return str(Path(getattr(dataset, "root", dataset.data_home)).resolve())


def cache_key(dataset: Any, sample_rate: int, dtype: str = "float16") -> str:
    """16 hex digits identifying a cache of ``dataset`` at ``sample_rate`` [Hz] in ``dtype``."""
    payload = {
        "format": CACHE_FORMAT,
        "dataset": dataset.name,
        "version": dataset.version,
        "path": _dataset_path(dataset),
        "sample_rate": int(sample_rate),
        "grouping": GROUPING_VERSION,
        "groups": list(dataset.instruments),
        "dtype": dtype,
    }
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _atomic_write(path: Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _build_one(job: dict[str, Any]) -> dict[str, Any]:
    """Decode one piece, write its group signals and info (runs in a worker process)."""
    from ..plugins.datasets import Multitrack, Stem

    stems = {sid: Stem(sid, group, path) for sid, (group, path) in job["stems"].items()}
    mt = Multitrack(job["track_id"], stems, split=job["split"], instruments=tuple(job["groups"]))
    signals = mt.load_groups(job["sample_rate"])
    info = analyse_piece(
        job["track_id"],
        signals,
        split=job["split"],
        segment_seconds=job["segment_seconds"],
        hop_seconds=job["hop_seconds"],
        silence_db=job["silence_db"],
        tempo_method=job["tempo_method"],
    )
    out = Path(job["dir"])
    out.mkdir(parents=True, exist_ok=True)
    for g, y in signals.signals.items():
        if y is not None:
            _atomic_write(out / f"{g}.npy", lambda fh, y=y: np.save(fh, y.astype(job["dtype"])))
    d = info.to_dict()
    _atomic_write(out / "info.json", lambda fh: fh.write(json.dumps(d)), mode="w")
    return d


def _build_error(track_id: str, build_error: Exception) -> DatasetError:
    return DatasetError(
        f"caching track {track_id!r} failed: {type(build_error).__name__}: {build_error}"
    )


class GroupCache:
    """A built cache: group signals as memory maps, plus each piece's :class:`PieceInfo`.

    Implements :class:`instsim.data.pseudomix.GroupSource`, so
    :func:`instsim.data.pseudomix.render` reads triplets straight from it.

    Parameters
    ----------
    path : str or os.PathLike
        A cache folder (what :meth:`build` returns as ``.path``).

    Attributes
    ----------
    path : Path
    sample_rate : int [Hz]
    groups : tuple of str
    dtype : str
        ``"float16"`` or ``"float32"`` (arrays are returned in this dtype).
    config : dict
        How the cache was built (dataset, folder, grid, silence threshold ...).

    Examples
    --------
    >>> ds = open_dataset("slakh", "~/mir_datasets/slakh")  # doctest: +SKIP
    >>> cache = GroupCache.build(ds, "~/cache", 22050, split="train")  # doctest: +SKIP
    >>> bass = cache.signal("Track00001", "bass")  # np.memmap, float16  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        manifest = self.path / "manifest.json"
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DatasetError(f"no readable cache manifest at {str(manifest)!r}: {exc}") from None
        if data.get("format") != CACHE_FORMAT:
            raise DatasetError(
                f"cache {str(self.path)!r} has format {data.get('format')!r}, this instsim "
                f"reads format {CACHE_FORMAT}; rebuild it"
            )
        self.config: dict[str, Any] = data["config"]
        self.sample_rate = int(self.config["sample_rate"])
        self.groups = tuple(self.config["groups"])
        self.dtype = str(self.config["dtype"])
        self.failed: dict[str, str] = data.get("failed", {})
        self._pieces = {t: PieceInfo.from_dict(d) for t, d in data["tracks"].items()}

    def __repr__(self) -> str:
        return (
            f"GroupCache({str(self.path)!r}, {len(self._pieces)} tracks, "
            f"{self.sample_rate} Hz, {self.dtype})"
        )

    def __len__(self) -> int:
        return len(self._pieces)

    def __contains__(self, track_id: object) -> bool:
        return track_id in self._pieces

    # -- reading ------------------------------------------------------------------
    def track_ids(self, split: str | None = None) -> list[str]:
        """Cached pieces (of one split), sorted."""
        return sorted(t for t, p in self._pieces.items() if split is None or p.split == split)

    def info(self, track_id: str) -> PieceInfo:
        """The piece's activity grid, tempo and first onset."""
        try:
            return self._pieces[track_id]
        except KeyError:
            raise DatasetError(
                f"track {track_id!r} is not in cache {str(self.path)!r} ({len(self)} tracks)"
            ) from None

    def pieces(self, split: str | None = None) -> dict[str, PieceInfo]:
        """Every cached piece's :class:`PieceInfo` (input of :class:`TripletSampler`)."""
        return {t: self._pieces[t] for t in self.track_ids(split)}

    def signal(self, track_id: str, group: str) -> np.ndarray | None:
        """One group signal as a read-only memory map [shape=(n_samples,)], or ``None`` if absent."""
        self.info(track_id)
        if group not in self.groups:
            raise UnknownInstrumentError(group, self.groups)
        path = self.path / "tracks" / track_id / f"{group}.npy"
        if not path.is_file():
            return None
        return np.load(path, mmap_mode="r")

    def signals(self, track_id: str) -> GroupSignals:
        """All group signals of a piece (memory maps) as :class:`GroupSignals`."""
        return GroupSignals(self.sample_rate, {g: self.signal(track_id, g) for g in self.groups})

    # -- building -------------------------------------------------------------------
    @staticmethod
    def path_for(
        dataset: Any,
        cache_dir: str | os.PathLike | None = None,
        sample_rate: int = 22050,
        dtype: str = "float16",
    ) -> Path:
        """The folder a cache of ``dataset`` at ``sample_rate`` in ``dtype`` lives in."""
        base = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        key = cache_key(dataset, sample_rate, dtype)
        return base / f"{dataset.name}-{int(sample_rate)}hz-{key}"

    @classmethod
    def build(
        cls,
        dataset: Any,
        cache_dir: str | os.PathLike | None = None,
        sample_rate: int = 22050,
        *,
        track_ids: Iterable[str] | None = None,
        split: str | None = None,
        dtype: str = "float16",
        segment_seconds: float = 3.0,
        hop_seconds: float = 1.5,
        silence_db: float = SILENCE_DB,
        tempo_method: str = "multifeature",
        workers: int | None = None,
        on_error: str = "raise",
        progress: Callable[[int, int], None] | None = None,
    ) -> GroupCache:
        """Decode, group, resample and analyse pieces into the cache (idempotent).

        Parameters
        ----------
        dataset : MultitrackDataset
            Any dataset plugin instance.
        cache_dir : path or None
            Parent folder of caches (default :func:`default_cache_dir`).
        sample_rate : int > 0 [Hz]
            Rate of the cached signals (the model's rate, 22050 by default).
        track_ids, split
            Which pieces (default: every piece of ``split``, or of the dataset).
            Pieces already in the cache are kept.
        dtype : {"float16", "float32"}
            float16 halves the disk space (about 66 dB of headroom per sample).
        segment_seconds, hop_seconds : float [seconds]
            Activity grid stored in each :class:`PieceInfo`.
        silence_db : float [dBFS]
            Segments below this RMS level are silent.
        tempo_method : {"multifeature", "degara"}
            essentia beat tracker for :func:`~instsim.data.pseudomix.estimate_tempo`.
        workers : int or None
            Processes; ``None`` uses every core, 1 decodes in this process.
        on_error : {"raise", "skip"}
            On a piece that cannot be decoded: raise :class:`DatasetError`, or
            record it in :attr:`failed` and go on.
        progress : callable(done, total) or None

        Returns
        -------
        GroupCache
        """
        if dtype not in _DTYPES:
            raise ParameterError("dtype", f"got {dtype!r}; valid: {', '.join(map(repr, _DTYPES))}")
        if on_error not in ("raise", "skip"):
            raise ParameterError("on_error", f"got {on_error!r}; valid: 'raise', 'skip'")
        if not (isinstance(sample_rate, int) and sample_rate > 0):
            raise ParameterError(
                "sample_rate", f"must be a positive integer [Hz], got {sample_rate!r}"
            )
        path = cls.path_for(dataset, cache_dir, sample_rate, dtype)
        (path / "tracks").mkdir(parents=True, exist_ok=True)
        ids = list(track_ids) if track_ids is not None else dataset.track_ids(split)
        config = {
            "dataset": dataset.name,
            "version": dataset.version,
            "data_home": _dataset_path(dataset),
            "sample_rate": int(sample_rate),
            "groups": list(dataset.instruments),
            "grouping_version": GROUPING_VERSION,
            "dtype": dtype,
            "segment_seconds": float(segment_seconds),
            "hop_seconds": float(hop_seconds),
            "silence_db": float(silence_db),
            "tempo_method": tempo_method,
        }
        infos: dict[str, dict[str, Any]] = {}
        failed: dict[str, str] = {}
        old = path / "manifest.json"
        if old.is_file():  # keep earlier failures of pieces this call does not retry
            try:
                previous = json.loads(old.read_text(encoding="utf-8")).get("failed", {})
                failed = {t: r for t, r in previous.items() if t not in ids}
            except ValueError:
                pass
        todo = []
        for tid in ids:
            info_path = path / "tracks" / tid / "info.json"
            if info_path.is_file():
                try:
                    infos[tid] = json.loads(info_path.read_text(encoding="utf-8"))
                    continue
                except ValueError:
                    pass
            todo.append(tid)
        # pieces cached earlier that this call did not ask for stay in the cache
        for d in sorted((path / "tracks").iterdir()):
            if d.name not in infos and d.name not in todo and (d / "info.json").is_file():
                try:
                    infos[d.name] = json.loads((d / "info.json").read_text(encoding="utf-8"))
                except ValueError:
                    continue

        jobs = []
        for tid in todo:
            mt = dataset.multitrack(tid)
            jobs.append(
                {
                    "track_id": tid,
                    "split": mt.split,
                    "stems": {
                        sid: (s.group, s.audio_path)
                        for sid, s in mt.stems.items()
                        if s.audio_path is not None
                    },
                    "groups": list(dataset.instruments),
                    "dir": str(path / "tracks" / tid),
                    "sample_rate": int(sample_rate),
                    "dtype": dtype,
                    "segment_seconds": float(segment_seconds),
                    "hop_seconds": float(hop_seconds),
                    "silence_db": float(silence_db),
                    "tempo_method": tempo_method,
                }
            )
        total, done = len(jobs), 0

        def finish(
            job: dict[str, Any], result: dict[str, Any] | None, exc: Exception | None
        ) -> None:
            nonlocal done
            done += 1
            if exc is not None:
                if on_error == "raise":
                    raise _build_error(job["track_id"], exc) from exc
                failed[job["track_id"]] = f"{type(exc).__name__}: {exc}"
            else:
                infos[job["track_id"]] = result  # type: ignore[assignment]
                failed.pop(job["track_id"], None)
            if progress is not None:
                progress(done, total)

        n_workers = min(workers or os.cpu_count() or 1, max(total, 1))
        if n_workers <= 1:
            for job in jobs:
                try:
                    result = _build_one(job)
                except Exception as exc:
                    finish(job, None, exc)
                else:
                    finish(job, result, None)
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed

            # fork (Linux) needs no ``if __name__ == "__main__"`` guard in the caller's
            # script; workers only use numpy, soundfile, soxr and essentia.
            method = "fork" if sys.platform.startswith("linux") else "spawn"
            with ProcessPoolExecutor(n_workers, mp_context=mp.get_context(method)) as pool:
                futures = {pool.submit(_build_one, job): job for job in jobs}
                try:
                    for fut in as_completed(futures):
                        exc = fut.exception()
                        finish(futures[fut], None if exc else fut.result(), exc)  # type: ignore[arg-type]
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise

        # a new activity grid or threshold: recompute activity from the cached signals
        for tid, d in infos.items():
            if (
                d.get("segment_seconds") != config["segment_seconds"]
                or d.get("hop_seconds") != config["hop_seconds"]
                or d.get("silence_db") != config["silence_db"]
            ):
                infos[tid] = cls._reanalyse(path, tid, d, config)

        manifest = {"format": CACHE_FORMAT, "config": config, "tracks": infos, "failed": failed}
        _atomic_write(path / "manifest.json", lambda fh: fh.write(json.dumps(manifest)), mode="w")
        return cls(path)

    @staticmethod
    def _reanalyse(
        path: Path, tid: str, d: dict[str, Any], config: dict[str, Any]
    ) -> dict[str, Any]:
        sr = config["sample_rate"]
        signals = {}
        for g in config["groups"]:
            f = path / "tracks" / tid / f"{g}.npy"
            signals[g] = np.load(f, mmap_mode="r") if f.is_file() else None
        info = PieceInfo.from_dict(d)
        info.activity = GroupSignals(sr, signals).activity(
            config["segment_seconds"], config["hop_seconds"], config["silence_db"]
        )
        info.segment_seconds = config["segment_seconds"]
        info.hop_seconds = config["hop_seconds"]
        info.silence_db = config["silence_db"]
        out = info.to_dict()
        _atomic_write(
            path / "tracks" / tid / "info.json", lambda fh: fh.write(json.dumps(out)), mode="w"
        )
        return out
