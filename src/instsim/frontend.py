"""Log-mel frontend, computed in torch (batched, on the model's device).

The frontend's parameters live in :class:`LogMelConfig`, which is part of every
saved model's ``config.json``: a model describes its own preprocessing. Besides the
log-mel of the mix, it can give the log-mel of the mix's harmonic or percussive part
(median-filter HPSS on the STFT power, :func:`hpss_masks`), which a model's ``inputs``
(:class:`~instsim.model.CSNConfig`) may route to a sub-space.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import _validate
from .errors import ConfigError, ParameterError

__all__ = ["PARTS", "LogMel", "LogMelConfig", "hpss_masks", "mel_filterbank"]

_NORMALIZATIONS = ("instance", "fixed", "none")

PARTS = ("mix", "harmonic", "percussive")
"""What a sub-space can be given: the mix, or its harmonic or percussive part."""


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
    hpss_kernel_frames, hpss_kernel_bins : int, odd
        Median-filter lengths of the harmonic/percussive split, along time [frames]
        and along frequency [STFT bins]; used only for a sub-space whose input is
        ``"harmonic"`` or ``"percussive"``. 31 and 31 (librosa's defaults; at 22050
        Hz and a 441-sample hop: 0.62 s and 667 Hz).
    hpss_mask_power : float > 0
        Exponent of the soft masks (2: Wiener-like, librosa's default).
    hpss_stride : int > 0
        The two medians are taken every ``hpss_stride`` frames and bins and linearly
        interpolated in between (:func:`hpss_masks`). 1 is the exact filter; 4 is
        about 4x faster, and its sub-space vectors differ from the exact filter's by a
        cosine distance below 2e-4 (docs/performance.md).
    hpss_margin : float >= 1
        Separation margin of the split (:func:`hpss_masks`); 1 (the default) splits
        the mix in two, a larger margin drops what is not clearly harmonic or
        percussive from both parts.
    hpss_other_part_db : float <= 0 or None [dB]
        Level at which each part keeps the other one: ``-12`` makes the harmonic part
        the mix with its percussive part 12 dB down (and the percussive part the mix
        with its harmonic part 12 dB down), a mix as training's part-level gains make
        them; ``None`` (the default) keeps none of it.
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
    hpss_kernel_frames: int = 31
    hpss_kernel_bins: int = 31
    hpss_mask_power: float = 2.0
    hpss_stride: int = 1
    hpss_margin: float = 1.0
    hpss_other_part_db: float | None = None

    def __post_init__(self) -> None:
        for name in ("sample_rate", "n_fft", "hop_length", "n_mels"):
            setattr(self, name, _validate.positive_int(f"frontend.{name}", getattr(self, name)))
        for name in ("hpss_kernel_frames", "hpss_kernel_bins"):
            setattr(self, name, _validate.odd_positive_int(f"frontend.{name}", getattr(self, name)))
        self.hpss_stride = _validate.positive_int("frontend.hpss_stride", self.hpss_stride)
        self.hpss_mask_power = _validate.number(
            "frontend.hpss_mask_power", self.hpss_mask_power, positive=True
        )
        self.hpss_margin = _validate.number("frontend.hpss_margin", self.hpss_margin, minimum=1)
        if self.hpss_other_part_db is not None:
            db = _validate.number("frontend.hpss_other_part_db", self.hpss_other_part_db)
            if db > 0:
                raise ConfigError(
                    "frontend.hpss_other_part_db", f"must be <= 0 dB or null, got {db!r}"
                )
            self.hpss_other_part_db = db
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


_MEDIAN_CHUNK = 1 << 18
"""Window elements per chunk of :func:`_window_median`."""


def _window_median(windows: torch.Tensor) -> torch.Tensor:
    """Median over the last dimension (odd length) of a batch of windows.

    On the CPU, outside autograd, it is numpy's introselect (``np.partition``) on
    cache-sized chunks, 2.4-3.2x faster than ``torch.median`` on 2 threads for 31-long
    windows (docs/performance.md); both select the same element, so the result is
    identical. Elsewhere (a GPU, a graph that needs gradients, a dtype numpy lacks) it
    is ``torch.median``.
    """
    numpy_ok = windows.dtype in (torch.float32, torch.float64, torch.float16)
    if windows.device.type != "cpu" or not numpy_ok or windows.requires_grad:
        return windows.median(-1).values
    w = windows.numpy()
    k = w.shape[-1] // 2
    rows = w.reshape(-1, *w.shape[-2:])  # a view for unfolded windows of a padded tensor
    out = np.empty(rows.shape[:-1], w.dtype)
    step = max(1, _MEDIAN_CHUNK // (rows.shape[1] * rows.shape[2]))
    for a in range(0, len(rows), step):
        chunk = rows[a : a + step].copy()  # contiguous, about 1 MB: stays in cache
        chunk.partition(k, axis=-1)
        out[a : a + step] = chunk[..., k]
    return torch.from_numpy(out.reshape(w.shape[:-1]))


def _median_filter(x: torch.Tensor, size: int, dim: int, stride: int = 1) -> torch.Tensor:
    """Running median of odd length ``size`` along ``dim``, edges mirrored (``reflect``).

    With ``stride > 1`` the median is taken every ``stride`` positions (and at the last
    one) and linearly interpolated in between: ``stride`` times less sorting for a
    filter whose output is smooth along ``dim`` anyway.
    """
    pad = size // 2
    x = x.movedim(dim, -1)
    shape, n = x.shape, x.shape[-1]
    mode = "reflect" if pad < n else "replicate"  # too short to mirror: repeat the edges
    padded = F.pad(x.reshape(-1, 1, n), (pad, pad), mode=mode).reshape(*shape[:-1], n + 2 * pad)
    if stride == 1 or n <= 2:
        return _window_median(padded.unfold(-1, size, 1)).movedim(-1, dim)
    med = _window_median(padded.unfold(-1, size, stride))  # at 0, stride, ..., <= n - 1
    at = torch.arange(med.shape[-1], device=x.device) * stride
    if int(at[-1]) != n - 1:
        last = _window_median(padded[..., n - 1 : n - 1 + size].unsqueeze(-2))
        med = torch.cat([med, last], -1)
        at = torch.cat([at, at.new_tensor([n - 1])])
    i = torch.arange(n, device=x.device)
    j = (torch.searchsorted(at, i, right=True) - 1).clamp(max=len(at) - 2)
    w = ((i - at[j]) / (at[j + 1] - at[j])).to(x.dtype)
    out = med[..., j] * (1 - w) + med[..., j + 1] * w
    return out.movedim(-1, dim)


def hpss_masks(
    power: torch.Tensor,
    kernel_frames: int = 31,
    kernel_bins: int = 31,
    mask_power: float = 2.0,
    stride: int = 1,
    margin: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft harmonic and percussive masks of a power spectrogram (Fitzgerald, 2010).

    The magnitude's running median along time (``kernel_frames``) estimates the
    harmonic part, along frequency (``kernel_bins``) the percussive part; each mask
    is ``H^p / (H^p + (m P)^p)`` (resp. ``P^p / (P^p + (m H)^p)``) with
    ``p = mask_power`` and ``m = margin``, as ``librosa.decompose.hpss(...,
    margin=m)`` computes them. With ``m = 1`` the two masks sum to 1; a larger
    margin keeps only what is clearly harmonic (resp. percussive) and drops the rest
    (the residual) from both.

    Parameters
    ----------
    power : torch.Tensor [shape=(..., n_bins, n_frames)]
        STFT power.
    kernel_frames, kernel_bins : int, odd
        Median-filter lengths [frames], [bins].
    mask_power : float > 0
        Soft-mask exponent.
    stride : int > 0
        Take each median every ``stride`` frames (resp. bins) and interpolate
        linearly in between; 1 is the exact filter.
    margin : float >= 1
        Separation margin (Driedger et al., 2014): how much larger than the other
        median a component must be to be kept.

    Returns
    -------
    harmonic, percussive : torch.Tensor [shape=power.shape]
        Masks in ``[0, 1]``; with ``margin = 1`` they sum to 1 where the spectrogram
        is not silent, with a larger margin to less.
    """
    kernel_frames = _validate.odd_positive_int("kernel_frames", kernel_frames)
    kernel_bins = _validate.odd_positive_int("kernel_bins", kernel_bins)
    stride = _validate.positive_int("stride", stride)
    mask_power = _validate.number("mask_power", mask_power, positive=True)
    margin = _validate.number("margin", margin, minimum=1)
    magnitude = power.sqrt()
    harmonic = _median_filter(magnitude, kernel_frames, -1, stride)
    percussive = _median_filter(magnitude, kernel_bins, -2, stride)
    # librosa's softmask: scale by the larger of the two first (no underflow), 0 where both are 0
    scale = torch.maximum(harmonic, percussive)
    silent = scale < torch.finfo(scale.dtype).tiny
    scale = torch.where(silent, torch.ones_like(scale), scale)
    hp = (harmonic / scale).pow(mask_power)
    pp = (percussive / scale).pow(mask_power)
    zero = torch.zeros_like(hp)
    if margin == 1:  # the two masks share their denominator
        total = hp + pp
        return torch.where(silent, zero, hp / total), torch.where(silent, zero, pp / total)
    w = margin**mask_power  # (m x)^p = m^p x^p
    return (
        torch.where(silent, zero, hp / (hp + w * pp)),
        torch.where(silent, zero, pp / (pp + w * hp)),
    )


class LogMel(nn.Module):
    """Waveform batch -> normalised log-mel spectrogram batch.

    ``forward(wave: [batch, n_samples]) -> [batch, 1, n_mels, n_frames]`` with
    ``n_frames = 1 + n_samples // hop_length``; ``parts(wave, names)`` gives the same
    for the mix and/or its harmonic and percussive parts (one STFT for all).
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
        return self._log_mel(self._power(wave))

    def parts(self, wave: torch.Tensor, names: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """Log-mel of each named part of the mix (:data:`PARTS`), from one STFT.

        Returns ``{name: [batch, 1, n_mels, n_frames]}`` in the order of ``names``.
        """
        for name in names:
            _validate.choice("part", name, PARTS)
        c = self.config
        power = self._power(wave)
        masks: dict[str, torch.Tensor] = {}
        if any(n != "mix" for n in names):
            h, p = hpss_masks(
                power,
                c.hpss_kernel_frames,
                c.hpss_kernel_bins,
                c.hpss_mask_power,
                c.hpss_stride,
                c.hpss_margin,
            )
            if c.hpss_other_part_db is not None:  # each part keeps the other one, turned down
                keep = 10.0 ** (c.hpss_other_part_db / 10.0)  # a power ratio
                h, p = h + keep * p, p + keep * h
            masks = {"harmonic": h, "percussive": p}
        return {n: self._log_mel(power if n == "mix" else power * masks[n]) for n in names}

    def _power(self, wave: torch.Tensor) -> torch.Tensor:
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
        return spec.real.square() + spec.imag.square()

    def _log_mel(self, power: torch.Tensor) -> torch.Tensor:
        c = self.config
        mel = torch.matmul(self.mel_basis, power)
        x = torch.log(mel + c.log_offset)
        if c.normalization == "instance":
            mean = x.mean(dim=(1, 2), keepdim=True)
            std = x.std(dim=(1, 2), keepdim=True)
            x = (x - mean) / (std + 1e-5)
        elif c.normalization == "fixed":
            x = (x - c.norm_mean) / c.norm_std
        return x.unsqueeze(1)
