"""Per-stem production chains (pedalboard) and the training-time mix EQ."""

from __future__ import annotations

import json

import numpy as np

from instsim.data.production import apply_chain, draw_chain, random_mix_eq

SR = 22050


def _noise(seconds=1.0, seed=0):
    return np.random.default_rng(seed).normal(0, 0.1, round(seconds * SR))


def test_chains_are_seeded_json_and_vary():
    a = draw_chain(np.random.default_rng(1), "guitar")
    b = draw_chain(np.random.default_rng(1), "guitar")
    assert a == b
    json.dumps(a)  # recorded in metadata.yaml
    kinds = {
        fx["type"] for s in range(200) for fx in draw_chain(np.random.default_rng(s), "guitar")
    }
    assert {"compressor", "distortion", "reverb", "peak"} <= kinds


def test_apply_chain_keeps_length_and_changes_the_sound():
    y = _noise()
    chain = [{"type": "lowpass", "cutoff_hz": 500.0}, {"type": "distortion", "drive_db": 20.0}]
    out = apply_chain(y, SR, chain)
    assert out.shape == y.shape and np.isfinite(out).all()
    spec_in = np.abs(np.fft.rfft(y))
    spec_out = np.abs(np.fft.rfft(out))
    hi = slice(len(spec_in) // 2, None)  # above ~5.5 kHz
    assert spec_out[hi].mean() < spec_in[hi].mean() * 0.5
    assert np.array_equal(apply_chain(y, SR, []), y)


def test_filters_above_nyquist_are_clamped():
    out = apply_chain(_noise(), 8000, [{"type": "highpass", "cutoff_hz": 12000.0}])
    assert np.isfinite(out).all()


def test_mix_eq_is_seeded_and_bounded():
    y = _noise().astype(np.float32)
    a = random_mix_eq(y, SR, np.random.default_rng(3), 6.0)
    b = random_mix_eq(y, SR, np.random.default_rng(3), 6.0)
    assert a.dtype == np.float32 and np.array_equal(a, b)
    assert not np.allclose(a, y)
    # three bands of at most ±6 dB each: the level moves by well under 18 dB
    ratio = np.sqrt((a**2).mean() / (y**2).mean())
    assert 10 ** (-18 / 20) < ratio < 10 ** (18 / 20)
