"""``instsim real-check``: build the real-audio set, then score a model on it (docs/real-audio.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ._common import UsageError, usage_errors

_FOCUS = ("drums", "bass", "piano", "guitar")

_BUILD_EPILOG = """\b
Sources: the freely licensed recordings of the Debian packages sonic-pi-samples
(CC0) and lmms-common (GPL-2+): apt-get install sonic-pi-samples lmms-common.
Writes DIR/draw-NN/<focus>/mix-sII-rJJ.flac and DIR/manifest.json (every mix's
sources, gains and offsets; every source's package, licence and origin).

\b
Exit codes:
  0  the set was written
  1  a source could not be read
  2  usage error: no or too few sources installed, bad option, DIR already built

\b
Example:
  instsim real-check build data/real --draws 10 --seed 0
"""

_RUN_EPILOG = """\b
For each focus c, each mix's nearest other mix (cosine, per sub-space) shares
either the c recording or the rest: "follows c" and "follows rest" [%], mean and
std over draws, beside chance and a log-mel mean/std baseline.

\b
Exit codes:
  0  the report was written
  1  a mix could not be embedded
  2  usage error: no set in SET_DIR, unknown model, bad option, --compare-to a
     report of another set

\b
Example:
  instsim real-check run data/real --out report/real
  # a candidate, with its change against that run, paired over the draws:
  instsim real-check run data/real --model runs/candidate --out report/cand \\
      --compare-to report/real/report.json
"""


@click.group("real-check")
def real_check() -> None:
    """Does each sub-space follow its instrument on real recordings, and ignore the rest?"""


@real_check.command("build", epilog=_BUILD_EPILOG)
@click.argument("out_dir", metavar="DIR", type=click.Path(file_okay=False, path_type=str))
@click.option("--focus", multiple=True, type=click.Choice(_FOCUS),
              help="Focus instrument (repeatable). [default: all four]")  # fmt: skip
@click.option("--draws", default=10, show_default=True, type=click.IntRange(min=1),
              help="Seeded draws of the grids.")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of every draw.")
@click.option("--stems", default=8, show_default=True, type=click.IntRange(min=2),
              help="Recordings of the focus instrument per grid (fewer if fewer exist).")  # fmt: skip
@click.option("--rests", default=10, show_default=True, type=click.IntRange(min=2),
              help="Accompaniments per grid.")  # fmt: skip
@click.option("--seconds", default=6.0, show_default=True, type=click.FloatRange(min=3.0),
              help="Length of each mix [s].")  # fmt: skip
@click.option("--drums-in-rest/--no-drums-in-rest", default=True, show_default=True,
              help="For a focus other than drums, put a drum loop in every rest.")  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Rebuild over an existing set.")
def build(
    out_dir: str,
    focus: tuple[str, ...],
    draws: int,
    seed: int,
    stems: int,
    rests: int,
    seconds: float,
    drums_in_rest: bool,
    overwrite: bool,
) -> None:
    """Assemble grids of mixes (focus recording + accompaniment) from real recordings."""
    from ..errors import AudioDecodeError, DatasetError
    from ..evaluate.realset import build_set

    try:
        manifest = build_set(
            out_dir,
            focus=focus or _FOCUS,
            draws=draws,
            seed=seed,
            n_stems=stems,
            n_rests=rests,
            seconds=seconds,
            drums_in_rest=drums_in_rest,
            overwrite=overwrite,
        )
    except AudioDecodeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except DatasetError as exc:
        raise UsageError(str(exc)) from None
    click.echo(
        f"wrote {len(manifest['mixes'])} mixes from {len(manifest['sources'])} recordings "
        f"to {out_dir}"
    )


@real_check.command("run", epilog=_RUN_EPILOG)
@click.argument("set_dir", metavar="SET_DIR", type=click.Path(file_okay=False, path_type=str))
@click.option("--model", default=None, metavar="ID_OR_DIR",
              help="Model folder or Hub repo id. [default: the bundled model]")  # fmt: skip
@click.option("--out", "out_dir", default="real-check", show_default=True,
              type=click.Path(file_okay=False, path_type=str),
              help="Folder for report.json and report.md (created).")  # fmt: skip
@click.option("--baseline/--no-baseline", default=True, show_default=True,
              help="Also score the non-learned log-mel mean/std baseline.")  # fmt: skip
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="auto",
              show_default=True, help="Where the network runs.")  # fmt: skip
@click.option("--compare-to", "compare_to", default=None, metavar="REPORT_JSON",
              type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="report.json of an earlier run on the same set: add each sub-space's "
                   "change against it, paired over the draws.")  # fmt: skip
def run(
    set_dir: str,
    model: str | None,
    out_dir: str,
    baseline: bool,
    device: str,
    compare_to: str | None,
) -> None:
    """Score a model's sub-spaces on a set made by `instsim real-check build`."""
    from .. import Extractor
    from ..errors import InstsimError
    from ..evaluate.real import check_same_set, evaluate_set, format_report, paired_changes
    from ..evaluate.realset import load_manifest

    earlier = None
    with usage_errors():
        manifest = load_manifest(set_dir)
        if compare_to is not None:
            try:
                earlier = json.loads(Path(compare_to).read_text())
                settings = earlier["settings"]
                if not isinstance(settings, dict):
                    raise TypeError(f"'settings' is a {type(settings).__name__}")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise UsageError(
                    f"--compare-to {compare_to}: not a real-check report.json ({exc})"
                ) from None
            try:
                check_same_set(manifest["settings"], settings)
            except InstsimError as exc:
                raise UsageError(f"--compare-to {compare_to}: {exc}") from None
        if device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise UsageError("--device cuda: CUDA is not available here; valid: 'cpu', 'auto'")
        ext = Extractor.from_pretrained(model, device=device)
    try:
        report = evaluate_set(set_dir, ext, baseline=baseline)
    except (InstsimError, OSError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    report["model"] = model or "bundled default"
    failed_compare = None
    if earlier is not None:
        try:
            report["paired"] = {
                "report": str(compare_to),
                "model": earlier.get("model", compare_to),
                "changes": paired_changes(report, earlier),
            }
        except InstsimError as exc:  # the set matched, its draws did not: keep the scores
            failed_compare = f"--compare-to {compare_to}: {exc}; report written without it"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "report.md").write_text(format_report(report, f"Real-audio check: {report['model']}"))
    click.echo(f"report: {out / 'report.md'}")
    if failed_compare is not None:
        click.echo(f"error: {failed_compare}", err=True)
        sys.exit(2)
