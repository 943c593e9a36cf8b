"""The ``instsim`` command line: a click group whose subcommands load lazily.

Each subcommand lives in its own thin module (parse options, build library
objects, call one library function). Exit codes: 0 success, 1 some inputs
failed (or a check found problems), 2 usage error (bad option, unknown name,
a missing optional dependency).

Every command runs after a plain ``pip install instsim``; the uses that need an
extra (:mod:`instsim.extras`) are listed in :data:`NEEDS_EXTRA` and refused here,
after the options are parsed (so ``--help`` always works) and before the command
does any work, with exit 2 and the ``pip install 'instsim[extra]'`` to run.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
from collections.abc import Callable
from typing import Any

import click

from .. import __version__

# name -> "module:attribute" (relative to this package)
_COMMANDS = {
    "extract": "extract:extract",
    "plugins": "plugins:plugins",
    "synth": "synth:synth",
    "dataset": "dataset:dataset",
    "train": "train:train",
    "evaluate": "evaluate:evaluate",
    "real-check": "realcheck:real_check",
    "index": "index:index",
    "search": "search:search",
}


#: command -> (extra, what needs it, when) triples: the command needs ``extra`` when
#: ``when(params)`` is true (``params``: the parsed options, by parameter name).
NEEDS_EXTRA: dict[str, tuple[tuple[str, str, Callable[[dict[str, Any]], bool]], ...]] = {
    "synth": (("synth", "instsim synth", lambda params: True),),
    "extract": (
        ("parquet", "instsim extract --format parquet", lambda p: p.get("fmt") == "parquet"),
        ("ray", "instsim extract --engine ray", lambda p: p.get("engine") == "ray"),
    ),
    "index": (("search", "instsim index", lambda params: True),),
    "search": (("search", "instsim search", lambda params: True),),
}


def _at_the_door(name: str, command: click.Command) -> click.Command:
    """Wrap ``command``'s callback so a missing extra is exit 2 before any work."""
    needs = NEEDS_EXTRA.get(name)
    if not needs or getattr(command.callback, "_instsim_door", False):
        return command
    inner = command.callback
    assert inner is not None

    @functools.wraps(inner)
    def callback(*args: Any, **params: Any) -> Any:
        from ..errors import MissingExtraError
        from ..extras import require

        for extra, feature, when in needs:
            if when(params):
                try:
                    require(extra, feature)
                except MissingExtraError as exc:
                    raise click.UsageError(str(exc)) from None
        return inner(*args, **params)

    callback._instsim_door = True  # type: ignore[attr-defined]
    command.callback = callback
    return command


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        names = []
        for name, target in _COMMANDS.items():
            if importlib.util.find_spec(f"{__name__}.{target.split(':')[0]}") is not None:
                names.append(name)
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{module_name}":
                return None
            raise
        return _at_the_door(cmd_name, getattr(module, attr))


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="instsim")
def main() -> None:
    """instsim: per-instrument music similarity embeddings.

    \b
    Exit codes:
      0  success
      1  some inputs failed, or a check found problems
      2  usage error (bad option, unknown name or model)
    """


def run() -> None:  # pragma: no cover - console entry point wrapper
    sys.exit(main())
