"""The CSN: sub-space layout, masks, config validation, save/load round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from instsim.errors import ConfigError, ModelMismatchError, ModelNotFoundError, PluginNotFoundError
from instsim.model import CSN, CSNConfig

TINY = {"backbone_kwargs": {"channels": [4, 8, 8, 16, 16, 16]}}


def test_masks_select_each_subspace() -> None:
    m = CSN(CSNConfig(**TINY))
    assert m.masks.shape == (5, 640)
    assert torch.equal(m.masks.sum(dim=0), torch.ones(640))
    bass = m.mask("bass")
    assert bass[128:256].sum() == 128 and bass.sum() == 128
    assert m.config.subspace("others") == slice(512, 640)


def test_other_instruments_and_sizes_work() -> None:
    cfg = CSNConfig(instruments=("vocals", "drums", "keys"), subspace_dim=16, **TINY)
    m = CSN(cfg).eval()
    out = m(torch.randn(2, 3 * 22050))
    assert out.shape == (2, 48)
    assert m.mask("keys")[32:].sum() == 16


def test_fcn_backbone_model() -> None:
    m = CSN(CSNConfig(instruments=("bass",), backbone="fcn")).eval()
    assert m(torch.randn(3, 22050 * 3)).shape == (3, 128)


def test_variable_length_inputs() -> None:
    m = CSN(CSNConfig(**TINY)).eval()
    with torch.inference_mode():
        assert m(torch.randn(1, 22050 * 3)).shape == (1, 640)
        assert m(torch.randn(1, 22050 * 10)).shape == (1, 640)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"instruments": []}, "instruments"),
        ({"instruments": ["a", "a"]}, "instruments"),
        ({"instruments": "drums"}, "instruments"),
        ({"subspace_dim": 0}, "subspace_dim"),
        ({"segment_seconds": -1}, "segment_seconds"),
        ({"hop_seconds": "fast"}, "hop_seconds"),
        ({"frontend": {"n_mels": 0}}, "frontend.n_mels"),
        ({"silence_range_db": 0}, "silence_range_db"),
        ({"silence_range_db": True}, "silence_range_db"),
        ({"silence_floor_db": "quiet"}, "silence_floor_db"),
        ({"inputs": ["drums"]}, "inputs"),
        ({"inputs": {"vocals": "harmonic"}}, "inputs"),
        ({"inputs": {"drums": "drums"}}, "inputs.drums"),
    ],
)
def test_config_errors_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        CSNConfig(**kwargs)
    assert repr(field) in str(err.value)


def test_configs_with_the_old_absolute_silence_gate_still_load(tmp_path: Path) -> None:
    old = CSNConfig(**TINY).to_dict()
    del old["silence_range_db"], old["silence_floor_db"]
    old["silence_db"] = -60.0  # how configs were written before the relative gate
    (tmp_path / "config.json").write_text(json.dumps(old))
    cfg = CSNConfig.from_json(tmp_path / "config.json")
    assert (cfg.silence_range_db, cfg.silence_floor_db) == (50.0, -90.0)
    assert "silence_db" not in cfg.to_dict()


def test_unknown_backbone_lists_available() -> None:
    with pytest.raises(PluginNotFoundError, match="'unet'"):
        CSN(CSNConfig(backbone="transformer-xl"))


def test_bad_backbone_kwargs() -> None:
    with pytest.raises(ConfigError, match="backbone_kwargs"):
        CSN(CSNConfig(backbone_kwargs={"layers": 12}))


def test_each_subspace_comes_from_its_own_input() -> None:
    torch.manual_seed(0)
    plain = CSN(CSNConfig(**TINY)).eval()
    routed = CSN(CSNConfig(inputs={"drums": "percussive", "bass": "harmonic"}, **TINY)).eval()
    routed.load_state_dict(plain.state_dict())
    x = torch.randn(3, 22050 * 3)
    with torch.inference_mode():
        out = routed(x)
        mels = plain.frontend.parts(x, ("mix", "harmonic", "percussive"))
        by_part = {k: plain.embed_mel(v) for k, v in mels.items()}
    cfg = routed.config
    for instrument, part in [("drums", "percussive"), ("bass", "harmonic"), ("piano", "mix")]:
        cols = cfg.subspace(instrument)
        torch.testing.assert_close(out[:, cols], by_part[part][:, cols], atol=1e-5, rtol=1e-5)
    # and not from another input
    assert not torch.allclose(
        out[:, cfg.subspace("drums")], by_part["mix"][:, cfg.subspace("drums")]
    )
    assert cfg.input_of("guitar") == "mix" and cfg.input_of("drums") == "percussive"
    # a config swapped in after construction (as a fine-tune from another model does) is obeyed
    plain.config = routed.config
    with torch.inference_mode():
        torch.testing.assert_close(plain(x), out)


def test_inputs_round_trip_and_config_format(tmp_path: Path) -> None:
    routed = CSNConfig(inputs={"bass": "harmonic", "drums": "percussive", "piano": "mix"}, **TINY)
    assert routed.inputs == {"drums": "percussive", "bass": "harmonic"}  # canonical order, no "mix"
    d = routed.to_dict()
    assert d["format_version"] == 2 and CSNConfig.from_dict(d) == routed
    assert CSNConfig(**TINY).to_dict()["format_version"] == 1  # older readers still load it
    CSN(routed).save_pretrained(tmp_path)
    assert CSN.from_pretrained(tmp_path).config.inputs == routed.inputs
    with pytest.raises(ConfigError, match="format 4, newer than this instsim reads"):
        CSNConfig.from_dict(d | {"format_version": 4})
    # a split with a margin needs format 3: a format-2 reader would ignore the margin
    margined = CSNConfig.from_dict(d | {"frontend": {**d["frontend"], "hpss_margin": 2.0}})
    assert margined.frontend.hpss_margin == 2.0
    assert margined.to_dict()["format_version"] == 3
    assert CSNConfig.from_dict(margined.to_dict()) == margined
    mix_only = CSNConfig.from_dict(
        CSNConfig(**TINY).to_dict() | {"frontend": margined.to_dict()["frontend"]}
    )
    assert mix_only.to_dict()["format_version"] == 1  # no split is computed: the margin is moot
    blended = CSNConfig.from_dict(d | {"frontend": {**d["frontend"], "hpss_other_part_db": -12}})
    assert blended.to_dict()["format_version"] == 3
    assert CSNConfig.from_dict(json.loads(json.dumps(blended.to_dict()))) == blended


def test_save_load_round_trip_is_exact(tmp_path: Path) -> None:
    torch.manual_seed(0)
    m = CSN(CSNConfig(name="roundtrip", **TINY)).eval()
    m.save_pretrained(tmp_path)
    assert {"config.json", "model.safetensors", "README.md"} == {p.name for p in tmp_path.iterdir()}
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["frontend"]["sample_rate"] == 22050 and cfg["name"] == "roundtrip"
    m2 = CSN.from_pretrained(tmp_path)
    for k, v in m.state_dict().items():
        assert torch.equal(v, m2.state_dict()[k]), k
    x = torch.randn(2, 22050 * 3)
    with torch.inference_mode():
        assert torch.equal(m(x), m2(x))
    assert m2.config == m.config


def test_folder_missing_weights(tmp_path: Path) -> None:
    CSN(CSNConfig(**TINY)).save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(ModelNotFoundError, match="model.safetensors"):
        CSN.from_pretrained(tmp_path)


def test_config_and_weights_mismatch(tmp_path: Path) -> None:
    CSN(CSNConfig(**TINY)).save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["subspace_dim"] = 64
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelMismatchError, match="shape mismatch for backbone.head.weight"):
        CSN.from_pretrained(tmp_path)


def test_corrupt_weights(tmp_path: Path) -> None:
    CSN(CSNConfig(**TINY)).save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelNotFoundError, match="cannot read weights"):
        CSN.from_pretrained(tmp_path)


def test_float16_weights_load(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    torch.manual_seed(1)
    m = CSN(CSNConfig(**TINY)).eval()
    m.save_pretrained(tmp_path)
    save_file({k: v.half() for k, v in m.state_dict().items()}, str(tmp_path / "model.safetensors"))
    m2 = CSN.from_pretrained(tmp_path)
    assert m2.backbone.head.weight.dtype == torch.float32
    x = torch.randn(1, 22050 * 3)
    with torch.inference_mode():
        torch.testing.assert_close(m(x), m2(x), atol=5e-2, rtol=5e-2)
