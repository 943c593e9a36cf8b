"""t-SNE maps of the evaluation embeddings, as PNG (the paper's Figs. 5 and 6).

* Fig. 5 style (:func:`evaluation_plots`, ``music_id_<length>_<subspace>.png``):
  the music-ID segments of a few test pieces in one sub-space, one colour per piece;
* Fig. 6 style (``pseudo_mix_<instrument>.png``): every segment of one draw of the
  pseudo-mix set, in the focused instrument's sub-space, coloured by the piece
  the focused instrument comes from.

scikit-learn's :class:`~sklearn.manifold.TSNE` (PCA initialisation, seeded) maps
the L2-normalised vectors to 2-D; matplotlib draws them on its Agg canvas
(no display needed, pyplot untouched). Both are imported when a plot is drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParameterError

__all__ = ["evaluation_plots", "tsne_2d", "tsne_png"]

#: Fewest points worth a t-SNE map.
MIN_POINTS = 4
#: Maps of at least this many points use every OpenMP thread.
_THREADED_FROM = 1000


def tsne_2d(x: np.ndarray, seed: int = 0, perplexity: float | None = None) -> np.ndarray:
    """Map ``x`` ``(n, d)`` to 2-D with t-SNE.

    Parameters
    ----------
    x : np.ndarray [shape=(n, d)], n >= 4
    seed : int
    perplexity : float or None
        Default ``min(30, (n - 1) / 3)`` (at least 1), always below ``n``.

    Returns
    -------
    np.ndarray [shape=(n, 2), dtype=float32]
    """
    from sklearn.manifold import TSNE

    x = np.asarray(x, dtype=np.float32)
    n = x.shape[0]
    if n < MIN_POINTS:
        raise ParameterError("x", f"t-SNE needs at least {MIN_POINTS} points, got {n}")
    p = perplexity if perplexity is not None else min(30.0, max(1.0, (n - 1) / 3.0))
    p = min(float(p), n - 1.0)
    tsne = TSNE(n_components=2, perplexity=p, init="pca", learning_rate="auto", random_state=seed)
    if n >= _THREADED_FROM:
        return tsne.fit_transform(x).astype(np.float32)
    # small maps: one OpenMP thread (several spin badly when the cores are busy: 0.2 s -> 20 s)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return tsne.fit_transform(x).astype(np.float32)


def tsne_png(
    x: np.ndarray,
    labels: Sequence[object],
    path: str | Path,
    title: str,
    seed: int = 0,
) -> Path:
    """Draw a t-SNE scatter of ``x`` coloured by ``labels`` into a PNG.

    Parameters
    ----------
    x : np.ndarray [shape=(n, d)]
    labels : sequence [shape=(n,)]
        One colour per distinct label (legend up to 20 labels).
    path : path
        The PNG written (folders created).
    title : str
    seed : int

    Returns
    -------
    Path
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pts = tsne_2d(x, seed=seed)
    labels_arr = np.asarray([str(v) for v in labels], dtype=object)
    names = sorted(set(labels_arr.tolist()))
    cmap = matplotlib.colormaps["tab10" if len(names) <= 10 else "tab20"]
    # an Agg canvas of our own: no pyplot, so a user's interactive backend is left alone
    fig = Figure(figsize=(6.0, 5.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for i, name in enumerate(names):
        m = labels_arr == name
        ax.scatter(pts[m, 0], pts[m, 1], s=12, color=cmap(i % cmap.N), label=name, alpha=0.85)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    if len(names) <= 20:
        ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out


def evaluation_plots(
    store: Any,
    system: Any,
    segments: Any | None,
    pseudo_mixes: Mapping[str, Any],
    out_dir: str | Path,
    *,
    seed: int = 0,
    n_pieces: int = 10,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Draw the report's figures for one system into ``out_dir/plots/``.

    Parameters
    ----------
    store : EmbeddingStore
        Holds the embeddings already (nothing is re-embedded).
    system : System
    segments : SegmentSet or None
        Music-ID segments (the 3 s set); ``n_pieces`` pieces drawn with ``seed`` are shown.
    pseudo_mixes : mapping of instrument -> PseudoMixSet
        One draw per instrument (the first).
    out_dir : path
    seed : int
    n_pieces : int

    Returns
    -------
    list of dict
        One entry per figure: ``{"kind", "view", "path" (relative to out_dir), "points"}``,
        or ``"skipped"`` with the reason instead of ``"path"``.
    """
    out = Path(out_dir)
    jobs: list[tuple[str, str, np.ndarray, np.ndarray, str, str]] = []
    if segments is not None and len(segments):
        rng = np.random.default_rng(seed)
        names = sorted(set(segments.labels.tolist()))
        shown = set(rng.permutation(np.asarray(names, dtype=object))[:n_pieces].tolist())
        mask = np.array([lab in shown for lab in segments.labels], dtype=bool)
        specs = [s for s, m in zip(segments.specs, mask) if m]
        for name, view in system.music_id.items():
            x = store.get(system, view, specs)
            what = "whole embedding" if name == "all" else f"{name} sub-space"
            title = (
                f"music-ID, {segments.segment_seconds:g} s segments: {what}\n"
                f"colour = piece ({len(shown)} pieces)"
            )
            jobs.append(("music_id", name, x, segments.labels[mask], title,
                         f"music_id_{segments.key}_{name}.png"))  # fmt: skip
    for c, pm in pseudo_mixes.items():
        view = system.pseudo_mix.get(c)
        if view is None:
            continue
        x = store.get(system, view, pm.specs)
        title = (
            f"pseudo-mixes, {pm.specs[0].duration_seconds if pm.specs else 0:g} s segments: "
            f"{c} sub-space\n"
            f"colour = piece the {c} comes from ({pm.n_pieces} pieces, {pm.n_mixes} pseudo-mixes)"
        )
        jobs.append(("pseudo_mix", c, x, pm.focus, title, f"pseudo_mix_{c}.png"))
    entries = []
    for i, (kind, name, x, labels, title, fname) in enumerate(jobs):
        entry: dict[str, Any] = {"kind": kind, "view": name, "points": int(x.shape[0])}
        if x.shape[0] < MIN_POINTS:
            entry["skipped"] = f"only {x.shape[0]} segments (t-SNE needs {MIN_POINTS})"
        else:
            tsne_png(x, labels, out / "plots" / fname, title, seed=seed)
            entry["path"] = f"plots/{fname}"
        entries.append(entry)
        if progress is not None:
            progress(i + 1, len(jobs))
    return entries
