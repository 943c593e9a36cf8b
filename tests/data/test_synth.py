"""The synthetic corpus generator: Slakh layout, mirdata compatibility, exact mixes, determinism."""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

pytest.importorskip("fluidsynth")
pytest.importorskip("pretty_midi")

from instsim.data import compose as C
from instsim.data import synth as S
from instsim.errors import ConfigError, DatasetError

pytestmark = pytest.mark.skipif(
    not Path(S.DEFAULT_SOUNDFONT).is_file(), reason="default soundfont not installed"
)

SR = 22050
SECONDS = 5.0
N_SONGS = 4
SLAKH_TOP_KEYS = {
    "UUID",
    "audio_dir",
    "lmd_midi_dir",
    "midi_dir",
    "normalization_factor",
    "normalized",
    "overall_gain",
    "stems",
    "target_peak",
}
SLAKH_STEM_KEYS = {
    "audio_rendered",
    "inst_class",
    "integrated_loudness",
    "is_drum",
    "midi_program_name",
    "midi_saved",
    "plugin_name",
    "program_num",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> S.CorpusSummary:
    out = tmp_path_factory.mktemp("synth") / "slakh_synth"
    seen = []
    summary = S.synthesize_corpus(
        out, N_SONGS, seconds=SECONDS, seed=3, sample_rate=SR, workers=1, progress=seen.append
    )
    assert [t.track_id for t in sorted(seen, key=lambda t: t.index)] == [
        t.track_id for t in summary.tracks
    ]
    return summary


def _tracks(out: Path) -> list[Path]:
    return sorted(out.glob("*/Track*"), key=lambda p: p.name)


def test_layout_and_metadata(corpus: S.CorpusSummary) -> None:
    out = corpus.out_dir
    tracks = _tracks(out)
    # contiguous numbering across splits, in split order, as in Slakh2100
    assert [p.name for p in tracks] == [f"Track{i:05d}" for i in range(1, N_SONGS + 1)]
    assert [p.parent.name for p in tracks] == ["train", "train", "validation", "test"]
    info = json.loads((out / "corpus.json").read_text())
    assert info["splits"] == {
        "train": ["Track00001", "Track00002"],
        "validation": ["Track00003"],
        "test": ["Track00004"],
    }
    assert (info["seed"], info["seconds"], info["sample_rate"]) == (3, SECONDS, SR)
    assert info["soundfont"] == str(Path(S.DEFAULT_SOUNDFONT).resolve())
    assert info["instsim_version"] and info["subtype"] == "PCM_16"
    for track in tracks:
        meta = yaml.safe_load((track / "metadata.yaml").read_text())
        assert SLAKH_TOP_KEYS <= set(meta)
        assert meta["audio_dir"] == "stems" and meta["midi_dir"] == "MIDI"
        assert meta["normalized"] is True and meta["target_peak"] == -1.0
        assert len(meta["UUID"]) == 32
        stems = meta["stems"]
        assert sorted(stems) == [f"S{i:02d}" for i in range(len(stems))]
        assert sorted(p.stem for p in (track / "stems").glob("*.flac")) == sorted(stems)
        assert sorted(p.stem for p in (track / "MIDI").glob("*.mid")) == sorted(stems)
        assert (track / "all_src.mid").is_file() and (track / "mix.flac").is_file()
        for sid, st in stems.items():
            assert SLAKH_STEM_KEYS <= set(st), sid
            assert st["audio_rendered"] is True and st["midi_saved"] is True
            if st["is_drum"]:
                assert st["program_num"] == 128 and st["inst_class"] == "Drums"
                assert st["midi_program_name"] == "Drums"
            else:
                assert 0 <= st["program_num"] < 112
                assert st["inst_class"] == C.GM_FAMILIES[st["program_num"] // 8]
            assert st["plugin_name"].startswith("FluidR3_GM.sf2")
            assert math.isfinite(st["integrated_loudness"])
            render = st["render"]  # the augmentation is recorded
            assert {"reverb", "chorus", "eq", "reverb_send", "chorus_send"} <= set(render)
        info_song = meta["instsim"]
        assert info_song["song_seed"] == [3, int(track.name[5:]) - 1]


def test_mirdata_slakh_loader_reads_the_corpus(corpus: S.CorpusSummary) -> None:
    mirdata = pytest.importorskip("mirdata")
    out = corpus.out_dir
    root = out.name
    index: dict = {"version": "2100-redux", "tracks": {}, "multitracks": {}}
    for track in _tracks(out):
        rel = f"{root}/{track.parent.name}/{track.name}"
        stems = sorted(p.stem for p in (track / "stems").glob("*.flac"))
        for sid in stems:
            index["tracks"][f"{track.name}-{sid}"] = {
                "audio": [f"{rel}/stems/{sid}.flac", None],
                "midi": [f"{rel}/MIDI/{sid}.mid", None],
                "metadata": [f"{rel}/metadata.yaml", None],
            }
        index["multitracks"][track.name] = {
            "tracks": [f"{track.name}-{sid}" for sid in stems],
            "mix": [f"{rel}/mix.flac", None],
            "midi": [f"{rel}/all_src.mid", None],
            "metadata": [f"{rel}/metadata.yaml", None],
        }
    ds = mirdata.initialize("slakh", data_home=str(out.parent), version="2100-redux")
    ds._index = index  # mirdata caches the index on the instance; no download needed

    for track in _tracks(out):
        mt = ds.multitrack(track.name)
        assert mt.split == track.parent.name
        assert mt.normalized is True and 0 < mt.overall_gain
        meta = yaml.safe_load((track / "metadata.yaml").read_text())
        assert mt.uuid == meta["UUID"]
        for tid, t in mt.tracks.items():
            st = meta["stems"][tid.split("-")[1]]
            assert t.instrument == st["inst_class"]
            assert t.program_number == st["program_num"]
            assert t.is_drum == st["is_drum"]
            # mirdata's mixing group (drums/bass/piano/guitar or None) agrees with ours
            assert (t.mixing_group or "others") == st["mixing_group"]
            assert len(t.midi.instruments) == 1
            assert len(t.midi.instruments[0].notes) == st["part"]["n_notes"]
        y, sr = mt.audio
        assert sr == SR and y.shape[-1] == round(SECONDS * SR)
        assert len(mt.midi.instruments) == len(mt.tracks)
    mt = ds.multitrack("Track00001")
    submixes, groups = mt.get_submix_by_group(["drums", "bass", "piano", "guitar"])
    listed = [tid for ids in groups.values() for tid in ids]
    assert sorted(listed) == sorted(mt.tracks)
    for g, ids in groups.items():  # enforce_length=True inside: all stems have one length
        assert (submixes[g] is None) == (not ids)
        if ids:
            assert submixes[g].shape == (1, round(SECONDS * SR))


def test_stems_sum_to_mix_and_nothing_clips(corpus: S.CorpusSummary) -> None:
    n = round(SECONDS * SR)
    for track in _tracks(corpus.out_dir):
        mix, sr = sf.read(track / "mix.flac", dtype="float64")
        assert sr == SR and mix.shape == (n,)
        assert sf.info(str(track / "mix.flac")).subtype == "PCM_16"
        total = np.zeros(n)
        peaks = [np.abs(mix).max()]
        for p in sorted((track / "stems").glob("*.flac")):
            y, sr = sf.read(p, dtype="float64")
            assert sr == SR and y.shape == (n,)  # every stem exactly `seconds` long
            assert np.abs(y).max() > 1e-3  # no silent stem
            peaks.append(np.abs(y).max())
            total += y
        # the mix is the integer sum of the 16-bit stems: equal to within one LSB
        assert np.abs(total - mix).max() <= 1.0 / 32768
        # one gain for all: the loudest of the mix and the stems peaks at -1 dBFS
        assert 20 * np.log10(max(peaks)) == pytest.approx(S.TARGET_PEAK_DB, abs=0.01)


def test_song_is_deterministic_and_in_memory_matches_files(corpus: S.CorpusSummary) -> None:
    track = corpus.tracks[0]
    song = S.synthesize_song((3, track.index), SECONDS, None, SR)
    again = S.synthesize_song((3, track.index), SECONDS, None, SR)
    assert song.mix.tobytes() == again.mix.tobytes()
    for name, stem in song.stems.items():
        assert stem.audio.dtype == np.float32 and stem.audio.shape == song.mix.shape
        assert stem.audio.tobytes() == again.stems[name].audio.tobytes()
        on_disk, _ = sf.read(track.path / "stems" / f"{name}.flac", dtype="float32")
        assert np.array_equal(on_disk, stem.audio)
    meta = yaml.safe_load((track.path / "metadata.yaml").read_text())
    assert meta == yaml.safe_load(yaml.safe_dump(song.metadata))


def test_workers_do_not_change_the_corpus(corpus: S.CorpusSummary, tmp_path: Path) -> None:
    out = tmp_path / "parallel"
    summary = S.synthesize_corpus(out, N_SONGS, seconds=SECONDS, seed=3, sample_rate=SR, workers=2)
    assert summary.splits == corpus.splits
    for a, b in zip(_tracks(corpus.out_dir), _tracks(out)):
        assert a.relative_to(corpus.out_dir) == b.relative_to(out)
        assert (a / "metadata.yaml").read_bytes() == (b / "metadata.yaml").read_bytes()
        assert (a / "all_src.mid").read_bytes() == (b / "all_src.mid").read_bytes()
        for f in ["mix.flac", *(f"stems/{p.name}" for p in (a / "stems").glob("*.flac"))]:
            assert np.array_equal(
                sf.read(a / f, dtype="int16")[0], sf.read(b / f, dtype="int16")[0]
            ), f


def test_songs_differ(corpus: S.CorpusSummary) -> None:
    metas = [yaml.safe_load((t.path / "metadata.yaml").read_text()) for t in corpus.tracks]
    tempos = {m["instsim"]["score"]["tempo_bpm"] for m in metas}
    patches = {tuple(sorted(s["program_num"] for s in m["stems"].values())) for m in metas}
    assert len(tempos) == len(metas) and len(patches) == len(metas)


def test_segments_resemble_their_own_song() -> None:
    """3 s segments: the nearest other segment (log band spectrum) mostly comes from the same song."""
    sr, seg = 16000, 3 * 16000

    def profile(y: np.ndarray) -> np.ndarray:  # log power in 24 log-spaced bands: mean and std
        frames = y[: len(y) // 1024 * 1024].reshape(-1, 1024) * np.hanning(1024)
        power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
        freqs = np.fft.rfftfreq(1024, 1 / sr)
        edges = np.geomspace(100, sr / 2, 25)
        bands = [
            power[:, (freqs >= lo) & (freqs < hi)].mean(axis=1)
            for lo, hi in itertools.pairwise(edges)
        ]
        logb = np.log10(np.stack(bands, axis=1) + 1e-10)
        return np.concatenate([logb.mean(axis=0), logb.std(axis=0)])

    feats, labels = [], []
    for k in range(4):
        mix = S.synthesize_song((21, k), 12.0, None, sr).mix
        for s in range(4):
            feats.append(profile(mix[s * seg : (s + 1) * seg]))
            labels.append(k)
    x, lab = np.array(feats), np.array(labels)
    dist = np.linalg.norm(x[:, None] - x[None], axis=2)
    np.fill_diagonal(dist, np.inf)
    assert (lab[dist.argmin(axis=1)] == lab).mean() >= 0.75


def test_group_coverage_and_patch_pools() -> None:
    seen_groups, missing_piano_or_guitar, programs = set(), 0, set()
    n = 60
    for k in range(n):
        score = C.compose((11, k), 8.0)
        groups = {p.group for p in score.parts}
        seen_groups |= groups
        assert "piano" in groups or "guitar" in groups  # never both absent
        missing_piano_or_guitar += not ({"piano", "guitar"} <= groups)
        for p in score.parts:
            assert p.notes, p.name
            if p.is_drum:
                assert p.program in C.DRUM_KITS
                continue
            programs.add(p.program)
            expected = {"bass": range(32, 40), "piano": range(8), "guitar": range(24, 32)}
            assert p.program in expected.get(p.group, [*range(8, 24), *range(40, 112)])
            assert all(0 <= q[2] < 128 and 0 < q[3] < 128 and q[0] < q[1] <= 8.0 for q in p.notes)
    assert seen_groups == {"drums", "bass", "piano", "guitar", "others"}
    assert 0.2 * n <= missing_piano_or_guitar <= 0.65 * n
    assert len(programs) > 40  # many different patches
    pooled = set().union(*C.ROLE_PROGRAMS.values())
    assert pooled == set(range(8, 24)) | set(range(40, 112))


def test_a_longer_song_starts_like_the_shorter_one() -> None:
    short, long = C.compose((5, 1), 6.0), C.compose((5, 1), 20.0)
    assert short.tempo == long.tempo and [p.program for p in short.parts] == [
        p.program for p in long.parts
    ]
    compared = 0
    for a, b in zip(short.parts, long.parts):
        if a.sections == b.sections:  # (a late entry can be cancelled in a short song)
            early = [n for n in b.notes if n[1] < 5.0]
            assert [n for n in a.notes if n[1] < 5.0] == early
            compared += 1
    assert compared >= 3


def test_split_counts() -> None:
    assert S._split_counts(10, (0.8, 0.1, 0.1)) == [8, 1, 1]
    assert S._split_counts(3, (0.8, 0.1, 0.1)) == [1, 1, 1]
    assert S._split_counts(1, (0.8, 0.1, 0.1)) == [1, 0, 0]
    assert S._split_counts(600, (0.8, 0.1, 0.1)) == [480, 60, 60]
    assert S._split_counts(7, (1.0, 0.0, 0.0)) == [7, 0, 0]


def test_loudness_of_a_full_scale_sine_is_minus_3_lufs() -> None:
    sr = 48000
    t = np.arange(5 * sr) / sr
    assert S.integrated_loudness(np.sin(2 * np.pi * 997 * t), sr) == pytest.approx(-3.01, abs=0.05)
    assert S.integrated_loudness(0.1 * np.sin(2 * np.pi * 997 * t), sr) == pytest.approx(
        -23.01, abs=0.05
    )
    assert S.integrated_loudness(np.zeros(sr), sr) == -math.inf


def test_resume_extend_and_folder_rules(corpus: S.CorpusSummary, tmp_path: Path) -> None:
    out = tmp_path / "c"
    first = S.synthesize_corpus(
        out, 2, seconds=2.0, seed=1, sample_rate=16000, split_fractions=(1, 0, 0)
    )
    mtime = (out / "train" / "Track00001" / "mix.flac").stat().st_mtime_ns
    again = S.synthesize_corpus(
        out, 2, seconds=2.0, seed=1, sample_rate=16000, split_fractions=(1, 0, 0)
    )
    assert again.n_skipped == 2 and again.n_rendered == 0
    assert [t.groups for t in again.tracks] == [t.groups for t in first.tracks]
    assert (out / "train" / "Track00001" / "mix.flac").stat().st_mtime_ns == mtime
    more = S.synthesize_corpus(
        out, 1, seconds=2.0, seed=1, sample_rate=16000, split_fractions=(0, 0, 1), start_index=2
    )
    assert more.splits == {
        "train": ["Track00001", "Track00002"],
        "validation": [],
        "test": ["Track00003"],
    }
    assert json.loads((out / "corpus.json").read_text())["n_tracks"] == 3

    with pytest.raises(DatasetError, match="other parameters: seed=1"):
        S.synthesize_corpus(out, 1, seconds=2.0, seed=2, sample_rate=16000)
    with pytest.raises(DatasetError, match="already exists in 'train'"):
        S.synthesize_corpus(
            out, 1, seconds=2.0, seed=1, sample_rate=16000, split_fractions=(0, 0, 1)
        )
    other = tmp_path / "not_a_corpus"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="not empty and is not an instsim corpus"):
        S.synthesize_corpus(other, 1, seconds=2.0, sample_rate=16000)
    S.synthesize_corpus(other, 1, seconds=2.0, sample_rate=16000, overwrite=True)
    assert (other / "notes.txt").read_text() == "keep me"
    assert (other / "train" / "Track00001" / "metadata.yaml").is_file()


def test_bad_inputs_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        S.check_soundfont(tmp_path / "missing.sf2")
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"RIFF\0\0\0\0WAVEfmt ")
    with pytest.raises(ConfigError, match="not a SoundFont 2"):
        S.synthesize_song(0, 1.0, fake)
    with pytest.raises(ConfigError, match="n_songs"):
        S.synthesize_corpus(tmp_path / "x", 0)
    with pytest.raises(ConfigError, match="split_fractions"):
        S.synthesize_corpus(tmp_path / "x", 2, split_fractions=(0.5, 0.1, 0.1))
    with pytest.raises(ConfigError, match="sample_rate"):
        S.synthesize_song(0, 1.0, None, 4000)
    with pytest.raises(ConfigError, match="seconds"):
        S.synthesize_song(0, -1.0)
    with pytest.raises(ConfigError, match="song_seed"):
        S.synthesize_song((1, -2), 1.0)
    with pytest.raises(ConfigError, match="seed"):
        S.synthesize_corpus(tmp_path / "x", 1, seed=-1)
    assert not (tmp_path / "x").exists()


def test_cli_synth(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from instsim.cli import main

    out = tmp_path / "cli"
    args = ["synth", "--out", str(out), "--songs", "2", "--seconds", "2", "--sr", "16000"]
    res = CliRunner().invoke(main, [*args, "--workers", "1", "--seed", "4"])
    assert res.exit_code == 0, res.output
    # two songs cannot fill three splits: both go to train
    assert "wrote 2 track(s)" in res.output and "train 2, validation 0, test 0" in res.output
    assert json.loads((out / "corpus.json").read_text())["seed"] == 4

    res = CliRunner().invoke(main, [*args, "--soundfont", str(tmp_path / "nope.sf2")])
    assert res.exit_code == 2 and "nope.sf2" in res.output and "Traceback" not in res.output

    two = ["--soundfont", S.DEFAULT_SOUNDFONT, "--soundfont", S.DEFAULT_SOUNDFONT]
    res = CliRunner().invoke(main, [*args[:2], str(tmp_path / "two"), *args[3:], *two])
    assert res.exit_code == 2 and "listed twice" in res.output

    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.txt").write_text("x")
    res = CliRunner().invoke(main, ["synth", "--out", str(tmp_path / "busy"), "--songs", "1"])
    assert res.exit_code == 2 and "--overwrite" in res.output


TIMGM = "/usr/share/sounds/sf2/TimGM6mb.sf2"  # held out from training; fine to test rendering


@pytest.mark.skipif(not Path(TIMGM).is_file(), reason="timgm6mb-soundfont not installed")
def test_several_soundfonts_share_the_parts(corpus: S.CorpusSummary, tmp_path: Path) -> None:
    fonts = [S.DEFAULT_SOUNDFONT, TIMGM]
    used = set()
    for k in range(3):
        song = S.synthesize_song((3, k), 2.0, fonts, SR)
        again = S.synthesize_song((3, k), 2.0, fonts, SR)
        assert song.mix.tobytes() == again.mix.tobytes()
        assert song.metadata["instsim"]["soundfont"] == ["FluidR3_GM.sf2", "TimGM6mb.sf2"]
        used |= {m["plugin_name"].split(":")[0] for m in song.metadata["stems"].values()}
        # the parts stay the same music: same programs as with one soundfont
        one = S.synthesize_song((3, k), 2.0, None, SR)
        assert [m["program_num"] for m in song.metadata["stems"].values()] == [
            m["program_num"] for m in one.metadata["stems"].values()
        ]
    assert used == {"FluidR3_GM.sf2", "TimGM6mb.sf2"}
    # a list of one is the single-soundfont corpus, bit for bit
    track = corpus.tracks[0]
    alone = S.synthesize_song((3, track.index), SECONDS, [S.DEFAULT_SOUNDFONT], SR)
    on_disk, _ = sf.read(track.path / "mix.flac", dtype="float32")
    assert np.array_equal(alone.mix, on_disk)
    # the corpus records the list, and resuming with another list is refused
    out = tmp_path / "two"
    S.synthesize_corpus(out, 1, seconds=1.0, seed=1, sample_rate=SR, soundfont=fonts)
    info = json.loads((out / "corpus.json").read_text())
    assert info["soundfont_name"] == ["FluidR3_GM.sf2", "TimGM6mb.sf2"]
    with pytest.raises(DatasetError, match="soundfont"):
        S.synthesize_corpus(out, 1, seconds=1.0, seed=1, sample_rate=SR, soundfont=fonts[:1])
    with pytest.raises(ConfigError, match="listed twice"):
        S.check_soundfonts([TIMGM, TIMGM])
    with pytest.raises(ConfigError, match="empty list"):
        S.check_soundfonts([])


def test_import_is_light() -> None:
    code = (
        "import sys, instsim.data.synth, instsim.data.compose;"
        "print(','.join(m for m in ('fluidsynth', 'pretty_midi', 'mirdata', 'torch', 'scipy') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.strip() == ""


# --- drum-kit-only SoundFonts (Debian's avldrums.lv2-soundfont: one kit at bank 0 preset 0)

AVLDRUMS = (
    "/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2",
    "/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2",
)
AVL_NAMES = {
    "Black_Pearl_4_LV2.sf2": "Black_Pearl_4pc",
    "Red_Zeppelin_4_LV2.sf2": "Red_Zeppelin_4pc",
}
needs_avldrums = pytest.mark.skipif(
    not all(Path(p).is_file() for p in AVLDRUMS), reason="avldrums.lv2-soundfont not installed"
)


def _fluidsynth_version() -> str:
    import ctypes

    import fluidsynth

    fn = fluidsynth._fl.fluid_version_str
    fn.restype = ctypes.c_char_p
    return fn().decode()


def _song_digest(song: S.Song) -> str:
    import hashlib

    h = hashlib.sha256()
    for name in sorted(song.stems):
        h.update(name.encode())
        h.update(song.stems[name].metadata["plugin_name"].encode())
        h.update(S._pcm16(song.stems[name].audio).tobytes())
    h.update(S._pcm16(song.mix).tobytes())
    return h.hexdigest()


@pytest.mark.skipif(not Path(TIMGM).is_file(), reason="timgm6mb-soundfont not installed")
def test_output_without_kit_soundfonts_is_pinned() -> None:
    """Songs without kit SoundFonts, bit for bit as the generator wrote them before kits existed.

    The digests were taken with FluidSynth 2.3.1 (Debian 12) before ``kit_soundfonts``
    was added; another FluidSynth may round differently, so the digests are only compared
    there. Update them only for an intended change of the corpus.
    """
    fonts = [S.DEFAULT_SOUNDFONT, TIMGM]
    cases = [
        ((3, 0), None, "97f7ea840d3521ec2a1395a64c731d32bd64ea9a7aaba1d8a8570425fcd57209"),
        ((3, 1), fonts, "0703f1e2330b078f6dbc31a6e9657ca60abaf859550d6b43c2cb7cf3f034fb2a"),
    ]
    for seed, sf2, _ in cases:  # no kit SoundFont, an empty list and None: the same song
        song = S.synthesize_song(seed, 3.0, sf2, SR, kit_soundfonts=[])
        assert "kit_soundfont" not in song.metadata["instsim"]
        assert _song_digest(song) == _song_digest(S.synthesize_song(seed, 3.0, sf2, SR))
    if _fluidsynth_version() != "2.3.1":
        pytest.skip(f"digests recorded with FluidSynth 2.3.1, not {_fluidsynth_version()}")
    for seed, sf2, digest in cases:
        assert _song_digest(S.synthesize_song(seed, 3.0, sf2, SR)) == digest, (seed, sf2)


@needs_avldrums
def test_kit_soundfonts_render_some_drum_parts() -> None:
    drum_fonts = set()
    for k in range(4):
        song = S.synthesize_song((3, k), 4.0, None, SR, kit_soundfonts=AVLDRUMS)
        plain = S.synthesize_song((3, k), 4.0, None, SR)
        assert song.metadata["instsim"]["soundfont"] == "FluidR3_GM.sf2"
        assert song.metadata["instsim"]["kit_soundfont"] == list(AVL_NAMES)
        # the same music: only the drum timbre may change
        assert [m["program_num"] for m in song.metadata["stems"].values()] == [
            m["program_num"] for m in plain.metadata["stems"].values()
        ]
        for name, stem in song.stems.items():
            meta, render = stem.metadata, stem.metadata["render"]
            font, preset = meta["plugin_name"].split(":", 1)
            if not meta["is_drum"]:
                assert font == "FluidR3_GM.sf2"  # never a kit SoundFont
                continue
            drum_fonts.add(font)
            assert meta["program_num"] == 128 and meta["inst_class"] == "Drums"
            if font == "FluidR3_GM.sf2":
                assert render["bank"] == 128 and "kit_note_map" not in render
                assert np.array_equal(stem.audio, plain.stems[name].audio)
                continue
            assert preset == AVL_NAMES[font] and (render["bank"], render["preset"]) == (0, 0)
            assert render["kit_note_map"] == {35: 36}
            # FluidSynth really played the bank-0 kit on the drum channel: not silent ...
            assert np.abs(stem.audio).max() > 0.1 and math.isfinite(meta["integrated_loudness"])
            # ... and not FluidR3's kit
            other = plain.stems[name].audio
            assert abs(np.corrcoef(stem.audio, other)[0, 1]) < 0.5
    assert drum_fonts == {"FluidR3_GM.sf2", *AVL_NAMES}  # the draw uses all three
    # determinism: the same seed gives the same song
    a = S.synthesize_song((3, 1), 4.0, None, SR, kit_soundfonts=AVLDRUMS)
    b = S.synthesize_song((3, 1), 4.0, None, SR, kit_soundfonts=list(AVLDRUMS))
    assert _song_digest(a) == _song_digest(b)
    assert a.metadata == b.metadata


@needs_avldrums
def test_kit_soundfonts_in_the_corpus(corpus: S.CorpusSummary, tmp_path: Path) -> None:
    out = tmp_path / "kits"
    kw = {"seconds": 4.0, "seed": 3, "sample_rate": SR, "split_fractions": (1, 0, 0)}
    S.synthesize_corpus(out, 3, kit_soundfonts=AVLDRUMS, **kw)
    info = json.loads((out / "corpus.json").read_text())
    assert info["kit_soundfont"] == [str(Path(p).resolve()) for p in AVLDRUMS]
    assert info["kit_soundfont_name"] == list(AVL_NAMES)
    plugins = []
    for k, track in enumerate(_tracks(out)):
        meta = yaml.safe_load((track / "metadata.yaml").read_text())
        assert meta["instsim"]["kit_soundfont"] == list(AVL_NAMES)
        plugins += [s["plugin_name"] for s in meta["stems"].values() if s["is_drum"]]
        # the files hold exactly the in-memory song
        song = S.synthesize_song((3, k), 4.0, None, SR, kit_soundfonts=AVLDRUMS)
        for name, stem in song.stems.items():
            on_disk, _ = sf.read(track / "stems" / f"{name}.flac", dtype="float32")
            assert np.array_equal(on_disk, stem.audio), (track.name, name)
    assert "Black_Pearl_4_LV2.sf2:Black_Pearl_4pc" in plugins
    # resuming needs the same kit SoundFonts; others (or none) make another corpus
    again = S.synthesize_corpus(out, 3, kit_soundfonts=AVLDRUMS, **kw)
    assert again.n_skipped == 3
    with pytest.raises(DatasetError, match="kit_soundfont="):
        S.synthesize_corpus(out, 3, kit_soundfonts=AVLDRUMS[:1], **kw)
    with pytest.raises(DatasetError, match="kit_soundfont="):
        S.synthesize_corpus(out, 3, **kw)
    with pytest.raises(DatasetError, match="kit_soundfont=None"):  # a corpus made without kits
        S.synthesize_corpus(
            corpus.out_dir,
            N_SONGS,
            seconds=SECONDS,
            seed=3,
            sample_rate=SR,
            kit_soundfonts=AVLDRUMS,
        )
    assert "kit_soundfont" not in json.loads((corpus.out_dir / "corpus.json").read_text())


@needs_avldrums
def test_a_kit_soundfont_plays_on_the_drum_channel() -> None:
    """Its bank-0 kit sounds on channel 9, kick 35 included (played as 36)."""
    n = SR
    fx = S._draw_effects(np.random.default_rng(0), "drums")
    fx["reverb"]["level"], fx["chorus"]["level"] = 0.0, 0.0
    for key in (35, 36, 38, 42):
        part = C.Part("drums", "drums", "groove", 0, True, [(0.1, 0.3, key, 100)], index=0)
        y, patch = S._render_part(part, fx, AVLDRUMS[0], SR, n, kit=True)
        assert patch == {
            "bank": 0,
            "preset": 0,
            "preset_name": "Black_Pearl_4pc",
            "kit_note_map": {35: 36},
        }
        assert np.abs(y[: round(0.1 * SR)]).max() == 0.0  # nothing before the note
        assert np.abs(y).max() > 0.01, key
        ref, ref_patch = S._render_part(part, fx, S.DEFAULT_SOUNDFONT, SR, n)
        assert ref_patch["bank"] == 128 and "kit_note_map" not in ref_patch
        assert abs(np.corrcoef(y, ref)[0, 1]) < 0.5, key  # not FluidR3's kit


def _empty_sf2() -> bytes:
    """A well-formed SoundFont 2 file without any preset (terminal records only)."""
    import struct

    def chunk(tag: bytes, data: bytes) -> bytes:
        return tag + struct.pack("<I", len(data)) + data

    def rec(name: bytes, size: int) -> bytes:
        return name.ljust(20, b"\0") + b"\0" * (size - 20)

    info = chunk(b"LIST", b"INFO" + chunk(b"ifil", struct.pack("<HH", 2, 1))
                 + chunk(b"isng", b"EMU8000\0") + chunk(b"INAM", b"empty\0\0\0"))  # fmt: skip
    sdta = chunk(b"LIST", b"sdta" + chunk(b"smpl", b"\0" * 92))
    pdta = chunk(b"LIST", b"pdta" + b"".join([
        chunk(b"phdr", rec(b"EOP", 38)), chunk(b"pbag", b"\0" * 4), chunk(b"pmod", b"\0" * 10),
        chunk(b"pgen", b"\0" * 4), chunk(b"inst", rec(b"EOI", 22)), chunk(b"ibag", b"\0" * 4),
        chunk(b"imod", b"\0" * 10), chunk(b"igen", b"\0" * 4), chunk(b"shdr", rec(b"EOS", 46)),
    ]))  # fmt: skip
    return chunk(b"RIFF", b"sfbk" + info + sdta + pdta)


@needs_avldrums
def test_bad_kit_soundfonts_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'kit_soundfont'.*missing\.sf2.*does not exist"):
        S.synthesize_song(0, 1.0, None, SR, kit_soundfonts=[tmp_path / "missing.sf2"])
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"RIFF\0\0\0\0WAVEfmt ")
    with pytest.raises(ConfigError, match="fake.sf2.*not a SoundFont 2"):
        S.check_kit_soundfonts(fake)
    empty = tmp_path / "empty.sf2"
    empty.write_bytes(_empty_sf2())
    with pytest.raises(ConfigError, match="empty.sf2.*holds no preset"):
        S.check_kit_soundfonts([AVLDRUMS[0], empty], SR)
    with pytest.raises(ConfigError, match="listed twice"):
        S.check_kit_soundfonts([AVLDRUMS[0], AVLDRUMS[0]])
    with pytest.raises(ConfigError, match="both as SoundFont and as kit SoundFont"):
        S.synthesize_song(0, 1.0, None, SR, kit_soundfonts=[S.DEFAULT_SOUNDFONT])
    assert S.check_kit_soundfonts(None) == [] and S.check_kit_soundfonts([]) == []
    assert S.check_kit_soundfonts(AVLDRUMS[1], SR) == [Path(AVLDRUMS[1]).resolve()]
    with pytest.raises(ConfigError, match="kit_soundfont"):
        S.synthesize_corpus(tmp_path / "x", 1, kit_soundfonts=[empty])
    assert not (tmp_path / "x").exists()


@needs_avldrums
def test_cli_kit_soundfont(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from instsim.cli import main

    out = tmp_path / "cli"
    args = ["synth", "--out", str(out), "--songs", "2", "--seconds", "4", "--sr", str(SR)]
    kits = [a for p in AVLDRUMS for a in ("--kit-soundfont", p)]
    res = CliRunner().invoke(main, [*args, "--workers", "1", "--seed", "3", *kits])
    assert res.exit_code == 0, res.output
    info = json.loads((out / "corpus.json").read_text())
    assert info["kit_soundfont_name"] == list(AVL_NAMES)
    meta = yaml.safe_load((out / "train" / "Track00002" / "metadata.yaml").read_text())
    drums = [s for s in meta["stems"].values() if s["is_drum"]]
    assert [s["plugin_name"] for s in drums] == ["Black_Pearl_4_LV2.sf2:Black_Pearl_4pc"]

    bad = ["--kit-soundfont", str(tmp_path / "nope.sf2")]
    res = CliRunner().invoke(main, [*args[:2], str(tmp_path / "bad"), *args[3:], *bad])
    assert res.exit_code == 2 and "nope.sf2" in res.output and "Traceback" not in res.output
    assert "kit_soundfont" in res.output
