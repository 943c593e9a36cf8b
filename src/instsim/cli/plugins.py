"""``instsim plugins``: list registered backbones, datasets and losses."""

from __future__ import annotations

import click

from .. import registry


@click.command("plugins")
@click.option(
    "--kind",
    "--group",
    "kind",
    type=click.Choice(sorted(registry.PLUGIN_KINDS)),
    default=None,
    help="Only plugins of this kind.",
)
def plugins(kind: str | None) -> None:
    """List plugins: entry-point group, name, the distribution that provides it, and its target.

    \b
    Example:
      instsim plugins --kind backbones
    """
    rows = [("GROUP", "NAME", "DISTRIBUTION", "TARGET")]
    for info in registry.describe(kind):
        dist = f"{info.distribution} {info.version}".strip()
        rows.append((info.group, info.name, dist, info.value))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3])
