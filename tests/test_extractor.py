"""Extractor and instsim.embed: shapes, normalisation, focus, batching, determinism, many files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import instsim
from instsim import Extractor
from instsim.errors import SilentAudioError, UnknownInstrumentError
from instsim.extractor import TrackResult, normalize_subspaces
from tests.conftest import SR, music


def test_track_vector_shape_dtype_and_subspace_norms(extractor: Extractor) -> None:
    v = extractor.embed(music(7.0), SR)
    assert v.shape == (640,) and v.dtype == np.float32
    norms = np.linalg.norm(v.reshape(5, 128), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_instruments_order() -> None:
    assert instsim.INSTRUMENTS == ("drums", "bass", "piano", "guitar", "others")


def test_focus_is_the_matching_slice(extractor: Extractor) -> None:
    y = music(6.0, seed=3)
    full = extractor.embed(y, SR)
    for i, name in enumerate(instsim.INSTRUMENTS):
        np.testing.assert_array_equal(
            extractor.embed(y, SR, focus=name), full[i * 128 : (i + 1) * 128]
        )
    both = extractor.embed(y, SR, focus=["guitar", "drums"])
    np.testing.assert_array_equal(both, np.concatenate([full[384:512], full[0:128]]))


def test_segments_and_timestamps(extractor: Extractor) -> None:
    te = extractor.embed_track(music(7.0), SR)
    # 3 s segments every 1.5 s over 7 s: starts 0, 1.5, 3.0, 4.0? -> 0, 1.5, 3.0 (4.5 + 3 > 7)
    np.testing.assert_allclose(te.timestamps, [[0, 3], [1.5, 4.5], [3.0, 6.0]])
    assert te.raw.shape == (3, 640) and te.duration == pytest.approx(7.0)
    seg = extractor.embed(music(7.0), SR, aggregate=None)
    assert seg.shape == (3, 640) and seg.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(seg.reshape(3, 5, 128), axis=2), 1.0, atol=1e-5)
    assert extractor.embed(music(7.0), SR, aggregate=None, focus="bass").shape == (3, 128)


def test_custom_segment_and_hop(extractor: Extractor) -> None:
    te = extractor.embed_track(music(12.0), SR, segment_seconds=10.0, hop_seconds=1.0)
    np.testing.assert_allclose(te.timestamps[:, 0], [0, 1, 2])
    assert te.raw.shape == (3, 640)


def test_track_vector_is_mean_of_non_silent_segments(extractor: Extractor) -> None:
    y = np.concatenate([music(6.0, seed=4), np.zeros(6 * SR, dtype=np.float32)])
    te = extractor.embed_track(y, SR)
    assert te.silent.any() and not te.silent.all()
    expected = normalize_subspaces(te.raw[~te.silent].mean(axis=0)[None], 5)[0]
    np.testing.assert_allclose(te.vector(), expected, atol=1e-6)


def test_batch_size_does_not_change_results(extractor: Extractor, song_files: list[Path]) -> None:
    r1 = [r.embedding.raw for r in extractor.embed_files(song_files, batch_size=1)]
    r32 = [r.embedding.raw for r in extractor.embed_files(song_files, batch_size=32)]
    for a, b in zip(r1, r32):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)


def test_two_runs_identical(extractor: Extractor, song_files: list[Path]) -> None:
    a = extractor.embed(song_files[0])
    b = extractor.embed(song_files[0])
    np.testing.assert_array_equal(a, b)


def test_many_files_in_order_with_progress(extractor: Extractor, song_files: list[Path]) -> None:
    seen: list[TrackResult] = []
    results = list(extractor.embed_files(song_files * 2, batch_size=4, progress=seen.append))
    assert [r.index for r in results] == list(range(6))
    assert [r.source for r in results] == [str(p) for p in song_files * 2]
    assert len(seen) == 6 and all(r.ok for r in results)
    # each file alone gives the same embedding as in the mixed batches
    for r in results[:3]:
        alone = extractor.embed_track(r.source)
        np.testing.assert_allclose(alone.raw, r.embedding.raw, atol=1e-4, rtol=1e-4)


def test_file_equals_array_input(extractor: Extractor, tmp_path: Path) -> None:
    y = music(5.0, seed=7)
    p = tmp_path / "a.wav"
    sf.write(p, y, SR, subtype="FLOAT")
    np.testing.assert_allclose(extractor.embed(p), extractor.embed(y, SR), atol=1e-5)


def test_short_clip_is_padded(extractor: Extractor) -> None:
    te = extractor.embed_track(music(1.0), SR)
    assert te.raw.shape == (1, 640)
    np.testing.assert_allclose(te.timestamps, [[0.0, 1.0]])
    assert extractor.embed(music(0.2), SR).shape == (640,)


def test_silent_input_raises(extractor: Extractor) -> None:
    with pytest.raises(SilentAudioError, match="silent"):
        extractor.embed(np.zeros(5 * SR, dtype=np.float32), SR)


def test_errors_can_be_returned_per_file(
    extractor: Extractor, song_files: list[Path], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    res = list(extractor.embed_files([song_files[0], bad, song_files[1]], on_error="return"))
    assert [r.ok for r in res] == [True, False, True]
    assert str(bad) in str(res[1].error)


def test_similarity(extractor: Extractor) -> None:
    a = extractor.embed(music(6.0, seed=1), SR)
    b = extractor.embed(music(6.0, seed=2), SR)
    assert extractor.similarity(a, a) == pytest.approx(1.0, abs=1e-5)
    s = extractor.similarity(a, b, focus="drums")
    assert -1.0 <= s <= 1.0
    assert s == pytest.approx(float(a[:128] @ b[:128]), abs=1e-5)
    # focused inputs work too
    assert extractor.similarity(a[:128], b[:128], focus="drums") == pytest.approx(s, abs=1e-6)
    both = extractor.similarity(a, b, focus=["drums", "bass"])
    assert both == pytest.approx(
        (float(a[:128] @ b[:128]) + float(a[128:256] @ b[128:256])) / 2, abs=1e-5
    )
    mat = extractor.similarity(np.stack([a, b]), np.stack([a, b, a]), focus="piano")
    assert mat.shape == (2, 3)


def test_unknown_focus_lists_instruments(extractor: Extractor) -> None:
    with pytest.raises(UnknownInstrumentError) as err:
        extractor.embed(music(3.0), SR, focus="vocals")
    assert "'vocals'" in str(err.value) and "'drums'" in str(err.value)


def test_module_level_embed(untrained_model_dir: Path, song_files: list[Path]) -> None:
    v = instsim.embed(song_files[0], focus="bass", model=untrained_model_dir)
    assert v.shape == (128,) and v.dtype == np.float32
    seg = instsim.embed(song_files[0], aggregate=None, model=untrained_model_dir)
    assert seg.ndim == 2 and seg.shape[1] == 640
    ext = Extractor.from_pretrained(untrained_model_dir)
    np.testing.assert_allclose(instsim.embed(song_files[0], model=ext), ext.embed(song_files[0]))


def test_from_config_defaults_and_seed() -> None:
    a = Extractor.from_config({"backbone": "unet"}, seed=3)
    b = Extractor.from_config({"backbone": "unet"}, seed=3)
    assert a.embedding_dim == 640 and a.sample_rate == 22050
    y = music(3.0)
    np.testing.assert_array_equal(a.embed(y, SR), b.embed(y, SR))


def test_save_then_load_gives_same_embeddings(tmp_path: Path) -> None:
    a = Extractor.from_config({"backbone": "fcn", "instruments": ["bass"], "subspace_dim": 32})
    a.save_pretrained(tmp_path)
    b = Extractor.from_pretrained(tmp_path)
    y = music(4.0)
    np.testing.assert_array_equal(a.embed(y, SR), b.embed(y, SR))
    assert b.instruments == ("bass",) and b.embed(y, SR).shape == (32,)
