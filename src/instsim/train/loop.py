"""The epoch loop shared by every stage: steps, logging, validation, checkpoints, resume.

A stage supplies ``step(rng) -> dict`` (one optimisation step; returns at least
``loss`` and ``triplets``) and ``validate() -> dict`` (per-epoch metrics). The
loop checkpoints at the end of every epoch (weights, optimizer, numpy and torch
RNG states, log length); ``resume=True`` restores the last one and continues, so
a killed run ends exactly where an uninterrupted run ends, log included.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .checkpoint import has_checkpoint, load_checkpoint, save_checkpoint

__all__ = ["JsonlLog", "StageLoop"]


class JsonlLog:
    """Append-only JSON-lines log that can be cut back to a checkpoint's length."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lines = sum(1 for _ in path.open(encoding="utf-8")) if path.exists() else 0

    def write(self, record: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")
        self.lines += 1

    def truncate(self, n: int, stage: str | None = None) -> None:
        """Keep the first ``n`` lines; after them drop ``stage``'s records (every record
        when ``stage`` is None) and keep other stages' (those of stages that ran after a
        finished stage now trained for longer)."""
        if not self.path.exists():
            self.lines = 0
            return
        lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
        keep = lines[:n] + [
            x for x in lines[n:] if stage is not None and json.loads(x).get("stage") != stage
        ]
        self.path.write_text("".join(keep), encoding="utf-8")
        self.lines = len(keep)


@dataclass
class StageLoop:
    """Run ``epochs`` x ``steps_per_epoch`` steps of one stage with checkpoints.

    Attributes
    ----------
    name : str
        Stage name (``"stage1/bass"``, ``"stage3"`` ...), written in every log record.
    modules : dict of str -> nn.Module
        Everything whose weights are checkpointed.
    optimizer : Optimizer
    rng : np.random.Generator
        The stage's sampling generator (its state is checkpointed).
    extra_rngs : dict of str -> np.random.Generator
        Other generators to checkpoint (the triplet sampler's).
    on_epoch_start : callable(epoch) or None
        Called with the 1-based epoch before it trains, also on resume (set a schedule's
        learning rate there: it is then the same in a resumed and an uninterrupted run).
    on_epoch_end : callable(epoch, record) or None
        Called after the epoch's record is logged and before its checkpoint is written.
    """

    name: str
    modules: dict[str, torch.nn.Module]
    optimizer: torch.optim.Optimizer
    rng: np.random.Generator
    epochs: int
    steps_per_epoch: int
    checkpoint_dir: Path
    log: JsonlLog
    step: Callable[[np.random.Generator], dict[str, float]]
    validate: Callable[[], dict[str, Any]] | None = None
    extra_rngs: dict[str, np.random.Generator] = field(default_factory=dict)
    progress: bool = True
    on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None
    on_epoch_start: Callable[[int], None] | None = None

    def _state(self, epoch: int) -> dict[str, Any]:
        return {
            "epoch": epoch,
            "log_lines": self.log.lines,
            "rng": self.rng.bit_generator.state,
            "extra_rngs": {k: g.bit_generator.state for k, g in self.extra_rngs.items()},
        }

    def run(self, resume: bool = False) -> dict[str, Any]:
        """Train; returns the last epoch's record. ``resume`` continues from the last checkpoint."""
        start = 0
        if resume and has_checkpoint(self.checkpoint_dir):
            st = load_checkpoint(self.checkpoint_dir, self.modules, self.optimizer)
            start = int(st["epoch"])
            self.rng.bit_generator.state = st["rng"]
            for k, g in self.extra_rngs.items():
                g.bit_generator.state = st["extra_rngs"][k]
            self.log.truncate(int(st["log_lines"]), stage=self.name)
        last: dict[str, Any] = {}
        for epoch in range(start, self.epochs):
            if self.on_epoch_start is not None:
                self.on_epoch_start(epoch + 1)
            for m in self.modules.values():
                m.train()
            bar = None
            if self.progress:
                from tqdm.auto import tqdm

                bar = tqdm(
                    total=self.steps_per_epoch,
                    desc=f"{self.name} epoch {epoch + 1}/{self.epochs}",
                    leave=False,
                    dynamic_ncols=True,
                )
            t0 = time.perf_counter()
            losses: list[float] = []
            counts = {"triplets": 0, "segments": 0}
            for s in range(self.steps_per_epoch):
                out = self.step(self.rng)
                losses.append(out["loss"])
                for key in counts:
                    counts[key] += int(out.get(key, 0))
                self.log.write(
                    {
                        "stage": self.name,
                        "epoch": epoch + 1,
                        "step": s + 1,
                        **{k: round(float(v), 6) for k, v in out.items()},
                    }
                )
                if bar is not None:
                    bar.set_postfix(loss=f"{out['loss']:.4f}")
                    bar.update(1)
            if bar is not None:
                bar.close()
            seconds = time.perf_counter() - t0
            for m in self.modules.values():
                m.eval()
            valid = self.validate() if self.validate is not None else {}
            last = {
                "stage": self.name,
                "epoch": epoch + 1,
                "event": "epoch_end",
                "mean_loss": float(np.mean(losses)) if losses else float("nan"),
                "lr": self.optimizer.param_groups[0]["lr"],
                "seconds": round(seconds, 3),
                "valid": valid,
            }
            for key, n in counts.items():
                if n:
                    last[key] = n
                    last[f"{key}_per_second"] = round(n / seconds, 3) if seconds > 0 else None
            self.log.write(last)
            # publish first: once an epoch's checkpoint exists, so does everything that
            # epoch publishes (a run killed in between redoes the epoch on --resume)
            if self.on_epoch_end is not None:
                self.on_epoch_end(epoch + 1, last)
            save_checkpoint(
                self.checkpoint_dir, self.modules, self.optimizer, self._state(epoch + 1)
            )
        return last
