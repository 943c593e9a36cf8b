"""Cut a stream of audio blocks into fixed-length, overlapping segments, and gate silence.

Segments start at ``0, hop, 2*hop, ...`` and are ``length`` samples long; a
segment is emitted once it is complete, so memory holds at most one block plus
one segment. The tail shorter than a segment is dropped, except that a clip
shorter than one segment yields a single zero-padded segment.

Silence is relative to the track (:func:`silence_mask`): a segment is silent
when its RMS level is more than ``range_db`` below the track's loudest
segment, or below an absolute ``floor_db`` that only digital silence (zeros,
denormals, dither) reaches. A quiet recording is therefore music like a loud
one, whatever its gain.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .errors import ParameterError

__all__ = ["Segment", "Segmentation", "segment_rms_db", "segment_stream", "silence_mask"]


@dataclass(frozen=True)
class Segmentation:
    """How a track is cut: segment length and hop, in seconds and in samples.

    Attributes
    ----------
    segment_seconds, hop_seconds : float [seconds]
    sample_rate : int [Hz]
        The rate the segments are cut at (the model's).
    """

    segment_seconds: float
    hop_seconds: float
    sample_rate: int

    @property
    def length(self) -> int:
        """Segment length [samples] (at least 1)."""
        return max(1, round(self.segment_seconds * self.sample_rate))

    @property
    def hop(self) -> int:
        """Hop between segment starts [samples] (at least 1)."""
        return max(1, round(self.hop_seconds * self.sample_rate))


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


def silence_mask(rms_db: np.ndarray, range_db: float, floor_db: float) -> np.ndarray:
    """Which segments of one track are silent.

    Parameters
    ----------
    rms_db : np.ndarray [shape=(n_segments,)] [dBFS]
        RMS level of each segment of the track (:func:`segment_rms_db`).
    range_db : float > 0 [dB]
        A segment more than this far below the track's loudest segment is silent.
    floor_db : float [dBFS]
        A segment below this absolute level is silent whatever the track.

    Returns
    -------
    np.ndarray [shape=(n_segments,), dtype=bool]
        All ``True`` only when no segment reaches ``floor_db``.
    """
    rms = np.asarray(rms_db, dtype=np.float64)
    if rms.size == 0:
        return np.zeros(0, dtype=bool)
    return (rms < floor_db) | (rms < rms.max() - range_db)


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
