"""Optional dependencies: which ``pip install 'instsim[extra]'`` provides what.

A plain ``pip install instsim`` embeds, extracts (npz), trains and evaluates. Five
features need an extra; each says so at its door, before any work, with a
:class:`~instsim.errors.MissingExtraError` (exit 2 on the command line):

=========  ==============================  ==============================================
extra      modules (PyPI distributions)    needed by
=========  ==============================  ==============================================
synth      pretty_midi, fluidsynth,        ``instsim synth``, :func:`instsim.data.synth.synthesize_corpus`
           pedalboard (pretty_midi,
           pyfluidsynth, pedalboard)
parquet    pyarrow (pyarrow)               ``instsim extract --format parquet``
plots      matplotlib (matplotlib)         the t-SNE figures of ``instsim evaluate``; without
                                           it the report is written and the figures skipped
search     faiss (faiss-cpu)               ``instsim index``, ``instsim search``, :class:`instsim.Index`
ray        ray (ray[data])                 ``instsim extract --engine ray`` (scale-out on Ray Data)
=========  ==============================  ==============================================

The table matches ``[project.optional-dependencies]`` in ``pyproject.toml`` (a test
checks it).
"""

from __future__ import annotations

import importlib.util

from .errors import MissingExtraError

__all__ = ["EXTRAS", "missing", "require"]

#: extra -> {importable module: PyPI distribution}
EXTRAS: dict[str, dict[str, str]] = {
    "synth": {
        "pretty_midi": "pretty_midi",
        "fluidsynth": "pyfluidsynth",
        "pedalboard": "pedalboard",
    },
    "parquet": {"pyarrow": "pyarrow"},
    "plots": {"matplotlib": "matplotlib"},
    "search": {"faiss": "faiss-cpu"},
    "ray": {"ray": "ray"},
}


def _importable(module: str) -> bool:
    import sys

    if module in sys.modules:  # imported already, or blocked (``sys.modules[name] = None``)
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing(extra: str) -> list[str]:
    """The PyPI distributions of ``extra`` whose modules cannot be imported (``[]``: all there)."""
    return [dist for module, dist in EXTRAS[extra].items() if not _importable(module)]


def require(extra: str, feature: str) -> None:
    """Raise :class:`~instsim.errors.MissingExtraError` if ``extra`` is not installed.

    Parameters
    ----------
    extra : {"synth", "parquet", "plots", "search", "ray"}
    feature : str
        What needs it, for the message (``"instsim synth"``).
    """
    lacking = missing(extra)
    if lacking:
        raise MissingExtraError(extra, feature, lacking)
