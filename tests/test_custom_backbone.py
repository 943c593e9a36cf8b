"""A real third-party plugin: pip-install examples/custom_backbone and use its backbone by name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from instsim import Extractor, registry
from tests.conftest import SR, music

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "custom_backbone"


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory):
    """Install the example package into a private target folder and put it on sys.path."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        check=True,
    )
    sys.path.insert(0, str(target))
    registry.refresh()
    yield target
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m.startswith("instsim_tinycnn")]:
        del sys.modules[name]
    registry.refresh()


def test_plugin_is_discovered_with_its_distribution(installed_plugin: Path) -> None:
    assert "tinycnn" in registry.available("backbones")
    info = next(i for i in registry.describe("backbones") if i.name == "tinycnn")
    assert info.distribution == "instsim-tinycnn"
    assert info.value == "instsim_tinycnn:TinyCNN"


def test_model_with_third_party_backbone_builds_runs_and_round_trips(
    installed_plugin: Path, tmp_path: Path
) -> None:
    ext = Extractor.from_config({"backbone": "tinycnn", "backbone_kwargs": {"width": 8}})
    v = ext.embed(music(4.0), sr=SR, focus="guitar")
    assert v.shape == (128,) and np.isfinite(v).all()
    ext.save_pretrained(tmp_path)
    again = Extractor.from_pretrained(tmp_path)
    np.testing.assert_array_equal(again.embed(music(4.0), sr=SR, focus="guitar"), v)


def test_cli_lists_the_plugin(installed_plugin: Path) -> None:
    import os

    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(installed_plugin), os.environ.get("PYTHONPATH", "")]),
    )
    out = subprocess.run(
        [sys.executable, "-m", "instsim", "plugins", "--kind", "backbones"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    line = next(ln for ln in out.stdout.splitlines() if "tinycnn" in ln)
    assert "instsim-tinycnn 0.1.0" in line and "instsim.backbones" in line


def test_swapping_the_training_backbone_is_one_config_line(installed_plugin: Path) -> None:
    from instsim.model import CSN
    from instsim.train.config import load_config

    cfg = load_config({"model": {"backbone": "tinycnn", "backbone_kwargs": {"width": 4}}})
    model = CSN(cfg.csn_config())
    assert type(model.backbone).__name__ == "TinyCNN"
    assert cfg.stage1.backbone == "fcn"  # only the CSN's backbone changed
