"""Approximate search (index format 2): recall against brute force, calibration, format 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import instsim
from instsim.cli import main
from instsim.search import Dump, Index, Provenance, backend
from instsim.search.index import METHOD
from instsim.search.layout import FORMAT_VERSION
from tests.search.conftest import NAMES, SHA, D, normalised
from tests.search.test_index import brute_force

FORMAT1 = Path(__file__).parent / "data" / "format1-index"
KEYS = {"0", "1", "2", "3", "4", "whole"}


def clustered(rng: np.random.Generator, n: int, clusters: int, noise: float, shared: bool):
    """Each sub-space from its own clusters (``shared``: one cluster id for all five)."""
    one = rng.integers(0, clusters, n)
    blocks = []
    for _ in NAMES:
        centres = rng.standard_normal((clusters, D))
        ids = one if shared else rng.integers(0, clusters, n)
        blocks.append(centres[ids] + noise * rng.standard_normal((n, D)))
    return normalised(np.concatenate(blocks, axis=1))


def dump(vecs: np.ndarray, prefix: str = "s") -> Dump:
    paths = [f"{prefix}{i:05d}.wav" for i in range(len(vecs))]
    return Dump(f"{prefix}.parquet", vecs, paths, paths, Provenance("m", "", SHA, NAMES, D))


def recall(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(x) & set(y)) / len(y) for x, y in zip(a, b)]))


def noisy(rng, vecs: np.ndarray, m: int) -> np.ndarray:
    rows = rng.choice(len(vecs), m, replace=False)
    return normalised(vecs[rows] + 0.1 * rng.standard_normal((m, vecs.shape[1])))


@pytest.fixture(scope="module")
def approx_index(tmp_path_factory) -> tuple[Index, np.ndarray]:
    rng = np.random.default_rng(7)
    vecs = clustered(rng, 3000, clusters=40, noise=0.35, shared=False)
    ix = Index.build([dump(vecs)], tmp_path_factory.mktemp("a") / "ix", approximate=True)
    return ix, np.asarray(ix.vectors, np.float32)


def test_manifest_records_calibrated_parameters(approx_index) -> None:
    index, _ = approx_index
    assert index.format_version == FORMAT_VERSION == 2 and index.approximate
    a = index.manifest["approximate"]
    assert a["method"] == METHOD and a["nlist"] == backend.nlist_for(3000)
    for field in ("nprobe", "k_factor", "recall_at_10", "recall_at_10_lower_95"):
        assert set(a[field]) == KEYS, field
    for key in KEYS:
        assert 1 <= a["nprobe"][key] <= a["nlist"] and a["k_factor"][key] in backend.K_FACTORS
        assert a["recall_at_10"][key] >= a["recall_at_10_lower_95"][key] >= 0.95
    assert a["target_recall_at_10"] == 0.95 and a["confidence"] == 0.95
    assert a["calibration_queries"] == backend.CALIBRATION_QUERIES and a["trained_on"] == 3000
    names = sorted(p.name for p in index._data.iterdir())
    assert [n for n in names if n.startswith("lists-")] == [f"lists-{i}.faiss" for i in range(5)]
    assert not [n for n in names if n.startswith("ivf-")]
    # whole-vector search probes the lists, it does not scan them all
    assert a["nprobe"]["whole"] < a["nlist"]


@pytest.mark.parametrize("focus", [["bass"], ["drums", "piano"], list(NAMES)])
def test_recall_against_brute_force(approx_index, focus: list[str]) -> None:
    index, stored = approx_index
    q = noisy(np.random.default_rng(3), stored, 100)
    res = index.search(q, focus=focus, k=10)
    truth, scores = brute_force(stored, q, focus, 10)
    assert recall(res.rows, truth) >= 0.95
    ok = res.rows == truth  # a found row has its exact score
    np.testing.assert_allclose(res.scores[ok], scores[ok], atol=1e-5)
    one = index.search(q[0], focus=focus, k=10)  # a single query: the same answer
    np.testing.assert_array_equal(one.rows, res.rows[0])
    exact = index.search(q, focus=focus, k=10, exact=True)
    np.testing.assert_array_equal(exact.rows, truth)


def test_whole_vector_equals_exact_on_an_easy_set(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    vecs = clustered(rng, 800, clusters=40, noise=0.1, shared=True)
    index = Index.build([dump(vecs)], tmp_path / "ix", approximate=True)
    stored = np.asarray(index.vectors, np.float32)
    q = noisy(rng, stored, 50)
    res, ex = index.search(q, k=10), index.search(q, k=10, exact=True)
    np.testing.assert_array_equal(res.rows, ex.rows)
    np.testing.assert_allclose(res.scores, ex.scores, atol=1e-6)
    by_path = index.search("s00005.wav", k=5)  # an indexed track leaves itself out
    assert "s00005.wav" not in list(by_path.paths)
    np.testing.assert_array_equal(by_path.rows, index.search("s00005.wav", k=5, exact=True).rows)


def test_format1_index_opens_and_searches(tmp_path: Path) -> None:
    shutil.copytree(FORMAT1, tmp_path / "old")
    index = Index.open(tmp_path / "old")
    assert index.format_version == 1 and index.approximate and len(index) == 300
    assert index.manifest["approximate"]["method"] == "ivf_sq8"
    stored = np.asarray(index.vectors, np.float32)
    q = noisy(np.random.default_rng(5), stored, 30)
    for focus in (["bass"], ["drums", "guitar"], list(NAMES)):
        truth, _ = brute_force(stored, q, focus, 10)
        np.testing.assert_array_equal(index.search(q, focus=focus, k=10, exact=True).rows, truth)
        assert recall(index.search(q, focus=focus, k=10).rows, truth) >= 0.9
    r = CliRunner().invoke(main, ["search", str(tmp_path / "old"), "music/old/t007.wav",
                                  "--focus", "bass", "--json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.output)["results"]) == 10


def test_add_upgrades_format1_to_format2(tmp_path: Path, dumps: Path) -> None:
    shutil.copytree(FORMAT1, tmp_path / "old")
    before = Index.open(tmp_path / "old")
    old_vectors = np.asarray(before.vectors, np.float32)
    r = CliRunner().invoke(main, ["index", str(dumps), "-o", str(tmp_path / "old"), "--add"])
    assert r.exit_code == 0, r.output
    index = Index.open(tmp_path / "old")
    assert index.format_version == 2 and len(index) == 360
    a = index.manifest["approximate"]
    assert a["method"] == METHOD and a["trained_on"] == 360 and set(a["nprobe"]) == KEYS
    names = {p.name for p in index._data.iterdir()}
    assert {f"lists-{i}.faiss" for i in range(5)} <= names and not any("ivf" in n for n in names)
    row = index.row_of("music/old/t007.wav")
    np.testing.assert_array_equal(np.asarray(index.vectors[row], np.float32), old_vectors[7])
    stored = np.asarray(index.vectors, np.float32)
    q = noisy(np.random.default_rng(6), stored, 40)
    truth, _ = brute_force(stored, q, ["bass"], 10)
    assert recall(index.search(q, focus="bass", k=10).rows, truth) >= 0.9


def test_add_to_format2_keeps_the_centroids(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    vecs = clustered(rng, 1200, clusters=30, noise=0.3, shared=False)
    index = Index.build([dump(vecs[:1000])], tmp_path / "ix", approximate=True)
    cols = slice(D, 2 * D)
    before = backend.centroids_of(index._index("lists", "1"), cols)
    index.add([dump(vecs[1000:], prefix="n")])
    assert len(index) == 1200 and index.manifest["approximate"]["trained_on"] == 1000
    np.testing.assert_array_equal(backend.centroids_of(index._index("lists", "1"), cols), before)
    stored = np.asarray(index.vectors, np.float32)
    q = noisy(rng, stored, 60)
    truth, _ = brute_force(stored, q, list(NAMES), 10)
    assert recall(index.search(q, k=10).rows, truth) >= 0.95


def test_newer_format_is_refused(tmp_path: Path) -> None:
    shutil.copytree(FORMAT1, tmp_path / "ix")
    m = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    m["format_version"] = FORMAT_VERSION + 1
    (tmp_path / "ix" / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(instsim.SearchIndexError, match=f"index format {FORMAT_VERSION + 1}.*"
                       f"reads format {FORMAT_VERSION} and older"):  # fmt: skip
        Index.open(tmp_path / "ix")


def test_unknown_approximate_method_is_refused(tmp_path: Path) -> None:
    shutil.copytree(FORMAT1, tmp_path / "ix")
    m = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    m["approximate"]["method"] = "hnsw"
    (tmp_path / "ix" / "manifest.json").write_text(json.dumps(m))
    index = Index.open(tmp_path / "ix")
    with pytest.raises(instsim.SearchIndexError, match="'hnsw' is unknown.*'ivf_subspace_sq8'"):
        index.search(np.ones(5 * D), k=3)
    assert len(index.search(np.ones(5 * D), k=3, exact=True).rows) == 3


def test_tiny_approximate_index(tmp_path: Path, capfd) -> None:
    """A dozen tracks: one list, nothing clustered, every track found."""
    vecs = normalised(np.random.default_rng(2).standard_normal((12, 5 * D)))
    index = Index.build([dump(vecs)], tmp_path / "ix", approximate=True)
    assert index.manifest["approximate"]["nlist"] == 1
    assert "WARNING" not in capfd.readouterr().err
    res, ex = index.search(vecs[:3], k=11), index.search(vecs[:3], k=11, exact=True)
    np.testing.assert_array_equal(res.rows, ex.rows)
