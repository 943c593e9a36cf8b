"""Loss plugins (entry-point group ``instsim.losses``) and their base classes, one per kind.

A loss plugin is a class whose constructor takes keyword hyper-parameters from the
training config (JSON-serialisable) and whose ``forward`` returns a scalar tensor.
Its *kind* says which call it answers, so which config fields it fits
(:data:`instsim.contracts.LOSS_KINDS`); subclass the base class of that kind:

==================================  =================  ================================================
base class                          kind               ``forward``
==================================  =================  ================================================
:class:`TripletStyleLoss`           ``triplet``        ``(anchor, positive, negative: [batch, dim])``
:class:`MaskedTripletStyleLoss`     ``masked_triplet`` ``(anchor, positive, negative, masks: [batch, dim])``
:class:`TargetStyleLoss`            ``target``         ``(embedding, target: [batch, dim])``
==================================  =================  ================================================

``stage1.loss`` and ``baseline.loss`` take a ``triplet`` loss, ``stage3.triplet_loss``
a ``masked_triplet`` loss, ``stage2.loss`` and ``stage3.aux_loss`` a ``target`` loss;
``instsim train`` refuses any other when it reads the config. Built-ins: ``triplet``,
``masked_triplet`` (:mod:`.triplet`) and ``auxiliary`` (:mod:`.auxiliary`).
"""

from __future__ import annotations

from typing import ClassVar

from torch import nn

__all__ = ["Loss", "MaskedTripletStyleLoss", "TargetStyleLoss", "TripletStyleLoss"]


class Loss(nn.Module):
    """Root of the loss kinds; a plugin subclasses one of the three kinds, not this class."""

    #: Which call the loss answers (a key of :data:`instsim.contracts.LOSS_KINDS`).
    kind: ClassVar[str] = ""


class TripletStyleLoss(Loss):
    """Contract for triplet losses on whole embeddings (stage 1, the baseline).

    Implement ``forward(anchor, positive, negative: Tensor[batch, dim]) -> Tensor[]``.
    """

    kind: ClassVar[str] = "triplet"


class MaskedTripletStyleLoss(Loss):
    """Contract for triplet losses on one condition's sub-space (stage 3).

    Implement ``forward(anchor, positive, negative, masks: Tensor[batch, dim]) -> Tensor[]``;
    ``masks[i]`` is the binary mask ``m_c`` of triplet ``i``'s condition (docs/method.md).
    """

    kind: ClassVar[str] = "masked_triplet"


class TargetStyleLoss(Loss):
    """Contract for losses towards a target embedding (stage 2, stage 3's auxiliary term).

    Implement ``forward(embedding, target: Tensor[batch, dim]) -> Tensor[]``.
    """

    kind: ClassVar[str] = "target"
