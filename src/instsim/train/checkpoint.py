"""Checkpoints that resume exactly: weights, optimizer, RNG states and progress.

A checkpoint is a folder with ``tensors.safetensors`` (model and optimizer
tensors, torch RNG state) and ``state.json`` (epoch, step, numpy/python RNG
states, anything JSON-serialisable). Nothing is pickled. The folder is written
under a temporary name and renamed, so a run killed mid-save keeps its previous
checkpoint intact.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch

__all__ = ["checkpoint_epoch", "has_checkpoint", "load_checkpoint", "save_checkpoint"]

_TENSORS = "tensors.safetensors"
_STATE = "state.json"


def _flatten_optimizer(
    opt: torch.optim.Optimizer,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, st in sd["state"].items():
        for key, val in st.items():
            if torch.is_tensor(val):
                tensors[f"optim.{pid}.{key}"] = val.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[key] = val
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _unflatten_optimizer(
    opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, val in tensors.items():
        if not name.startswith("optim."):
            continue
        _, pid, key = name.split(".", 2)
        state.setdefault(int(pid), {})[key] = val
    for pid, sc in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(sc)
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save_checkpoint(
    folder: str | os.PathLike,
    modules: dict[str, torch.nn.Module],
    optimizer: torch.optim.Optimizer | None,
    state: dict[str, Any],
) -> Path:
    """Atomically write a checkpoint folder.

    Parameters
    ----------
    folder : path
        Destination (replaced if it exists).
    modules : dict of prefix -> nn.Module
        Their ``state_dict`` tensors are saved under ``"{prefix}.{name}"``.
    optimizer : Optimizer or None
    state : dict
        JSON-serialisable progress (epoch, step, numpy RNG state, log sizes ...).
        The torch CPU RNG state is added automatically.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    tensors: dict[str, torch.Tensor] = {}
    for prefix, mod in modules.items():
        for k, v in mod.state_dict().items():
            tensors[f"{prefix}.{k}"] = v.detach().cpu().contiguous()
    meta: dict[str, Any] = {"state": state}
    if optimizer is not None:
        ot, om = _flatten_optimizer(optimizer)
        tensors.update(ot)
        meta["optimizer"] = om
    tensors["rng.torch"] = torch.get_rng_state()
    save_file(tensors, str(tmp / _TENSORS))
    (tmp / _STATE).write_text(json.dumps(meta), encoding="utf-8")
    old = folder.with_name(folder.name + ".old")
    if folder.exists():
        if old.exists():
            shutil.rmtree(old)
        folder.rename(old)
    tmp.rename(folder)
    if old.exists():
        shutil.rmtree(old)
    return folder


def load_checkpoint(
    folder: str | os.PathLike,
    modules: dict[str, torch.nn.Module],
    optimizer: torch.optim.Optimizer | None,
) -> dict[str, Any]:
    """Restore modules, optimizer and the torch RNG in place; return the saved ``state`` dict."""
    from safetensors.torch import load_file

    folder = _saved(folder) or Path(folder)
    tensors = load_file(str(folder / _TENSORS))
    meta = json.loads((folder / _STATE).read_text(encoding="utf-8"))
    for prefix, mod in modules.items():
        sd = {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
        mod.load_state_dict(sd, strict=True)
    if optimizer is not None and "optimizer" in meta:
        _unflatten_optimizer(optimizer, tensors, meta["optimizer"])
    torch.set_rng_state(tensors["rng.torch"])
    return meta["state"]


def has_checkpoint(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` (or its ``.old`` twin left by a kill mid-save) holds a checkpoint."""
    return _saved(folder) is not None


def checkpoint_epoch(folder: str | os.PathLike) -> int:
    """Epochs finished by the checkpoint in ``folder`` (0 when there is none)."""
    f = _saved(folder)
    return 0 if f is None else int(json.loads((f / _STATE).read_text("utf-8"))["state"]["epoch"])


def _saved(folder: str | os.PathLike) -> Path | None:
    """The folder holding the checkpoint: ``folder``, or its ``.old`` twin when a run was
    killed between the two renames of :func:`save_checkpoint`; None when there is none."""
    folder = Path(folder)
    for f in (folder, folder.with_name(folder.name + ".old")):
        if (f / _TENSORS).is_file() and (f / _STATE).is_file():
            return f
    return None
