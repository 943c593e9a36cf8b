"""The Conditional Similarity Network: backbone + named sub-spaces + fixed masks.

``CSN`` maps a batch of mono waveforms (or of log-mel spectrograms) to embeddings
of ``len(instruments) * subspace_dim`` dimensions. Sub-space ``c`` is the slice
``[c * D, (c + 1) * D)``; its mask ``m_c`` is one there and zero elsewhere
(docs/method.md, "Notation"). The masks are fixed, not learned.

Persistence goes through huggingface_hub's :class:`~huggingface_hub.ModelHubMixin`:
``save_pretrained`` writes ``config.json`` + ``model.safetensors`` (never a
pickle), ``from_pretrained`` reads a folder or a Hub repo and loads only
safetensors.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import ModelHubMixin
from torch import nn

from . import _validate, registry
from .errors import ConfigError, ModelMismatchError, ModelNotFoundError, UnknownInstrumentError
from .frontend import PARTS, LogMel, LogMelConfig
from .instruments import INSTRUMENTS

__all__ = [
    "CONFIG_NAME",
    "CSN",
    "WEIGHTS_NAME",
    "CSNConfig",
    "load_weights",
    "missing_model_files",
    "write_model_files",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT_VERSION = 3
"""Newest ``config.json`` format this version reads. 2 added ``inputs``, 3
``frontend.hpss_margin`` and ``frontend.hpss_other_part_db``. A config is written with the
oldest format that holds it (1 when every sub-space reads the mix, 2 when the split is
librosa's plain two-way split), so older readers load it, and a reader too old for what
the model needs refuses it instead of ignoring a key."""


def missing_model_files(folder: str | os.PathLike) -> list[str]:
    """Which of ``config.json`` and ``model.safetensors`` the model folder ``folder`` lacks."""
    return [n for n in (CONFIG_NAME, WEIGHTS_NAME) if not os.path.isfile(os.path.join(folder, n))]


@dataclass
class CSNConfig:
    """Everything needed to rebuild a model and its preprocessing.

    Attributes
    ----------
    instruments : tuple of str
        Sub-space names, in order. Default: drums, bass, piano, guitar, others.
    subspace_dim : int
        Dimensions per sub-space (``D``); the embedding has
        ``len(instruments) * subspace_dim`` dimensions.
    backbone : str
        Name of a plugin in ``instsim.backbones`` (``"unet"``, ``"fcn"``, ...).
    backbone_kwargs : dict
        Extra keyword arguments for the backbone (JSON-serialisable).
    frontend : LogMelConfig
        Log-mel parameters (sample rate, FFT, hop, mel bands, range, normalisation).
    segment_seconds : float [seconds]
        Default analysis segment length (3 s, as in the paper).
    hop_seconds : float [seconds]
        Default hop between segments (1.5 s = 50 % overlap).
    silence_range_db : float > 0 [dB]
        A segment whose RMS is more than this below the track's loudest segment is
        silent: it is excluded from the track mean. Relative, so a quiet recording
        is gated like a loud one.
    silence_floor_db : float [dBFS]
        A segment whose RMS is below this absolute level is silent whatever the
        track (digital silence: zeros, denormals, 16-bit dither at about -96 dBFS);
        a file with no segment above it cannot be embedded. Configs written before
        these two fields held one absolute ``silence_db``; it is ignored on load.
    inputs : dict of str to str
        What each sub-space is computed from: ``"mix"`` (the default for every
        sub-space not named), or the mix's ``"harmonic"`` or ``"percussive"`` part
        (median-filter HPSS on the STFT power, ``frontend.hpss_*``). The network runs
        once per distinct input and each sub-space is taken from its own input's pass,
        so ``{"drums": "percussive", "bass": "harmonic"}`` costs three passes and one
        HPSS per segment. It applies to waveform input (``CSN.forward``, hence the
        Extractor, ``instsim extract`` and ``instsim evaluate``); training works on
        cached log-mels of the mix and ignores it.
    name : str
        Free-form model identifier (stored in outputs).
    """

    instruments: tuple[str, ...] = INSTRUMENTS
    subspace_dim: int = 128
    backbone: str = "unet"
    backbone_kwargs: dict[str, Any] = field(default_factory=dict)
    frontend: LogMelConfig = field(default_factory=LogMelConfig)
    segment_seconds: float = 3.0
    hop_seconds: float = 1.5
    silence_range_db: float = 50.0
    silence_floor_db: float = -90.0
    inputs: dict[str, str] = field(default_factory=dict)
    name: str = "instsim-csn"

    def __post_init__(self) -> None:
        if isinstance(self.instruments, str) or not isinstance(self.instruments, (list, tuple)):
            raise ConfigError("instruments", f"must be a list of names, got {self.instruments!r}")
        inst = tuple(self.instruments)
        if not inst or not all(isinstance(i, str) and i for i in inst):
            raise ConfigError("instruments", f"must be non-empty strings, got {list(inst)!r}")
        if len(set(inst)) != len(inst):
            raise ConfigError("instruments", f"names must be unique, got {list(inst)!r}")
        self.instruments = inst
        self.subspace_dim = _validate.positive_int("subspace_dim", self.subspace_dim)
        if not isinstance(self.backbone, str) or not self.backbone:
            raise ConfigError("backbone", f"must be a plugin name, got {self.backbone!r}")
        if not isinstance(self.backbone_kwargs, dict):
            raise ConfigError("backbone_kwargs", f"must be a mapping, got {self.backbone_kwargs!r}")
        if isinstance(self.frontend, dict):
            self.frontend = LogMelConfig.from_dict(self.frontend)
        elif not isinstance(self.frontend, LogMelConfig):
            raise ConfigError("frontend", f"must be a mapping, got {self.frontend!r}")
        for name in ("segment_seconds", "hop_seconds"):
            setattr(self, name, _validate.positive_seconds(name, getattr(self, name)))
        self.silence_range_db = _validate.number(
            "silence_range_db", self.silence_range_db, unit="dB", positive=True
        )
        self.silence_floor_db = _validate.number(
            "silence_floor_db", self.silence_floor_db, unit="dBFS"
        )
        if not isinstance(self.inputs, dict):
            raise ConfigError(
                "inputs", f"must be a mapping of instrument to part, got {self.inputs!r}"
            )
        for instrument, part in self.inputs.items():
            if instrument not in inst:
                raise ConfigError(
                    "inputs", f"unknown instrument {instrument!r}; valid: {', '.join(inst)}"
                )
            _validate.choice(f"inputs.{instrument}", part, PARTS)
        # canonical: instrument order, the default ("mix") left out
        self.inputs = {i: self.inputs[i] for i in inst if self.inputs.get(i, "mix") != "mix"}

    @property
    def embedding_dim(self) -> int:
        """Total embedding size, ``len(instruments) * subspace_dim``."""
        return len(self.instruments) * self.subspace_dim

    def subspace(self, instrument: str) -> slice:
        """The slice of the embedding that belongs to ``instrument``."""
        try:
            i = self.instruments.index(instrument)
        except ValueError:
            raise UnknownInstrumentError(instrument, self.instruments) from None
        return slice(i * self.subspace_dim, (i + 1) * self.subspace_dim)

    def input_of(self, instrument: str) -> str:
        """What sub-space ``instrument`` is computed from (one of ``"mix"``, ``"harmonic"``,
        ``"percussive"``)."""
        self.subspace(instrument)  # unknown names raise
        return self.inputs.get(instrument, "mix")

    @property
    def format_version(self) -> int:
        """The oldest ``config.json`` format that holds this config (:data:`FORMAT_VERSION`)."""
        if not self.inputs:
            return 1
        fe = self.frontend
        return 3 if fe.hpss_margin != 1 or fe.hpss_other_part_db is not None else 2

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "instruments": list(self.instruments),
            "subspace_dim": self.subspace_dim,
            "backbone": self.backbone,
            "backbone_kwargs": dict(self.backbone_kwargs),
            "frontend": self.frontend.to_dict(),
            "segment_seconds": self.segment_seconds,
            "hop_seconds": self.hop_seconds,
            "silence_range_db": self.silence_range_db,
            "silence_floor_db": self.silence_floor_db,
            "inputs": dict(self.inputs),
            "name": self.name,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CSNConfig:
        """Build and validate from a dict; unknown keys are ignored."""
        if not isinstance(data, dict):
            raise ConfigError(
                "<root>", f"a model config must be a mapping, got {type(data).__name__}"
            )
        version = data.get("format_version", 1)
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            raise ConfigError(
                "format_version",
                f"this model config is format {version}, newer than this instsim reads "
                f"(up to {FORMAT_VERSION}); upgrade instsim",
            )
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> CSNConfig:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelNotFoundError(f"cannot read model config {str(path)!r}: {exc}") from None
        return cls.from_dict(data)


class CSN(
    nn.Module,
    ModelHubMixin,
    library_name="instsim",
    tags=["audio", "music-similarity", "instsim"],
    repo_url="https://github.com/instsim/instsim",
    license="mit",
):
    """Conditional Similarity Network.

    Parameters
    ----------
    config : CSNConfig
        Instruments, sub-space size, backbone (by plugin name) and frontend.

    Shapes
    ------
    ``forward(wave: [batch, n_samples]) -> [batch, embedding_dim]`` (waveform at
    ``config.frontend.sample_rate``; each sub-space from its ``config.inputs`` part of
    the mix); ``embed_mel(x: [batch, 1, n_mels, n_frames])`` does the same from one
    log-mel batch (every sub-space from that input).
    """

    def __init__(self, config: CSNConfig) -> None:
        super().__init__()
        if isinstance(config, dict):
            config = CSNConfig.from_dict(config)
        self.config = config
        backbone_cls = registry.load("backbones", config.backbone)
        self.frontend = LogMel(config.frontend)
        try:
            self.backbone = backbone_cls(
                n_mels=config.frontend.n_mels,
                embedding_dim=config.embedding_dim,
                **config.backbone_kwargs,
            )
        except TypeError as exc:
            raise ConfigError(
                "backbone_kwargs", f"backbone {config.backbone!r} rejected them: {exc}"
            ) from None
        n, d = len(config.instruments), config.subspace_dim
        masks = torch.zeros(n, n * d)
        for i in range(n):
            masks[i, i * d : (i + 1) * d] = 1.0
        self.register_buffer("masks", masks, persistent=False)

    @property
    def instruments(self) -> tuple[str, ...]:
        return self.config.instruments

    def mask(self, instrument: str) -> torch.Tensor:
        """The fixed binary mask ``m_c`` of ``instrument``, shape ``[embedding_dim]``."""
        return self.masks[self.config.subspace(instrument).start // self.config.subspace_dim]

    def embed_mel(self, x: torch.Tensor) -> torch.Tensor:
        """Embed a log-mel batch ``[batch, 1, n_mels, n_frames]`` -> ``[batch, embedding_dim]``."""
        return self.backbone(x)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if not self.config.inputs:  # every sub-space from the mix: one pass
            return self.backbone(self.frontend(wave))
        cfg = self.config
        sources = [cfg.input_of(i) for i in cfg.instruments]
        parts = tuple(dict.fromkeys(sources))  # the distinct inputs, in instrument order
        # one batch of every input's log-mel, one backbone call, each sub-space from its input
        mels = self.frontend.parts(wave, parts)
        out = self.backbone(torch.cat(list(mels.values()))).reshape(len(parts), wave.shape[0], -1)
        return torch.cat(
            [out[parts.index(src), :, cfg.subspace(i)] for i, src in zip(cfg.instruments, sources)],
            dim=1,
        )

    # ---- persistence (huggingface_hub mixin hooks) -------------------------------
    def _save_pretrained(self, save_directory: Path) -> None:
        state = {k: v.detach() for k, v in self.state_dict().items()}
        write_model_files(save_directory, self.config.to_dict(), state)

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        config: CSNConfig | None = None,
        map_location: str = "cpu",
        **model_kwargs: Any,
    ) -> CSN:
        from huggingface_hub import hf_hub_download

        if os.path.isdir(model_id):
            weights = os.path.join(model_id, WEIGHTS_NAME)
            missing = missing_model_files(model_id)
            if missing:
                raise ModelNotFoundError(
                    f"model folder {model_id!r} lacks {', '.join(missing)}; a model folder "
                    f"holds {CONFIG_NAME} and {WEIGHTS_NAME} (written by save_pretrained)"
                )
        else:
            if config is None:  # the mixin swallowed the error: fetch again to report it
                hf_hub_download(
                    model_id,
                    CONFIG_NAME,
                    revision=revision,
                    cache_dir=cache_dir,
                    force_download=force_download,
                    token=token,
                    local_files_only=local_files_only,
                )
            weights = hf_hub_download(
                model_id,
                WEIGHTS_NAME,
                revision=revision,
                cache_dir=cache_dir,
                force_download=force_download,
                token=token,
                local_files_only=local_files_only,
            )
        if config is None:
            config = CSNConfig.from_json(os.path.join(model_id, CONFIG_NAME))
        if isinstance(config, dict):
            config = CSNConfig.from_dict(config)
        model = cls(config)
        load_weights(model, weights, source=model_id)
        model.to(map_location)
        model.eval()
        return model


def write_model_files(
    folder: str | os.PathLike,
    config: dict[str, Any],
    tensors: dict[str, torch.Tensor],
    *,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write a model folder: :data:`WEIGHTS_NAME`, then :data:`CONFIG_NAME`. Every model save goes here.

    ``CSN.save_pretrained`` (and so ``push_to_hub``, ``Extractor.save_pretrained`` and
    every checkpoint training publishes) and :func:`instsim.hub.export_model` use it.
    Each file is written under a temporary name in ``folder`` and renamed over the
    old one; an old ``config.json`` is removed first and the new one written last, so
    a folder that holds ``config.json`` holds the weights that fit it, even if the
    process dies half-way (resumable training relies on this).

    Parameters
    ----------
    folder : path
        Created if needed.
    config : dict
        The model config (``CSNConfig.to_dict()``), written as JSON.
    tensors : dict of str -> Tensor
        The state dict to store (any dtype; made contiguous).
    metadata : dict of str -> str, optional
        safetensors header metadata (``{"format": "pt"}`` is always set).

    Returns
    -------
    Path
        ``folder``.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_NAME).unlink(missing_ok=True)
    tmp = folder / f".{WEIGHTS_NAME}.partial"
    save_file(
        {k: v.contiguous() for k, v in tensors.items()},
        str(tmp),
        metadata={"format": "pt", **(metadata or {})},
    )
    tmp.replace(folder / WEIGHTS_NAME)
    tmp = folder / f".{CONFIG_NAME}.partial"
    tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(folder / CONFIG_NAME)
    return folder


def load_weights(model: nn.Module, weights: str | os.PathLike, source: str = "") -> None:
    """Load a ``model.safetensors`` file into ``model`` strictly, with clear errors.

    Raises
    ------
    ModelMismatchError
        Missing, unexpected or differently shaped tensors (config and weights disagree).
    ModelNotFoundError
        The file cannot be read as safetensors.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    where = source or str(weights)
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelNotFoundError(
            f"cannot read weights {str(weights)!r} of model {where!r}: {exc}"
        ) from None
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing tensors {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(
                f"unexpected tensors {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}"
            )
        if shapes:
            parts.append(
                "shape mismatch for "
                + ", ".join(
                    f"{k} (weights {tuple(state[k].shape)} vs model {tuple(own[k].shape)})"
                    for k in shapes[:5]
                )
            )
        raise ModelMismatchError(
            f"weights of model {where!r} do not fit its config.json: " + "; ".join(parts)
        )
    model.load_state_dict(state, strict=True)
