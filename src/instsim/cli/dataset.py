"""``instsim dataset``: inspect local copies of multitrack corpora through dataset plugins."""

from __future__ import annotations

import sys

import click

from ._common import usage_errors


@click.group("dataset")
def dataset() -> None:
    """Work with local copies of multitrack datasets (Slakh2100 and others).

    Datasets are plugins (entry-point group instsim.datasets); list them with
    `instsim plugins --group datasets`.
    """


@dataset.command("check")
@click.option(
    "--dataset",
    "name",
    default="slakh",
    show_default=True,
    help="Dataset plugin name.",
)
@click.option(
    "--data-home",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="Folder holding the local copy (e.g. ~/mir_datasets/slakh).",
)
@click.option(
    "--version",
    "version",
    default=None,
    help="Dataset version or layout (slakh: 2100-redux, 2100, baby, folder); default: detect.",
)
@click.option(
    "--checksums/--no-checksums",
    default=False,
    show_default=True,
    help="Also verify md5 checksums (slow: reads every file).",
)
@click.option(
    "--max-listed",
    default=20,
    show_default=True,
    type=click.IntRange(min=0),
    help="List at most this many files per kind of problem.",
)
def check(name: str, data_home: str, version: str | None, checksums: bool, max_listed: int) -> None:
    """Validate a local copy: list missing or unreadable files, count tracks and groups.

    Prints the number of tracks per split and, for each instrument group, how
    many tracks have it (at least one stem with audio).

    \b
    Exit codes:
      0  the copy is complete
      1  files are missing, unreadable or corrupt, or the folder is not in the dataset's layout
      2  usage error (unknown dataset name, bad option)

    \b
    Example:
      instsim dataset check --dataset slakh --data-home ~/mir_datasets/slakh
    """
    from .. import registry
    from ..errors import ConfigError, DatasetError
    from ..plugins.datasets import open_dataset

    with usage_errors():
        cls = registry.load("datasets", name)  # unknown name: exit 2 listing the valid ones
        versions = tuple(getattr(cls, "versions", ()))
        if version is not None and versions and version not in versions:
            raise ConfigError(
                "--version",
                f"{version!r} is not a version of {name!r}; valid: {', '.join(versions)}",
            )
    try:
        ds = open_dataset(name, data_home, version=version)
        report = ds.validate(checksums=checksums)
    except DatasetError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(report.summary(max_items=max_listed))
    sys.exit(0 if report.ok else 1)
