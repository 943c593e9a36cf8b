"""FAISS indexes for one block of normalised vectors: exact (flat) and approximate (IVF).

* **exact**: ``IndexFlatIP`` (float32 storage) or ``IndexScalarQuantizer`` fp16
  (float16 storage): inner product with every vector. Read back memory-mapped
  (``IO_FLAG_MMAP_IFC``), so opening costs nothing and pages are loaded on demand.
* **approximate**: ``IndexIVFScalarQuantizer`` (8-bit codes, ``nlist`` inverted
  lists, ``nlist`` = the power of two nearest ``sqrt(n)``) searched with ``nprobe``
  lists for ``K_FACTOR * k`` candidates, which the caller rescores exactly. ``nprobe``
  is calibrated at build time: the smallest power of two whose recall@10 against
  the exact index, on up to ``CALIBRATION_QUERIES`` stored vectors, reaches
  ``TARGET_RECALL``. Chosen over HNSW from measurements (docs/performance.md).

faiss is imported here only, on first use; without it a :class:`~instsim.errors.MissingExtraError`
names the ``instsim[search]`` extra.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..extras import require

__all__ = [
    "CALIBRATION_QUERIES",
    "K_FACTOR",
    "TARGET_RECALL",
    "build_flat",
    "build_ivf",
    "calibrate",
    "faiss",
    "ivf_candidates",
    "read",
    "write",
]

#: approximate search asks the IVF index for this many times k candidates, rescored exactly
K_FACTOR = 4
#: recall@10 against exact search that the calibrated nprobe must reach
TARGET_RECALL = 0.95
CALIBRATION_QUERIES = 200
_CHUNK = 65536  # rows added per call, bounding the float32 copy made while building


def faiss(what: str = "instsim search") -> Any:
    """The faiss module, or :class:`~instsim.errors.MissingExtraError` naming ``instsim[search]``."""
    require("search", what)
    import faiss as _faiss

    return _faiss


#: ``rows(slice or int array) -> float32 (len, dim)``: the vectors an index is built from
Rows = Callable[[Any], np.ndarray]


def _add(index: Any, rows: Rows, n: int) -> None:
    for start in range(0, n, _CHUNK):
        index.add(np.ascontiguousarray(rows(slice(start, min(n, start + _CHUNK))), np.float32))


def build_flat(rows: Rows, n: int, dim: int, dtype: str) -> Any:
    """Exact inner-product index over ``rows(slice(0, n))`` ``(n, dim)``."""
    fs = faiss()
    if dtype == "float16":
        index = fs.IndexScalarQuantizer(dim, fs.ScalarQuantizer.QT_fp16, fs.METRIC_INNER_PRODUCT)
    else:
        index = fs.IndexFlatIP(dim)
    _add(index, rows, n)
    return index


def nlist_for(n: int) -> int:
    """Inverted lists for ``n`` vectors: the power of two nearest ``sqrt(n)``, at most n/39
    (k-means needs 39 training points per centroid)."""
    return max(1, min(2 ** round(math.log2(max(1.0, math.sqrt(n)))), n // 39))


def build_ivf(
    rows: Rows,
    n: int,
    dim: int,
    nlist: int,
    trained: Any | None = None,
    seed: int = 0,
) -> Any:
    """IVF index with 8-bit scalar-quantised codes; reuses ``trained``'s centroids if given."""
    fs = faiss()
    if trained is not None:
        index = fs.clone_index(trained)
        index.reset()
    else:
        quantizer = fs.IndexFlatIP(dim)
        index = fs.IndexIVFScalarQuantizer(
            quantizer, dim, nlist, fs.ScalarQuantizer.QT_8bit, fs.METRIC_INNER_PRODUCT
        )
        index.own_fields = True
        quantizer.this.disown()
        pick = np.sort(
            np.random.default_rng(seed).choice(n, size=min(n, 64 * nlist), replace=False)
        )
        sample = np.ascontiguousarray(rows(pick), dtype=np.float32)
        index.cp.seed = seed
        index.train(sample)
    _add(index, rows, n)
    return index


def ivf_candidates(index: Any, queries: np.ndarray, k: int, nprobe: int) -> np.ndarray:
    """Row ids ``(n_queries, K_FACTOR * k)`` of the approximate neighbours (-1: none)."""
    fs = faiss()
    params = fs.SearchParametersIVF(nprobe=int(nprobe))
    kk = min(index.ntotal, K_FACTOR * k)
    _, rows = index.search(np.ascontiguousarray(queries, dtype=np.float32), kk, params=params)
    return rows


def calibrate(
    ivf: Any,
    flat: Any,
    queries: np.ndarray,
    own: np.ndarray,
    rescore: Callable[[np.ndarray, np.ndarray], np.ndarray],
    k: int = 10,
) -> tuple[int, float]:
    """Smallest power-of-two ``nprobe`` reaching ``TARGET_RECALL`` recall@k; and that recall.

    ``queries`` are stored rows ``own``, left out of both result lists (a query always
    finds itself); ``rescore(queries, candidates)`` orders candidates as search does.
    """
    k = min(k, flat.ntotal - 1)
    if k <= 0:
        return 1, 1.0
    _, truth = flat.search(np.ascontiguousarray(queries, dtype=np.float32), k + 1)

    def top(rows: np.ndarray) -> list[set[int]]:
        return [set([r for r in row if r != o and r >= 0][:k]) for row, o in zip(rows, own)]

    expected = top(truth)
    nprobe = 1
    while True:
        found = top(rescore(queries, ivf_candidates(ivf, queries, k + 1, nprobe)))
        recall = float(np.mean([len(a & b) / k for a, b in zip(found, expected)]))
        if recall >= TARGET_RECALL or nprobe >= ivf.nlist:
            return nprobe, recall
        nprobe *= 2


def write(index: Any, path: str) -> None:
    faiss().write_index(index, path)


def read(path: str, mmap: bool) -> Any:
    """Read an index file; ``mmap`` maps flat storage instead of reading it."""
    fs = faiss()
    return fs.read_index(path, fs.IO_FLAG_MMAP_IFC if mmap else 0)
