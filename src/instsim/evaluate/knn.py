"""k-nearest-neighbour music-ID prediction, with the protocols' exclusion rules.

Both of the paper's protocols (docs/method.md, "Evaluation protocols") predict a
segment's label by majority vote of its ``k`` nearest *other* segments, where
"other" means sharing no audio with the query:

* music-ID (:func:`overlap_exclusion`): segments of the query's piece that
  overlap it in time (``|t_a - t_b| < segment length``) are left out, so only
  *different time segments* of the same piece can vote;
* pseudo-mix (:func:`exclusion_mask`): when predicting a segment of
  ``(A_c + B_¬c)``, every segment that contains ``B_¬c`` (same "rest" source)
  is left out, its own pseudo-mix included.

Tie rule (documented, deterministic): when several labels share the highest
vote count, the winner is the tied label whose closest member among the ``k``
neighbours is nearest to the query (i.e. the first tied label met in distance
order). Distance ties between neighbours are broken by index order (stable sort).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import ParameterError

__all__ = [
    "ExcludeRows",
    "exclusion_mask",
    "knn_accuracy",
    "knn_predict",
    "overlap_exclusion",
    "pairwise_distances",
]

#: ``exclude(rows) -> (len(rows), n) bool``: the excluded neighbours of a block of queries.
ExcludeRows = Callable[[np.ndarray], np.ndarray]

#: Seconds by which two segments must overlap to count as overlapping: far below one
#: sample at any audio rate, it only absorbs the rounding of start times such as ``k * 0.1``.
OVERLAP_TOLERANCE_SECONDS = 1e-6


def pairwise_distances(x: np.ndarray) -> np.ndarray:
    """Euclidean distances ``(n, n)`` between the rows of ``x`` ``(n, d)`` (float64)."""
    x = np.asarray(x, dtype=np.float64)
    sq = np.einsum("ij,ij->i", x, x)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    np.maximum(d2, 0.0, out=d2)
    return np.sqrt(d2)


def exclusion_mask(rest_sources: Sequence[object]) -> np.ndarray:
    """``(n, n)`` boolean: ``True`` where neighbour ``j`` must be ignored for query ``i``.

    Implements the pseudo-mix rule: when predicting a segment of ``(A_c + B_¬c)``,
    every segment whose rest comes from ``B`` is removed (that includes the other
    segments of the same pseudo-mix).

    Parameters
    ----------
    rest_sources : sequence [shape=(n,)]
        For each segment, the piece its non-focused instruments come from (``B``).
    """
    r = np.asarray(rest_sources, dtype=object)
    return r[:, None] == r[None, :]


def overlap_exclusion(
    pieces: Sequence[object], starts_seconds: Sequence[float], segment_seconds: float
) -> ExcludeRows:
    """The music-ID rule: leave out the segments of the query's piece that overlap it.

    Segments ``a`` and ``b`` of one piece, both ``segment_seconds`` long, share
    audio when ``|t_a - t_b| < segment_seconds``; a segment exactly one length
    away (back to back) shares none and may vote. The rule is evaluated for a
    block of query rows at a time, so no ``(n, n)`` matrix is ever built.

    Parameters
    ----------
    pieces : sequence [shape=(n,)]
        The piece of each segment (its music-ID label).
    starts_seconds : sequence of float [shape=(n,)] [seconds]
        Where each segment starts in its piece.
    segment_seconds : float > 0 [seconds]
        The segments' length.

    Returns
    -------
    ExcludeRows
        ``exclude(rows)`` -> ``(len(rows), n)`` bool, ``True`` where neighbour
        ``j`` overlaps query ``rows[i]`` in the same piece (the query itself included).
    """
    if not segment_seconds > 0:
        raise ParameterError("segment_seconds", f"must be > 0, got {segment_seconds}")
    index: dict[object, int] = {}
    codes = np.asarray([index.setdefault(p, len(index)) for p in pieces], dtype=np.int64)
    t = np.asarray(starts_seconds, dtype=np.float64).reshape(-1)
    if t.shape != codes.shape:
        raise ParameterError("starts", f"{t.shape[0]} start times but {codes.shape[0]} pieces")
    reach = float(segment_seconds) - OVERLAP_TOLERANCE_SECONDS

    def exclude(rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows)
        same = codes[rows, None] == codes[None, :]
        return same & (np.abs(t[rows, None] - t[None, :]) < reach)

    return exclude


def _block_rows(n: int, budget: int = 4_000_000) -> int:
    """Query rows per block so that a block of distances holds about ``budget`` floats."""
    return max(1, min(n, budget // max(n, 1)))


def _k_nearest(dist: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` smallest entries of each row, ordered by (distance, index).

    Equal to ``np.argsort(dist, axis=1, kind="stable")[:, :k]`` without sorting whole
    rows: a partition finds each row's k-th smallest distance, then only the
    entries up to it are sorted (stably, so distance ties keep index order).
    """
    n = dist.shape[1]
    if k >= n:
        return np.argsort(dist, axis=1, kind="stable")
    part = np.argpartition(dist, k - 1, axis=1)[:, :k]
    kth = np.take_along_axis(dist, part, axis=1).max(axis=1)
    out = np.empty((dist.shape[0], k), dtype=np.int64)
    for i in range(dist.shape[0]):
        cand = np.flatnonzero(dist[i] <= kth[i])  # ascending indices
        out[i] = cand[np.argsort(dist[i, cand], kind="stable")[:k]]
    return out


def knn_predict(
    embeddings: np.ndarray,
    labels: Sequence[object],
    k: int = 5,
    exclude: np.ndarray | ExcludeRows | None = None,
) -> np.ndarray:
    """Predict each row's label from its ``k`` nearest other rows (leave-one-out).

    Distances are computed for blocks of query rows, so memory stays bounded
    (about 32 MB of distances at a time) for tens of thousands of segments.

    Parameters
    ----------
    embeddings : np.ndarray [shape=(n, d)]
    labels : sequence [shape=(n,)]
    k : int > 0
        Neighbours that vote (5 in the paper).
    exclude : np.ndarray [shape=(n, n), dtype=bool], ExcludeRows or None
        Extra pairs to ignore: a matrix (:func:`exclusion_mask`) or a function of
        a block of query rows (:func:`overlap_exclusion`). The query itself is
        always ignored.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=object]
        Predicted labels (``None`` where no neighbour was left).
    """
    if k <= 0:
        raise ParameterError("k", f"must be > 0, got {k}")
    labels_arr = np.asarray(labels, dtype=object)
    n = len(labels_arr)
    if embeddings.shape[0] != n:
        raise ParameterError("labels", f"{embeddings.shape[0]} embeddings but {n} labels")
    if exclude is not None and not callable(exclude) and np.shape(exclude) != (n, n):
        raise ParameterError("exclude", f"has shape {np.shape(exclude)}, expected {(n, n)}")
    x = np.asarray(embeddings, dtype=np.float64)
    sq = np.einsum("ij,ij->i", x, x)
    preds = np.empty(n, dtype=object)
    step = _block_rows(n)
    for start in range(0, n, step):
        stop = min(n, start + step)
        rows = np.arange(start, stop)
        d2 = sq[rows, None] + sq[None, :] - 2.0 * (x[rows] @ x.T)
        np.maximum(d2, 0.0, out=d2)
        dist = np.sqrt(d2)
        dist[rows - start, rows] = np.inf
        if callable(exclude):
            block = np.asarray(exclude(rows), dtype=bool)
            if block.shape != dist.shape:
                raise ParameterError(
                    "exclude", f"returned shape {block.shape}, expected {dist.shape}"
                )
            dist[block] = np.inf
        elif exclude is not None:
            dist[np.asarray(exclude[start:stop], dtype=bool)] = np.inf
        order = _k_nearest(dist, k)
        for r in range(stop - start):
            votes: dict[object, int] = {}
            first_seen: list[object] = []
            for j in order[r]:
                if not np.isfinite(dist[r, j]):
                    break
                lab = labels_arr[j]
                if lab not in votes:
                    votes[lab] = 0
                    first_seen.append(lab)
                votes[lab] += 1
            if not votes:
                preds[start + r] = None
                continue
            best = max(votes.values())
            preds[start + r] = next(lab for lab in first_seen if votes[lab] == best)
    return preds


def knn_accuracy(
    embeddings: np.ndarray,
    labels: Sequence[object],
    k: int = 5,
    exclude: np.ndarray | ExcludeRows | None = None,
) -> float:
    """Percentage of rows whose label :func:`knn_predict` gets right."""
    preds = knn_predict(embeddings, labels, k=k, exclude=exclude)
    return 100.0 * float(np.mean(preds == np.asarray(labels, dtype=object)))
