"""Training configs: YAML/TOML loading, overrides, and errors that name the field before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from instsim.errors import ConfigError
from instsim.train.config import LOSS_FIELDS, load_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["smoke.yaml", "paper.yaml"])
def test_shipped_configs_load(name: str) -> None:
    cfg = load_config(ROOT / "configs" / name)
    assert cfg.stages[:3] == ["stage1", "stage2", "stage3"]
    assert cfg.stage3.triplet_loss.name == "masked_triplet"
    assert cfg.stage3.triplet_loss.options["margin"] == 0.2


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_loads(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.stages and cfg.csn_config().instruments


def test_the_default_recipe_describes_the_bundled_model() -> None:
    """configs/default-model.yaml writes the bundled config.json (routing included) and
    trains its weights as they were trained: on the mix."""
    from instsim.model import CSNConfig

    cfg = load_config(ROOT / "configs" / "default-model.yaml")
    bundled = CSNConfig.from_json(ROOT / "src" / "instsim" / "models" / "default" / "config.json")
    assert cfg.csn_config() == bundled
    assert bundled.inputs and cfg.stage3.through_inputs is False


def test_paper_recipe_numbers() -> None:
    cfg = load_config(ROOT / "configs" / "paper.yaml")
    assert (cfg.stage3.triplets_per_epoch, cfg.stage3.epochs, cfg.stage3.batch_size) == (
        20000,
        400,
        64,
    )
    assert (cfg.stage3.n_pieces, cfg.stage1.n_pieces, cfg.stage1.segments_per_piece) == (
        1200,
        200,
        40,
    )
    assert (
        cfg.stage3.aux_weight == 0.1
        and cfg.model.backbone == "unet"
        and cfg.stage1.backbone == "fcn"
    )


def test_toml_and_overrides(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('seed = 3\n[stage3]\nepochs = 7\n[model]\nbackbone = "fcn"\n')
    cfg = load_config(p, {"stage3.epochs": 2, "dataset.data_home": "/data", "device": None})
    assert cfg.seed == 3 and cfg.stage3.epochs == 2 and cfg.dataset.data_home == "/data"
    assert cfg.model.backbone == "fcn" and cfg.device == "auto"


def test_table2_variants_are_config_switches() -> None:
    basic = load_config(
        {"stages": ["stage3"], "stage3": {"aux_weight": 0, "additional_triplets": False}}
    )
    aux_basic = load_config({"stage3": {"additional_triplets": False}})
    full = load_config({})
    assert basic.stage3.aux_weight == 0 and not basic.stage3.additional_triplets
    assert aux_basic.stage3.aux_weight == 0.1 and not aux_basic.stage3.additional_triplets
    assert full.stage3.additional_triplets


@pytest.mark.parametrize(
    ("data", "field", "hint"),
    [
        ({"stage3": {"epoch": 3}}, "stage3.epoch", "valid keys"),
        ({"stage3": {"batch_size": 0}}, "stage3.batch_size", "> 0"),
        ({"stage1": {"lr": "fast"}}, "stage1.lr", "number"),
        ({"model": {"backbone": "resnet"}}, "model.backbone", "'unet'"),
        (
            {"stage3": {"triplet_loss": {"name": "contrastive"}}},
            "stage3.triplet_loss.name",
            "'masked_triplet'",
        ),
        ({"dataset": {"name": "musdb"}}, "dataset.name", "'slakh'"),
        ({"stages": ["stage9"]}, "stages", "'stage1'"),
        ({"model": {"frontend": {"n_mels": -1}}}, "model.frontend.n_mels", "> 0"),
        ({"device": "tpu"}, "device", "'cpu'"),
        ({"stage3": {"valid_pseudo_mix": -1}}, "stage3.valid_pseudo_mix", ">= 0"),
        ({"stage3": {"valid_pseudo_mix": 2.5}}, "stage3.valid_pseudo_mix", "int"),
    ],
)
def test_bad_values_name_the_field(data: dict, field: str, hint: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(data)
    assert repr(field) in str(err.value) and hint in str(err.value)


def test_missing_and_unparsable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("stage3: [unclosed")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config(bad)


def test_third_party_loss_by_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata as md

    from instsim import registry

    real = md.entry_points

    def fake(**kw):
        eps = list(real(**kw))
        if kw.get("group") == "instsim.losses":
            eps.append(
                md.EntryPoint(
                    "hinge2", "instsim.plugins.losses.triplet:MaskedTripletLoss", "instsim.losses"
                )
            )
        return eps

    monkeypatch.setattr(registry, "entry_points", fake)
    registry.refresh()
    try:
        cfg = load_config({"stage3": {"triplet_loss": {"name": "hinge2", "margin": 0.5}}})
        assert cfg.stage3.triplet_loss.name == "hinge2"
    finally:
        monkeypatch.undo()
        registry.refresh()


def test_init_from_is_checked_on_load(tmp_path: Path) -> None:
    assert load_config({"stage3": {"init_from": "default"}}).stage3.init_from
    assert load_config({"stage3": {"init_from": "user/model"}}).stage3.init_from == "user/model"
    with pytest.raises(ConfigError, match="'stage3.init_from'.*does not exist"):
        load_config({"stage3": {"init_from": str(tmp_path / "nowhere")}})
    with pytest.raises(
        ConfigError, match="'stage3.init_from'.*lacks config.json, model.safetensors"
    ):
        load_config({"stage3": {"init_from": str(tmp_path)}})
    with pytest.raises(ConfigError, match="'stage3.init_from'.*empty"):
        load_config({"stage3": {"init_from": " "}})


def test_phases_schedule_lr_and_aux_weight() -> None:
    cfg = load_config(
        {
            "stage3": {
                "lr": 1e-3,
                "phases": [{"epoch": 3, "lr": 1e-4}, {"epoch": 5, "aux_weight": 0}],
            }
        }
    )
    s3 = cfg.stage3
    assert [s3.schedule(e) for e in (1, 2, 3, 4, 5, 9)] == [
        (1e-3, 0.1),
        (1e-3, 0.1),
        (1e-4, 0.1),
        (1e-4, 0.1),
        (1e-4, 0.0),
        (1e-4, 0.0),
    ]
    with pytest.raises(ConfigError, match=r"'stage3.phases\[1\].epoch'.*>= 4.*increasing"):
        load_config({"stage3": {"phases": [{"epoch": 3}, {"epoch": 2}]}})
    with pytest.raises(ConfigError, match=r"'stage3.phases\[0\].lr'.*> 0"):
        load_config({"stage3": {"phases": [{"epoch": 3, "lr": 0}]}})
    with pytest.raises(ConfigError, match=r"'stage3.phases\[0\].rate'.*valid keys"):
        load_config({"stage3": {"phases": [{"epoch": 3, "rate": 0.1}]}})


_WRONG_KIND = {"triplet": "auxiliary", "masked_triplet": "triplet", "target": "masked_triplet"}
_RIGHT = {
    "triplet": "'triplet'",
    "masked_triplet": "'invariant_triplet', 'masked_triplet'",
    "target": "'auxiliary'",
}


@pytest.mark.parametrize(("path", "kind"), sorted(LOSS_FIELDS.items()))
def test_a_loss_of_the_wrong_kind_is_refused_when_the_config_is_read(path: str, kind: str) -> None:
    section, attr = path.split(".")
    wrong = _WRONG_KIND[kind]
    with pytest.raises(ConfigError) as err:
        load_config({section: {attr: {"name": wrong}}})
    msg = str(err.value)
    assert f"'{path}.name'" in msg and repr(wrong) in msg
    assert f"takes a {kind!r} loss" in msg and f"valid: {_RIGHT[kind]}" in msg


def test_cli_train_refuses_a_loss_of_the_wrong_kind_before_any_work(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from instsim.cli import main

    cfg = tmp_path / "wrong.yaml"
    cfg.write_text("stage1:\n  loss: masked_triplet\n")
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["train", str(cfg), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "'stage1.loss.name'" in res.output and "'masked_triplet'" in res.output
    assert "valid: 'triplet'" in res.output
    assert not out.exists()
