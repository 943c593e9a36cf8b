"""The non-learned log-mel mean/std reference."""

from __future__ import annotations

import numpy as np

from instsim.evaluate.baselines import LogMelStats, logmel_system
from instsim.evaluate.protocols import Embedder
from instsim.frontend import LogMelConfig
from instsim.instruments import INSTRUMENTS


def _tone(freq: float, sr: int, seconds: float = 3.0) -> np.ndarray:
    """A tone over broadband noise: every band above the log-mel floor."""
    t = np.arange(round(seconds * sr)) / sr
    noise = np.random.default_rng(int(freq)).normal(0.0, 0.02, t.shape)
    return (0.3 * np.sin(2 * np.pi * freq * t) + noise).astype(np.float32)


def test_shape_gain_invariance_and_spectral_sense() -> None:
    cfg = LogMelConfig()
    emb = LogMelStats(cfg)
    assert isinstance(emb, Embedder)
    sr = emb.sample_rate
    x = np.stack([_tone(220, sr), _tone(230, sr), _tone(3000, sr)])
    f = emb.embed_waveforms(x)
    assert f.shape == (3, 2 * cfg.n_mels) and f.dtype == np.float32
    np.testing.assert_allclose(emb.embed_waveforms(0.25 * x), f, atol=0.05)  # level-free

    def cos(a, b):
        return a @ b / np.linalg.norm(a) / np.linalg.norm(b)

    assert cos(f[0], f[1]) > cos(f[0], f[2])  # neighbouring pitches are nearer than far ones


def test_system_stands_for_every_instrument() -> None:
    s = logmel_system(LogMelConfig(), INSTRUMENTS)
    assert s.kind == "baseline" and s.name == "logmel"
    assert set(s.pseudo_mix) == set(INSTRUMENTS) and set(s.music_id) == {"all"}
