"""A plain ``pip install instsim`` (no extras): every command works or says at the door which
extra it needs. A missing module is simulated with ``sys.modules[name] = None``, which makes
``import name`` fail as it does where the package is not installed."""

from __future__ import annotations

import re
import sys
from importlib.metadata import requires
from pathlib import Path

import pytest
from click.testing import CliRunner

from instsim.cli import NEEDS_EXTRA, main
from instsim.errors import InstsimError, MissingExtraError
from instsim.extras import EXTRAS, missing, require

ROOT = Path(__file__).resolve().parents[1]
AUDIO = ROOT / "examples" / "audio"


def test_extras_table_matches_the_package_metadata() -> None:
    """EXTRAS names the distributions that pyproject.toml's optional-dependencies declare."""
    declared: dict[str, set[str]] = {}
    for req in requires("instsim") or []:
        m = re.match(r"([A-Za-z0-9_.-]+).*;\s*extra\s*==\s*['\"](\w+)['\"]", req)
        if m:
            declared.setdefault(m.group(2), set()).add(m.group(1).lower().replace("-", "_"))
    for extra, modules in EXTRAS.items():
        assert declared[extra] == {d.lower().replace("-", "_") for d in modules.values()}, extra
    for needs in NEEDS_EXTRA.values():
        assert all(extra in EXTRAS for extra, _, _ in needs)


def test_missing_and_require(monkeypatch: pytest.MonkeyPatch) -> None:
    assert missing("synth") == []  # the test environment has every extra
    monkeypatch.setitem(sys.modules, "fluidsynth", None)
    assert missing("synth") == ["pyfluidsynth"]
    with pytest.raises(MissingExtraError) as err:
        require("synth", "doing X")
    assert isinstance(err.value, (InstsimError, ImportError))
    assert str(err.value).startswith("doing X needs")
    assert "pip install 'instsim[synth]'" in str(err.value)


@pytest.mark.parametrize("module", ["pretty_midi", "fluidsynth"])
def test_synth_without_its_extra_is_exit_2_before_any_work(
    module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    out = tmp_path / "corpus"
    res = CliRunner().invoke(main, ["synth", "--out", str(out), "--songs", "2", "--seconds", "4"])
    assert res.exit_code == 2, res.output
    assert "instsim synth needs" in res.output and "pip install 'instsim[synth]'" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()
    assert CliRunner().invoke(main, ["synth", "--help"]).exit_code == 0  # help always works


def test_synthesize_corpus_without_its_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from instsim.data.synth import synthesize_corpus

    monkeypatch.setitem(sys.modules, "fluidsynth", None)
    with pytest.raises(MissingExtraError, match=r"synthesize_corpus needs.*instsim\[synth\]"):
        synthesize_corpus(tmp_path / "c", 1, seconds=2.0)
    assert not (tmp_path / "c").exists()


def test_parquet_output_without_pyarrow_is_exit_2_and_npz_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    out = tmp_path / "emb"
    res = CliRunner().invoke(
        main, ["extract", str(AUDIO / "song_a.flac"), "-o", str(out), "--format", "parquet"]
    )
    assert res.exit_code == 2, res.output
    assert "instsim extract --format parquet needs" in res.output
    assert "pip install 'instsim[parquet]'" in res.output
    assert not out.exists()
    res = CliRunner().invoke(main, ["extract", str(AUDIO / "song_a.flac"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert list(out.glob("*.npz"))
