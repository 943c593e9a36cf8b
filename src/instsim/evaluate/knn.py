"""k-nearest-neighbour music-ID prediction, with the pseudo-mix exclusion rule.

Both of the paper's protocols (docs/method.md, "Evaluation protocols") predict a
segment's label by majority vote of its ``k`` nearest *other* segments. The
pseudo-mix protocol additionally removes, when predicting a segment of
``(A_c + B_¬c)``, every segment that contains ``B_¬c`` (same "rest" source).

Tie rule (documented, deterministic): when several labels share the highest
vote count, the winner is the tied label whose closest member among the ``k``
neighbours is nearest to the query (i.e. the first tied label met in distance
order). Distance ties between neighbours are broken by index order (stable sort).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ParameterError

__all__ = ["exclusion_mask", "knn_accuracy", "knn_predict", "pairwise_distances"]


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
    exclude: np.ndarray | None = None,
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
    exclude : np.ndarray [shape=(n, n), dtype=bool] or None
        Extra pairs to ignore (see :func:`exclusion_mask`). The query itself is always ignored.

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
    if exclude is not None and np.shape(exclude) != (n, n):
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
        if exclude is not None:
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
    exclude: np.ndarray | None = None,
) -> float:
    """Percentage of rows whose label :func:`knn_predict` gets right."""
    preds = knn_predict(embeddings, labels, k=k, exclude=exclude)
    return 100.0 * float(np.mean(preds == np.asarray(labels, dtype=object)))
