"""Plugin registry: one shape for every plugin kind.

instsim discovers backbones, datasets and losses (the plugin *kinds*,
:data:`PLUGIN_KINDS`) through Python entry points, one entry-point group per kind
(``instsim.backbones``, ``instsim.datasets``, ``instsim.losses``). Every plugin it
loads is checked against its kind's contract (:mod:`instsim.contracts`); one that
breaks it is a :class:`~instsim.errors.PluginContractError` naming the plugin, its
distribution and what is wrong.

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

from .contracts import CONTRACTS
from .errors import InstsimError, PluginNotFoundError

__all__ = ["PLUGIN_KINDS", "PluginInfo", "available", "describe", "load", "refresh"]

#: Plugin kinds (short names) and their entry-point groups.
PLUGIN_KINDS: dict[str, str] = {kind: c.group for kind, c in CONTRACTS.items()}

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


def _group(kind: str) -> str:
    """The entry-point group of ``kind`` (a short name or the group itself)."""
    if kind in PLUGIN_KINDS:
        return PLUGIN_KINDS[kind]
    if kind in PLUGIN_KINDS.values():
        return kind
    raise PluginNotFoundError("plugin kinds", kind, PLUGIN_KINDS)


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


def available(kind: str) -> list[str]:
    """Sorted plugin names of ``kind`` (``"backbones"``, ``"datasets"`` or ``"losses"``)."""
    return sorted(_discover(_group(kind)))


def describe(kind: str | None = None) -> list[PluginInfo]:
    """Every plugin of ``kind`` (or of all kinds) with the distribution that provides it."""
    groups = [_group(kind)] if kind else list(PLUGIN_KINDS.values())
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


def load(kind: str, name: str) -> Any:
    """Load the plugin registered as ``name`` of ``kind`` and check it against its contract.

    Raises
    ------
    PluginNotFoundError
        ``name`` is not registered; the message lists the available names.
    PluginContractError
        The plugin loads but breaks its kind's contract (:mod:`instsim.contracts`).
    InstsimError
        The plugin is registered but its module fails to import.
    """
    full = _group(kind)
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
    contract = next(c for c in CONTRACTS.values() if c.group == full)
    contract.check(obj, name, eps[name].value, _dist_name(eps[name]))
    _loaded[key] = obj
    return obj
