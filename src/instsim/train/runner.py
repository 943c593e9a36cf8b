"""``train()``: run the configured stages end to end into one output folder.

Output folder layout::

    OUT/config.json, model.safetensors, README.md   the trained CSN (Extractor.from_pretrained(OUT))
    OUT/train_config.yaml                           the resolved configuration
    OUT/training.json                               data used, settings, versions, timings
    OUT/log.jsonl                                   per-step losses, per-epoch validation kNN accuracy
    OUT/stage1/<instrument>/                        per-instrument networks (Extractor folders)
    OUT/stage2/                                     the pre-trained CSN
    OUT/baseline/                                   the non-disentangled reference (if trained)
    OUT/checkpoints/                                one checkpoint per stage, rewritten every epoch
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..errors import ConfigError, DatasetError
from ..model import WEIGHTS_NAME
from .checkpoint import checkpoint_epoch
from .config import TrainConfig, load_config
from .data import choose_pieces
from .loop import JsonlLog
from .stages import (
    StageContext,
    load_init_model,
    train_baseline,
    train_stage1,
    train_stage2,
    train_stage3,
)

__all__ = ["train"]

_SALTS = {"stage1": 1, "stage2": 2, "stage3": 3, "baseline": 4}


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            "device", f"{name!r} was asked for but no CUDA device is available; use 'cpu' or 'auto'"
        )
    return torch.device(name)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def _first_difference(a: Any, b: Any, prefix: str = "") -> str | None:
    """The first key whose value differs, ignoring more ``stage3.epochs`` (training longer)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            d = _first_difference(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else k)
            if d:
                return d
        return None
    if prefix == "stage3.epochs" and isinstance(a, int) and isinstance(b, int) and b >= a:
        return None  # resuming with more epochs continues the same run
    if (
        prefix == "stage3.phases"
        and isinstance(a, list)
        and isinstance(b, list)
        and b[: len(a)] == a
    ):
        return None  # appended phases (checked against the epochs already trained)
    return None if a == b else prefix or "<root>"


def _holds_training(out: Path) -> bool:
    """Whether ``out`` holds trained work: a saved model, a checkpoint or a stage's output."""
    if (out / WEIGHTS_NAME).is_file():
        return True
    return any(
        d.is_dir() and any(p.is_file() for p in d.rglob("*"))
        for d in (out / "checkpoints", out / "stage1", out / "stage2", out / "baseline")
    )


def train(
    config: TrainConfig | str | os.PathLike | dict[str, Any],
    out: str | os.PathLike,
    *,
    resume: bool = False,
    progress: bool = True,
    say: Any = print,
) -> Path:
    """Run the configured training stages; the output folder is a loadable model.

    Parameters
    ----------
    config : TrainConfig, path to a YAML/TOML file, or dict
    out : path
        Output folder (see the module docstring for its layout).
    resume : bool
        Continue a killed run from its last checkpoints (same config required);
        stages already finished are reused.
    progress : bool
        Show progress bars.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ConfigError
        Bad config (before any work), no data folder, or ``out`` already holds a
        run and ``resume`` is false.
    DatasetError
        The data folder is missing, empty or lacks the configured splits.
    """
    cfg = config if isinstance(config, TrainConfig) else load_config(config)
    cfg.validate()
    if not cfg.dataset.data_home:
        raise ConfigError(
            "dataset.data_home", "no data folder given (set it in the config or pass --data-home)"
        )
    out = Path(out)
    saved = out / "train_config.yaml"
    if saved.exists() and not resume:
        if _holds_training(out):
            raise ConfigError(
                "out",
                f"{str(out)!r} already holds a training run; pass --resume to continue it "
                "or choose another folder",
            )
        # a run that stopped before training anything (bad data, a stage refused at its
        # door): start it again, reusing its cache
        say(f"note: {str(out)!r} holds a run that trained nothing; starting it again")
    elif saved.exists():
        import yaml

        # read back through today's dataclasses: a field added since the run started
        # takes its default (which keeps the old behaviour), so it is not a difference
        before = json.loads(
            json.dumps(load_config(yaml.safe_load(saved.read_text(encoding="utf-8"))).to_dict())
        )
        diff = _first_difference(before, json.loads(json.dumps(cfg.to_dict())))
        if diff is not None:
            raise ConfigError(
                diff,
                f"differs from the run being resumed in {str(out)!r}; resume with the same "
                "configuration (only stage3.epochs may grow and stage3.phases be appended to)",
            )
        done = checkpoint_epoch(out / "checkpoints" / "stage3")
        for i, ph in enumerate(cfg.stage3.phases):
            if i >= len(before["stage3"]["phases"]) and ph.epoch <= done:
                raise ConfigError(
                    f"stage3.phases[{i}].epoch",
                    f"epochs 1-{done} of stage 3 are already trained in {str(out)!r}; a phase "
                    f"added on resume must start after them, got {ph.epoch}",
                )
    device = _device(cfg.device)
    init_model = None  # loaded (and checked) before any work, used by stage 3
    if "stage3" in cfg.stages and cfg.stage3.init_from is not None:
        init_model = load_init_model(cfg, cfg.stage3.init_from)
    out.mkdir(parents=True, exist_ok=True)

    from ..data.cache import GroupCache
    from ..plugins.datasets import open_dataset

    ds = open_dataset(cfg.dataset.name, cfg.dataset.data_home, cfg.dataset.version)
    splits = ds.splits()
    if cfg.dataset.train_split not in splits:
        raise DatasetError(
            f"dataset at {cfg.dataset.data_home!r} has no split {cfg.dataset.train_split!r}; "
            f"splits: {splits}"
        )
    train_all = ds.track_ids(cfg.dataset.train_split)
    valid_all = ds.track_ids(cfg.dataset.valid_split) if cfg.dataset.valid_split in splits else []
    if not valid_all and cfg.valid_pieces:
        say(f"note: no {cfg.dataset.valid_split!r} split; per-epoch validation is off")
    stage_n = {
        "stage1": cfg.stage1.n_pieces,
        "stage2": cfg.stage2.n_pieces,
        "stage3": cfg.stage3.n_pieces,
        "baseline": cfg.baseline.n_pieces,
    }
    needed: set[str] = set()
    for s in cfg.stages:
        needed |= set(choose_pieces(train_all, stage_n[s], cfg.seed, _SALTS[s]))
    valid_ids = choose_pieces(valid_all, cfg.valid_pieces, cfg.seed, 9) if cfg.valid_pieces else []

    import yaml

    saved.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8")
    sr = cfg.csn_config().frontend.sample_rate
    say(f"caching {len(needed) + len(valid_ids)} pieces at {sr} Hz ...")
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="decode + analyse", unit="piece", leave=False)

    def tick(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    t0 = time.perf_counter()
    cache = GroupCache.build(
        ds,
        cfg.cache_dir or out / "cache",
        sr,
        track_ids=sorted(needed | set(valid_ids)),
        workers=cfg.workers or None,
        on_error="skip",
        progress=tick,
    )
    if bar is not None:
        bar.close()
    if cache.failed:
        say(
            f"warning: {len(cache.failed)} pieces could not be decoded and are left out: "
            + ", ".join(sorted(cache.failed)[:5])
        )
    train_ids = [t for t in sorted(needed) if t in cache]
    valid_ids = [t for t in valid_ids if t in cache]
    if len(train_ids) < 3:
        raise DatasetError(
            f"only {len(train_ids)} training pieces could be read from {cfg.dataset.data_home!r}"
        )

    record: dict[str, Any] = {
        "instsim_version": __version__,
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "device": str(device),
        },
        "dataset": {
            "name": cfg.dataset.name,
            "data_home": str(cfg.dataset.data_home),
            "version": ds.version,
            "train_split": cfg.dataset.train_split,
            "valid_split": cfg.dataset.valid_split,
            "train_pieces": train_ids,
            "valid_pieces": valid_ids,
            "skipped": cache.failed,
        },
        "cache": str(cache.path),
        "stages": cfg.stages,
        "seconds": {"cache": round(time.perf_counter() - t0, 1)},
    }
    previous = out / "training.json"
    if resume and previous.exists():
        old = json.loads(previous.read_text(encoding="utf-8"))
        record["seconds"] = {
            **old.get("seconds", {}),
            **{k: v for k, v in record["seconds"].items() if k not in old.get("seconds", {})},
        }
    _write_json(previous, record)

    ctx = StageContext(
        cfg,
        cache,
        train_ids,
        valid_ids,
        out,
        device,
        JsonlLog(out / "log.jsonl"),
        resume=resume,
        progress=progress,
        say=say,
    )
    stage1: dict[str, Path] = {i: out / "stage1" / i for i in cfg.csn_config().instruments}
    final = None
    for s in cfg.stages:
        t = time.perf_counter()
        say(f"== {s}")
        if s == "stage1":
            stage1 = train_stage1(ctx)
        elif s == "stage2":
            final_dir = train_stage2(ctx, stage1)
            from ..model import CSN

            final = CSN.from_pretrained(str(final_dir))
        elif s == "stage3":
            stage2 = out / "stage2" if (out / "stage2" / WEIGHTS_NAME).is_file() else None
            record["stage3_init"] = cfg.stage3.init_from or (stage2 and str(stage2))
            final = train_stage3(ctx, stage1, init_model if init_model is not None else stage2)
        elif s == "baseline":
            train_baseline(ctx)
        record["seconds"][s] = round(record["seconds"].get(s, 0.0) + time.perf_counter() - t, 1)
        _write_json(out / "training.json", record)
    if final is not None:
        final.save_pretrained(out)
        say(f"model saved: {out} (load it with instsim.Extractor.from_pretrained({str(out)!r}))")
    else:
        say(f"no CSN stage ran; the per-instrument networks are in {out / 'stage1'}")
    return out
