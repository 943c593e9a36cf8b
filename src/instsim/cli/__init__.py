"""The ``instsim`` command line: a click group whose subcommands load lazily.

Each subcommand lives in its own thin module (parse options, build library
objects, call one library function). Exit codes: 0 success, 1 some inputs
failed (or a check found problems), 2 usage error (bad option, unknown name).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

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
    "index": "index:index",
    "search": "search:search",
}


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
        return getattr(module, attr)


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
