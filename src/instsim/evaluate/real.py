"""The real-audio check: does each sub-space follow its instrument and ignore the rest?

On a set built by :func:`instsim.evaluate.realset.build_set` (grids of mixes
``c-stem_i + rest_j`` of real recordings), every mix asks: which *other* mix of
its grid is nearest? It shares either the ``c`` recording (different
accompaniment), or the rest (different ``c`` recording), or nothing.
:func:`follow_rates` counts, per compared space:

* ``follows_c``: % of mixes whose nearest other mix shares the ``c`` recording;
* ``follows_rest``: % whose nearest other mix shares the rest.

In an ``n_stems x n_rests`` grid of ``N`` mixes, picking a neighbour at random
gives ``follows_c = (n_rests - 1) / (N - 1)`` and ``follows_rest = (n_stems - 1)
/ (N - 1)`` (the ``chance_*`` fields). Sub-space ``c`` should score high on
``follows_c`` and near chance on ``follows_rest``; every other sub-space
``s != c`` should *not* follow ``c``. Because the rests of non-drum grids hold a
drum loop, the drums sub-space should follow the rest there.

Beside the model's sub-spaces, :func:`logmel_stats` gives a non-learned
baseline: per mix, the mean and standard deviation over frames of each band of
the log-mel spectrogram (the model's own frontend, without its per-segment
normalisation), standardised per dimension over the grid. Sub-spaces are
compared by cosine (each L2-normalised), the baseline by Euclidean distance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DatasetError
from .realset import load_manifest
from .report import paired_change

__all__ = [
    "check_same_set",
    "evaluate_set",
    "follow_rates",
    "format_report",
    "logmel_stats",
    "nearest_other",
    "paired_changes",
]

BASELINE = "logmel-mean-std"


def nearest_other(x: np.ndarray, metric: str = "cosine") -> np.ndarray:
    """Index of each row's nearest other row.

    Parameters
    ----------
    x : np.ndarray [shape=(n, d)], n >= 2
    metric : {"cosine", "euclidean"}
        Ties go to the lower index.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=int64]
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ConfigError("embeddings", f"need shape (n >= 2, d), got {x.shape}")
    if metric == "cosine":
        u = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        dist = -(u @ u.T)
    elif metric == "euclidean":
        sq = np.einsum("ij,ij->i", x, x)
        dist = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    else:
        raise ConfigError("metric", f"got {metric!r}; valid: 'cosine', 'euclidean'")
    np.fill_diagonal(dist, np.inf)
    return np.argmin(dist, axis=1)


def follow_rates(
    x: np.ndarray, stems: Sequence[object], rests: Sequence[object], metric: str = "cosine"
) -> dict[str, float]:
    """How often the nearest other mix shares the focus recording, or the rest.

    Parameters
    ----------
    x : np.ndarray [shape=(n, d)]
        One vector per mix of one grid.
    stems, rests : sequence [shape=(n,)]
        Each mix's focus recording and rest (any hashable ids).
    metric : {"cosine", "euclidean"}

    Returns
    -------
    dict
        ``follows_c`` and ``follows_rest`` [%], and their chance levels
        ``chance_c`` and ``chance_rest`` [%] (a uniformly random other mix).
    """
    s = np.asarray(stems, dtype=object)
    r = np.asarray(rests, dtype=object)
    n = len(s)
    if len(r) != n or np.shape(x)[0] != n:
        raise ConfigError("labels", f"{np.shape(x)[0]} vectors, {n} stems, {len(r)} rests")
    return _rates(nearest_other(x, metric), s, r)


def _rates(nn: np.ndarray, s: np.ndarray, r: np.ndarray) -> dict[str, float]:
    """:func:`follow_rates` from each row's nearest other row ``nn``."""
    n = len(s)
    same_s = s[:, None] == s[None, :]
    same_r = r[:, None] == r[None, :]
    np.fill_diagonal(same_s, False)
    np.fill_diagonal(same_r, False)
    return {
        "follows_c": 100.0 * float(np.mean(s[nn] == s)),
        "follows_rest": 100.0 * float(np.mean(r[nn] == r)),
        "chance_c": 100.0 * float(same_s.sum() / (n * (n - 1))),
        "chance_rest": 100.0 * float(same_r.sum() / (n * (n - 1))),
    }


def logmel_stats(waves: Sequence[np.ndarray], frontend_config: Any) -> np.ndarray:
    """Non-learned features: per-band mean and std over frames of the log-mel spectrogram.

    Parameters
    ----------
    waves : sequence of np.ndarray [shape=(n_samples,)]
        Mono audio at ``frontend_config.sample_rate``.
    frontend_config : instsim.frontend.LogMelConfig
        Used as is, except that no per-segment normalisation is applied.

    Returns
    -------
    np.ndarray [shape=(n, 2 * n_mels), dtype=float64]
        Standardised per dimension over the ``n`` inputs.
    """
    import dataclasses

    import torch

    from ..frontend import LogMel

    fe = LogMel(dataclasses.replace(frontend_config, normalization="none"))
    rows = []
    with torch.no_grad():
        for w in waves:
            m = fe(torch.as_tensor(np.asarray(w, dtype=np.float32))[None])[0, 0]
            rows.append(torch.cat([m.mean(dim=1), m.std(dim=1)]).double().numpy())
    f = np.stack(rows)
    return (f - f.mean(axis=0)) / np.maximum(f.std(axis=0), 1e-9)


def _grids(manifest: dict[str, Any]) -> dict[tuple[int, str], list[int]]:
    grids: dict[tuple[int, str], list[int]] = {}
    for k, m in enumerate(manifest["mixes"]):
        grids.setdefault((int(m["draw"]), str(m["focus"])), []).append(k)
    return grids


def evaluate_set(
    set_dir: str | Path,
    extractor: Any,
    *,
    baseline: bool = True,
    batch_size: int = 32,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the check on a built set with one model.

    Parameters
    ----------
    set_dir : path
        A folder written by :func:`~instsim.evaluate.realset.build_set`.
    extractor : instsim.Extractor
    baseline : bool
        Also score the log-mel mean/std baseline (:func:`logmel_stats`).
    progress : callable ``(done, total)`` or None
        Called as mixes are embedded.

    Returns
    -------
    dict
        ``{"focus": {c: {"n_stems", "n_rests", "n_mixes", "draws", "chance_c",
        "chance_rest", "systems": {name: {"follows_c": [per draw], "follows_rest":
        [...], "follows_c_mean", "follows_c_std", "follows_rest_mean",
        "follows_rest_std", "follows_c_by_source"}}}}, "instruments", "settings",
        "packages"}``; percentages, one value per draw in manifest order.
        ``follows_c_by_source`` splits the queries by the package their focus
        recording comes from (``{package: {"follows_c": %, "queries": n}}``, pooled
        over draws), so a result can be checked on each source of recordings apart.
    """
    from ..audio import load_audio

    manifest = load_manifest(set_dir)
    root = Path(set_dir)
    mixes = manifest["mixes"]
    paths = [str(root / m["file"]) for m in mixes]
    sr = extractor.sample_rate
    emb = np.empty((len(mixes), extractor.embedding_dim), dtype=np.float32)
    for k, res in enumerate(extractor.embed_files(paths, batch_size=batch_size)):
        emb[k] = res.embedding.vector()
        if progress is not None:
            progress(k + 1, len(mixes))
    d = extractor.subspace_dim
    insts = list(extractor.instruments)
    sources = manifest.get("sources", {})
    package = {
        m["stem"]: sources.get(m["stem"], {}).get("package") or str(m["stem"]).split(":")[0]
        for m in mixes
    }

    out: dict[str, Any] = {}
    for (_draw, focus), idx in sorted(_grids(manifest).items()):
        stems = [mixes[k]["stem"] for k in idx]
        rests = [mixes[k]["rest_id"] for k in idx]
        entry = out.setdefault(
            focus,
            {
                "n_stems": len(set(stems)),
                "n_rests": len(set(rests)),
                "n_mixes": len(idx),
                "draws": 0,
                "systems": {},
            },
        )
        entry["draws"] += 1
        spaces: dict[str, tuple[np.ndarray, str]] = {
            name: (emb[idx, j * d : (j + 1) * d], "cosine") for j, name in enumerate(insts)
        }
        if baseline:
            waves = [load_audio(paths[k], sr=sr)[0] for k in idx]
            spaces[BASELINE] = (logmel_stats(waves, extractor.config.frontend), "euclidean")
        s_arr = np.asarray(stems, dtype=object)
        r_arr = np.asarray(rests, dtype=object)
        for name, (x, metric) in spaces.items():
            nn = nearest_other(x, metric)
            r = _rates(nn, s_arr, r_arr)
            sys_entry = entry["systems"].setdefault(name, {"follows_c": [], "follows_rest": []})
            sys_entry["follows_c"].append(r["follows_c"])
            sys_entry["follows_rest"].append(r["follows_rest"])
            tally = sys_entry.setdefault("_by_source", {})
            for q, hit in enumerate(s_arr[nn] == s_arr):
                counts = tally.setdefault(package[stems[q]], [0, 0])
                counts[0] += int(hit)
                counts[1] += 1
            entry.setdefault("_chance_c", []).append(r["chance_c"])
            entry.setdefault("_chance_rest", []).append(r["chance_rest"])
    if not out:
        raise DatasetError(f"{set_dir}: no grid to evaluate")
    for entry in out.values():
        entry["chance_c"] = float(np.mean(entry.pop("_chance_c")))
        entry["chance_rest"] = float(np.mean(entry.pop("_chance_rest")))
        for sys_entry in entry["systems"].values():
            for key in ("follows_c", "follows_rest"):
                v = np.asarray(sys_entry[key])
                sys_entry[f"{key}_mean"] = float(v.mean())
                sys_entry[f"{key}_std"] = float(v.std())
            sys_entry["follows_c_by_source"] = {
                pkg: {"follows_c": 100.0 * hit / n, "queries": n}
                for pkg, (hit, n) in sorted(sys_entry.pop("_by_source").items())
            }
    return {
        "instruments": insts,
        "focus": out,
        "settings": manifest["settings"],
        "packages": manifest.get("packages", {}),
        "n_sources": len(manifest.get("sources", {})),
    }


def check_same_set(settings: dict[str, Any], earlier: dict[str, Any]) -> None:
    """Refuse to pair two runs unless their sets were built alike (``settings`` of the set
    and of the earlier report).

    Raises
    ------
    ConfigError
        The settings differ; the message names each differing setting.
    """
    if settings == earlier:
        return
    diff = [k for k in sorted(set(settings) | set(earlier)) if settings.get(k) != earlier.get(k)]
    raise ConfigError(
        "compare_to",
        "the earlier report is of another set: settings differ in " + ", ".join(diff),
    )


def paired_changes(report: dict[str, Any], earlier: dict[str, Any]) -> dict[str, Any]:
    """This report's change against an earlier report of the same set, draw by draw.

    Both reports must come from one set (equal ``settings`` and draws per focus), so
    draw ``k`` holds the same mixes in both and the differences are paired.

    Parameters
    ----------
    report, earlier : dict
        Results of :func:`evaluate_set` (``earlier`` as read back from its
        ``report.json``).

    Returns
    -------
    dict
        ``{focus: {space: {"follows_c": {"change", "significant"}, "follows_rest":
        {...}}}}`` for every space in both reports; ``change`` is the mean over the
        draws of (report - earlier) [percentage points], ``significant`` whether it
        exceeds twice the standard error of the paired differences.

    Raises
    ------
    ConfigError
        The two reports are not of the same set; the message names what differs.
    """
    check_same_set(report.get("settings", {}), earlier.get("settings", {}))
    out: dict[str, Any] = {}
    for focus, entry in report["focus"].items():
        old = earlier.get("focus", {}).get(focus)
        if old is None:
            continue
        if old.get("draws") != entry["draws"]:
            raise ConfigError(
                "compare_to",
                f"focus {focus}: {entry['draws']} draws here, {old.get('draws')} in the earlier report",
            )
        for space, now in entry["systems"].items():
            then = old.get("systems", {}).get(space)
            if then is None:
                continue
            cell = out.setdefault(focus, {}).setdefault(space, {})
            for key in ("follows_c", "follows_rest"):
                if len(now[key]) < 2:  # one draw: a change, but no way to judge it
                    cell[key] = {"change": now[key][0] - then[key][0], "significant": False}
                    continue
                change, significant = paired_change(then[key], now[key])
                cell[key] = {"change": change, "significant": significant}
    return out


def format_report(report: dict[str, Any], title: str = "Real-audio check") -> str:
    """Markdown tables of :func:`evaluate_set`'s result: one per focus instrument.

    Each row is a compared space; ``follows c`` should be high only on row ``c``,
    ``follows rest`` near chance there. Values are mean ± std over draws [%].
    """
    lines = [f"# {title}", ""]
    for focus, e in report["focus"].items():
        lines += [
            f"## focus: {focus} ({e['n_stems']} {focus} recordings x {e['n_rests']} rests = "
            f"{e['n_mixes']} mixes, {e['draws']} draws)",
            "",
            f"| space | follows {focus} (%) | follows rest (%) |",
            "|---|---|---|",
        ]
        for name, s in e["systems"].items():
            label = f"**{name}**" if name == focus else name
            lines.append(
                f"| {label} | {s['follows_c_mean']:.1f} ± {s['follows_c_std']:.1f} | "
                f"{s['follows_rest_mean']:.1f} ± {s['follows_rest_std']:.1f} |"
            )
        lines += [f"| chance | {e['chance_c']:.1f} | {e['chance_rest']:.1f} |", ""]
        paired = report.get("paired", {})
        change = paired.get("changes", {}).get(focus, {}).get(focus)
        if change:
            cells = [
                f"{what} {change[key]['change']:+.1f}{'*' if change[key]['significant'] else ''}"
                for key, what in (
                    ("follows_c", f"follows {focus}"),
                    ("follows_rest", "follows rest"),
                )
            ]
            lines += [
                f"Against {paired['model']} (paired over the draws, `*` beyond twice the standard "
                f"error): sub-space {focus} " + ", ".join(cells) + ".",
                "",
            ]
        by = e["systems"].get(focus, {}).get("follows_c_by_source", {})
        if len(by) > 1:
            base = e["systems"].get(BASELINE, {}).get("follows_c_by_source", {})
            cells = [
                f"{pkg} {v['follows_c']:.1f} %"
                + (f" (log-mel {base[pkg]['follows_c']:.1f} %)" if pkg in base else "")
                + f", {v['queries']} queries"
                for pkg, v in by.items()
            ]
            lines += [
                f"Sub-space {focus} follows {focus}, by the source of the focus recording "
                "(pooled over draws): " + "; ".join(cells) + ".",
                "",
            ]
    return "\n".join(lines)
