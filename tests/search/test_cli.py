"""``instsim index`` and ``instsim search`` on the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from instsim.cli import main
from instsim.search import Index
from tests.search.conftest import NAMES


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_index_then_search_json_and_table(dumps: Path, tmp_path: Path) -> None:
    ix = str(tmp_path / "ix")
    r = run("index", str(dumps), "-o", ix)
    assert r.exit_code == 0, r.output
    r = run("search", ix, "music/a/t03.wav", "--focus", "bass", "-k", "4", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["query"] == "music/a/t03.wav" and out["focus"] == ["bass"] and out["k"] == 4
    assert [x["rank"] for x in out["results"]] == [1, 2, 3, 4]
    assert "music/a/t03.wav" not in [x["path"] for x in out["results"]]
    first = out["results"][0]
    assert set(first["per_subspace"]) == set(NAMES)
    assert abs(first["score"] - first["per_subspace"]["bass"]) < 1e-5
    api = Index.open(ix).search("music/a/t03.wav", focus="bass", k=4)
    assert [x["path"] for x in out["results"]] == list(api.paths)
    two = json.loads(run("search", ix, "music/a/t03.wav", "--focus", "bass", "--focus", "drums",
                         "--json", "--include-self").output)  # fmt: skip
    assert two["results"][0]["path"] == "music/a/t03.wav"
    r = run("search", ix, "music/a/t03.wav", "--focus", "drums")
    assert r.exit_code == 0 and "rank" in r.output and "music/" in r.output


def test_index_add_replaces(dumps: Path, tmp_path: Path, vecs) -> None:
    from tests.search.conftest import write_track

    ix = str(tmp_path / "ix")
    assert run("index", str(dumps), "-o", ix).exit_code == 0
    write_track(tmp_path / "new" / "x.npz", vecs[1], "music/a/t00.wav")
    r = run("index", str(tmp_path / "new"), "-o", ix, "--add")
    assert r.exit_code == 0, r.output
    index = Index.open(ix)
    assert len(index) == 60
    np.testing.assert_allclose(
        np.asarray(index.vectors[index.row_of("music/a/t00.wav")], np.float32), vecs[1], atol=1e-3
    )


def test_bad_dump_among_good_ones_exits_1(dumps: Path, tmp_path: Path) -> None:
    (dumps / "broken.npz").write_bytes(b"not a zip")
    np.savez(dumps / "noemb.npz", other=np.zeros(3))
    r = run("index", str(dumps), "-o", str(tmp_path / "ix"))
    assert r.exit_code == 1
    assert "broken.npz" in r.output and "unreadable" in r.output
    assert "noemb.npz" in r.output and "no 'embedding'" in r.output
    assert len(Index.open(tmp_path / "ix")) == 60


def test_usage_errors_exit_2(dumps: Path, tmp_path: Path) -> None:
    ix = str(tmp_path / "ix")
    run("index", str(dumps), "-o", ix)
    cases = {
        ("search", ix, "music/a/t03.wav", "--focus", "banjo"): "'banjo'",
        ("search", ix, "music/a/t03.wav", "-k", "0"): "-k",
        ("search", ix, "nowhere.wav"): "neither a path in the index",
        ("search", str(tmp_path / "none"), "x.wav"): "no such folder",
        ("index", str(tmp_path / "missing"), "-o", ix): "no such file",
    }
    for args, text in cases.items():
        r = run(*args)
        assert r.exit_code == 2, (args, r.output)
        assert text in r.output and "Traceback" not in r.output, (args, r.output)
    np.savez(tmp_path / "only.npz", other=np.zeros(3))
    r = run("index", str(tmp_path / "only.npz"), "-o", str(tmp_path / "ix2"))
    assert r.exit_code == 2 and "no usable feature dump" in r.output


def test_without_faiss_commands_name_the_extra(dumps: Path, tmp_path: Path, monkeypatch) -> None:
    import instsim

    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss -> ImportError
    r = run("index", str(dumps), "-o", str(tmp_path / "ix"))
    assert r.exit_code == 2 and "instsim[search]" in r.output
    r = run("search", str(tmp_path / "ix"), "x.wav")
    assert r.exit_code == 2 and "instsim[search]" in r.output
    try:
        instsim.Index.open(tmp_path / "ix")
    except instsim.MissingExtraError as exc:
        assert "instsim[search]" in str(exc) and isinstance(exc, ImportError)
    else:
        raise AssertionError("Index.open without faiss did not raise")
