"""Plugin registry: one shape for every entry-point group.

instsim discovers backbones, datasets and losses through Python entry points:

=====================  ==============================================================
group                  contract
=====================  ==============================================================
``instsim.backbones``  :class:`instsim.plugins.backbones.Backbone` subclass
``instsim.datasets``   :class:`instsim.plugins.datasets.MultitrackDataset` subclass
``instsim.losses``     ``torch.nn.Module`` subclass (see :mod:`instsim.plugins.losses`)
=====================  ==============================================================

Built-in plugins are registered through instsim's own ``pyproject.toml``, so they
take the same path as a third-party package's. Discovery is cached; call
:func:`refresh` after installing a package in a running interpreter. A broken or
duplicate third-party plugin is a warning naming it, never a crash.

Examples
--------
>>> from instsim import registry
>>> registry.available("backbones")  # doctest: +SKIP
['fcn', 'unet']
>>> UNet = registry.load("backbones", "unet")  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .errors import InstsimError, PluginNotFoundError

__all__ = ["GROUPS", "PluginInfo", "available", "describe", "load", "refresh"]

#: Short group names and their entry-point groups.
GROUPS: dict[str, str] = {
    "backbones": "instsim.backbones",
    "datasets": "instsim.datasets",
    "losses": "instsim.losses",
}

_OWN_DIST = "instsim"


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin: group, name, ``module:attr`` target and the distribution providing it."""

    group: str
    name: str
    value: str
    distribution: str
    version: str


_cache: dict[str, dict[str, EntryPoint]] = {}
_loaded: dict[tuple[str, str], Any] = {}


def _group(group: str) -> str:
    if group in GROUPS:
        return GROUPS[group]
    if group in GROUPS.values():
        return group
    raise PluginNotFoundError("groups", group, GROUPS)


def _dist_name(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.metadata["Name"] if dist is not None else "<unknown>"


def _discover(full: str) -> dict[str, EntryPoint]:
    if full in _cache:
        return _cache[full]
    found: dict[str, EntryPoint] = {}
    seen_values: dict[str, str] = {}
    # Own entry points first so a third-party duplicate cannot shadow a built-in.
    eps = sorted(
        entry_points(group=full), key=lambda e: (_dist_name(e) != _OWN_DIST, _dist_name(e))
    )
    for ep in eps:
        if ep.name in found:
            if seen_values[ep.name] != ep.value:
                warnings.warn(
                    f"duplicate plugin {ep.name!r} in {full!r}: {ep.value} from "
                    f"{_dist_name(ep)!r} is ignored, keeping {found[ep.name].value} from "
                    f"{_dist_name(found[ep.name])!r}",
                    RuntimeWarning,
                    stacklevel=3,
                )
            continue
        found[ep.name] = ep
        seen_values[ep.name] = ep.value
    _cache[full] = found
    return found


def refresh() -> None:
    """Forget discovered and loaded plugins (after installing a plugin package at run time)."""
    _cache.clear()
    _loaded.clear()


def available(group: str) -> list[str]:
    """Sorted plugin names in ``group`` (``"backbones"``, ``"datasets"`` or ``"losses"``)."""
    return sorted(_discover(_group(group)))


def describe(group: str | None = None) -> list[PluginInfo]:
    """Every plugin in ``group`` (or in all groups) with the distribution that provides it."""
    groups = [_group(group)] if group else list(GROUPS.values())
    out = []
    for full in groups:
        for name, ep in sorted(_discover(full).items()):
            dist = getattr(ep, "dist", None)
            out.append(
                PluginInfo(
                    full, name, ep.value, _dist_name(ep), dist.version if dist is not None else ""
                )
            )
    return out


def load(group: str, name: str) -> Any:
    """Load the object registered as ``name`` in ``group``.

    Raises
    ------
    PluginNotFoundError
        ``name`` is not registered; the message lists the available names.
    InstsimError
        The plugin is registered but its module fails to import.
    """
    full = _group(group)
    key = (full, name)
    if key in _loaded:
        return _loaded[key]
    eps = _discover(full)
    if name not in eps:
        raise PluginNotFoundError(full, name, eps)
    try:
        obj = eps[name].load()
    except Exception as exc:
        raise InstsimError(
            f"plugin {name!r} in {full!r} ({eps[name].value}, from {_dist_name(eps[name])!r}) "
            f"failed to load: {type(exc).__name__}: {exc}"
        ) from exc
    _loaded[key] = obj
    return obj
