"""report.json / report.md layout, and the t-SNE figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from instsim.evaluate.knn import knn_accuracy
from instsim.evaluate.plots import evaluation_plots, tsne_2d, tsne_png
from instsim.evaluate.protocols import MUSIC_ID_NEIGHBOURS, PSEUDO_MIX_NEIGHBOURS
from instsim.evaluate.report import PAPER_TABLE1, PAPER_TABLE2, render_markdown, write_report

INSTS = ["drums", "bass", "piano", "guitar", "others"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fake_report(music_id: bool = True, pseudo_mix: bool = True) -> dict:
    def accs(base: float, extra: dict | None = None) -> dict:
        return {c: base + i for i, c in enumerate(INSTS)} | (extra or {})

    mid = {"3s": accs(50.0, {"all": 60.0}), "10s": accs(70.0, {"all": 80.0})} if music_id else {}
    pm = {
        c: {"mean": 30.0 + i, "std": 1.5, "draws": [28.5 + i, 31.5 + i]}
        for i, c in enumerate(INSTS)
    }
    pm = pm if pseudo_mix else {}
    systems = {
        "csn": {"label": "my-csn (ours)", "kind": "csn", "source": "/m", "music_id": mid,
                "music_id_active": mid, "pseudo_mix": pm},
        "fcn-clean": {"label": "per-instrument FCN, clean stems", "kind": "fcn-clean", "source": "/m/stage1",
                      "music_id": {k: accs(90.0) for k in mid}, "music_id_active": {}, "pseudo_mix": {}},
        "baseline": {"label": "non-disentangled, whole embedding", "kind": "baseline", "source": "/m/baseline",
                     "music_id": {k: {"all": 12.25} for k in mid}, "music_id_active": {},
                     "pseudo_mix": {c: {"mean": None, "std": None, "draws": [None]} for c in INSTS} if pseudo_mix else {}},
    }  # fmt: skip
    return {
        "model": "/m",
        "model_name": "my-csn (ours)",
        "dataset": "slakh",
        "data_home": "/data/slakh",
        "split": "test",
        "n_tracks": 3,
        "n_tracks_split": 4,
        "tracks": ["T1", "T2", "T3"],
        "excluded_tracks": {
            "T4": "instrument active in < 10 % of its non-silent segments: bass 4.0 %"
        },
        "protocols": ["music-id", "pseudo-mix"],
        "neighbour_exclusion": {
            **({"music_id": MUSIC_ID_NEIGHBOURS} if music_id else {}),
            **({"pseudo_mix": PSEUDO_MIX_NEIGHBOURS} if pseudo_mix else {}),
        },
        "music_id": mid,
        "music_id_active": mid,
        "pseudo_mix": pm,
        "systems": systems,
        "counts": {
            "music_id": {
                k: {
                    "segment_seconds": s,
                    "hop_seconds": s / 2,
                    "pieces": 3,
                    "segments": 40,
                    "silent_segments_skipped": 2,
                    "active_segments": {},
                }
                for k, s in (("3s", 3.0), ("10s", 10.0))
                if k in mid
            },
            "pseudo_mix": {
                c: [
                    {
                        "seed": 1,
                        "pieces": 3,
                        "pseudo_mixes": 6,
                        "segments": 9,
                        "notes": ["3 of 10 focus pieces possible"],
                    },
                    {"seed": 2, "pieces": 2, "pseudo_mixes": 5, "segments": 8, "notes": []},
                ]
                for c in pm
            },
        },
        "settings": {
            "k": 5,
            "seed": 0,
            "draws": 2,
            "n_pieces": 10,
            "n_partners": 4,
            "pseudo_mix_seconds": 10.0,
        },
        "plots": [
            {
                "kind": "music_id",
                "view": "drums",
                "points": 30,
                "path": "plots/music_id_3s_drums.png",
            },
            {"kind": "pseudo_mix", "view": "bass", "points": 3, "skipped": "only 3 segments"},
        ],
        "instsim_version": "0.0",
        "created": "now",
        "seconds": 1.0,
    }


def table_rows(md: str, title: str) -> list[list[str]]:
    """The rows (cells) of the first Markdown table after the heading containing ``title``."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#") and title in line)
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
        elif rows and not line.startswith("|"):
            break
    return rows


def test_paper_numbers() -> None:
    assert PAPER_TABLE1["3s"]["proposed"]["drums"] == 82.89
    assert PAPER_TABLE1["10s"]["separated"]["piano"] == 50.34
    assert PAPER_TABLE1["3s"]["separated"]["guitar"] is None
    assert list(PAPER_TABLE2) == [
        "basic triplet",
        "aux + basic",
        "aux + basic + add",
        "aux + basic + add'",
    ]
    assert PAPER_TABLE2["aux + basic + add'"]["others"] == 74.7


def test_table1_has_the_papers_layout_with_ours_beside() -> None:
    md = render_markdown(fake_report())
    rows = table_rows(md, "Table 1")
    header, body = rows[0], {r[0]: r for r in rows[1:]}
    assert header[0] == "instrument"
    assert header[1:5] == ["3 s proposed (ours)", "(paper)", "3 s separated* (ours)", "(paper)"]
    assert header[5:9] == ["10 s proposed (ours)", "(paper)", "10 s separated* (ours)", "(paper)"]
    assert list(body) == [*INSTS, "all"]
    assert body["drums"][1:5] == ["50.00", "82.89", "90.00", "87.90"]
    assert body["bass"][5:9] == ["71.00", "84.45", "91.00", "64.87"]
    assert body["guitar"][4] == "–"  # the paper has no separated guitar
    assert body["all"][1] == "60.00" and body["all"][2] == "–"


def test_every_system_table_and_table2() -> None:
    md = render_markdown(fake_report())
    rows = table_rows(md, "Every system, 3 s inputs")
    assert rows[0][:4] == ["instrument", "my-csn (ours)", "per-instrument FCN, clean stems",
                           "non-disentangled, whole embedding"]  # fmt: skip
    body = {r[0]: r for r in rows[1:]}
    assert body["all"][3] == "12.25" and body["drums"][3] == "–"
    t2 = table_rows(md, "Table 2")
    assert t2[0] == ["variant", *INSTS]
    labels = [r[0] for r in t2[1:]]
    assert labels[:4] == [f"{v} (paper)" for v in PAPER_TABLE2]
    ours = {r[0]: r for r in t2[1:]}
    assert ours["my-csn (ours)"][1:3] == ["30.0 ± 1.5", "31.0 ± 1.5"]
    assert ours["basic triplet (paper)"][1] == "73.1"
    assert ours["non-disentangled, whole embedding"][1] == "–"


def test_counts_exclusions_and_figures_are_reported() -> None:
    md = render_markdown(fake_report())
    assert "**3** of 4 pieces pass the test filter" in md
    counts = {r[0]: r for r in table_rows(md, "Counts")[1:]}
    assert counts["3 s every 1.5 s"][1:] == ["3", "40", "2"]
    pm_rows = [r for r in table_rows(md, "Counts") if r[0] == "drums"]
    assert md.count("| drums | 2–3 | 5–6 | 8–9 | 3 of 10 focus pieces possible |") == 1, pm_rows
    assert "- T4: instrument active in < 10 % of its non-silent segments: bass 4.0 %" in md
    assert "![music_id drums](plots/music_id_3s_drums.png)" in md
    assert "pseudo_mix bass: skipped, only 3 segments" in md


def test_the_report_states_which_neighbours_may_vote() -> None:
    md = render_markdown(fake_report())
    assert f"- music-ID neighbours: {MUSIC_ID_NEIGHBOURS}" in md
    assert f"- pseudo-mix neighbours: {PSEUDO_MIX_NEIGHBOURS}" in md
    assert "overlap it in time" in MUSIC_ID_NEIGHBOURS and "one length away" in MUSIC_ID_NEIGHBOURS
    assert "pseudo-mix neighbours" not in render_markdown(fake_report(pseudo_mix=False))
    # a report.json written before the rule says so when rendered again
    old = fake_report()
    del old["neighbour_exclusion"]
    md = render_markdown(old)
    assert "music-ID neighbours: not recorded" in md and "could vote" in md


def test_one_protocol_only() -> None:
    md = render_markdown(fake_report(music_id=False))
    assert "Table 1" not in md and "Table 2" in md
    md = render_markdown(fake_report(pseudo_mix=False))
    assert "Table 1" in md and "Table 2" not in md


def test_write_report_round_trips(tmp_path: Path) -> None:
    rep = fake_report()
    js, md = write_report(rep, tmp_path / "out")
    assert json.loads(js.read_text()) == rep
    assert md.read_text().startswith("# instsim evaluation: my-csn (ours)")


# -- plots --------------------------------------------------------------------------------------
def test_tsne_keeps_clusters_apart(rng: np.random.Generator) -> None:
    centres = rng.standard_normal((4, 32)) * 5
    labels = np.repeat(np.arange(4), 10)
    x = centres[labels] + 0.05 * rng.standard_normal((40, 32))
    pts = tsne_2d(x, seed=0)
    assert pts.shape == (40, 2) and np.isfinite(pts).all()
    assert knn_accuracy(pts, labels) == 100.0
    with pytest.raises(ValueError, match="at least 4"):
        tsne_2d(x[:3])


def test_tsne_png_is_a_png(tmp_path: Path, rng: np.random.Generator) -> None:
    x = rng.standard_normal((12, 8))
    out = tsne_png(x, ["a", "b", "c"] * 4, tmp_path / "sub" / "f.png", "title")
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_evaluation_plots_draw_figs_5_and_6(tmp_path: Path) -> None:
    from instsim.evaluate.protocols import (
        EmbeddingStore,
        System,
        draw_pseudo_mix_set,
        music_id_segments,
    )
    from tests.evaluate.test_protocols import Oracle, make_pieces

    source, infos = make_pieces(5, seconds=12.0)
    store = EmbeddingStore(source)
    sy = System.csn("oracle", Oracle())
    ss = music_id_segments(source, sorted(infos), 3.0, 1.5)
    pms = {
        "bass": draw_pseudo_mix_set(infos, "bass", n_pieces=4, n_partners=2, seed=0),
        "drums": draw_pseudo_mix_set(infos, "drums", n_pieces=1, n_partners=2, seed=0),
    }
    seen = []
    entries = evaluation_plots(store, sy, ss, pms, tmp_path, n_pieces=3,
                               progress=lambda i, n: seen.append((i, n)))  # fmt: skip
    by_view = {(e["kind"], e["view"]): e for e in entries}
    assert set(by_view) == {("music_id", v) for v in [*INSTS, "all"]} | {
        ("pseudo_mix", "bass"),
        ("pseudo_mix", "drums"),
    }
    assert by_view["music_id", "drums"]["points"] == 3 * 7  # 3 pieces shown, 7 segments each
    assert by_view["pseudo_mix", "bass"]["points"] == pms["bass"].n_segments
    assert "skipped" in by_view["pseudo_mix", "drums"]  # 2 segments: no map
    for e in entries:
        if "path" in e:
            assert (tmp_path / e["path"]).read_bytes()[:8] == PNG_MAGIC
    assert seen[-1] == (len(entries), len(entries))


def test_follow_rates_table_and_reports_without_it() -> None:
    report = fake_report()
    stat = {"mean": 41.0, "std": 2.0, "draws": [39.0, 43.0]}
    report["systems"]["csn"]["pseudo_mix_follows"] = {
        "bass": {"follows_c": stat, "follows_rest": {**stat, "mean": 12.5},
                 "chance_c": 13.0, "chance_rest": 9.25},
    }  # fmt: skip
    rows = table_rows(render_markdown(report), "Does each sub-space follow")
    assert rows[0] == ["system", *INSTS]
    body = {r[0]: r for r in rows[1:]}
    assert body["my-csn (ours): follows c"][1:3] == ["–", "41.0 ± 2.0"]
    assert body["my-csn (ours): follows rest"][2] == "12.5 ± 2.0"
    assert body["chance: c / rest"][1:3] == ["–", "13.0 / 9.2"]
    # reports written before the rates existed render as before
    assert "Does each sub-space follow" not in render_markdown(fake_report())


def test_each_system_is_compared_with_the_model_draw_by_draw() -> None:
    report = fake_report()
    csn = report["systems"]["csn"]
    other = {
        "label": "candidate (ours)",
        "kind": "csn",
        "source": "/c",
        "music_id": {},
        "music_id_active": {},
        # drums: +2 and +4 over the model's 28.5 / 31.5 -> +3.0, SE 1.0: significant;
        # bass: +1 and -1 -> +0.0; piano: one draw missing -> no number
        "pseudo_mix": {
            "drums": {"mean": 33.0, "std": 0.0, "draws": [30.5, 35.5]},
            "bass": {"mean": 30.0, "std": 1.0, "draws": [30.5, 31.5]},
            "piano": {"mean": 30.0, "std": 0.0, "draws": [30.0, None]},
        },
    }
    report["systems"]["cand"] = other
    csn["pseudo_mix_follows"] = {
        "drums": {"follows_c": {"mean": 50.0, "std": 5.0, "draws": [45.0, 55.0]},
                  "follows_rest": {"mean": 10.0, "std": 0.0, "draws": [10.0, 10.0]},
                  "chance_c": 8.0, "chance_rest": 2.0},
    }  # fmt: skip
    other["pseudo_mix_follows"] = {
        "drums": {"follows_c": {"mean": 50.5, "std": 0.0, "draws": [50.0, 51.0]},
                  "follows_rest": {"mean": 7.0, "std": 0.0, "draws": [7.0, 7.0]},
                  "chance_c": 8.0, "chance_rest": 2.0},
    }  # fmt: skip
    rows = table_rows(render_markdown(report), "Each system against the model")
    assert rows[0] == ["change against my-csn (ours)", *INSTS]
    body = {r[0]: r[1:] for r in rows[1:]}
    assert body["candidate (ours): accuracy"][:3] == ["+3.0*", "+0.0", "–"]
    # drums follows c: +5 and -4 -> +0.5, not significant; follows rest -3 every draw
    assert body["candidate (ours): follows c"][0] == "+0.5"
    assert body["candidate (ours): follows rest"][0] == "-3.0*"
    # the baseline's draws are None: no row for it
    assert not any(k.startswith("non-disentangled") for k in body)
    # one system only: no such table
    del report["systems"]["cand"], report["systems"]["fcn-clean"], report["systems"]["baseline"]
    assert "Each system against the model" not in render_markdown(report)


def test_paired_change_rule() -> None:
    from instsim.errors import ParameterError
    from instsim.evaluate.report import paired_change

    # +5 on both draws: no spread, beyond any noise; -2 and +4: +1 with standard error 3
    assert paired_change([5.0, 15.0], [10.0, 20.0]) == (5.0, True)
    change, significant = paired_change([12.0, 16.0], [10.0, 20.0])
    assert change == pytest.approx(1.0) and not significant
    assert paired_change([1.0, 2.0], [1.0, 2.0]) == (0.0, False)
    with pytest.raises(ParameterError, match="2 or more"):
        paired_change([1.0], [2.0])
    with pytest.raises(ParameterError, match="as many draws"):
        paired_change([1.0, 2.0], [1.0, 2.0, 3.0])
