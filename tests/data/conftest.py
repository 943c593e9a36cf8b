"""Tiny Slakh-layout corpora built by hand: a few seconds of tones, noise and clicks per stem.

Each piece follows Slakh2100's layout and metadata format exactly::

    <root>/<split>/TrackNNNNN/{mix.flac, stems/SNN.flac, MIDI/SNN.mid, all_src.mid, metadata.yaml}

and its mix is the sum of its stems (written as 24-bit FLAC, like Slakh's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import yaml

SR = 16000
SECONDS = 4.0


@dataclass
class StemSpec:
    """One stem: MIDI program, drum flag, how it sounds and whether audio exists."""

    program: int
    is_drum: bool = False
    kind: str = "tone"  # tone | noise | clicks | silent
    freq: float = 220.0
    rendered: bool = True
    inst_class: str = "Piano"
    name: str = "Acoustic Grand Piano"
    onsets: tuple[float, ...] = (0.5, 1.5, 2.5, 3.5)  # for "clicks" [seconds]
    start: float = 0.0  # the stem is silent before this [seconds]


@dataclass
class TrackSpec:
    track_id: str
    split: str | None
    stems: list[StemSpec]
    tempo: float = 120.0
    seconds: float = SECONDS
    seed: int = 0
    meta_extra: dict = field(default_factory=dict)


def render_stem(stem: StemSpec, seconds: float, sr: int, seed: int) -> np.ndarray:
    """The audio of one stem [shape=(n,), float32, peak <= 0.2]."""
    rng = np.random.default_rng(seed)
    n = round(seconds * sr)
    t = np.arange(n) / sr
    if stem.kind == "tone":
        y = 0.15 * np.sin(2 * np.pi * stem.freq * t)
    elif stem.kind == "noise":
        y = 0.05 * rng.standard_normal(n)
    elif stem.kind == "clicks":
        y = np.zeros(n)
        k = int(0.03 * sr)
        burst = 0.2 * np.exp(-np.arange(k) / (0.004 * sr)) * rng.standard_normal(k)
        for onset in stem.onsets:
            i = round(onset * sr)
            seg = y[i : i + k]
            seg += burst[: seg.size]
    elif stem.kind == "silent":
        y = np.zeros(n)
    else:  # pragma: no cover - test helper misuse
        raise ValueError(stem.kind)
    y[: round(stem.start * sr)] = 0.0
    return np.clip(y, -0.2, 0.2).astype(np.float32)


def write_midi(path: Path, tempo: float, program: int = 0, is_drum: bool = False) -> None:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    inst = pretty_midi.Instrument(program=min(program, 127), is_drum=is_drum)
    inst.notes.append(pretty_midi.Note(velocity=100, pitch=60, start=0.0, end=0.5))
    pm.instruments.append(inst)
    pm.write(str(path))


def write_track(root: Path, spec: TrackSpec, sr: int = SR, fmt: str = "flac") -> Path:
    """Write one piece in Slakh's layout; return its folder."""
    import soundfile as sf

    d = root / spec.split / spec.track_id if spec.split else root / spec.track_id
    (d / "stems").mkdir(parents=True)
    (d / "MIDI").mkdir()
    stems_meta = {}
    mix = np.zeros(round(spec.seconds * sr), dtype=np.float64)
    subtype = "PCM_24" if fmt == "flac" else "FLOAT"
    for i, stem in enumerate(spec.stems):
        sid = f"S{i:02d}"
        stems_meta[sid] = {
            "audio_rendered": stem.rendered,
            "inst_class": stem.inst_class,
            "integrated_loudness": -20.0,
            "is_drum": stem.is_drum,
            "midi_program_name": stem.name,
            "midi_saved": True,
            "plugin_name": "test_patch.nkm",
            "program_num": stem.program,
        }
        write_midi(d / "MIDI" / f"{sid}.mid", spec.tempo, stem.program, stem.is_drum)
        if not stem.rendered:
            continue
        y = render_stem(stem, spec.seconds, sr, spec.seed * 100 + i)
        sf.write(d / "stems" / f"{sid}.{fmt}", y, sr, subtype=subtype)
        y_read, _ = sf.read(d / "stems" / f"{sid}.{fmt}", dtype="float64")
        mix += y_read
    sf.write(d / f"mix.{fmt}", mix.astype(np.float32), sr, subtype=subtype)
    write_midi(d / "all_src.mid", spec.tempo)
    meta = {
        "UUID": f"{spec.seed:032x}",
        "audio_dir": "stems",
        "lmd_midi_dir": f"lmd_matched/X/Y/Z/{spec.seed:032x}.mid",
        "midi_dir": "MIDI",
        "normalization_factor": -13.0,
        "normalized": True,
        "overall_gain": 0.5,
        "stems": stems_meta,
        "target_peak": -1.0,
        **spec.meta_extra,
    }
    (d / "metadata.yaml").write_text(yaml.safe_dump(meta), encoding="utf-8")
    return d


#: The stems of the grouping test: one of each group, two "others", one not rendered.
FULL_STEMS = [
    StemSpec(128, True, "clicks", inst_class="Drums", name="Drums"),
    StemSpec(33, kind="tone", freq=55.0, inst_class="Bass", name="Electric Bass (finger)"),
    StemSpec(0, kind="tone", freq=262.0),
    StemSpec(25, kind="tone", freq=330.0, inst_class="Guitar", name="Acoustic Guitar (steel)"),
    StemSpec(48, kind="tone", freq=440.0, inst_class="Strings", name="String Ensemble 1"),
    StemSpec(61, kind="noise", inst_class="Brass", name="Brass Section"),
    StemSpec(103, rendered=False, inst_class="Sound Effects", name="FX 8 (sci-fi)"),
]


def small_corpus_specs() -> list[TrackSpec]:
    """Six pieces over train/validation/test with varied groups."""
    return [
        TrackSpec("Track00001", "train", FULL_STEMS, seed=1),
        TrackSpec(
            "Track00002",
            "train",
            [
                StemSpec(128, True, "clicks", inst_class="Drums", name="Drums"),
                StemSpec(35, kind="tone", freq=65.0, inst_class="Bass"),
                StemSpec(80, kind="noise", inst_class="Synth Lead", name="Lead 1 (square)"),
            ],
            seed=2,
        ),
        TrackSpec(
            "Track00003",
            "train",
            [
                StemSpec(1, kind="tone", freq=294.0),
                StemSpec(26, kind="silent", inst_class="Guitar"),  # rendered but silent
            ],
            seed=3,
        ),
        TrackSpec("Track00004", "validation", FULL_STEMS[:3], seed=4),
        TrackSpec("Track00005", "test", FULL_STEMS[1:5], seed=5),
        TrackSpec("Track00006", "test", FULL_STEMS[:2], seed=6),
    ]


@pytest.fixture(scope="session")
def slakh_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mirdata-style data home holding ``slakh2100_flac_redux`` with six pieces."""
    home = tmp_path_factory.mktemp("slakh_home")
    root = home / "slakh2100_flac_redux"
    for spec in small_corpus_specs():
        write_track(root, spec)
    return home


@pytest.fixture
def fresh_corpus(tmp_path: Path):
    """Factory: write the given pieces into a new folder and return the corpus root."""

    def make(specs: list[TrackSpec], name: str = "corpus", fmt: str = "flac") -> Path:
        root = tmp_path / name
        for spec in specs:
            write_track(root, spec, fmt=fmt)
        return root

    return make


@pytest.fixture(scope="session")
def slakh_kit():
    """The helpers above, for tests (importing ``conftest`` by name is fragile)."""
    import types

    return types.SimpleNamespace(
        StemSpec=StemSpec,
        TrackSpec=TrackSpec,
        FULL_STEMS=FULL_STEMS,
        write_track=write_track,
        render_stem=render_stem,
        small_corpus_specs=small_corpus_specs,
    )
