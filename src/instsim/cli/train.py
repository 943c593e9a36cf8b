"""``instsim train``: run the training recipe from a config file."""

from __future__ import annotations

import click
import yaml

from ._common import usage_errors


def _parse_set(values: tuple[str, ...]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in values:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
        k, v = item.split("=", 1)
        out[k.strip()] = yaml.safe_load(v)
    return out


@click.command("train")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--data-home",
    type=click.Path(file_okay=False),
    help="Dataset folder (overrides dataset.data_home).",
)
@click.option(
    "--out", "out", required=True, type=click.Path(file_okay=False), help="Output model folder."
)
@click.option(
    "--resume", is_flag=True, help="Continue a killed run in OUT from its last checkpoint."
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default=None,
    help="Overrides `device` (auto: a GPU when there is one).",
)
@click.option(
    "--stages",
    default=None,
    help="Comma-separated stages to run (overrides `stages`), e.g. stage1,stage2.",
)
@click.option("--seed", type=int, default=None, help="Overrides `seed`.")
@click.option(
    "--workers", type=int, default=None, help="Data-preparation processes (0: all cores)."
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override any field, e.g. --set stage3.epochs=2 (repeatable).",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def train(
    config: str,
    data_home: str | None,
    out: str,
    resume: bool,
    device: str | None,
    stages: str | None,
    seed: int | None,
    workers: int | None,
    sets: tuple[str, ...],
    quiet: bool,
) -> None:
    """Train a model with the paper's recipe (stages 1-3) from CONFIG (YAML or TOML).

    Command-line values override the file. The output folder is a model that
    instsim.Extractor.from_pretrained(OUT) loads; see docs/training.md.

    \b
    Example:
      instsim synth --out data/tiny --songs 12 --seconds 20 --seed 0
      instsim train configs/smoke.yaml --data-home data/tiny --out runs/smoke
    \b
    Exit codes: 0 trained, 2 bad config or usage (nothing was trained).
    """
    from ..train.config import load_config
    from ..train.runner import train as run

    overrides = _parse_set(sets)
    overrides.update(
        {"dataset.data_home": data_home, "device": device, "seed": seed, "workers": workers}
    )
    if stages:
        overrides["stages"] = [s.strip() for s in stages.split(",") if s.strip()]
    with usage_errors():
        cfg = load_config(config, overrides)
        run(cfg, out, resume=resume, progress=not quiet, say=click.echo)
