"""Every documented error path raises its exception, naming the file or value and the reason."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import instsim
from instsim import Extractor
from instsim.errors import (
    AudioDecodeError,
    ConfigError,
    EmptyAudioError,
    InstsimError,
    ModelNotFoundError,
    NonFiniteAudioError,
    PluginNotFoundError,
    SilentAudioError,
    UnknownInstrumentError,
)
from tests.conftest import SR, music


def test_family() -> None:
    for cls in (
        AudioDecodeError,
        EmptyAudioError,
        NonFiniteAudioError,
        SilentAudioError,
        UnknownInstrumentError,
        PluginNotFoundError,
        ModelNotFoundError,
        ConfigError,
    ):
        assert issubclass(cls, InstsimError)
    assert issubclass(AudioDecodeError, OSError)
    assert issubclass(UnknownInstrumentError, KeyError)
    assert issubclass(NonFiniteAudioError, ValueError)


def test_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "nope.flac"
    with pytest.raises(AudioDecodeError, match=r"nope\.flac.*no such file"):
        instsim.load_audio(p)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="is a directory"):
        instsim.load_audio(tmp_path)


def test_zero_byte_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.wav"
    p.touch()
    with pytest.raises(EmptyAudioError, match="empty.wav"):
        instsim.load_audio(p)


def test_header_only_wav(tmp_path: Path) -> None:
    p = tmp_path / "hdr.wav"
    sf.write(p, np.zeros(0, dtype=np.float32), SR)
    with pytest.raises(EmptyAudioError, match="no audio samples"):
        instsim.load_audio(p)


def test_text_file_named_wav(tmp_path: Path) -> None:
    p = tmp_path / "notes.wav"
    p.write_text("these are not samples\n" * 20)
    with pytest.raises(AudioDecodeError) as err:
        instsim.load_audio(p)
    assert "notes.wav" in str(err.value) and "essentia" in str(err.value)


def test_corrupt_flac(tmp_path: Path) -> None:
    p = tmp_path / "t.flac"
    sf.write(p, music(5.0, 44100), 44100)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioDecodeError, match="t.flac"):
        instsim.load_audio(p)


def test_random_bytes(tmp_path: Path, rng: np.random.Generator) -> None:
    p = tmp_path / "noise.mp3"
    p.write_bytes(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioDecodeError, match="noise.mp3"):
        instsim.load_audio(p)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_in_file(tmp_path: Path, bad: float) -> None:
    y = music(2.0)
    y[1000] = bad
    p = tmp_path / "nan.wav"
    sf.write(p, y, SR, subtype="FLOAT")
    with pytest.raises(NonFiniteAudioError, match="nan.wav"):
        instsim.load_audio(p)


def test_non_finite_array(extractor: Extractor) -> None:
    y = music(3.0)
    y[5] = np.nan
    with pytest.raises(NonFiniteAudioError, match="1 samples"):
        extractor.embed(y, sr=SR)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "locked.wav"
    sf.write(p, music(1.0), SR)
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: False if str(path) == str(p) else real_access(path, mode)
    )
    with pytest.raises(AudioDecodeError, match="permission denied"):
        instsim.load_audio(p)


def test_silent_file(extractor: Extractor, tmp_path: Path) -> None:
    p = tmp_path / "silence.flac"
    sf.write(p, np.zeros(4 * SR, dtype=np.float32), SR)
    with pytest.raises(SilentAudioError, match=r"silence\.flac.*-90 dBFS"):
        extractor.embed(p)


def test_array_without_rate(extractor: Extractor) -> None:
    with pytest.raises(ConfigError, match="'sr'"):
        extractor.embed(music(3.0))


def test_bad_aggregate_and_segment(extractor: Extractor) -> None:
    with pytest.raises(ConfigError, match="'aggregate'.*'mean'"):
        extractor.embed(music(3.0), sr=SR, aggregate="max")
    with pytest.raises(ConfigError, match="segment_seconds"):
        extractor.embed(music(3.0), sr=SR, segment_seconds=0)


def test_unknown_instrument_in_similarity(extractor: Extractor) -> None:
    v = np.zeros(640, dtype=np.float32)
    with pytest.raises(
        UnknownInstrumentError, match="'strings'.*'drums', 'bass', 'piano', 'guitar', 'others'"
    ):
        extractor.similarity(v, v, focus="strings")


def test_unknown_plugin_in_config() -> None:
    with pytest.raises(PluginNotFoundError, match="'nope'.*available: 'fcn', 'unet'"):
        Extractor.from_config({"backbone": "nope"})


def test_no_bundled_model_yet_is_explained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import instsim.hub

    monkeypatch.setattr(
        instsim.hub, "bundled_model_dir", lambda name="default": tmp_path / "absent"
    )
    with pytest.raises(ModelNotFoundError, match="no default model is bundled"):
        Extractor.from_pretrained()


def test_missing_local_folder() -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        Extractor.from_pretrained("./no/such/model/dir")


def test_bad_device() -> None:
    with pytest.raises(ConfigError, match="'device'"):
        Extractor.from_config({}, device="tpu9")


def test_truncated_wav(tmp_path: Path) -> None:
    p = tmp_path / "cut.wav"
    sf.write(p, music(4.0), SR)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioDecodeError, match=r"cut\.wav.*truncated"):
        instsim.load_audio(p)


@pytest.mark.parametrize(
    "err",
    [
        AudioDecodeError("/a/b.wav", "corrupt"),
        EmptyAudioError("/a/b.wav"),
        NonFiniteAudioError("/a/b.wav", 3),
        SilentAudioError("/a/b.wav", -60.0),
        UnknownInstrumentError("vocals", ["drums", "bass"]),
        PluginNotFoundError("instsim.backbones", "x", ["unet"]),
        ConfigError("stage3.epochs", "must be > 0"),
    ],
)
def test_errors_survive_pickling(err: InstsimError) -> None:
    import pickle

    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err) and str(back) == str(err)
    assert back.__dict__ == err.__dict__


def _bad_arguments() -> list:
    from instsim.data.groups import n_segments, passes_test_filter
    from instsim.data.pseudomix import fold_tempo, tempo_groups
    from instsim.evaluate.knn import knn_predict
    from instsim.segments import segment_stream

    x = np.zeros((3, 4), np.float32)
    return [
        ("k", lambda: knn_predict(x, ["a", "b", "c"], k=0)),
        ("labels", lambda: knn_predict(x, ["a"], k=1)),
        ("sr", lambda: n_segments(10, 0)),
        ("hop_seconds", lambda: n_segments(10, 22050, 3.0, -1.0)),
        ("min_fraction", lambda: passes_test_filter({"drums": np.ones(2, bool)}, 2.0)),
        ("bpm", lambda: fold_tempo(-3.0)),
        ("bin_bpm", lambda: tempo_groups({"a": 120.0}, bin_bpm=0)),
        ("length, hop", lambda: list(segment_stream([np.zeros(10, np.float32)], 0, 1))),
    ]


@pytest.mark.parametrize("i", range(8))
def test_bad_arguments_raise_parameter_error_naming_them(i: int) -> None:
    from instsim.errors import ParameterError

    name, call = _bad_arguments()[i]
    with pytest.raises(ParameterError) as err:
        call()
    assert err.value.name == name and repr(name) in str(err.value)
    assert isinstance(err.value, (InstsimError, ValueError))


def test_denormal_only_file_is_silent(extractor: Extractor, tmp_path: Path) -> None:
    p = tmp_path / "denormal.wav"
    y = np.full(4 * SR, 1e-40, dtype=np.float32)  # subnormal float32: no music, not zero
    y[::2] *= -1
    sf.write(p, y, SR, subtype="FLOAT")
    with pytest.raises(SilentAudioError, match=r"denormal\.wav.*-90 dBFS"):
        extractor.embed(p)
    with pytest.raises(SilentAudioError):
        extractor.embed(y, sr=SR)


def test_sr_with_a_file_names_the_file(extractor: Extractor, tmp_path: Path) -> None:
    p = tmp_path / "song.wav"
    sf.write(p, music(3.0), SR)
    with pytest.raises(ConfigError, match=r"'sr'.*song\.wav"):
        extractor.embed(p, sr=SR)
