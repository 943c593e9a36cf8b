"""``instsim search``: the nearest tracks of a query, by instrument (see docs/search.md)."""

from __future__ import annotations

import json

import click

from ._common import UsageError, usage_errors

_EPILOG = """\b
QUERY is an audio file (embedded with the index's model), a path in the index,
or a feature dump (.npz/.parquet) of the same model. A query that is itself in
the index is left out of its results unless --include-self.

\b
The score is the cosine similarity on the --focus sub-space (several: their mean,
as Extractor.similarity); the other columns show the similarity on every sub-space.

\b
Exit codes:
  0  results were printed
  1  the query audio could not be decoded or embedded
  2  usage error: bad INDEX_DIR, unknown --focus, k <= 0, unknown QUERY, another
     model's dump or --model, faiss not installed (pip install 'instsim[search]')

\b
Examples:
  instsim search my-index music/song.flac --focus bass -k 10
  instsim search my-index features/song.flac.npz --focus drums --focus bass --json
"""


@click.command("search", epilog=_EPILOG)
@click.argument("index_dir", type=click.Path(path_type=str))
@click.argument("query", type=str)
@click.option(
    "--focus", multiple=True, metavar="NAME",
    help="Sub-space to compare on; repeatable (averaged). [default: all]",
)  # fmt: skip
@click.option("-k", "k", type=int, default=10, show_default=True, help="Number of results.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--include-self", is_flag=True, help="Keep the query itself when it is indexed.")
@click.option("--exact", is_flag=True, help="Exact search even when approximate indexes exist.")
@click.option(
    "--model", metavar="ID_OR_DIR", default=None,
    help="Model to embed an audio QUERY with; must be the index's. [default: the index's]",
)  # fmt: skip
def search(
    index_dir: str,
    query: str,
    focus: tuple[str, ...],
    k: int,
    as_json: bool,
    include_self: bool,
    exact: bool,
    model: str | None,
) -> None:
    """Find the tracks of INDEX_DIR nearest to QUERY on one or several instruments."""
    from ..errors import AudioDecodeError, NonFiniteAudioError, SilentAudioError

    if k <= 0:
        raise UsageError(f"-k must be a positive number of results; got {k}")
    with usage_errors():
        from ..search.backend import faiss

        faiss("instsim search")
        from ..search.index import Index

        ix = Index.open(index_dir)
        ext = None
        if model is not None:
            from ..extractor import Extractor

            ext = Extractor.from_pretrained(model)
        try:
            res = ix.search(
                query, focus=list(focus) or None, k=k, include_self=include_self,
                exact=exact, extractor=ext,
            )  # fmt: skip
        except (AudioDecodeError, NonFiniteAudioError, SilentAudioError) as exc:
            click.echo(f"error: {exc}", err=True)
            click.get_current_context().exit(1)
    if res.rows.ndim != 1:
        raise UsageError(f"QUERY {query!r} holds several tracks; search one track at a time")
    if as_json:
        click.echo(json.dumps(res.to_dict(), ensure_ascii=False))
        return
    names = list(res.per_subspace)
    click.echo(f"query: {query}   focus: {', '.join(res.focus)}   k: {k}")
    click.echo(f"{'rank':>4}  {'score':>6}  " + "  ".join(f"{n[:6]:>6}" for n in names) + "  path")
    for i, r in enumerate(res.rows):
        if r < 0:
            break
        per = "  ".join(f"{res.per_subspace[n][i]:6.3f}" for n in names)
        click.echo(f"{i + 1:>4}  {res.scores[i]:6.3f}  {per}  {res.paths[i]}")
