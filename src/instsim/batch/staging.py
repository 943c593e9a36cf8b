"""Never a half-written output: the staging folder ``OUTDIR/.instsim``.

Every output is written under ``OUTDIR/.instsim/tmp``, flushed to disk and
renamed into place when complete (:meth:`Staging.write`), so a killed run
leaves no half-written file; the next run removes the leftovers. A lock file
held for the whole run keeps a second run out of the same output folder.
Sinks that need a resume cache keep it in ``OUTDIR/.instsim/parts``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from ..errors import ConfigError

__all__ = ["STAGING", "Staging"]

#: Staging folder inside the output folder (temporary files, parquet parts, lock).
STAGING = ".instsim"


class Staging:
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
