"""Auxiliary loss towards the per-instrument networks' embeddings (docs/method.md eq. 4)."""

from __future__ import annotations

import torch

from ...errors import ConfigError
from . import TargetStyleLoss

__all__ = ["AuxiliaryLoss", "auxiliary_target"]


def auxiliary_target(parts: list[torch.Tensor], present: torch.Tensor) -> torch.Tensor:
    """Build ``t = concat(g_c(s_c)) / ||concat(...)||`` with zeros for absent instruments.

    Parameters
    ----------
    parts : list of Tensor [batch, D_c]
        Per-instrument network outputs for the stems contained in each segment.
    present : Tensor [batch, n_instruments] (bool)
        Whether segment ``i`` contains instrument ``c``.

    Returns
    -------
    Tensor [batch, sum(D_c)]
    """
    masked = [p * present[:, i : i + 1].to(p.dtype) for i, p in enumerate(parts)]
    t = torch.cat(masked, dim=1)
    return t / t.norm(dim=1, keepdim=True).clamp_min(1e-12)


class AuxiliaryLoss(TargetStyleLoss):
    """Squared error ``||f(x) - t||^2`` per sample, averaged (or summed) over the batch.

    Shapes
    ------
    ``forward(embedding, target: [batch, dim]) -> scalar``
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum"):
            raise ConfigError("reduction", f"got {reduction!r}; valid: 'mean', 'sum'")
        self.reduction = reduction

    def forward(self, embedding: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        per = (embedding - target).square().sum(dim=1)
        return per.mean() if self.reduction == "mean" else per.sum()
