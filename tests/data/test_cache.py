"""The memory-mapped cache of group signals."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from instsim.data.cache import GroupCache, cache_key
from instsim.data.pseudomix import TripletSampler, analyse_piece, render
from instsim.errors import DatasetError, UnknownInstrumentError
from instsim.instruments import INSTRUMENTS
from instsim.plugins.datasets.slakh import SlakhDataset

SR = 16000


@pytest.fixture(scope="module")
def dataset(slakh_home):
    return SlakhDataset(slakh_home)


@pytest.fixture(scope="module")
def cache32(dataset, tmp_path_factory):
    return GroupCache.build(
        dataset,
        tmp_path_factory.mktemp("cache"),
        SR,
        dtype="float32",
        workers=1,
        tempo_method="degara",
    )


def test_round_trip_equals_direct_decoding(dataset, cache32):
    assert cache32.track_ids() == dataset.track_ids()
    assert cache32.track_ids("test") == ["Track00005", "Track00006"]
    for tid in dataset.track_ids():
        direct = dataset.multitrack(tid).load_groups(SR)
        for g in INSTRUMENTS:
            cached = cache32.signal(tid, g)
            if direct.signals[g] is None:
                assert cached is None
                assert not (cache32.path / "tracks" / tid / f"{g}.npy").exists()
            else:
                assert isinstance(cached, np.memmap) and cached.dtype == np.float32
                np.testing.assert_array_equal(np.asarray(cached), direct.signals[g])


def test_piece_info_matches_direct_analysis(dataset, cache32):
    tid = "Track00001"
    direct = analyse_piece(
        tid, dataset.multitrack(tid).load_groups(SR), "train", tempo_method="degara"
    )
    info = cache32.info(tid)
    assert info.split == "train" and info.n_samples == 4 * SR
    assert info.tempo_bpm == direct.tempo_bpm
    assert info.first_onset_seconds == direct.first_onset_seconds
    assert {g: a.tolist() for g, a in info.activity.items()} == {
        g: a.tolist() for g, a in direct.activity.items()
    }
    # the rendered-but-silent guitar of Track00003 is not present
    assert cache32.info("Track00003").present["guitar"] is False


def test_float16_cache_and_process_pool(dataset, cache32, tmp_path):
    c16 = GroupCache.build(dataset, tmp_path, SR, dtype="float16", workers=2, tempo_method="degara")
    assert c16.path != cache32.path and c16.dtype == "float16"
    for tid in dataset.track_ids():
        for g in INSTRUMENTS:
            a, b = c16.signal(tid, g), cache32.signal(tid, g)
            assert (a is None) == (b is None)
            if a is not None:
                assert a.dtype == np.float16
                np.testing.assert_allclose(a.astype(np.float32), b, atol=2e-4)
        assert c16.info(tid).to_dict() == cache32.info(tid).to_dict()


def test_reopen_and_lookups(cache32):
    again = GroupCache(cache32.path)
    assert again.track_ids() == cache32.track_ids() and again.sample_rate == SR
    assert again.config["dataset"] == "slakh" and again.config["grouping_version"] == 1
    gs = again.signals("Track00002")
    assert gs.sample_rate == SR and gs.signal("piano") is None
    with pytest.raises(DatasetError, match="not in cache"):
        again.signal("Track09999", "bass")
    with pytest.raises(UnknownInstrumentError, match="vocals"):
        again.signal("Track00001", "vocals")
    with pytest.raises(DatasetError, match="no readable cache manifest"):
        GroupCache(cache32.path / "tracks")


def test_key_depends_on_rate_dtype_and_folder(dataset, slakh_home, fresh_corpus, slakh_kit):
    other = SlakhDataset(
        fresh_corpus([slakh_kit.TrackSpec("Track00001", "train", slakh_kit.FULL_STEMS[:2])])
    )
    keys = {
        cache_key(dataset, 16000),
        cache_key(dataset, 22050),
        cache_key(dataset, 16000, "float32"),
        cache_key(other, 16000),
    }
    assert len(keys) == 4
    assert cache_key(dataset, 16000) == cache_key(SlakhDataset(slakh_home), 16000)


def test_incremental_build_and_new_grid(slakh_home, tmp_path, monkeypatch):
    ds = SlakhDataset(slakh_home)
    first = GroupCache.build(ds, tmp_path, SR, split="test", workers=1, tempo_method="degara")
    assert first.track_ids() == ["Track00005", "Track00006"]
    npy = first.path / "tracks" / "Track00005" / "bass.npy"
    stamp = npy.stat().st_mtime_ns

    import instsim.data.cache as cache_mod

    built = []
    real = cache_mod._build_one
    monkeypatch.setattr(
        cache_mod, "_build_one", lambda job: built.append(job["track_id"]) or real(job)
    )
    both = GroupCache.build(ds, tmp_path, SR, split="validation", workers=1, tempo_method="degara")
    assert built == ["Track00004"]  # only the new piece is decoded
    assert both.track_ids() == ["Track00004", "Track00005", "Track00006"]
    assert npy.stat().st_mtime_ns == stamp

    built.clear()
    regrid = GroupCache.build(ds, tmp_path, SR, split="test", hop_seconds=0.5, workers=1)
    assert built == []  # a new grid is computed from the cached signals
    info = regrid.info("Track00005")
    assert info.hop_seconds == 0.5 and info.n_segments == 3  # 4 s: segments at 0, 0.5, 1.0
    assert info.tempo_bpm == first.info("Track00005").tempo_bpm


def test_broken_piece_raises_or_is_skipped(slakh_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(slakh_home, home, ignore=shutil.ignore_patterns(".instsim"))
    bad = home / "slakh2100_flac_redux" / "test" / "Track00006" / "stems" / "S01.flac"
    bad.write_bytes(b"garbage")
    ds = SlakhDataset(home)
    with pytest.raises(DatasetError, match="caching track 'Track00006' failed"):
        GroupCache.build(ds, tmp_path / "c1", SR, split="test", workers=1, tempo_method="degara")
    c = GroupCache.build(
        ds, tmp_path / "c2", SR, split="test", workers=1, on_error="skip", tempo_method="degara"
    )
    assert c.track_ids() == ["Track00005"] and "Track00006" in c.failed
    manifest = json.loads((c.path / "manifest.json").read_text())
    assert "cannot decode" in manifest["failed"]["Track00006"]


def test_triplets_render_from_the_cache(cache32):
    # the tiny pieces are too short for a reliable tempo: one wide bin holds them all
    s = TripletSampler(cache32.pieces(), bin_bpm=1000.0, seed=0)
    triplets = s.sample("bass")
    for t in triplets:
        a, p, n = t.render(cache32)
        assert a.shape == p.shape == n.shape == (3 * SR,)
        assert a.dtype == np.float32 and np.abs(a).max() > 0
    anchor = triplets[0].anchor.parts[0]
    start = round(anchor.offset_seconds * SR)
    expected = cache32.signals(anchor.track_id).mix()[start : start + 3 * SR]
    np.testing.assert_allclose(render(triplets[0].anchor, cache32), expected, atol=1e-6)
