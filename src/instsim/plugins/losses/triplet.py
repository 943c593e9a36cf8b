"""Triplet losses: plain (per-instrument networks) and masked (CSN), docs/method.md eqs. 1-3."""

from __future__ import annotations

import torch

from ...errors import ConfigError
from . import MaskedTripletStyleLoss, TripletStyleLoss

__all__ = ["MaskedTripletLoss", "TripletLoss"]

_REDUCTIONS = ("mean", "sum", "none")


def _hinge(
    anchor: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    margin: float,
    reduction: str,
) -> torch.Tensor:
    d_ap = torch.linalg.vector_norm(anchor - positive, dim=-1)
    d_an = torch.linalg.vector_norm(anchor - negative, dim=-1)
    x = torch.relu(d_ap - d_an + margin)
    if reduction == "mean":
        return x.mean()
    if reduction == "sum":
        return x.sum()
    return x


def _check(margin: float, reduction: str) -> tuple[float, str]:
    if reduction not in _REDUCTIONS:
        raise ConfigError(
            "reduction", f"got {reduction!r}; valid: {', '.join(map(repr, _REDUCTIONS))}"
        )
    return float(margin), reduction


class TripletLoss(TripletStyleLoss):
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
        self.margin, self.reduction = _check(margin, reduction)

    def forward(
        self, anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor
    ) -> torch.Tensor:
        return _hinge(anchor, positive, negative, self.margin, self.reduction)


class MaskedTripletLoss(MaskedTripletStyleLoss):
    """CSN triplet loss with masked distance ``D(x, y; c) = ||f(x)*m_c - f(y)*m_c||``.

    Parameters are those of :class:`TripletLoss`.

    Shapes
    ------
    ``forward(anchor, positive, negative, masks: [batch, dim]) -> scalar``
    """

    def __init__(self, margin: float = 0.2, reduction: str = "mean") -> None:
        super().__init__()
        self.margin, self.reduction = _check(margin, reduction)

    def forward(
        self,
        anchor: torch.Tensor,
        positive: torch.Tensor,
        negative: torch.Tensor,
        masks: torch.Tensor,
    ) -> torch.Tensor:
        return _hinge(
            anchor * masks, positive * masks, negative * masks, self.margin, self.reduction
        )
