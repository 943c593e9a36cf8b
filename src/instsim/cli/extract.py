"""``instsim extract``: embed a collection of audio files (see docs/extract.md)."""

from __future__ import annotations

import click

from ..batch import AGGREGATES, ENGINES, FORMATS, TqdmReporter, default_workers, extract_batch
from ._common import UsageError, usage_errors

_EPILOG = """\b
Outputs:
  npz      OUTDIR/<relative path of the input>.npz per track, e.g. a/b.flac ->
           OUTDIR/a/b.flac.npz; keys: embedding, timestamps, silent, instruments,
           model_id, model_revision, frontend, segment_seconds, hop_seconds, ...
  parquet  OUTDIR/embeddings.parquet, one row per track (--aggregate mean) or
           per segment (--aggregate none); columns path, relpath, ..., embedding
           (list of float32). Readable by pandas, pyarrow, Spark and Ray.
  Bad inputs are listed in OUTDIR/failures.jsonl (path, error, message).

\b
Rerunning the same command skips inputs whose outputs exist and were made with
the same model, parameters and input file; a killed run loses nothing.

\b
Exit codes:
  0  every input was embedded (or was already up to date)
  1  some inputs failed (see failures.jsonl; a folder holding no audio file
     counts as failed), or --fail-fast stopped the run
  2  usage error: bad option, unknown --focus name or --model, unusable OUTDIR

\b
Examples:
  instsim extract music/ -o embeddings/
  instsim extract music/ -o emb/ --format parquet --aggregate none --focus bass
  find /data -name '*.flac' | instsim extract --from-list - -o emb/ --model ./my-model
  instsim extract /shared/music -o /shared/emb --format parquet --engine ray \\
      --address auto --num-workers 8 --num-gpus 1     (needs instsim[ray]; docs/scale.md)
"""


@click.command("extract", epilog=_EPILOG)
@click.argument(
    "inputs", nargs=-1, metavar="[INPUT]...", type=click.Path(exists=True, path_type=str)
)
@click.option(
    "-o",
    "--output-dir",
    "output_dir",
    metavar="OUTDIR",
    required=True,
    type=click.Path(file_okay=False, path_type=str),
    help="Folder for the outputs (created if needed).",
)
@click.option(
    "--from-list",
    "lists",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=str),
    help="Text file listing inputs, one path per line ('-': stdin); repeatable.",
)
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="npz", show_default=True,
    help="npz: one file per track; parquet: one table for the run.",
)  # fmt: skip
@click.option(
    "--focus",
    multiple=True,
    metavar="NAME",
    help="Keep only this instrument's sub-space; repeatable, kept in the given order. "
    "[default: all sub-spaces]",
)
@click.option(
    "--model",
    metavar="ID_OR_DIR",
    default=None,
    help="Model folder or Hugging Face Hub repo id. [default: the bundled model]",
)
@click.option("--revision", default=None, help="Hub branch, tag or commit of --model.")
@click.option(
    "--aggregate",
    type=click.Choice(AGGREGATES),
    default="mean",
    show_default=True,
    help="mean: one vector per track; none: one per segment.",
)
@click.option(
    "--segment-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Segment length in seconds. [default: the model's, 3.0]",
)
@click.option(
    "--hop-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Hop between segments in seconds. [default: the model's, 1.5]",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=32,
    show_default=True,
    help="Segments per forward pass (segments of several files share a batch).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Decoding processes (0: one background thread); the network gets the "
    "other cores. [default: auto: 0 on up to 2 cores, else a quarter of the cores; "
    "all but one with CUDA]",
)
@click.option(
    "--device",
    type=click.Choice(["cpu", "cuda", "auto"]),
    default="auto",
    show_default=True,
    help="Where the network runs (auto: CUDA when available).",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="local",
    show_default=True,
    help="local: this process; ray: decoding in Ray tasks and the network in Ray "
    "actors, on a local Ray or the cluster at --address (needs instsim[ray]).",
)
@click.option(
    "--address",
    metavar="ADDR",
    default=None,
    help="Ray engine: join this cluster ('auto', 'HOST:6379', 'ray://HOST:10001'). "
    "[default: start a local Ray]",
)
@click.option(
    "--num-workers",
    type=click.IntRange(min=1),
    default=None,
    help="Ray engine: network actors, each loading the model once. "
    "[default: one per GPU with --num-gpus, else half the cluster's CPUs]",
)
@click.option(
    "--num-gpus",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Ray engine: GPUs per network actor (0: CPU actors; 0.5: two share a GPU). [default: 0]",
)
@click.option("--overwrite", is_flag=True, help="Redo every input, even up-to-date ones.")
@click.option("--fail-fast", is_flag=True, help="Stop at the first input that fails.")
@click.option(
    "-q", "--quiet", is_flag=True, help="No progress bar or summary (failures still shown)."
)
def extract(
    inputs: tuple[str, ...],
    output_dir: str,
    lists: tuple[str, ...],
    fmt: str,
    focus: tuple[str, ...],
    model: str | None,
    revision: str | None,
    aggregate: str,
    segment_seconds: float | None,
    hop_seconds: float | None,
    batch_size: int,
    workers: int | None,
    device: str,
    engine: str,
    address: str | None,
    num_workers: int | None,
    num_gpus: float,
    overwrite: bool,
    fail_fast: bool,
    quiet: bool,
) -> None:
    """Embed audio files: INPUT... are files, folders (walked recursively for
    audio files) or, with --from-list, text files listing paths.

    Outputs mirror the inputs' paths below the deepest folder holding them all,
    inside OUTDIR, and never land outside it.
    """
    if not inputs and not lists:
        raise UsageError("give at least one INPUT file or folder, or --from-list FILE")
    if engine == "local":
        for name, value in (("--address", address), ("--num-workers", num_workers)):
            if value is not None:
                raise UsageError(f"{name} is an option of the ray engine; add --engine ray")
        if num_gpus:
            raise UsageError("--num-gpus is an option of the ray engine; add --engine ray")
    elif workers is not None:
        raise UsageError(
            "--workers is an option of the local engine; with --engine ray decoding runs in "
            "Ray tasks (choose the network actors with --num-workers)"
        )
    with usage_errors():
        import torch

        from ..extractor import Extractor

        if device == "cuda" and not torch.cuda.is_available():
            raise UsageError("--device cuda: CUDA is not available here; valid: 'cpu', 'auto'")
        ext = Extractor.from_pretrained(model, revision=revision, device=device)
        ext.resolve_focus(list(focus) if focus else None)  # exit 2 before any work
        if workers is None:  # the ray engine decodes in Ray tasks, not local processes
            workers = 0 if engine == "ray" else default_workers(str(ext.device))
        summary = extract_batch(
            inputs,
            output_dir,
            ext,
            lists=lists,
            fmt=fmt,
            focus=list(focus) or None,
            aggregate=aggregate,
            segment_seconds=segment_seconds,
            hop_seconds=hop_seconds,
            batch_size=batch_size,
            workers=workers,
            overwrite=overwrite,
            engine=engine,
            address=address,
            num_workers=num_workers,
            num_gpus=num_gpus,
            fail_fast=fail_fast,
            reporter=TqdmReporter(quiet=quiet),
        )
    click.get_current_context().exit(summary.exit_code)
