"""One evaluation run: load the systems, cache the test pieces, run the protocols, write the report.

:func:`run_evaluation` is what ``instsim evaluate`` calls. It

1. decodes the split once into a :class:`~instsim.data.cache.GroupCache` (one
   per sample rate the networks need) and keeps the pieces that pass the
   paper's test filter (:func:`~instsim.data.groups.passes_test_filter`);
2. plans every segment both protocols need (music-ID on the 3 s / 1.5 s and
   10 s / 5 s grids; ``draws`` seeded draws of the pseudo-mix sets per
   instrument), for every system;
3. embeds all of it once (:class:`~instsim.evaluate.protocols.EmbeddingStore`,
   one progress total), scores it, and
4. writes ``report.json``, ``report.md`` and the t-SNE PNGs under ``out_dir``.

:func:`load_systems` turns a trained model folder into the systems evaluated:
the CSN itself, and when the folder has them the per-instrument networks of
stage 1 (``stage1/<instrument>/``, on clean stems and on the mix) and the
non-disentangled baseline (``baseline/``); plus any CSN variants to compare.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import _validate
from ..data.groups import SILENCE_DB, active_fractions, passes_test_filter
from ..errors import ConfigError, DatasetError
from .protocols import (
    MUSIC_ID_NEIGHBOURS,
    PSEUDO_MIX_NEIGHBOURS,
    EmbeddingStore,
    PseudoMixSet,
    SegmentSet,
    System,
    draw_pseudo_mix_set,
    music_id_accuracy,
    music_id_segments,
    pseudo_mix_accuracy,
    pseudo_mix_follow_rates,
)

__all__ = [
    "PROTOCOLS",
    "EvaluationSettings",
    "PlotsSkippedWarning",
    "load_systems",
    "plots_unavailable",
    "run_evaluation",
]


class PlotsSkippedWarning(UserWarning):
    """The t-SNE figures cannot be drawn (``instsim[plots]`` missing); the report is written."""


def plots_unavailable() -> str | None:
    """Why the t-SNE figures cannot be drawn here (``None``: they can)."""
    from ..extras import missing

    lacking = missing("plots")
    if not lacking:
        return None
    return f"{', '.join(lacking)} is not installed (pip install 'instsim[plots]')"


#: Protocol names accepted by :func:`run_evaluation`.
PROTOCOLS: tuple[str, ...] = ("music-id", "pseudo-mix")

#: ``progress(stage, done, total)``; stages: ``"cache"`` (pieces decoded), ``"embed"``
#: (segments embedded), ``"plots"`` (figures drawn).
Progress = Callable[[str, int, int], None]


@dataclass
class EvaluationSettings:
    """Every knob of a run (stored in the report).

    Attributes
    ----------
    k : int
        Neighbours that vote (5 in the paper).
    music_id_grids : tuple of (float, float)
        ``(segment_seconds, hop_seconds)`` of the music-ID inputs: 3 s every 1.5 s
        (the model's grid) and 10 s every 5 s *(ours: 50 % overlap, like the 3 s grid)*.
    n_pieces, n_partners : int
        Focus pieces and pseudo-mixes per piece (10 and 4 in the paper).
    pseudo_mix_seconds : float [seconds]
        Pseudo-mix segment length; segments are back to back (10 s in the paper).
    draws : int
        Independent seeded draws of the pseudo-mix sets (mean and std over them).
    seed : int
    tempo_bin_bpm : float [BPM]
        Width of the tempo groups pseudo-mixes are drawn within.
    min_active_fraction : float
        The test filter's threshold (10 % in the paper).
    silence_db : float [dBFS]
        Segments of the mix below this RMS level are left out.
    batch_size : int
        Segments per forward pass.
    plot_pieces : int
        Pieces shown in the music-ID t-SNE plots (all segments of each).
    """

    k: int = 5
    music_id_grids: tuple[tuple[float, float], ...] = ((3.0, 1.5), (10.0, 5.0))
    n_pieces: int = 10
    n_partners: int = 4
    pseudo_mix_seconds: float = 10.0
    draws: int = 5
    seed: int = 0
    tempo_bin_bpm: float = 5.0
    min_active_fraction: float = 0.1
    silence_db: float = SILENCE_DB
    batch_size: int = 32
    plot_pieces: int = 10

    def __post_init__(self) -> None:
        for name in ("k", "n_pieces", "n_partners", "draws", "batch_size", "plot_pieces"):
            _validate.positive_int(name, getattr(self, name))
        for seg, hop in self.music_id_grids:
            if not (seg > 0 and hop > 0):
                raise ConfigError("music_id_grids", f"needs positive seconds, got {(seg, hop)}")
        if not self.pseudo_mix_seconds > 0:
            raise ConfigError("pseudo_mix_seconds", f"must be > 0, got {self.pseudo_mix_seconds}")
        if not self.tempo_bin_bpm > 0:
            raise ConfigError("tempo_bin_bpm", f"must be > 0 BPM, got {self.tempo_bin_bpm}")
        if not 0.0 <= self.min_active_fraction <= 1.0:
            raise ConfigError(
                "min_active_fraction", f"must be in [0, 1], got {self.min_active_fraction}"
            )


# -- systems -------------------------------------------------------------------------------
def load_systems(
    model: str | os.PathLike | None = None,
    compare: Mapping[str, str | os.PathLike] | Sequence[str | os.PathLike] = (),
    *,
    baselines: bool = True,
    device: str | None = None,
) -> list[System]:
    """The systems evaluated for a trained model folder (the CSN first).

    Parameters
    ----------
    model : path, Hub repo id, ``"default"`` or None
        The CSN (``config.json`` + ``model.safetensors``); ``None`` or
        ``"default"``: the model bundled with the package, as
        :meth:`instsim.Extractor.from_pretrained` resolves it. When it is a
        folder, ``stage1/<instrument>/`` and ``baseline/`` inside it are picked up
        too (unless ``baselines=False``).
    compare : mapping of name -> path, or sequence of paths
        Other CSNs (e.g. the variants of Table 2), evaluated the same way; a
        sequence names them after their folders.
    baselines : bool
    device : str or None
        ``"cpu"``, ``"cuda"``, ``"auto"``/``None``.

    Returns
    -------
    list of System
        ``csn``, then the compared CSNs, then (with ``baselines``) ``logmel`` (non-learned
        log-mel mean/std, always), ``fcn-clean``, ``fcn-mix`` and
        ``baseline`` when found.

    Raises
    ------
    ModelNotFoundError, ModelMismatchError
    """
    from ..extractor import Extractor
    from ..hub import model_source
    from ..model import missing_model_files
    from .baselines import logmel_system

    def source(name: str | os.PathLike | None, ext: Extractor) -> str:
        kind, where = model_source(name)  # as from_pretrained resolved it
        return str(Path(where).resolve()) if kind == "folder" else ext.model_id

    main = Extractor.from_pretrained(model, device=device)
    systems = [
        System.csn("csn", main, label=f"{main.config.name} (ours)", source=source(model, main))
    ]
    if not isinstance(compare, Mapping):
        named: dict[str, str | os.PathLike] = {}
        for path in compare:
            base = Path(str(path)).name or str(path)
            name, i = base, 2
            while name in named or name == "csn":
                name, i = f"{base}-{i}", i + 1
            named[name] = path
        compare = named
    for name, path in compare.items():
        if name in {s.name for s in systems}:
            raise ConfigError("compare", f"two systems are named {name!r}")
        ext = Extractor.from_pretrained(path, device=device)
        systems.append(System.csn(name, ext, label=f"{name} (ours)", source=source(path, ext)))
    if not baselines:
        return systems
    systems.append(logmel_system(main.config.frontend, main.instruments))
    kind, where = model_source(model)
    root = Path(where)
    if kind != "folder":
        return systems
    fcns = {
        c: Extractor.from_pretrained(root / "stage1" / c, device=device)
        for c in main.instruments
        if not missing_model_files(root / "stage1" / c)
    }
    if fcns:
        src = str(root / "stage1")
        systems.append(
            System.per_instrument(
                "fcn-clean", fcns, clean=True, label="per-instrument FCN, clean stems", source=src
            )
        )
        systems.append(
            System.per_instrument(
                "fcn-mix", fcns, clean=False, label="per-instrument FCN, mix", source=src
            )
        )
    if not missing_model_files(root / "baseline"):
        ext = Extractor.from_pretrained(root / "baseline", device=device)
        systems.append(
            System.whole(
                "baseline",
                ext,
                label="non-disentangled, whole embedding",
                source=str(root / "baseline"),
            )
        )
    return systems


# -- the run -----------------------------------------------------------------------------------
def _exclusion_reason(activity: Mapping[str, np.ndarray], min_fraction: float) -> str:
    fractions = active_fractions(activity)
    present = [g for g, a in activity.items() if np.asarray(a).any()]
    if not present:
        return "silent everywhere"
    low = [f"{g} {100 * fractions[g]:.1f} %" for g in present if fractions[g] < min_fraction]
    return (
        f"instrument active in < {100 * min_fraction:g} % of its non-silent segments: "
        + ", ".join(low)
    )


def _mean_std(values: Sequence[float | None]) -> tuple[float | None, float | None]:
    v = [x for x in values if x is not None]
    if not v:
        return None, None
    std = float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
    return float(np.mean(v)), std


def _follows(rates: Sequence[dict[str, float] | None]) -> dict[str, Any] | None:
    """Per-draw follow rates (:func:`pseudo_mix_follow_rates`) as mean, std and draws."""
    got = [r for r in rates if r is not None]
    if not got:
        return None
    out: dict[str, Any] = {}
    for key in ("follows_c", "follows_rest"):
        vals = [r[key] for r in got]
        mean, std = _mean_std(vals)
        out[key] = {"mean": mean, "std": std, "draws": vals}
    for key in ("chance_c", "chance_rest"):
        out[key] = float(np.mean([r[key] for r in got]))
    return out


def _draw_seed(seed: int, draw: int, condition_index: int) -> int:
    return int(np.random.SeedSequence([seed, draw, condition_index]).generate_state(1)[0])


def run_evaluation(
    systems: Sequence[System],
    dataset: Any,
    *,
    split: str | None = "test",
    protocols: Sequence[str] = PROTOCOLS,
    settings: EvaluationSettings | None = None,
    cache_dir: str | os.PathLike | None = None,
    workers: int | None = None,
    out_dir: str | os.PathLike | None = None,
    plots: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Evaluate ``systems`` on a split of ``dataset`` and (optionally) write the report.

    Parameters
    ----------
    systems : sequence of System
        The first one is "the model" (the report's top-level numbers and plots).
    dataset : MultitrackDataset
    split : str or None
        ``"test"`` in the paper; ``None``: every piece.
    protocols : sequence of {"music-id", "pseudo-mix"}
    settings : EvaluationSettings or None
    cache_dir : path or None
        Where the decoded group signals are cached (default: the user cache).
    workers : int or None
        Processes decoding pieces into the cache (``None``: every core).
    out_dir : path or None
        Folder for ``report.json``, ``report.md`` and ``plots/``; ``None`` writes nothing.
    plots : bool
        Draw the t-SNE figures (needs ``out_dir``). Without ``instsim[plots]``
        (matplotlib) they are skipped with a :class:`PlotsSkippedWarning` given before
        any work, and the report says so; the numbers are computed and written.
    progress : callable(stage, done, total) or None

    Returns
    -------
    dict
        The report (see docs/evaluation.md); accuracies in percent.

    Raises
    ------
    DatasetError
        Unknown split, or no piece left to evaluate.
    ConfigError
        Bad settings or protocol name.
    """
    from .. import __version__
    from ..data.cache import GroupCache

    t0 = time.perf_counter()
    no_plots_why = plots_unavailable() if plots and out_dir is not None else None
    if no_plots_why:
        warnings.warn(f"t-SNE plots will be skipped: {no_plots_why}", PlotsSkippedWarning, 2)
    s = settings or EvaluationSettings()
    if not systems:
        raise ConfigError("systems", "nothing to evaluate")
    for p in protocols:
        if p not in PROTOCOLS:
            raise ConfigError("protocol", f"unknown protocol {p!r}; valid: {', '.join(PROTOCOLS)}")
    groups = tuple(dataset.instruments)
    ids = dataset.track_ids(split)
    main = systems[0]
    main_rate = int(next(iter(main.embedders.values())).sample_rate)
    rates = sorted({int(e.sample_rate) for sy in systems for e in sy.embedders.values()})

    def cache_progress(done: int, total: int) -> None:
        if progress is not None:
            progress("cache", done, total)

    caches = {
        sr: GroupCache.build(
            dataset,
            cache_dir,
            sr,
            track_ids=ids,
            silence_db=s.silence_db,
            workers=workers,
            on_error="skip",
            progress=cache_progress,
        )
        for sr in [main_rate] + [r for r in rates if r != main_rate]
    }
    cache = caches[main_rate]
    excluded: dict[str, str] = {}
    pieces = {}
    for tid in ids:
        missing = [sr for sr, c in caches.items() if tid not in c]
        if missing:
            reason = next((c.failed[tid] for c in caches.values() if tid in c.failed), "not cached")
            excluded[tid] = f"could not be decoded: {reason}"
            continue
        info = cache.info(tid)
        if passes_test_filter(info.activity, s.min_active_fraction):
            pieces[tid] = info
        else:
            excluded[tid] = _exclusion_reason(info.activity, s.min_active_fraction)
    if not pieces:
        raise DatasetError(
            f"no piece of split {split!r} of {dataset.name!r} is left to evaluate "
            f"({len(ids)} pieces, {len(excluded)} excluded by the test filter or decoding)"
        )
    kept = sorted(pieces)
    store = EmbeddingStore(caches, batch_size=s.batch_size)

    # -- plan -----------------------------------------------------------------------
    segsets: list[SegmentSet] = []
    if "music-id" in protocols:
        for seg, hop in s.music_id_grids:
            ss = music_id_segments(cache, kept, seg, hop, s.silence_db, groups)
            segsets.append(ss)
            for sy in systems:
                for view in sy.music_id.values():
                    store.request(sy, view, ss.specs)
    pmsets: dict[str, list[PseudoMixSet]] = {}
    if "pseudo-mix" in protocols:
        conditions = [c for c in groups if any(c in sy.pseudo_mix for sy in systems)]
        for ci, c in enumerate(conditions):
            pmsets[c] = []
            for d in range(s.draws):
                pm = draw_pseudo_mix_set(
                    pieces,
                    c,
                    n_pieces=s.n_pieces,
                    n_partners=s.n_partners,
                    segment_seconds=s.pseudo_mix_seconds,
                    seed=_draw_seed(s.seed, d, ci),
                    groups=groups,
                    tempo_bin_bpm=s.tempo_bin_bpm,
                )
                pmsets[c].append(pm)
                for sy in systems:
                    if c in sy.pseudo_mix:
                        store.request(sy, sy.pseudo_mix[c], pm.specs)

    # -- embed once ---------------------------------------------------------------------
    total, done = store.pending, 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress("embed", done, total)

    if progress is not None:
        progress("embed", 0, total)
    store.compute(advance)

    # -- score --------------------------------------------------------------------------
    results: dict[str, dict[str, Any]] = {}
    for sy in systems:
        r: dict[str, Any] = {
            "label": sy.label,
            "kind": sy.kind,
            "source": sy.source,
            "music_id": {},
            "music_id_active": {},
            "pseudo_mix": {},
            "pseudo_mix_follows": {},
        }
        for ss in segsets:
            m = music_id_accuracy(store, sy, ss, k=s.k)
            r["music_id"][ss.key] = m["accuracy"]
            r["music_id_active"][ss.key] = m["active"]
        for c, draws in pmsets.items():
            if c not in sy.pseudo_mix:
                continue
            accs = [pseudo_mix_accuracy(store, sy, pm, k=s.k) for pm in draws]
            mean, std = _mean_std(accs)
            r["pseudo_mix"][c] = {"mean": mean, "std": std, "draws": accs}
            follows = _follows([pseudo_mix_follow_rates(store, sy, pm) for pm in draws])
            if follows is not None:
                r["pseudo_mix_follows"][c] = follows
        results[sy.name] = r

    top = results[main.name]
    report: dict[str, Any] = {
        "model": main.source,
        "model_name": main.label,
        "dataset": dataset.name,
        "data_home": str(Path(getattr(dataset, "root", dataset.data_home)).resolve()),
        "split": split,
        "n_tracks": len(kept),
        "n_tracks_split": len(ids),
        "tracks": kept,
        "excluded_tracks": excluded,
        "protocols": [p for p in PROTOCOLS if p in protocols],
        "neighbour_exclusion": {
            key: rule
            for key, rule, p in (
                ("music_id", MUSIC_ID_NEIGHBOURS, "music-id"),
                ("pseudo_mix", PSEUDO_MIX_NEIGHBOURS, "pseudo-mix"),
            )
            if p in protocols
        },
        "music_id": top["music_id"],
        "music_id_active": top["music_id_active"],
        "pseudo_mix": top["pseudo_mix"],
        "pseudo_mix_follows": top["pseudo_mix_follows"],
        "systems": results,
        "counts": {
            "music_id": {
                ss.key: {
                    "segment_seconds": ss.segment_seconds,
                    "hop_seconds": ss.hop_seconds,
                    "pieces": ss.n_pieces,
                    "segments": len(ss),
                    "silent_segments_skipped": ss.n_silent,
                    "active_segments": {g: int(a.sum()) for g, a in ss.active.items()},
                }
                for ss in segsets
            },
            "pseudo_mix": {c: [pm.counts() for pm in draws] for c, draws in pmsets.items()},
        },
        "settings": {**asdict(s), "music_id_grids": [list(g) for g in s.music_id_grids]},
        "plots": [],
        "instsim_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if out_dir is not None:
        from .report import write_report

        out = Path(out_dir).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        if plots and no_plots_why:
            report["plots"] = [{"kind": "t-SNE", "view": "all", "skipped": no_plots_why}]
        elif plots:
            from .plots import evaluation_plots

            report["plots"] = evaluation_plots(
                store,
                main,
                segsets[0] if segsets else None,
                {c: d[0] for c, d in pmsets.items() if d},
                out,
                seed=s.seed,
                n_pieces=s.plot_pieces,
                progress=None if progress is None else (lambda i, n: progress("plots", i, n)),
            )
        report["seconds"] = round(time.perf_counter() - t0, 3)
        write_report(report, out)
    else:
        report["seconds"] = round(time.perf_counter() - t0, 3)
    return report
