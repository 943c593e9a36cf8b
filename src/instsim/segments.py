"""Cut a stream of audio blocks into fixed-length, overlapping segments.

Segments start at ``0, hop, 2*hop, ...`` and are ``length`` samples long; a
segment is emitted once it is complete, so memory holds at most one block plus
one segment. The tail shorter than a segment is dropped, except that a clip
shorter than one segment yields a single zero-padded segment.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .errors import ParameterError

__all__ = ["Segment", "segment_rms_db", "segment_stream"]


@dataclass
class Segment:
    """One analysis segment.

    Attributes
    ----------
    start : int [samples]
    end : int [samples]
        End of the real audio in this segment (``< start + length`` only for a padded clip).
    audio : np.ndarray [shape=(length,), dtype=float32]
    """

    start: int
    end: int
    audio: np.ndarray


def segment_rms_db(x: np.ndarray) -> float:
    """RMS level of ``x`` in dBFS (``-inf``-safe: silence gives about -120)."""
    if x.size == 0:
        return -120.0
    return float(10.0 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def segment_stream(blocks: Iterable[np.ndarray], length: int, hop: int) -> Iterator[Segment]:
    """Yield segments of ``length`` samples every ``hop`` samples from consecutive blocks.

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(n,), dtype=float32]
        Consecutive pieces of one mono signal.
    length, hop : int > 0 [samples]

    Yields
    ------
    Segment
    """
    if length <= 0 or hop <= 0:
        raise ParameterError("length, hop", f"must be > 0, got {length}, {hop}")
    buf = np.zeros(0, dtype=np.float32)
    buf_start = 0  # absolute sample index of buf[0]
    next_start = 0
    total = 0
    emitted = False
    skip = 0  # samples to discard before the next segment (when hop > length)
    for block in blocks:
        if block.size == 0:
            continue
        total += block.size
        if skip:
            cut = min(skip, block.size)
            block, skip = block[cut:], skip - cut
            if block.size == 0:
                continue
        buf = np.concatenate([buf, block]) if buf.size else block
        while next_start + length <= buf_start + buf.size:
            i = next_start - buf_start
            yield Segment(next_start, next_start + length, buf[i : i + length].copy())
            emitted = True
            next_start += hop
        # drop what no future segment needs
        keep_from = next_start - buf_start
        if keep_from > 0:
            skip = max(0, keep_from - buf.size)
            buf = buf[keep_from:]
            buf_start = next_start
    if not emitted and total > 0:
        seg = np.zeros(length, dtype=np.float32)
        seg[:total] = buf[:total]  # nothing was dropped: buf holds the whole clip
        yield Segment(0, total, seg)
