"""The HEAR API: instsim as a model the HEAR benchmark (hear-eval-kit) can score.

The `HEAR common API <https://hearbenchmark.com/hear-api.html>`_ is three
functions over a model object; hear-eval-kit imports this module by name::

    python3 -m heareval.embeddings.runner instsim.hear --model ""

* :func:`load_model` returns a :class:`HearModel` (a ``torch.nn.Module``) with
  ``sample_rate``, ``scene_embedding_size`` and ``timestamp_embedding_size``.
* :func:`get_scene_embeddings`: one 640-d vector per clip, the same vector as
  :meth:`instsim.Extractor.embed` gives the clip (mean of the non-silent 3 s
  segments, each 128-d sub-space L2-normalised).
* :func:`get_timestamp_embeddings`: one 640-d vector every
  :attr:`HearModel.timestamp_hop_seconds`, each from the model's 3 s segment
  *centred* on its timestamp (the clip is zero-padded by half a segment at both
  ends), each sub-space L2-normalised.

Timestamp hop: the default is the model's own hop (1.5 s for the bundled model).
Each vector summarises 3 s of audio whatever the hop, so a finer hop resamples
the same slow-moving features more densely at a proportional cost (a 50 ms hop,
HEAR's suggestion for event tasks, costs 30x the segments of 1.5 s). Set
``timestamp_hop_seconds`` in :func:`load_model` (or on the model) to trade
compute for time resolution; see ``docs/hear.md``.

Silence never raises here (HEAR feeds silent clips): a clip with no segment
above the model's silence floor gets the unmasked mean of its segments, as
:meth:`instsim.TrackEmbedding.vector` does when every segment is silent.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from . import _validate
from .errors import NonFiniteAudioError, ParameterError
from .extractor import Extractor, normalize_subspaces
from .segments import segment_rms_db, silence_mask

__all__ = ["HearModel", "get_scene_embeddings", "get_timestamp_embeddings", "load_model"]


class HearModel(torch.nn.Module):
    """An :class:`~instsim.Extractor`'s network wrapped for the HEAR API.

    ``.to(device)`` moves the network; the embedding functions run it on the
    device its weights are on and return results on the input's device.

    Parameters
    ----------
    extractor : Extractor
        The model to wrap.
    timestamp_hop_seconds : float [seconds] or None
        Hop between timestamp embeddings; ``None``: the model's hop.

    Attributes
    ----------
    sample_rate : int [Hz]
        Rate the audio must be at (the model's: 22050 for the bundled model).
    scene_embedding_size, timestamp_embedding_size : int
        ``len(instruments) * subspace_dim`` (640 for the bundled model).
    timestamp_hop_seconds : float [seconds]
        Hop between timestamp embeddings.
    instruments : tuple of str
        Sub-space names, in embedding order (128 dims each for the bundled model).
    """

    def __init__(self, extractor: Extractor, timestamp_hop_seconds: float | None = None) -> None:
        super().__init__()
        self.csn = extractor.model
        self.extractor = extractor
        self.sample_rate: int = int(extractor.sample_rate)
        self.scene_embedding_size: int = int(extractor.embedding_dim)
        self.timestamp_embedding_size: int = int(extractor.embedding_dim)
        self.instruments: tuple[str, ...] = tuple(extractor.instruments)
        self.segmentation = extractor.segmentation()
        hop = (
            extractor.config.hop_seconds if timestamp_hop_seconds is None else timestamp_hop_seconds
        )
        self.timestamp_hop_seconds: float = _validate.positive_seconds("timestamp_hop_seconds", hop)
        self.batch_size = 32
        self.eval()

    @property
    def model_device(self) -> torch.device:
        """The device the network's weights are on."""
        return next(self.csn.parameters()).device

    @torch.inference_mode()
    def embed_windows(self, clip: torch.Tensor, starts: list[int]) -> np.ndarray:
        """Raw network outputs for the segments of ``clip`` starting at ``starts``.

        Parameters
        ----------
        clip : torch.Tensor [shape=(n_samples,), dtype=float32]
            Long enough for every segment (pad it first).
        starts : list of int [samples]

        Returns
        -------
        np.ndarray [shape=(len(starts), embedding_dim), dtype=float32]
            Not normalised. Segments are cut one batch at a time, so memory does
            not grow with the number of segments.
        """
        dev = self.model_device
        length = self.segmentation.length
        out = [np.zeros((0, self.scene_embedding_size), dtype=np.float32)]
        for i in range(0, len(starts), self.batch_size):
            batch = torch.stack([clip[s : s + length] for s in starts[i : i + self.batch_size]])
            out.append(self.csn(batch.to(dev)).float().cpu().numpy())
        return np.concatenate(out)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """Scene embeddings, as :func:`get_scene_embeddings`."""
        return get_scene_embeddings(audio, self)


def load_model(
    model_file_path: str | os.PathLike = "",
    *,
    timestamp_hop_seconds: float | None = None,
    device: str | None = None,
) -> HearModel:
    """Load an instsim model for the HEAR API.

    Parameters
    ----------
    model_file_path : str or path
        ``""``: the bundled default model; otherwise a folder with ``config.json``
        + ``model.safetensors`` or a Hugging Face Hub repo id (as
        :meth:`instsim.Extractor.from_pretrained`).
    timestamp_hop_seconds : float [seconds] or None
        Hop between timestamp embeddings; ``None``: the model's hop (1.5 s).
    device : str or None
        ``"cpu"``, ``"cuda"`` or ``None`` (GPU when available); hear-eval-kit
        moves the model with ``.to()`` anyway.

    Returns
    -------
    HearModel

    Raises
    ------
    ModelNotFoundError, ModelMismatchError, ConfigError
    """
    path = str(model_file_path) if model_file_path not in ("", None) else None
    ext = Extractor.from_pretrained(path, device=device)
    return HearModel(ext, timestamp_hop_seconds=timestamp_hop_seconds)


def _check_audio(audio: object, model: object) -> torch.Tensor:
    if not isinstance(model, HearModel):
        raise ParameterError(
            "model", f"expected the HearModel from instsim.hear.load_model, got {type(model)}"
        )
    if not isinstance(audio, torch.Tensor):
        raise ParameterError("audio", f"expected a torch.Tensor, got {type(audio).__name__}")
    if audio.dtype != torch.float32:
        raise ParameterError("audio", f"expected dtype torch.float32, got {audio.dtype}")
    if audio.ndim != 2:
        raise ParameterError(
            "audio",
            f"expected shape [n_sounds, n_samples] (2-D), got {tuple(audio.shape)} "
            f"({audio.ndim}-D)",
        )
    if audio.shape[1] == 0:
        raise ParameterError("audio", "has 0 samples per sound")
    if not bool(torch.isfinite(audio).all()):
        raise NonFiniteAudioError("<hear audio>", int((~torch.isfinite(audio)).sum()))
    return audio


def _starts(n_samples: int, length: int, hop: int) -> list[int]:
    """Segment starts as :func:`instsim.segments.segment_stream` cuts a clip."""
    if n_samples < length:
        return [0]
    return list(range(0, n_samples - length + 1, hop))


def _rms_db(x: torch.Tensor) -> float:
    """RMS level [dBFS], as :func:`instsim.segments.segment_rms_db`."""
    return segment_rms_db(x.detach().cpu().numpy())


def get_scene_embeddings(audio: torch.Tensor, model: HearModel) -> torch.Tensor:
    """One embedding per clip: what :meth:`instsim.Extractor.embed` gives each clip.

    Each clip is cut like a file (segments of the model's length and hop, the
    tail shorter than a segment dropped; a clip shorter than one segment is
    zero-padded to one); the raw segment outputs of the non-silent segments are
    averaged (all of them when every segment is silent), then each sub-space is
    L2-normalised.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples), dtype=float32]
        Mono audio at ``model.sample_rate``, in [-1, 1].
    model : HearModel
        From :func:`load_model`.

    Returns
    -------
    torch.Tensor [shape=(n_sounds, model.scene_embedding_size), dtype=float32]
        On ``audio``'s device.

    Raises
    ------
    ParameterError
        ``audio`` is not a 2-D float32 tensor, or ``model`` is not a ``HearModel``.
    NonFiniteAudioError
        ``audio`` holds NaN or infinity.
    """
    audio = _check_audio(audio, model)
    seg = model.segmentation
    n_sounds, n_samples = audio.shape
    starts = _starts(n_samples, seg.length, seg.hop)
    real = min(n_samples, seg.length)  # samples of real audio in each segment
    cfg = model.extractor.config
    out = np.zeros((n_sounds, model.scene_embedding_size), dtype=np.float32)
    for i in range(n_sounds):
        clip = torch.nn.functional.pad(audio[i], (0, max(0, seg.length - n_samples)))
        raw = model.embed_windows(clip, starts)
        rms_db = np.array([_rms_db(clip[s : s + real]) for s in starts])
        silent = silence_mask(rms_db, cfg.silence_range_db, cfg.silence_floor_db)
        keep = ~silent
        mean = raw[keep].mean(axis=0) if keep.any() else raw.mean(axis=0)
        out[i] = normalize_subspaces(mean[None], len(model.instruments))[0]
    return torch.from_numpy(out).to(audio.device)


def get_timestamp_embeddings(
    audio: torch.Tensor, model: HearModel
) -> tuple[torch.Tensor, torch.Tensor]:
    """Embeddings every ``model.timestamp_hop_seconds``, each centred on its timestamp.

    Timestamp ``k`` is ``k * hop`` for ``k = 0 .. floor(duration / hop)``; its
    embedding is the network's output for the model-length segment centred on it
    (the clip is zero-padded by half a segment at both ends), each sub-space
    L2-normalised. Every clip of a batch gets the same timestamps.

    Parameters
    ----------
    audio : torch.Tensor [shape=(n_sounds, n_samples), dtype=float32]
        Mono audio at ``model.sample_rate``, in [-1, 1].
    model : HearModel
        From :func:`load_model`.

    Returns
    -------
    embeddings : torch.Tensor [shape=(n_sounds, n_timestamps, model.timestamp_embedding_size), dtype=float32]
    timestamps : torch.Tensor [shape=(n_sounds, n_timestamps), dtype=float32] [milliseconds]
        Centre of each segment, evenly spaced, starting at 0. Both on ``audio``'s device.

    Raises
    ------
    ParameterError
        ``audio`` is not a 2-D float32 tensor, or ``model`` is not a ``HearModel``.
    NonFiniteAudioError
        ``audio`` holds NaN or infinity.
    """
    audio = _check_audio(audio, model)
    length = model.segmentation.length
    sr = model.sample_rate
    hop = max(1, round(model.timestamp_hop_seconds * sr))
    n_sounds, n_samples = audio.shape
    n_ts = n_samples // hop + 1
    half = length // 2
    padded = torch.nn.functional.pad(audio, (half, length - half))
    d = model.timestamp_embedding_size
    out = np.zeros((n_sounds, n_ts, d), dtype=np.float32)
    for i in range(n_sounds):
        raw = model.embed_windows(padded[i], [k * hop for k in range(n_ts)])
        out[i] = normalize_subspaces(raw, len(model.instruments))
    ts = torch.arange(n_ts, dtype=torch.float64) * (hop * 1000.0 / sr)
    timestamps = ts.float().expand(n_sounds, n_ts).contiguous()
    return torch.from_numpy(out).to(audio.device), timestamps.to(audio.device)
