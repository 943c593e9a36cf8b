"""Plugin contracts: every registered plugin of every kind meets its contract, and a plugin
that does not is refused at load with one error naming it, its distribution and the fault.

The parametrised tests read the registry at collection time, so a new built-in (or an
installed third-party plugin) is tested without editing this file.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import torch

from instsim import registry
from instsim.contracts import CONTRACTS, LOSS_KINDS, loss_kind
from instsim.errors import DatasetError, PluginContractError
from instsim.instruments import INSTRUMENTS
from instsim.plugins.backbones import Backbone
from instsim.plugins.datasets import MultitrackDataset, open_dataset


def test_every_kind_has_a_contract_and_the_registry_uses_it() -> None:
    assert set(registry.PLUGIN_KINDS) == set(CONTRACTS) == {"backbones", "datasets", "losses"}
    for kind, contract in CONTRACTS.items():
        assert registry.PLUGIN_KINDS[kind] == contract.group


def test_contracts_module_is_torch_free() -> None:
    import subprocess

    code = "import sys, instsim.contracts; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", registry.available("backbones"))
def test_backbone_contract(name: str) -> None:
    """Every registered backbone: [B, 1, n_mels, frames] -> [B, dim], any number of frames."""
    cls = registry.load("backbones", name)
    assert issubclass(cls, Backbone)
    net = cls(n_mels=64, embedding_dim=48).eval()
    for frames in (151, 501):
        out = net(torch.randn(2, 1, 64, frames))
        assert out.shape == (2, 48)
        assert torch.isfinite(out).all()


def _loss_inputs(kind: str, batch: int = 4, dim: int = 10) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    x = [torch.randn(batch, dim, generator=g, requires_grad=True) for _ in range(3)]
    if kind == "triplet":
        return tuple(x)
    if kind == "masked_triplet":
        masks = torch.zeros(batch, dim)
        masks[:, : dim // 2] = 1
        return (*x, masks)
    return x[0], x[1].detach()


@pytest.mark.parametrize("name", registry.available("losses"))
def test_loss_contract(name: str) -> None:
    """Every registered loss has a kind, builds from defaults, and returns a differentiable scalar."""
    cls = registry.load("losses", name)
    kind = loss_kind(cls)
    assert kind in LOSS_KINDS
    inputs = _loss_inputs(kind)
    value = cls()(*inputs)
    assert value.ndim == 0 and torch.isfinite(value)
    value.backward()
    assert inputs[0].grad is not None and torch.isfinite(inputs[0].grad).all()


@pytest.mark.parametrize("name", registry.available("datasets"))
def test_dataset_contract(name: str, tmp_path: Path) -> None:
    """Every registered dataset: a MultitrackDataset with instruments, refusing a missing folder."""
    cls = registry.load("datasets", name)
    assert issubclass(cls, MultitrackDataset)
    assert cls.instruments and len(set(cls.instruments)) == len(cls.instruments)
    missing = tmp_path / "no-such-corpus"
    with pytest.raises(DatasetError, match="no-such-corpus"):
        open_dataset(name, missing)


# ---- plugins that break their contract, installed as a real distribution ----------------
_PLUGIN_MODULE = """
import abc
from torch import nn
from instsim.plugins.backbones import Backbone
from instsim.plugins.datasets import MultitrackDataset
from instsim.plugins.losses import TripletStyleLoss


class NotABackbone(nn.Module):
    def __init__(self, n_mels=128, embedding_dim=640):
        super().__init__()


class NoSizes(Backbone):
    def __init__(self, width=4):
        super().__init__(128, 640)


class PlainModuleLoss(nn.Module):
    def forward(self, a, p, n):
        return (a - p).sum()


class HalfDataset(MultitrackDataset):
    name = "half"

    def splits(self):
        return []


class BadInstruments(MultitrackDataset):
    name = "bad"
    instruments = ("drums", "drums")

    def splits(self): return []
    def track_ids(self, split=None): return []
    def multitrack(self, track_id): raise KeyError(track_id)
    def validate(self, checksums=False, progress=None): raise NotImplementedError


class GoodTriplet(TripletStyleLoss):
    def forward(self, a, p, n):
        return (a - p).pow(2).sum() - (a - n).pow(2).sum()


def not_a_class():
    return None
"""

_ENTRY_POINTS = """
[instsim.backbones]
notabackbone = badplug_mod:NotABackbone
nosizes = badplug_mod:NoSizes
function = badplug_mod:not_a_class

[instsim.losses]
plainmodule = badplug_mod:PlainModuleLoss
goodtriplet = badplug_mod:GoodTriplet

[instsim.datasets]
half = badplug_mod:HalfDataset
badinstruments = badplug_mod:BadInstruments
"""


@pytest.fixture
def bad_distribution(tmp_path: Path):
    """A distribution ``badplug`` 0.3 on sys.path registering plugins that break contracts."""
    (tmp_path / "badplug_mod.py").write_text(_PLUGIN_MODULE)
    info = tmp_path / "badplug-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: badplug\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(_ENTRY_POINTS))
    sys.path.insert(0, str(tmp_path))
    registry.refresh()
    yield
    sys.path.remove(str(tmp_path))
    sys.modules.pop("badplug_mod", None)
    registry.refresh()


@pytest.mark.parametrize(
    ("kind", "name", "fault"),
    [
        ("backbones", "notabackbone", "not a subclass of instsim.plugins.backbones.Backbone"),
        ("backbones", "nosizes", "constructor takes no 'n_mels', 'embedding_dim'"),
        ("backbones", "function", "not a class"),
        ("losses", "plainmodule", "not a subclass of a loss kind's base class"),
        ("datasets", "half", "does not implement multitrack, track_ids, validate"),
        ("datasets", "badinstruments", "'instruments' is ('drums', 'drums')"),
    ],
)
def test_a_plugin_breaking_its_contract_is_refused_at_load(
    bad_distribution: None, kind: str, name: str, fault: str
) -> None:
    with pytest.raises(PluginContractError) as err:
        registry.load(kind, name)
    msg = str(err.value)
    assert f"plugin {name!r}" in msg
    assert "distribution 'badplug'" in msg
    assert fault in msg
    assert err.value.distribution == "badplug" and err.value.name == name
    assert f"instsim.{kind}" in msg
    # not cached as loaded: the second attempt fails the same way
    with pytest.raises(PluginContractError):
        registry.load(kind, name)


def test_a_plugin_meeting_its_contract_loads(bad_distribution: None) -> None:
    cls = registry.load("losses", "goodtriplet")
    assert loss_kind(cls) == "triplet"


def test_a_broken_dataset_plugin_is_refused_by_open_dataset(
    bad_distribution: None, tmp_path: Path
) -> None:
    with pytest.raises(PluginContractError, match="'half'.*badplug"):
        open_dataset("half", tmp_path)


def test_a_bad_plugin_named_in_a_training_config_is_a_config_error(
    bad_distribution: None,
) -> None:
    from instsim.errors import ConfigError
    from instsim.train.config import load_config

    with pytest.raises(ConfigError, match=r"'model\.backbone'.*'nosizes'.*badplug"):
        load_config({"model": {"backbone": "nosizes"}})


def test_default_instruments_are_the_datasets_default() -> None:
    assert MultitrackDataset.instruments == INSTRUMENTS
