"""The real-audio check's metric (constructed embeddings with known answers) and evaluate_set."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from instsim.errors import ConfigError, DatasetError
from instsim.evaluate.real import (
    BASELINE,
    evaluate_set,
    follow_rates,
    format_report,
    logmel_stats,
    nearest_other,
    paired_changes,
)
from instsim.evaluate.realset import build_set
from instsim.frontend import LogMelConfig


def grid(n_stems: int, n_rests: int) -> tuple[list[str], list[str]]:
    stems = [f"s{i}" for i in range(n_stems) for _ in range(n_rests)]
    rests = [f"r{j}" for _ in range(n_stems) for j in range(n_rests)]
    return stems, rests


def one_hot(labels: list[str], rng: np.random.Generator, noise: float = 0.01) -> np.ndarray:
    names = sorted(set(labels))
    x = np.array([[float(lab == n) for n in names] for lab in labels])
    return x + noise * rng.standard_normal(x.shape)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize(
    ("follows", "expected"),
    [("stem", (100.0, 0.0)), ("rest", (0.0, 100.0))],
    ids=["follows-its-instrument", "follows-the-rest"],
)
def test_constructed_spaces_score_what_they_follow(rng, metric, follows, expected) -> None:
    stems, rests = grid(4, 5)
    x = one_hot(stems if follows == "stem" else rests, rng)
    r = follow_rates(x, stems, rests, metric)
    assert (r["follows_c"], r["follows_rest"]) == expected


def test_chance_levels_of_a_grid() -> None:
    stems, rests = grid(8, 10)  # 80 mixes: 9 others share the stem, 7 share the rest
    r = follow_rates(np.eye(80), stems, rests)
    assert r["chance_c"] == pytest.approx(100 * 9 / 79)
    assert r["chance_rest"] == pytest.approx(100 * 7 / 79)


def test_random_embeddings_score_about_chance() -> None:
    stems, rests = grid(8, 10)
    rng = np.random.default_rng(0)
    runs = [follow_rates(rng.standard_normal((80, 16)), stems, rests) for _ in range(200)]
    assert np.mean([r["follows_c"] for r in runs]) == pytest.approx(100 * 9 / 79, abs=1.5)
    assert np.mean([r["follows_rest"] for r in runs]) == pytest.approx(100 * 7 / 79, abs=1.5)


def test_a_mix_is_never_its_own_nearest_and_ties_go_to_the_lower_index() -> None:
    x = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    nn = nearest_other(x)
    assert list(nn) == [1, 0, 0, 0]
    assert all(nn != np.arange(4))


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ConfigError, match="metric"):
        nearest_other(np.eye(3), "manhattan")
    with pytest.raises(ConfigError, match="embeddings"):
        nearest_other(np.ones((1, 4)))
    with pytest.raises(ConfigError, match="3 vectors, 2 stems"):
        follow_rates(np.eye(3), ["a", "b"], ["x", "y"])


def test_logmel_stats_are_standardised_and_tell_timbres_apart(rng) -> None:
    cfg = LogMelConfig()
    t = np.arange(22050) / 22050
    low = [np.sin(2 * np.pi * 110 * t) + 0.01 * rng.standard_normal(len(t)) for _ in range(3)]
    high = [np.sin(2 * np.pi * 3000 * t) + 0.01 * rng.standard_normal(len(t)) for _ in range(3)]
    f = logmel_stats(low + high, cfg)
    assert f.shape == (6, 2 * cfg.n_mels)
    assert np.allclose(f.mean(axis=0), 0, atol=1e-9)
    nn = nearest_other(f, "euclidean")
    assert all(nn[:3] < 3) and all(nn[3:] >= 3)


def test_evaluate_set_reports_every_space_and_the_baseline(
    stand_in_sources, tmp_path: Path, extractor
) -> None:
    out = tmp_path / "set"
    build_set(out, sources=stand_in_sources, focus=["drums", "guitar"], draws=2, n_stems=3,
              n_rests=3, seconds=3.0)  # fmt: skip
    seen = []
    report = evaluate_set(out, extractor, progress=lambda d, n: seen.append((d, n)))
    assert seen[-1] == (36, 36)
    assert set(report["focus"]) == {"drums", "guitar"}
    e = report["focus"]["drums"]
    assert (e["n_stems"], e["n_rests"], e["n_mixes"], e["draws"]) == (3, 3, 9, 2)
    assert e["chance_c"] == pytest.approx(100 * 2 / 8)
    assert list(e["systems"]) == [*extractor.instruments, BASELINE]
    for s in e["systems"].values():
        assert len(s["follows_c"]) == 2
        assert 0 <= s["follows_c_mean"] <= 100 and 0 <= s["follows_rest_mean"] <= 100
        assert s["follows_c_mean"] == pytest.approx(np.mean(s["follows_c"]))
    md = format_report(report)
    assert "## focus: drums (3 drums recordings x 3 rests = 9 mixes, 2 draws)" in md
    assert "| **drums** |" in md and "| chance | 25.0 |" in md
    # one source package here: the split by source is in the JSON, not in the markdown
    for s in e["systems"].values():
        assert list(s["follows_c_by_source"]) == ["test-pkg"]
        by = s["follows_c_by_source"]["test-pkg"]
        assert by["queries"] == 18 and by["follows_c"] == pytest.approx(s["follows_c_mean"])
    assert "by the source of the focus recording" not in md


def test_follows_c_is_split_by_the_source_of_the_focus_recording(tmp_path: Path, extractor) -> None:
    from tests.evaluate.conftest import make_sources

    a = make_sources(tmp_path / "a", {"drums": 2, "bass": 3, "piano": 2, "guitar": 2})
    b = make_sources(tmp_path / "b", {"drums": 2})
    b = [dataclasses.replace(s, id=s.id.replace("test:", "other:") + "b", package="other-pkg")
         for s in b]  # fmt: skip
    out = tmp_path / "set"
    build_set(out, sources=a + b, focus=["drums"], draws=1, n_stems=4, n_rests=3, seconds=3.0)
    report = evaluate_set(out, extractor)
    e = report["focus"]["drums"]
    stems = {m["stem"] for m in json.loads((out / "manifest.json").read_text())["mixes"]}
    for s in e["systems"].values():
        by = s["follows_c_by_source"]
        assert set(by) == {"test-pkg", "other-pkg"}
        assert sum(v["queries"] for v in by.values()) == e["n_mixes"]
        assert by["other-pkg"]["queries"] == 3 * sum(x.startswith("other:") for x in stems)
        pooled = sum(v["follows_c"] * v["queries"] for v in by.values()) / e["n_mixes"]
        assert pooled == pytest.approx(s["follows_c_mean"])
    md = format_report(report)
    assert "Sub-space drums follows drums, by the source of the focus recording" in md
    assert "other-pkg" in md and "(log-mel" in md


def test_evaluate_set_without_a_manifest(tmp_path: Path, extractor) -> None:
    with pytest.raises(DatasetError, match="real-check build"):
        evaluate_set(tmp_path, extractor)


def _report(follows_c: dict, follows_rest: dict, seconds: float = 6.0) -> dict:
    return {
        "settings": {"draws": 2, "seconds": seconds},
        "focus": {
            "piano": {
                "draws": 2,
                "systems": {
                    name: {"follows_c": follows_c[name], "follows_rest": follows_rest[name]}
                    for name in follows_c
                },
            }
        },
    }


def test_paired_changes_against_an_earlier_report_of_the_same_set() -> None:
    new = _report({"piano": [10.0, 20.0], "drums": [10.0, 20.0]},
                  {"piano": [60.0, 70.0], "drums": [5.0, 5.0]})  # fmt: skip
    old = _report({"piano": [5.0, 15.0], "drums": [12.0, 16.0]},
                  {"piano": [60.0, 70.0], "drums": [5.0, 6.0]})  # fmt: skip
    ch = paired_changes(new, old)["piano"]
    # +5 on both draws: beyond any noise; -2 and +4: +1, standard error 3
    assert ch["piano"]["follows_c"] == {"change": 5.0, "significant": True}
    assert ch["drums"]["follows_c"]["change"] == pytest.approx(1.0)
    assert not ch["drums"]["follows_c"]["significant"]
    assert ch["piano"]["follows_rest"] == {"change": 0.0, "significant": False}
    # a space only one report has is left out
    del old["focus"]["piano"]["systems"]["drums"]
    assert set(paired_changes(new, old)["piano"]) == {"piano"}
    # one draw: the change, never called significant
    one_new = _report({"piano": [30.0]}, {"piano": [50.0]})
    one_old = _report({"piano": [20.0]}, {"piano": [50.0]})
    for r in (one_new, one_old):
        r["focus"]["piano"]["draws"] = 1
    assert paired_changes(one_new, one_old)["piano"]["piano"]["follows_c"] == {
        "change": 10.0,
        "significant": False,
    }
    with pytest.raises(ConfigError, match="another set: settings differ in seconds"):
        paired_changes(new, _report({"piano": [1.0, 2.0]}, {"piano": [1.0, 2.0]}, seconds=3.0))
