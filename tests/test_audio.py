"""Audio input: every format, channel count and rate decodes; streaming equals whole-file decoding."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import instsim
from instsim.audio import audio_info, load_audio, resample, stream_audio, valid_audio
from tests.conftest import music

FORMATS = [
    ("wav", "WAV", "PCM_16"),
    ("wav", "WAV", "PCM_24"),
    ("wav", "WAV", "PCM_32"),
    ("wav", "WAV", "PCM_U8"),
    ("wav", "WAV", "FLOAT"),
    ("wav", "WAV", "DOUBLE"),
    ("flac", "FLAC", "PCM_16"),
    ("flac", "FLAC", "PCM_24"),
    ("ogg", "OGG", "VORBIS"),
    ("mp3", "MP3", "MPEG_LAYER_III"),
    ("aiff", "AIFF", "PCM_16"),
    ("aiff", "AIFF", "FLOAT"),
]
LOSSY = {"VORBIS", "MPEG_LAYER_III"}


@pytest.mark.parametrize(
    ("ext", "fmt", "subtype"), FORMATS, ids=[f"{f[0]}-{f[2]}" for f in FORMATS]
)
def test_formats_decode_to_mono_at_model_rate(
    tmp_path: Path, ext: str, fmt: str, subtype: str
) -> None:
    y = music(2.0, 44100, seed=1, channels=2)
    p = tmp_path / f"x.{ext}"
    sf.write(p, y, 44100, format=fmt, subtype=subtype)
    out, sr = load_audio(p, 22050)
    assert sr == 22050
    assert out.dtype == np.float32 and out.ndim == 1
    expected = resample(y.mean(axis=1), 44100, 22050)
    if subtype in LOSSY:  # encoder delay / padding: compare level and length only
        assert abs(out.size - expected.size) < 0.1 * 22050
        assert np.isclose(np.sqrt(np.mean(out**2)), np.sqrt(np.mean(expected**2)), rtol=0.15)
    else:
        assert out.size == expected.size
        tol = 0.02 if subtype == "PCM_U8" else 1e-3
        assert np.max(np.abs(out - expected)) < tol


@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000, 96000])
def test_any_channels_and_rate(tmp_path: Path, channels: int, rate: int) -> None:
    y = music(1.5, rate, seed=2, channels=channels)
    p = tmp_path / "x.wav"
    sf.write(p, y, rate, subtype="FLOAT")
    out, sr = load_audio(p, 22050)
    assert sr == 22050
    assert abs(out.size - round(1.5 * 22050)) <= 1
    mono = y if channels == 1 else y.mean(axis=1)
    np.testing.assert_allclose(out, resample(mono.astype(np.float32), rate, 22050), atol=1e-5)


def test_resampler_is_anti_aliased() -> None:
    # A 9 kHz tone at 44.1 kHz is above the 5.5 kHz Nyquist of an 11.025 kHz target: it must vanish,
    # not fold back to 2.025 kHz as linear interpolation / decimation would.
    sr = 44100
    t = np.arange(sr) / sr
    y = np.sin(2 * np.pi * 9000 * t).astype(np.float32)
    out = resample(y, sr, 11025)
    assert np.sqrt(np.mean(out[1000:-1000] ** 2)) < 1e-3


def test_stream_equals_whole_file(tmp_path: Path) -> None:
    y = music(20.0, 44100, seed=3)
    p = tmp_path / "long.flac"
    sf.write(p, y, 44100)
    blocks = list(stream_audio(p, 22050, block_seconds=3.0))
    assert len(blocks) >= 6
    assert all(b.dtype == np.float32 and b.ndim == 1 for b in blocks)
    streamed = np.concatenate(blocks)
    whole = resample(sf.read(p, dtype="float32")[0], 44100, 22050)
    assert streamed.size == whole.size
    np.testing.assert_allclose(streamed, whole, atol=1e-5)


def test_native_rate_when_sr_is_none(tmp_path: Path) -> None:
    p = tmp_path / "x.wav"
    sf.write(p, music(1.0, 16000), 16000)
    y, sr = load_audio(p, sr=None)
    assert sr == 16000 and y.size == 16000


def test_audio_info(tmp_path: Path) -> None:
    p = tmp_path / "x.flac"
    sf.write(p, music(2.5, 48000, channels=2), 48000)
    info = audio_info(p)
    assert (info.sample_rate, info.channels, info.frames, info.backend) == (
        48000,
        2,
        120000,
        "soundfile",
    )
    assert info.duration == pytest.approx(2.5)


@pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="ffmpeg creates the M4A fixture; .ci/run installs it"
)
def test_essentia_fallback_for_formats_libsndfile_cannot_read(tmp_path: Path) -> None:
    p = tmp_path / "x.m4a"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=2",
            "-ac",
            "2",
            "-ar",
            "44100",
            str(p),
        ],
        check=True,
    )
    with pytest.raises(sf.LibsndfileError):
        sf.info(str(p))
    y, sr = load_audio(p, 22050)
    assert sr == 22050 and abs(y.size - 2 * 22050) < 0.1 * 22050
    # the tone is there: energy concentrated at 440 Hz
    spec = np.abs(np.fft.rfft(y[2000 : 2000 + 16384]))
    assert abs(np.argmax(spec) * 22050 / 16384 - 440) < 5
    assert audio_info(p).backend == "essentia"


def test_valid_audio_accepts_ints_and_downmixes() -> None:
    y = (music(0.5, channels=2) * 32767).astype(np.int16)
    out = valid_audio(y)
    assert out.dtype == np.float32 and out.ndim == 1
    assert np.abs(out).max() <= 1.0


def test_public_load_audio_is_exported() -> None:
    assert instsim.load_audio is load_audio
