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
    v = extractor.embed(music(7.0), sr=SR)
    assert v.shape == (640,) and v.dtype == np.float32
    norms = np.linalg.norm(v.reshape(5, 128), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_instruments_order() -> None:
    assert instsim.INSTRUMENTS == ("drums", "bass", "piano", "guitar", "others")


def test_focus_is_the_matching_slice(extractor: Extractor) -> None:
    y = music(6.0, seed=3)
    full = extractor.embed(y, sr=SR)
    for i, name in enumerate(instsim.INSTRUMENTS):
        np.testing.assert_array_equal(
            extractor.embed(y, sr=SR, focus=name), full[i * 128 : (i + 1) * 128]
        )
    both = extractor.embed(y, sr=SR, focus=["guitar", "drums"])
    np.testing.assert_array_equal(both, np.concatenate([full[384:512], full[0:128]]))


def test_segments_and_timestamps(extractor: Extractor) -> None:
    te = extractor.embed_track(music(7.0), sr=SR)
    # 3 s segments every 1.5 s over 7 s: starts 0, 1.5, 3.0, 4.0? -> 0, 1.5, 3.0 (4.5 + 3 > 7)
    np.testing.assert_allclose(te.timestamps, [[0, 3], [1.5, 4.5], [3.0, 6.0]])
    assert te.raw.shape == (3, 640) and te.duration == pytest.approx(7.0)
    seg = extractor.embed(music(7.0), sr=SR, aggregate=None)
    assert seg.shape == (3, 640) and seg.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(seg.reshape(3, 5, 128), axis=2), 1.0, atol=1e-5)
    assert extractor.embed(music(7.0), sr=SR, aggregate=None, focus="bass").shape == (3, 128)


def test_custom_segment_and_hop(extractor: Extractor) -> None:
    te = extractor.embed_track(music(12.0), sr=SR, segment_seconds=10.0, hop_seconds=1.0)
    np.testing.assert_allclose(te.timestamps[:, 0], [0, 1, 2])
    assert te.raw.shape == (3, 640)


def test_track_vector_is_mean_of_non_silent_segments(extractor: Extractor) -> None:
    y = np.concatenate([music(6.0, seed=4), np.zeros(6 * SR, dtype=np.float32)])
    te = extractor.embed_track(y, sr=SR)
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
    np.testing.assert_allclose(extractor.embed(p), extractor.embed(y, sr=SR), atol=1e-5)


def test_short_clip_is_padded(extractor: Extractor) -> None:
    te = extractor.embed_track(music(1.0), sr=SR)
    assert te.raw.shape == (1, 640)
    np.testing.assert_allclose(te.timestamps, [[0.0, 1.0]])
    assert extractor.embed(music(0.2), sr=SR).shape == (640,)


def test_silent_input_raises(extractor: Extractor) -> None:
    with pytest.raises(SilentAudioError, match="silent"):
        extractor.embed(np.zeros(5 * SR, dtype=np.float32), sr=SR)


def test_errors_can_be_returned_per_file(
    extractor: Extractor, song_files: list[Path], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    res = list(extractor.embed_files([song_files[0], bad, song_files[1]], on_error="return"))
    assert [r.ok for r in res] == [True, False, True]
    assert str(bad) in str(res[1].error)


def test_similarity(extractor: Extractor) -> None:
    a = extractor.embed(music(6.0, seed=1), sr=SR)
    b = extractor.embed(music(6.0, seed=2), sr=SR)
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
        extractor.embed(music(3.0), sr=SR, focus="vocals")
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
    np.testing.assert_array_equal(a.embed(y, sr=SR), b.embed(y, sr=SR))


def test_save_then_load_gives_same_embeddings(tmp_path: Path) -> None:
    a = Extractor.from_config({"backbone": "fcn", "instruments": ["bass"], "subspace_dim": 32})
    a.save_pretrained(tmp_path)
    b = Extractor.from_pretrained(tmp_path)
    y = music(4.0)
    np.testing.assert_array_equal(a.embed(y, sr=SR), b.embed(y, sr=SR))
    assert b.instruments == ("bass",) and b.embed(y, sr=SR).shape == (32,)


# ---- one signature for every embedding call ------------------------------------------------
EMBED_CALLS = ("embed", "embed_track", "embed_files")


def test_only_the_audio_is_positional_and_names_agree() -> None:
    import inspect

    sigs = {name: inspect.signature(getattr(Extractor, name)) for name in EMBED_CALLS}
    sigs["instsim.embed"] = inspect.signature(instsim.embed)
    shared = ["focus", "aggregate", "sr", "segment_seconds", "hop_seconds", "batch_size"]
    for name, sig in sigs.items():
        params = [p for p in sig.parameters.values() if p.name != "self"]
        assert params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, name
        rest = params[1:]
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in rest), name
        names = [p.name for p in rest if p.name in shared]
        assert names == [n for n in shared if n in names], name  # same relative order
        for p in rest:
            if p.name in ("segment_seconds", "hop_seconds", "sr"):
                assert p.default is None, (name, p.name)  # None: the model's config / a file


def test_positional_misuse_is_a_type_error(extractor: Extractor, song_files: list[Path]) -> None:
    f = song_files[0]
    with pytest.raises(TypeError):
        extractor.embed(f, "bass")  # would have been taken as the sample rate
    with pytest.raises(TypeError):
        extractor.embed_track(music(3.0), SR)
    with pytest.raises(TypeError):
        extractor.embed_files([f], 32)
    with pytest.raises(TypeError):
        instsim.embed(f, "bass", model=extractor)


def test_sr_with_a_file_is_refused(extractor: Extractor, song_files: list[Path]) -> None:
    f = song_files[0]
    calls = [
        lambda: extractor.embed(f, sr=SR),
        lambda: extractor.embed_track(f, sr=44100),
        lambda: instsim.embed(f, sr=SR, model=extractor),
        lambda: extractor.embed_files([f, song_files[1]], sr=SR),
    ]
    for call in calls:
        with pytest.raises(instsim.ConfigError, match=rf"'sr'.*{f.name}.*own sample rate"):
            call()


def test_bad_arguments_fail_at_the_call_before_any_work(extractor: Extractor) -> None:
    for kwargs, field in (
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"workers": -1}, "workers"),
        ({"on_error": "ignore"}, "on_error"),
        ({"hop_seconds": float("nan")}, "hop_seconds"),
        ({"sr": 0}, "sr"),
    ):
        with pytest.raises(instsim.ConfigError, match=repr(field)):
            extractor.embed_files(iter(()), **kwargs)  # no next(): refused at the call
    with pytest.raises(instsim.ConfigError, match="'audio'.*list"):
        extractor.embed([0.0, 0.1], sr=SR)


def test_module_embed_uses_the_models_segmentation(tmp_path: Path, song_files: list[Path]) -> None:
    d = tmp_path / "m"
    cfg = {"backbone": "fcn", "subspace_dim": 8, "segment_seconds": 2.0, "hop_seconds": 2.0}
    Extractor.from_config(cfg).save_pretrained(d)
    seg = instsim.embed(song_files[0], aggregate=None, model=d)  # a 7 s song
    assert seg.shape == (3, 40)  # 0-2, 2-4, 4-6 s: the model's 2 s / 2 s, not 3 s / 1.5 s
    ext = Extractor.from_pretrained(d)
    np.testing.assert_allclose(ext.embed_track(song_files[0]).timestamps[:, 0], [0.0, 2.0, 4.0])
    assert instsim.embed(song_files[0], aggregate=None, model=d, hop_seconds=1.0).shape[0] == 6


# ---- the public surface batch extraction uses ------------------------------------------------
def test_resolve_focus_and_segmentation(extractor: Extractor) -> None:
    assert extractor.resolve_focus(None) == list(instsim.INSTRUMENTS)
    assert extractor.resolve_focus(["guitar", "bass"]) == ["guitar", "bass"]
    with pytest.raises(UnknownInstrumentError, match="'kazoo'"):
        extractor.resolve_focus("kazoo")
    seg = extractor.segmentation()
    assert (seg.segment_seconds, seg.hop_seconds, seg.length, seg.hop) == (3.0, 1.5, 66150, 33075)
    assert extractor.segmentation(hop_seconds=1).hop == 22050
    with pytest.raises(instsim.ConfigError, match="'segment_seconds'"):
        extractor.segmentation(segment_seconds=-3)


def test_pad_batches_is_an_argument_not_shared_state(
    extractor: Extractor, song_files: list[Path]
) -> None:
    f0, f1 = song_files[0], song_files[1]
    alone = next(extractor.embed_files([f0], batch_size=8, pad_batches=True))
    *_, shared = extractor.embed_files([f1, f0], batch_size=8, pad_batches=True)
    np.testing.assert_array_equal(alone.embedding.raw, shared.embedding.raw)  # bit-identical
    assert not hasattr(extractor, "_pad_batches")


# ---- quiet music is music ------------------------------------------------------------------
def test_a_quiet_recording_embeds_like_a_loud_one(extractor: Extractor, tmp_path: Path) -> None:
    loud = music(6.0, seed=3)
    quiet = loud / np.abs(loud).max() * 10 ** (-52 / 20)  # peak -52 dBFS
    rms = 20 * np.log10(np.sqrt(np.mean(quiet.astype(np.float64) ** 2)))
    assert -75 < rms < -62  # about -70 dBFS: refused by the old absolute -60 dBFS gate
    sf.write(tmp_path / "quiet.wav", quiet, SR, subtype="PCM_24")
    sf.write(tmp_path / "loud.wav", loud, SR, subtype="PCM_24")
    q = extractor.embed_track(tmp_path / "quiet.wav")
    lo = extractor.embed_track(tmp_path / "loud.wav")
    assert not q.silent.any()
    np.testing.assert_array_equal(q.silent, lo.silent)
    assert q.rms_db is not None and q.rms_db.max() < -55
    np.testing.assert_allclose(q.rms_db - lo.rms_db, q.rms_db[0] - lo.rms_db[0], atol=0.1)


def test_silence_inside_a_track_is_left_out(extractor: Extractor) -> None:
    y = np.concatenate([music(6.0), np.zeros(6 * SR, dtype=np.float32)]) * 10 ** (-40 / 20)
    te = extractor.embed_track(y.astype(np.float32), sr=SR)
    starts = te.timestamps[:, 0]
    assert not te.silent[starts + 3.0 <= 6.0].any()  # the music, however quiet
    assert te.silent[starts >= 6.0].all()  # the digital silence after it
