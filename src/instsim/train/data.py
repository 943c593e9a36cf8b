"""Training data: the decoded-signal cache, piece selection and precomputed tables.

Everything that does not change between epochs is computed once:

* group signals are decoded and resampled once into a memory-mapped
  :class:`~instsim.data.cache.GroupCache` (all cores);
* stage 1 and 2 train on fixed segments, so their log-mel spectrograms are
  computed once into float16 tables;
* the auxiliary targets of every anchor position stage 3 can draw are computed
  once by the (frozen) per-instrument networks, in a fixed order, so a resumed run
  sees bit-identical targets.

Only stage 3's pseudo-mixes are rendered per step (cheap: memory-mapped reads and sums).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..data.cache import GroupCache
from ..data.pseudomix import PartSpec, PieceInfo, SegmentSpec, render
from ..errors import DatasetError
from ..frontend import LogMel

__all__ = [
    "MelTable",
    "TrackTripletSampler",
    "choose_pieces",
    "group_segments",
    "mel_of",
    "normalize_rows",
]


def normalize_rows(x: torch.Tensor, n_subspaces: int = 1) -> torch.Tensor:
    """L2-normalise each of ``n_subspaces`` equal slices of the last axis."""
    shape = x.shape
    v = x.reshape(*shape[:-1], n_subspaces, shape[-1] // n_subspaces)
    v = v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return v.reshape(shape)


def choose_pieces(ids: Sequence[str], n: int, seed: int, salt: int) -> list[str]:
    """A seeded subset of ``n`` piece ids (all of them when ``n`` is 0 or larger), sorted."""
    ids = sorted(ids)
    if n <= 0 or n >= len(ids):
        return ids
    rng = np.random.default_rng([seed, salt])
    return sorted(ids[i] for i in rng.choice(len(ids), size=n, replace=False))


def group_segments(
    cache: GroupCache,
    items: Sequence[tuple[str, tuple[str, ...], float]],
    seconds: float,
) -> np.ndarray:
    """Render ``(track_id, groups, offset_seconds)`` segments as float32 ``(n, samples)``."""
    n = round(seconds * cache.sample_rate)
    out = np.zeros((len(items), n), dtype=np.float32)
    for i, (tid, groups, offset) in enumerate(items):
        out[i] = render(SegmentSpec((PartSpec(tid, tuple(groups), float(offset)),), seconds), cache)
    return out


@torch.inference_mode()
def mel_of(frontend: LogMel, waves: np.ndarray, batch: int = 64) -> torch.Tensor:
    """Log-mel spectrograms of ``waves`` ``(n, samples)`` as float16 ``(n, 1, n_mels, frames)``."""
    outs = []
    for i in range(0, len(waves), batch):
        outs.append(frontend(torch.from_numpy(waves[i : i + batch])).to(torch.float16))
    if not outs:
        raise DatasetError("no segments to compute log-mel spectrograms for")
    return torch.cat(outs)


@dataclass
class MelTable:
    """Fixed training segments: log-mels, the piece each comes from, optional targets.

    Attributes
    ----------
    mels : Tensor [shape=(n, 1, n_mels, frames), dtype=float16]
    labels : np.ndarray [shape=(n,), dtype=int64]
        Index of the source piece (into :attr:`pieces`).
    pieces : list of str
    targets : Tensor [shape=(n, dim)] or None
        Auxiliary-loss targets (stage 2).
    """

    mels: torch.Tensor
    labels: np.ndarray
    pieces: list[str]
    targets: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def first_active(info: PieceInfo, group: str | None, n: int) -> list[float]:
    """Offsets [seconds] of the first ``n`` non-silent segments of ``group`` (any group: ``None``)."""
    return [float(t) for t in info.active_offsets(group)[:n]]


def stem_table(
    cache: GroupCache,
    pieces: Sequence[str],
    group: str,
    per_piece: int,
    frontend: LogMel,
    seconds: float,
    progress: Callable[[str], None] | None = None,
) -> MelTable:
    """Stage 1 / baseline table: the first ``per_piece`` non-silent segments of one group.

    ``group="mix"`` takes segments of the whole mix (every group) instead.
    """
    items: list[tuple[str, tuple[str, ...], float]] = []
    labels: list[int] = []
    kept: list[str] = []
    for tid in pieces:
        info = cache.info(tid)
        groups = cache.groups if group == "mix" else (group,)
        offsets = first_active(info, None if group == "mix" else group, per_piece)
        if len(offsets) < 2:  # a piece needs two segments to give an anchor and a positive
            continue
        kept.append(tid)
        items += [(tid, groups, t) for t in offsets]
        labels += [len(kept) - 1] * len(offsets)
    if len(kept) < 2:
        raise DatasetError(
            f"only {len(kept)} training pieces have 2 or more non-silent {group!r} segments; "
            "track-based triplets need at least 2 pieces"
        )
    if progress:
        progress(f"{group}: {len(items)} segments of {len(kept)} pieces")
    return MelTable(mel_of(frontend, group_segments(cache, items, seconds)), np.array(labels), kept)


class TrackTripletSampler:
    """Track-based triplets over a :class:`MelTable`: anchor and positive from one piece,
    negative from another (Lee et al. 2020, the paper's §2.1)."""

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = labels
        self.by_piece = [np.flatnonzero(labels == p) for p in range(int(labels.max()) + 1)]
        self.usable = np.array([i for i, ix in enumerate(self.by_piece) if len(ix) >= 2])

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row indices ``(anchor, positive, negative)``, each ``(n,)``."""
        pieces = self.usable[rng.integers(len(self.usable), size=n)]
        a = np.empty(n, dtype=np.int64)
        p = np.empty(n, dtype=np.int64)
        neg = np.empty(n, dtype=np.int64)
        n_pieces = len(self.by_piece)
        for i, piece in enumerate(pieces):
            rows = self.by_piece[piece]
            j, k = rng.choice(len(rows), size=2, replace=False)
            a[i], p[i] = rows[j], rows[k]
            other = int(rng.integers(n_pieces - 1))
            other += other >= piece
            neg[i] = self.by_piece[other][int(rng.integers(len(self.by_piece[other])))]
        return a, p, neg
