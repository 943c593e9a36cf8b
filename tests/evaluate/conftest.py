"""Stand-in 'real' stems for the real-audio check: small synthesized files, one per source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SR = 22050


def _stem(instrument: str, k: int, seconds: float) -> np.ndarray:
    """A short, distinct, non-silent signal standing in for a recording of ``instrument``."""
    rng = np.random.default_rng(100 * len(instrument) + k)
    t = np.arange(round(seconds * SR)) / SR
    if instrument == "drums":  # noise bursts, a different period and colour per loop
        period = 0.2 + 0.07 * k
        env = np.exp(-((t % period) / 0.02))
        noise = rng.standard_normal(len(t))
        if k % 2:
            noise = np.cumsum(noise) * 0.05
        return env * noise
    f0 = {"bass": 55.0, "piano": 262.0, "guitar": 196.0, "others": 440.0}[instrument] * (
        1 + 0.1 * k
    )
    y = sum(np.sin(2 * np.pi * f0 * h * t) / h ** (1 + 0.3 * k) for h in range(1, 6))
    return y * (0.6 + 0.4 * np.sin(2 * np.pi * (0.5 + k) * t) ** 2)


def make_sources(folder: Path, counts: dict[str, int], seconds: float = 2.0) -> list:
    """Write ``counts[instrument]`` stand-in files per instrument; return their RealSources."""
    import soundfile as sf

    from instsim.evaluate.realsources import RealSource

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for inst, n in counts.items():
        for k in range(n):
            p = folder / f"{inst}{k}.wav"
            y = _stem(inst, k, seconds)
            sf.write(p, (0.5 * y / np.abs(y).max()).astype(np.float32), SR)
            out.append(RealSource(f"test:{inst}{k}", str(p), inst, "test-pkg", "CC0-1.0"))
    return out


@pytest.fixture
def stand_in_sources(tmp_path: Path) -> list:
    """3 drums, 3 bass, 2 piano, 3 guitar and 3 'others' stand-in recordings."""
    return make_sources(
        tmp_path / "sources", {"drums": 3, "bass": 3, "piano": 2, "guitar": 3, "others": 3}
    )
