"""Segmentation and the relative silence gate (instsim.segments)."""

from __future__ import annotations

import numpy as np

from instsim.segments import Segmentation, segment_rms_db, silence_mask


def test_segmentation_in_samples() -> None:
    s = Segmentation(3.0, 1.5, 22050)
    assert (s.length, s.hop) == (66150, 33075)
    assert Segmentation(1e-9, 1e-9, 22050).length == 1  # never empty


def test_silence_is_relative_to_the_loudest_segment() -> None:
    rms = np.array([-20.0, -65.0, -75.0, -200.0])
    # 50 dB below the loudest (-20) is -70: -75 is silent, -65 is music
    np.testing.assert_array_equal(silence_mask(rms, 50.0, -90.0), [False, False, True, True])
    # the same track 20 dB quieter: the same mask; 30 dB quieter: -95 falls under the floor
    np.testing.assert_array_equal(silence_mask(rms - 20, 50.0, -90.0), [False, False, True, True])
    np.testing.assert_array_equal(silence_mask(rms - 30, 50.0, -90.0), [False, True, True, True])


def test_the_floor_catches_digital_silence_only() -> None:
    zeros = segment_rms_db(np.zeros(1000, dtype=np.float32))
    denormal = segment_rms_db(np.full(1000, 1e-40, dtype=np.float32))
    quiet = segment_rms_db(np.full(1000, 10 ** (-70 / 20), dtype=np.float32))
    assert silence_mask(np.array([zeros, denormal]), 50.0, -90.0).all()
    assert not silence_mask(np.array([quiet]), 50.0, -90.0).any()
    assert silence_mask(np.zeros(0), 50.0, -90.0).shape == (0,)
