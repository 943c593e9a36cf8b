"""Reading the track vectors of feature dumps written by ``instsim extract``.

Two formats (see docs/extract.md): one ``.npz`` per track, or one ``.parquet``
table per run. Only per-track dumps (``--aggregate mean``) can be indexed. Every
dump carries its provenance (model id, revision, SHA-256 of the model, sub-space
names), which the index compares so that vectors of different models never mix.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DumpError, ModelMismatchError

__all__ = ["DUMP_SUFFIXES", "Dump", "Provenance", "find_dumps", "read_dump"]

DUMP_SUFFIXES = (".npz", ".parquet")
_STAGING = ".instsim"  # instsim extract's staging folder: never walked


@dataclass(frozen=True)
class Provenance:
    """Which model made a set of vectors, and how they are laid out."""

    model_id: str
    model_revision: str
    model_sha256: str
    instruments: tuple[str, ...]
    subspace_dim: int

    @property
    def dim(self) -> int:
        return len(self.instruments) * self.subspace_dim

    def check_same(self, other: Provenance, mine: str, theirs: str) -> None:
        """Raise :class:`ModelMismatchError` naming both sides unless ``other`` is compatible."""
        if other.model_sha256 != self.model_sha256:
            raise ModelMismatchError(
                f"{theirs} was made by model {other.model_id!r} "
                f"(revision {other.model_revision or '-'}, sha256 {other.model_sha256[:12]}), "
                f"but {mine} by model {self.model_id!r} (revision {self.model_revision or '-'}, "
                f"sha256 {self.model_sha256[:12]}); vectors of different models cannot be compared"
            )
        if other.instruments != self.instruments or other.subspace_dim != self.subspace_dim:
            raise ModelMismatchError(
                f"{theirs} has sub-spaces {list(other.instruments)} of {other.subspace_dim} dims, "
                f"but {mine} has {list(self.instruments)} of {self.subspace_dim} dims; "
                "extract both with the same --focus"
            )

    def to_dict(self) -> dict[str, object]:
        return {
            "model_id": self.model_id,
            "model_revision": self.model_revision,
            "model_sha256": self.model_sha256,
            "instruments": list(self.instruments),
            "subspace_dim": self.subspace_dim,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Provenance:
        return cls(
            model_id=str(d["model_id"]),
            model_revision=str(d.get("model_revision") or ""),
            model_sha256=str(d["model_sha256"]),
            instruments=tuple(str(x) for x in d["instruments"]),
            subspace_dim=int(d["subspace_dim"]),
        )


@dataclass
class Dump:
    """The track vectors of one dump file.

    Attributes
    ----------
    file : str
        The dump file.
    vectors : np.ndarray [shape=(n_tracks, dim), dtype=float32]
        As stored (each sub-space L2-normalised by ``instsim extract``).
    paths, relpaths : list of str
        The audio file of each row as given to ``instsim extract``, and its path
        relative to the extraction's base folder.
    provenance : Provenance
    """

    file: str
    vectors: np.ndarray
    paths: list[str]
    relpaths: list[str]
    provenance: Provenance


def find_dumps(inputs: Iterable[str | os.PathLike]) -> Iterator[str]:
    """Dump files among ``inputs``: files as given, folders walked (name order) for dumps.

    Raises
    ------
    DumpError
        An input does not exist.
    """
    for spec in inputs:
        p = Path(spec)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d != _STAGING)
                for name in sorted(files):
                    if name.endswith(DUMP_SUFFIXES):
                        yield os.path.join(root, name)
        elif p.exists():
            yield str(p)
        else:
            raise DumpError(p, "no such file or folder")


def read_dump(path: str | os.PathLike) -> Dump:
    """Read one ``.npz`` or ``.parquet`` dump of track vectors.

    Raises
    ------
    DumpError
        Unreadable, not an instsim dump, no ``embedding``, per-segment vectors,
        or missing provenance.
    """
    path = str(path)
    if path.endswith(".parquet"):
        return _read_parquet(path)
    if path.endswith(".npz"):
        return _read_npz(path)
    raise DumpError(path, f"not a feature dump; expected one of {', '.join(DUMP_SUFFIXES)}")


def _read_npz(path: str) -> Dump:
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as exc:
        raise DumpError(path, f"unreadable .npz ({type(exc).__name__}: {exc})") from None
    if "embedding" not in arrays:
        raise DumpError(path, "it has no 'embedding' array; is it an `instsim extract` dump?")
    emb = arrays["embedding"]
    if emb.ndim != 1:
        raise DumpError(
            path,
            f"'embedding' has shape {emb.shape}: per-segment vectors (--aggregate none) "
            "cannot be indexed; extract with --aggregate mean",
        )
    try:
        prov = Provenance(
            model_id=str(arrays["model_id"]),
            model_revision=str(arrays["model_revision"]),
            model_sha256=str(arrays["model_sha256"]),
            instruments=tuple(str(x) for x in arrays["instruments"]),
            subspace_dim=int(arrays["subspace_dim"]),
        )
        source, rel = str(arrays["source"]), str(arrays["relpath"])
    except KeyError as exc:
        raise DumpError(path, f"provenance field {exc} is missing") from None
    return Dump(path, _checked(path, emb[None], prov), [source], [rel], prov)


def _read_parquet(path: str) -> Dump:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DumpError(
            path, "reading .parquet needs pyarrow: pip install 'instsim[parquet]'"
        ) from None
    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise DumpError(path, f"unreadable .parquet ({type(exc).__name__}: {exc})") from None
    names = table.column_names
    if "embedding" not in names:
        raise DumpError(path, "it has no 'embedding' column; is it an `instsim extract` dump?")
    if "segment" in names:
        raise DumpError(
            path,
            "it holds per-segment vectors (--aggregate none), which cannot be indexed; "
            "extract with --aggregate mean",
        )
    meta = (table.schema.metadata or {}).get(b"instsim")
    try:
        prov = Provenance.from_dict(json.loads(meta))
        paths = [str(x) for x in table.column("path").to_pylist()]
        rels = [str(x) for x in table.column("relpath").to_pylist()]
    except (TypeError, ValueError, KeyError) as exc:
        raise DumpError(path, f"provenance is missing or invalid ({exc})") from None
    col = table.column("embedding").combine_chunks()
    flat = np.asarray(col.flatten(), dtype=np.float32)
    n = len(col)
    if n and flat.size % n:
        raise DumpError(path, "its embeddings do not all have the same length")
    return Dump(path, _checked(path, flat.reshape(n, -1), prov), paths, rels, prov)


def _checked(path: str, vectors: np.ndarray, prov: Provenance) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.shape[1] != prov.dim:
        raise DumpError(
            path,
            f"embedding has {vectors.shape[1]} dims but its sub-spaces "
            f"{list(prov.instruments)} of {prov.subspace_dim} need {prov.dim}",
        )
    if not np.isfinite(vectors).all():
        raise DumpError(path, "embedding contains NaN or infinite values")
    return vectors
