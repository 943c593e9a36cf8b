"""``instsim evaluate``: the paper's protocols on a test split (see docs/evaluation.md)."""

from __future__ import annotations

import sys
import warnings

import click

from ._common import UsageError, usage_errors

_EPILOG = """\b
Protocols:
  music-id    every non-silent test segment (3 s every 1.5 s, and 10 s every 5 s)
              is labelled by its piece; kNN (k=5) in each sub-space (Table 1);
              segments of the query's piece that overlap it in time never vote
  pseudo-mix  10 pieces x 4 pseudo-mixes (A_c + B_not-c) per instrument, 10 s
              segments labelled by A; kNN in sub-space c without B's segments
              (Table 2); repeated over --draws seeded draws
  all         both

\b
Also evaluated (unless --no-baselines): a non-learned log-mel mean/std reference,
and when MODEL is a folder holding them: MODEL/stage1/<instrument>/
(per-instrument FCNs, on clean stems and on the mix) and MODEL/baseline/
(a non-disentangled network); --compare adds other CSNs (Table 2 variants).

\b
Outputs in OUT: report.json (accuracies in %), report.md (tables in the paper's
layout with the paper's numbers beside ours), plots/*.png (t-SNE maps).
Decoded pieces are cached under --cache-dir and reused by later runs.

\b
Exit codes:
  0  the report was written
  1  the evaluation failed (no piece left after the test filter, unreadable data)
  2  usage error: unknown dataset, split or model, bad option

\b
Example:
  instsim evaluate --model runs/csn --dataset slakh --data-home ~/mir_datasets/slakh \\
      --split test --out runs/csn/eval
"""


def _compare_option(values: tuple[str, ...]) -> dict[str, str] | list[str]:
    named = [v for v in values if "=" in v]
    if not named:
        return list(values)
    if len(named) != len(values):
        raise UsageError("--compare: name all of them (NAME=DIR) or none")
    out: dict[str, str] = {}
    for v in values:
        name, path = v.split("=", 1)
        if not name or not path:
            raise UsageError(f"--compare {v!r}: expected NAME=DIR")
        if name in out or name == "csn":
            raise UsageError(f"--compare: the name {name!r} is used twice (or is reserved)")
        out[name] = path
    return out


@click.command("evaluate", epilog=_EPILOG)
@click.option(
    "--model",
    default=None,
    metavar="ID_OR_DIR",
    help="The trained model: folder, Hub repo id, or 'default' for the model bundled with "
    "instsim (as Extractor.from_pretrained() loads it). [default: the bundled model]",
)
@click.option(
    "--compare",
    multiple=True,
    metavar="[NAME=]ID_OR_DIR",
    help="Another CSN evaluated the same way (e.g. a Table 2 variant); repeatable.",
)
@click.option(
    "--baselines/--no-baselines",
    default=True,
    show_default=True,
    help="Also evaluate a non-learned log-mel mean/std reference, and MODEL/stage1/<instrument>/ and MODEL/baseline/ when present.",
)
@click.option("--dataset", "dataset_name", default="slakh", show_default=True,
              help="Dataset plugin name.")  # fmt: skip
@click.option(
    "--data-home",
    required=True,
    type=click.Path(file_okay=False, path_type=str),
    help="Folder holding the local copy of the dataset.",
)
@click.option("--version", default=None, help="Dataset version or layout; default: detect.")
@click.option("--split", default="test", show_default=True, help="Split evaluated.")
@click.option(
    "--protocol",
    type=click.Choice(["music-id", "pseudo-mix", "all"]),
    default="all",
    show_default=True,
    help="Which protocol(s) to run.",
)
@click.option(
    "--out",
    "out_dir",
    default="evaluation",
    show_default=True,
    type=click.Path(file_okay=False, path_type=str),
    help="Folder for report.json, report.md and plots/ (created).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of every random draw.")
@click.option(
    "--draws",
    default=5,
    show_default=True,
    type=click.IntRange(min=1),
    help="Pseudo-mix repetitions (mean and std over them).",
)
@click.option("--pieces", default=10, show_default=True, type=click.IntRange(min=2),
              help="Pseudo-mix focus pieces per instrument.")  # fmt: skip
@click.option("--partners", default=4, show_default=True, type=click.IntRange(min=1),
              help="Pseudo-mixes per focus piece.")  # fmt: skip
@click.option("-k", "--neighbours", "k", default=5, show_default=True,
              type=click.IntRange(min=1), help="Neighbours voting in the kNN.")  # fmt: skip
@click.option(
    "--tempo-bin-bpm",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Width of the tempo groups pseudo-mixes are drawn within [BPM].",
)
@click.option(
    "--device",
    type=click.Choice(["cpu", "cuda", "auto"]),
    default="auto",
    show_default=True,
    help="Where the networks run (auto: CUDA when available).",
)
@click.option(
    "--cache-dir",
    default=None,
    type=click.Path(file_okay=False, path_type=str),
    help="Folder of decoded-audio caches. [default: ~/.cache/instsim/groups]",
)
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(min=1),
              help="Segments per forward pass.")  # fmt: skip
@click.option("--workers", default=None, type=click.IntRange(min=1),
              help="Processes decoding pieces into the cache. [default: every core]")  # fmt: skip
@click.option("--no-plots", is_flag=True, help="Skip the t-SNE figures.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or summary.")
def evaluate(
    model: str | None,
    compare: tuple[str, ...],
    baselines: bool,
    dataset_name: str,
    data_home: str,
    version: str | None,
    split: str,
    protocol: str,
    out_dir: str,
    seed: int,
    draws: int,
    pieces: int,
    partners: int,
    k: int,
    tempo_bin_bpm: float,
    device: str,
    cache_dir: str | None,
    batch_size: int,
    workers: int | None,
    no_plots: bool,
    quiet: bool,
) -> None:
    """Measure a trained model with the paper's protocols and write a report.

    Music-ID kNN accuracy per sub-space for 3 s and 10 s inputs (Table 1) and
    pseudo-mix sub-space accuracy (Table 2), for the model and the baselines
    found beside it, with the paper's numbers beside ours.
    """
    from .. import registry
    from ..errors import InstsimError
    from ..evaluate.run import PlotsSkippedWarning, plots_unavailable

    no_plots_why = None if no_plots else plots_unavailable()
    if no_plots_why:  # at the door: the report is written, the figures skipped
        click.echo(f"warning: t-SNE plots will be skipped: {no_plots_why}", err=True)
    with usage_errors():
        registry.load("datasets", dataset_name)  # unknown name: exit 2 listing the valid ones
        import torch

        from ..evaluate.run import EvaluationSettings, load_systems, run_evaluation
        from ..plugins.datasets import open_dataset

        if device == "cuda" and not torch.cuda.is_available():
            raise UsageError("--device cuda: CUDA is not available here; valid: 'cpu', 'auto'")
        ds = open_dataset(dataset_name, data_home, version=version)
        splits = ds.splits()
        if splits and split not in splits:
            raise UsageError(
                f"--split {split!r}: {dataset_name!r} at {data_home!r} has splits {', '.join(splits)}"
            )
        systems = load_systems(model, _compare_option(compare), baselines=baselines, device=device)
        settings = EvaluationSettings(
            k=k,
            n_pieces=pieces,
            n_partners=partners,
            draws=draws,
            seed=seed,
            tempo_bin_bpm=tempo_bin_bpm,
            batch_size=batch_size,
        )
    from ..batch.progress import StageProgress

    bars = StageProgress(
        quiet,
        labels={"cache": "decoding", "embed": "embedding", "plots": "t-SNE"},
        units={"cache": "piece", "embed": "segment", "plots": "plot"},
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PlotsSkippedWarning)  # said above, in one line
            report = run_evaluation(
                systems,
                ds,
                split=split if splits else None,
                protocols=("music-id", "pseudo-mix") if protocol == "all" else (protocol,),
                settings=settings,
                cache_dir=cache_dir,
                workers=workers,
                out_dir=out_dir,
                plots=not no_plots,
                progress=bars,
            )
    except (InstsimError, OSError) as exc:
        bars.close()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    bars.close()
    if not quiet:
        names = ", ".join(s.name for s in systems)
        click.echo(
            f"evaluated {names} on {report['n_tracks']} of {report['n_tracks_split']} pieces; "
            f"report: {out_dir}/report.md"
        )
