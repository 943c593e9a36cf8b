"""Where a batch run's decoding and network run: the engines of :func:`~.run.extract_batch`.

An engine turns the paths to embed into :class:`~instsim.TrackResult`, in input
order; everything around it (inputs, resume, sinks, ``failures.jsonl``, progress,
exit codes) is the same whichever engine runs, so both write the same outputs.

* :class:`LocalEngine` (the default): this process, a background thread or
  ``workers`` processes decoding, the network here (:meth:`Extractor.embed_files`).
* :class:`RayEngine`: a Ray cluster (:mod:`.ray_engine`): decoding in Ray tasks,
  the network in a pool of Ray actors. Needs ``pip install 'instsim[ray]'``; ray is
  imported only when a run uses it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from .. import _validate
from ..errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from ..extractor import Extractor, TrackResult
    from .provenance import RunParams

__all__ = ["ENGINES", "LocalEngine", "RayEngine", "make_engine"]

#: Engine names (``instsim extract --engine``).
ENGINES = ("local", "ray")


@dataclass(frozen=True)
class LocalEngine:
    """Decode and embed in this process (the default engine).

    Parameters
    ----------
    workers : int >= 0
        Decoding processes (0: one background thread).
    threads : int > 0 or None
        Torch threads for the network during the run (restored afterwards);
        ``None``: :func:`~.run.default_threads` on a CPU unless ``OMP_NUM_THREADS``
        is set, unchanged on a GPU.
    """

    workers: int = 0
    threads: int | None = None
    name: ClassVar[str] = "local"

    def __post_init__(self) -> None:
        object.__setattr__(self, "workers", _validate.integer("workers", self.workers, minimum=0))
        if self.threads is not None:
            object.__setattr__(self, "threads", _validate.positive_int("threads", self.threads))

    def results(
        self, extractor: Extractor, paths: Iterable[str], run: RunParams, batch_size: int
    ) -> Generator[TrackResult, None, None]:
        """Embed ``paths``; one result per path, in order (errors as results)."""
        with _torch_threads(extractor, self.threads, self.workers):
            results = extractor.embed_files(
                paths,
                segment_seconds=run.segment_seconds,
                hop_seconds=run.hop_seconds,
                batch_size=batch_size,
                on_error="return",
                workers=self.workers,
                prefetch_segments=max(64, 2 * batch_size),  # two batches ahead: overlap
                pad_batches=True,  # same-shape passes: bit-identical however files are batched
            )
            try:
                yield from results
            finally:
                results.close()


@dataclass(frozen=True)
class RayEngine:
    """Decode in Ray tasks and embed in a pool of Ray actors (see :mod:`.ray_engine`).

    Parameters
    ----------
    address : str or None
        An existing cluster to join (``"auto"``, ``"ray://head:10001"``,
        ``"10.0.0.1:6379"``); ``None``: start a local Ray for the run (or use the
        one this process already started with ``ray.init``).
    num_workers : int > 0 or None
        Network actors, each loading the model once; ``None``: one per GPU when
        ``num_gpus > 0``, else half the cluster's CPUs (at least 1).
    num_gpus : float >= 0
        GPUs per actor (0: the network runs on CPUs; 0.5: two actors share a GPU).
    threads : int > 0 or None
        CPUs each actor reserves and torch threads it uses; ``None``: 1.
    """

    address: str | None = None
    num_workers: int | None = None
    num_gpus: float = 0.0
    threads: int | None = None
    name: ClassVar[str] = "ray"

    def __post_init__(self) -> None:
        from ..extras import require

        require("ray", "instsim extract --engine ray")
        if self.num_workers is not None:
            object.__setattr__(
                self, "num_workers", _validate.positive_int("num_workers", self.num_workers)
            )
        if self.threads is not None:
            object.__setattr__(self, "threads", _validate.positive_int("threads", self.threads))
        gpus = self.num_gpus
        if isinstance(gpus, bool) or not isinstance(gpus, (int, float)) or not gpus >= 0:
            raise ConfigError("num_gpus", f"got {gpus!r}; must be a number >= 0")
        object.__setattr__(self, "num_gpus", float(gpus))
        if self.address is not None and not str(self.address).strip():
            raise ConfigError("address", "got an empty address; give the cluster's address")

    def results(
        self, extractor: Extractor, paths: Iterable[str], run: RunParams, batch_size: int
    ) -> Generator[TrackResult, None, None]:
        """Embed ``paths`` on Ray; one result per path, in order (errors as results)."""
        from .ray_engine import ray_results

        return ray_results(self, extractor, paths, run, batch_size)


Engine = LocalEngine | RayEngine


def make_engine(
    engine: str = "local",
    *,
    workers: int = 0,
    threads: int | None = None,
    address: str | None = None,
    num_workers: int | None = None,
    num_gpus: float = 0.0,
) -> Engine:
    """The engine named ``engine``, with its options checked.

    Parameters
    ----------
    engine : {"local", "ray"}
    workers : int >= 0
        Local engine only: decoding processes.
    threads : int > 0 or None
        Torch threads of the network (per actor with Ray).
    address, num_workers, num_gpus
        Ray engine only: see :class:`RayEngine`.

    Raises
    ------
    ConfigError
        An unknown engine (the message lists the valid ones), a bad value, or an
        option of the other engine (``workers`` with Ray; ``address``,
        ``num_workers`` or ``num_gpus`` with the local engine).
    MissingExtraError
        ``"ray"`` without ``instsim[ray]`` installed.
    """
    _validate.choice("engine", engine, ENGINES)
    if engine == "local":
        for name, value in (("address", address), ("num_workers", num_workers)):
            if value is not None:
                raise ConfigError(name, "is an option of the ray engine; add engine='ray'")
        if num_gpus:
            raise ConfigError("num_gpus", "is an option of the ray engine; add engine='ray'")
        return LocalEngine(workers, threads)
    if workers:
        raise ConfigError(
            "workers",
            "the ray engine decodes in Ray tasks (as many as the cluster has CPUs); "
            "choose the network actors with num_workers",
        )
    return RayEngine(address, num_workers, num_gpus, threads)


# ---- the local engine's torch threads ------------------------------------------------------
def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _env_threads() -> bool:
    """The user chose torch's thread count through the environment."""
    return any(os.environ.get(v) for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"))


def default_threads(workers: int, network_bound: bool = False) -> int:
    """Threads for the network on a CPU: the cores the decoders leave free (at least 1),
    or every core when the network stage dominates (``network_bound``).

    Oversubscribed cores hurt when decoding is a large stage: torch's thread pool waits
    on its slowest thread, so a decoder stealing a core from it stalls every forward
    pass. A model that reads a sub-space from the harmonic or percussive part of the mix
    (``CSNConfig.inputs``, as the bundled v4.1 does) spends about six times as long in
    the network stage as in decoding on 2 cores; its decoders are mostly idle, and giving
    the network every core ran 1.6x faster there (docs/performance.md).
    """
    if network_bound:
        return _cores()
    return max(1, _cores() - max(1, workers))


@contextlib.contextmanager
def _torch_threads(extractor: Extractor, threads: int | None, workers: int) -> Iterator[None]:
    """Set torch's thread count for the run (see :func:`default_threads`), restore it after."""
    import torch

    before = torch.get_num_threads()
    if threads is None and extractor.device.type == "cpu" and not _env_threads():
        threads = default_threads(workers, network_bound=bool(extractor.config.inputs))
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
