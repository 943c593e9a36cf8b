"""The protocols on hand-made pieces and a spectral 'oracle' network whose answers are known.

Every group of every piece is a sine at its own frequency, and each group owns a
frequency band. The oracle embeds sub-space ``g`` as the magnitude spectrum of
band ``g`` (one bin per piece), so sub-space ``g`` sees exactly which piece the
``g`` stem comes from: music-ID and pseudo-mix accuracy must be 100 %, and a
view that looks at the wrong band must fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from instsim.data.groups import GroupSignals
from instsim.data.pseudomix import MemorySource, PieceInfo
from instsim.errors import ConfigError, UnknownInstrumentError
from instsim.evaluate.knn import exclusion_mask, knn_accuracy
from instsim.evaluate.protocols import (
    EmbeddingStore,
    System,
    View,
    draw_pseudo_mix_set,
    music_id_accuracy,
    music_id_exclusion,
    music_id_segments,
    pseudo_mix_accuracy,
    pseudo_mix_follow_rates,
    same_time_follow_rates,
)
from instsim.instruments import INSTRUMENTS

SR = 4000
BAND_HZ = 400.0  # group g owns [g * BAND_HZ, (g + 1) * BAND_HZ)
BIN_HZ = 25.0  # one bin per piece inside a band
D = 16


def freq(piece: int, group: int) -> float:
    return group * BAND_HZ + BIN_HZ * (piece + 0.5)


class Oracle:
    """Sub-space ``g`` = normalised spectrum of band ``g`` in ``D`` bins (counts its calls)."""

    instruments = INSTRUMENTS
    subspace_dim = D
    sample_rate = SR

    def __init__(self) -> None:
        self.calls = 0
        self.segments = 0

    def embed_waveforms(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.segments += batch.shape[0]
        self.last = batch.copy()
        spec = np.abs(np.fft.rfft(batch, axis=1))
        f = np.fft.rfftfreq(batch.shape[1], 1 / SR)
        out = np.zeros((batch.shape[0], len(INSTRUMENTS) * D), np.float32)
        for g in range(len(INSTRUMENTS)):
            for b in range(D):
                lo = g * BAND_HZ + b * BIN_HZ
                m = (f >= lo) & (f < lo + BIN_HZ)
                out[:, g * D + b] = spec[:, m].sum(axis=1)
        return out + 1e-3  # never exactly zero


class Noise:
    """Ignores its input: a fresh random vector per segment."""

    instruments = ("mix",)
    subspace_dim = 8
    sample_rate = SR

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def embed_waveforms(self, batch: np.ndarray) -> np.ndarray:
        return self.rng.standard_normal((batch.shape[0], 8)).astype(np.float32)


def make_pieces(
    n: int, seconds: float = 26.0, silent: dict[int, tuple[float, float]] | None = None
) -> tuple[MemorySource, dict[str, PieceInfo]]:
    """``n`` pieces with all five groups; ``silent[i] = (t0, t1)`` silences piece i there."""
    t = np.arange(round(seconds * SR)) / SR
    sigs, infos = {}, {}
    for i in range(n):
        tid = f"P{i:02d}"
        groups = {}
        for gi, g in enumerate(INSTRUMENTS):
            y = (0.1 * np.sin(2 * np.pi * freq(i, gi) * t)).astype(np.float32)
            if silent and i in silent:
                a, b = silent[i]
                y[round(a * SR) : round(b * SR)] = 0.0
            groups[g] = y
        gs = GroupSignals(SR, groups)
        sigs[tid] = gs
        infos[tid] = PieceInfo(
            tid, "test", gs.n_samples, SR, gs.activity(), tempo_bpm=120.0, first_onset_seconds=0.0
        )
    return MemorySource(sigs), infos


@pytest.fixture(scope="module")
def corpus() -> tuple[MemorySource, dict[str, PieceInfo]]:
    return make_pieces(6)


# -- music-ID ----------------------------------------------------------------------------------
def test_segments_skip_silence_and_record_activity() -> None:
    source, _ = make_pieces(2, seconds=12.0, silent={1: (3.0, 9.0)})
    ss = music_id_segments(source, ["P00", "P01"], 3.0, 1.5)
    # 12 s on a 3 s / 1.5 s grid: 7 segments per piece; P01 is silent in [3, 9) s,
    # which wholly contains the segments starting at 3.0, 4.5 and 6.0 s
    assert ss.n_silent == 3
    assert len(ss) == 14 - 3
    assert list(ss.labels).count("P00") == 7 and list(ss.labels).count("P01") == 4
    starts = [s.parts[0].offset_seconds for s in ss.specs if s.parts[0].track_id == "P01"]
    assert starts == [0.0, 1.5, 7.5, 9.0]
    assert all(s.duration_seconds == 3.0 for s in ss.specs)
    assert all(a.all() for a in ss.active.values())  # every kept segment has every group
    assert ss.key == "3s" and ss.n_pieces == 2


def test_music_id_perfect_network_scores_100() -> None:
    # 40 s: 7 segments of 10 s every 5 s, so a query keeps at least 4 of its piece's
    # segments that do not overlap it (3 of 5 voters are needed to win)
    source, infos = make_pieces(6, seconds=40.0)
    oracle = Oracle()
    store = EmbeddingStore(source, batch_size=16)
    system = System.csn("oracle", oracle)
    for seg, hop in ((3.0, 1.5), (10.0, 5.0)):
        ss = music_id_segments(source, sorted(infos), seg, hop)
        res = music_id_accuracy(store, system, ss, k=5)
        assert set(res["accuracy"]) == {*INSTRUMENTS, "all"}
        assert all(v == 100.0 for v in res["accuracy"].values()), res
        assert all(v == 100.0 for v in res["active"].values())
        assert res["n_active"]["drums"] == len(ss)


def test_music_id_input_blind_network_is_near_chance() -> None:
    source, infos = make_pieces(10, seconds=40.0)
    store = EmbeddingStore(source)
    ss = music_id_segments(source, sorted(infos), 3.0, 1.5)
    res = music_id_accuracy(store, System.whole("noise", Noise(), label="noise"), ss)
    assert set(res["accuracy"]) == {"all"}
    assert res["accuracy"]["all"] < 25.0  # chance: 10 %


class Leaky:
    """Hears only *which audio* a segment holds, nothing about the piece's sound.

    Each half of a segment (one hop of a 50 %-overlap grid) is fingerprinted by its
    first samples (the pieces are white noise, so fingerprints of different audio are
    nearly orthogonal); the embedding is the sum of the two. Segments next to each
    other in time share a half and are close; anything else is as far as another piece.
    """

    instruments = ("mix",)
    subspace_dim = 64
    sample_rate = SR

    def embed_waveforms(self, batch: np.ndarray) -> np.ndarray:
        half = batch.shape[1] // 2
        out = np.zeros((batch.shape[0], 64), np.float32)
        for h in (batch[:, :64], batch[:, half : half + 64]):
            out += h / np.linalg.norm(h, axis=1, keepdims=True)
        return out


def noise_pieces(n: int, seconds: float) -> MemorySource:
    rng = np.random.default_rng(0)
    m = round(seconds * SR)
    return MemorySource(
        {
            f"N{i:02d}": GroupSignals(
                SR, {g: (0.1 * rng.standard_normal(m)).astype(np.float32) for g in INSTRUMENTS}
            )
            for i in range(n)
        }
    )


@pytest.mark.parametrize(("seg", "hop"), [(3.0, 1.5), (10.0, 5.0)])
def test_music_id_overlapping_segments_of_the_piece_cannot_vote(seg: float, hop: float) -> None:
    # The leaky network's only clue is audio shared between overlapping segments. If they
    # could vote it would look near perfect (the inflation of the old protocol); left out,
    # it is at chance (1/8).
    source = noise_pieces(8, seconds=40.0)
    ss = music_id_segments(source, [f"N{i:02d}" for i in range(8)], seg, hop)
    store = EmbeddingStore(source)
    leaky = System.whole("leaky", Leaky())
    res = music_id_accuracy(store, leaky, ss, k=5)
    assert res["accuracy"]["all"] < 35.0
    x = store.get(leaky, leaky.music_id["all"], ss.specs)
    assert knn_accuracy(x, ss.labels, k=5) > 70.0  # what overlapping voters would give


def test_music_id_exclusion_follows_the_piece_and_its_grid(corpus) -> None:
    source, infos = corpus
    ss = music_id_segments(source, sorted(infos)[:2], 3.0, 1.5)
    block = music_id_exclusion(ss)(np.arange(len(ss)))
    for i in range(len(ss)):
        want = {
            j
            for j in range(len(ss))
            if ss.labels[j] == ss.labels[i] and abs(ss.starts[j] - ss.starts[i]) < 3.0
        }
        assert set(np.flatnonzero(block[i])) == want
        assert len(want) <= 3  # itself and the segments 1.5 s before and after
    # restricted to some segments (e.g. where an instrument plays): the same rule on them
    m = np.arange(len(ss)) % 3 != 0
    sub = music_id_exclusion(ss, m)(np.arange(int(m.sum())))
    np.testing.assert_array_equal(sub, block[np.ix_(m, m)])


def test_store_embeds_each_segment_once(corpus) -> None:
    source, infos = corpus
    oracle = Oracle()
    store = EmbeddingStore(source, batch_size=8)
    ss = music_id_segments(source, sorted(infos), 3.0, 1.5)
    a = System.csn("oracle", oracle)
    for view in a.music_id.values():  # six views, one network, one input: one pass
        store.request(a, view, ss.specs)
    assert store.pending == len(ss)
    seen = []
    store.compute(seen.append)
    assert sum(seen) == len(ss) == oracle.segments
    assert oracle.calls == -(-len(ss) // 8)
    x1 = store.get(a, a.music_id["bass"], ss.specs)
    x2 = store.get(a, a.music_id["bass"], ss.specs)
    assert oracle.segments == len(ss)  # served from the store
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_allclose(np.linalg.norm(x1, axis=1), 1.0, rtol=1e-5)
    full = store.get(a, a.music_id["all"], ss.specs[:3])
    assert full.shape == (3, len(INSTRUMENTS) * D)
    norms = np.linalg.norm(full.reshape(3, len(INSTRUMENTS), D), axis=2)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)  # every sub-space normalised


def test_clean_stem_view_hears_only_its_group(corpus) -> None:
    source, infos = corpus
    oracle = Oracle()
    store = EmbeddingStore(source)
    ss = music_id_segments(source, sorted(infos)[:2], 3.0, 1.5)
    clean = System.per_instrument("fcn-clean", {"bass": oracle}, clean=True)
    mix = System.per_instrument("fcn-mix", {"bass": oracle}, clean=False)
    assert clean.pseudo_mix == {} and set(mix.pseudo_mix) == {"bass"}
    spec = ss.specs[2]  # P00 from 3.0 s
    n = round(3.0 * SR)
    store.get(clean, clean.music_id["bass"], [spec])
    np.testing.assert_array_equal(oracle.last[0], source.signal("P00", "bass")[3 * SR : 3 * SR + n])
    store.get(mix, mix.music_id["bass"], [spec])
    expected = sum(source.signal("P00", g)[3 * SR : 3 * SR + n] for g in INSTRUMENTS)
    np.testing.assert_allclose(oracle.last[0], expected, atol=1e-6)


def test_store_checks_rates_and_subspaces(corpus) -> None:
    source, _ = corpus

    class Other(Oracle):
        sample_rate = 8000

    store = EmbeddingStore(source)
    sy = System.csn("other", Other())
    with pytest.raises(ConfigError, match="8000 Hz"):
        store.request(sy, sy.music_id["bass"], [])
    bad = System("bad", "bad", "csn", {"o": Oracle()}, {"x": View("o", None, "vocals")}, {})
    with pytest.raises(UnknownInstrumentError):
        store.request(bad, bad.music_id["x"], [])
    with pytest.raises(ConfigError, match="batch_size"):
        EmbeddingStore(source, batch_size=0)


# -- pseudo-mixes ------------------------------------------------------------------------------
def test_pseudo_mix_set_is_built_as_asked(corpus) -> None:
    _, infos = corpus
    pm = draw_pseudo_mix_set(infos, "bass", n_pieces=3, n_partners=2, seed=1)
    assert pm.n_pieces == 3 and pm.n_mixes == 6 and pm.notes == []
    for a, b, n in pm.mixes:
        assert a != b and n == 2  # 26 s pieces: two back-to-back 10 s segments
    assert len({(a, b) for a, b, _ in pm.mixes}) == 6
    for spec, a, b in zip(pm.specs, pm.focus, pm.rest):
        focus_part = spec.part_with("bass")
        assert focus_part.track_id == a
        for g in INSTRUMENTS:
            if g != "bass":
                assert spec.part_with(g).track_id == b
        assert spec.duration_seconds == 10.0
    again = draw_pseudo_mix_set(infos, "bass", n_pieces=3, n_partners=2, seed=1)
    assert again.specs == pm.specs
    others = [
        draw_pseudo_mix_set(infos, "bass", n_pieces=3, n_partners=2, seed=s) for s in (2, 3, 4)
    ]
    assert any(o.mixes != pm.mixes for o in others)


@pytest.mark.parametrize("hop", [None, 5.0])
def test_pseudo_mix_rule_leaves_out_every_overlapping_segment_of_the_pseudo_mix(
    corpus, hop: float | None
) -> None:
    # Back to back (the protocol's default), segments of one pseudo-mix never overlap; with a
    # shorter hop they would, and the B rule leaves them out all the same (one rest, one B).
    _, infos = corpus
    pm = draw_pseudo_mix_set(infos, "bass", n_pieces=3, n_partners=2, seed=1, hop_seconds=hop)
    starts = np.array([s.part_with("bass").offset_seconds for s in pm.specs])
    same_mix = (pm.focus[:, None] == pm.focus[None, :]) & (pm.rest[:, None] == pm.rest[None, :])
    overlapping = same_mix & (np.abs(starts[:, None] - starts[None, :]) < 10.0 - 1e-6)
    np.fill_diagonal(overlapping, False)
    assert overlapping.any() == (hop is not None)
    assert exclusion_mask(pm.rest)[overlapping].all()


def test_pseudo_mix_shortfall_is_recorded_not_fabricated(corpus) -> None:
    _, infos = corpus
    pm = draw_pseudo_mix_set(infos, "drums", n_pieces=10, n_partners=8, seed=0)
    # 6 pieces: at most 6 focus pieces with 5 partners each
    assert pm.n_pieces == 6 and pm.n_mixes == 30
    assert pm.requested_pieces == 10 and pm.requested_partners == 8
    assert any("6 of 10 focus pieces" in n for n in pm.notes)
    assert sum("5 of 8 pseudo-mixes" in n for n in pm.notes) == 6
    c = pm.counts()
    assert (c["pieces"], c["pseudo_mixes"], c["segments"]) == (6, 30, 60)


def test_pseudo_mix_needs_the_instrument_and_a_tempo_group() -> None:
    _, infos = make_pieces(5)
    infos["P00"].activity["piano"][:] = False  # no piano in P00
    infos["P01"].tempo_bpm = None  # no tempo: cannot be aligned
    pm = draw_pseudo_mix_set(infos, "piano", n_pieces=10, n_partners=4, seed=0)
    focus = {a for a, _, _ in pm.mixes}
    assert "P00" not in focus and "P01" not in focus
    assert all(b != "P01" for _, b, _ in pm.mixes)
    assert "1 without piano" in pm.notes[-1] and "1 without a usable tempo group" in pm.notes[-1]
    with pytest.raises(UnknownInstrumentError):
        draw_pseudo_mix_set(infos, "vocals")


def test_pseudo_mix_accuracy_perfect_wrong_and_whole(corpus) -> None:
    source, infos = corpus
    oracle = Oracle()
    store = EmbeddingStore(source)
    csn = System.csn("oracle", oracle)
    for c in INSTRUMENTS:
        pm = draw_pseudo_mix_set(infos, c, n_pieces=6, n_partners=4, seed=7)
        assert pseudo_mix_accuracy(store, csn, pm) == 100.0
    pm = draw_pseudo_mix_set(infos, "drums", n_pieces=6, n_partners=4, seed=7)
    # looking at the bass band: sees the rest piece B, whose segments are all excluded
    wrong = System("wrong", "wrong", "csn", {"oracle": oracle}, {},
                   {"drums": View("oracle", None, "bass")})  # fmt: skip
    assert pseudo_mix_accuracy(store, wrong, pm) < 40.0
    # the whole spectrum: B's rest dominates, so only the exclusion rule lets A_c decide
    whole = System.whole("whole", oracle)
    x = store.get(whole, whole.pseudo_mix["drums"], pm.specs)
    assert knn_accuracy(x, pm.focus) < 40.0
    assert pseudo_mix_accuracy(store, whole, pm) == 100.0
    # no view for an instrument: nothing measured
    assert (
        pseudo_mix_accuracy(store, System.per_instrument("f", {"bass": oracle}, True), pm) is None
    )


def test_one_focus_piece_gives_no_number(corpus) -> None:
    source, infos = corpus
    pm = draw_pseudo_mix_set(infos, "bass", n_pieces=1, n_partners=2, seed=0)
    assert pm.n_pieces == 1
    assert pseudo_mix_accuracy(EmbeddingStore(source), System.csn("o", Oracle()), pm) is None


def test_pseudo_mix_follow_rates_focus_rest_and_chance(corpus) -> None:
    source, infos = corpus
    oracle = Oracle()
    store = EmbeddingStore(source)
    pm = draw_pseudo_mix_set(infos, "drums", n_pieces=6, n_partners=4, seed=7)
    # 6 focus pieces x 4 partners at each of the two times (0 s, 10 s)
    assert pm.n_mixes == 24 and pm.n_segments == 48
    right = pseudo_mix_follow_rates(store, System.csn("oracle", oracle), pm)
    assert right is not None and right["segments"] == 48
    # sub-space drums hears A's drums only: the nearest segment of the same time holds the
    # same drums (another partner of A); never the same rest piece with other drums. The
    # other segment of the query's own pseudo-mix (same A, same B, another time) hears the
    # same constant sine, so a comparison across times would give follows_rest > 0.
    assert right["follows_c"] == 100.0 and right["follows_rest"] == 0.0
    # chance: each segment's time holds 23 others, 3 of them with the same focus piece
    assert right["chance_c"] == pytest.approx(100 * 3 / 23)
    assert 0.0 < right["chance_rest"] < 100.0
    # a view that hears the bass band hears B: it follows the rest every time
    wrong = System("wrong", "wrong", "csn", {"oracle": oracle}, {},
                   {"drums": View("oracle", None, "bass")})  # fmt: skip
    leak = pseudo_mix_follow_rates(store, wrong, pm)
    assert leak is not None
    assert leak["follows_rest"] == 100.0 and leak["follows_c"] == 0.0
    assert leak["chance_rest"] == right["chance_rest"]
    # no view for the instrument, or nothing to compare: no number
    assert (
        pseudo_mix_follow_rates(store, System.per_instrument("f", {"bass": oracle}, True), pm)
        is None
    )
    one = draw_pseudo_mix_set(infos, "drums", n_pieces=1, n_partners=1, seed=0)
    assert pseudo_mix_follow_rates(store, System.csn("oracle", oracle), one) is None


def test_same_time_follow_rates_compare_only_segments_of_one_time() -> None:
    # time 0 (0.0004 s rounds to it): A1+B1 and A1+B2 point the same way, each follows c;
    # A2+B1's nearest is A1+B2 (cosine 0.11 against 0), neither; time 10: a lone segment,
    # not counted
    x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [1.0, 0.0]])
    r = same_time_follow_rates(
        x, [0.0, 0.0, 0.0004, 10.0], ["A1", "A1", "A2", "A1"], ["B1", "B2", "B1", "B1"]
    )
    assert r is not None and r["segments"] == 3
    assert r["follows_c"] == pytest.approx(100 * 2 / 3)
    assert r["follows_rest"] == 0.0
    assert r["chance_c"] == pytest.approx(100 * (1 / 2 + 1 / 2 + 0) / 3)
    assert same_time_follow_rates(x[:1], [0.0], ["A"], ["B"]) is None
    with pytest.raises(ConfigError, match="3 focus"):
        same_time_follow_rates(x, [0.0] * 4, ["A"] * 3, ["B"] * 4)
