"""build_set: the real-audio check's grids and manifest, on stand-in recordings."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from instsim.errors import AudioDecodeError, ConfigError, DatasetError, UnknownInstrumentError
from instsim.evaluate.realset import build_set, load_manifest
from instsim.evaluate.realsources import CATALOGUE, PACKAGES, RealSource

from .conftest import make_sources


def test_every_mix_has_partners_sharing_its_stem_and_its_rest(stand_in_sources, tmp_path) -> None:
    m = build_set(tmp_path / "set", sources=stand_in_sources, draws=2, n_stems=3, n_rests=4,
                  seconds=3.0)  # fmt: skip
    by_id = {s.id: s for s in stand_in_sources}
    for d in range(2):
        for focus in ("drums", "bass", "piano", "guitar"):
            mixes = [x for x in m["mixes"] if x["draw"] == d and x["focus"] == focus]
            n_stems = 2 if focus == "piano" else 3  # only two piano recordings exist
            assert len(mixes) == n_stems * 4
            stems = Counter(x["stem"] for x in mixes)
            rests = Counter(x["rest_id"] for x in mixes)
            assert set(stems.values()) == {4} and set(rests.values()) == {n_stems}
            for x in mixes:
                assert by_id[x["stem"]].instrument == focus
                insts = [by_id[r].instrument for r in x["rest"]]
                assert focus not in insts and len(set(insts)) == 2
                assert ("drums" in insts) == (focus != "drums")
                assert x["rest_id"] == "+".join(x["rest"])


def test_mix_files_and_manifest_on_disk(stand_in_sources, tmp_path) -> None:
    out = tmp_path / "set"
    m = build_set(out, sources=stand_in_sources, focus=["drums"], draws=1, n_stems=2,
                  n_rests=2, seconds=4.0, sample_rate=16000)  # fmt: skip
    assert json.loads((out / "manifest.json").read_text()) == m
    assert load_manifest(out) == m
    for x in m["mixes"]:
        y, sr = sf.read(out / x["file"])
        assert sr == 16000 and len(y) == 64000
        assert 0.85 < np.abs(y).max() <= 0.9 + 1e-3
        assert len(x["gains_db"]) == 3 and all(abs(g) <= 3 for g in x["gains_db"])
    assert m["settings"]["seconds"] == 4.0 and m["settings"]["focus"] == ["drums"]


def test_licences_and_origins_are_recorded(stand_in_sources, tmp_path) -> None:
    m = build_set(tmp_path / "set", sources=stand_in_sources, focus=["guitar"], draws=1,
                  n_stems=2, n_rests=2, seconds=3.0)  # fmt: skip
    used = {x["stem"] for x in m["mixes"]} | {r for x in m["mixes"] for r in x["rest"]}
    assert set(m["sources"]) == used
    for info in m["sources"].values():
        assert info["licence"] == "CC0-1.0" and info["package"] == "test-pkg"
        assert Path(info["path"]).is_file()
    assert m["packages"] == {}  # stand-ins come from no catalogued package


def test_same_seed_same_set_other_seed_other_set(stand_in_sources, tmp_path) -> None:
    kw = dict(sources=stand_in_sources, focus=["bass"], draws=1, n_stems=2, n_rests=3, seconds=3.0)
    a = build_set(tmp_path / "a", seed=5, **kw)
    b = build_set(tmp_path / "b", seed=5, **kw)
    c = build_set(tmp_path / "c", seed=6, **kw)
    assert a["mixes"] == b["mixes"]
    assert a["mixes"] != c["mixes"]


def test_one_member_per_family_among_the_stems(tmp_path) -> None:
    srcs = make_sources(tmp_path / "src", {"drums": 4, "bass": 2, "others": 2}, seconds=1.0)
    # drums0..2 are one performance cut three ways: at most one of them per grid
    srcs = [
        RealSource(s.id, s.path, s.instrument, s.package, s.licence, family="break")
        if s.id in ("test:drums0", "test:drums1", "test:drums2") else s
        for s in srcs
    ]  # fmt: skip
    for seed in range(5):
        m = build_set(tmp_path / f"s{seed}", sources=srcs, focus=["drums"], draws=1,
                      n_stems=4, n_rests=2, seconds=3.0, seed=seed)  # fmt: skip
        stems = {x["stem"] for x in m["mixes"]}
        assert len(stems) == 2 and "test:drums3" in stems


def test_bad_options_are_named(stand_in_sources, tmp_path) -> None:
    kw = dict(sources=stand_in_sources, draws=1, n_stems=2, n_rests=2, seconds=3.0)
    with pytest.raises(UnknownInstrumentError, match="vocals"):
        build_set(tmp_path / "x", **{**kw, "focus": ["vocals"]})
    with pytest.raises(UnknownInstrumentError, match="others"):
        build_set(tmp_path / "x", **{**kw, "focus": ["others"]})
    with pytest.raises(ConfigError, match="n_stems"):
        build_set(tmp_path / "x", **{**kw, "n_stems": 1})
    with pytest.raises(ConfigError, match="draws"):
        build_set(tmp_path / "x", **{**kw, "draws": 0})
    with pytest.raises(ConfigError, match="seconds"):
        build_set(tmp_path / "x", **{**kw, "seconds": 2.0})
    with pytest.raises(ConfigError, match="gain_db"):
        build_set(tmp_path / "x", **{**kw, "gain_db": -1.0})
    with pytest.raises(DatasetError, match="rests"):
        build_set(tmp_path / "x", **{**kw, "n_rests": 500})


def test_missing_or_scarce_sources(stand_in_sources, tmp_path) -> None:
    with pytest.raises(DatasetError, match="apt-get install sonic-pi-samples lmms-common"):
        build_set(tmp_path / "x", sources=[])
    few = [s for s in stand_in_sources if s.id != "test:piano1"]
    with pytest.raises(DatasetError, match="focus 'piano': 1 source family"):
        build_set(tmp_path / "x", sources=few, draws=1, n_stems=2, n_rests=2, seconds=3.0)
    gone = [*stand_in_sources[1:], RealSource("test:gone", str(tmp_path / "gone.wav"), "drums",
                                              "test-pkg", "CC0-1.0")]  # fmt: skip
    with pytest.raises(AudioDecodeError, match="gone.wav"):
        build_set(tmp_path / "y", sources=gone, focus=["drums"], draws=2, n_stems=3, n_rests=2,
                  seconds=3.0)  # fmt: skip


def test_a_silent_source_is_named(stand_in_sources, tmp_path) -> None:
    p = tmp_path / "silent.wav"
    sf.write(p, np.zeros(22050, dtype=np.float32), 22050)
    srcs = [s for s in stand_in_sources if s.instrument != "guitar"]
    srcs.append(RealSource("test:silent", str(p), "guitar", "test-pkg", "CC0-1.0"))
    srcs.append(stand_in_sources[[s.instrument for s in stand_in_sources].index("guitar")])
    with pytest.raises(DatasetError, match="test:silent"):
        build_set(tmp_path / "x", sources=srcs, focus=["guitar"], draws=1, n_stems=2, n_rests=2,
                  seconds=3.0)  # fmt: skip


def test_an_existing_set_is_not_overwritten_silently(stand_in_sources, tmp_path) -> None:
    kw = dict(sources=stand_in_sources, focus=["drums"], draws=1, n_stems=2, n_rests=2,
              seconds=3.0)  # fmt: skip
    build_set(tmp_path / "set", **kw)
    with pytest.raises(DatasetError, match="--overwrite"):
        build_set(tmp_path / "set", **kw)
    build_set(tmp_path / "set", overwrite=True, **kw)


def test_load_manifest_errors(stand_in_sources, tmp_path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not readable JSON"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format_version": 99}')
    with pytest.raises(DatasetError, match="format 1"):
        load_manifest(tmp_path)
    m = build_set(tmp_path / "set", sources=stand_in_sources, focus=["drums"], draws=1,
                  n_stems=2, n_rests=2, seconds=3.0)  # fmt: skip
    (tmp_path / "set" / m["mixes"][0]["file"]).unlink()
    with pytest.raises(DatasetError, match="missing"):
        load_manifest(tmp_path / "set")


def test_catalogue_is_well_formed() -> None:
    ids = [s.id for s in CATALOGUE]
    assert len(ids) == len(set(ids))
    for s in CATALOGUE:
        assert s.package in PACKAGES and s.licence == PACKAGES[s.package].licence
        assert s.path.startswith(PACKAGES[s.package].root + "/")
        assert s.instrument in ("drums", "bass", "piano", "guitar", "others")
        assert s.kind in ("recording", "electronic")
    for inst in ("drums", "bass", "piano", "guitar"):
        assert len({s.family_key for s in CATALOGUE if s.instrument == inst}) >= 4, inst


def test_rests_without_drums_on_request(stand_in_sources, tmp_path) -> None:
    m = build_set(tmp_path / "set", sources=stand_in_sources, focus=["guitar", "drums"], draws=1,
                  n_stems=2, n_rests=3, seconds=3.0, drums_in_rest=False)  # fmt: skip
    by_id = {s.id: s for s in stand_in_sources}
    for x in m["mixes"]:
        insts = [by_id[r].instrument for r in x["rest"]]
        assert "drums" not in insts and x["focus"] not in insts and len(set(insts)) == 2
    assert m["settings"]["drums_in_rest"] is False
