"""Where a batch run's embeddings go: one :class:`Sink` per output format.

A sink is registered under its format name (``--format``) with
:func:`register_sink`; :func:`open_sink` builds the one a run asks for. The
built-ins: ``npz`` (one file per track, :mod:`.npz`) and ``parquet`` (one table
for the run, :mod:`.parquet`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ...errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from ...extractor import TrackEmbedding
    from ..inputs import InputItem
    from ..provenance import RunParams
    from ..staging import Staging

__all__ = ["SINKS", "Sink", "SinkFactory", "open_sink", "register_sink", "sink_factory"]

Stamp = dict[str, int] | None


class Sink(Protocol):
    """What a run needs of an output format.

    A sink is built as ``factory(outdir, staging, run)`` and writes every file
    through ``staging.write`` (atomically). The run calls, per input and in input
    order, :meth:`is_done` (skip it?), then :meth:`write` for an embedded input,
    and :meth:`record` for each input that now has an up-to-date output (written
    or skipped); :meth:`finish` once at the end of a run that was not stopped.
    """

    @property
    def output(self) -> Path:
        """The output folder or file (reported in the summary)."""
        ...

    def is_done(self, item: InputItem, stamp: Stamp) -> bool:
        """Whether ``item`` already has an output made by this run's parameters from
        this version of the file (``stamp``, see :func:`~..provenance.source_stamp`)."""
        ...

    def write(self, item: InputItem, te: TrackEmbedding, stamp: Stamp) -> None:
        """Write the output of one embedded input."""
        ...

    def record(self, item: InputItem) -> None:
        """``item`` has an up-to-date output (a sink that merges outputs keeps the order)."""
        ...

    def finish(self) -> None:
        """The run went through every input."""
        ...


class SinkFactory(Protocol):
    """A sink class, or any callable building one."""

    def __call__(self, outdir: Path, staging: Staging, run: RunParams) -> Sink: ...


#: Output formats by name; filled by :func:`register_sink`.
SINKS: dict[str, SinkFactory] = {}
#: What each format needs beyond the core install: ``(module, extra)``.
_NEEDS: dict[str, tuple[str, str]] = {}


def register_sink(
    name: str, *, needs: tuple[str, str] | None = None
) -> Callable[[SinkFactory], SinkFactory]:
    """Class decorator registering a sink under the format ``name``.

    ``needs=(module, extra)``: the format imports ``module``, installed with
    ``pip install 'instsim[extra]'``; :func:`sink_factory` checks it at the door.
    """

    def add(factory: SinkFactory) -> SinkFactory:
        SINKS[name] = factory
        if needs is not None:
            _NEEDS[name] = needs
        return factory

    return add


def sink_factory(fmt: str) -> SinkFactory:
    """The sink registered for ``fmt``, checked to be usable here.

    Raises
    ------
    ConfigError
        An unknown format (the message lists the valid ones), or one whose
        optional dependency is missing (the message names the extra).
    """
    if fmt not in SINKS:
        raise ConfigError("format", f"got {fmt!r}; valid: {', '.join(map(repr, SINKS))}")
    if fmt in _NEEDS:
        module, extra = _NEEDS[fmt]
        try:
            __import__(module)
        except ImportError:
            raise ConfigError(
                "format", f"{fmt!r} needs {module}: pip install 'instsim[{extra}]'"
            ) from None
    return SINKS[fmt]


def open_sink(fmt: str, outdir: Path, staging: Staging, run: RunParams) -> Sink:
    """Build the sink of format ``fmt`` for a run."""
    return sink_factory(fmt)(outdir, staging, run)


from . import npz, parquet  # noqa: E402,F401  (the built-ins register themselves)
