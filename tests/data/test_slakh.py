"""The ``slakh`` dataset plugin: layouts, the index built from the folder, mirdata, validation, CLI."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from instsim import registry
from instsim.errors import DatasetError
from instsim.plugins.datasets import Multitrack, MultitrackDataset, open_dataset
from instsim.plugins.datasets.slakh import SlakhDataset


def _mirdata_index_dir() -> Path:
    from mirdata.datasets import slakh as mslakh

    return Path(mslakh.INDEXES["2100-redux"].get_path()).parent


def _snapshot(d: Path) -> list[tuple[str, int]]:
    if not d.exists():
        return []
    return sorted((str(p), p.stat().st_mtime_ns) for p in d.rglob("*"))


@pytest.fixture
def corpus_copy(slakh_home: Path, tmp_path: Path) -> Path:
    """A private copy of the six-piece corpus (for tests that damage it)."""
    home = tmp_path / "home"
    shutil.copytree(slakh_home, home, ignore=shutil.ignore_patterns(".instsim"))
    return home


# -- the plugin -------------------------------------------------------------------------
def test_registered_under_instsim_datasets():
    assert "slakh" in registry.available("datasets")
    cls = registry.load("datasets", "slakh")
    assert cls is SlakhDataset and issubclass(cls, MultitrackDataset)


def test_lists_splits_and_tracks(slakh_home):
    ds = open_dataset("slakh", slakh_home)
    assert isinstance(ds, SlakhDataset)
    assert ds.version == "2100-redux" and ds.layout == "splits"
    assert ds.splits() == ["train", "validation", "test"]
    assert ds.track_ids() == [f"Track0000{i}" for i in range(1, 7)]
    assert ds.track_ids("train") == ["Track00001", "Track00002", "Track00003"]
    assert ds.track_ids("test") == ["Track00005", "Track00006"]
    assert len(ds) == 6 and "Track00004" in ds
    with pytest.raises(DatasetError, match="'omitted'.*valid: 'train', 'validation', 'test'"):
        ds.track_ids("omitted")
    with pytest.raises(DatasetError, match="no track 'Track09999'.*e.g. 'Track00001'"):
        ds.multitrack("Track09999")


def test_loads_through_mirdata(slakh_home):
    from mirdata.datasets import slakh as mslakh

    ds = SlakhDataset(slakh_home)
    assert isinstance(ds.mirdata, mslakh.Dataset)
    assert sorted(ds.mirdata.mtrack_ids) == ds.track_ids()
    mt = ds.multitrack("Track00001")
    assert isinstance(mt, Multitrack) and isinstance(mt.source, mslakh.MultiTrack)
    assert mt.split == "train" and mt.source.split == "train"
    assert mt.metadata["UUID"] == mt.source.uuid
    assert mt.metadata["overall_gain"] == 0.5
    assert Path(mt.mix_path).name == "mix.flac" and Path(mt.mix_path).is_file()
    # mirdata's Track objects, with mirdata's metadata properties
    track = ds.mirdata.track("Track00001-S01")
    assert track.program_number == 33 and track.instrument == "Bass"
    assert mt.stems["S01"].program == 33 and mt.stems["S01"].name == "Electric Bass (finger)"
    assert mt.stems["S00"].is_drum and mt.stems["S00"].group == "drums"
    assert mt.tempo == pytest.approx(120.0)
    assert sorted(mt.source.tracks) == [f"Track00001-S0{i}" for i in range(7)]


def test_stems_sum_to_the_mix(slakh_home):
    ds = SlakhDataset(slakh_home)
    for mt in ds.multitracks():
        mix = mt.load_mix(16000)
        groups = mt.load_groups(16000)
        assert groups.n_samples == mix.size
        np.testing.assert_allclose(groups.mix(), mix, atol=1e-4)


def test_data_home_can_be_the_corpus_folder_itself(slakh_home):
    a = SlakhDataset(slakh_home)
    b = SlakhDataset(slakh_home / "slakh2100_flac_redux")
    assert a.root == b.root
    assert a.track_ids("test") == b.track_ids("test")


def test_babyslakh_flat_layout_with_wav(fresh_corpus, slakh_kit):
    k = slakh_kit
    specs = [
        k.TrackSpec(f"Track0000{i}", None, k.FULL_STEMS[:4], seed=i, seconds=2.0) for i in (1, 2)
    ]
    root = fresh_corpus(specs, name="babyslakh_16k", fmt="wav")
    ds = SlakhDataset(root.parent)
    assert ds.version == "baby" and ds.layout == "flat"
    assert ds.splits() == [] and ds.track_ids() == ["Track00001", "Track00002"]
    with pytest.raises(DatasetError, match="no splits"):
        ds.track_ids("train")
    mt = ds.multitrack("Track00002")
    assert mt.split is None and mt.mix_path.endswith("mix.wav")
    np.testing.assert_allclose(mt.load_groups(16000).mix(), mt.load_mix(16000), atol=1e-5)
    report = ds.validate()
    assert report.ok and report.tracks_per_split == {"all": 2}


def test_any_folder_in_the_layout(fresh_corpus, slakh_kit):
    k = slakh_kit
    root = fresh_corpus(
        [
            k.TrackSpec("Track00010", "train", k.FULL_STEMS[:2]),
            k.TrackSpec("Track00011", "test", k.FULL_STEMS[1:3]),
        ],
        name="my_corpus",
    )
    ds = SlakhDataset(root)
    assert ds.version == "folder" and ds.splits() == ["train", "test"]


def test_version_must_fit_the_layout(slakh_home):
    with pytest.raises(DatasetError, match="version 'baby' expects track folders"):
        SlakhDataset(slakh_home, version="baby")
    with pytest.raises(DatasetError, match="unknown Slakh version 'v3'.*'2100-redux'"):
        SlakhDataset(slakh_home, version="v3")
    assert SlakhDataset(slakh_home, version="folder").version == "folder"


def test_not_a_slakh_folder(tmp_path):
    (tmp_path / "music").mkdir()
    (tmp_path / "music" / "song.flac").write_bytes(b"")
    with pytest.raises(DatasetError, match="no Slakh-layout folder"):
        SlakhDataset(tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        SlakhDataset(tmp_path / "nowhere")


# -- the index ----------------------------------------------------------------------------
def test_index_is_built_cached_and_handed_to_mirdata_in_code(corpus_copy, slakh_kit):
    mirdata_dir = _mirdata_index_dir()
    before = _snapshot(mirdata_dir)
    ds = SlakhDataset(corpus_copy)
    assert ds.index_source == "folder"
    assert ds.index_path == corpus_copy / ".instsim" / "slakh_index_slakh2100_flac_redux.json"
    assert ds.index_path.is_file()
    entry = ds.index["multitracks"]["Track00001"]
    assert entry["mix"] == ["slakh2100_flac_redux/train/Track00001/mix.flac", None]
    assert "Track00001-S06" in ds.index["tracks"]  # the unrendered stem has MIDI ...
    assert ds.index["tracks"]["Track00001-S06"]["audio"] == [None, None]  # ... but no audio
    again = SlakhDataset(corpus_copy)
    assert again.index_source == "cache" and again.index == ds.index
    # a new piece changes the folder: the index is rebuilt
    slakh_kit.write_track(
        corpus_copy / "slakh2100_flac_redux",
        slakh_kit.TrackSpec("Track00007", "test", slakh_kit.FULL_STEMS[:2]),
    )
    grown = SlakhDataset(corpus_copy)
    assert grown.index_source == "folder" and "Track00007" in grown.track_ids("test")
    assert _snapshot(mirdata_dir) == before  # nothing written into mirdata's package


def test_index_dir_option(slakh_home, tmp_path):
    ds = SlakhDataset(slakh_home, index_dir=tmp_path / "idx", rebuild_index=True)
    assert ds.index_path.parent == tmp_path / "idx" and ds.index_path.is_file()


def test_original_slakh2100_layout(fresh_corpus, slakh_kit):
    k = slakh_kit
    root = fresh_corpus(
        [
            k.TrackSpec("Track00001", "train", k.FULL_STEMS[:2]),
            k.TrackSpec("Track00002", "validation", k.FULL_STEMS[:2]),
        ],
        name="slakh2100_flac",
    )
    ds = SlakhDataset(root.parent)
    assert ds.version == "2100" and ds.splits() == ["train", "validation"]
    notes = ds.validate(check_audio=False).notes
    assert any("1500 train tracks, this copy has 1" in n for n in notes)


def test_official_index_is_used_when_present(corpus_copy, tmp_path, monkeypatch):
    from mirdata.datasets import slakh as mslakh

    built = SlakhDataset(corpus_copy, index="folder")
    built.validate(checksums=True)  # gives every entry an md5, like the published index
    official = dict(built.index)
    official.pop("instsim")
    path = tmp_path / "slakh_index_2100-redux.json"
    path.write_text(json.dumps(official), encoding="utf-8")
    monkeypatch.setattr(mslakh.INDEXES["2100-redux"], "get_path", lambda: str(path))
    ds = SlakhDataset(corpus_copy)
    assert ds.index_source == "official" and ds.index_path is None
    assert ds.track_ids() == built.track_ids()
    stem = corpus_copy / "slakh2100_flac_redux" / "train" / "Track00002" / "stems" / "S02.flac"
    stem.write_bytes(stem.read_bytes()[:-10] + bytes(10))
    report = ds.validate(checksums=True)
    assert report.invalid_checksums == [str(stem)]
    # version "folder" always indexes the folder itself
    assert (
        SlakhDataset(corpus_copy / "slakh2100_flac_redux", version="folder").index_source
        != "official"
    )


def test_official_index_is_required_on_request(slakh_home):
    from mirdata.datasets import slakh as mslakh

    if Path(mslakh.INDEXES["2100-redux"].get_path()).is_file():
        pytest.skip("mirdata's official index is installed here")
    with pytest.raises(DatasetError, match="official index"):
        SlakhDataset(slakh_home, index="official")


# -- validation -----------------------------------------------------------------------------
def test_complete_copy_validates(slakh_home):
    report = SlakhDataset(slakh_home).validate()
    assert report.ok, report.summary()
    assert report.tracks_per_split == {"train": 3, "validation": 1, "test": 2}
    assert report.group_counts == {"drums": 4, "bass": 5, "piano": 4, "guitar": 3, "others": 3}
    assert any("151 test tracks" in n for n in report.notes)  # named like the real release


def test_checksums_recorded_then_mirdata_validate_passes_then_catches_corruption(corpus_copy):
    ds = SlakhDataset(corpus_copy)
    first = ds.validate(checksums=True)
    assert first.ok and any("recorded md5 checksums" in n for n in first.notes)
    reopened = SlakhDataset(corpus_copy)
    assert reopened.index_source == "cache"
    assert all(
        v[1] for e in reopened.index["multitracks"].values() for k, v in e.items() if k == "mix"
    )
    missing, invalid = reopened.mirdata.validate(verbose=False)  # mirdata's own validator
    assert not any(missing.values()) and not any(invalid.values())
    # flip bytes in one stem: same name and size, so the cached index (with md5s) is reused
    stem = corpus_copy / "slakh2100_flac_redux" / "test" / "Track00005" / "stems" / "S01.flac"
    data = bytearray(stem.read_bytes())
    data[-100:] = bytes(100)
    stem.write_bytes(bytes(data))
    report = SlakhDataset(corpus_copy).validate(checksums=True)
    assert not report.ok and report.invalid_checksums == [str(stem)]


def test_missing_and_unreadable_files_are_listed(corpus_copy):
    root = corpus_copy / "slakh2100_flac_redux"
    gone = root / "train" / "Track00001" / "stems" / "S01.flac"
    gone.unlink()
    broken = root / "train" / "Track00002" / "stems" / "S00.flac"
    broken.write_bytes(b"this is not audio")
    (root / "test" / "Track00006" / "metadata.yaml").unlink()
    bad_midi = root / "validation" / "Track00004" / "all_src.mid"
    bad_midi.write_bytes(b"RIFF....")
    report = SlakhDataset(corpus_copy).validate()
    assert not report.ok
    assert str(gone) in report.missing
    assert str(root / "test" / "Track00006" / "metadata.yaml") in report.missing
    unreadable = dict(report.unreadable)
    assert str(broken) in unreadable and str(bad_midi) in unreadable
    assert "MThd" in unreadable[str(bad_midi)]
    assert report.tracks_per_split == {"train": 3, "validation": 1, "test": 1}


def test_unparsable_metadata_is_unreadable(corpus_copy):
    meta = corpus_copy / "slakh2100_flac_redux" / "train" / "Track00003" / "metadata.yaml"
    meta.write_text("stems: [unclosed", encoding="utf-8")
    ds = SlakhDataset(corpus_copy)
    assert "Track00003" not in ds.track_ids()
    report = ds.validate()
    assert [p for p, _ in report.unreadable] == [str(meta)]


# -- CLI ------------------------------------------------------------------------------------------
def _cli(*args: str):
    from instsim.cli import main

    return CliRunner().invoke(main, ["dataset", "check", *args])


def test_cli_check_ok(slakh_home):
    res = _cli("--dataset", "slakh", "--data-home", str(slakh_home))
    assert res.exit_code == 0, res.output
    assert "train        3" in res.output and "test         2" in res.output
    assert "bass         5" in res.output and "others       3" in res.output
    assert res.output.rstrip().endswith("OK")


def test_cli_check_missing_file_exits_1(corpus_copy):
    gone = corpus_copy / "slakh2100_flac_redux" / "test" / "Track00005" / "mix.flac"
    gone.unlink()
    res = _cli("--data-home", str(corpus_copy))
    assert res.exit_code == 1
    assert "missing files: 1" in res.output and str(gone) in res.output


def test_cli_check_unknown_dataset_exits_2(slakh_home):
    res = _cli("--dataset", "nosuch", "--data-home", str(slakh_home))
    assert res.exit_code == 2
    assert "nosuch" in res.output and "'slakh'" in res.output
    assert "Traceback" not in res.output


def test_cli_check_bad_version_exits_2_and_wrong_folder_exits_1(slakh_home, tmp_path):
    res = _cli("--data-home", str(slakh_home), "--version", "v9")
    assert res.exit_code == 2 and "2100-redux" in res.output
    res = _cli("--data-home", str(tmp_path))
    assert res.exit_code == 1 and "no Slakh-layout folder" in res.output


# -- the synthetic corpus ----------------------------------------------------------------------------
def test_synthetic_corpus_loads_validates_and_sums(tmp_path):
    from instsim.data.synth import synthesize_corpus

    out = tmp_path / "synth"
    synthesize_corpus(
        out, 3, seconds=4.0, seed=3, sample_rate=22050, split_fractions=(1 / 3, 1 / 3, 1 / 3)
    )
    ds = SlakhDataset(out)
    assert ds.splits() == ["train", "validation", "test"]
    report = ds.validate(checksums=True)
    assert report.ok, report.summary()
    missing, invalid = ds.mirdata.validate(verbose=False)
    assert not any(missing.values()) and not any(invalid.values())
    for mt in ds.multitracks():
        assert sum(bool(v) for v in mt.groups.values()) >= 2
        mix = mt.load_mix(22050)
        np.testing.assert_allclose(mt.load_groups(22050).mix(), mix, atol=1e-4)
    assert os.listdir(out / ".instsim")  # the index is cached inside the corpus folder


@pytest.mark.parametrize("name", registry.available("datasets"))
def test_every_dataset_plugin_honours_the_contract(name):
    cls = registry.load("datasets", name)
    assert isinstance(cls, type) and issubclass(cls, MultitrackDataset)
    assert cls.name == name and not cls.__abstractmethods__
    assert set(cls.instruments) == {"drums", "bass", "piano", "guitar", "others"}
