"""Every bad index or input: a clear InstsimError (exit 2 on the command line), no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import instsim
from instsim.cli import main
from instsim.search import Index


@pytest.fixture
def built(dumps: Path, tmp_path: Path) -> Path:
    Index.build([dumps], tmp_path / "ix")
    return tmp_path / "ix"


def data(ix: Path) -> Path:
    return ix / json.loads((ix / "manifest.json").read_text())["data"]


def assert_refused(ix: Path, match: str) -> None:
    with pytest.raises(instsim.SearchIndexError, match=match):
        Index.open(ix).search(np.ones(40, np.float32), k=3)
    r = CliRunner().invoke(main, ["search", str(ix), "music/a/t03.wav"])
    assert r.exit_code == 2 and match.split(".")[0] in r.output and "Traceback" not in r.output


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert_refused(tmp_path / "empty", "folder is empty")


def test_corrupt_manifest(built: Path) -> None:
    (built / "manifest.json").write_text("{not json")
    assert_refused(built, "manifest.json is unreadable")


def test_newer_format(built: Path) -> None:
    m = json.loads((built / "manifest.json").read_text())
    m["format_version"] = 99
    (built / "manifest.json").write_text(json.dumps(m))
    assert_refused(built, "index format 99")


def test_truncated_vectors(built: Path) -> None:
    f = data(built) / "vectors.npy"
    f.write_bytes(f.read_bytes()[:1000])
    assert_refused(built, "vectors.npy is truncated")


def test_corrupt_faiss_file(built: Path) -> None:
    f = data(built) / "flat-whole.faiss"
    f.write_bytes(f.read_bytes()[:100])
    assert_refused(built, "flat-whole.faiss is missing or corrupt")


def test_missing_data_folder(built: Path) -> None:
    import shutil

    shutil.rmtree(data(built))
    assert_refused(built, "data folder")


def test_bad_search_arguments(built: Path) -> None:
    index = Index.open(built)
    with pytest.raises(instsim.UnknownInstrumentError, match="'banjo'.*'bass'"):
        index.search(np.ones(40), focus="banjo")
    for k in (0, -1, 2.5):
        with pytest.raises(instsim.ConfigError, match="'k'"):
            index.search(np.ones(40), k=k)
    with pytest.raises(instsim.ConfigError, match=r"shape \(40,\)"):
        index.search(np.ones(12))


def test_dump_without_embeddings(tmp_path: Path) -> None:
    np.savez(tmp_path / "x.npz", other=np.zeros(3))
    with pytest.raises(instsim.DumpError, match="x.npz.*no 'embedding'"):
        Index.build([tmp_path / "x.npz"], tmp_path / "ix")


def test_per_segment_dump(tmp_path: Path, vecs) -> None:
    from tests.search.conftest import write_track

    write_track(tmp_path / "s.npz", vecs[:3], "s.wav")
    with pytest.raises(instsim.DumpError, match="--aggregate mean"):
        Index.build([tmp_path / "s.npz"], tmp_path / "ix")


def test_killed_build_leaves_previous_index(built: Path, dumps: Path, monkeypatch) -> None:
    """A writer that dies before its commit leaves the previous index whole and usable."""
    from instsim.search import layout

    before = Index.open(built).search(np.ones(40), k=5).rows

    def die(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(layout, "commit", die)
    monkeypatch.setattr("instsim.search.index.commit", die)
    with pytest.raises(KeyboardInterrupt):
        Index.build([dumps], built, dtype="float32")
    np.testing.assert_array_equal(Index.open(built).search(np.ones(40), k=5).rows, before)
    monkeypatch.undo()
    Index.build([dumps], built)  # the next writer clears the leftovers
    assert not list(built.glob(".tmp-*")) and len(list(built.glob("gen-*"))) == 1


def test_corrupt_id_table(built: Path) -> None:
    f = data(built) / "ids.jsonl"
    lines = f.read_text().splitlines(keepends=True)
    f.write_text("".join(lines[:-1]))
    assert_refused(built, "ids.jsonl has 59 rows, expected 60")
    with pytest.raises(instsim.SearchIndexError, match="ids.jsonl has 59 rows"):
        Index.open(built).row_of("music/a/t00.wav")
    f.write_text("{oops\n" * 60)  # a record is parsed when a result needs it
    assert_refused(built, "ids.jsonl is unreadable")
