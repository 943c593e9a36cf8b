"""The instsim exception family.

Every error instsim raises on purpose derives from :class:`InstsimError`. Each
subclass also inherits the builtin exception a user would naturally catch
(``OSError`` for files, ``KeyError`` for unknown names, ``ValueError`` for bad
values), so ``except OSError`` keeps working in code that does not know instsim.

Messages name the file or value, say why, and list the valid choices when
there are some.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ArrangementError",
    "AudioDecodeError",
    "ConfigError",
    "DatasetError",
    "DumpError",
    "EmptyAudioError",
    "InstsimError",
    "MidiCollectionError",
    "MissingExtraError",
    "ModelMismatchError",
    "ModelNotFoundError",
    "NonFiniteAudioError",
    "ParameterError",
    "PluginContractError",
    "PluginNotFoundError",
    "SamplePackError",
    "SearchIndexError",
    "SilentAudioError",
    "UnknownInstrumentError",
    "WorkerLostError",
]


def _choices(choices: Iterable[str]) -> str:
    items = sorted(str(c) for c in choices)
    return ", ".join(repr(c) for c in items) if items else "(none)"


def _rebuild(cls: type, args: tuple, state: dict) -> InstsimError:
    obj = cls.__new__(cls)
    Exception.__init__(obj, *args)
    obj.__dict__.update(state)
    return obj


class InstsimError(Exception):
    """Root of every error raised by instsim."""

    def __reduce__(self) -> tuple:
        # subclasses take other constructor arguments than ``args``: rebuild without __init__,
        # so errors cross process boundaries (decoding workers) intact
        return (_rebuild, (type(self), self.args, self.__dict__))

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else self.__class__.__name__


class AudioDecodeError(InstsimError, OSError):
    """A file could not be read as audio (missing, unreadable, corrupt, not audio)."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot decode audio file {self.path!r}: {reason}")


class EmptyAudioError(AudioDecodeError):
    """A file decodes to zero samples."""

    def __init__(self, path: object) -> None:
        super().__init__(path, "the file contains no audio samples")


class NonFiniteAudioError(InstsimError, ValueError):
    """Audio samples contain NaN or infinity."""

    def __init__(self, source: object, n_bad: int | None = None) -> None:
        self.path = str(source)
        detail = f" ({n_bad} samples)" if n_bad is not None else ""
        super().__init__(f"audio from {self.path!r} contains NaN or infinite samples{detail}")


class SilentAudioError(InstsimError, ValueError):
    """Audio has no segment above the silence threshold, so it has no embedding."""

    def __init__(self, source: object, threshold_db: float) -> None:
        self.path = str(source)
        super().__init__(
            f"audio from {self.path!r} is silent: no segment is louder than "
            f"{threshold_db:g} dBFS RMS, so there is nothing to embed"
        )


class UnknownInstrumentError(InstsimError, KeyError):
    """An instrument (sub-space) name the model does not have."""

    def __init__(self, name: object, valid: Iterable[str]) -> None:
        self.name = name
        self.valid = list(valid)
        super().__init__(
            f"unknown instrument {name!r}; this model's instruments are: "
            + ", ".join(repr(v) for v in self.valid)
        )


class PluginNotFoundError(InstsimError, KeyError):
    """No plugin of that name is registered in the entry-point group."""

    def __init__(self, group: str, name: object, available: Iterable[str]) -> None:
        self.group = group
        self.name = name
        self.available = sorted(available)
        super().__init__(
            f"no plugin named {name!r} in group {group!r}; available: {_choices(self.available)}"
        )


class MissingExtraError(InstsimError, ImportError):
    """A feature needs an optional dependency that is not installed (see :mod:`instsim.extras`)."""

    def __init__(self, extra: str, feature: str, missing: Iterable[str]) -> None:
        self.extra = extra
        self.feature = feature
        self.missing = list(missing)
        super().__init__(
            f"{feature} needs the optional dependencies of instsim[{extra}], and "
            f"{', '.join(self.missing)} {'is' if len(self.missing) == 1 else 'are'} not "
            f"installed: pip install 'instsim[{extra}]'"
        )


class PluginContractError(InstsimError, TypeError):
    """A registered plugin loads but does not meet its kind's contract (:mod:`instsim.contracts`).

    Attributes
    ----------
    group, name, target, distribution : str
        The entry-point group, the plugin's name, its ``module:attr`` and the
        distribution (installed package) that registers it.
    problems : list of str
        What is wrong, one item per broken rule.
    """

    def __init__(
        self, group: str, name: str, target: str, distribution: str, problems: Iterable[str]
    ) -> None:
        self.group = group
        self.name = name
        self.target = target
        self.distribution = distribution
        self.problems = list(problems)
        super().__init__(
            f"plugin {name!r} in {group!r} ({target}, from distribution {distribution!r}) "
            f"does not meet the contract: {'; '.join(self.problems)}"
        )


class ParameterError(InstsimError, ValueError):
    """A function argument has a value the function cannot use; the message names it."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"invalid value for {name!r}: {message}")


class ModelNotFoundError(InstsimError, FileNotFoundError):
    """Model files could not be found (bundled, local folder or Hub)."""


class ModelMismatchError(InstsimError, ValueError):
    """Model files exist but do not fit together (weights vs. config)."""


class ConfigError(InstsimError, ValueError):
    """A configuration value is missing or invalid; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"invalid config field {field!r}: {message}")


class DatasetError(InstsimError, OSError):
    """A dataset folder is missing, incomplete or not in the expected layout."""


class ArrangementError(InstsimError, OSError):
    """A POP909-format song folder cannot be turned into an arrangement.

    Attributes
    ----------
    path : str
        The song folder or the file in it that is at fault.
    reason : str
        Why (missing file, corrupt MIDI, no PIANO track, bad annotation line ...).
    """

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot use POP909 song {self.path!r}: {reason}")


class MidiCollectionError(ArrangementError):
    """A General MIDI collection (:mod:`instsim.data.midi_collection`) or one of its files
    cannot be used.

    An :class:`ArrangementError` (real arrangements, like POP909 songs) with its own
    message, so ``except ArrangementError`` catches both.

    Attributes
    ----------
    path : str
        The collection folder, its ``collection.yaml`` or the MIDI file at fault.
    reason : str
        Why (missing or bad ``collection.yaml`` field, corrupt MIDI, no notes, only drums,
        too short, no window with two instrument groups ...).
    """

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        Exception.__init__(self, f"cannot use MIDI collection {self.path!r}: {reason}")


class SamplePackError(InstsimError, OSError):
    """A recorded-instrument sample pack (:mod:`instsim.data.sampler`) cannot be used.

    Attributes
    ----------
    path : str
        The pack folder or the file in it that is at fault.
    reason : str
        Why (empty folder, unparseable note name, unknown npm package, bad ``pack.yaml``
        field, unreadable audio ...).
    """

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot use sample pack {self.path!r}: {reason}")


class DumpError(InstsimError, ValueError):
    """A feature dump (``.npz`` or ``.parquet`` from ``instsim extract``) cannot be used."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot use feature dump {self.path!r}: {reason}")


class SearchIndexError(InstsimError, OSError):
    """A search index folder is missing, incomplete, corrupt or of a newer format."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot open search index {self.path!r}: {reason}")


class WorkerLostError(InstsimError, RuntimeError):
    """The Ray engine got no result for an input: its worker was lost more often than
    Ray retries (``instsim extract --engine ray``; rerunning redoes the input)."""

    def __init__(self, path: object) -> None:
        self.path = str(path)
        super().__init__(
            f"the Ray cluster returned no embedding for {self.path!r} (its worker was lost "
            "and not retried); rerun the command to redo it"
        )
