"""Argument checks at the door of public functions.

Each check either returns the value in its canonical type or raises
:class:`~instsim.errors.ConfigError` naming the argument, what it must be and
what it got. Public functions call them first; private helpers trust their
inputs. ``bool`` is never accepted as a number (``True`` is an ``int`` to Python,
never to a user).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any, TypeVar

from .errors import ConfigError

__all__ = [
    "audio_input",
    "choice",
    "integer",
    "number",
    "odd_positive_int",
    "positive_int",
    "positive_seconds",
    "sample_rate",
]

T = TypeVar("T")


def integer(name: str, value: object, *, minimum: int | None = None) -> int:
    """``value`` as an ``int`` (numpy integers included), at least ``minimum`` when given."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ConfigError(name, f"must be an integer{_at_least(minimum)}, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(name, f"must be an integer{_at_least(minimum)}, got {value!r}")
    return int(value)


def _at_least(minimum: int | None) -> str:
    if minimum is None:
        return ""
    return " > 0" if minimum == 1 else f" >= {minimum}"


def positive_int(name: str, value: object) -> int:
    """``value`` as an ``int > 0``."""
    return integer(name, value, minimum=1)


def odd_positive_int(name: str, value: object) -> int:
    """``value`` as an odd ``int > 0`` (a centred filter length)."""
    v = positive_int(name, value)
    if v % 2 == 0:
        raise ConfigError(name, f"must be an odd integer, got {v}")
    return v


def number(
    name: str,
    value: object,
    *,
    unit: str = "",
    positive: bool = False,
    minimum: float | None = None,
) -> float:
    """``value`` as a finite ``float`` (``> 0`` with ``positive``, at least ``minimum`` when
    given); ``unit`` goes in the message."""
    what = ("a positive" if positive else "a finite") + " number" + (f" of {unit}" if unit else "")
    if minimum is not None:
        what += f" >= {minimum:g}"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ConfigError(name, f"must be {what}, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or (positive and v <= 0) or (minimum is not None and v < minimum):
        raise ConfigError(name, f"must be {what}, got {value!r}")
    return v


def positive_seconds(name: str, value: object) -> float:
    """A positive, finite duration [seconds]."""
    return number(name, value, unit="seconds", positive=True)


def sample_rate(name: str, value: object) -> int:
    """A sample rate: an ``int > 0`` [Hz] (a whole float such as ``44100.0`` is accepted)."""
    if isinstance(value, Real) and not isinstance(value, (bool, Integral)):
        if math.isfinite(value) and float(value).is_integer() and value > 0:
            return int(value)
    return positive_int(name, value)


def choice(name: str, value: T, choices: Iterable[Any]) -> T:
    """``value`` if it is one of ``choices``; the message lists them."""
    valid = list(choices)
    if value not in valid:
        raise ConfigError(name, f"got {value!r}; valid: {', '.join(map(repr, valid))}")
    return value


def audio_input(audio: object, sr: object) -> int | None:
    """Check one audio argument and its rate; return the rate (``None`` for a file).

    A path (``str`` or ``os.PathLike``) carries its own rate, so ``sr`` must be
    ``None``; an array needs ``sr``.

    Raises
    ------
    ConfigError
        ``audio`` is neither a path nor a numpy array; ``sr`` is given with a
        file (the message names the file) or missing or invalid for an array.
    """
    import numpy as np

    if isinstance(audio, np.ndarray):
        if sr is None:
            raise ConfigError("sr", "the sample rate of an array input is required (sr=...)")
        return sample_rate("sr", sr)
    if isinstance(audio, (str, os.PathLike)):
        if sr is not None:
            raise ConfigError(
                "sr",
                f"given ({sr!r}) with the file {os.fspath(audio)!r}; a file carries its own "
                "sample rate: pass sr only with an array",
            )
        return None
    raise ConfigError("audio", f"must be a file path or a numpy array, got {type(audio).__name__}")
