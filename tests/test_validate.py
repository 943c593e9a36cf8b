"""The argument checks every public entry point calls first (instsim._validate)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from instsim import _validate
from instsim.errors import ConfigError


@pytest.mark.parametrize("bad", [True, 1.5, "3", None, 0, -2])
def test_positive_int_refuses_bools_floats_strings_and_non_positive(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"'batch_size'.*integer > 0.*got"):
        _validate.positive_int("batch_size", bad)


def test_integers_accept_numpy_and_a_minimum() -> None:
    assert _validate.positive_int("n", np.int64(3)) == 3
    assert type(_validate.positive_int("n", np.int64(3))) is int
    assert _validate.integer("workers", 0, minimum=0) == 0
    with pytest.raises(ConfigError, match=r"'workers'.*>= 0.*-1"):
        _validate.integer("workers", -1, minimum=0)


@pytest.mark.parametrize("bad", [0, -1.0, math.inf, math.nan, False, "3", None])
def test_positive_seconds(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"'hop_seconds'.*positive number of seconds"):
        _validate.positive_seconds("hop_seconds", bad)


def test_numbers_come_back_as_float() -> None:
    assert _validate.positive_seconds("s", 3) == 3.0 and type(_validate.number("x", 3)) is float
    assert _validate.number("floor", -90, unit="dBFS") == -90.0
    with pytest.raises(ConfigError, match="finite number of dBFS"):
        _validate.number("floor", math.nan, unit="dBFS")


def test_sample_rate_and_choice() -> None:
    assert _validate.sample_rate("sr", 44100) == 44100
    assert _validate.sample_rate("sr", 44100.0) == 44100
    for bad in (44100.5, 0, True, "44100"):
        with pytest.raises(ConfigError, match="'sr'"):
            _validate.sample_rate("sr", bad)
    assert _validate.choice("aggregate", None, ("mean", None)) is None
    with pytest.raises(ConfigError, match=r"'aggregate'.*'max'.*valid: 'mean', None"):
        _validate.choice("aggregate", "max", ("mean", None))


def test_audio_input_rules() -> None:
    y = np.zeros(10, dtype=np.float32)
    assert _validate.audio_input(y, 22050) == 22050
    assert _validate.audio_input("a.flac", None) is None
    with pytest.raises(ConfigError, match=r"'sr'.*required"):
        _validate.audio_input(y, None)
    with pytest.raises(ConfigError, match=r"'sr'.*'a\.flac'.*carries its own sample rate"):
        _validate.audio_input("a.flac", 22050)
    with pytest.raises(ConfigError, match=r"'audio'.*path or a numpy array, got list"):
        _validate.audio_input([0.0, 0.1], 22050)
