"""A post-hoc lever measured for issue 12: a per-sub-space nuisance projection (not shipped).

For each instrument ``c`` it fits a linear map of sub-space ``c`` on pseudo-mixes of a
training-recipe corpus: the *nuisance* is what changes in sub-space ``c`` when only the
rest of the mix changes (segments with the same focus stem window ``(A, offset)`` and
different rests ``B``), the *signal* is what changes between focus windows. The map
whitens the nuisance and weights the generalised eigen-directions by
``sqrt(lambda / (lambda + 1))`` (a regularised LDA; ``alpha`` adds ``alpha * mean
nuisance variance`` to the diagonal). docs/results.md ("A post-hoc lever") has the figures.

Steps (the test corpora and the real-audio set: docs/results.md, "Evaluation sets"; the
three fit corpora: docs/results.md, "A post-hoc lever")::

    E="python examples/nuisance_projection.py"
    $E collect data/synth-fit train fit.npz --fit                       # 10 s segments
    $E collect data/synth-fit train fit3.npz --fit --segment-seconds 3
    $E collect data/synth-jazz-timgm test jazz.npz                      # ... every test set
    $E real data/real real.npz
    $E select fit.npz --fit-home data/synth-fit --val-grammar ballad --val-grammar latin
    $E collect data/synth-shiftA train shiftA.npz --fit                 # (and shiftA3.npz)
    $E collect data/synth-shiftB test shiftB.npz
    $E collect data/synth-shiftB test shiftB-sparse.npz --sparse-rest
    $E score shiftA.npz --alpha 0.01 shiftB.npz                         # alpha on the shift
    $E score fit.npz --alpha 0.001 jazz.npz real.npz                    # A
    $E score fit.npz --alpha 0.01 jazz.npz real.npz                     # A'
    $E score fit.npz,fit3.npz --alpha 0.01 jazz.npz real.npz            # B
    $E score fit.npz,fit3.npz --kind shrink jazz.npz real.npz           # C
    $E ensemble shiftB.npz shiftB-v6.npz     # v4 and v6 (collect --model runs/candidate-v6)
    $E ensemble shiftB-mix.npz shiftB-P.npz  # mix + percussive part (docs/results/hpss/)
    $E collect data/synth-shiftB test shiftB-tta2.npz --model V4 --tta-eq 2
    # H7 (docs/results/hpss/): V4 = the bundled files, config.json without "inputs"

``score`` prints, per set, pseudo-mix accuracy and the follow rates of ``instsim evaluate``
(docs/evaluation.md) without and with the projection; with the collections of v6
(``--model runs/candidate-v6``) it gives docs/results.md's "v6 plus a projection".

``collect`` draws the evaluation's pseudo-mix sets (same seeds as ``instsim evaluate
--draws 10``, so the unprojected figures equal the report's) or, with ``--fit``, one large
draw per instrument (every usable piece, 4 partners), and stores the normalised
sub-space vectors. Embedding uses the bundled model (``--model`` for another).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import torch

from instsim import INSTRUMENTS, Extractor
from instsim.evaluate.report import paired_change
from instsim.extractor import normalize_subspaces

ALPHAS = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 0.1, 1.0)


# -- embeddings ------------------------------------------------------------------------------
def sparse_rest(specs, condition: str, pieces, rng) -> list:
    """The same pseudo-mixes with the rest cut to drums + one other group of ``B``
    (``condition`` drums: two other groups), one choice per pseudo-mix ``(A, B)``, like
    the real-audio check's accompaniments."""
    from instsim.data.pseudomix import PartSpec, SegmentSpec

    choice, out = {}, []
    for s in specs:
        a = s.part_with(condition)
        rest = next(p for p in s.parts if p is not a)
        if rest.track_id not in choice:
            present = pieces[rest.track_id].present
            others = [g for g in rest.groups if g != "drums" and present.get(g, False)]
            if condition == "drums":
                k = min(2, len(others))
                choice[rest.track_id] = (
                    tuple(rng.choice(others, k, replace=False)) if others else rest.groups
                )
            else:
                pick = (rng.choice(others),) if others else ()
                choice[rest.track_id] = tuple(g for g in rest.groups if g == "drums") + pick
        part = PartSpec(rest.track_id, choice[rest.track_id], rest.offset_seconds)
        out.append(SegmentSpec((a, part), s.duration_seconds))
    return out


class EqAverage(torch.nn.Module):
    """Test-time averaging over the training's own mix EQ (docs/results/hpss/README.md, H7).

    The output is the mean of the L2-normalised sub-space vectors of the segment and of
    ``k`` copies through fixed broad EQs drawn as training draws them
    (``random_mix_eq``, ``max_db`` 6, generators seeded 1..k; the same EQs for every
    segment).
    """

    def __init__(self, model: torch.nn.Module, sample_rate: int, k: int, max_db: float = 6.0):
        super().__init__()
        self.model, self.sample_rate, self.max_db = model, sample_rate, max_db
        self.seeds = list(range(1, k + 1))
        self.config = model.config

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        from instsim.data.production import random_mix_eq

        n = len(self.config.instruments)
        views = [wave] + [
            torch.from_numpy(
                np.stack(
                    [
                        random_mix_eq(w, self.sample_rate, np.random.default_rng(seed), self.max_db)
                        for w in wave.cpu().numpy()
                    ]
                )
            ).to(wave.device)
            for seed in self.seeds
        ]
        outs = [normalize_subspaces(self.model(v).float().cpu().numpy(), n) for v in views]
        return torch.from_numpy(np.mean(outs, axis=0)).to(wave.device)


def collect(
    data_home: str,
    split: str,
    out: str,
    fit: bool,
    model: str | None,
    seconds: float = 10.0,
    sparse: bool = False,
    tta_eq: int = 0,
) -> None:
    from instsim.data.cache import GroupCache
    from instsim.data.groups import passes_test_filter
    from instsim.evaluate.protocols import EmbeddingStore, System, draw_pseudo_mix_set
    from instsim.evaluate.run import _draw_seed  # the evaluator's draw seeds
    from instsim.plugins.datasets import open_dataset

    ext = Extractor.from_pretrained(model, device="cpu")
    if tta_eq:
        ext.model = EqAverage(ext.model, ext.sample_rate, tta_eq)
    ds = open_dataset("slakh", data_home)
    ids = ds.track_ids(split)
    cache = GroupCache.build(ds, None, ext.sample_rate, track_ids=ids, on_error="skip")
    pieces = {t: cache.info(t) for t in ids if t in cache}
    pieces = {t: p for t, p in pieces.items() if passes_test_filter(p.activity, 0.1)}
    system = System.csn("m", ext)
    store = EmbeddingStore({ext.sample_rate: cache}, batch_size=32)
    groups = tuple(ds.instruments)
    sets = {}
    for ci, c in enumerate(groups):
        for d in range(1 if fit else 10):
            sets[c, d] = pm = draw_pseudo_mix_set(
                pieces,
                c,
                n_pieces=len(pieces) if fit else 10,
                n_partners=4,
                segment_seconds=seconds,
                seed=12345 + ci if fit else _draw_seed(0, d, ci),
                groups=groups,
            )
            if sparse:
                rng = np.random.default_rng([d, ci, 77])
                pm.specs = sparse_rest(pm.specs, c, pieces, rng)
            store.request(system, system.pseudo_mix[c], pm.specs)
    print(f"{len(pieces)} pieces, {store.pending} segments to embed", flush=True)
    store.compute()
    arrays = {}
    for (c, d), pm in sets.items():
        focus = [s.part_with(c) for s in pm.specs]
        arrays[f"{c}/{d}/X"] = store.get(system, system.pseudo_mix[c], pm.specs)
        arrays[f"{c}/{d}/focus"] = pm.focus.astype(str)
        arrays[f"{c}/{d}/rest"] = pm.rest.astype(str)
        arrays[f"{c}/{d}/akey"] = np.asarray(
            [f"{p.track_id}@{p.offset_seconds:.2f}" for p in focus]
        )
    np.savez_compressed(out, **arrays)


def collect_real(set_dir: str, out: str, model: str | None) -> None:
    from instsim.evaluate.realset import load_manifest

    ext = Extractor.from_pretrained(model, device="cpu")
    mixes = load_manifest(set_dir)["mixes"]
    raw, silent, idx = [], [], [0]
    for res in ext.embed_files([str(Path(set_dir, m["file"])) for m in mixes], batch_size=32):
        raw.append(res.embedding.raw)
        silent.append(res.embedding.silent)
        idx.append(idx[-1] + len(res.embedding.raw))
    np.savez_compressed(
        out,
        raw=np.concatenate(raw),
        silent=np.concatenate(silent),
        idx=np.asarray(idx),
        focus=np.asarray([m["focus"] for m in mixes]),
        draw=np.asarray([m["draw"] for m in mixes]),
        stem=np.asarray([m["stem"] for m in mixes]),
        rest=np.asarray([m["rest_id"] for m in mixes]),
    )


def load(path: str) -> dict[tuple[str, int], dict[str, np.ndarray]]:
    z = np.load(path)
    out: dict[tuple[str, int], dict[str, np.ndarray]] = {}
    for key in z.files:
        c, d, name = key.split("/")
        out.setdefault((c, int(d)), {})[name] = z[key]
    return out


# -- the projection --------------------------------------------------------------------------
def scatter(x: np.ndarray, akey: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean [d], nuisance [d, d], total [d, d])`` of normalised vectors by focus window.

    The nuisance is the pooled spread within windows that have two segments or more.
    """
    keys, inv = np.unique(akey, return_inverse=True)
    counts = np.bincount(inv)
    means = np.zeros((len(keys), x.shape[1]))
    np.add.at(means, inv, x)
    means /= counts[:, None]
    keep = counts[inv] >= 2
    dev = (x - means[inv])[keep]
    s_n = dev.T @ dev / max(int(keep.sum()) - int((counts >= 2).sum()), 1)
    mu = x.mean(0)
    return mu, s_n, (x - mu).T @ (x - mu) / len(x)


def fit_projection(x: np.ndarray, akey: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """LDA variant: ``(mean [d], matrix [d, d])``; whiten the nuisance (+ ``alpha`` x its mean
    variance on the diagonal), weight the discriminant directions by sqrt(l / (l + 1))."""
    mu, s_n, s_t = scatter(x, akey)
    d = x.shape[1]
    ev, vec = np.linalg.eigh(s_n + alpha * np.trace(s_n) / d * np.eye(d))
    whiten = vec @ np.diag(ev**-0.5) @ vec.T
    lam, u = np.linalg.eigh(whiten @ (s_t - s_n) @ whiten)
    lam = np.clip(lam, 0.0, None)
    return mu, (u * np.sqrt(lam / (lam + 1.0))).T @ whiten


def fit_shrink(x: np.ndarray, akey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shrink-only variant: each nuisance eigen-direction scaled by signal / (signal + nuisance).

    Never amplifies (every weight is in [0, 1]); no parameter.
    """
    mu, s_n, s_t = scatter(x, akey)
    noise, u = np.linalg.eigh(s_n)
    signal = np.clip(np.einsum("ik,ij,jk->k", u, s_t - s_n, u), 0.0, None)
    return mu, (u * (signal / np.maximum(signal + noise, 1e-12))) @ u.T


def project(x: np.ndarray, proj: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    return x if proj is None else (x - proj[0]) @ proj[1].T


# -- scores ----------------------------------------------------------------------------------
def pseudo_mix(sets, projs=None) -> dict[str, np.ndarray]:
    """Accuracy [%] per instrument and draw, as ``instsim evaluate`` computes it."""
    from instsim.evaluate.knn import exclusion_mask, knn_accuracy

    out = {}
    for c in INSTRUMENTS:
        accs = []
        for d in range(10):
            s = sets.get((c, d))
            if s is not None and len(set(s["focus"].tolist())) >= 2:
                x = normalize_subspaces(project(s["X"], projs and projs[c]), 1)
                accs.append(knn_accuracy(x, s["focus"], k=5, exclude=exclusion_mask(s["rest"])))
        out[c] = np.asarray(accs)
    return out


def follows_per_instrument(sets, projs=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per instrument and draw, the pseudo-mix follow rates (follows c, follows rest) [%],
    as ``instsim evaluate`` computes them (segments of one time compared)."""
    from instsim.evaluate.protocols import same_time_follow_rates

    out = {}
    for c in INSTRUMENTS:
        rates = [
            same_time_follow_rates(
                project(s["X"], projs and projs[c]),
                [float(k.rsplit("@", 1)[1]) for k in s["akey"]],
                s["focus"],
                s["rest"],
            )
            for d in range(10)
            if (s := sets.get((c, d))) is not None
        ]
        rates = [r for r in rates if r is not None]
        if rates:
            out[c] = tuple(np.asarray([r[k] for r in rates]) for k in ("follows_c", "follows_rest"))
    return out


def follows(sets, projs=None, per=None) -> tuple[float, float]:
    """Mean over instruments and draws of the pseudo-mix follow rates (follows c, follows
    rest) [%]; ``per``: :func:`follows_per_instrument`'s result when already computed."""
    per = (per or follows_per_instrument(sets, projs)).values()
    return float(np.mean([fc.mean() for fc, _ in per])), float(
        np.mean([fr.mean() for _, fr in per])
    )


def real(path: str, projs=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per draw, (follows c, follows rest) [%] of sub-space c on the real-audio grids of focus c.

    Track vectors are pooled as :meth:`instsim.TrackEmbedding.vector` pools them: the
    mean of the model's outputs over the non-silent segments (with a projection, the
    projected outputs, as a model holding it would return them).
    """
    from instsim.evaluate.real import follow_rates

    z = np.load(path)
    idx, silent = z["idx"], z["silent"]
    out = {}
    for i, c in enumerate(INSTRUMENTS):
        if not (z["focus"] == c).any():
            continue
        x = z["raw"][:, i * 128 : (i + 1) * 128]
        if projs is not None:
            x = project(normalize_subspaces(x, 1), projs[c])
        vecs = []
        for a, b in itertools.pairwise(idx):
            keep = ~silent[a:b] if (~silent[a:b]).any() else np.ones(b - a, bool)
            vecs.append(x[a:b][keep].mean(0))
        vecs = np.stack(vecs)
        rates = [
            follow_rates(vecs[m], z["stem"][m], z["rest"][m])
            for d in np.unique(z["draw"])
            if (m := (z["focus"] == c) & (z["draw"] == d)).sum() >= 2
        ]
        out[c] = tuple(np.asarray([r[k] for r in rates]) for k in ("follows_c", "follows_rest"))
    return out


def _paired(base: np.ndarray, new: np.ndarray) -> str:
    """``"+1.2*"``: the mean paired change, ``*`` beyond twice its standard error."""
    change, significant = paired_change(list(base), list(new))
    return f"{change:+.1f}{'*' if significant else ''}"


def fit_all(
    fitset, alpha: float, rows=None, kind: str = "lda"
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    projs = {}
    for c in INSTRUMENTS:
        s = fitset[c, 0]
        m = slice(None) if rows is None else rows[c]
        if kind == "shrink":
            projs[c] = fit_shrink(s["X"][m], s["akey"][m])
        else:
            projs[c] = fit_projection(s["X"][m], s["akey"][m], alpha)
    return projs


def load_fit(paths: str) -> dict[tuple[str, int], dict[str, np.ndarray]]:
    """One fit set from comma-separated collect outputs (e.g. 3 s and 10 s segments)."""
    sets = [load(p) for p in paths.split(",")]
    out = {}
    for key in sets[0]:
        parts = [s[key] for s in sets]
        out[key] = {
            name: np.concatenate(
                [
                    np.asarray([f"{i}:{k}" for k in p[name]]) if name == "akey" else p[name]
                    for i, p in enumerate(parts)
                ]
            )
            for name in parts[0]
        }
    return out


def select(fit_path: str, fit_home: str, val_grammars: list[str]) -> None:
    """Held-out-grammar validation: fit without those grammars, score on their pieces."""
    import yaml

    grammar = {}
    for f in Path(fit_home).glob("*/*/metadata.yaml"):
        g = yaml.safe_load(f.read_text())["instsim"].get("grammar") or "pop909"
        grammar[f.parent.name] = g
    fs = load_fit(fit_path)
    rows, val = {}, {}
    for c in INSTRUMENTS:
        s = fs[c, 0]
        a_val = np.asarray([grammar[a] in val_grammars for a in s["focus"]])
        b_val = np.asarray([grammar[b] in val_grammars for b in s["rest"]])
        rows[c] = ~a_val & ~b_val
        val[c, 0] = {k: v[a_val] for k, v in s.items()}
    base = {c: v[0] for c, v in pseudo_mix(val).items() if len(v)}
    print("no projection:", " ".join(f"{c} {v:.1f}" for c, v in base.items()))
    for alpha in ALPHAS:
        r = pseudo_mix(val, fit_all(fs, alpha, rows))
        diff = [r[c][0] - base[c] for c in base]
        print(
            f"alpha {alpha:<7g}", " ".join(f"{v:+5.1f}" for v in diff), f"mean {np.mean(diff):+.2f}"
        )


def score(fit_path: str, alpha: float, paths: list[str], kind: str = "lda") -> None:
    projs = fit_all(load_fit(fit_path), alpha, kind=kind)
    for path in paths:
        if "raw" in np.load(path).files:
            b, p = real(path), real(path, projs)
            for c in b:
                print(
                    f"{path} {c}: follows c {b[c][0].mean():.1f} -> {p[c][0].mean():.1f} "
                    f"({_paired(b[c][0], p[c][0])}), follows rest {b[c][1].mean():.1f} -> "
                    f"{p[c][1].mean():.1f} ({_paired(b[c][1], p[c][1])})"
                )
            continue
        sets = load(path)
        b, p = pseudo_mix(sets), pseudo_mix(sets, projs)
        cells = []
        for c in INSTRUMENTS:
            cells.append(f"{c} {b[c].mean():.1f} -> {p[c].mean():.1f} ({_paired(b[c], p[c])})")
        mean_b = np.mean([v.mean() for v in b.values()])
        mean_p = np.mean([v.mean() for v in p.values()])
        (fc_b, fr_b), (fc_p, fr_p) = follows(sets), follows(sets, projs)
        print(
            f"{path}: " + "; ".join(cells) + f"; mean {mean_b:.1f} -> {mean_p:.1f}; "
            f"follows c {fc_b:.2f} -> {fc_p:.2f}, follows rest {fr_b:.2f} -> {fr_p:.2f}"
        )


def ensemble(path_a: str, path_b: str) -> None:
    """Two models' collections of the same set, each sub-space L2-normalised and
    concatenated (equal weights): pseudo-mix accuracy and follow rates of each model and of
    the concatenation (docs/results.md, "an output ensemble")."""
    a, b = load(path_a), load(path_b)
    both = {}
    for key, s in a.items():
        if not np.array_equal(s["akey"], b[key]["akey"]):
            raise SystemExit(f"{path_a} and {path_b} hold different draws ({key})")
        x = np.concatenate(
            [normalize_subspaces(s["X"], 1), normalize_subspaces(b[key]["X"], 1)], 1
        ) / np.sqrt(2.0)
        both[key] = dict(s, X=x)
    base_acc, base_fol = pseudo_mix(a), follows_per_instrument(a)
    for name, sets in ((path_a, a), (path_b, b), ("ensemble", both)):
        if sets is a:
            acc, fol = base_acc, base_fol
        else:
            acc, fol = pseudo_mix(sets), follows_per_instrument(sets)
        fc, fr = follows(sets, per=fol)
        row = " ".join(f"{c} {v.mean():.1f}" for c, v in acc.items())
        mean = np.mean([v.mean() for v in acc.values()])
        print(f"{name}: {row}; mean {mean:.2f}; follows c {fc:.2f}, follows rest {fr:.2f}")
        if sets is not a:  # per instrument, paired against the first collection
            for c in INSTRUMENTS:
                print(
                    f"    {c}: accuracy {acc[c].mean():.1f} ({_paired(base_acc[c], acc[c])}), "
                    f"follows c {fol[c][0].mean():.1f} ({_paired(base_fol[c][0], fol[c][0])}), "
                    f"follows rest {fol[c][1].mean():.1f} ({_paired(base_fol[c][1], fol[c][1])})"
                )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("collect")
    a.add_argument("data_home")
    a.add_argument("split")
    a.add_argument("out")
    a.add_argument("--fit", action="store_true")
    a.add_argument("--model")
    a.add_argument("--segment-seconds", type=float, default=10.0)
    a.add_argument("--sparse-rest", action="store_true")
    a.add_argument("--tta-eq", type=int, default=0, metavar="K")
    a = sub.add_parser("real")
    a.add_argument("set_dir")
    a.add_argument("out")
    a.add_argument("--model")
    a = sub.add_parser("select")
    a.add_argument("fit")
    a.add_argument("--fit-home", required=True)
    a.add_argument("--val-grammar", action="append", required=True)
    a = sub.add_parser("score")
    a.add_argument("fit")
    a.add_argument("--alpha", type=float, default=0.01)
    a.add_argument("--kind", choices=("lda", "shrink"), default="lda")
    a.add_argument("sets", nargs="+")
    a = sub.add_parser("ensemble")
    a.add_argument("a")
    a.add_argument("b")
    args = ap.parse_args()
    if args.cmd == "collect":
        collect(
            args.data_home,
            args.split,
            args.out,
            args.fit,
            args.model,
            args.segment_seconds,
            args.sparse_rest,
            args.tta_eq,
        )
    elif args.cmd == "real":
        collect_real(args.set_dir, args.out, args.model)
    elif args.cmd == "select":
        select(args.fit, args.fit_home, args.val_grammar)
    elif args.cmd == "ensemble":
        ensemble(args.a, args.b)
    else:
        score(args.fit, args.alpha, args.sets, args.kind)


if __name__ == "__main__":
    main()
