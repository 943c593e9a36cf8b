"""Progress and the run's report: what the user sees while a batch runs and after.

* :class:`Reporter` receives a run's events (an input done, skipped or failed, a
  warning, the end); :class:`TqdmReporter` draws them as one bar on stderr (files
  done, hours of audio, real-time factor, ETA) and prints failures as lines.
* :class:`BatchSummary` is the report: counts, audio and wall time, the exit code.
* :class:`StageProgress` draws ``progress(stage, done, total)`` callbacks (the
  evaluation's stages) with the same bars.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["BatchSummary", "Reporter", "StageProgress", "TqdmReporter", "progress_bar"]


def progress_bar(
    total: int | None, *, unit: str, desc: str | None = None, file: IO[str] | None = None
) -> Any:
    """A tqdm bar on stderr (or ``file``), as every instsim command draws them."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=file if file is not None else sys.stderr,
        dynamic_ncols=True,
        mininterval=0.5,
    )


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
            self.bar = progress_bar(total, unit="file", file=self.file)

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


class StageProgress:
    """``progress(stage, done, total)`` callbacks drawn as one bar per stage.

    A new bar opens when the stage changes (the previous one is closed).

    Parameters
    ----------
    quiet : bool
        Draw nothing.
    labels, units : mapping of str to str
        A stage's bar label and unit (default: the stage's name, ``"it"``).
    file : text stream or None
        Where bars go (default: stderr).
    """

    def __init__(
        self,
        quiet: bool = False,
        *,
        labels: Mapping[str, str] | None = None,
        units: Mapping[str, str] | None = None,
        file: IO[str] | None = None,
    ) -> None:
        self.quiet = quiet
        self.labels = dict(labels or {})
        self.units = dict(units or {})
        self.file = file
        self.stage: str | None = None
        self.bar: Any = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = progress_bar(
                total,
                unit=self.units.get(stage, "it"),
                desc=self.labels.get(stage, stage),
                file=self.file,
            )
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        """Close the current bar (call once the run ended, also after an error)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.stage = None
