"""Plugin contracts: what a backbone, a loss and a dataset plugin must be.

One contract per plugin kind, checked by :func:`instsim.registry.load` on every
plugin it loads, built-in or third-party; a plugin that breaks its contract is a
:class:`~instsim.errors.PluginContractError` naming the plugin, its distribution
and every broken rule, raised when it is loaded rather than in the middle of a run.

=============  =====================  ============================================================
kind           entry-point group      contract
=============  =====================  ============================================================
``backbones``  ``instsim.backbones``  a concrete subclass of :class:`instsim.plugins.backbones.Backbone`
                                      whose constructor takes ``n_mels`` and ``embedding_dim``;
                                      ``forward(x: [batch, 1, n_mels, frames]) -> [batch, embedding_dim]``
``losses``     ``instsim.losses``     a concrete subclass of one loss kind's base class
                                      (:data:`LOSS_KINDS`) constructible from keyword options alone
``datasets``   ``instsim.datasets``   a concrete subclass of
                                      :class:`instsim.plugins.datasets.MultitrackDataset` whose
                                      constructor takes ``data_home`` and ``version``, with a
                                      ``name`` and unique ``instruments`` (default :data:`INSTRUMENTS`)
=============  =====================  ============================================================

This module imports neither torch nor the plugins' base classes: a base class is
named by ``"module:attr"`` and imported when a plugin is checked (the plugin has
imported it already by then).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from .errors import PluginContractError
from .instruments import INSTRUMENTS

__all__ = ["CONTRACTS", "LOSS_KINDS", "Contract", "loss_kind"]

#: Loss kinds: the base class of each and the call it answers.
LOSS_KINDS: dict[str, tuple[str, str]] = {
    "triplet": (
        "instsim.plugins.losses:TripletStyleLoss",
        "forward(anchor, positive, negative: [batch, dim]) -> scalar",
    ),
    "masked_triplet": (
        "instsim.plugins.losses:MaskedTripletStyleLoss",
        "forward(anchor, positive, negative, masks: [batch, dim]) -> scalar",
    ),
    "target": (
        "instsim.plugins.losses:TargetStyleLoss",
        "forward(embedding, target: [batch, dim]) -> scalar",
    ),
}


def _resolve(target: str) -> type:
    module, attr = target.split(":")
    return getattr(import_module(module), attr)


def loss_kind(cls: Any) -> str | None:
    """The kind (a key of :data:`LOSS_KINDS`) of loss class ``cls``, or ``None`` if it has none."""
    if not isinstance(cls, type):
        return None
    for kind, (base, _) in LOSS_KINDS.items():
        if issubclass(cls, _resolve(base)):
            return kind
    return None


def _constructor_problems(cls: type, required: tuple[str, ...]) -> list[str]:
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return []
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params)
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    missing = [r for r in required if r not in names and not takes_any]
    return [f"its constructor takes no {', '.join(map(repr, missing))}"] if missing else []


def _loss_problems(cls: type) -> list[str]:
    if loss_kind(cls) is not None:
        return []
    bases = ", ".join(base.split(":")[1] for base, _ in LOSS_KINDS.values())
    return [f"it is not a subclass of a loss kind's base class ({bases})"]


def _dataset_problems(cls: type) -> list[str]:
    out = []
    if not isinstance(getattr(cls, "name", None), str) or not cls.name:
        out.append("its 'name' is not a non-empty string")
    inst = getattr(cls, "instruments", None)
    if (
        not isinstance(inst, tuple)
        or not inst
        or not all(isinstance(i, str) and i for i in inst)
        or len(set(inst)) != len(inst)
    ):
        out.append(
            f"its 'instruments' is {inst!r}, not a tuple of unique names such as {INSTRUMENTS!r}"
        )
    return out


@dataclass(frozen=True)
class Contract:
    """What the plugins of one kind must be.

    Attributes
    ----------
    kind : str
        Short name of the kind (``"backbones"``), as ``registry.available`` takes it.
    group : str
        Its entry-point group (``"instsim.backbones"``).
    base : str
        ``"module:attr"`` of the base class every plugin of the kind subclasses.
    constructor : tuple of str
        Keyword arguments the plugin's constructor must accept.
    summary : str
        The contract in one sentence (shown with ``instsim plugins``' help and errors).
    """

    kind: str
    group: str
    base: str
    constructor: tuple[str, ...]
    summary: str

    def problems(self, obj: Any) -> list[str]:
        """Every rule ``obj`` (a loaded plugin) breaks; ``[]`` when it meets the contract."""
        if not isinstance(obj, type):
            return [f"it is {obj!r}, not a class"]
        base = _resolve(self.base)
        if not issubclass(obj, base):
            if self.kind != "losses":
                return [f"it is not a subclass of {base.__module__}.{base.__qualname__}"]
            return _loss_problems(obj)
        out = []
        if inspect.isabstract(obj):
            missing = sorted(getattr(obj, "__abstractmethods__", ()))
            out.append(f"it does not implement {', '.join(missing)}")
        out += _constructor_problems(obj, self.constructor)
        if self.kind == "losses":
            out += _loss_problems(obj)
        if self.kind == "datasets":
            out += _dataset_problems(obj)
        return out

    def check(self, obj: Any, name: str, target: str, distribution: str) -> None:
        """Raise :class:`~instsim.errors.PluginContractError` if plugin ``name`` breaks the contract.

        Parameters
        ----------
        obj : object
            What the entry point loaded.
        name, target, distribution : str
            The plugin's registered name, its ``module:attr`` and the distribution
            registering it (they make the error message).
        """
        problems = self.problems(obj)
        if problems:
            raise PluginContractError(
                self.group, name, target, distribution, [*problems, f"expected {self.summary}"]
            )


#: The contract of each plugin kind, by short name.
CONTRACTS: dict[str, Contract] = {
    c.kind: c
    for c in (
        Contract(
            "backbones",
            "instsim.backbones",
            "instsim.plugins.backbones:Backbone",
            ("n_mels", "embedding_dim"),
            "a Backbone subclass: Net(n_mels=, embedding_dim=, **options), "
            "forward(x: [batch, 1, n_mels, frames]) -> [batch, embedding_dim]",
        ),
        Contract(
            "losses",
            "instsim.losses",
            "instsim.plugins.losses:Loss",
            (),
            "a subclass of TripletStyleLoss, MaskedTripletStyleLoss or TargetStyleLoss "
            "(instsim.plugins.losses) built from keyword options, forward(...) -> scalar",
        ),
        Contract(
            "datasets",
            "instsim.datasets",
            "instsim.plugins.datasets:MultitrackDataset",
            ("data_home", "version"),
            "a MultitrackDataset subclass: Dataset(data_home, version=None, **options) "
            "with a name, instruments and splits/track_ids/multitrack/validate",
        ),
    )
}
