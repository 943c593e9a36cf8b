"""``instsim real-check build`` and ``run`` end to end, and their usage errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from instsim.cli import main
from instsim.evaluate.realset import build_set


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_run_writes_the_report(stand_in_sources, tmp_path: Path, untrained_model_dir) -> None:
    build_set(tmp_path / "set", sources=stand_in_sources, focus=["drums"], draws=1, n_stems=2,
              n_rests=3, seconds=3.0)  # fmt: skip
    res = invoke("real-check", "run", str(tmp_path / "set"), "--model", str(untrained_model_dir),
                 "--out", str(tmp_path / "rep"), "--device", "cpu")  # fmt: skip
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert report["model"] == str(untrained_model_dir)
    assert report["focus"]["drums"]["n_mixes"] == 6
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "| logmel-mean-std |" in md


def test_run_compares_with_an_earlier_report_of_the_same_set(
    stand_in_sources, tmp_path: Path, untrained_model_dir
) -> None:
    build_set(tmp_path / "set", sources=stand_in_sources, focus=["drums"], draws=2, n_stems=2,
              n_rests=3, seconds=3.0)  # fmt: skip
    base = ["real-check", "run", str(tmp_path / "set"), "--model", str(untrained_model_dir),
            "--device", "cpu", "--no-baseline"]  # fmt: skip
    assert invoke(*base, "--out", str(tmp_path / "a")).exit_code == 0
    res = invoke(*base, "--out", str(tmp_path / "b"),
                 "--compare-to", str(tmp_path / "a" / "report.json"))  # fmt: skip
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    # the same model on the same set: no change, on every draw
    change = report["paired"]["changes"]["drums"]["drums"]
    assert change["follows_c"] == {"change": 0.0, "significant": False}
    assert report["paired"]["model"] == str(untrained_model_dir)
    md = (tmp_path / "b" / "report.md").read_text()
    assert f"Against {untrained_model_dir}" in md and "follows drums +0.0" in md
    # another set (other settings): refused before any work, nothing written
    build_set(tmp_path / "other", sources=stand_in_sources, focus=["drums"], draws=1,
              n_stems=2, n_rests=3, seconds=3.0)  # fmt: skip
    res = invoke("real-check", "run", str(tmp_path / "other"), "--out", str(tmp_path / "c"),
                 "--compare-to", str(tmp_path / "a" / "report.json"))  # fmt: skip
    assert res.exit_code == 2 and "another set" in res.output
    assert not (tmp_path / "c").exists()
    (tmp_path / "junk.json").write_text("[1, 2]")
    res = invoke(*base, "--out", str(tmp_path / "d"), "--compare-to", str(tmp_path / "junk.json"))
    assert res.exit_code == 2 and "not a real-check report.json" in res.output


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    res = invoke("real-check", "run", str(tmp_path))
    assert res.exit_code == 2 and "real-check build" in res.output
    res = invoke("real-check", "build", str(tmp_path), "--focus", "vocals")
    assert res.exit_code == 2 and "'drums'" in res.output
    res = invoke("real-check", "build", str(tmp_path), "--stems", "1")
    assert res.exit_code == 2
    (tmp_path / "manifest.json").write_text("{}")
    res = invoke("real-check", "build", str(tmp_path), "--focus", "drums", "--draws", "1")
    assert res.exit_code == 2 and "--overwrite" in res.output


def test_help_reads_like_a_man_page() -> None:
    for cmd in ("build", "run"):
        res = invoke("real-check", cmd, "--help")
        assert res.exit_code == 0
        assert "Exit codes:" in res.output and "Example:" in res.output
