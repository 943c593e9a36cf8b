"""Log-mel frontend: shapes, batching, config validation, filterbank sanity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from instsim.errors import ConfigError
from instsim.frontend import LogMel, LogMelConfig, mel_filterbank
from tests.conftest import music


def test_shape_and_batch_independence() -> None:
    cfg = LogMelConfig()
    fe = LogMel(cfg)
    x = torch.from_numpy(np.stack([music(3.0, seed=i) for i in range(4)]))
    out = fe(x)
    assert out.shape == (4, 1, cfg.n_mels, cfg.n_frames(x.shape[1]))
    single = fe(x[2:3])
    torch.testing.assert_close(single[0], out[2], atol=1e-4, rtol=1e-4)


def test_instance_normalisation_is_gain_invariant() -> None:
    # with a negligible log offset, a gain is a constant shift of the log-mel: normalisation removes it
    fe = LogMel(LogMelConfig(normalization="instance", log_offset=1e-30))
    x = torch.from_numpy(music(3.0)).double()[None]
    fe = fe.double()
    a, b = fe(x), fe(x * 0.1)
    assert float(a.mean()) == pytest.approx(0.0, abs=1e-4)
    assert float(a.std()) == pytest.approx(1.0, abs=1e-2)
    torch.testing.assert_close(a, b, atol=2e-3, rtol=1e-3)


def test_fixed_and_no_normalisation() -> None:
    x = torch.from_numpy(music(3.0))[None]
    raw = LogMel(LogMelConfig(normalization="none"))(x)
    fixed = LogMel(LogMelConfig(normalization="fixed", norm_mean=-5.0, norm_std=2.0))(x)
    torch.testing.assert_close(fixed, (raw + 5.0) / 2.0)


def test_filterbank_peaks_are_increasing_and_cover_range() -> None:
    fb = mel_filterbank(22050, 1024, 64, 20.0, 11025.0)
    assert fb.shape == (64, 513)
    peaks = fb.argmax(axis=1)
    assert np.all(np.diff(peaks) >= 0)
    assert (fb.sum(axis=0) > 0)[2:-2].all()


def test_tone_energy_lands_in_the_right_band() -> None:
    cfg = LogMelConfig(normalization="none")
    sr = cfg.sample_rate
    t = np.arange(sr) / sr
    lo = LogMel(cfg)(torch.from_numpy(np.sin(2 * np.pi * 200 * t).astype(np.float32))[None])
    hi = LogMel(cfg)(torch.from_numpy(np.sin(2 * np.pi * 4000 * t).astype(np.float32))[None])
    assert int(lo[0, 0].mean(dim=1).argmax()) < int(hi[0, 0].mean(dim=1).argmax())


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("frontend.sample_rate", {"sample_rate": 0}),
        ("frontend.n_fft", {"n_fft": -5}),
        ("frontend.f_max_hz", {"f_max_hz": 20000.0}),
        ("frontend.normalization", {"normalization": "zscore"}),
        ("frontend.n_mels", {"n_mels": 600}),
        ("frontend.log_offset", {"log_offset": 0.0}),
    ],
)
def test_bad_config_names_the_field(field: str, kwargs: dict) -> None:
    with pytest.raises(ConfigError) as err:
        LogMelConfig(**kwargs)
    assert field in str(err.value)


def test_config_round_trip_ignores_unknown_keys() -> None:
    cfg = LogMelConfig(n_mels=64, hop_length=512)
    d = cfg.to_dict() | {"future_option": 1}
    assert LogMelConfig.from_dict(d) == cfg
