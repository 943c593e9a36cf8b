"""instsim: music similarity that focuses on one instrument.

One Conditional Similarity Network maps mixed music to an embedding made of
named sub-spaces (drums, bass, piano, guitar, others), so tracks can be compared
by their drums, their bass line, and so on.

>>> import instsim
>>> v = instsim.embed("song.flac", focus="bass")  # doctest: +SKIP

``import instsim`` is light: torch-backed objects (``Extractor``, ``embed``,
``CSN``, the HEAR API module ``hear``) load on first use, and mirdata, essentia,
scikit-learn and click load only where they are needed.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import (
    AudioDecodeError,
    ConfigError,
    DatasetError,
    DumpError,
    EmptyAudioError,
    InstsimError,
    MissingExtraError,
    ModelMismatchError,
    ModelNotFoundError,
    NonFiniteAudioError,
    ParameterError,
    PluginContractError,
    PluginNotFoundError,
    SearchIndexError,
    SilentAudioError,
    UnknownInstrumentError,
    WorkerLostError,
)
from .instruments import INSTRUMENTS

__version__ = "0.1.0"

__all__ = [
    "CSN",
    "INSTRUMENTS",
    "AudioDecodeError",
    "CSNConfig",
    "ConfigError",
    "DatasetError",
    "DumpError",
    "EmptyAudioError",
    "Extractor",
    "Index",
    "InstsimError",
    "LogMelConfig",
    "MissingExtraError",
    "ModelMismatchError",
    "ModelNotFoundError",
    "NonFiniteAudioError",
    "ParameterError",
    "PluginContractError",
    "PluginNotFoundError",
    "SearchIndexError",
    "SilentAudioError",
    "TrackEmbedding",
    "UnknownInstrumentError",
    "WorkerLostError",
    "__version__",
    "audio_info",
    "embed",
    "hear",
    "load_audio",
    "registry",
]

_LAZY = {
    "Extractor": "instsim.extractor",
    "TrackEmbedding": "instsim.extractor",
    "embed": "instsim.extractor",
    "Index": "instsim.search.index",
    "CSN": "instsim.model",
    "CSNConfig": "instsim.model",
    "LogMelConfig": "instsim.frontend",
    "load_audio": "instsim.audio",
    "audio_info": "instsim.audio",
    "registry": "instsim.registry",
    "hear": "instsim.hear",
}

if TYPE_CHECKING:  # pragma: no cover
    from . import hear, registry
    from .audio import audio_info, load_audio
    from .extractor import Extractor, TrackEmbedding, embed
    from .frontend import LogMelConfig
    from .model import CSN, CSNConfig
    from .search.index import Index


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = import_module(_LAZY[name])
        value = module if name in ("registry", "hear") else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'instsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
