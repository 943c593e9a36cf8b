"""The three training stages of the paper, plus the non-disentangled baseline.

* :func:`train_stage1`: one network per instrument (``fcn``), plain triplet loss
  on track-based triplets of clean stems.
* :func:`train_stage2`: CSN pre-training with the auxiliary loss only.
* :func:`train_stage3`: masked triplet loss on pseudo-mix triplets (basic and
  additional) + ``aux_weight`` x auxiliary loss on the anchors.
* :func:`train_baseline`: one 640-d embedding trained with plain track triplets on
  mixes (no sub-spaces), the paper's "whole embedding" reference.

Distances *(ours)*: triplet losses compare L2-normalised (sub-space) embeddings,
so the 0.2 margin has a fixed scale and training matches how embeddings are
compared at inference (cosine on normalised sub-spaces). The auxiliary loss acts
on the raw output, towards a unit-norm target.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import registry
from ..data.cache import GroupCache
from ..data.production import random_mix_eq
from ..data.pseudomix import TripletSampler, TripletSpec, render
from ..errors import ConfigError, DatasetError, ModelNotFoundError
from ..evaluate.knn import knn_accuracy
from ..model import CSN, CSNConfig, missing_model_files
from .checkpoint import checkpoint_epoch
from .config import LossSpec, TrackTripletConfig, TrainConfig
from .data import (
    MelTable,
    TrackTripletSampler,
    choose_pieces,
    first_active,
    group_segments,
    mel_of,
    normalize_rows,
    stem_table,
)
from .loop import JsonlLog, StageLoop

__all__ = ["StageContext", "train_baseline", "train_stage1", "train_stage2", "train_stage3"]


@dataclass
class StageContext:
    """What every stage needs: config, data, output folder, device, log, resume flag."""

    cfg: TrainConfig
    cache: GroupCache
    train_ids: list[str]
    valid_ids: list[str]
    out: Path
    device: torch.device
    log: JsonlLog
    resume: bool
    progress: bool = True
    say: Callable[[str], None] = print

    @property
    def csn_config(self) -> CSNConfig:
        return self.cfg.csn_config()

    @property
    def segment_seconds(self) -> float:
        return self.cache.info(self.train_ids[0]).segment_seconds

    def seed(self, *salt: int) -> np.random.Generator:
        return np.random.default_rng([self.cfg.seed, *salt])

    def torch_seed(self, *salt: int) -> None:
        torch.manual_seed(int(np.random.default_rng([self.cfg.seed, *salt]).integers(2**62)))


def _loss(spec: LossSpec) -> torch.nn.Module:
    cls = registry.load("losses", spec.name)
    return cls(**spec.options)


def _to(mels: torch.Tensor, device: torch.device) -> torch.Tensor:
    return mels.to(device=device, dtype=torch.float32)


@torch.inference_mode()
def _embed_chunks(
    net: CSN, mels: torch.Tensor, device: torch.device, chunk: int = 128
) -> torch.Tensor:
    """``net.embed_mel`` over a float16 log-mel table in chunks, as float32 on the CPU."""
    return torch.cat(
        [
            net.embed_mel(_to(mels[i : i + chunk], device)).float().cpu()
            for i in range(0, len(mels), chunk)
        ]
    )


def _done(folder: Path) -> bool:
    return not missing_model_files(folder)


# ---- validation ----------------------------------------------------------------------------
def _valid_items(ctx: StageContext, group: str | None, per_piece: int = 20) -> tuple[list, list]:
    items, labels = [], []
    for tid in ctx.valid_ids[: ctx.cfg.valid_pieces]:
        info = ctx.cache.info(tid)
        groups = ctx.cache.groups if group is None else (group,)
        offs = first_active(info, group, per_piece)
        if len(offs) < 2:
            continue
        items += [(tid, groups, t) for t in offs]
        labels += [tid] * len(offs)
    return items, labels


def _make_validator(
    ctx: StageContext, model: CSN, group: str | None
) -> Callable[[], dict[str, Any]] | None:
    """kNN music-ID accuracy [%] per sub-space on validation segments (mix, or one group's stem)."""
    items, labels = _valid_items(ctx, group)
    if ctx.cfg.valid_pieces == 0 or len(set(labels)) < 2:
        return None
    mels = mel_of(model.frontend.cpu(), group_segments(ctx.cache, items, ctx.segment_seconds))
    model.frontend.to(ctx.device)
    names = model.config.instruments

    @torch.inference_mode()
    def validate() -> dict[str, Any]:
        emb = normalize_rows(_embed_chunks(model, mels, ctx.device, 64), len(names)).numpy()
        d = model.config.subspace_dim
        out = {
            n: round(knn_accuracy(emb[:, i * d : (i + 1) * d], labels), 2)
            for i, n in enumerate(names)
        }
        if len(names) > 1:
            out["all"] = round(knn_accuracy(emb, labels), 2)
        return {"knn_accuracy": out, "n_segments": len(labels), "n_pieces": len(set(labels))}

    return validate


def _make_pseudo_mix_validator(
    ctx: StageContext, model: CSN
) -> Callable[[], dict[str, Any]] | None:
    """Pseudo-mix sub-space accuracy [%] on the validation pieces: the evaluation protocol
    (:mod:`instsim.evaluate.protocols`, 10 s segments, 4 partners) on one fixed draw.

    Unlike music-ID on synthetic songs, which saturates near 100 %, it tells whether each
    sub-space follows its instrument, so it can guide when to stop or change the schedule.
    """
    from ..evaluate.protocols import (
        EmbeddingStore,
        System,
        draw_pseudo_mix_set,
        pseudo_mix_accuracy,
        pseudo_mix_follow_rates,
    )
    from ..extractor import Extractor

    s3 = ctx.cfg.stage3
    ids = ctx.valid_ids[: ctx.cfg.valid_pieces]
    if s3.valid_pseudo_mix == 0 or len(ids) < 3:
        return None
    pieces = {t: ctx.cache.info(t) for t in ids}
    sets = [
        draw_pseudo_mix_set(
            pieces,
            c,
            n_pieces=s3.valid_pseudo_mix,
            seed=ctx.cfg.seed,
            groups=ctx.cache.groups,
            tempo_bin_bpm=s3.tempo_bin_bpm,
        )
        for c in model.config.instruments
        if c in ctx.cache.groups
    ]
    sets = [pm for pm in sets if pm.n_pieces >= 2]
    if not sets:
        ctx.say(
            f"stage3: no pseudo-mix validation: fewer than 2 of the {len(ids)} validation pieces "
            "have tempo partners; raise valid_pieces or stage3.tempo_bin_bpm"
        )
        return None
    system = System.csn("csn", Extractor(model, "stage3 (training)", device=ctx.device))

    def validate() -> dict[str, Any]:
        store = EmbeddingStore(ctx.cache, batch_size=16)
        acc = {pm.condition: pseudo_mix_accuracy(store, system, pm) for pm in sets}
        follows = {pm.condition: pseudo_mix_follow_rates(store, system, pm) for pm in sets}
        return {
            "pseudo_mix_accuracy": {c: round(a, 2) for c, a in acc.items() if a is not None},
            # the real-audio check's rates on the same pseudo-mixes (docs/evaluation.md)
            "pseudo_mix_follows": {
                c: {k: round(f[k], 2) for k in ("follows_c", "follows_rest")}
                for c, f in follows.items()
                if f is not None
            },
            "pseudo_mix_pieces": {pm.condition: pm.n_pieces for pm in sets},
            "pseudo_mix_segments": {pm.condition: pm.n_segments for pm in sets},
        }

    return validate


def _both(*validators: Callable[[], dict[str, Any]] | None) -> Callable[[], dict[str, Any]] | None:
    """One validator returning the union of the records of those given (``None`` when none)."""
    used = [v for v in validators if v is not None]
    if not used:
        return None
    return lambda: {k: v for f in used for k, v in f().items()}


# ---- stage 1 and baseline: track-based triplets on a fixed table -----------------------------
def _track_triplet_stage(
    ctx: StageContext,
    name: str,
    model: CSN,
    table: MelTable,
    sec: TrackTripletConfig,
    salt: int,
    validator: Callable[[], dict[str, Any]] | None,
) -> None:
    batch_size = sec.batch_size
    loss_fn = _loss(sec.loss)
    sampler = TrackTripletSampler(table.labels)
    opt = torch.optim.Adam(model.parameters(), lr=sec.lr)
    steps = max(1, math.ceil(sec.triplets_per_epoch / batch_size))

    def step(rng: np.random.Generator) -> dict[str, float]:
        a, p, n = sampler.sample(rng, batch_size)
        x = _to(table.mels[np.concatenate([a, p, n])], ctx.device)
        emb = normalize_rows(model.embed_mel(x))
        ea, ep, en = emb.split(batch_size)
        loss = loss_fn(ea, ep, en)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "triplets": batch_size}

    StageLoop(
        name,
        {"model": model},
        opt,
        ctx.seed(salt),
        sec.epochs,
        steps,
        ctx.out / "checkpoints" / name.replace("/", "-"),
        ctx.log,
        step,
        validator,
        progress=ctx.progress,
    ).run(resume=ctx.resume)


def train_stage1(ctx: StageContext) -> dict[str, Path]:
    """Train (or reuse) one per-instrument network per instrument; returns their folders."""
    s1 = ctx.cfg.stage1
    pieces = _pieces(ctx, s1.n_pieces, salt=1)
    folders = {}
    for i, inst in enumerate(ctx.csn_config.instruments):
        folder = ctx.out / "stage1" / inst
        folders[inst] = folder
        if _done(folder):
            ctx.say(f"stage1/{inst}: already trained ({folder})")
            continue
        cfg = CSNConfig(
            instruments=(inst,),
            subspace_dim=s1.embedding_dim,
            backbone=s1.backbone,
            backbone_kwargs=dict(s1.backbone_kwargs),
            frontend=ctx.csn_config.frontend,
            name=f"{ctx.csn_config.name}-{inst}",
        )
        ctx.torch_seed(1, i)
        model = CSN(cfg).to(ctx.device)
        table = stem_table(
            ctx.cache,
            pieces,
            inst,
            s1.segments_per_piece,
            model.frontend.cpu(),
            ctx.segment_seconds,
            ctx.say,
        )
        model.to(ctx.device)
        _track_triplet_stage(
            ctx,
            f"stage1/{inst}",
            model,
            table,
            s1,
            salt=100 + i,
            validator=_make_validator(ctx, model, inst),
        )
        model.eval().save_pretrained(folder)
    return folders


def train_baseline(ctx: StageContext) -> Path:
    """The non-disentangled reference: one sub-space ``"mix"`` trained with track triplets on mixes."""
    b = ctx.cfg.baseline
    folder = ctx.out / "baseline"
    if _done(folder):
        ctx.say(f"baseline: already trained ({folder})")
        return folder
    base = ctx.csn_config
    cfg = CSNConfig(
        instruments=("mix",),
        subspace_dim=base.embedding_dim,
        backbone=base.backbone,
        backbone_kwargs=dict(base.backbone_kwargs),
        frontend=base.frontend,
        name=f"{base.name}-baseline",
    )
    ctx.torch_seed(4)
    model = CSN(cfg)
    table = stem_table(
        ctx.cache,
        _pieces(ctx, b.n_pieces, salt=4),
        "mix",
        b.segments_per_piece,
        model.frontend,
        ctx.segment_seconds,
        ctx.say,
    )
    model.to(ctx.device)
    _track_triplet_stage(
        ctx,
        "baseline",
        model,
        table,
        b,
        salt=400,
        validator=_make_validator(ctx, model, None),
    )
    model.eval().save_pretrained(folder)
    return folder


# ---- auxiliary targets -------------------------------------------------------------------------
class AuxTargets:
    """Targets ``t = concat(g_c(s_c)) / ||...||`` from the frozen per-instrument networks.

    Each network's output is L2-normalised before concatenation *(ours)*, so every
    present instrument weighs the same; absent (silent) instruments give zeros.
    """

    def __init__(
        self, folders: dict[str, Path], instruments: tuple[str, ...], device: torch.device
    ) -> None:
        missing = [i for i in instruments if not _done(folders.get(i, Path("/nonexistent")))]
        if missing:
            raise ModelNotFoundError(
                f"the auxiliary loss needs the stage-1 networks of {missing}; run stage1 first "
                "(or set stage3.aux_weight: 0 and disable stage2)"
            )
        self.instruments = instruments
        self.device = device
        self.nets = {
            i: CSN.from_pretrained(str(folders[i]), map_location=str(device)).eval()
            for i in instruments
        }
        self.dim = next(iter(self.nets.values())).config.subspace_dim

    def embed(self, inst: str, mels: torch.Tensor) -> torch.Tensor:
        return normalize_rows(_embed_chunks(self.nets[inst], mels, self.device))

    def targets(self, parts: dict[str, torch.Tensor], present: np.ndarray) -> torch.Tensor:
        """``parts[c]``: per-row g_c outputs ``(n, D)``; ``present``: ``(n, n_instruments)`` bool."""
        n = present.shape[0]
        cols = []
        for j, inst in enumerate(self.instruments):
            v = parts.get(inst, torch.zeros(n, self.dim))
            cols.append(v * torch.from_numpy(present[:, j : j + 1]).float())
        t = torch.cat(cols, dim=1)
        return t / t.norm(dim=1, keepdim=True).clamp_min(1e-12)


def _position_targets(
    ctx: StageContext, aux: AuxTargets, positions: list[tuple[str, int]], frontend: Any
) -> torch.Tensor:
    """Aux targets of original-piece segments at grid positions ``(track_id, k)``, in order."""
    insts = aux.instruments
    seg = ctx.segment_seconds
    present = np.zeros((len(positions), len(insts)), dtype=bool)
    parts: dict[str, torch.Tensor] = {}
    for j, inst in enumerate(insts):
        rows = [
            r
            for r, (tid, k) in enumerate(positions)
            if inst in ctx.cache.groups and _active(ctx.cache, tid, inst, k)
        ]
        present[rows, j] = True
        full = torch.zeros(len(positions), aux.dim)
        for lo in range(0, len(rows), 512):
            chunk = rows[lo : lo + 512]
            hop = ctx.cache.info(positions[chunk[0]][0]).hop_seconds if chunk else 1.5
            items = [(positions[r][0], (inst,), positions[r][1] * hop) for r in chunk]
            full[chunk] = aux.embed(inst, mel_of(frontend, group_segments(ctx.cache, items, seg)))
        parts[inst] = full
    return aux.targets(parts, present)


def _active(cache: GroupCache, tid: str, group: str, k: int) -> bool:
    act = cache.info(tid).activity.get(group)
    return act is not None and k < act.shape[0] and bool(act[k])


# ---- stage 2 -----------------------------------------------------------------------------------
def train_stage2(ctx: StageContext, stage1: dict[str, Path]) -> Path:
    """Pre-train the CSN with the auxiliary loss on mixes (and, optionally, single stems)."""
    s2 = ctx.cfg.stage2
    folder = ctx.out / "stage2"
    if _done(folder):
        ctx.say(f"stage2: already trained ({folder})")
        return folder
    ctx.torch_seed(2)
    model = CSN(ctx.csn_config)
    aux = AuxTargets(stage1, model.config.instruments, ctx.device)
    insts = model.config.instruments
    # inputs: the first non-silent mix segments of each piece; targets from the stems they contain
    positions = []
    for tid in _pieces(ctx, s2.n_pieces, salt=2):
        info = ctx.cache.info(tid)
        ks = np.flatnonzero(
            np.logical_or.reduce([info.activity[g] for g in insts if g in info.activity])
        )
        positions += [(tid, int(k)) for k in ks[: s2.segments_per_piece]]
    if not positions:
        raise DatasetError("stage2: no non-silent training segments")
    hop = ctx.cache.info(positions[0][0]).hop_seconds
    mix_targets = _position_targets(ctx, aux, positions, model.frontend)
    mix_mels = mel_of(
        model.frontend,
        group_segments(
            ctx.cache, [(t, ctx.cache.groups, k * hop) for t, k in positions], ctx.segment_seconds
        ),
    )
    mels, targets = [mix_mels], [mix_targets]
    if s2.include_stem_inputs:
        d = aux.dim
        for j, inst in enumerate(insts):
            rows = [r for r, (t, k) in enumerate(positions) if _active(ctx.cache, t, inst, k)]
            if not rows:
                continue
            stem_mels = mel_of(
                model.frontend,
                group_segments(
                    ctx.cache,
                    [(positions[r][0], (inst,), positions[r][1] * hop) for r in rows],
                    ctx.segment_seconds,
                ),
            )
            t = torch.zeros(len(rows), d * len(insts))
            # the stem alone: only its own slot, from the same network output as in the mix target
            slot = mix_targets[rows, j * d : (j + 1) * d]
            t[:, j * d : (j + 1) * d] = normalize_rows(slot)
            mels.append(stem_mels)
            targets.append(t)
    table_mels, table_targets = torch.cat(mels), torch.cat(targets)
    ctx.say(f"stage2: {len(table_mels)} segments ({len(positions)} mixes)")
    model.to(ctx.device)
    loss_fn = _loss(s2.loss)
    opt = torch.optim.Adam(model.parameters(), lr=s2.lr)
    n = len(table_mels)
    steps = max(1, math.ceil(n / s2.batch_size))

    def step(rng: np.random.Generator) -> dict[str, float]:
        idx = rng.integers(n, size=min(s2.batch_size, n))
        emb = model.embed_mel(_to(table_mels[idx], ctx.device))
        loss = loss_fn(emb, table_targets[idx].to(ctx.device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "segments": len(idx)}

    StageLoop(
        "stage2",
        {"model": model},
        opt,
        ctx.seed(2),
        s2.epochs,
        steps,
        ctx.out / "checkpoints" / "stage2",
        ctx.log,
        step,
        _make_validator(ctx, model, None),
        progress=ctx.progress,
    ).run(resume=ctx.resume)
    model.eval().save_pretrained(folder)
    return folder


# ---- stage 3 -----------------------------------------------------------------------------------
def train_stage3(ctx: StageContext, stage1: dict[str, Path], init: CSN | Path | None) -> CSN:
    """Masked-triplet training on pseudo-mixes (+ λ x auxiliary loss on the anchors).

    ``init`` is the model stage 3 starts from: a loaded CSN (``stage3.init_from``, see
    :func:`load_init_model`), a model folder (``OUT/stage2``), or None for a fresh network.
    """
    s3 = ctx.cfg.stage3
    ctx.torch_seed(3)
    model = _initial_csn(ctx, init)
    model.to(ctx.device)
    insts = model.config.instruments
    pieces = ctx.cache.pieces()
    chosen = _pieces(ctx, s3.n_pieces, salt=3)
    sampler = TripletSampler(
        {t: pieces[t] for t in chosen},
        conditions=insts,
        bin_bpm=s3.tempo_bin_bpm,
        additional="all" if s3.additional_triplets else "none",
        seed=int(ctx.seed(3, 1).integers(2**31)),
    )
    n_usable = len(sampler.group_of)
    ctx.say(
        f"stage3: {n_usable} of {len(chosen)} pieces usable in {len(sampler.tempo_groups)} tempo groups"
    )
    if n_usable < 3:
        raise DatasetError(
            f"stage3: only {n_usable} pieces fall in tempo groups of 3 or more; add pieces or "
            "widen stage3.tempo_bin_bpm"
        )
    ckpt_dir = ctx.out / "checkpoints" / "stage3"
    first = checkpoint_epoch(ckpt_dir) + 1 if ctx.resume else 1
    # auxiliary targets are needed only if an epoch still to train uses them
    use_aux = any(s3.schedule(e)[1] > 0 for e in range(first, s3.epochs + 1))
    aux_table: dict[tuple[str, int], int] = {}
    aux_targets = None
    if use_aux:
        aux = AuxTargets(stage1, insts, ctx.device)
        positions = []
        for tid in sorted(sampler.group_of):
            info = pieces[tid]
            ks = np.flatnonzero(np.logical_or.reduce([info.activity[g] for g in insts]))
            positions += [(tid, int(k)) for k in ks]
        ctx.say(f"stage3: auxiliary targets for {len(positions)} anchor positions")
        aux_targets = _position_targets(ctx, aux, positions, model.frontend.cpu())
        model.frontend.to(ctx.device)
        aux_table = {p: i for i, p in enumerate(positions)}
        del aux
    tri_loss = _loss(s3.triplet_loss)
    aux_loss = _loss(s3.aux_loss) if use_aux else None
    opt = torch.optim.Adam(model.parameters(), lr=s3.lr)
    steps = max(1, math.ceil(s3.triplets_per_epoch / s3.batch_size))
    cond_index = {c: i for i, c in enumerate(insts)}
    n_sub = len(insts)
    gain_db = s3.augment_gain_db
    aux_weight = s3.aux_weight

    def start_epoch(epoch: int) -> None:
        nonlocal aux_weight
        lr, aux_weight = s3.schedule(epoch)
        for g in opt.param_groups:
            g["lr"] = lr

    def render_seg(spec: Any, rng: np.random.Generator) -> np.ndarray:
        if gain_db <= 0:
            out = render(spec, ctx.cache)
        else:
            out = np.zeros(round(spec.duration_seconds * ctx.cache.sample_rate), dtype=np.float32)
            for part in spec.parts:
                g = 10 ** (rng.uniform(-gain_db, gain_db) / 20)
                out += g * render(type(spec)((part,), spec.duration_seconds), ctx.cache)
        if s3.augment_eq_db > 0:
            out = random_mix_eq(out, ctx.cache.sample_rate, rng, s3.augment_eq_db)
        return out

    def step(rng: np.random.Generator) -> dict[str, float]:
        groups: list[list[TripletSpec]] = [sampler.sample() for _ in range(s3.batch_size)]
        b = len(groups)
        waves = np.stack(
            [
                render_seg(s, rng)
                for g in groups
                for s in (g[0].anchor, g[0].positive, g[0].negative)
            ]
        )
        x = torch.from_numpy(waves).to(ctx.device)
        emb = model(x) if s3.through_inputs else model.embed_mel(model.frontend(x))
        emb_n = (normalize_rows(emb, n_sub) if s3.normalize else emb).view(b, 3, -1)
        a_i, p_i, n_i, masks = [], [], [], []
        for i, g in enumerate(groups):
            for t in g:
                a_i.append(i)
                # additional triplets swap the roles of the two pseudo-mixes
                p_i.append(1 if t.kind == "basic" else 2)
                n_i.append(2 if t.kind == "basic" else 1)
                masks.append(model.masks[cond_index[t.condition]])
        ai = torch.tensor(a_i)
        anchor = emb_n[ai, 0]
        positive = emb_n[ai, torch.tensor(p_i)]
        negative = emb_n[ai, torch.tensor(n_i)]
        ltri = tri_loss(anchor, positive, negative, torch.stack(masks))
        out = {"triplet_loss": ltri.item()}
        loss = ltri
        if aux_loss is not None and aux_weight > 0:
            rows = []
            for g in groups:
                part = g[0].anchor.parts[0]
                k = round(part.offset_seconds / pieces[part.track_id].hop_seconds)
                rows.append(aux_table[(part.track_id, k)])
            la = aux_loss(emb.view(b, 3, -1)[:, 0], aux_targets[rows].to(ctx.device))
            loss = ltri + aux_weight * la
            out["aux_loss"] = la.item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), **out, "triplets": b, "triplet_terms": len(a_i)}

    def publish(epoch: int, record: dict[str, Any]) -> None:
        # OUT is a loadable model after every epoch, so a long run can be used (or evaluated)
        # early; save_pretrained writes config.json last (model.write_model_files)
        model.save_pretrained(ctx.out)

    StageLoop(
        "stage3",
        {"model": model},
        opt,
        ctx.seed(3),
        s3.epochs,
        steps,
        ckpt_dir,
        ctx.log,
        step,
        _both(_make_validator(ctx, model, None), _make_pseudo_mix_validator(ctx, model)),
        extra_rngs={"sampler": sampler.rng},
        progress=ctx.progress,
        on_epoch_end=publish,
        on_epoch_start=start_epoch,
    ).run(resume=ctx.resume)
    return model.eval()


def _initial_csn(ctx: StageContext, init: CSN | Path | None) -> CSN:
    """A fresh CSN of the run's config, ``init`` itself, or ``init``'s weights."""
    if isinstance(init, CSN):
        return init
    return CSN(ctx.csn_config) if init is None else load_init_model(ctx.cfg, init)


def load_init_model(cfg: TrainConfig, init: str | Path) -> CSN:
    """Load the model stage 3 starts from and check it is the network ``cfg`` describes.

    Raises
    ------
    ConfigError
        ``init`` differs from ``cfg.model`` (architecture, sub-spaces or frontend); the
        message lists each differing field with both values.
    """
    from ..hub import load_model

    model, _ = load_model(str(init))
    run = cfg.csn_config()
    want, got = _trained_fields(run), _trained_fields(model.config)
    diff = sorted(k for k in want if want[k] != got.get(k))
    if diff:
        raise ConfigError(
            "stage3.init_from" if cfg.stage3.init_from is not None else "model",
            f"{str(init)!r} is a different network from this run's model section: "
            + "; ".join(f"{k}: {got.get(k)!r} there, {want[k]!r} here" for k in diff),
        )
    model.config = run  # the run's name
    return model


def _trained_fields(config: CSNConfig) -> dict[str, Any]:
    """What training depends on: the config less its name and the inference-time routing
    (``inputs`` and the HPSS settings; training embeds the mix)."""
    fields = dataclasses.asdict(config)
    del fields["name"], fields["inputs"]
    fields["frontend"] = {k: v for k, v in fields["frontend"].items() if not k.startswith("hpss_")}
    return fields


def _pieces(ctx: StageContext, n: int, salt: int) -> list[str]:
    return choose_pieces(ctx.train_ids, n, ctx.cfg.seed, salt)
