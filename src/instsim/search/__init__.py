"""Search feature dumps by instrument, on FAISS (the ``instsim[search]`` extra).

``Index`` builds, opens, extends and searches an index folder; ``read_dump`` reads
the track vectors of one ``instsim extract`` dump. faiss is imported on first use.
"""

from __future__ import annotations

from .dumps import Dump, Provenance, find_dumps, read_dump
from .index import APPROX_THRESHOLD, Index
from .results import SearchResults

__all__ = [
    "APPROX_THRESHOLD",
    "Dump",
    "Index",
    "Provenance",
    "SearchResults",
    "find_dumps",
    "read_dump",
]
