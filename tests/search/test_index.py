"""``instsim.Index``: exact results against numpy, focus, --add, model checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import instsim
from instsim.search import Index
from tests.search.conftest import NAMES, D, normalised, write_track


def brute_force(vecs: np.ndarray, q: np.ndarray, focus: list[str], k: int):
    per = np.einsum("njd,qjd->qnj", vecs.reshape(len(vecs), 5, D), q.reshape(len(q), 5, D))
    scores = per[..., [NAMES.index(f) for f in focus]].mean(-1)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(scores, order, 1)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("focus", [["bass"], ["drums", "piano"], list(NAMES)])
def test_exact_equals_numpy(dumps: Path, tmp_path: Path, rng, dtype: str, focus: list[str]) -> None:
    index = Index.build([dumps], tmp_path / "ix", dtype=dtype)
    assert len(index) == 60 and not index.approximate
    stored = np.asarray(index.vectors, np.float32)
    q = normalised(rng.standard_normal((7, 5 * D)))
    res = index.search(q, focus=focus, k=8)
    rows, scores = brute_force(stored, q, focus, 8)
    np.testing.assert_array_equal(res.rows, rows)
    np.testing.assert_allclose(res.scores, scores, atol=1e-6)
    for j, name in enumerate(NAMES):  # per-sub-space cosines, and the score is their mean
        want = np.einsum("qkd,qd->qk", stored.reshape(60, 5, D)[rows, j], q.reshape(7, 5, D)[:, j])
        np.testing.assert_allclose(res.per_subspace[name], want, atol=1e-6)
    assert res.paths[0, 0] == index.ids[rows[0, 0]]["path"]


def test_float32_storage_is_the_dump_vectors(dumps: Path, tmp_path: Path, vecs) -> None:
    index = Index.build([dumps], tmp_path / "ix", dtype="float32")
    order = [index.row_of(f"music/{'a' if i < 40 else 'b'}/t{i:02d}.wav") for i in range(60)]
    np.testing.assert_allclose(np.asarray(index.vectors)[order], vecs, atol=1e-6)


def test_focus_changes_the_ranking(tmp_path: Path, rng) -> None:
    """Two tracks share the query's bass, two others its drums: focus decides who wins."""
    base = normalised(rng.standard_normal((6, 5 * D)))
    q = base[0].copy()
    bass, drums = slice(D, 2 * D), slice(0, D)
    same_bass = base[1].copy()
    same_bass[bass] = q[bass]
    same_drums = base[2].copy()
    same_drums[drums] = q[drums]
    for i, v in enumerate([same_bass, same_drums, *base[3:]]):
        write_track(tmp_path / "f" / f"{i}.npz", v, f"song{i}.wav")
    index = Index.build([tmp_path / "f"], tmp_path / "ix")
    assert index.search(q, focus="bass", k=1).paths[0] == "song0.wav"
    assert index.search(q, focus="drums", k=1).paths[0] == "song1.wav"
    res = index.search(q, focus="bass", k=4)
    assert res.per_subspace["bass"][0] == pytest.approx(1.0, abs=1e-3)


def test_add_equals_fresh_build(dumps: Path, tmp_path: Path, vecs, rng) -> None:
    extra = tmp_path / "extra"
    write_track(
        extra / "new.npz", vecs[5] * 0 + normalised(rng.standard_normal(5 * D)), "music/new.wav"
    )
    write_track(extra / "again.npz", vecs[59], "music/a/t03.wav")  # t03 re-extracted: replaced
    index = Index.build([dumps], tmp_path / "ix")
    index.add([extra])
    fresh = Index.build([dumps, extra], tmp_path / "fresh")
    assert len(index) == len(fresh) == 61
    q = normalised(rng.standard_normal((5, 5 * D)))
    for focus in ("bass", None):
        a, b = index.search(q, focus=focus, k=10), fresh.search(q, focus=focus, k=10)
        np.testing.assert_array_equal(a.paths, b.paths)
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-6)
    row = index.row_of("music/a/t03.wav")
    np.testing.assert_allclose(np.asarray(index.vectors[row], np.float32), vecs[59], atol=1e-3)
    assert len(list((tmp_path / "ix").glob("gen-*"))) == 1  # the old generation is gone


def test_query_in_index_leaves_itself_out(dumps: Path, tmp_path: Path) -> None:
    index = Index.build([dumps], tmp_path / "ix")
    res = index.search("music/a/t07.wav", focus="bass", k=5)
    assert "music/a/t07.wav" not in list(res.paths) and len(res.paths) == 5
    res = index.search("music/a/t07.wav", focus="bass", k=5, include_self=True)
    assert res.paths[0] == "music/a/t07.wav" and res.scores[0] == pytest.approx(1.0, abs=1e-3)
    by_dump = index.search(str(dumps / "a/t07.wav.npz"), focus="bass", k=5)
    np.testing.assert_array_equal(
        by_dump.rows, index.search("music/a/t07.wav", focus="bass", k=5).rows
    )


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_exact_batch_equals_numpy(
    dumps: Path, tmp_path: Path, rng, dtype: str, monkeypatch
) -> None:
    """Batches of BATCH_MIN queries or more: the blocked numpy matmul, across several blocks."""
    from instsim.search import backend

    monkeypatch.setattr(backend, "_CHUNK", 7)  # 60 rows: nine blocks to merge
    index = Index.build([dumps], tmp_path / "ix", dtype=dtype)
    stored = np.asarray(index.vectors, np.float32)
    q = normalised(rng.standard_normal((backend.BATCH_MIN + 3, 5 * D)))
    for focus in (["guitar"], ["drums", "others"], list(NAMES)):
        res = index.search(q, focus=focus, k=9)
        rows, scores = brute_force(stored, q, focus, 9)
        np.testing.assert_array_equal(res.rows, rows)
        np.testing.assert_allclose(res.scores, scores, atol=1e-6)


def test_mismatched_models_are_refused(dumps: Path, tmp_path: Path, vecs) -> None:
    other = write_track(tmp_path / "o" / "x.npz", vecs[0], "x.wav", sha="b" * 64, model="other")
    with pytest.raises(instsim.ModelMismatchError, match="'other'.*'m'|'m'.*'other'"):
        Index.build([dumps, other], tmp_path / "ix")
    index = Index.build([dumps], tmp_path / "ix")
    with pytest.raises(instsim.ModelMismatchError, match="other"):
        index.add([other])
    with pytest.raises(instsim.ModelMismatchError, match="other"):
        index.search(str(other), focus="bass")
    names = ("drums", "bass", "piano", "guitar", "keys")
    odd = write_track(tmp_path / "n" / "y.npz", vecs[0], "y.wav", names=names)
    with pytest.raises(instsim.ModelMismatchError, match="keys"):
        Index.build([dumps, odd], tmp_path / "ix2")


def test_track_embedding_and_audio_query(tmp_path: Path) -> None:
    """An audio query is embedded with the index's model; another model is refused."""
    import soundfile as sf

    from instsim.batch import extract_batch
    from tests.conftest import SR, music

    (tmp_path / "music").mkdir()
    for i in range(3):
        sf.write(tmp_path / "music" / f"s{i}.wav", music(4.0, seed=i), SR)
    ext = instsim.Extractor.from_pretrained()
    extract_batch([str(tmp_path / "music")], str(tmp_path / "feat"), ext, workers=0)
    index = Index.build([tmp_path / "feat"], tmp_path / "ix")
    res = index.search(str(tmp_path / "music" / "s1.wav"), focus="bass", k=5, include_self=True)
    assert Path(res.paths[0]).name == "s1.wav" and res.scores[0] == pytest.approx(1.0, abs=1e-3)
    res = index.search(str(tmp_path / "music" / "s1.wav"), k=5)
    assert res.rows.shape == (5,) and (res.rows >= 0).sum() == 2 and (res.rows[2:] == -1).all()
    assert "s1.wav" not in [Path(p).name for p in res.paths]
    te = ext.embed_track(str(tmp_path / "music" / "s2.wav"))
    assert Path(index.search(te, k=1, include_self=True).paths[0]).name == "s2.wav"
    copy = tmp_path / "copy.wav"  # not indexed: embedded on the fly
    copy.write_bytes((tmp_path / "music" / "s1.wav").read_bytes())
    res = index.search(str(copy), focus="bass", k=1)
    assert Path(res.paths[0]).name == "s1.wav" and res.scores[0] == pytest.approx(1.0, abs=1e-3)
    other = instsim.Extractor.from_config({"backbone": "unet"}, seed=1)
    with pytest.raises(instsim.ModelMismatchError, match="index's model"):
        index.search(str(copy), extractor=other)
