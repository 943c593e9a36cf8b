"""FAISS search over one index's normalised vectors: exact and approximate.

* **exact**: ``IndexFlatIP`` (float32 storage) or ``IndexScalarQuantizer`` fp16
  (float16 storage) per sub-space and for the whole vector, read back memory-mapped
  (``IO_FLAG_MMAP_IFC``). Single queries run on one faiss thread (OpenMP start-up
  costs more than it saves on one query); batches of ``BATCH_MIN`` queries or more
  are a blocked float32 BLAS matmul over the memory-mapped vectors
  (:func:`exact_topk`), ``_CHUNK`` rows at a time, so memory stays bounded.
* **approximate** (index format 2): for every sub-space an IVF coarse quantiser
  (``nlist`` spherical k-means centroids of that sub-space, about ``sqrt(n)``) whose
  inverted lists hold 8-bit scalar-quantised codes of the *whole* normalised vector
  (``IndexIVFScalarQuantizer`` over ``dim``, its centroids zero outside the sub-space,
  no residual). A query masked to its focused sub-spaces probes ``nprobe`` lists of
  each focused sub-space, is scored on those sub-spaces from the codes, and the
  ``k_factor * k`` best of every probed sub-space are rescored exactly by the caller.
  Read back with ``IO_FLAG_MMAP``: the lists stay on disk, mapped.
* :func:`calibrate` picks ``nprobe`` and ``k_factor`` per sub-space and for the whole
  vector: the cheapest pair whose one-sided 95% lower confidence bound of recall@10
  against exact search, on ``CALIBRATION_QUERIES`` stored tracks left out of their own
  results, reaches ``TARGET_RECALL``.
* Format 1 (read only): one ``IndexIVFScalarQuantizer`` per sub-space and for the
  whole vector, over that block's columns, ``K_FACTOR_V1 * k`` candidates.

faiss is imported here only, on first use; without it a :class:`~instsim.errors.MissingExtraError`
names the ``instsim[search]`` extra.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..extras import require

__all__ = [
    "BATCH_MIN",
    "CALIBRATION_QUERIES",
    "K_FACTORS",
    "TARGET_RECALL",
    "build_flat",
    "calibrate",
    "coarse",
    "exact_topk",
    "faiss",
    "fill_lists",
    "ivf_candidates",
    "lists_candidates",
    "new_lists",
    "nlist_for",
    "probe",
    "read",
    "threads",
    "write",
]

#: recall@10 against exact search whose 95% lower confidence bound calibration must reach
TARGET_RECALL = 0.95
#: z of a one-sided 95% confidence bound (normal approximation of the mean recall)
Z_95 = 1.6449
#: stored tracks used as calibration queries (each left out of its own results)
CALIBRATION_QUERIES = 300
#: candidates per probed sub-space, in multiples of k, tried by calibration (cheapest first)
K_FACTORS = (1, 2, 4, 8)
#: format 1: candidates asked of the IVF index, in multiples of k
K_FACTOR_V1 = 4
#: from this many queries on, exact search is :func:`exact_topk` (blocked BLAS matmul) instead
#: of the faiss flat scan: converting the float16 vectors to float32 once per block pays off
#: only over many queries (scratch measurement at 200k tracks, docs/performance.md)
BATCH_MIN = 64
_CHUNK = 16384  # rows per block: 42 MB of float32 at 640 dims


def faiss(what: str = "instsim search") -> Any:
    """The faiss module, or :class:`~instsim.errors.MissingExtraError` naming ``instsim[search]``."""
    require("search", what)
    import faiss as _faiss

    return _faiss


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Run faiss on ``n`` OpenMP threads inside the block (``None``: leave it as it is)."""
    if n is None:
        yield
        return
    fs = faiss()
    before = fs.omp_get_max_threads()
    fs.omp_set_num_threads(int(n))
    try:
        yield
    finally:
        fs.omp_set_num_threads(before)


#: ``rows(slice or int array) -> float32 (len, dim)``: the vectors an index is built from
Rows = Callable[[Any], np.ndarray]


def build_flat(rows: Rows, n: int, dim: int, dtype: str) -> Any:
    """Exact inner-product index over ``rows(slice(0, n))`` ``(n, dim)``."""
    fs = faiss()
    if dtype == "float16":
        index = fs.IndexScalarQuantizer(dim, fs.ScalarQuantizer.QT_fp16, fs.METRIC_INNER_PRODUCT)
    else:
        index = fs.IndexFlatIP(dim)
    for start in range(0, n, _CHUNK):
        index.add(np.ascontiguousarray(rows(slice(start, min(n, start + _CHUNK))), np.float32))
    return index


def nlist_for(n: int) -> int:
    """Inverted lists for ``n`` vectors: the power of two nearest ``sqrt(n)``, at most n/39
    (k-means needs 39 training points per centroid)."""
    return max(1, min(2 ** round(math.log2(max(1.0, math.sqrt(n)))), n // 39))


# ---- exact, blocked matmul -----------------------------------------------------------------
def exact_topk(
    vectors: np.ndarray,
    queries: np.ndarray,
    groups: Sequence[Sequence[int]],
    subspace_dim: int,
    kk: int,
) -> list[np.ndarray]:
    """Exact top ``kk`` rows of every query for every group of sub-spaces, in one pass.

    The stored vectors are read ``_CHUNK`` rows at a time, only the needed sub-spaces
    converted to float32; each block's top ``kk`` per query comes from a BLAS matmul
    with the top-k selection in C++ (``faiss.knn``), and the blocks' tops are merged.

    Parameters
    ----------
    vectors : np.ndarray [shape=(n, dim)]
        Stored vectors (memory-mapped float16 or float32).
    queries : np.ndarray [shape=(m, dim), dtype=float32]
    groups : sequence of sequence of int
        Sub-space ids; a group's score is the sum (so the ranking of the mean) of its
        sub-space inner products.
    subspace_dim : int
    kk : int
        Rows to return (at most n).

    Returns
    -------
    list of np.ndarray [shape=(m, min(kk, n)), dtype=int64]
        Per group, rows best first (ties: lower row first).
    """
    fs = faiss()
    n, d = len(vectors), subspace_dim
    kk = min(int(kk), n)
    ns = vectors.shape[1] // d
    needed = sorted({s for g in groups for s in g})
    span = slice(needed[0] * d, (needed[-1] + 1) * d)  # columns read from disk
    cols = [_columns(g, d, span.start) for g in groups]
    q = [
        np.ascontiguousarray(np.asarray(queries, np.float32)[:, _columns(g, d, 0)]) for g in groups
    ]
    best_s = [np.empty((len(queries), 0), np.float32) for _ in groups]
    best_r = [np.empty((len(queries), 0), np.int64) for _ in groups]
    every = needed == list(range(ns))
    for a in range(0, n, _CHUNK):
        block = vectors[a : a + _CHUNK] if every else vectors[a : a + _CHUNK, span]
        x = np.asarray(block, np.float32)
        for j, c in enumerate(cols):
            xg = x if isinstance(c, slice) and c == slice(0, x.shape[1]) else x[:, c]
            sc, rows = fs.knn(
                q[j], np.ascontiguousarray(xg), min(kk, len(x)), fs.METRIC_INNER_PRODUCT
            )
            cat_s = np.concatenate([best_s[j], sc], axis=1)
            cat_r = np.concatenate([best_r[j], rows + a], axis=1)
            if cat_s.shape[1] > kk:
                keep = np.argpartition(-cat_s, kk - 1, axis=1)[:, :kk]
                cat_s = np.take_along_axis(cat_s, keep, 1)
                cat_r = np.take_along_axis(cat_r, keep, 1)
            best_s[j], best_r[j] = cat_s, cat_r
    out = []
    for j in range(len(groups)):
        order = np.lexsort((best_r[j], -best_s[j]), axis=-1)
        out.append(np.take_along_axis(best_r[j], order, 1))
    return out


def _columns(subs: Sequence[int], d: int, offset: int) -> slice | np.ndarray:
    """The columns of sub-spaces ``subs`` (a slice when they are adjacent), less ``offset``."""
    subs = sorted(subs)
    if subs == list(range(subs[0], subs[-1] + 1)):
        return slice(subs[0] * d - offset, (subs[-1] + 1) * d - offset)
    return np.concatenate([np.arange(s * d, (s + 1) * d) for s in subs]) - offset


# ---- approximate, format 2 ------------------------------------------------------------------
def new_lists(
    dim: int, cols: slice, centroids: np.ndarray, sq_trained: np.ndarray | None, sample: Any
) -> Any:
    """An empty IVF-SQ8 index over ``dim``-d vectors whose coarse quantiser looks at ``cols`` only.

    ``centroids`` ``(nlist, cols width)``; ``sq_trained`` the scalar quantiser's trained
    ranges (as stored by a previous index), or ``None`` to train them on ``sample`` ``(m, dim)``.
    """
    fs = faiss()
    nlist = len(centroids)
    padded = np.zeros((nlist, dim), np.float32)
    padded[:, cols] = centroids
    quantizer = fs.IndexFlatIP(dim)
    quantizer.add(padded)
    index = fs.IndexIVFScalarQuantizer(
        quantizer, dim, nlist, fs.ScalarQuantizer.QT_8bit, fs.METRIC_INNER_PRODUCT, False
    )
    index.own_fields = True
    quantizer.this.disown()
    if sq_trained is None:
        index.train(np.ascontiguousarray(sample, dtype=np.float32))  # the quantiser is set
    else:
        fs.copy_array_to_vector(np.asarray(sq_trained, np.float32), index.sq.trained)
        index.is_trained = True
    return index


def train_centroids(sample: np.ndarray, nlist: int, seed: int = 0) -> np.ndarray:
    """Spherical k-means centroids ``(nlist, width)`` of one sub-space's ``sample``."""
    if nlist == 1:  # a handful of tracks: one list, nothing to cluster
        return np.ones((1, sample.shape[1]), np.float32) / np.sqrt(sample.shape[1])
    fs = faiss()
    km = fs.Kmeans(sample.shape[1], nlist, niter=20, seed=seed, spherical=True)
    km.train(np.ascontiguousarray(sample, dtype=np.float32))
    return np.asarray(km.centroids, np.float32)


def fill_lists(index: Any, rows: Rows, n: int, cols: slice) -> None:
    """Add ``rows(slice(0, n))`` to ``index``, assigned to lists on ``cols`` only (cheaper)."""
    fs = faiss()
    sub = coarse(index, cols)
    for start in range(0, n, _CHUNK):
        x = np.ascontiguousarray(rows(slice(start, min(n, start + _CHUNK))), np.float32)
        _, assign = sub.search(np.ascontiguousarray(x[:, cols]), 1)
        ids = np.arange(start, start + len(x), dtype=np.int64)
        index.add_core(len(x), fs.swig_ptr(x), fs.swig_ptr(ids), fs.swig_ptr(assign.ravel()))


def centroids_of(index: Any, cols: slice) -> np.ndarray:
    """The coarse centroids ``(nlist, cols width)`` of a format-2 lists index."""
    return np.asarray(index.quantizer.reconstruct_n(0, index.nlist)[:, cols], np.float32)


def sq_trained_of(index: Any) -> np.ndarray:
    return faiss().vector_to_array(index.sq.trained)


def coarse(index: Any, cols: slice) -> Any:
    """A flat index of a lists index's centroids on ``cols`` only: assigns a query to lists
    at a fifth of the cost of the zero-padded ``dim``-d quantiser."""
    sub = faiss().IndexFlatIP(cols.stop - cols.start)
    sub.add(np.ascontiguousarray(centroids_of(index, cols)))
    return sub


def probe(lists: Any, coarse: Any, cols: slice, q: np.ndarray, kk: int, nprobe: int) -> np.ndarray:
    """The ``kk`` best rows ``(m, kk)`` by code score among ``nprobe`` lists of one sub-space.

    ``q`` ``(m, dim)`` float32 C-contiguous; its ``cols`` choose the lists (by ``coarse``).
    """
    fs = faiss()
    nprobe = min(int(nprobe), lists.nlist)
    kk = min(int(kk), lists.ntotal)
    dq, iq = coarse.search(np.ascontiguousarray(q[:, cols]), nprobe)
    dist = np.empty((len(q), kk), np.float32)
    rows = np.empty((len(q), kk), np.int64)
    lists.search_preassigned_c(
        len(q), fs.swig_ptr(q), kk, fs.swig_ptr(iq), fs.swig_ptr(dq), fs.swig_ptr(dist),
        fs.swig_ptr(rows), False, fs.SearchParametersIVF(nprobe=nprobe),
    )  # fmt: skip
    return rows


def lists_candidates(
    probes: Sequence[tuple[Any, Any, slice]], masked: np.ndarray, kk: int, nprobe: int
) -> np.ndarray:
    """Union of the ``kk`` best rows (by code score) of each sub-space's lists ``(m, <= len*kk)``.

    ``probes``: ``(lists, coarse, cols)`` of each focused sub-space; ``masked`` ``(m, dim)``
    float32: the queries, zero outside the focused sub-spaces. Repeats and empty slots are -1.
    """
    q = np.ascontiguousarray(masked, dtype=np.float32)
    if len(probes) > 1 and len(q) < BATCH_MIN and (os.cpu_count() or 1) > 1:
        # a few queries on several sub-spaces: one probe per core (faiss releases the GIL;
        # OpenMP has nothing to split in one query's one or two lists)
        parts = list(_pool().map(lambda p: probe(*p, q, kk, nprobe), probes))
    else:
        parts = [probe(*p, q, kk, nprobe) for p in probes]
    return dedupe(np.concatenate(parts, axis=1))


_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """The process's probe threads (one per core), started on first use."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="instsim-probe")
    return _POOL


def dedupe(cand: np.ndarray) -> np.ndarray:
    """Rows of ``cand`` sorted, repeats replaced by -1."""
    c = np.sort(cand, axis=1)
    c[:, 1:][c[:, 1:] == c[:, :-1]] = -1
    return c


def calibrate(
    probes: Sequence[tuple[Any, Any, slice]],
    masked: np.ndarray,
    own: np.ndarray,
    truth: np.ndarray,
    exact_score: Callable[[np.ndarray], np.ndarray],
    nlist: int,
    k: int = 10,
) -> dict[str, float | int]:
    """The cheapest ``nprobe`` (powers of two), then ``k_factor`` (``K_FACTORS``), reaching
    a one-sided 95% lower confidence bound of recall@k >= ``TARGET_RECALL``.

    Parameters
    ----------
    probes : sequence of (lists, coarse, cols)
        The focused sub-spaces' lists indexes, their :func:`coarse` indexes and columns.
    masked : np.ndarray [shape=(m, dim), dtype=float32]
        Calibration queries (stored rows ``own``), zero outside the focused sub-spaces.
    own : np.ndarray [shape=(m,), dtype=int64]
    truth : np.ndarray [shape=(m, >= k + 1), dtype=int64]
        Exact top rows of each query, best first (the query's own row among them).
    exact_score : callable
        ``exact_score(rows (m, c)) -> (m, c)`` exact focused scores (-inf for -1).
    nlist : int

    Returns
    -------
    dict
        ``nprobe``, ``k_factor``, ``recall_at_10`` (mean) and ``recall_at_10_lower_95``.
    """
    m = len(own)
    k = min(k, probes[0][0].ntotal - 1)
    if k <= 0:
        return {"nprobe": 1, "k_factor": 1, "recall_at_10": 1.0, "recall_at_10_lower_95": 1.0}
    expected = [set([r for r in row if r != o][:k]) for row, o in zip(truth, own)]
    q = np.ascontiguousarray(masked, dtype=np.float32)
    kmax = (k + 1) * K_FACTORS[-1]
    nprobe, result = 1, {}
    while True:
        parts = [probe(*p, q, kmax, nprobe) for p in probes]
        for kf in K_FACTORS:
            cand = dedupe(np.concatenate([p[:, : (k + 1) * kf] for p in parts], axis=1))
            cand[cand == own[:, None]] = -1
            score = exact_score(cand)
            order = np.lexsort((cand, -score), axis=-1)[:, :k]
            found = np.take_along_axis(cand, order, 1)
            per = np.array([len(e & set(f.tolist())) / k for e, f in zip(expected, found)])
            mean = float(per.mean())
            low = mean - Z_95 * float(per.std(ddof=1)) / math.sqrt(m) if m > 1 else mean
            result = {"nprobe": nprobe, "k_factor": kf, "recall_at_10": round(mean, 4),
                      "recall_at_10_lower_95": round(low, 4)}  # fmt: skip
            if low >= TARGET_RECALL:
                return result
        if nprobe >= nlist:
            return result
        nprobe = min(nlist, nprobe * 2)


# ---- format 1 (read only) ------------------------------------------------------------------
def ivf_candidates(index: Any, queries: np.ndarray, k: int, nprobe: int) -> np.ndarray:
    """Format 1: row ids ``(n_queries, K_FACTOR_V1 * k)`` of the approximate neighbours (-1: none)."""
    fs = faiss()
    params = fs.SearchParametersIVF(nprobe=int(nprobe))
    kk = min(index.ntotal, K_FACTOR_V1 * k)
    _, rows = index.search(np.ascontiguousarray(queries, dtype=np.float32), kk, params=params)
    return rows


def write(index: Any, path: str) -> None:
    faiss().write_index(index, path)


def read(path: str, kind: str) -> Any:
    """Read an index file: ``flat`` maps the flat codes, ``lists`` the inverted lists,
    anything else (format 1 ``ivf``) reads it into memory."""
    fs = faiss()
    flags = {"flat": fs.IO_FLAG_MMAP_IFC, "lists": fs.IO_FLAG_MMAP}.get(kind, 0)
    return fs.read_index(path, flags)
