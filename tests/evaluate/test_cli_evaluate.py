"""``instsim evaluate`` end to end on a tiny synthetic corpus, and its usage errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from instsim.cli import main
from instsim.instruments import INSTRUMENTS

SR = 22050
UNET = {"channels": [4, 8, 8, 16, 16, 16]}
FCN = {"channels": [4, 8, 8, 8, 8]}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="session")
def synth_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six 16 s songs, all in the test split (FluidSynth; about 5 s)."""
    pytest.importorskip("fluidsynth")
    pytest.importorskip("pretty_midi")
    from instsim.data.synth import DEFAULT_SOUNDFONT, synthesize_corpus

    if not Path(DEFAULT_SOUNDFONT).is_file():
        pytest.skip("default soundfont not installed")
    out = tmp_path_factory.mktemp("eval_corpus") / "slakh_synth"
    synthesize_corpus(out, 6, seconds=16.0, seed=1, sample_rate=SR,
                      split_fractions=(0.0, 0.0, 1.0), workers=1)  # fmt: skip
    return out


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A training output folder: tiny CSN + stage1/<instrument>/ FCNs + baseline/."""
    from instsim import Extractor

    out = tmp_path_factory.mktemp("run")
    Extractor.from_config({"backbone": "unet", "backbone_kwargs": UNET, "name": "tiny-csn"},
                          seed=0).save_pretrained(out)  # fmt: skip
    for i, c in enumerate(INSTRUMENTS):
        cfg = {"backbone": "fcn", "backbone_kwargs": FCN, "instruments": [c]}
        Extractor.from_config(cfg, seed=i + 1).save_pretrained(out / "stage1" / c)
    cfg = {"backbone": "fcn", "backbone_kwargs": FCN, "instruments": ["mix"]}
    Extractor.from_config(cfg, seed=9).save_pretrained(out / "baseline")
    return out


@pytest.fixture(scope="session")
def variant_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another tiny CSN (a "Table 2 variant")."""
    from instsim import Extractor

    out = tmp_path_factory.mktemp("variant")
    Extractor.from_config({"backbone": "unet", "backbone_kwargs": UNET, "name": "variant"},
                          seed=5).save_pretrained(out)  # fmt: skip
    return out


def run(*args: str) -> object:
    return CliRunner().invoke(main, ["evaluate", *args], catch_exceptions=False)


@pytest.mark.slow
def test_end_to_end_reports_and_plots(
    synth_corpus: Path, trained_dir: Path, variant_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "eval"
    res = run(
        "--model", str(trained_dir), "--dataset", "slakh", "--data-home", str(synth_corpus),
        "--split", "test", "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
        "--compare", f"v2={variant_dir}", "--draws", "2", "--seed", "3", "--workers", "1",
        "--pieces", "3", "--partners", "2",
        "--tempo-bin-bpm", "1000", "--device", "cpu",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "report.md" in res.output
    rep = json.loads((out / "report.json").read_text())
    assert rep["dataset"] == "slakh" and rep["model"] == str(trained_dir.resolve())
    assert set(rep["neighbour_exclusion"]) == {"music_id", "pseudo_mix"}
    assert "overlap it in time" in rep["neighbour_exclusion"]["music_id"]
    assert rep["n_tracks"] + len(rep["excluded_tracks"]) == rep["n_tracks_split"] == 6
    assert rep["n_tracks"] >= 3
    # the schema of the issue: music_id.{3s,10s}.{instrument..., all}, pseudo_mix.{instrument}.{mean,std}
    assert set(rep["music_id"]) == {"3s", "10s"}
    for key in ("3s", "10s"):
        assert set(rep["music_id"][key]) == {*INSTRUMENTS, "all"}
        assert all(0.0 <= v <= 100.0 for v in rep["music_id"][key].values())
    assert set(rep["pseudo_mix"]) == set(INSTRUMENTS)
    for v in rep["pseudo_mix"].values():
        assert set(v) >= {"mean", "std", "draws"} and len(v["draws"]) == 2
        if v["mean"] is not None:
            assert 0.0 <= v["mean"] <= 100.0 and v["std"] >= 0.0
    # every system went through the same protocols
    systems = rep["systems"]
    assert list(systems) == ["csn", "v2", "logmel", "fcn-clean", "fcn-mix", "baseline"]
    assert set(systems["logmel"]["pseudo_mix"]) == set(INSTRUMENTS)  # non-learned reference
    assert set(systems["fcn-clean"]["music_id"]["3s"]) == set(INSTRUMENTS)
    assert systems["fcn-clean"]["pseudo_mix"] == {}
    assert set(systems["fcn-mix"]["pseudo_mix"]) == set(INSTRUMENTS)
    assert set(systems["baseline"]["music_id"]["10s"]) == {"all"}
    assert set(systems["baseline"]["pseudo_mix"]) == set(INSTRUMENTS)
    # the actual pseudo-mix counts are recorded, never more than asked
    for draws in rep["counts"]["pseudo_mix"].values():
        for d in draws:
            assert d["requested_pieces"] == 3 and d["requested_partners"] == 2
            assert 0 < d["pieces"] <= 3 and d["pseudo_mixes"] <= 2 * d["pieces"]
            assert d["segments"] == sum(m["segments"] for m in d["mixes"])
            assert all(m["focus"] != m["rest"] for m in d["mixes"])
    assert (
        rep["counts"]["music_id"]["3s"]["segments"] > rep["counts"]["music_id"]["10s"]["segments"]
    )
    # figures (Figs. 5 and 6)
    paths = [p["path"] for p in rep["plots"] if "path" in p]
    assert "plots/music_id_3s_drums.png" in paths and "plots/pseudo_mix_bass.png" in paths
    for p in paths:
        assert (out / p).read_bytes()[:8] == PNG_MAGIC
    md = (out / "report.md").read_text()
    assert "## Table 1" in md and "## Table 2" in md
    assert "music-ID neighbours: leave-one-out; segments of the query's piece that overlap" in md
    assert "82.89" in md and "85.5" in md and "tiny-csn (ours)" in md and "v2 (ours)" in md

    # one protocol, no baselines, no plots; the decoded pieces are reused from the cache
    out2 = tmp_path / "eval2"
    res = run(
        "--model", str(trained_dir), "--data-home", str(synth_corpus), "--out", str(out2),
        "--cache-dir", str(tmp_path / "cache"), "--protocol", "music-id", "--no-baselines",
        "--no-plots", "-q",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    rep2 = json.loads((out2 / "report.json").read_text())
    assert rep2["pseudo_mix"] == {} and list(rep2["systems"]) == ["csn"]
    assert rep2["music_id"] == rep["music_id"]  # same pieces, same network: same numbers
    assert not (out2 / "plots").exists()
    assert "Table 2" not in (out2 / "report.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("model_args", [(), ("--model", "default")])
def test_without_model_the_bundled_default_is_evaluated(
    synth_corpus: Path, tmp_path: Path, model_args: tuple[str, ...]
) -> None:
    from instsim.hub import bundled_model_dir

    config = json.loads((bundled_model_dir() / "config.json").read_text())
    out = tmp_path / "eval"
    res = run(
        *model_args, "--data-home", str(synth_corpus), "--out", str(out),
        "--cache-dir", str(tmp_path / "cache"), "--protocol", "music-id", "--no-plots",
        "--workers", "1", "--device", "cpu", "-q",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    rep = json.loads((out / "report.json").read_text())
    assert rep["model"] == "instsim/default"
    assert rep["model_name"] == f"{config['name']} (ours)"
    assert list(rep["systems"]) == ["csn", "logmel"]  # no stage1/ or baseline/ in the bundle
    assert set(rep["music_id"]["3s"]) == {*INSTRUMENTS, "all"}
    assert "- model: `instsim/default`" in (out / "report.md").read_text()


def test_unknown_dataset_lists_the_valid_ones(tmp_path: Path) -> None:
    res = run("--model", str(tmp_path), "--dataset", "nope", "--data-home", str(tmp_path))
    assert res.exit_code == 2
    assert "nope" in res.output and "slakh" in res.output
    assert "Traceback" not in res.output


def test_missing_data_home(tmp_path: Path) -> None:
    res = run("--model", str(tmp_path), "--data-home", str(tmp_path / "absent"))
    assert res.exit_code == 2
    assert "does not exist" in res.output


def test_unknown_model_and_split(synth_corpus: Path, trained_dir: Path, tmp_path: Path) -> None:
    res = run("--model", str(tmp_path / "no-model"), "--data-home", str(synth_corpus))
    assert res.exit_code == 2
    assert "no-model" in res.output and "does not exist" in res.output
    res = run("--model", str(trained_dir), "--data-home", str(synth_corpus), "--split", "dev")
    assert res.exit_code == 2
    assert "'dev'" in res.output and "test" in res.output
    res = run("--model", str(trained_dir), "--data-home", str(synth_corpus),
              "--compare", "a=x", "--compare", "y")  # fmt: skip
    assert res.exit_code == 2 and "NAME=DIR" in res.output
    res = run(
        "--model", str(trained_dir), "--data-home", str(synth_corpus), "--protocol", "listening"
    )
    assert res.exit_code == 2 and "music-id" in res.output


def test_help_reads_like_a_man_page() -> None:
    res = CliRunner().invoke(main, ["evaluate", "--help"])
    assert res.exit_code == 0
    for opt in ("--model", "--dataset", "--data-home", "--split", "--protocol", "--out", "--seed",
                "--draws", "--device", "--cache-dir", "--batch-size", "--no-plots", "--compare"):  # fmt: skip
        assert opt in res.output
    assert "Exit codes" in res.output and "Example" in res.output
    assert "'default' for the model bundled" in res.output
    assert "[default: the bundled model]" in res.output


@pytest.mark.slow
def test_without_matplotlib_the_report_is_written_and_plots_skipped(
    synth_corpus: Path, variant_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain install (no instsim[plots]): warned at the door, numbers written, no figures."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    out = tmp_path / "eval"
    res = CliRunner().invoke(
        main,
        ["evaluate", "--model", str(variant_dir), "--dataset", "slakh",
         "--data-home", str(synth_corpus), "--split", "test", "--out", str(out),
         "--cache-dir", str(tmp_path / "cache"), "--protocol", "music-id", "--workers", "1",
         "--device", "cpu", "--quiet"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert res.output.count("instsim[plots]") == 1  # one line, at the door
    assert "warning: t-SNE plots will be skipped: matplotlib is not installed" in res.output
    rep = json.loads((out / "report.json").read_text())
    assert set(rep["music_id"]["3s"]) == {*INSTRUMENTS, "all"}
    assert rep["plots"] == [
        {
            "kind": "t-SNE",
            "view": "all",
            "skipped": "matplotlib is not installed (pip install 'instsim[plots]')",
        }
    ]
    assert "skipped, matplotlib is not installed" in (out / "report.md").read_text()
    assert not (out / "plots").exists()
