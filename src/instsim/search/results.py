"""What a search returns: ranked rows, their paths, scores and per-sub-space similarities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SearchResults"]


@dataclass
class SearchResults:
    """Nearest tracks of one query (1-D fields) or of a batch of queries (2-D fields).

    Attributes
    ----------
    focus : list of str
        The sub-spaces the score averages.
    k : int
    rows : np.ndarray [shape=(k,) or (n_queries, k), dtype=int64]
        Index rows, best first; -1 pads a query with fewer than k results.
    paths, relpaths : np.ndarray [shape=rows.shape, dtype=object]
        The tracks' audio paths as recorded by ``instsim extract`` ("" for padding).
    scores : np.ndarray [shape=rows.shape, dtype=float32]
        Mean cosine similarity over the ``focus`` sub-spaces, in [-1, 1] (NaN for padding).
    per_subspace : dict of str to np.ndarray [shape=rows.shape, dtype=float32]
        Cosine similarity on every sub-space: why two tracks match.
    query : str or None
        What the query was (a path), when there is one.
    """

    focus: list[str]
    k: int
    rows: np.ndarray
    paths: np.ndarray
    relpaths: np.ndarray
    scores: np.ndarray
    per_subspace: dict[str, np.ndarray]
    query: str | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def to_dict(self) -> dict[str, object]:
        """One query's results as plain JSON-ready data (the CLI's ``--json`` object)."""
        if self.rows.ndim != 1:
            raise ValueError("to_dict() describes one query; index a batch's fields per query")
        results = [
            {
                "rank": i + 1,
                "path": str(self.paths[i]),
                "relpath": str(self.relpaths[i]),
                "score": round(float(self.scores[i]), 6),
                "per_subspace": {
                    name: round(float(v[i]), 6) for name, v in self.per_subspace.items()
                },
            }
            for i in range(len(self.rows))
            if self.rows[i] >= 0
        ]
        return {"query": self.query, "focus": self.focus, "k": self.k, "results": results}
