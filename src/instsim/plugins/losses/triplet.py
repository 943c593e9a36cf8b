"""Triplet losses: plain (per-instrument networks) and masked (CSN), docs/method.md eqs. 1-3."""

from __future__ import annotations

import torch

from ...errors import ConfigError
from . import MaskedTripletStyleLoss, TripletStyleLoss

__all__ = ["InvariantMaskedTripletLoss", "MaskedTripletLoss", "TripletLoss"]

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
    return _reduce(torch.relu(d_ap - d_an + margin), reduction)


def _reduce(x: torch.Tensor, reduction: str) -> torch.Tensor:
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
        rows = self._rows(anchor * masks, positive * masks, negative * masks)
        return _reduce(rows, self.reduction)

    def _rows(self, a: torch.Tensor, p: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        """The loss of each (masked) triplet, ``[batch]``."""
        return _hinge(a, p, n, self.margin, "none")


class InvariantMaskedTripletLoss(MaskedTripletLoss):
    """Masked triplet loss plus a pull between the two inputs that share the condition's stem.

    ``L = max(0, D(a, p; c) - D(a, n; c) + margin) + invariance x D(a, p; c)^2``.

    In a stage-3 triplet the anchor and the positive hold the *same* stem of condition
    ``c`` (the same window of the same piece) under *different* rests, so ``D(a, p; c)``
    is exactly what the rest of the mix moves in sub-space ``c``. The hinge stops pulling
    once the margin holds; the squared term keeps removing that rest-driven spread
    (issue 12: the directions the rest moves carry the leakage measured on real
    recordings, docs/results.md, "A post-hoc lever"). Measured as candidate v6 (weight
    0.3, docs/results.md, "Rest invariance in training"): less leakage on real
    recordings, lower pseudo-mix accuracy; not in the bundled model.

    Parameters
    ----------
    margin : float
        Margin of the hinge, as in :class:`MaskedTripletLoss`.
    invariance : float >= 0
        Weight of the squared same-stem distance; 0 gives :class:`MaskedTripletLoss`.
    reduction : {"mean", "sum", "none"}

    Shapes
    ------
    ``forward(anchor, positive, negative, masks: [batch, dim]) -> scalar``
    (``[batch]`` with ``reduction="none"``)
    """

    def __init__(
        self, margin: float = 0.2, invariance: float = 0.3, reduction: str = "mean"
    ) -> None:
        super().__init__(margin, reduction)
        if not invariance >= 0:
            raise ConfigError("invariance", f"must be >= 0, got {invariance!r}")
        self.invariance = float(invariance)

    def _rows(self, a: torch.Tensor, p: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        return super()._rows(a, p, n) + self.invariance * (a - p).pow(2).sum(-1)
