"""End-to-end training on a tiny synthetic corpus: every stage, resume after SIGKILL, loading."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from instsim import Extractor
from instsim.cli import main
from instsim.errors import ConfigError, DatasetError
from instsim.train.runner import train
from tests.conftest import SR, music

TINY = {
    "seed": 0,
    "device": "cpu",
    "workers": 1,
    "valid_pieces": 2,
    "stages": ["stage1", "stage2", "stage3", "baseline"],
    "model": {
        "backbone": "unet",
        "backbone_kwargs": {"channels": [4, 8, 8, 16, 16, 16]},
        "subspace_dim": 16,
    },
    "stage1": {
        "backbone_kwargs": {"channels": [4, 8, 8, 8, 8]},
        "embedding_dim": 16,
        "segments_per_piece": 5,
        "epochs": 1,
        "triplets_per_epoch": 32,
        "batch_size": 16,
    },
    "stage2": {"segments_per_piece": 5, "epochs": 1, "batch_size": 16},
    "stage3": {"triplets_per_epoch": 48, "epochs": 3, "batch_size": 8, "tempo_bin_bpm": 35.0},
    "baseline": {"segments_per_piece": 5, "epochs": 1, "triplets_per_epoch": 16, "batch_size": 8},
}


def _tiny(corpus: Path) -> dict:
    """A fresh copy of TINY reading ``corpus``."""
    return {**json.loads(json.dumps(TINY)), "dataset": {"data_home": str(corpus)}}


def _tensors(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(folder / "model.safetensors"))


def _steps(folder: Path) -> list[dict]:
    out = []
    for line in (folder / "log.jsonl").read_text().splitlines():
        rec = json.loads(line)
        for k in ("seconds", "triplets_per_second", "segments_per_second"):
            rec.pop(k, None)
        out.append(rec)
    return out


@pytest.fixture(scope="module")
def trained(tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "model"
    cfg = _tiny(tiny_corpus)
    train(cfg, out, progress=False, say=lambda s: None)
    return out


@pytest.mark.slow
def test_all_stages_produce_loadable_models(trained: Path) -> None:
    ext = Extractor.from_pretrained(trained)
    assert ext.instruments == ("drums", "bass", "piano", "guitar", "others")
    v = ext.embed(music(4.0), sr=SR, focus="bass")
    assert v.shape == (16,) and np.isfinite(v).all()
    for inst in ext.instruments:
        fcn = Extractor.from_pretrained(trained / "stage1" / inst)
        assert fcn.instruments == (inst,) and fcn.config.backbone == "fcn"
        assert fcn.embed(music(4.0), sr=SR).shape == (16,)
    base = Extractor.from_pretrained(trained / "baseline")
    assert base.instruments == ("mix",) and base.embedding_dim == 80
    record = json.loads((trained / "training.json").read_text())
    assert record["dataset"]["train_pieces"] and set(record["seconds"]) >= {
        "stage1",
        "stage2",
        "stage3",
    }
    saved = yaml.safe_load((trained / "train_config.yaml").read_text())
    assert saved["stage3"]["epochs"] == 3


@pytest.mark.slow
def test_log_has_step_losses_and_epoch_validation(trained: Path) -> None:
    recs = [json.loads(x) for x in (trained / "log.jsonl").read_text().splitlines()]
    stages = {r["stage"] for r in recs}
    assert {"stage1/drums", "stage1/others", "stage2", "stage3", "baseline"} <= stages
    s3_steps = [r for r in recs if r["stage"] == "stage3" and "step" in r]
    assert len(s3_steps) == 3 * 6 and all("triplet_loss" in r and "aux_loss" in r for r in s3_steps)
    ends = [r for r in recs if r.get("event") == "epoch_end" and r["stage"] == "stage3"]
    assert len(ends) == 3 and ends[-1]["triplets_per_second"] > 0
    acc = ends[-1]["valid"]["knn_accuracy"]
    assert set(acc) == {"drums", "bass", "piano", "guitar", "others", "all"}


@pytest.mark.slow
def test_killed_and_resumed_run_equals_uninterrupted(
    trained: Path, tiny_corpus: Path, tmp_path: Path
) -> None:
    cfg_path = tmp_path / "tiny.yaml"
    cfg_path.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "instsim",
        "train",
        str(cfg_path),
        "--data-home",
        str(tiny_corpus),
        "--out",
        str(out),
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    marker = out / "checkpoints" / "stage3" / "state.json"
    deadline = time.time() + 600
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, (
        "training finished before it could be killed: " + proc.stderr.read().decode()[-2000:]
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # the folder already holds a loadable model (the last finished epoch's)
    assert Extractor.from_pretrained(out).embedding_dim == 80
    done = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    a, b = _tensors(trained), _tensors(out)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert _steps(trained) == _steps(out)


@pytest.mark.slow
def test_stage3_can_start_from_a_trained_model(
    trained: Path, tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _tiny(tiny_corpus)
    cfg["stages"] = ["stage3"]
    # a vanishing learning rate: the weights after one epoch are the initial ones
    cfg["stage3"].update(init_from=str(trained), epochs=1, aux_weight=0, lr=1e-12)
    # inference-time routing is not part of the trained network: a start model without it fits
    cfg["model"]["inputs"] = {"drums": "percussive"}
    cfg["model"].setdefault("frontend", {})["hpss_stride"] = 4
    # ... and the triplet loss embeds each pseudo-mix through it: drums from the percussive part
    from instsim.frontend import LogMel

    # (training steps run with autograd on; the validation embeds under inference_mode)
    asked: list[tuple[tuple[str, ...], bool]] = []
    parts = LogMel.parts

    def spy(fe: LogMel, w: torch.Tensor, names: tuple[str, ...]) -> dict:
        asked.append((names, torch.is_inference_mode_enabled()))
        return parts(fe, w, names)

    monkeypatch.setattr(LogMel, "parts", spy)
    out = train(cfg, tmp_path / "tuned", progress=False, say=lambda s: None)
    assert (("percussive", "mix"), False) in asked
    # stage3.through_inputs: false trains every sub-space on the mix (v4.1's recipe)
    asked.clear()
    mix_cfg = {**cfg, "stage3": {**cfg["stage3"], "through_inputs": False}}
    mixed = train(mix_cfg, tmp_path / "tuned-mix", progress=False, say=lambda s: None)
    assert not [a for a in asked if not a[1]]
    assert json.loads((mixed / "config.json").read_text())["inputs"] == {"drums": "percussive"}
    saved = json.loads((out / "config.json").read_text())
    assert saved["inputs"] == {"drums": "percussive"} and saved["frontend"]["hpss_stride"] == 4
    a, b = _tensors(trained), _tensors(out)
    learned = [
        k for k in a if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))
    ]
    assert learned and a.keys() == b.keys()
    for k in learned:
        np.testing.assert_allclose(a[k], b[k], atol=1e-6, err_msg=k)
    assert json.loads((out / "training.json").read_text())["stage3_init"] == str(trained)
    # a model of another architecture is refused before any work, naming what differs
    cfg["stage3"]["init_from"] = "default"
    with pytest.raises(ConfigError, match="'stage3.init_from'.*backbone_kwargs"):
        train(cfg, tmp_path / "other", progress=False, say=lambda s: None)
    assert not (tmp_path / "other").exists()


def test_existing_run_needs_resume(tmp_path: Path, tiny_corpus: Path) -> None:
    (tmp_path / "train_config.yaml").write_text("{}")
    (tmp_path / "checkpoints" / "stage3").mkdir(parents=True)
    (tmp_path / "checkpoints" / "stage3" / "epoch-001.pt").write_bytes(b"trained")
    cfg = dict(TINY, dataset={"data_home": str(tiny_corpus)})
    with pytest.raises(ConfigError, match="--resume"):
        train(cfg, tmp_path, progress=False, say=lambda s: None)


def test_a_run_refused_before_training_anything_can_be_started_again(
    tmp_path: Path, tiny_corpus: Path
) -> None:
    cfg = _tiny(tiny_corpus)
    cfg["stages"] = ["stage3"]
    cfg["stage3"].update(epochs=1, aux_weight=0, tempo_bin_bpm=1e-3)  # no tempo group of 3
    with pytest.raises(DatasetError, match="tempo groups"):
        train(cfg, tmp_path / "run", progress=False, say=lambda s: None)
    assert (tmp_path / "run" / "train_config.yaml").exists()  # it got as far as caching
    cfg["stage3"]["tempo_bin_bpm"] = 35.0
    said: list[str] = []
    out = train(cfg, tmp_path / "run", progress=False, say=said.append)
    assert (out / "model.safetensors").is_file()
    assert any("trained nothing; starting it again" in s for s in said)
    # now it holds a model: a third start needs --resume
    with pytest.raises(ConfigError, match="--resume"):
        train(cfg, tmp_path / "run", progress=False, say=lambda s: None)


def test_bad_config_fails_before_any_work(tmp_path: Path, tiny_corpus: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, "stage3": {"triplet_loss": {"name": "nope"}}}))
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main, ["train", str(cfg), "--data-home", str(tiny_corpus), "--out", str(out)]
    )
    assert res.exit_code == 2
    assert "'stage3.triplet_loss.name'" in res.output and "'masked_triplet'" in res.output
    assert not out.exists()
    res = CliRunner().invoke(main, ["train", str(cfg), "--out", str(out), "--set", "stage3=1"])
    assert res.exit_code == 2 and not out.exists()


def test_missing_data_home_is_a_usage_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    res = CliRunner().invoke(main, ["train", str(cfg), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "data_home" in res.output


@pytest.mark.slow
def test_resume_with_more_stage3_epochs_continues_the_run(
    trained: Path, tiny_corpus: Path, tmp_path: Path
) -> None:
    cfg = _tiny(tiny_corpus)
    cfg["stage3"]["epochs"] = 2
    out = tmp_path / "short"
    train(cfg, out, progress=False, say=lambda s: None)
    cfg["stage3"]["epochs"] = 3
    train(cfg, out, resume=True, progress=False, say=lambda s: None)
    a, b = _tensors(trained), _tensors(out)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    cfg["stage3"]["epochs"] = 2  # fewer epochs, or any other change, is refused
    with pytest.raises(ConfigError, match="stage3.epochs"):
        train(cfg, out, resume=True, progress=False, say=lambda s: None)
    # a run saved before a config field existed resumes (the field takes its default) ...
    saved = yaml.safe_load((out / "train_config.yaml").read_text())
    del saved["stage3"]["normalize"], saved["stage3"]["init_from"]
    (out / "train_config.yaml").write_text(yaml.safe_dump(saved))
    cfg["stage3"]["epochs"] = 3
    train(cfg, out, resume=True, progress=False, say=lambda s: None)
    # ... but a value other than the default is a change
    cfg["stage3"]["normalize"] = False
    with pytest.raises(ConfigError, match="stage3.normalize"):
        train(cfg, out, resume=True, progress=False, say=lambda s: None)


@pytest.mark.slow
def test_phases_change_lr_and_aux_and_can_be_appended_on_resume(
    tiny_corpus: Path, tmp_path: Path
) -> None:
    cfg = _tiny(tiny_corpus)
    cfg["stages"] = ["stage1", "stage2", "stage3"]
    phased = json.loads(json.dumps(cfg))
    phased["stage3"]["phases"] = [{"epoch": 3, "lr": 1e-4, "aux_weight": 0}]
    whole = train(phased, tmp_path / "whole", progress=False, say=lambda s: None)
    recs = [json.loads(x) for x in (whole / "log.jsonl").read_text().splitlines()]
    s3 = [r for r in recs if r["stage"] == "stage3"]
    ends = [r for r in s3 if r.get("event") == "epoch_end"]
    assert [r["lr"] for r in ends] == [1e-3, 1e-3, 1e-4]
    assert all("aux_loss" in r for r in s3 if "step" in r and r["epoch"] < 3)
    assert not any("aux_loss" in r for r in s3 if "step" in r and r["epoch"] == 3)
    # the same schedule appended when extending a finished 2-epoch run: the same model
    cfg["stage3"]["epochs"] = 2
    part = tmp_path / "part"
    train(cfg, part, progress=False, say=lambda s: None)
    early = json.loads(json.dumps(phased))
    early["stage3"]["phases"] = [{"epoch": 2, "lr": 1e-4}]  # epoch 2 is already trained
    with pytest.raises(ConfigError, match=r"'stage3.phases\[0\].epoch'.*already trained"):
        train(early, part, resume=True, progress=False, say=lambda s: None)
    train(phased, part, resume=True, progress=False, say=lambda s: None)
    a, b = _tensors(whole), _tensors(part)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert _steps(whole) == _steps(part)
    # changing a phase that was already in the run is a change of the run
    early["stage3"]["phases"] = [{"epoch": 3, "lr": 2e-4, "aux_weight": 0}]
    with pytest.raises(ConfigError, match=r"'stage3.phases'.*differs"):
        train(early, part, resume=True, progress=False, say=lambda s: None)


@pytest.mark.slow
def test_stage3_logs_pseudo_mix_validation_as_evaluate_computes_it(
    trained: Path, tiny_corpus: Path, tmp_path: Path
) -> None:
    from instsim.data.cache import GroupCache
    from instsim.evaluate.protocols import (
        EmbeddingStore,
        System,
        draw_pseudo_mix_set,
        pseudo_mix_accuracy,
        pseudo_mix_follow_rates,
    )

    cfg = _tiny(tiny_corpus)
    cfg["stages"] = ["stage3"]
    # the tiny corpus has 2 validation songs; its 8 training songs have tempo partners
    cfg["dataset"]["valid_split"] = "train"
    cfg["valid_pieces"] = 8
    cfg["stage3"].update(init_from=str(trained), epochs=1, aux_weight=0, valid_pseudo_mix=3)
    out = train(cfg, tmp_path / "pm", progress=False, say=lambda s: None)
    recs = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    valid = [r for r in recs if r.get("event") == "epoch_end"][-1]["valid"]
    logged = valid["pseudo_mix_accuracy"]
    assert logged and set(logged) <= {"drums", "bass", "piano", "guitar", "others"}
    assert all(2 <= n <= 3 for n in valid["pseudo_mix_pieces"].values())
    assert valid["pseudo_mix_follows"], "no follow rates logged"
    # the figure is the evaluation protocol's for the published model on the same draw
    run = json.loads((out / "training.json").read_text())
    cache = GroupCache(run["cache"])
    pieces = {t: cache.info(t) for t in run["dataset"]["valid_pieces"]}
    system = System.csn("csn", Extractor.from_pretrained(out))
    store = EmbeddingStore(cache)
    for cond, acc in logged.items():
        pm = draw_pseudo_mix_set(pieces, cond, n_pieces=3, seed=0, tempo_bin_bpm=35.0)
        assert pm.n_segments == valid["pseudo_mix_segments"][cond]
        assert pseudo_mix_accuracy(store, system, pm) == pytest.approx(acc, abs=0.01)
        follows = pseudo_mix_follow_rates(store, system, pm)
        if follows is None:
            assert cond not in valid["pseudo_mix_follows"]
            continue
        for k in ("follows_c", "follows_rest"):
            assert follows[k] == pytest.approx(valid["pseudo_mix_follows"][cond][k], abs=0.01)
    # off: only the music-ID figures
    cfg["stage3"]["valid_pseudo_mix"] = 0
    out = train(cfg, tmp_path / "off", progress=False, say=lambda s: None)
    recs = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    valid = [r for r in recs if r.get("event") == "epoch_end"][-1]["valid"]
    assert "knn_accuracy" in valid and "pseudo_mix_accuracy" not in valid
