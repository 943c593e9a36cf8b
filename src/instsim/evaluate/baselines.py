"""A non-learned reference: log-mel mean/std of the mix, for every instrument alike.

A learned sub-space is worth something only where it beats what the spectrogram
alone gives. :class:`LogMelStats` is an :class:`~instsim.evaluate.protocols.Embedder`
with one "sub-space": per mel band, the mean over frames (the spectral shape,
relative to the segment's mean level, so a louder copy is the same point) and the
standard deviation over frames (how much each band moves, relative to its average
over bands). :func:`logmel_system` evaluates it with the same protocols as a CSN,
the same vector standing for every instrument.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from .protocols import System

__all__ = ["LogMelStats", "logmel_system"]


class LogMelStats:
    """Non-learned embedder: ``[mean_t(L) - mean(L), std_t(L) - mean_f(std_t(L))]``.

    Parameters
    ----------
    frontend_config : instsim.frontend.LogMelConfig
        The frontend of the model it is compared with (its sample rate, FFT and
        bands), used without per-segment normalisation: ``L`` is in dB.
    """

    def __init__(self, frontend_config: Any) -> None:
        from ..frontend import LogMel

        self._fe = LogMel(dataclasses.replace(frontend_config, normalization="none"))
        self._config = frontend_config

    @property
    def instruments(self) -> tuple[str, ...]:
        return ("logmel",)

    @property
    def subspace_dim(self) -> int:
        return 2 * int(self._config.n_mels)

    @property
    def sample_rate(self) -> int:
        return int(self._config.sample_rate)

    def embed_waveforms(self, batch: np.ndarray) -> np.ndarray:
        """``(B, n_samples)`` audio at :attr:`sample_rate` -> ``(B, 2 * n_mels)`` float32."""
        import torch

        with torch.inference_mode():
            m = self._fe(torch.as_tensor(np.asarray(batch, dtype=np.float32)))[:, 0]
            mean = m.mean(dim=2)
            std = m.std(dim=2)
            f = torch.cat(
                [mean - mean.mean(dim=1, keepdim=True), std - std.mean(dim=1, keepdim=True)], dim=1
            )
        return f.numpy().astype(np.float32)


def logmel_system(frontend_config: Any, conditions: Sequence[str]) -> System:
    """The log-mel mean/std reference as a :class:`System` (kind ``"baseline"``)."""
    return System.whole(
        "logmel",
        LogMelStats(frontend_config),
        conditions=tuple(conditions),
        label="non-learned log-mel mean/std",
        source="instsim.evaluate.baselines.LogMelStats",
    )
