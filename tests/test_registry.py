"""Plugin registry: discovery through entry points, unknown names, broken and duplicate plugins."""

from __future__ import annotations

import importlib.metadata as md

import pytest

from instsim import registry
from instsim.errors import InstsimError, PluginNotFoundError


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


def test_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(PluginNotFoundError, match="plugin kinds.*'backbones'"):
        registry.available("models")


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
