"""Log-mel frontend: shapes, batching, config validation, filterbank sanity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from instsim.errors import ConfigError
from instsim.frontend import LogMel, LogMelConfig, _median_filter, hpss_masks, mel_filterbank
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
        ("frontend.hpss_kernel_frames", {"hpss_kernel_frames": 30}),
        ("frontend.hpss_kernel_bins", {"hpss_kernel_bins": 0}),
        ("frontend.hpss_mask_power", {"hpss_mask_power": 0.0}),
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


def _tone_and_clicks(sr: int = 22050, seconds: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(round(sr * seconds)) / sr
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    clicks = np.zeros_like(t)
    clicks[:: sr // 4] = 1.0
    burst = np.random.default_rng(0).standard_normal(200) * np.exp(-np.arange(200) / 30)
    return tone.astype(np.float32), np.convolve(clicks, burst, "same").astype(np.float32)


def _power(x: np.ndarray) -> torch.Tensor:
    w = torch.hann_window(1024)
    return (
        torch.stft(torch.from_numpy(x)[None], 1024, 441, window=w, return_complex=True).abs() ** 2
    )


def test_hpss_sends_a_tone_to_the_harmonic_mask_and_clicks_to_the_percussive() -> None:
    tone, clicks = _tone_and_clicks()
    harmonic, percussive = hpss_masks(_power(tone + clicks))
    t, c = _power(tone), _power(clicks)
    # share of each source's energy that each mask keeps
    assert float((harmonic * t).sum() / t.sum()) > 0.95
    assert float((percussive * c).sum() / c.sum()) > 0.95
    assert float((harmonic * c).sum() / c.sum()) < 0.05


def test_hpss_masks_sum_to_one_and_are_zero_on_silence() -> None:
    tone, clicks = _tone_and_clicks()
    power = _power(tone + clicks)
    power[..., :40] = 0.0  # a silent stretch longer than half the time kernel
    harmonic, percussive = hpss_masks(power)
    assert float(harmonic.min()) >= 0.0 and float(percussive.max()) <= 1.0
    total = harmonic + percussive
    torch.testing.assert_close(total[..., 60:], torch.ones_like(total[..., 60:]))
    assert float(total[..., :10].abs().max()) == 0.0


def test_hpss_on_inputs_shorter_than_the_kernel() -> None:
    power = torch.rand(1, 513, 5)  # 5 frames, 31-frame kernel: edges repeated, not mirrored
    harmonic, percussive = hpss_masks(power)
    assert harmonic.shape == power.shape and bool(torch.isfinite(harmonic).all())
    torch.testing.assert_close(harmonic + percussive, torch.ones_like(power))


def test_parts_share_one_stft_and_the_mix_part_is_the_plain_log_mel() -> None:
    fe = LogMel(LogMelConfig())
    tone, clicks = _tone_and_clicks()
    x = torch.from_numpy(tone + clicks)[None]
    parts = fe.parts(x, ("percussive", "mix", "harmonic"))
    assert list(parts) == ["percussive", "mix", "harmonic"]
    assert torch.equal(parts["mix"], fe(x))
    # the harmonic part of tone + clicks is close to the tone's own log-mel, the percussive not
    only_tone = fe(torch.from_numpy(tone)[None])
    near = float((parts["harmonic"] - only_tone).abs().mean())
    far = float((parts["percussive"] - only_tone).abs().mean())
    assert near < 0.5 * far
    with pytest.raises(ConfigError, match="'vocals'; valid: 'mix', 'harmonic', 'percussive'"):
        fe.parts(x, ("vocals",))


@pytest.mark.parametrize("stride", [2, 4, 7])
def test_strided_median_is_exact_where_taken_and_interpolates_between(stride: int) -> None:
    x = torch.rand(2, 40, 151, generator=torch.Generator().manual_seed(stride))
    exact = _median_filter(x, 31, -1)
    fast = _median_filter(x, 31, -1, stride)
    torch.testing.assert_close(fast[..., ::stride], exact[..., ::stride], rtol=0, atol=0)
    torch.testing.assert_close(fast[..., -1], exact[..., -1], rtol=0, atol=0)
    # between two sampled positions it lies between their values
    lo = torch.minimum(exact[..., 0:1], exact[..., stride : stride + 1])
    hi = torch.maximum(exact[..., 0:1], exact[..., stride : stride + 1])
    between = fast[..., 1:stride]
    assert bool(((between >= lo - 1e-6) & (between <= hi + 1e-6)).all())
    # along frequency too
    torch.testing.assert_close(
        _median_filter(x, 9, -2, stride)[:, ::stride], _median_filter(x, 9, -2)[:, ::stride]
    )


@pytest.mark.parametrize("stride", [1, 4])
def test_median_filter_cpu_fast_path_equals_torch_median_and_keeps_gradients(stride: int) -> None:
    # values on a coarse grid, so windows hold ties
    x = torch.randint(0, 7, (2, 33, 60), generator=torch.Generator().manual_seed(3)).float()
    fast = _median_filter(x, 31, -1, stride)  # CPU, no grad: numpy's selection
    slow = _median_filter(x.clone().requires_grad_(True), 31, -1, stride)  # torch.median
    assert torch.equal(fast, slow.detach())
    assert torch.equal(
        _median_filter(x, 9, -2, stride), _median_filter(x.double(), 9, -2, stride).float()
    )
    # training through the frontend still differentiates the masks
    y = torch.rand(1, 20, 40, requires_grad=True)
    _median_filter(y, 5, -1, stride).sum().backward()
    assert y.grad is not None and float(y.grad.sum()) > 0
    # a dtype numpy lacks falls back to torch (equal where the medians are taken)
    b = _median_filter(x.bfloat16(), 31, -1, stride)
    assert b.dtype == torch.bfloat16
    assert torch.equal(b.float()[..., ::stride], fast[..., ::stride])


def test_hpss_margin_keeps_only_what_is_clearly_percussive() -> None:
    tone, clicks = _tone_and_clicks()
    power = _power(tone + clicks)
    h1, p1 = hpss_masks(power)
    h3, p3 = hpss_masks(power, margin=3.0)
    # each mask shrinks; what neither keeps is the residual
    assert bool((p3 <= p1 + 1e-6).all()) and bool((h3 <= h1 + 1e-6).all())
    assert float((h3 + p3).mean()) < float((h1 + p1).mean()) - 0.05
    # the clicks stay in the percussive part, the tone leaves it
    t, c = _power(tone), _power(clicks)
    assert float((p3 * c).sum() / c.sum()) > 0.8
    assert float((p3 * t).sum() / t.sum()) < float((p1 * t).sum() / t.sum())
    # margin 1 is the two-way split, and the config carries the margin to the frontend
    assert torch.equal(hpss_masks(power, margin=1.0)[1], p1)
    x = torch.from_numpy(tone + clicks)[None]
    plain = LogMel(LogMelConfig()).parts(x, ("percussive",))["percussive"]
    strict = LogMel(LogMelConfig(hpss_margin=3.0)).parts(x, ("percussive",))["percussive"]
    assert not torch.equal(plain, strict)


def test_other_part_db_turns_the_other_part_down_instead_of_out() -> None:
    tone, clicks = _tone_and_clicks()
    x = torch.from_numpy(tone + clicks)[None]
    fe = LogMel(LogMelConfig())
    power = fe._power(x)
    h, p = hpss_masks(power)
    # -12 dB: the harmonic part is the mix with its percussive part at 1/15.85 of its power
    blend = LogMel(LogMelConfig(hpss_other_part_db=-12.0))
    keep = 10 ** (-1.2)
    want = fe._log_mel(power * (h + keep * p))
    torch.testing.assert_close(blend.parts(x, ("harmonic",))["harmonic"], want)
    # so it lies between the harmonic part and the mix, and 0 dB is the mix itself
    pure = fe.parts(x, ("harmonic", "mix"))
    d_pure = float((blend.parts(x, ("harmonic",))["harmonic"] - pure["mix"]).abs().mean())
    assert d_pure < float((pure["harmonic"] - pure["mix"]).abs().mean())
    whole = LogMel(LogMelConfig(hpss_other_part_db=0.0)).parts(x, ("percussive",))["percussive"]
    torch.testing.assert_close(whole, pure["mix"])
    with pytest.raises(ConfigError, match="'frontend.hpss_other_part_db'.*<= 0 dB or null"):
        LogMelConfig(hpss_other_part_db=3.0)


def test_hpss_masks_check_their_arguments() -> None:
    power = torch.rand(1, 513, 20)
    with pytest.raises(ConfigError, match="'kernel_bins'.*odd"):
        hpss_masks(power, kernel_bins=30)
    with pytest.raises(ConfigError, match="'stride'"):
        hpss_masks(power, stride=0)
    with pytest.raises(ConfigError, match="'margin'.*>= 1, got 0.5"):
        hpss_masks(power, margin=0.5)
    with pytest.raises(ConfigError, match="'frontend.hpss_margin'.*>= 1"):
        LogMelConfig(hpss_margin=0.0)
