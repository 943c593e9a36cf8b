"""Training configuration: dataclasses loaded from YAML or TOML and validated before any work.

A config names its dataset, backbones and losses by plugin name and holds every
hyper-parameter of the three stages (docs/method.md):

1. ``stage1``: one per-instrument network (``fcn``) per instrument, plain triplet
   loss on clean stems (track-based triplets).
2. ``stage2``: CSN pre-training with the auxiliary loss only.
3. ``stage3``: masked triplet loss on pseudo-mix triplets (basic, plus additional
   when ``additional_triplets``) + ``aux_weight`` x auxiliary loss on the anchors.

Unknown keys are errors (a typo must not silently train the wrong thing), and
every message names the field, e.g. ``stage3.batch_size``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..instruments import INSTRUMENTS

__all__ = [
    "LOSS_FIELDS",
    "BaselineConfig",
    "DatasetSection",
    "LossSpec",
    "PhaseSpec",
    "Stage1Config",
    "Stage2Config",
    "Stage3Config",
    "TrackTripletConfig",
    "TrainConfig",
    "load_config",
]

STAGES = ("stage1", "stage2", "stage3", "baseline")

#: The loss kind (:data:`instsim.contracts.LOSS_KINDS`) each loss field of the config takes.
LOSS_FIELDS: dict[str, str] = {
    "stage1.loss": "triplet",
    "stage2.loss": "target",
    "stage3.triplet_loss": "masked_triplet",
    "stage3.aux_loss": "target",
    "baseline.loss": "triplet",
}
_SINGULAR = {"backbones": "backbone", "datasets": "dataset", "losses": "loss"}


@dataclass
class LossSpec:
    """A loss by plugin name (group ``instsim.losses``) and its keyword options."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class DatasetSection:
    """Where the multitrack data comes from.

    Attributes
    ----------
    name : str
        Plugin in ``instsim.datasets`` (``"slakh"``).
    data_home : str or None
        Local folder (can be given on the command line with ``--data-home``).
    version : str or None
        Dataset version/layout (``None``: detect).
    train_split, valid_split : str
    """

    name: str = "slakh"
    data_home: str | None = None
    version: str | None = None
    train_split: str = "train"
    valid_split: str = "validation"


@dataclass
class ModelSection:
    """The CSN being trained (see :class:`instsim.model.CSNConfig`)."""

    backbone: str = "unet"
    backbone_kwargs: dict[str, Any] = field(default_factory=dict)
    instruments: list[str] = field(default_factory=lambda: list(INSTRUMENTS))
    subspace_dim: int = 128
    frontend: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    name: str = "instsim-csn"


@dataclass
class TrackTripletConfig:
    """Hyper-parameters shared by the stages trained with track-based triplets.

    Attributes
    ----------
    loss : LossSpec
        ``triplet`` with ``margin``.
    n_pieces : int
        Training pieces used; 0 = all.
    segments_per_piece : int
        First N non-silent 3 s segments (50 % overlap) of each piece.
    epochs, triplets_per_epoch, batch_size : int
    lr : float
        Adam learning rate.
    """

    loss: LossSpec = field(default_factory=lambda: LossSpec("triplet", {"margin": 0.2}))
    n_pieces: int = 200
    segments_per_piece: int = 40
    epochs: int = 20
    triplets_per_epoch: int = 4000
    batch_size: int = 64
    lr: float = 1e-3


@dataclass
class Stage1Config(TrackTripletConfig):
    """Per-instrument networks (paper §4.1.3): track triplets on one instrument's clean stems
    (the first 40 non-silent segments of 200 pieces in the paper).

    Attributes
    ----------
    backbone : str
        Plugin name of the per-instrument network (``"fcn"``).
    backbone_kwargs : dict
    embedding_dim : int
        Size of each per-instrument embedding (its slot in the auxiliary target).
    """

    backbone: str = "fcn"
    backbone_kwargs: dict[str, Any] = field(default_factory=dict)
    embedding_dim: int = 128


@dataclass
class Stage2Config:
    """CSN pre-training with the auxiliary loss (paper §4.1.3).

    Attributes
    ----------
    include_stem_inputs : bool
        Also train on each stem alone as input, its target holding only that
        instrument's slot (the paper's "targets computed from the individual stems
        contained in each input").
    """

    loss: LossSpec = field(default_factory=lambda: LossSpec("auxiliary"))
    n_pieces: int = 200
    segments_per_piece: int = 40
    include_stem_inputs: bool = True
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3


@dataclass
class PhaseSpec:
    """From ``epoch`` (1-based) on, stage 3 trains with these values (None: unchanged).

    A learning-rate drop late in training (``{epoch: 21, lr: 1e-4}``) is the usual use.
    """

    epoch: int
    lr: float | None = None
    aux_weight: float | None = None


@dataclass
class Stage3Config:
    """Masked-triplet training on pseudo-mixes (paper §3.1, §4.1.4).

    Attributes
    ----------
    triplet_loss, aux_loss : LossSpec
    aux_weight : float
        λ; 0 disables the auxiliary loss (Table 2's "basic triplet" row).
    additional_triplets : bool
        Add the swapped triplets for every other condition (Table 2's "+ add").
    n_pieces : int
        Training pieces (1,200 in the paper); 0 = all.
    triplets_per_epoch : int
        Anchors drawn per epoch (20,000 in the paper).
    epochs, batch_size : int
        400 and 64 in the paper.
    tempo_bin_bpm : float [BPM]
        Width of the tempo groups (tempi folded into 70-140 BPM first).
    augment_gain_db : float
        Random gain of each part of a pseudo-mix, uniform in ±this [dB] (0: off).
    augment_eq_db : float
        Random broad EQ of each rendered segment (low shelf, peak, high shelf, each
        uniform in ±this [dB]; :func:`instsim.data.production.random_mix_eq`), drawn
        independently for anchor, positive and negative (0: off).
    phases : list of PhaseSpec
        Changes of ``lr`` and ``aux_weight`` from a given epoch on, in increasing epoch
        order (empty: constant). On ``--resume`` phases may be appended that start after
        the epochs already trained, like a larger ``epochs``.
    normalize : bool
        L2-normalise each sub-space before the masked distance (ours, the default: the
        margin then has a fixed scale); false: the paper's raw masked distance.
    valid_pseudo_mix : int
        Focus pieces per instrument of the per-epoch pseudo-mix validation (the
        evaluation protocol on one fixed draw of the validation pieces, logged as
        ``valid.pseudo_mix_accuracy``); 0 disables it. Pseudo-mixes need tempo
        partners, so it wants ``valid_pieces`` of 20 or more.
    init_from : str or None
        Start from this trained CSN instead of ``OUT/stage2``: a model folder, a Hugging
        Face Hub repo id, or ``"default"`` (the bundled model). Its architecture and
        frontend must equal ``model``'s. Use it to fine-tune a model on other data or to
        continue a run whose checkpoints are gone (the optimizer state starts afresh).
    through_inputs : bool
        Embed the training pseudo-mixes through ``model.inputs`` (each sub-space from its
        own part of the mix, as the saved model will be used; the default), or, false,
        every sub-space from the mix, the saved model still carrying ``model.inputs``:
        how v4.1's recipe reproduces v4's weights, trained before routing existed.
    """

    triplet_loss: LossSpec = field(
        default_factory=lambda: LossSpec("masked_triplet", {"margin": 0.2})
    )
    aux_loss: LossSpec = field(default_factory=lambda: LossSpec("auxiliary"))
    aux_weight: float = 0.1
    additional_triplets: bool = True
    n_pieces: int = 1200
    triplets_per_epoch: int = 20000
    epochs: int = 400
    batch_size: int = 64
    lr: float = 1e-3
    tempo_bin_bpm: float = 5.0
    augment_gain_db: float = 0.0
    augment_eq_db: float = 0.0
    phases: list[PhaseSpec] = field(default_factory=list)
    normalize: bool = True
    valid_pseudo_mix: int = 10
    init_from: str | None = None
    through_inputs: bool = True

    def schedule(self, epoch: int) -> tuple[float, float]:
        """``(lr, aux_weight)`` in force during ``epoch`` (1-based)."""
        lr, aux = self.lr, self.aux_weight
        for ph in self.phases:
            if ph.epoch <= epoch:
                lr = ph.lr if ph.lr is not None else lr
                aux = ph.aux_weight if ph.aux_weight is not None else aux
        return lr, aux


@dataclass
class BaselineConfig(TrackTripletConfig):
    """The non-disentangled reference network: one embedding of the model's full size,
    trained with plain track triplets on mixes (no masks, no pseudo-mixes)."""

    n_pieces: int = 0


@dataclass
class TrainConfig:
    """A whole training run.

    Attributes
    ----------
    seed : int
        Seeds every random choice (same seed + same data = same model).
    device : str
        ``"auto"`` (GPU when available), ``"cpu"`` or ``"cuda"``.
    workers : int
        Processes for data preparation (decoding, caching); 0 = all cores.
    cache_dir : str or None
        Decoded-signal cache (default: ``<out>/cache``).
    valid_pieces : int
        Validation pieces for the per-epoch kNN accuracy (0 disables it).
    stages : list of str
        Which stages run, in order: ``stage1``, ``stage2``, ``stage3``, and
        ``baseline`` (the non-disentangled reference, saved in ``<out>/baseline``).
    """

    seed: int = 0
    device: str = "auto"
    workers: int = 0
    cache_dir: str | None = None
    valid_pieces: int = 20
    stages: list[str] = field(default_factory=lambda: ["stage1", "stage2", "stage3"])
    dataset: DatasetSection = field(default_factory=DatasetSection)
    model: ModelSection = field(default_factory=ModelSection)
    stage1: Stage1Config = field(default_factory=Stage1Config)
    stage2: Stage2Config = field(default_factory=Stage2Config)
    stage3: Stage3Config = field(default_factory=Stage3Config)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def csn_config(self) -> Any:
        """The :class:`~instsim.model.CSNConfig` of the model this run trains."""
        from ..model import CSNConfig

        m = self.model
        return CSNConfig(
            instruments=tuple(m.instruments),
            subspace_dim=m.subspace_dim,
            backbone=m.backbone,
            backbone_kwargs=dict(m.backbone_kwargs),
            frontend=dict(m.frontend),
            inputs=dict(m.inputs),
            name=m.name,
        )

    def validate(self) -> TrainConfig:
        """Check values and plugin names; raise :class:`ConfigError` naming the field."""

        def positive(path: str, v: Any, allow_zero: bool = False) -> None:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            if not ok or v < 0 or (v == 0 and not allow_zero):
                raise ConfigError(path, f"must be {'>= 0' if allow_zero else '> 0'}, got {v!r}")

        for s in self.stages:
            if s not in STAGES:
                raise ConfigError(
                    "stages", f"unknown stage {s!r}; valid: {', '.join(map(repr, STAGES))}"
                )
        if self.device not in ("auto", "cpu", "cuda") and not str(self.device).startswith("cuda:"):
            raise ConfigError("device", f"got {self.device!r}; valid: 'auto', 'cpu', 'cuda'")
        positive("workers", self.workers, allow_zero=True)
        positive("valid_pieces", self.valid_pieces, allow_zero=True)
        _plugin("dataset.name", "datasets", self.dataset.name)
        _plugin("model.backbone", "backbones", self.model.backbone)
        positive("model.subspace_dim", self.model.subspace_dim)
        if not self.model.instruments or len(set(self.model.instruments)) != len(
            self.model.instruments
        ):
            raise ConfigError(
                "model.instruments", f"must be unique names, got {self.model.instruments!r}"
            )
        try:
            self.csn_config()  # validates the frontend fields
        except ConfigError as exc:
            raise ConfigError(f"model.{exc.field}", str(exc).split(": ", 1)[-1]) from None
        s1, s2, s3 = self.stage1, self.stage2, self.stage3
        _plugin("stage1.backbone", "backbones", s1.backbone)
        for path, kind in LOSS_FIELDS.items():
            section, attr = path.split(".")
            _check_loss(path, getattr(getattr(self, section), attr).name, kind)
        for prefix, sec, names in (
            (
                "stage1",
                s1,
                (
                    "embedding_dim",
                    "segments_per_piece",
                    "epochs",
                    "triplets_per_epoch",
                    "batch_size",
                    "lr",
                ),
            ),
            ("stage2", s2, ("segments_per_piece", "epochs", "batch_size", "lr")),
            ("stage3", s3, ("triplets_per_epoch", "epochs", "batch_size", "lr", "tempo_bin_bpm")),
            (
                "baseline",
                self.baseline,
                ("segments_per_piece", "epochs", "triplets_per_epoch", "batch_size", "lr"),
            ),
        ):
            for n in names:
                positive(f"{prefix}.{n}", getattr(sec, n))
            positive(f"{prefix}.n_pieces", sec.n_pieces, allow_zero=True)
        positive("stage3.aux_weight", s3.aux_weight, allow_zero=True)
        positive("stage3.augment_gain_db", s3.augment_gain_db, allow_zero=True)
        positive("stage3.augment_eq_db", s3.augment_eq_db, allow_zero=True)
        positive("stage3.valid_pseudo_mix", s3.valid_pseudo_mix, allow_zero=True)
        lowest = 1
        for i, ph in enumerate(s3.phases):
            where = f"stage3.phases[{i}]"
            if ph.epoch < lowest:
                raise ConfigError(
                    f"{where}.epoch",
                    f"must be >= {lowest} (phases in increasing epoch order), got {ph.epoch!r}",
                )
            lowest = ph.epoch + 1
            if ph.lr is not None:
                positive(f"{where}.lr", ph.lr)
            if ph.aux_weight is not None:
                positive(f"{where}.aux_weight", ph.aux_weight, allow_zero=True)
        if s3.init_from is not None:
            from ..errors import ModelNotFoundError
            from ..hub import model_source
            from ..model import missing_model_files

            if not s3.init_from.strip():
                raise ConfigError("stage3.init_from", "must name a model, got an empty string")
            try:
                kind, where = model_source(s3.init_from)
            except ModelNotFoundError as exc:
                raise ConfigError("stage3.init_from", str(exc)) from None
            if kind != "hub":
                missing = missing_model_files(where)
                if missing:
                    raise ConfigError(
                        "stage3.init_from",
                        f"model folder {where!r} lacks {', '.join(missing)}",
                    )
        if len(set(self.stages)) != len(self.stages):
            raise ConfigError("stages", f"a stage is listed twice: {self.stages!r}")
        return self


def _plugin(path: str, kind: str, name: str) -> Any:
    """Load plugin ``name`` of ``kind`` for config field ``path``; errors name the field."""
    from .. import registry
    from ..errors import PluginContractError, PluginNotFoundError

    try:
        return registry.load(kind, name)
    except PluginNotFoundError as exc:
        raise ConfigError(
            path,
            f"no {_SINGULAR[kind]} plugin named {name!r}; available: "
            + ", ".join(repr(n) for n in exc.available),
        ) from None
    except PluginContractError as exc:
        raise ConfigError(path, str(exc)) from None


def _kind_of_loss(name: str) -> str | None:
    from .. import registry
    from ..contracts import loss_kind
    from ..errors import InstsimError

    try:
        return loss_kind(registry.load("losses", name))
    except InstsimError:  # a broken third-party loss is no valid choice
        return None


def _check_loss(path: str, name: str, kind: str) -> None:
    """Check that loss ``name`` exists and is of ``kind``, the kind config field ``path`` takes.

    Raises
    ------
    ConfigError
        Naming ``path.name``, the loss, its kind and the registered losses of ``kind``.
    """
    from .. import registry
    from ..contracts import LOSS_KINDS, loss_kind

    got = loss_kind(_plugin(f"{path}.name", "losses", name))
    if got != kind:
        valid = [n for n in registry.available("losses") if _kind_of_loss(n) == kind]
        raise ConfigError(
            f"{path}.name",
            f"loss {name!r} is a {got!r} loss, {LOSS_KINDS[got][1]}; this field takes a "
            f"{kind!r} loss, {LOSS_KINDS[kind][1]}; valid: {', '.join(map(repr, valid))}",
        )


# ---- loading ---------------------------------------------------------------------------
def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _coerce(path: str, tp: Any, value: Any) -> Any:
    """Convert a parsed YAML/TOML value to the annotated type, or raise ConfigError."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(path, inner[0], value)
    if _is_dataclass_type(tp):
        if tp is LossSpec and isinstance(value, str):
            return LossSpec(value)
        if not isinstance(value, dict):
            raise ConfigError(path, f"must be a mapping, got {value!r}")
        if tp is LossSpec:
            value = dict(value)
            name = value.pop("name", None)
            if not isinstance(name, str):
                raise ConfigError(f"{path}.name", f"a loss needs a plugin name, got {name!r}")
            opts = value.pop("options", {})
            return LossSpec(name, {**opts, **value})
        return _build(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(path, f"must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    pass
            raise ConfigError(path, f"must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(path, f"must be a string, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(path, f"must be a list, got {value!r}")
        return (
            [_coerce(f"{path}[{i}]", args[0], v) for i, v in enumerate(value)]
            if args
            else list(value)
        )
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, f"must be a mapping, got {value!r}")
        return dict(value)
    return value


def _build(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        where = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise ConfigError(
            where, f"unknown key; valid keys{' in ' + prefix if prefix else ''}: {', '.join(names)}"
        )
    kwargs = {k: _coerce(f"{prefix}.{k}" if prefix else k, hints[k], v) for k, v in data.items()}
    return cls(**kwargs)


def _read(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text) or {}
    except Exception as exc:
        raise ConfigError("<file>", f"cannot parse {str(path)!r}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError("<file>", f"{str(path)!r} must hold a mapping at the top level")
    return data


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    cur = data
    for k in keys[:-1]:
        nxt = cur.get(k)
        if nxt is None:
            nxt = cur[k] = {}
        elif not isinstance(nxt, dict):
            raise ConfigError(dotted, f"{k!r} is not a section")
        cur = nxt
    cur[keys[-1]] = value


def load_config(
    source: str | os.PathLike | dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
) -> TrainConfig:
    """Load, override and validate a training config.

    Parameters
    ----------
    source : path to a ``.yaml``/``.yml``/``.toml``/``.json`` file, a dict, or None (defaults)
    overrides : dict of dotted key -> value
        Applied after the file, e.g. ``{"dataset.data_home": "/data/slakh", "stage3.epochs": 2}``.

    Raises
    ------
    ConfigError
        Unreadable file, unknown key, wrong type, bad value or unknown plugin name;
        the message names the field.
    """
    if source is None:
        data: dict[str, Any] = {}
    elif isinstance(source, dict):
        data = json.loads(json.dumps(source))
    else:
        p = Path(source)
        if not p.is_file():
            raise ConfigError("<file>", f"config file {str(p)!r} does not exist")
        data = _read(p)
    for k, v in (overrides or {}).items():
        if v is not None:
            _set_dotted(data, k, v)
    return _build(TrainConfig, data).validate()
