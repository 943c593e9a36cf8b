"""Shared fixtures: synthesized audio (tones, noise, drum-like bursts) and small models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SR = 22050


def music(seconds: float, sr: int = SR, seed: int = 0, channels: int = 1) -> np.ndarray:
    """A short, non-silent 'song': a chord of tones, a bass tone and noise bursts on a beat.

    Returns float32 ``(n,)`` for mono or ``(n, channels)``.
    """
    rng = np.random.default_rng(seed)
    n = round(seconds * sr)
    t = np.arange(n) / sr
    f0 = rng.uniform(110, 440)
    y = np.zeros(n)
    for ratio in (1.0, 1.25, 1.5):
        y += 0.1 * np.sin(2 * np.pi * f0 * ratio * t + rng.uniform(0, 2 * np.pi))
    y += 0.15 * np.sin(2 * np.pi * f0 / 4 * t)
    beat = rng.uniform(0.3, 0.7)
    env = np.exp(-((t % beat) / 0.03))
    y += 0.3 * env * rng.standard_normal(n)
    y = (y / np.abs(y).max() * 0.8).astype(np.float32)
    if channels == 1:
        return y
    pans = np.linspace(0.6, 1.0, channels)
    return np.stack([y * p for p in pans], axis=1).astype(np.float32)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def untrained_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full-size (640-d, U-Net) model with seeded random weights, saved with save_pretrained."""
    from instsim import Extractor

    d = tmp_path_factory.mktemp("model")
    Extractor.from_config({"backbone": "unet"}, seed=0).save_pretrained(d)
    return d


@pytest.fixture(scope="session")
def extractor(untrained_model_dir: Path):
    from instsim import Extractor

    return Extractor.from_pretrained(untrained_model_dir, device="cpu")


@pytest.fixture(scope="session")
def song_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three short FLAC 'songs' at 44.1 kHz stereo."""
    import soundfile as sf

    d = tmp_path_factory.mktemp("songs")
    paths = []
    for i, secs in enumerate((7.0, 4.2, 10.0)):
        p = d / f"song{i}.flac"
        sf.write(p, music(secs, 44100, seed=i, channels=2), 44100, subtype="PCM_24")
        paths.append(p)
    return paths


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-song, 12-second synthetic corpus in Slakh's layout (8 train, 2 validation, 2 test)."""
    from instsim.data.synth import synthesize_corpus

    out = tmp_path_factory.mktemp("corpus") / "tiny"
    synthesize_corpus(
        out,
        12,
        seconds=12.0,
        seed=7,
        sample_rate=22050,
        split_fractions=(0.67, 0.165, 0.165),
        workers=2,
    )
    return out
