"""Loss plugins: the equations of docs/method.md, and that they train."""

from __future__ import annotations

import pytest
import torch

from instsim.errors import ConfigError
from instsim.model import CSN, CSNConfig
from instsim.plugins.losses.auxiliary import AuxiliaryLoss, auxiliary_target
from instsim.plugins.losses.triplet import (
    InvariantMaskedTripletLoss,
    MaskedTripletLoss,
    TripletLoss,
)


def test_triplet_hinge_values() -> None:
    loss = TripletLoss(margin=0.2, reduction="none")
    a = torch.zeros(2, 3)
    p = torch.tensor([[1.0, 0, 0], [0.1, 0, 0]])
    n = torch.tensor([[0.5, 0, 0], [2.0, 0, 0]])
    # d(a,p) - d(a,n) + m: 1 - 0.5 + 0.2 = 0.7 ; 0.1 - 2 + 0.2 < 0 -> 0
    torch.testing.assert_close(loss(a, p, n), torch.tensor([0.7, 0.0]))


def test_masked_triplet_only_sees_the_masked_subspace() -> None:
    torch.manual_seed(0)
    a, p, n = (torch.randn(4, 10) for _ in range(3))
    mask = torch.zeros(4, 10)
    mask[:, 2:5] = 1
    masked = MaskedTripletLoss(margin=0.2)(a, p, n, mask)
    sliced = TripletLoss(margin=0.2)(a[:, 2:5], p[:, 2:5], n[:, 2:5])
    torch.testing.assert_close(masked, sliced)
    # changing dimensions outside the mask changes nothing
    p2 = p.clone()
    p2[:, 6:] += 100
    torch.testing.assert_close(MaskedTripletLoss(margin=0.2)(a, p2, n, mask), masked)


def test_auxiliary_target_zeros_absent_and_unit_norm() -> None:
    parts = [torch.ones(2, 3), 2 * torch.ones(2, 3), torch.ones(2, 3)]
    present = torch.tensor([[True, False, True], [False, False, False]])
    t = auxiliary_target(parts, present)
    assert torch.all(t[0, 3:6] == 0)
    assert float(t[0].norm()) == pytest.approx(1.0)
    assert torch.all(t[1] == 0)  # nothing present: the zero vector
    loss = AuxiliaryLoss()(t, t)
    assert float(loss) == 0.0


def test_bad_reduction() -> None:
    with pytest.raises(ValueError, match="reduction"):
        TripletLoss(reduction="max")


def test_masked_triplet_loss_goes_down_on_a_fixed_batch() -> None:
    torch.manual_seed(0)
    model = CSN(CSNConfig(subspace_dim=8, backbone_kwargs={"channels": [4, 8, 8, 16, 16, 16]}))
    waves = torch.randn(3, 6, 22050 * 3) * 0.1
    masks = model.masks[torch.tensor([0, 1, 2, 3, 4, 0])]
    loss_fn = MaskedTripletLoss(margin=0.2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    losses = []
    for _ in range(15):
        emb = model(waves.reshape(18, -1)).reshape(3, 6, -1)
        loss = loss_fn(emb[0], emb[1], emb[2], masks)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def _triplet_batch() -> tuple[torch.Tensor, ...]:
    torch.manual_seed(1)
    a, p, n = (torch.randn(6, 10) for _ in range(3))
    mask = torch.zeros(6, 10)
    mask[:, 2:5] = 1
    return a, p, n, mask


def test_invariant_triplet_without_invariance_is_the_masked_triplet() -> None:
    a, p, n, mask = _triplet_batch()
    torch.testing.assert_close(
        InvariantMaskedTripletLoss(margin=0.2, invariance=0.0)(a, p, n, mask),
        MaskedTripletLoss(margin=0.2)(a, p, n, mask),
    )


def test_invariant_triplet_adds_the_squared_same_stem_distance_in_the_subspace() -> None:
    a, p, n, mask = _triplet_batch()
    hinge = MaskedTripletLoss(margin=0.2, reduction="none")(a, p, n, mask)
    pull = ((a - p)[:, 2:5] ** 2).sum(-1)
    got = InvariantMaskedTripletLoss(margin=0.2, invariance=0.5, reduction="none")(a, p, n, mask)
    torch.testing.assert_close(got, hinge + 0.5 * pull)
    # the other sub-spaces do not count
    p2 = p.clone()
    p2[:, 6:] += 100
    torch.testing.assert_close(
        InvariantMaskedTripletLoss(invariance=0.5, reduction="none")(a, p2, n, mask), got
    )


def test_invariant_triplet_keeps_pulling_once_the_margin_holds() -> None:
    # the positive is already much closer than the negative: the hinge gives no gradient,
    # the invariance term still pulls the positive onto the anchor
    a = torch.zeros(1, 4)
    p = torch.tensor([[0.3, 0.0, 0.0, 0.0]], requires_grad=True)
    n = torch.tensor([[5.0, 0.0, 0.0, 0.0]])
    mask = torch.ones(1, 4)
    MaskedTripletLoss()(a, p, n, mask).backward()
    assert p.grad is not None and float(p.grad.abs().sum()) == 0.0
    p.grad = None
    InvariantMaskedTripletLoss(invariance=1.0)(a, p, n, mask).backward()
    assert float(p.grad[0, 0]) == pytest.approx(0.6)  # d/dp of (p - a)^2


def test_invariant_triplet_rejects_a_negative_weight() -> None:
    with pytest.raises(ConfigError, match="invariance"):
        InvariantMaskedTripletLoss(invariance=-0.1)


def test_invariant_triplet_is_a_registered_stage3_loss() -> None:
    from instsim import registry
    from instsim.train.config import load_config

    assert registry.load("losses", "invariant_triplet") is InvariantMaskedTripletLoss
    cfg = load_config(
        {"stage3": {"triplet_loss": {"name": "invariant_triplet", "invariance": 0.3}}}
    )
    assert cfg.stage3.triplet_loss.name == "invariant_triplet"
    with pytest.raises(ConfigError, match="stage2.loss"):
        load_config({"stage2": {"loss": {"name": "invariant_triplet"}}})
