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
