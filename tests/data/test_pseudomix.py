"""Pseudo-mixes, onset alignment, tempo groups and the triplets of docs/method.md."""

from __future__ import annotations

import numpy as np
import pytest

from instsim.data.groups import GroupSignals
from instsim.data.pseudomix import (
    MemorySource,
    PartSpec,
    PieceInfo,
    PseudoMix,
    SegmentSpec,
    TripletSampler,
    TripletSpec,
    analyse_piece,
    estimate_tempo,
    first_onset,
    fold_tempo,
    render,
    render_groups,
    tempo_groups,
)
from instsim.errors import DatasetError, UnknownInstrumentError
from instsim.instruments import INSTRUMENTS

SR = 22050


def clicks(onsets, seconds, sr=SR, seed=0) -> np.ndarray:
    """Noise bursts (30 ms, fast decay) starting exactly at ``onsets`` [seconds]."""
    rng = np.random.default_rng(seed)
    y = np.zeros(round(seconds * sr), dtype=np.float32)
    k = int(0.03 * sr)
    burst = (0.3 * np.exp(-np.arange(k) / (0.004 * sr)) * rng.standard_normal(k)).astype(np.float32)
    for t in onsets:
        i = round(t * sr)
        seg = y[i : i + k]
        seg += burst[: seg.size]
    return y


def first_sound(y: np.ndarray, sr: int = SR, level: float = 1e-3) -> float:
    return float(np.flatnonzero(np.abs(y) > level)[0] / sr)


# -- essentia analysis ---------------------------------------------------------------------
@pytest.mark.parametrize("start", [0.0, 0.37, 1.25, 3.0])
def test_first_onset_finds_the_first_click(start):
    y = clicks(start + np.arange(0, 6, 0.5), 8.0)
    assert first_onset(y, SR) == pytest.approx(start, abs=0.02)


def test_first_onset_of_silence_is_none():
    assert first_onset(np.zeros(SR * 2, dtype=np.float32), SR) is None


def test_estimate_tempo_of_a_click_track():
    y = clicks(0.2 + np.arange(0, 11.5, 0.5), 12.0)  # 120 BPM
    bpm = estimate_tempo(y, SR, method="degara")
    assert fold_tempo(bpm) == pytest.approx(120.0, abs=2.0)
    assert estimate_tempo(np.zeros(SR * 3, dtype=np.float32), SR) is None


def test_fold_tempo_and_tempo_groups():
    assert fold_tempo(60.0) == fold_tempo(240.0) == 120.0
    assert fold_tempo(69.0) == 138.0
    with pytest.raises(ValueError, match="tempo"):
        fold_tempo(0.0)
    groups = tempo_groups({"a": 60.0, "b": 120.0, "c": 121.0, "d": 100.0, "e": None, "f": 240.0})
    assert groups == {6: ["d"], 10: ["a", "b", "c", "f"]}
    assert tempo_groups({"a": 60.0, "b": 120.0}, fold=False) == {12: ["a"], 24: ["b"]}


# -- alignment of pseudo-mixes ----------------------------------------------------------------
def _clicky_piece(tid: str, first: float, seconds: float = 12.0, seed: int = 0):
    beats = first + np.arange(0, seconds - first - 0.5, 0.5)
    sig = {
        "drums": clicks(beats, seconds, seed=seed),
        "bass": clicks(beats[::2], seconds, seed=seed + 1),
        "piano": None,
        "guitar": clicks(beats[1::2], seconds, seed=seed + 2),
        "others": None,
    }
    gs = GroupSignals(SR, sig)
    return gs, analyse_piece(tid, gs, tempo_method="degara")


def test_pseudomix_aligns_first_onsets():
    ga, a = _clicky_piece("A", 0.7, seed=1)
    gb, b = _clicky_piece("B", 1.9, seed=4)
    assert a.first_onset_seconds == pytest.approx(0.7, abs=0.02)
    assert b.first_onset_seconds == pytest.approx(1.9, abs=0.02)
    src = MemorySource({"A": ga, "B": gb})
    pm = PseudoMix(a, b, "drums")
    assert pm.shift_seconds == pytest.approx(1.2, abs=0.03)
    spec = pm.spec()
    assert spec.duration_seconds == pytest.approx(a.duration)
    focus = render(spec, src, groups=["drums"])
    rest = render(spec, src, groups=[g for g in INSTRUMENTS if g != "drums"])
    # A's drums keep their place; B's rest is moved so its first onset lands on A's
    assert first_sound(focus) == pytest.approx(0.7, abs=1e-3)
    assert first_sound(rest) == pytest.approx(0.7, abs=0.03)
    mix = render(spec, src)
    np.testing.assert_allclose(mix, focus + rest, atol=1e-6)
    assert first_onset(mix, SR) == pytest.approx(0.7, abs=0.03)


def test_render_pads_outside_the_piece():
    y = np.arange(1, 11, dtype=np.float32)  # 10 samples at 10 Hz = 1 s
    src = MemorySource({"A": {"bass": y, "drums": None}}, sample_rate=10)
    early = render(SegmentSpec((PartSpec("A", ("bass", "drums"), -0.3),), 0.6), src)
    assert early.tolist() == [0, 0, 0, 1, 2, 3]
    late = render(SegmentSpec((PartSpec("A", ("bass",), 0.8),), 0.5), src)
    assert late.tolist() == [9, 10, 0, 0, 0]
    assert render(SegmentSpec((PartSpec("A", ("bass",), 5.0),), 0.2), src).tolist() == [0, 0]


# -- the sampler ----------------------------------------------------------------------------------
HOP, SEG, N_SEG, RATE = 1.5, 3.0, 19, 100  # 30 s pieces, 19 segments; tiny signals at 100 Hz


def _piece(tid: str, tempo: float | None, onset: float | None, active: dict[str, str]) -> PieceInfo:
    acts = {}
    for g in INSTRUMENTS:
        pattern = active.get(g, "")
        acts[g] = np.array(
            [pattern[i % len(pattern)] == "1" if pattern else False for i in range(N_SEG)]
        )
    return PieceInfo(tid, "train", 30 * RATE, RATE, acts, SEG, HOP, -60.0, tempo, onset)


@pytest.fixture
def pieces() -> dict[str, PieceInfo]:
    full = {g: "1" for g in INSTRUMENTS}
    out = [
        _piece("P1", 120.0, 0.2, full),
        _piece("P2", 121.0, 1.0, {"drums": "1", "bass": "10", "others": "1"}),
        _piece("P3", 60.0, 0.5, {"piano": "1", "guitar": "0011", "bass": "1"}),  # half tempo
        _piece("P4", 123.0, 2.0, {"drums": "01", "piano": "1", "others": "1"}),
        _piece("P5", 122.0, 0.0, full),
        _piece("Q1", 90.0, 0.1, full),  # another tempo group, too small
        _piece("Q2", 91.0, 0.1, full),
        _piece("R1", None, None, full),  # no beat found
    ]
    return {p.track_id: p for p in out}


def _active_at(piece: PieceInfo, groups, offset: float) -> bool:
    k = round(offset / piece.hop_seconds)
    assert -1e-9 <= offset <= piece.duration - piece.segment_seconds + 1e-9
    return any(piece.activity[g][k] for g in groups)


def test_sampler_groups_by_tempo_and_excludes_what_cannot_be_mixed(pieces):
    s = TripletSampler(pieces, seed=0)
    assert list(s.tempo_groups.values()) == [["P1", "P2", "P3", "P4", "P5"]]
    assert set(s.excluded) == {"Q1", "Q2", "R1"}
    assert "< 3 pieces" in s.excluded["Q1"] and "tempo" in s.excluded["R1"]


@pytest.mark.parametrize("condition", INSTRUMENTS)
def test_basic_and_additional_triplets_follow_method_md(pieces, condition):
    s = TripletSampler(pieces, seed=1)
    for _ in range(10):
        triplets = s.sample(condition)
        basic, extra = triplets[0], triplets[1:]
        c = condition
        rest = tuple(g for g in INSTRUMENTS if g != c)
        a_id, b_id, c_id = basic.pieces
        assert basic.kind == "basic" and basic.condition == basic.base_condition == c
        assert len({a_id, b_id, c_id}) == 3
        assert len({s.group_of[t] for t in basic.pieces}) == 1  # one tempo group
        A, B, C = pieces[a_id], pieces[b_id], pieces[c_id]
        shift_b = B.first_onset_seconds - A.first_onset_seconds
        shift_c = C.first_onset_seconds - A.first_onset_seconds
        # anchor: a segment of the original A, with A_c and A_not-c playing
        (anchor_part,) = basic.anchor.parts
        assert anchor_part.track_id == a_id and anchor_part.groups == INSTRUMENTS
        t_a = anchor_part.offset_seconds
        assert _active_at(A, [c], t_a) and _active_at(A, rest, t_a)
        # positive = (A_c + B_not-c): shares the anchor's c
        p_focus, p_rest = basic.positive.parts
        assert basic.positive.part_with(c).track_id == a_id
        assert all(basic.positive.part_with(g).track_id == b_id for g in rest)
        assert p_rest.offset_seconds == pytest.approx(p_focus.offset_seconds + shift_b)
        assert _active_at(A, [c], p_focus.offset_seconds)
        assert _active_at(B, rest, p_rest.offset_seconds)
        # negative = (C_c + A_not-c): shares the anchor's other instruments
        n_focus, n_rest = basic.negative.parts
        assert basic.negative.part_with(c).track_id == c_id
        assert all(basic.negative.part_with(g).track_id == a_id for g in rest)
        assert n_focus.offset_seconds == pytest.approx(n_rest.offset_seconds + shift_c)
        assert _active_at(C, [c], n_focus.offset_seconds)
        assert _active_at(A, rest, n_rest.offset_seconds)
        for spec in (basic.anchor, basic.positive, basic.negative):
            assert spec.duration_seconds == SEG
        # additional: (a, n, p) under every c' != c
        assert [t.condition for t in extra] == list(rest)
        for t in extra:
            assert t.kind == "additional" and t.base_condition == c and t.pieces == basic.pieces
            assert t.anchor == basic.anchor
            assert t.positive == basic.negative and t.negative == basic.positive


def test_rendered_triplet_parts_come_from_the_right_pieces(pieces):
    rng = np.random.default_rng(0)
    signals = {
        t: {g: rng.standard_normal(30 * RATE).astype(np.float32) for g in INSTRUMENTS}
        for t in pieces
    }
    src = MemorySource(signals, sample_rate=RATE)
    basic = TripletSampler(pieces, seed=3).sample("bass")[0]
    a_id, b_id, c_id = basic.pieces
    n = round(SEG * RATE)

    def cut(tid, groups, offset):
        out = np.zeros(n, dtype=np.float32)
        for g in groups:
            i = round(offset * RATE)
            out += signals[tid][g][i : i + n]
        return out

    anchor, positive, negative = basic.render(src)
    rest = [g for g in INSTRUMENTS if g != "bass"]
    np.testing.assert_allclose(
        anchor, cut(a_id, INSTRUMENTS, basic.anchor.parts[0].offset_seconds), atol=1e-5
    )
    np.testing.assert_allclose(
        render(basic.negative, src, groups=rest),
        cut(a_id, rest, basic.negative.parts[1].offset_seconds),
        atol=1e-5,
    )
    np.testing.assert_allclose(
        render(basic.positive, src, groups=["bass"]),
        cut(a_id, ["bass"], basic.positive.parts[0].offset_seconds),
        atol=1e-5,
    )
    np.testing.assert_allclose(
        render(basic.positive, src, groups=rest),
        cut(b_id, rest, basic.positive.parts[1].offset_seconds),
        atol=1e-5,
    )
    np.testing.assert_allclose(
        render(basic.negative, src, groups=["bass"]),
        cut(c_id, ["bass"], basic.negative.parts[0].offset_seconds),
        atol=1e-5,
    )
    assert positive.shape == negative.shape == (n,)
    clean = render_groups(basic.negative, src)
    np.testing.assert_allclose(sum(clean.values()), negative, atol=1e-5)


def test_same_seed_same_triplets(pieces):
    def draw(seed):
        s = TripletSampler(pieces, seed=seed)
        return [t.to_dict() for batch in s.epoch(25) for t in batch]

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)


def test_additional_variants(pieces):
    assert len(TripletSampler(pieces, additional="none", seed=0).sample("drums")) == 1
    for _ in range(10):
        s = TripletSampler(pieces, additional="present", seed=_)
        basic, *extra = s.sample("drums")
        a = pieces[basic.pieces[0]]
        k = round(basic.anchor.parts[0].offset_seconds / HOP)
        assert [t.condition for t in extra] == [g for g in INSTRUMENTS[1:] if a.activity[g][k]]


def test_sampler_errors(pieces):
    s = TripletSampler(pieces, seed=0)
    with pytest.raises(UnknownInstrumentError, match="vocals"):
        s.sample("vocals")
    small = {t: pieces[t] for t in ("Q1", "Q2", "R1")}
    with pytest.raises(DatasetError, match="no tempo group has 3 usable pieces"):
        TripletSampler(small).sample()
    with pytest.raises(ValueError, match="additional"):
        TripletSampler(pieces, additional="some")


def test_spec_round_trip(pieces):
    t = TripletSampler(pieces, seed=5).sample()[1]
    assert TripletSpec.from_dict(t.to_dict()) == t
    assert PieceInfo.from_dict(pieces["P2"].to_dict()).to_dict() == pieces["P2"].to_dict()


def test_partners_and_pseudomix_segments_for_evaluation(pieces):
    s = TripletSampler(pieces, seed=0)
    partners = s.partners("P1", "drums", 3)
    assert len(set(partners)) == 3 and "P1" not in partners
    assert all(s.group_of[p] == s.group_of["P1"] for p in partners)
    with pytest.raises(DatasetError, match="only 4 pieces"):
        s.partners("P1", "drums", 5)
    with pytest.raises(DatasetError, match="not usable"):
        s.partners("Q1", "drums", 1)
    pm = s.pseudomix("P1", "P2", "drums")
    segs = pm.segments(10.0)
    assert [sp.parts[0].offset_seconds for sp in segs] == [0.0, 10.0, 20.0]
    for sp in segs:
        assert sp.duration_seconds == 10.0
        assert sp.parts[0] == PartSpec("P1", ("drums",), sp.parts[0].offset_seconds)
        assert sp.parts[1].track_id == "P2"
        assert sp.parts[1].offset_seconds == pytest.approx(sp.parts[0].offset_seconds + 0.8)
    # P3 has no drums: nothing of it can be the focus of a drums pseudo-mix
    assert s.pseudomix("P3", "P1", "drums").segments(10.0) == []


def test_active_offsets(pieces):
    p2 = pieces["P2"]
    assert p2.active_offsets("bass").tolist() == [k * HOP for k in range(0, N_SEG, 2)]
    assert p2.active_offsets("piano").size == 0
    assert p2.active_offsets().size == N_SEG
    with pytest.raises(UnknownInstrumentError):
        p2.active_offsets("vocals")
