"""The index folder on disk: manifest, generations, atomic replacement, one writer at a time.

::

    INDEX_DIR/
      manifest.json        what the index is (model, sub-spaces, parameters) and which
                           generation folder holds its files; replaced atomically, last
      gen-<id>/            one complete set of files:
        vectors.npy          (n, dim) float16 or float32, each sub-space L2-normalised
        ids.jsonl            one {"path", "relpath", "dump"} per row
        flat-<i>.faiss       exact index of sub-space i;  flat-whole.faiss: whole vector
        lists-<i>.faiss      approximate search (large collections only): sub-space i's
                             IVF lists of whole-vector 8-bit codes (format 2)
        ivf-<i>.faiss        format 1 only (read, never written): IVF of sub-space i;
                             ivf-whole.faiss
      .lock                while a writer runs

A writer builds a new generation in ``.tmp-<id>/``, renames it to ``gen-<id>/`` and
only then replaces ``manifest.json``: a writer killed at any moment leaves the
previous manifest, and so the previous index, intact. Leftovers are removed by the
next writer.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import ConfigError, SearchIndexError

__all__ = ["FORMAT", "FORMAT_VERSION", "MANIFEST", "commit", "new_generation", "read_manifest"]

FORMAT = "instsim-search-index"
#: written by this instsim; format 1 (whole-block IVF indexes) is still read
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
_LOCK = ".lock"


def read_manifest(index_dir: str | os.PathLike) -> tuple[dict[str, Any], Path]:
    """Read and check ``manifest.json``; return it and the generation folder it names.

    Raises
    ------
    SearchIndexError
        Not a folder, empty, no or unreadable manifest, another format, a newer
        format version, or a missing generation folder.
    """
    root = Path(index_dir)
    if not root.is_dir():
        raise SearchIndexError(root, "no such folder")
    path = root / MANIFEST
    if not path.is_file():
        what = "the folder is empty" if not any(root.iterdir()) else f"it has no {MANIFEST}"
        raise SearchIndexError(root, f"{what}; build one with `instsim index DUMPS -o {root}`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SearchIndexError(root, f"{MANIFEST} is unreadable ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SearchIndexError(root, f"{MANIFEST} is not an instsim search index manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise SearchIndexError(root, f"{MANIFEST} has no valid format_version")
    if version > FORMAT_VERSION:
        raise SearchIndexError(
            root,
            f"it was written in index format {version} by instsim "
            f"{manifest.get('instsim_version', '?')}; this instsim reads format "
            f"{FORMAT_VERSION} and older: upgrade instsim or rebuild the index",
        )
    gen = root / str(manifest.get("data", ""))
    if not manifest.get("data") or not gen.is_dir():
        raise SearchIndexError(root, f"its data folder {manifest.get('data')!r} is missing")
    return manifest, gen


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """Hold ``INDEX_DIR/.lock`` (one writer at a time) and clear a killed writer's leftovers."""
    index_dir.mkdir(parents=True, exist_ok=True)
    lock: IO[bytes] = open(index_dir / _LOCK, "wb")
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            pass
        else:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise ConfigError(
                    "index_dir", f"another instsim index is writing to {str(index_dir)!r}"
                ) from None
        for p in index_dir.glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)
        yield
    finally:
        lock.close()
        with contextlib.suppress(OSError):
            (index_dir / _LOCK).unlink()


def new_generation(index_dir: Path) -> Path:
    """An empty staging folder for a new generation (call under :func:`writer_lock`)."""
    tmp = index_dir / f".tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    return tmp


def commit(index_dir: Path, staging: Path, manifest: dict[str, Any]) -> None:
    """Make ``staging`` the index: rename it, replace the manifest, drop old generations."""
    for f in staging.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    name = "gen-" + staging.name.split("-", 1)[1]
    os.replace(staging, index_dir / name)
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, **manifest, "data": name}
    tmp = index_dir / f".{MANIFEST}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / MANIFEST)
    for old in index_dir.glob("gen-*"):  # open readers keep their memory maps (POSIX)
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
