"""``instsim index``: build or extend a search index over feature dumps (see docs/search.md)."""

from __future__ import annotations

import click

from ._common import UsageError, usage_errors

_EPILOG = """\b
FEATURES are .npz or .parquet dumps written by `instsim extract` (per-track vectors,
--aggregate mean), or folders holding them (walked recursively).

\b
INDEX_DIR gets one exact FAISS index per sub-space plus one for the whole vector,
the vectors (memory-mapped), an id table and manifest.json (model, sub-spaces,
parameters). Above 100,000 tracks (or with --approximate) approximate IVF lists are
added per sub-space, their nprobe and candidate count calibrated so that recall@10
against exact search is >= 0.95 (95% lower confidence bound). Updates are atomic:
a killed run leaves the previous index usable. --add on an index of an older
format rewrites it in the current one.

\b
Exit codes:
  0  the index was written
  1  some dumps could not be read (they are listed; the rest is indexed)
  2  usage error: no usable dump, dumps of different models or sub-spaces, bad
     INDEX_DIR, faiss not installed (pip install 'instsim[search]')

\b
Examples:
  instsim index features/ -o my-index
  instsim index new-features/ -o my-index --add
"""


@click.command("index", epilog=_EPILOG)
@click.argument("features", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "-o", "--output", "index_dir", required=True, metavar="INDEX_DIR",
    type=click.Path(file_okay=False, path_type=str), help="The index folder.",
)  # fmt: skip
@click.option(
    "--add", is_flag=True, help="Add to the index in INDEX_DIR (a track indexed again is replaced)."
)
@click.option(
    "--approximate/--exact-only", "approximate", default=None,
    help="Build approximate IVF lists too, or never. [default: above 100,000 tracks]",
)  # fmt: skip
@click.option(
    "--dtype", type=click.Choice(["float16", "float32"]), default="float16", show_default=True,
    help="How vectors are stored (ignored with --add: the index's own).",
)  # fmt: skip
def index(
    features: tuple[str, ...], index_dir: str, add: bool, approximate: bool | None, dtype: str
) -> None:
    """Index feature dumps for search by instrument."""
    from ..errors import DumpError

    with usage_errors():
        from ..search.backend import faiss

        faiss("instsim index")
        from ..search.dumps import find_dumps, read_dump
        from ..search.index import Index

        dumps, failed = [], 0
        for path in find_dumps(features):
            try:
                dumps.append(read_dump(path))
            except DumpError as exc:
                click.echo(f"error: {exc}", err=True)
                failed += 1
        if not dumps:
            raise UsageError(f"no usable feature dump in {', '.join(features)}")
        if add:
            ix = Index.open(index_dir).add(dumps)
        else:
            ix = Index.build(dumps, index_dir, approximate=approximate, dtype=dtype)
    mode = "exact + approximate" if ix.approximate else "exact"
    click.echo(f"{index_dir}: {len(ix)} tracks ({mode}); {failed} dumps failed", err=True)
    click.get_current_context().exit(1 if failed else 0)
