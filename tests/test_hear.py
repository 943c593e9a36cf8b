"""The HEAR API (instsim.hear): what hearvalidator checks, without TensorFlow.

hear-validator loads the module, calls ``load_model``, checks the three
attributes, then runs both embedding functions on random and silent audio of
a few lengths and checks shapes, dtypes, timestamp units and spacing, and that
a sound's embedding does not depend on the other sounds of its batch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from instsim import hear
from instsim.errors import InstsimError, NonFiniteAudioError, ParameterError

from .conftest import music


@pytest.fixture(scope="module")
def model():
    return hear.load_model("")


def clips(model, *seconds_and_seeds: tuple[float, int]) -> torch.Tensor:
    sr = model.sample_rate
    n = max(round(s * sr) for s, _ in seconds_and_seeds)
    rows = [np.resize(music(s, sr, seed=seed), n) for s, seed in seconds_and_seeds]
    return torch.from_numpy(np.stack(rows))


def test_load_model_attributes(model) -> None:
    assert isinstance(model, torch.nn.Module)
    assert model.sample_rate == 22050  # the bundled model's config
    assert model.scene_embedding_size == 640
    assert model.timestamp_embedding_size == 640
    assert model.timestamp_hop_seconds == pytest.approx(1.5)  # the model's hop
    assert isinstance(model.sample_rate, int)


def test_load_model_folder(untrained_model_dir) -> None:
    m = hear.load_model(str(untrained_model_dir), timestamp_hop_seconds=0.5)
    assert m.scene_embedding_size == 640 and m.timestamp_hop_seconds == 0.5


def test_load_model_bad_hop_and_path(tmp_path) -> None:
    with pytest.raises(InstsimError, match="timestamp_hop_seconds"):
        hear.load_model("", timestamp_hop_seconds=0)
    with pytest.raises(InstsimError):
        hear.load_model(str(tmp_path / "nothing-here"))


def test_scene_shapes_dtype_and_equals_extractor(model) -> None:
    audio = clips(model, (4.0, 0), (4.0, 1))
    emb = hear.get_scene_embeddings(audio, model)
    assert emb.shape == (2, 640) and emb.dtype == torch.float32
    assert emb.device == audio.device
    # each 128-d sub-space is unit length, and the vector is the Extractor's track vector
    norms = emb.reshape(2, 5, 128).norm(dim=-1)
    torch.testing.assert_close(norms, torch.ones(2, 5))
    want = model.extractor.embed(audio[1].numpy(), sr=model.sample_rate)
    np.testing.assert_allclose(emb[1].numpy(), want, atol=1e-5)
    assert not torch.allclose(emb[0], emb[1])


def test_timestamps_shapes_units_and_spacing(model) -> None:
    audio = clips(model, (5.0, 0), (5.0, 2), (5.0, 3))
    emb, ts = hear.get_timestamp_embeddings(audio, model)
    hop_ms = model.timestamp_hop_seconds * 1000
    n_ts = int(5.0 * 1000 // hop_ms) + 1  # 0, 1500, 3000, 4500 ms
    assert emb.shape == (3, n_ts, 640) and emb.dtype == torch.float32
    assert ts.shape == (3, n_ts) and ts.dtype == torch.float32
    assert emb.device == audio.device and ts.device == audio.device
    diffs = torch.diff(ts, dim=1)
    assert bool((diffs > 0).all())
    torch.testing.assert_close(diffs, torch.full_like(diffs, hop_ms))  # ms, evenly spaced
    assert ts[0, 0] == 0 and ts[0, -1] <= 5000
    torch.testing.assert_close(ts[0], ts[2])
    norms = emb.reshape(3, n_ts, 5, 128).norm(dim=-1)
    torch.testing.assert_close(norms, torch.ones_like(norms))


def test_timestamp_hop_setting(model, untrained_model_dir) -> None:
    m = hear.load_model(str(untrained_model_dir), timestamp_hop_seconds=0.25)
    audio = clips(m, (2.0, 0))
    emb, ts = hear.get_timestamp_embeddings(audio, m)
    assert emb.shape == (1, 9, 640)  # 0, 250, ..., 2000 ms
    hop_ms = round(0.25 * m.sample_rate) * 1000 / m.sample_rate  # whole samples: 249.98 ms
    torch.testing.assert_close(torch.diff(ts[0]), torch.full((8,), hop_ms), atol=1e-3, rtol=0)


def test_batch_independence(model) -> None:
    audio = clips(model, (4.0, 0), (4.0, 5), (4.0, 6))
    scene = hear.get_scene_embeddings(audio, model)
    alone = hear.get_scene_embeddings(audio[1:2], model)
    torch.testing.assert_close(scene[1:2], alone, atol=1e-5, rtol=0)
    emb, ts = hear.get_timestamp_embeddings(audio, model)
    emb1, ts1 = hear.get_timestamp_embeddings(audio[1:2], model)
    torch.testing.assert_close(emb[1:2], emb1, atol=1e-5, rtol=0)
    torch.testing.assert_close(ts[1:2], ts1)


def test_short_input_shorter_than_a_segment(model) -> None:
    audio = clips(model, (0.5, 0), (0.5, 1))  # segments are 3 s
    scene = hear.get_scene_embeddings(audio, model)
    assert scene.shape == (2, 640) and bool(torch.isfinite(scene).all())
    emb, ts = hear.get_timestamp_embeddings(audio, model)
    assert emb.shape == (2, 1, 640) and ts.shape == (2, 1)
    assert ts[0, 0] == 0
    one = hear.get_scene_embeddings(torch.zeros(1, 1) + 0.1, model)  # a single sample
    assert one.shape == (1, 640)


@pytest.mark.slow
def test_long_input(model) -> None:
    audio = clips(model, (30.0, 0))
    scene = hear.get_scene_embeddings(audio, model)
    emb, ts = hear.get_timestamp_embeddings(audio, model)
    assert scene.shape == (1, 640)
    assert emb.shape == (1, 21, 640) and float(ts[0, -1]) == 30000.0
    assert bool(torch.isfinite(emb).all())


def test_silent_clip_does_not_raise(model) -> None:
    sr = model.sample_rate
    audio = torch.zeros(2, 4 * sr)
    audio[1] = torch.from_numpy(music(4.0, sr, seed=0))
    scene = hear.get_scene_embeddings(audio, model)
    assert bool(torch.isfinite(scene).all())
    # the silent clip alone gives the same as in a batch with music
    torch.testing.assert_close(hear.get_scene_embeddings(audio[:1], model), scene[:1])
    emb, ts = hear.get_timestamp_embeddings(audio, model)
    assert bool(torch.isfinite(emb).all()) and ts.shape == (2, 3)


def test_silence_inside_a_clip_is_left_out_of_the_scene_vector(model) -> None:
    sr = model.sample_rate
    y = music(6.0, sr, seed=4)
    padded = np.concatenate([y, np.zeros(6 * sr, dtype=np.float32)])
    a = hear.get_scene_embeddings(torch.from_numpy(padded)[None], model)
    want = model.extractor.embed(padded, sr=sr)
    np.testing.assert_allclose(a[0].numpy(), want, atol=1e-5)


@pytest.mark.parametrize(
    ("audio", "match"),
    [
        (torch.zeros(2, 100, dtype=torch.float64), "float32"),
        (torch.zeros(100), r"\[n_sounds, n_samples\]"),
        (torch.zeros(1, 2, 100), "3-D"),
        (np.zeros((1, 100), dtype=np.float32), "torch.Tensor"),
        (torch.zeros(2, 0), "0 samples"),
    ],
)
def test_bad_audio_is_a_clear_error(model, audio, match) -> None:
    for fn in (hear.get_scene_embeddings, hear.get_timestamp_embeddings):
        with pytest.raises(ParameterError, match=match):
            fn(audio, model)


def test_non_finite_audio_and_wrong_model(model) -> None:
    audio = torch.zeros(1, 100)
    audio[0, 3] = float("nan")
    with pytest.raises(NonFiniteAudioError):
        hear.get_scene_embeddings(audio, model)
    with pytest.raises(ParameterError, match="HearModel"):
        hear.get_scene_embeddings(torch.zeros(1, 100), object())
