"""Loss plugins: the equations of docs/method.md, and that they train."""

from __future__ import annotations

import pytest
import torch

from instsim.model import CSN, CSNConfig
from instsim.plugins.losses.auxiliary import AuxiliaryLoss, auxiliary_target
from instsim.plugins.losses.triplet import MaskedTripletLoss, TripletLoss


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
