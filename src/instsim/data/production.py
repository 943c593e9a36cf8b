"""Per-stem production chains (augmentation) with Spotify's ``pedalboard``.

FluidSynth's reverb/chorus and the biquad EQ of :mod:`instsim.data.synth` give every
stem a light, similar production. Real records are mixed with far more: compression,
saturation, filters, modulation, rooms. :func:`draw_chain` draws a chain for one stem
from a seeded generator (as plain, JSON-able parameters recorded in the stem's
metadata); :func:`apply_chain` runs it with ``pedalboard`` (the ``synth`` extra).
The level is left to the caller (stems are loudness-normalised afterwards).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["apply_chain", "draw_chain", "random_mix_eq"]

# Probability of each effect per group: (compressor, distortion, chorus/phaser, filter, bitcrush, reverb)
_P: dict[str, tuple[float, ...]] = {
    "drums": (0.6, 0.12, 0.0, 0.3, 0.05, 0.35),
    "bass": (0.6, 0.3, 0.1, 0.3, 0.03, 0.1),
    "piano": (0.4, 0.06, 0.15, 0.3, 0.03, 0.4),
    "guitar": (0.5, 0.4, 0.3, 0.3, 0.03, 0.4),
    "others": (0.4, 0.15, 0.25, 0.35, 0.05, 0.4),
}


def draw_chain(rng: np.random.Generator, group: str) -> list[dict[str, Any]]:
    """A random production chain for one stem of ``group``.

    Returns
    -------
    list of dict
        Effects in processing order, each ``{"type": ..., <parameters>}`` (Hz, dB, ms).
    """
    p_comp, p_dist, p_mod, p_filt, p_crush, p_verb = _P.get(group, _P["others"])

    def logu(lo: float, hi: float) -> float:
        return round(float(math.exp(rng.uniform(math.log(lo), math.log(hi)))), 2)

    chain: list[dict[str, Any]] = []
    for _ in range(int(rng.integers(0, 3))):  # broad EQ moves, wider than synth's own EQ
        chain.append({"type": "peak", "freq_hz": logu(60, 8000),
                      "gain_db": round(float(rng.uniform(-9, 9)), 2),
                      "q": round(float(rng.uniform(0.4, 2.5)), 2)})  # fmt: skip
    if rng.random() < p_filt:
        if rng.random() < 0.5 or group == "bass":
            lo = {"bass": 1500.0, "drums": 4000.0}.get(group, 2000.0)
            chain.append({"type": "lowpass", "cutoff_hz": logu(lo, 14000)})
        else:
            hi = {"drums": 150.0}.get(group, 400.0)
            chain.append({"type": "highpass", "cutoff_hz": logu(40, hi)})
    if rng.random() < p_dist:
        chain.append({"type": "distortion", "drive_db": round(float(rng.uniform(4, 28)), 2)})
    if rng.random() < p_comp:
        chain.append({
            "type": "compressor",
            "threshold_db": round(float(rng.uniform(-32, -10)), 2),
            "ratio": round(float(rng.uniform(2, 10)), 2),
            "attack_ms": logu(0.5, 40),
            "release_ms": logu(40, 400),
        })  # fmt: skip
    if rng.random() < p_mod:
        if rng.random() < 0.5:
            chain.append({"type": "chorus", "rate_hz": logu(0.2, 3), "depth": round(float(rng.uniform(0.1, 0.6)), 3),
                          "mix": round(float(rng.uniform(0.2, 0.6)), 3)})  # fmt: skip
        else:
            chain.append({"type": "phaser", "rate_hz": logu(0.1, 2), "depth": round(float(rng.uniform(0.3, 0.9)), 3),
                          "mix": round(float(rng.uniform(0.2, 0.6)), 3)})  # fmt: skip
    if rng.random() < p_crush:
        chain.append({"type": "bitcrush", "bit_depth": round(float(rng.uniform(7, 12)), 1)})
    if rng.random() < p_verb:
        chain.append({
            "type": "reverb",
            "room_size": round(float(rng.uniform(0.1, 0.95)), 3),
            "damping": round(float(rng.uniform(0.1, 0.9)), 3),
            "wet_level": round(float(rng.uniform(0.05, 0.4)), 3),
            "dry_level": 1.0,
        })  # fmt: skip
    return chain


_KINDS = (
    "peak",
    "lowpass",
    "highpass",
    "distortion",
    "compressor",
    "chorus",
    "phaser",
    "bitcrush",
    "reverb",
)


def _plugin(fx: dict[str, Any]) -> Any:
    import pedalboard as pb

    kind = fx["type"]
    if kind == "peak":
        return pb.PeakFilter(cutoff_frequency_hz=fx["freq_hz"], gain_db=fx["gain_db"], q=fx["q"])
    if kind == "lowpass":
        return pb.LowpassFilter(cutoff_frequency_hz=fx["cutoff_hz"])
    if kind == "highpass":
        return pb.HighpassFilter(cutoff_frequency_hz=fx["cutoff_hz"])
    if kind == "distortion":
        return pb.Distortion(drive_db=fx["drive_db"])
    if kind == "compressor":
        return pb.Compressor(threshold_db=fx["threshold_db"], ratio=fx["ratio"],
                             attack_ms=fx["attack_ms"], release_ms=fx["release_ms"])  # fmt: skip
    if kind == "chorus":
        return pb.Chorus(rate_hz=fx["rate_hz"], depth=fx["depth"], mix=fx["mix"])
    if kind == "phaser":
        return pb.Phaser(rate_hz=fx["rate_hz"], depth=fx["depth"], mix=fx["mix"])
    if kind == "bitcrush":
        return pb.Bitcrush(bit_depth=fx["bit_depth"])
    if kind == "reverb":
        return pb.Reverb(room_size=fx["room_size"], damping=fx["damping"],
                         wet_level=fx["wet_level"], dry_level=fx["dry_level"])  # fmt: skip
    raise ConfigError("production", f"unknown effect type {kind!r}; valid: {sorted(_KINDS)}")


def apply_chain(y: np.ndarray, sr: int, chain: list[dict[str, Any]]) -> np.ndarray:
    """Run a :func:`draw_chain` chain over a mono signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int [Hz]
    chain : list of dict

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64]
        Same length; effects above 0.45 * ``sr`` are clamped below it.
    """
    if not chain:
        return np.asarray(y, dtype=np.float64)
    import pedalboard as pb

    nyq = 0.45 * sr
    safe = []
    for fx in chain:
        fx = dict(fx)
        for key in ("freq_hz", "cutoff_hz"):
            if key in fx:
                fx[key] = min(fx[key], nyq)
        safe.append(_plugin(fx))
    out = pb.Pedalboard(safe)(np.asarray(y, dtype=np.float32)[None, :], float(sr))
    out = np.asarray(out[0], dtype=np.float64)
    out[~np.isfinite(out)] = 0.0
    return out


def random_mix_eq(y: np.ndarray, sr: int, rng: np.random.Generator, max_db: float) -> np.ndarray:
    """A random broad EQ of a whole mix (training-time augmentation; scipy only).

    A low shelf (80-400 Hz), a peak (200-5,000 Hz) and a high shelf (2-8 kHz), each
    with a gain uniform in ±``max_db`` [dB]: the same music as mastered or played back
    differently.

    Parameters
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
    sr : int [Hz]
    rng : np.random.Generator
        Six draws per call.
    max_db : float > 0 [dB]

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float32]
    """
    from scipy.signal import sosfilt

    from .synth import _biquad

    def logu(lo: float, hi: float) -> float:
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))

    low = (logu(80, 400), float(rng.uniform(-max_db, max_db)))
    peak = (logu(200, 5000), float(rng.uniform(-max_db, max_db)), float(rng.uniform(0.5, 2.0)))
    high = (min(logu(2000, 8000), 0.45 * sr), float(rng.uniform(-max_db, max_db)))
    sos = np.stack([
        _biquad("lowshelf", low[0], sr, gain_db=low[1]),
        _biquad("peak", peak[0], sr, q=peak[2], gain_db=peak[1]),
        _biquad("highshelf", high[0], sr, gain_db=high[1]),
    ])  # fmt: skip
    return sosfilt(sos, y).astype(np.float32)
