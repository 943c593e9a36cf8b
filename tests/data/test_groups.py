"""Instrument grouping by Slakh's recipe, and per-segment silence."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from instsim.data.groups import (
    GroupSignals,
    active_fractions,
    group_of,
    n_segments,
    passes_test_filter,
    segment_activity,
)
from instsim.errors import UnknownInstrumentError
from instsim.instruments import INSTRUMENTS
from instsim.segments import segment_rms_db, segment_stream

SR = 16000


@pytest.mark.parametrize(
    ("program", "is_drum", "group"),
    [
        (128, True, "drums"),
        (0, True, "drums"),  # the drum flag wins over the program
        (33, False, "bass"),
        (32, False, "bass"),
        (39, False, "bass"),
        (0, False, "piano"),
        (7, False, "piano"),
        (25, False, "guitar"),
        (24, False, "guitar"),
        (31, False, "guitar"),
        (48, False, "others"),  # strings
        (61, False, "others"),  # brass
        (8, False, "others"),  # celesta: chromatic percussion, not piano
        (23, False, "others"),  # tango accordion, just below the guitars
        (40, False, "others"),  # violin, just above the basses
        (None, False, "others"),
    ],
)
def test_group_of_follows_the_slakh_recipe(program, is_drum, group):
    assert group_of(program, is_drum) == group


def test_handwritten_metadata_maps_to_groups(slakh_home):
    """Drum, bass 33, piano 0, guitar 25, strings 48 + brass 61 -> others; unrendered stem ignored."""
    from instsim.plugins.datasets.slakh import SlakhDataset

    mt = SlakhDataset(slakh_home).multitrack("Track00001")
    assert mt.groups == {
        "drums": ["S00"],
        "bass": ["S01"],
        "piano": ["S02"],
        "guitar": ["S03"],
        "others": ["S04", "S05"],
    }
    assert mt.stems["S06"].group == "others"
    assert mt.stems["S06"].audio_rendered is False and not mt.stems["S06"].has_audio

    g = mt.load_groups(SR)
    assert g.groups == INSTRUMENTS
    assert g.stems["others"] == ["S04", "S05"]
    stems_dir = slakh_home / "slakh2100_flac_redux" / "train" / "Track00001" / "stems"
    s04, _ = sf.read(stems_dir / "S04.flac", dtype="float32")
    s05, _ = sf.read(stems_dir / "S05.flac", dtype="float32")
    np.testing.assert_allclose(g.signal("others"), s04 + s05, atol=1e-6)
    s01, _ = sf.read(stems_dir / "S01.flac", dtype="float32")
    np.testing.assert_allclose(g.signal("bass"), s01, atol=1e-6)
    np.testing.assert_allclose(g.mix(), sum(g.signals[k] for k in INSTRUMENTS), atol=1e-6)


def test_absent_and_silent_groups(slakh_home):
    from instsim.plugins.datasets.slakh import SlakhDataset

    mt = SlakhDataset(slakh_home).multitrack("Track00003")  # piano + a silent guitar stem
    g = mt.load_groups(SR)
    assert g.signal("drums") is None and g.signal("others") is None
    assert g.signal("guitar") is not None  # it has a stem ...
    assert g.present() == {
        "drums": False,
        "bass": False,
        "piano": True,
        "guitar": False,  # ... but only silence, so it is absent
        "others": False,
    }
    with pytest.raises(UnknownInstrumentError, match="vocals"):
        g.signal("vocals")


def test_load_groups_resamples(slakh_home):
    from instsim.plugins.datasets.slakh import SlakhDataset

    mt = SlakhDataset(slakh_home).multitrack("Track00002")
    g = mt.load_groups(8000)
    assert g.sample_rate == 8000
    assert g.n_samples == 4 * 8000
    assert all(s is None or s.dtype == np.float32 for s in g.signals.values())


@pytest.mark.parametrize("seconds", [0.5, 3.0, 4.4, 10.0])
def test_segment_grid_matches_segment_stream(seconds, rng):
    y = rng.standard_normal(round(seconds * SR)).astype(np.float32) * 0.1
    segs = list(segment_stream([y], 3 * SR, SR * 3 // 2))
    assert n_segments(y.size, SR) == len(segs)
    act = segment_activity(y, SR, threshold_db=-25.0)
    expected = [segment_rms_db(s.audio) >= -25.0 for s in segs]
    assert act.tolist() == expected


def test_segment_activity_finds_the_sounding_part():
    y = np.zeros(12 * SR, dtype=np.float32)
    t = np.arange(SR) / SR
    y[6 * SR : 7 * SR] = 0.1 * np.sin(2 * np.pi * 440 * t)  # sounds in [6, 7) s only
    act = segment_activity(y, SR)  # segments start every 1.5 s, 3 s long
    starts = np.arange(act.size) * 1.5
    overlaps = (starts < 7.0) & (starts + 3.0 > 6.0)
    assert act.tolist() == overlaps.tolist()


def test_silence_threshold_is_respected():
    t = np.arange(3 * SR) / SR
    tone = (10 ** (-50 / 20) * np.sqrt(2) * np.sin(2 * np.pi * 440 * t)).astype(
        np.float32
    )  # -50 dB RMS
    assert segment_activity(tone, SR, threshold_db=-60.0).tolist() == [True]
    assert segment_activity(tone, SR, threshold_db=-40.0).tolist() == [False]
    assert segment_activity(None, SR, n=3).tolist() == [False, False, False]


def _acts(**kw):
    return {g: np.array(v, dtype=bool) for g, v in kw.items()}


def test_test_filter_drops_pieces_where_an_instrument_barely_plays():
    n = 20
    drums = [1] * n
    piano_one = [1] + [0] * (n - 1)  # 1 of 20 non-silent segments = 5 %
    piano_two = [1, 1] + [0] * (n - 2)  # 2 of 20 = 10 %
    absent = [0] * n
    assert not passes_test_filter(_acts(drums=drums, piano=piano_one, bass=absent))
    assert passes_test_filter(_acts(drums=drums, piano=piano_two, bass=absent))
    assert passes_test_filter(_acts(drums=drums, piano=piano_one), min_fraction=0.05)
    assert not passes_test_filter(_acts(drums=absent, bass=absent))


def test_test_filter_ignores_the_silent_parts_of_the_piece():
    # 10 silent segments, then 10 where drums play and piano plays in 1 of them:
    drums = [0] * 10 + [1] * 10
    piano = [0] * 10 + [1] + [0] * 9
    fr = active_fractions(_acts(drums=drums, piano=piano))
    assert fr == {"drums": 1.0, "piano": 0.1}
    assert passes_test_filter(_acts(drums=drums, piano=piano))


def test_group_signals_activity_shares_one_grid():
    a = np.full(6 * SR, 0.1, dtype=np.float32)
    g = GroupSignals(SR, {"drums": a, "bass": None})
    act = g.activity()
    assert act["drums"].tolist() == [True, True, True]
    assert act["bass"].tolist() == [False, False, False]
