"""Loading models from the Hugging Face Hub, against a local server (HF_ENDPOINT on 127.0.0.1).

huggingface_hub reads HF_ENDPOINT and HF_HUB_OFFLINE when imported, so each load runs in
a fresh interpreter with the environment a user would set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from instsim import Extractor
from tests.hubserver import HubServer

TINY = {"backbone": "unet", "backbone_kwargs": {"channels": [4, 8, 8, 16, 16, 16]}}

SCRIPT = r"""
import json, sys
import numpy as np
from instsim import Extractor
from instsim.errors import ModelNotFoundError
repo, revision = sys.argv[1], (sys.argv[2] or None)
y = np.sin(np.linspace(0, 3000, 22050 * 4)).astype(np.float32)
try:
    ext = Extractor.from_pretrained(repo, revision=revision)
    print(json.dumps({"ok": True, "vec": ext.embed(y, sr=22050).tolist(), "id": ext.model_id}))
except ModelNotFoundError as exc:
    print(json.dumps({"ok": False, "error": type(exc).__name__, "message": str(exc)}))
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("hubrepos")
    main, v1, nocfg = root / "main", root / "v1", root / "noweights"
    Extractor.from_config(TINY, seed=1).save_pretrained(main)
    Extractor.from_config(TINY, seed=2).save_pretrained(v1)
    nocfg.mkdir()
    (nocfg / "config.json").write_text((main / "config.json").read_text())
    with HubServer() as server:
        server.repos["acme/tiny"] = {"main": main, "v1": v1}
        server.repos["acme/broken"] = {"main": nocfg}
        server.folders = {"main": main, "v1": v1}
        yield server


def load(
    hub: HubServer, hf_home: Path, repo: str, revision: str = "", offline: bool = False
) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(
        HF_ENDPOINT=hub.url,
        HF_HOME=str(hf_home),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_OFFLINE="1" if offline else "0",
        HF_HUB_DISABLE_XET="1",
    )
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, repo, revision],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def local_vec(folder: Path) -> np.ndarray:
    y = np.sin(np.linspace(0, 3000, 22050 * 4)).astype(np.float32)
    return Extractor.from_pretrained(folder).embed(y, sr=22050)


def test_download_cache_hit_and_offline(hub: HubServer, tmp_path: Path) -> None:
    first = load(hub, tmp_path, "acme/tiny")
    assert first["ok"] and first["id"] == "acme/tiny"
    np.testing.assert_allclose(first["vec"], local_vec(hub.folders["main"]), atol=1e-6)
    assert hub.gets("/main/model.safetensors") == 1

    again = load(
        hub, tmp_path, "acme/tiny"
    )  # cache hit: metadata checked, weights not re-downloaded
    assert again["vec"] == first["vec"]
    assert hub.gets("/main/model.safetensors") == 1

    before = sum(hub.requests.values())
    offline = load(hub, tmp_path, "acme/tiny", offline=True)
    assert offline["vec"] == first["vec"]
    assert sum(hub.requests.values()) == before  # HF_HUB_OFFLINE: no request at all


def test_revision_pinning(hub: HubServer, tmp_path: Path) -> None:
    pinned = load(hub, tmp_path, "acme/tiny", revision="v1")
    np.testing.assert_allclose(pinned["vec"], local_vec(hub.folders["v1"]), atol=1e-6)
    assert not np.allclose(pinned["vec"], local_vec(hub.folders["main"]))


def test_offline_and_not_cached_is_a_clear_error(hub: HubServer, tmp_path: Path) -> None:
    res = load(hub, tmp_path, "acme/tiny", offline=True)
    assert not res["ok"] and res["error"] == "ModelNotFoundError"
    assert "'acme/tiny'" in res["message"] and "cache" in res["message"]


def test_unknown_repo_revision_and_missing_weights(hub: HubServer, tmp_path: Path) -> None:
    res = load(hub, tmp_path, "acme/nothing")
    assert (
        not res["ok"] and "'acme/nothing'" in res["message"] and "does not exist" in res["message"]
    )
    res = load(hub, tmp_path, "acme/tiny", revision="v9")
    assert not res["ok"] and "'v9'" in res["message"]
    res = load(hub, tmp_path, "acme/broken")
    assert not res["ok"] and "model.safetensors" in res["message"]


def test_export_float16_copy_embeds_within_1e3(tmp_path: Path, untrained_model_dir: Path) -> None:
    from instsim.hub import export_model
    from tests.conftest import music

    card = tmp_path / "card.md"
    card.write_text("# A model\n")
    dst = export_model(
        untrained_model_dir,
        tmp_path / "export",
        model_card=card,
        card_metadata={"datasets": ["synthetic"]},
    )
    assert (dst / "model.safetensors").stat().st_size < 0.55 * (
        untrained_model_dir / "model.safetensors"
    ).stat().st_size
    from huggingface_hub import ModelCard

    written = ModelCard.load(dst / "README.md")
    assert written.data.library_name == "instsim" and written.data.license == "mit"
    assert written.data.datasets == ["synthetic"] and "instsim" in written.data.tags
    assert written.text.strip() == "# A model"
    assert sorted(p.name for p in dst.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
    ]
    y = music(8.0, seed=5)
    full = Extractor.from_pretrained(untrained_model_dir).embed(y, sr=22050, aggregate=None)
    half = Extractor.from_pretrained(dst).embed(y, sr=22050, aggregate=None)
    assert np.abs(full - half).max() < 1e-3


def test_bundled_model_folder_loads_by_repo_id(hub: HubServer, tmp_path: Path) -> None:
    from instsim.hub import bundled_model_dir

    hub.repos["instsim/default"] = {"main": bundled_model_dir()}
    res = load(hub, tmp_path, "instsim/default")
    assert res["ok"] and res["id"] == "instsim/default"
    y = np.sin(np.linspace(0, 3000, 22050 * 4)).astype(np.float32)
    np.testing.assert_allclose(
        res["vec"], Extractor.from_pretrained().embed(y, sr=22050), atol=1e-6
    )


def test_export_keeps_a_cards_own_header_and_refuses_bad_input(
    tmp_path: Path, untrained_model_dir: Path
) -> None:
    from huggingface_hub import ModelCard

    from instsim.errors import ModelNotFoundError, ParameterError
    from instsim.hub import export_model

    card = tmp_path / "card.md"
    card.write_text("---\nlicense: apache-2.0\nlanguage: en\n---\n\n# Mine\n")
    dst = export_model(untrained_model_dir, tmp_path / "e", dtype="float32", model_card=card)
    written = ModelCard.load(dst / "README.md")
    assert written.data.license == "apache-2.0" and written.data.language == "en"
    assert written.data.library_name == "instsim" and written.text.strip() == "# Mine"
    with pytest.raises(ParameterError, match="'dtype'.*'int8'.*'float16'"):
        export_model(untrained_model_dir, tmp_path / "x", dtype="int8")
    with pytest.raises(ModelNotFoundError, match="nope.md"):
        export_model(untrained_model_dir, tmp_path / "x", model_card=tmp_path / "nope.md")


def test_every_save_writes_weights_then_config_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save that dies leaves a folder without config.json, never old config + new weights."""
    import safetensors.torch
    import torch

    from instsim.model import CONFIG_NAME, missing_model_files, write_model_files

    folder = tmp_path / "m"
    write_model_files(folder, {"a": 1}, {"w": torch.ones(2)})
    assert not missing_model_files(folder)
    assert json.loads((folder / CONFIG_NAME).read_text()) == {"a": 1}

    def dies(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.torch, "save_file", dies)
    with pytest.raises(KeyboardInterrupt):
        write_model_files(folder, {"a": 2}, {"w": torch.zeros(2)})
    assert missing_model_files(folder) == [CONFIG_NAME]  # incomplete: never loaded as a model
