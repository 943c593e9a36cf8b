"""Turning a search query into vectors: arrays, TrackEmbeddings, indexed paths, dumps, audio.

A query that is itself in the index (an indexed path, a dump of an indexed track,
an indexed audio file) also yields its own row, which search leaves out unless
asked to keep it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError, ModelMismatchError
from .dumps import DUMP_SUFFIXES, read_dump

if TYPE_CHECKING:  # pragma: no cover
    from ..extractor import Extractor
    from .index import Index

__all__ = ["Query", "normalise", "resolve"]


def normalise(x: np.ndarray, n_subspaces: int) -> np.ndarray:
    """Each sub-space of ``x`` ``[..., n_subspaces * d]`` L2-normalised, as float32."""
    v = np.asarray(x, dtype=np.float32)
    shape = v.shape
    v = v.reshape(*shape[:-1], n_subspaces, shape[-1] // n_subspaces)
    return (v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)).reshape(shape)


@dataclass
class Query:
    """Query vectors ``(n_queries, dim)``, each query's own rows, and a label."""

    vectors: np.ndarray
    own_rows: list[set[int]] = field(default_factory=list)
    label: str | None = None
    single: bool = True


def resolve(index: Index, query: Any, extractor: Extractor | None = None) -> Query:
    """Vectors for ``query``: see :meth:`Index.search` for what it may be."""
    if isinstance(query, (str, os.PathLike)):
        return _from_path(index, str(query), extractor)
    if hasattr(query, "vector") and hasattr(query, "instruments"):  # a TrackEmbedding
        missing = [n for n in index.instruments if n not in query.instruments]
        if missing or query.subspace_dim != index.subspace_dim:
            raise ModelMismatchError(
                f"the query embedding has sub-spaces {list(query.instruments)} of "
                f"{query.subspace_dim} dims; the index needs {list(index.instruments)} of "
                f"{index.subspace_dim}"
            )
        vec = query.vector(focus=list(index.instruments))
        return Query(_check(index, vec[None]), [_own(index, query.source)], query.source)
    arr = np.asarray(query, dtype=np.float32)
    if arr.ndim not in (1, 2) or arr.shape[-1] != index.dim or arr.size == 0:
        raise ConfigError(
            "query",
            f"an array query must have shape ({index.dim},) or (n, {index.dim}) "
            f"(sub-spaces {list(index.instruments)} of {index.subspace_dim}); got {arr.shape}",
        )
    q = _check(index, np.atleast_2d(arr))
    return Query(q, [set() for _ in q], None, single=arr.ndim == 1)


def _check(index: Index, q: np.ndarray) -> np.ndarray:
    if not np.isfinite(q).all():
        raise ConfigError("query", "contains NaN or infinite values")
    return normalise(q, len(index.instruments))


def _own(index: Index, path: str) -> set[int]:
    row = index.row_of(path)
    return set() if row is None else {row}


def _from_path(index: Index, path: str, extractor: Extractor | None) -> Query:
    row = index.row_of(path)
    if row is not None:
        vec = np.asarray(index.vectors[row], dtype=np.float32)
        return Query(normalise(vec[None], len(index.instruments)), [{row}], path)
    if not Path(path).is_file():
        raise ConfigError(
            "query", f"{path!r} is neither a path in the index nor an existing audio or dump file"
        )
    if path.endswith(DUMP_SUFFIXES):
        dump = read_dump(path)
        index.provenance.check_same(dump.provenance, "the index", f"query dump {path!r}")
        own = [_own(index, p) for p in dump.paths]
        return Query(_check(index, dump.vectors), own, path, single=len(dump.paths) == 1)
    ext = extractor if extractor is not None else index.extractor()
    index.check_extractor(ext)
    te = ext.embed_track(path)
    vec = te.vector(focus=list(index.instruments))
    return Query(_check(index, vec[None]), [_own(index, path)], path)
