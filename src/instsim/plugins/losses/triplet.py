"""Triplet losses: plain (per-instrument networks) and masked (CSN), method.md eqs. 1-3."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MaskedTripletLoss", "TripletLoss"]


def _reduce(x: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return x.mean()
    if reduction == "sum":
        return x.sum()
    return x


class TripletLoss(nn.Module):
    """``max(0, d(a, p) - d(a, n) + margin)`` with Euclidean ``d``.

    Parameters
    ----------
    margin : float
    reduction : {"mean", "sum", "none"}
        The paper sums over the batch; the mean keeps the scale independent of the
        batch size (same minimiser).

    Shapes
    ------
    ``forward(anchor, positive, negative: [batch, dim]) -> scalar``
    """

    def __init__(self, margin: float = 0.2, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.margin = float(margin)
        self.reduction = reduction

    def forward(
        self, anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor
    ) -> torch.Tensor:
        d_ap = torch.linalg.vector_norm(anchor - positive, dim=-1)
        d_an = torch.linalg.vector_norm(anchor - negative, dim=-1)
        return _reduce(torch.relu(d_ap - d_an + self.margin), self.reduction)


class MaskedTripletLoss(TripletLoss):
    """CSN triplet loss with masked distance ``D(x, y; c) = ||f(x)*m_c - f(y)*m_c||``.

    Shapes
    ------
    ``forward(anchor, positive, negative, masks: [batch, dim]) -> scalar``
    """

    def forward(  # type: ignore[override]
        self,
        anchor: torch.Tensor,
        positive: torch.Tensor,
        negative: torch.Tensor,
        masks: torch.Tensor,
    ) -> torch.Tensor:
        return super().forward(anchor * masks, positive * masks, negative * masks)
