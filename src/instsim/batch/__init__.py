"""Batch extraction: a collection of audio files in, one embedding file per track out.

This is the library behind ``instsim extract`` (see docs/extract.md). One idea per
module:

* :mod:`.inputs`: :class:`InputCollection` finds the inputs (files, folders walked
  recursively, list files) and names their outputs (:func:`safe_output_path`,
  never outside the output folder).
* :mod:`.progress`: :class:`Reporter` events, the :class:`TqdmReporter` bar and
  the :class:`BatchSummary` report.
* :mod:`.provenance`: what an output records (:class:`RunParams`,
  :func:`model_digest`) and what resume compares.
* :mod:`.staging`: atomic writes through ``OUTDIR/.instsim`` and the run's lock.
* :mod:`.sinks`: the :class:`Sink` protocol and the formats registered by name
  (``npz``: one file per track; ``parquet``: one table).
* :mod:`.engine`: where decoding and the network run: this process
  (:class:`LocalEngine`, the default) or a Ray cluster (:class:`RayEngine`,
  :mod:`.ray_engine`, needs ``instsim[ray]``; ray is imported only then).
* :mod:`.run`: :func:`extract_batch`, which ties them together: it skips inputs
  whose outputs are up to date, records bad inputs in ``failures.jsonl`` and
  carries on.

Never losing work: every file is written under ``OUTDIR/.instsim/tmp`` and renamed
into place when complete, so a killed run leaves no half-written output; a rerun
cleans the staging folder and skips what is done. Runs are deterministic: a run
killed and restarted ends with the same files, byte for byte, as an uninterrupted
one.
"""

from __future__ import annotations

from .engine import ENGINES, LocalEngine, RayEngine, make_engine
from .inputs import InputCollection, InputItem, InputProblem, safe_output_path
from .progress import BatchSummary, Reporter, StageProgress, TqdmReporter
from .provenance import RunParams, model_digest
from .run import AGGREGATES, FAILURES_NAME, default_threads, default_workers, extract_batch
from .sinks import SINKS, Sink, register_sink
from .sinks.npz import write_npz
from .sinks.parquet import TABLE_NAME
from .staging import STAGING

#: Output formats of :func:`extract_batch` (the registered sinks).
FORMATS: tuple[str, ...] = tuple(SINKS)

__all__ = [
    "AGGREGATES",
    "ENGINES",
    "FAILURES_NAME",
    "FORMATS",
    "SINKS",
    "STAGING",
    "TABLE_NAME",
    "BatchSummary",
    "InputCollection",
    "InputItem",
    "InputProblem",
    "LocalEngine",
    "RayEngine",
    "Reporter",
    "RunParams",
    "Sink",
    "StageProgress",
    "TqdmReporter",
    "default_threads",
    "default_workers",
    "extract_batch",
    "make_engine",
    "model_digest",
    "register_sink",
    "safe_output_path",
    "write_npz",
]
