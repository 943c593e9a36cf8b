"""Log-mel frontend, computed in torch (batched, on the model's device).

The frontend's parameters live in :class:`LogMelConfig`, which is part of every
saved model's ``config.json``: a model describes its own preprocessing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from . import _validate
from .errors import ConfigError, ParameterError

__all__ = ["LogMel", "LogMelConfig", "mel_filterbank"]

_NORMALIZATIONS = ("instance", "fixed", "none")


@dataclass
class LogMelConfig:
    """Parameters of the log-mel spectrogram.

    Attributes
    ----------
    sample_rate : int [Hz]
        Rate the waveform is resampled to before analysis.
    n_fft : int
        FFT size (and Hann window length) [samples].
    hop_length : int
        Hop between frames [samples]. 441 at 22050 Hz is 20 ms, so 1.5 s hops
        fall on whole frames.
    n_mels : int
        Number of mel bands.
    f_min_hz, f_max_hz : float [Hz]
        Frequency range of the mel filterbank; ``f_max_hz <= sample_rate / 2``.
    log_offset : float
        ``log(mel + log_offset)`` keeps silence finite.
    normalization : {"instance", "fixed", "none"}
        ``"instance"``: each segment to zero mean and unit variance (robust to
        gain); ``"fixed"``: ``(x - norm_mean) / norm_std``; ``"none"``: raw log-mel.
    norm_mean, norm_std : float
        Used by ``"fixed"`` normalisation.
    """

    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 441
    n_mels: int = 128
    f_min_hz: float = 20.0
    f_max_hz: float = 11025.0
    log_offset: float = 1e-6
    normalization: str = "instance"
    norm_mean: float = 0.0
    norm_std: float = 1.0

    def __post_init__(self) -> None:
        for name in ("sample_rate", "n_fft", "hop_length", "n_mels"):
            setattr(self, name, _validate.positive_int(f"frontend.{name}", getattr(self, name)))
        for name in ("f_min_hz", "f_max_hz", "log_offset", "norm_mean", "norm_std"):
            setattr(self, name, _validate.number(f"frontend.{name}", getattr(self, name)))
        nyquist = self.sample_rate / 2
        if not 0 <= self.f_min_hz < self.f_max_hz <= nyquist:
            raise ConfigError(
                "frontend.f_max_hz",
                f"need 0 <= f_min_hz < f_max_hz <= sample_rate/2 = {nyquist:g}, got "
                f"f_min_hz={self.f_min_hz:g}, f_max_hz={self.f_max_hz:g}",
            )
        if self.log_offset <= 0:
            raise ConfigError("frontend.log_offset", f"must be > 0, got {self.log_offset!r}")
        if self.norm_std <= 0:
            raise ConfigError("frontend.norm_std", f"must be > 0, got {self.norm_std!r}")
        if self.normalization not in _NORMALIZATIONS:
            raise ConfigError(
                "frontend.normalization",
                f"got {self.normalization!r}; valid: {', '.join(map(repr, _NORMALIZATIONS))}",
            )
        if self.n_mels > self.n_fft // 2 + 1:
            raise ConfigError(
                "frontend.n_mels", f"{self.n_mels} bands need n_fft >= {2 * (self.n_mels - 1)}"
            )

    def n_frames(self, n_samples: int) -> int:
        """Frames produced for ``n_samples`` samples (centred STFT)."""
        return 1 + n_samples // self.hop_length

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogMelConfig:
        """Build from a dict, ignoring unknown keys (forward compatible)."""
        if not isinstance(data, dict):
            raise ConfigError("frontend", f"must be a mapping, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    # Slaney's auditory scale: linear below 1 kHz, logarithmic above.
    f = np.asarray(f, dtype=np.float64)
    mel = f / (200.0 / 3)
    log_part = f >= 1000.0
    return np.where(
        log_part, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / (np.log(6.4) / 27.0), mel
    )


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    hz = m * (200.0 / 3)
    log_part = m >= 15.0
    return np.where(log_part, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), hz)


def mel_filterbank(sr: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> np.ndarray:
    """Slaney-normalised triangular mel filterbank (as librosa's default).

    Returns
    -------
    np.ndarray [shape=(n_mels, n_fft // 2 + 1), dtype=float32]
    """
    fft_freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    mel_pts = _mel_to_hz(np.linspace(_hz_to_mel(f_min), _hz_to_mel(f_max), n_mels + 2))
    fdiff = np.diff(mel_pts)
    ramps = mel_pts[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_pts[2:] - mel_pts[:-2]))[:, None]
    return weights.astype(np.float32)


class LogMel(nn.Module):
    """Waveform batch -> normalised log-mel spectrogram batch.

    ``forward(wave: [batch, n_samples]) -> [batch, 1, n_mels, n_frames]`` with
    ``n_frames = 1 + n_samples // hop_length``.
    """

    def __init__(self, config: LogMelConfig) -> None:
        super().__init__()
        self.config = config
        fb = mel_filterbank(
            config.sample_rate, config.n_fft, config.n_mels, config.f_min_hz, config.f_max_hz
        )
        self.register_buffer("mel_basis", torch.from_numpy(fb), persistent=False)
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.ndim != 2:
            raise ParameterError(
                "wave", f"LogMel expects [batch, n_samples], got shape {tuple(wave.shape)}"
            )
        c = self.config
        spec = torch.stft(
            wave,
            n_fft=c.n_fft,
            hop_length=c.hop_length,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()
        mel = torch.matmul(self.mel_basis, power)
        x = torch.log(mel + c.log_offset)
        if c.normalization == "instance":
            mean = x.mean(dim=(1, 2), keepdim=True)
            std = x.std(dim=(1, 2), keepdim=True)
            x = (x - mean) / (std + 1e-5)
        elif c.normalization == "fixed":
            x = (x - c.norm_mean) / c.norm_std
        return x.unsqueeze(1)
