"""kNN protocols on hand-made embeddings where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from instsim.evaluate.knn import (
    exclusion_mask,
    knn_accuracy,
    knn_predict,
    overlap_exclusion,
    pairwise_distances,
)


def test_distances_match_numpy(rng: np.random.Generator) -> None:
    x = rng.standard_normal((7, 5))
    ref = np.linalg.norm(x[:, None] - x[None], axis=2)
    np.testing.assert_allclose(pairwise_distances(x), ref, atol=1e-6)


def test_perfect_clusters_give_100(rng: np.random.Generator) -> None:
    centres = rng.standard_normal((10, 16)) * 10
    labels = np.repeat(np.arange(10), 8)
    x = centres[labels] + 0.01 * rng.standard_normal((80, 16))
    assert knn_accuracy(x, labels) == 100.0


def test_random_vectors_give_about_chance(rng: np.random.Generator) -> None:
    labels = np.repeat(np.arange(10), 60)
    x = rng.standard_normal((600, 32))
    acc = knn_accuracy(x, labels)
    assert 3.0 < acc < 20.0  # chance is 10 %


def test_query_is_never_its_own_neighbour() -> None:
    # two far-apart singletons: with leave-one-out they can only vote for each other
    x = np.array([[0.0], [100.0]])
    assert list(knn_predict(x, ["a", "b"], k=1)) == ["b", "a"]


def test_tie_broken_by_nearest_tied_label() -> None:
    # query at 0; k=4 neighbours: a at 1, b at 2, b at 3, a at 4 -> 2 votes each; 'a' is nearest
    x = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    labels = ["q", "a", "b", "b", "a"]
    assert knn_predict(x, labels, k=4)[0] == "a"
    labels = ["q", "b", "a", "a", "b"]
    assert knn_predict(x, labels, k=4)[0] == "b"


def test_exclusion_rule_removes_exactly_segments_sharing_the_rest() -> None:
    # segments: (focus piece, rest piece)
    segs = [("A", "B"), ("A", "B"), ("A", "C"), ("D", "B"), ("D", "E"), ("A", "E")]
    mask = exclusion_mask([r for _, r in segs])
    expected_removed_for_0 = {0, 1, 3}  # every segment whose rest comes from B (itself included)
    assert set(np.flatnonzero(mask[0])) == expected_removed_for_0
    assert set(np.flatnonzero(mask[4])) == {4, 5}


def test_exclusion_changes_the_prediction() -> None:
    # The query (A over rest B) is closest to D-over-B segments (same rest): without the rule the
    # rest decides; with it, only segments without B's rest vote and A wins.
    x = np.array([[0.0], [0.1], [0.2], [1.0], [1.1], [5.0]])
    focus = ["A", "D", "D", "A", "A", "D"]
    rest = ["B", "B", "B", "C", "E", "F"]
    plain = knn_predict(x, focus, k=2)
    ruled = knn_predict(x, focus, k=2, exclude=exclusion_mask(rest))
    assert plain[0] == "D" and ruled[0] == "A"


def test_no_neighbour_left_gives_none() -> None:
    x = np.zeros((2, 3))
    preds = knn_predict(x, ["a", "b"], exclude=np.ones((2, 2), dtype=bool))
    assert list(preds) == [None, None]
    assert knn_accuracy(x, ["a", "b"], exclude=np.ones((2, 2), dtype=bool)) == 0.0


def test_bad_k() -> None:
    with pytest.raises(ValueError, match="'k': must be > 0"):
        knn_predict(np.zeros((3, 2)), [1, 2, 3], k=0)


def test_blocked_search_matches_a_full_stable_sort(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # distances computed a few query rows at a time, k nearest by partition: the same
    # neighbours (ties in index order) as sorting every row of the full matrix
    from instsim.evaluate import knn

    monkeypatch.setattr(knn, "_block_rows", lambda n, budget=0: 7)
    for trial in range(20):
        n = int(rng.integers(2, 50))
        x = rng.integers(0, 3, size=(n, 2)).astype(float)  # many exact distance ties
        labels = rng.integers(0, 4, n)
        k = int(rng.integers(1, 8))
        exclude = rng.random((n, n)) < 0.3 if trial % 2 else None
        dist = pairwise_distances(x)
        dist[np.arange(n), np.arange(n)] = np.inf
        if exclude is not None:
            dist[exclude] = np.inf
        order = np.argsort(dist, axis=1, kind="stable")[:, :k]
        expected = []
        for i in range(n):
            votes: dict = {}
            for j in order[i]:
                if np.isfinite(dist[i, j]):
                    votes[labels[j]] = votes.get(labels[j], 0) + 1
            best = max(votes.values(), default=0)
            seen = [labels[j] for j in order[i] if np.isfinite(dist[i, j])]
            expected.append(next((lab for lab in seen if votes[lab] == best), None))
        assert list(knn.knn_predict(x, labels, k=k, exclude=exclude)) == expected
        if exclude is not None:  # the same rule as a function of a block of query rows
            rows_rule = lambda rows, m=exclude: m[rows]  # noqa: E731
            assert list(knn.knn_predict(x, labels, k=k, exclude=rows_rule)) == expected


# -- the music-ID overlap rule ----------------------------------------------------------------
# Piece A on a 3 s / 1.5 s grid (starts 0, 1.5, 3, 4.5, 6 s) and piece B far away in time
# order but close in embedding space. Query: A's segment at 3 s (row 2). Its overlapping
# neighbours are A@1.5 and A@4.5 (|dt| = 1.5 s < 3 s); A@0 and A@6 are exactly one
# segment length away and share no audio.
PIECES = ["A", "A", "A", "A", "A", "B", "B", "B"]
STARTS = [0.0, 1.5, 3.0, 4.5, 6.0, 0.0, 1.5, 3.0]


def test_overlap_exclusion_marks_exactly_the_overlapping_segments_of_the_piece() -> None:
    exclude = overlap_exclusion(PIECES, STARTS, 3.0)
    block = exclude(np.arange(len(PIECES)))
    assert block.shape == (8, 8)
    assert set(np.flatnonzero(block[2])) == {1, 2, 3}  # itself and its two halves; not 0 or 6 s
    assert set(np.flatnonzero(block[0])) == {0, 1}
    assert set(np.flatnonzero(block[6])) == {5, 6, 7}  # B@1.5 s, never A@1.5 s
    np.testing.assert_array_equal(block, block.T)
    np.testing.assert_array_equal(exclude(np.array([2, 6])), block[[2, 6]])
    # 10 s every 5 s: the same rule at another length
    ten = overlap_exclusion(["A"] * 4, [0.0, 5.0, 10.0, 15.0], 10.0)(np.arange(4))
    assert set(np.flatnonzero(ten[1])) == {0, 1, 2}


def test_overlapping_neighbours_of_the_same_piece_cannot_vote() -> None:
    # The query's two overlapping neighbours are its nearest; everything else that is near
    # is piece B; A's non-overlapping segments are far. If the overlapping segments could
    # vote, A would win 2-1 (k=3); without them the vote is B's.
    x = np.array([[50.0], [0.1], [0.0], [0.2], [60.0], [1.0], [1.1], [1.2]])
    plain = knn_predict(x, PIECES, k=3)
    assert plain[2] == "A"  # what the old protocol did: the query's own audio voted
    ruled = knn_predict(x, PIECES, k=3, exclude=overlap_exclusion(PIECES, STARTS, 3.0))
    assert ruled[2] == "B"
    assert knn_accuracy(x, PIECES, k=3, exclude=overlap_exclusion(PIECES, STARTS, 3.0)) < (
        knn_accuracy(x, PIECES, k=3)
    )


def test_a_neighbour_exactly_one_segment_length_away_may_vote() -> None:
    # Nearest: the overlapping A@1.5 and A@4.5 (left out), then A@0 and A@6 (|dt| = 3 s, no
    # shared audio: they vote), then B. k=3: A, A, B -> A.
    x = np.array([[0.3], [0.1], [0.0], [0.2], [0.4], [1.0], [1.1], [1.2]])
    ruled = knn_predict(x, PIECES, k=3, exclude=overlap_exclusion(PIECES, STARTS, 3.0))
    assert ruled[2] == "A"


def test_overlap_edge_survives_rounded_start_times() -> None:
    # starts k * 0.1 s (0.30000000000000004 - 0.0 is one 0.3 s length away, not overlapping);
    # 0.2 s apart still overlaps
    starts = [k * 0.1 for k in range(8)]
    block = overlap_exclusion(["A"] * 8, starts, 0.3)(np.arange(8))
    for i in range(8):
        assert set(np.flatnonzero(block[i])) == {j for j in range(8) if abs(i - j) < 3}


def test_overlap_exclusion_checks_its_input() -> None:
    with pytest.raises(ValueError, match="segment_seconds"):
        overlap_exclusion(["A"], [0.0], 0.0)
    with pytest.raises(ValueError, match="2 start times but 1 pieces"):
        overlap_exclusion(["A"], [0.0, 1.0], 3.0)
    with pytest.raises(ValueError, match="'exclude': returned shape"):
        knn_predict(np.zeros((3, 1)), [1, 2, 3], exclude=lambda rows: np.zeros((1, 1), bool))
