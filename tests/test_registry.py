"""Plugin registry: discovery through entry points, unknown names, broken and duplicate plugins."""

from __future__ import annotations

import importlib.metadata as md

import pytest
import torch

from instsim import registry
from instsim.errors import InstsimError, PluginNotFoundError
from instsim.plugins.backbones import Backbone


def test_builtins_are_registered_through_entry_points() -> None:
    assert {"unet", "fcn"} <= set(registry.available("backbones"))
    assert {"triplet", "masked_triplet", "auxiliary"} <= set(registry.available("losses"))
    assert "slakh" in registry.available("datasets")
    infos = {(i.group, i.name): i for i in registry.describe()}
    assert infos[("instsim.backbones", "unet")].distribution == "instsim"


def test_unknown_name_lists_available() -> None:
    with pytest.raises(PluginNotFoundError) as err:
        registry.load("backbones", "resnet-9000")
    msg = str(err.value)
    assert "'resnet-9000'" in msg and "'unet'" in msg and "'fcn'" in msg
    assert isinstance(err.value, KeyError)


def test_unknown_group() -> None:
    with pytest.raises(PluginNotFoundError, match="backbones"):
        registry.available("models")


@pytest.mark.parametrize("name", ["unet", "fcn"])
def test_backbone_contract(name: str) -> None:
    """Every registered backbone: [B, 1, n_mels, frames] -> [B, dim], any length."""
    cls = registry.load("backbones", name)
    assert issubclass(cls, Backbone)
    net = cls(n_mels=64, embedding_dim=48).eval()
    for frames in (151, 501):
        out = net(torch.randn(2, 1, 64, frames))
        assert out.shape == (2, 48)
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["triplet", "masked_triplet", "auxiliary"])
def test_losses_load_and_return_scalars(name: str) -> None:
    cls = registry.load("losses", name)
    loss = cls()
    a, p, n = (torch.randn(4, 10) for _ in range(3))
    if name == "triplet":
        v = loss(a, p, n)
    elif name == "masked_triplet":
        v = loss(a, p, n, torch.ones(4, 10))
    else:
        v = loss(a, p)
    assert v.ndim == 0 and torch.isfinite(v)


def _fake_eps(monkeypatch: pytest.MonkeyPatch, extra: list[md.EntryPoint]) -> None:
    real = md.entry_points

    def fake(**kwargs):
        eps = list(real(**kwargs))
        if kwargs.get("group") == "instsim.backbones":
            eps += extra
        return eps

    monkeypatch.setattr(registry, "entry_points", fake)
    registry.refresh()


def test_broken_plugin_is_reported_by_name_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_eps(monkeypatch, [md.EntryPoint("broken", "no_such_module_xyz:Net", "instsim.backbones")])
    try:
        assert "broken" in registry.available("backbones")
        registry.load("backbones", "unet")  # others still load
        with pytest.raises(InstsimError, match="'broken'.*failed to load"):
            registry.load("backbones", "broken")
    finally:
        monkeypatch.undo()
        registry.refresh()


def test_duplicate_third_party_name_warns_and_builtin_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_eps(monkeypatch, [md.EntryPoint("unet", "somewhere_else:Net", "instsim.backbones")])
    try:
        with pytest.warns(RuntimeWarning, match="duplicate plugin 'unet'"):
            names = registry.available("backbones")
        assert names.count("unet") == 1
        from instsim.plugins.backbones.unet import UNetEncoder

        assert registry.load("backbones", "unet") is UNetEncoder
    finally:
        monkeypatch.undo()
        registry.refresh()
