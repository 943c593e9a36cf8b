"""``report.json`` and ``report.md``: our numbers beside the paper's, in the paper's layout.

:func:`write_report` writes both files from the dict :func:`instsim.evaluate.run.run_evaluation`
returns (accuracies in percent; ``None`` where a number could not be measured).
:func:`render_markdown` lays it out as

* **Table 1** (music-ID kNN): one row per instrument, the paper's columns (3 s
  proposed, 3 s separated, 10 s proposed, 10 s separated), each with our value
  and the paper's side by side. Our "separated" is the per-instrument FCN on the
  clean stems (an upper reference: we have no separator);
* every system measured here, per input length (also restricted to the
  segments where the instrument plays);
* **Table 2** (pseudo-mix sub-space accuracy): the paper's four variants, then
  our systems as ``mean ± std`` over the draws; the follow rates on the same
  pseudo-mixes; and, when several systems were measured, each one's change against
  the first, paired draw by draw;
* the counts behind each number (pieces, segments, pseudo-mixes per draw),
  pieces the test filter removed, and the t-SNE figures.

The paper's numbers are :data:`PAPER_TABLE1` and :data:`PAPER_TABLE2` (docs/method.md).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from ..instruments import INSTRUMENTS

__all__ = ["PAPER_TABLE1", "PAPER_TABLE2", "paired_change", "render_markdown", "write_report"]

#: Table 1 of the paper: music-ID kNN accuracy [%] on Slakh2100 test (``None``: not reported).
PAPER_TABLE1: dict[str, dict[str, dict[str, float | None]]] = {
    "3s": {
        "proposed": {"drums": 82.89, "bass": 61.94, "piano": 67.40, "guitar": 70.15, "others": 74.08},
        "separated": {"drums": 87.90, "bass": 51.46, "piano": 47.00, "guitar": None, "others": None},
    },
    "10s": {
        "proposed": {"drums": 89.69, "bass": 84.45, "piano": 85.70, "guitar": 86.26, "others": 84.86},
        "separated": {"drums": 88.91, "bass": 64.87, "piano": 50.34, "guitar": None, "others": None},
    },
}  # fmt: skip

#: Table 2 of the paper: pseudo-mix sub-space accuracy [%] per training variant.
PAPER_TABLE2: dict[str, dict[str, float]] = {
    "basic triplet": {"drums": 73.1, "bass": 28.9, "piano": 26.1, "guitar": 35.7, "others": 67.2},
    "aux + basic": {"drums": 76.8, "bass": 25.7, "piano": 23.5, "guitar": 35.9, "others": 72.0},
    "aux + basic + add": {"drums": 82.5, "bass": 31.8, "piano": 28.5, "guitar": 40.4, "others": 72.5},
    "aux + basic + add'": {"drums": 85.5, "bass": 37.1, "piano": 31.3, "guitar": 44.7, "others": 74.7},
}  # fmt: skip

_DASH = "–"
_SEPARATED = "fcn-clean"


def _pct(v: float | None, digits: int = 2) -> str:
    return _DASH if v is None else f"{v:.{digits}f}"


def _mean_std(d: Mapping[str, Any] | None) -> str:
    if not d or d.get("mean") is None:
        return _DASH
    return f"{d['mean']:.1f} ± {d['std']:.1f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _instruments(report: Mapping[str, Any]) -> list[str]:
    """Row names: the paper's instruments first, then any other sub-space measured."""
    names = list(INSTRUMENTS)
    for sy in report.get("systems", {}).values():
        for per_len in sy.get("music_id", {}).values():
            names += [n for n in per_len if n not in names and n != "all"]
        names += [n for n in sy.get("pseudo_mix", {}) if n not in names]
    return names


def _table1(report: Mapping[str, Any]) -> list[str]:
    systems = report["systems"]
    main = report["music_id"]
    sep = systems.get(_SEPARATED, {}).get("music_id", {})
    lengths = [k for k in ("3s", "10s") if k in main] + [k for k in main if k not in ("3s", "10s")]
    header = ["instrument"]
    for key in lengths:
        n = key[:-1] + " s"
        header += [f"{n} proposed (ours)", "(paper)", f"{n} separated* (ours)", "(paper)"]
    rows = []
    for inst in [*_instruments(report), "all"]:
        row = [inst]
        for key in lengths:
            paper = PAPER_TABLE1.get(key, {})
            row += [
                _pct(main.get(key, {}).get(inst)),
                _pct(paper.get("proposed", {}).get(inst)),
                _pct(sep.get(key, {}).get(inst)),
                _pct(paper.get("separated", {}).get(inst)),
            ]
        rows.append(row)
    lines = _table(header, rows)
    lines += [
        "",
        "\\* *separated*: the paper feeds separated sources to per-instrument FCNs; ours are the "
        "per-instrument FCNs of stage 1 on the **clean** stems (perfect separation, an upper "
        "reference), "
        + ("shown when `stage1/` was found." if sep else "not found for this model (–)."),
        "*all*: the whole embedding, every sub-space L2-normalised.",
    ]
    return lines


def _systems_tables(report: Mapping[str, Any], key: str, field: str) -> list[str]:
    systems = report["systems"]
    names = [n for n, sy in systems.items() if sy.get(field, {}).get(key)]
    if not names:
        return []
    paper = PAPER_TABLE1.get(key, {})
    header = ["instrument"] + [systems[n]["label"] for n in names]
    if field == "music_id":
        header += ["paper proposed", "paper separated"]
    rows = []
    for inst in [*_instruments(report), "all"]:
        vals = [systems[n][field][key].get(inst) for n in names]
        row = [inst] + [_pct(v) for v in vals]
        if field == "music_id":
            row += [
                _pct(paper.get("proposed", {}).get(inst)),
                _pct(paper.get("separated", {}).get(inst)),
            ]
        if any(v is not None for v in vals):
            rows.append(row)
    return _table(header, rows)


def _columns(report: Mapping[str, Any], key: str) -> list[str]:
    """Column names: the paper's instruments, then any other measured under ``report[key]``."""
    return list(INSTRUMENTS) + [c for c in report.get(key, {}) if c not in INSTRUMENTS]


def _table2(report: Mapping[str, Any]) -> list[str]:
    insts = _columns(report, "pseudo_mix")
    rows = [[f"{v} (paper)"] + [_pct(t.get(c), 1) for c in insts] for v, t in PAPER_TABLE2.items()]
    for sy in report["systems"].values():
        if sy.get("pseudo_mix"):
            rows.append([sy["label"]] + [_mean_std(sy["pseudo_mix"].get(c)) for c in insts])
    return _table(["variant", *insts], rows)


def _follows_table(report: Mapping[str, Any]) -> list[str]:
    """Rows "follows c" and "follows rest" per system, and the chance levels (older reports: none)."""
    insts = _columns(report, "pseudo_mix_follows")
    rows, chance = [], {}
    for sy in report["systems"].values():
        f = sy.get("pseudo_mix_follows")
        if not f:
            continue
        for key, what in (("follows_c", "follows c"), ("follows_rest", "follows rest")):
            rows.append(
                [f"{sy['label']}: {what}"] + [_mean_std(f.get(c, {}).get(key)) for c in insts]
            )
        for c in insts:
            if c in f:
                chance[c] = f"{f[c]['chance_c']:.1f} / {f[c]['chance_rest']:.1f}"
    if not rows:
        return []
    rows.append(["chance: c / rest"] + [chance.get(c, _DASH) for c in insts])
    return _table(["system", *insts], rows)


def paired_change(before: Sequence[float], after: Sequence[float]) -> tuple[float, bool]:
    """Mean of ``after - before`` over paired draws, and whether it is beyond twice its
    standard error (the rule every "``*``" of the reports and docs/results.md uses).

    Parameters
    ----------
    before, after : sequence of float, the same length >= 2
        One value per draw, draw ``k`` measured on the same material in both.
    """
    if len(before) != len(after) or len(before) < 2:
        raise ParameterError(
            "after", f"needs as many draws as before, 2 or more; got {len(before)} and {len(after)}"
        )
    d = [b - a for a, b in zip(before, after, strict=True)]
    mean = sum(d) / len(d)
    se = math.sqrt(sum((v - mean) ** 2 for v in d) / (len(d) - 1) / len(d))
    return mean, abs(mean) > 2 * se


def _paired_cell(first: Mapping[str, Any] | None, other: Mapping[str, Any] | None) -> str:
    """``"+1.2*"`` (:func:`paired_change` of the draws); "–" unless both have the same
    number (2 or more) of measured draws."""
    x = (first or {}).get("draws") or []
    y = (other or {}).get("draws") or []
    if len(x) < 2 or len(x) != len(y) or None in x or None in y:
        return _DASH
    mean, significant = paired_change(x, y)
    return f"{mean:+.1f}" + ("*" if significant else "")


def _paired_table(report: Mapping[str, Any]) -> list[str]:
    """Each system's change against the first (the model), pseudo-mix accuracy and follow rates."""
    systems = list(report["systems"].values())
    if len(systems) < 2:
        return []
    first = systems[0]
    insts = _columns(report, "pseudo_mix")

    def accuracy(sy: Mapping[str, Any], c: str) -> Any:
        return sy.get("pseudo_mix", {}).get(c)

    def rate(key: str) -> Any:
        return lambda sy, c: sy.get("pseudo_mix_follows", {}).get(c, {}).get(key)

    rows = []
    for sy in systems[1:]:
        for what, get in (
            ("accuracy", accuracy),
            ("follows c", rate("follows_c")),
            ("follows rest", rate("follows_rest")),
        ):
            cells = [_paired_cell(get(first, c), get(sy, c)) for c in insts]
            if any(v != _DASH for v in cells):
                rows.append([f"{sy['label']}: {what}", *cells])
    return _table([f"change against {first['label']}", *insts], rows) if rows else []


def _span(values: Sequence[int]) -> str:
    lo, hi = min(values), max(values)
    return str(lo) if lo == hi else f"{lo}–{hi}"


def _counts(report: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    mid = report["counts"].get("music_id", {})
    if mid:
        rows = [
            [
                f"{c['segment_seconds']:g} s every {c['hop_seconds']:g} s",
                str(c["pieces"]),
                str(c["segments"]),
                str(c["silent_segments_skipped"]),
            ]
            for c in mid.values()
        ]
        lines += ["Music-ID:", ""]
        lines += _table(["input", "pieces", "segments", "silent segments left out"], rows)
        lines.append("")
    pm = report["counts"].get("pseudo_mix", {})
    if pm:
        s = report["settings"]
        lines += [
            f"Pseudo-mix, per instrument over {s['draws']} draws (asked: {s['n_pieces']} pieces x "
            f"{s['n_partners']} pseudo-mixes, {s['pseudo_mix_seconds']:g} s segments):",
            "",
        ]
        rows = []
        for c, draws in pm.items():
            notes = sorted({n for d in draws for n in d["notes"]})
            rows.append(
                [
                    c,
                    _span([d["pieces"] for d in draws]),
                    _span([d["pseudo_mixes"] for d in draws]),
                    _span([d["segments"] for d in draws]),
                    "; ".join(notes[:3]) + (f" (+{len(notes) - 3} more)" if len(notes) > 3 else ""),
                ]
            )
        lines += _table(["instrument", "pieces", "pseudo-mixes", "segments", "shortfall"], rows)
        lines.append("")
    return lines


def _neighbour_lines(report: Mapping[str, Any]) -> list[str]:
    """Which segments may vote, per protocol (``neighbour_exclusion``; older reports lack it)."""
    rules = report.get("neighbour_exclusion")
    if rules is None:
        if not report.get("music_id"):
            return []
        return [
            "- music-ID neighbours: not recorded (a report made before the overlap rule: "
            "segments of the query's piece overlapping it in time could vote)"
        ]
    names = {"music_id": "music-ID", "pseudo_mix": "pseudo-mix"}
    return [f"- {names.get(key, key)} neighbours: {rule}" for key, rule in rules.items()]


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown (see the module docstring for its layout)."""
    s = report["settings"]
    lines = [
        f"# instsim evaluation: {report['model_name']}",
        "",
        f"- model: `{report['model']}`",
        f"- dataset: `{report['dataset']}` (`{report['data_home']}`), split `{report['split']}`: "
        f"**{report['n_tracks']}** of {report['n_tracks_split']} pieces pass the test filter "
        f"(paper: 136 of 151)",
        f"- kNN: k = {s['k']}, leave-one-out; sub-spaces L2-normalised; accuracies in %",
        *_neighbour_lines(report),
        f"- seed {s['seed']}; instsim {report.get('instsim_version', '?')}; "
        f"{report.get('seconds', 0):.0f} s; {report.get('created', '')}",
        "",
        "How to read this report: docs/evaluation.md.",
        "",
    ]
    if report["music_id"]:
        lines += ["## Table 1: music-ID kNN accuracy [%]", "", *_table1(report), ""]
        for key in report["music_id"]:
            t = _systems_tables(report, key, "music_id")
            if t:
                lines += [f"### Every system, {key[:-1]} s inputs", "", *t, ""]
            t = _systems_tables(report, key, "music_id_active")
            if t:
                lines += [
                    f"### Every system, {key[:-1]} s inputs, only segments where the instrument plays",
                    "",
                    *t,
                    "",
                ]
    if report["pseudo_mix"]:
        lines += [
            "## Table 2: pseudo-mix sub-space accuracy [%]",
            "",
            f"Ours: mean ± standard deviation over {s['draws']} seeded draws of the pseudo-mix sets.",
            "",
            *_table2(report),
            "",
        ]
        follows = _follows_table(report)
        if follows:
            lines += [
                "### Does each sub-space follow its instrument or the rest? [%]",
                "",
                "The same pseudo-mixes, compared only with segments of the same time of their "
                "focus piece: the nearest one holds the same stretch of the focus instrument "
                "(follows c) or comes from the same rest piece (follows rest), as in the "
                "real-audio check. Mean ± standard deviation over the draws.",
                "",
                *follows,
                "",
            ]
        paired = _paired_table(report)
        if paired:
            lines += [
                "### Each system against the model, paired over the draws [points]",
                "",
                "Mean over the draws of (system - model) on the same pseudo-mixes; `*`: beyond "
                "twice the standard error of the paired differences.",
                "",
                *paired,
                "",
            ]
    counts = _counts(report)
    if counts:
        lines += ["## Counts", "", *counts]
    excluded = report.get("excluded_tracks", {})
    if excluded:
        lines += [f"## Pieces left out ({len(excluded)})", ""]
        items = sorted(excluded.items())
        lines += [f"- {t}: {why}" for t, why in items[:30]]
        if len(items) > 30:
            lines.append(f"- ... and {len(items) - 30} more (report.json)")
        lines.append("")
    plots = report.get("plots", [])
    if plots:
        lines += ["## Figures", ""]
        for p in plots:
            if "path" in p:
                lines += [f"![{p['kind']} {p['view']}]({p['path']})", ""]
            else:
                lines += [f"- {p['kind']} {p['view']}: skipped, {p['skipped']}", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(report: Mapping[str, Any], out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` into ``out_dir`` (created).

    Returns
    -------
    (Path, Path)
        The JSON and Markdown files.
    """
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    js = out / "report.json"
    md = out / "report.md"
    js.write_text(
        json.dumps(report, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8"
    )
    md.write_text(render_markdown(report), encoding="utf-8")
    return js, md
