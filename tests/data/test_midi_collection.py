"""General MIDI collections: tiny multi-instrument MIDI files written here -> windows -> corpus."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("pretty_midi")

from instsim.data import compose as C
from instsim.data import midi_collection as M
from instsim.errors import ArrangementError, ConfigError, InstsimError, MidiCollectionError
from instsim.instruments import INSTRUMENTS

TEMPO = 120.0  # 2 s a 4/4 bar

# (program, is_drum, name, first second, last second): who plays when
BAND = [
    (16, True, "Drums", 0.0, 40.0),  # the power kit: kept as the kit preset
    (33, False, "Bass", 0.0, 40.0),
    (0, False, "Piano L", 0.0, 40.0),
    (0, False, "Piano R", 8.0, 40.0),  # a second track of one program: merged into "piano"
    (29, False, "Gtr", 8.0, 40.0),
    (48, False, "Strings", 16.0, 40.0),
    (81, False, "Lead", 24.0, 40.0),
]


def write_midi(
    path: Path,
    parts: list[tuple[int, bool, str, float, float]] = BAND,
    *,
    tempo: float = TEMPO,
    numerator: int = 4,
    key: int | None = None,
    seed: int = 0,
) -> Path:
    """A Standard MIDI File: pitched parts play a note every beat, drums every eighth."""
    import pretty_midi

    rng = np.random.default_rng(seed)
    beat = 60.0 / tempo
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(numerator, 4, 0.0))
    if key is not None:
        pm.key_signature_changes.append(pretty_midi.KeySignature(key, 0.0))
    for program, drum, name, t0, t1 in parts:
        inst = pretty_midi.Instrument(program=program, is_drum=drum, name=name)
        step = beat / 2 if drum else beat
        for t in np.arange(t0, t1 - 1e-9, step):
            pitch = int(rng.choice([36, 38, 42])) if drum else int(rng.integers(40, 80))
            dur = 0.05 if drum else step * 0.9
            inst.notes.append(pretty_midi.Note(int(rng.integers(40, 120)), pitch, t, t + dur))
        pm.instruments.append(inst)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


def write_yaml(root: Path, **fields: object) -> Path:
    doc = {"name": root.name, "licence": "CC0-1.0", "source": "https://example.org/tests"}
    doc.update(fields)
    root.mkdir(parents=True, exist_ok=True)
    (root / "collection.yaml").write_text(yaml.safe_dump({k: v for k, v in doc.items()
                                                          if v is not None}))  # fmt: skip
    return root


@pytest.fixture(scope="module")
def coll(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A collection of 9 good files (one in a sub-folder) and the usual bad ones."""
    root = write_yaml(tmp_path_factory.mktemp("c") / "band")
    for i in range(8):
        write_midi(root / f"song{i}.mid", seed=i)
    write_midi(root / "sub" / "deep.MIDI", seed=99)
    (root / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    write_midi(root / "silent.mid", [])
    write_midi(root / "drums.mid", [(0, True, "kit", 0.0, 30.0)])
    write_midi(root / "short.mid", [(33, False, "b", 0.0, 5.0), (0, False, "p", 0.0, 5.0)])
    write_midi(root / "solo.mid", [(0, False, "p", 0.0, 30.0), (4, False, "ep", 0.0, 30.0)])
    (root / "zcopy.mid").write_bytes((root / "song3.mid").read_bytes())
    (root / "notes.txt").write_text("not MIDI: ignored")
    return root


# -- collection.yaml -------------------------------------------------------------


def test_info_fields(tmp_path: Path) -> None:
    root = write_yaml(tmp_path / "x", attribution="  Someone,\n  2024 ", held_out=True)
    info = M.load_info(root)
    assert info.name == "x" and info.licence == "CC0-1.0" and info.held_out
    assert info.attribution == "Someone, 2024" and info.citation is None
    assert info.describe()["held_out"] is True and "citation" not in info.describe()


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"licence": None}, "field 'licence' must be a non-empty string .missing"),
        ({"source": ""}, "field 'source' must be a non-empty string"),
        ({"name": "a b"}, "field 'name' 'a b' may hold letters"),
        ({"held_out": "yes"}, "field 'held_out' must be true or false"),
        ({"licence_url": "x"}, r"unknown field\(s\) \['licence_url'\]; valid"),
    ],
)
def test_info_errors_name_the_file_and_field(tmp_path: Path, fields: dict, match: str) -> None:
    root = write_yaml(tmp_path / "x", **fields)
    with pytest.raises(MidiCollectionError, match=match) as info:
        M.load_info(root)
    assert info.value.path == str(root / "collection.yaml")


def test_missing_or_unreadable_yaml(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(MidiCollectionError, match="collection.yaml.*missing.*name, licence"):
        M.load_info(tmp_path / "x")
    (tmp_path / "x" / "collection.yaml").write_text("name: [unclosed")
    with pytest.raises(MidiCollectionError, match="not readable YAML"):
        M.load_info(tmp_path / "x")
    (tmp_path / "x" / "collection.yaml").write_text("- a list\n")
    with pytest.raises(MidiCollectionError, match="must be a mapping"):
        M.load_info(tmp_path / "x")
    with pytest.raises(MidiCollectionError, match="not a folder"):
        M.load_info(tmp_path / "nope")
    err = MidiCollectionError(tmp_path / "a.mid", "why")
    assert isinstance(err, ArrangementError) and isinstance(err, InstsimError)
    assert isinstance(err, OSError) and str(err).startswith("cannot use MIDI collection")
    back = pickle.loads(pickle.dumps(err))  # crosses worker processes intact
    assert str(back) == str(err) and back.reason == "why" and back.path == err.path


# -- scanning ----------------------------------------------------------------------


def test_scan_skips_bad_files_with_reasons(coll: Path) -> None:
    c = M.scan_collection(coll, 10.0)
    assert c.files == [*(f"song{i}.mid" for i in range(8)), "sub/deep.MIDI"]
    assert c.root == coll.resolve() and c.name == "band"
    why = c.skipped
    assert set(why) == {"corrupt.mid", "silent.mid", "drums.mid", "short.mid", "solo.mid",
                        "zcopy.mid"}  # fmt: skip
    assert "corrupt MIDI file" in why["corrupt.mid"]
    assert why["silent.mid"] == "has no notes"
    assert "drum notes only" in why["drums.mid"]
    assert "under 8 s" in why["short.mid"]
    assert "one instrument group only (piano)" in why["solo.mid"]
    assert why["zcopy.mid"] == "the same bytes as 'song3.mid'"
    assert c.key("sub/deep.MIDI") == "band/sub/deep.MIDI"
    assert c.describe()["n_files"] == 9


def test_scan_skips_files_with_no_window_for_the_length(tmp_path: Path) -> None:
    root = write_yaml(tmp_path / "w")
    # piano and bass for 6 s, a pause, then a lone piano: no 20-s window sounds half the time
    # with two groups (4-s ones do)
    parts = [(0, False, "p", 0.0, 6.0), (33, False, "b", 0.0, 6.0), (0, False, "p2", 26.0, 40.0)]
    write_midi(root / "a.mid", parts)
    write_midi(root / "b.mid", seed=1)
    c = M.scan_collection(root, 20.0)
    assert c.files == ["b.mid"] and "no 20-s window" in c.skipped["a.mid"]
    assert M.scan_collection(root, 4.0).files == ["a.mid", "b.mid"]


def test_a_collection_without_usable_files_is_an_error(tmp_path: Path) -> None:
    root = write_yaml(tmp_path / "bad")
    with pytest.raises(MidiCollectionError, match="holds no MIDI file") as info:
        M.scan_collection(root)
    assert info.value.path == str(root.resolve())
    write_midi(root / "d.mid", [(0, True, "kit", 0.0, 30.0)])
    with pytest.raises(MidiCollectionError, match=r"no usable MIDI file \(1 skipped, e.g. d.mid"):
        M.scan_collection(root)
    with pytest.raises(ConfigError, match="seconds"):
        M.scan_collection(root, -1.0)


# -- windows and scores --------------------------------------------------------------


def test_parts_map_by_general_midi_and_keep_the_real_notes(coll: Path) -> None:
    song = M.load_midi(coll / "song0.mid")
    assert [(g, p, d) for g, p, d, _, _ in song.parts] == [
        ("drums", 16, True), ("bass", 33, False), ("piano", 0, False), ("guitar", 29, False),
        ("others", 48, False), ("others", 81, False)]  # fmt: skip
    assert song.parts[2][3] == ("Piano L", "Piano R")  # two tracks of one program: one part
    score = M.window_score(coll / "song0.mid", [3, 1], 10.0)
    off = score.style["offset_seconds"]
    for part in score.parts:
        src = next(q for q in song.parts if (q[1], q[2]) == (part.program, part.is_drum))
        want = C._fix_overlaps([(round(s - off, 6), round(min(e, off + 10) - off, 6), p, v)
                                for s, e, p, v in src[4] if off - 1e-9 <= s < off + 10])  # fmt: skip
        assert part.notes == want  # real notes and velocities, only shifted
        assert part.group == M.group_of(part.program, part.is_drum)
        assert part.role == "midi-track"
    names = [p.name for p in score.parts]
    assert len(set(names)) == len(names) and "drums" in names
    assert [p.index for p in score.parts] == list(range(len(score.parts)))
    assert score.style["source"] == "midi-collection" and score.style["file"] == "song0.mid"
    assert score.style["collection"] == "band" and score.style["tracks"]["bass"] == ["Bass"]


def test_windows_start_on_downbeats_and_follow_the_seed(coll: Path) -> None:
    import pretty_midi

    path = write_midi(coll.parent / "waltz" / "w.mid", tempo=90.0, numerator=3, key=21)
    write_yaml(coll.parent / "waltz")
    downbeats = pretty_midi.PrettyMIDI(str(path)).get_downbeats()
    offsets = set()
    for k in range(12):
        score = M.window_score(path, [k, 0], 8.0)
        off = score.style["offset_seconds"]
        assert np.min(np.abs(downbeats - off)) < 1e-6
        assert score.tempo == 90.0 and score.beats_per_bar == 3
        assert (
            score.style["time_signature"] == "3/4" and score.style["key_source"] == "key signature"
        )
        assert (score.key, score.mode) == (9, "minor")
        assert all(0 <= s < 8.0 and e <= 8.0 for p in score.parts for s, e, _, _ in p.notes)
        offsets.add(off)
    assert len(offsets) > 4  # the seed picks among many windows
    a = M.window_score(path, [5, 2], 8.0)
    b = M.window_score(path, [5, 2], 8.0)
    assert a == b  # deterministic


def test_windows_have_notes_in_two_groups(tmp_path: Path) -> None:
    root = write_yaml(tmp_path / "g")
    # 0-20 s a lone piano, 20-24 s a pause, 24-44 s piano and bass
    parts = [(0, False, "p", 0.0, 20.0), (0, False, "p2", 24.0, 44.0),
             (33, False, "b", 24.0, 44.0)]  # fmt: skip
    path = write_midi(root / "g.mid", parts)
    song = M.load_midi(path)
    ok = M.windows(song, 8.0)
    assert ok and all(24.0 - 8.0 < o <= 36.0 for o in ok)
    for k in range(10):
        score = M.window_score(path, [k], 8.0)
        assert {p.group for p in score.parts} == {"piano", "bass"}
    # a window over the pause sounds too little: mostly silent windows are never chosen
    quiet = [(0, False, "p", 0.0, 2.0), (33, False, "b", 0.0, 2.0), (0, False, "p2", 30.0, 40.0)]
    song = M.load_midi(write_midi(root / "q.mid", quiet))
    assert M.windows(song, 20.0) == []
    with pytest.raises(MidiCollectionError, match="no 20-s window"):
        M.window_score(root / "q.mid", [0], 20.0)


def test_a_file_shorter_than_the_window_plays_whole(tmp_path: Path) -> None:
    root = write_yaml(tmp_path / "s")
    parts = [(0, False, "p", 3.0, 15.0), (33, False, "b", 3.0, 15.0)]
    path = write_midi(root / "s.mid", parts)
    score = M.window_score(path, [1], 30.0)
    assert score.style["offset_seconds"] == 2.0  # the last downbeat before the first note
    assert score.style["window_seconds"] == pytest.approx(15.0 - 0.5 * 0.1 - 2.0, abs=0.06)
    song = M.load_midi(path)
    assert sum(len(p.notes) for p in score.parts) == sum(len(q[4]) for q in song.parts)
    assert score.seconds == 30.0


def test_estimated_key_without_a_key_signature(tmp_path: Path) -> None:
    import pretty_midi

    root = write_yaml(tmp_path / "k")
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    for program, pitches in ((0, (62, 66, 69)), (33, (38, 45))):  # D major triads, D/A bass
        inst = pretty_midi.Instrument(program=program)
        for i in range(40):
            inst.notes.append(
                pretty_midi.Note(90, pitches[i % len(pitches)], i * 0.5, i * 0.5 + 0.4)
            )
        pm.instruments.append(inst)
    pm.write(str(root / "d.mid"))
    score = M.window_score(root / "d.mid", [0], 10.0)
    assert (score.key, score.mode) == (2, "major") and score.style["key_source"] == "estimated"


def test_a_file_outside_a_collection_is_refused(tmp_path: Path) -> None:
    path = write_midi(tmp_path / "lone.mid")
    with pytest.raises(MidiCollectionError, match="not inside a MIDI collection"):
        M.window_score(path, [0], 5.0)
    with pytest.raises(MidiCollectionError, match="no such MIDI file"):
        M.load_midi(tmp_path / "nope.mid")


# -- splits ----------------------------------------------------------------------------


def test_splits_never_share_a_file(coll: Path, tmp_path: Path) -> None:
    other = write_yaml(tmp_path / "other")
    for i in range(4):
        write_midi(other / f"o{i}.mid", seed=50 + i)
    colls = [M.scan_collection(coll), M.scan_collection(other)]
    pools = M.split_files(colls, (0.6, 0.2, 0.2))
    sets = [set(v) for v in pools.values()]
    assert sum(map(len, sets)) == len(set().union(*sets)) == 13
    assert all(any(f.startswith("other/") for f in s) for s in sets)  # each collection cut alone
    assert M.split_files(colls[::-1], (0.6, 0.2, 0.2)) == pools  # order-free, seed-free
    drawn: dict[str, set[str]] = {}
    for index in range(60):
        split = "train" if index < 40 else "validation" if index < 50 else "test"
        fid = M.draw_file(3, index, split, pools, 1.0)
        assert fid in pools[split]
        drawn.setdefault(split, set()).add(fid)
    assert not drawn["train"] & drawn["test"] and not drawn["validation"] & drawn["test"]
    assert M.draw_file(3, 1, "test", pools, 0.0) is None
    assert M.draw_file(3, 1, "test", {"train": ["a/x.mid"]}, 1.0) is None


def test_draws_share_the_track_lottery_with_pop909() -> None:
    from instsim.data.arrangements import draw_song

    pools = {"train": [f"c/{i}.mid" for i in range(10)]}
    songs = {"train": [f"{i:03d}" for i in range(10)]}
    kinds = {"pop909": 0, "midi": 0, "composed": 0}
    for index in range(400):
        pop = draw_song(1, index, "train", songs, 0.3)
        midi = M.draw_file(1, index, "train", pools, 0.5, arrangement_share=0.3)
        assert pop is None or midi is None  # never both
        kinds["pop909" if pop else "midi" if midi else "composed"] += 1
    assert 90 < kinds["pop909"] < 150 and 160 < kinds["midi"] < 240 and kinds["composed"] > 40
    # with POP909 at share 0 the midi tracks are the first share of the lottery
    alone = [M.draw_file(1, i, "train", pools, 0.5) is not None for i in range(400)]
    assert 160 < sum(alone) < 240


# -- rendering ---------------------------------------------------------------------------


def _needs_synth() -> None:
    pytest.importorskip("fluidsynth")
    from instsim.data import synth as S

    if not Path(S.DEFAULT_SOUNDFONT).is_file():
        pytest.skip("default soundfont not installed")


SR = 8000


def test_shares_are_validated(coll: Path, tmp_path: Path) -> None:
    _needs_synth()
    from instsim.data import synth as S

    with pytest.raises(ConfigError, match="midi_share.*only used with"):
        S.synthesize_corpus(tmp_path / "a", 1, midi_share=0.5)
    with pytest.raises(ConfigError, match=r"midi_share.*\[0, 1\]"):
        S.synthesize_corpus(tmp_path / "a", 1, midi_collections=[coll], midi_share=1.5)
    pop = tmp_path / "pop"
    from tests.data.test_arrangements import write_song

    write_song(pop, "001")
    with pytest.raises(ConfigError, match=r"arrangement_share \(0.7\) \+ midi_share \(0.5\)"):
        S.synthesize_corpus(tmp_path / "a", 1, arrangements=pop, arrangement_share=0.7,
                            midi_collections=[coll])  # fmt: skip
    twin = write_yaml(tmp_path / "twin", name="band")
    write_midi(twin / "t.mid")
    with pytest.raises(ConfigError, match="same name"):
        S.synthesize_corpus(tmp_path / "a", 1, midi_collections=[coll, twin])
    with pytest.raises(ConfigError, match="not both"):
        S.synthesize_song(0, 2.0, sample_rate=SR, arrangement=pop / "001",
                          midi_file=coll / "song0.mid")  # fmt: skip
    assert not (tmp_path / "a").exists()


def test_without_collections_the_corpus_is_unchanged(coll: Path, tmp_path: Path) -> None:
    _needs_synth()
    from instsim.data import synth as S

    kw = {"seconds": 1.5, "seed": 4, "sample_rate": SR, "workers": 1}
    S.synthesize_corpus(tmp_path / "plain", 2, **kw)
    S.synthesize_corpus(tmp_path / "empty", 2, midi_collections=[], **kw)
    # share 0: collections scanned, never drawn: the same songs
    S.synthesize_corpus(tmp_path / "zero", 2, midi_collections=[coll], midi_share=0.0, **kw)
    files = sorted(p.relative_to(tmp_path / "plain") for p in (tmp_path / "plain").rglob("*")
                   if p.is_file() and p.name != "corpus.json")  # fmt: skip
    assert len(files) > 6
    for f in files:
        data = (tmp_path / "plain" / f).read_bytes()
        assert (tmp_path / "empty" / f).read_bytes() == data
        assert (tmp_path / "zero" / f).read_bytes() == data
    plain = json.loads((tmp_path / "plain" / "corpus.json").read_text())
    assert json.loads((tmp_path / "empty" / "corpus.json").read_text()) == plain
    assert not any(k.startswith("midi") for k in plain)
    zero = json.loads((tmp_path / "zero" / "corpus.json").read_text())
    assert zero["midi_tracks"] == {} and zero["midi_share"] == 0.0


def test_held_out_collection_warns_only_in_a_training_corpus(tmp_path: Path) -> None:
    _needs_synth()
    import warnings

    from instsim.data import synth as S

    held = write_yaml(tmp_path / "held", name="held", held_out=True)
    write_midi(held / "h.mid")
    kw = {"seconds": 2.0, "sample_rate": SR, "workers": 1, "midi_collections": [held]}
    with pytest.warns(S.HeldOutDataWarning, match="held-out MIDI collection held.*train split"):
        S.synthesize_corpus(tmp_path / "train", 1, split_fractions=(1, 0, 0), midi_share=1.0, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", S.HeldOutDataWarning)
        S.synthesize_corpus(tmp_path / "test", 1, split_fractions=(0, 0, 1), midi_share=1.0, **kw)
        S.synthesize_corpus(tmp_path / "unused", 1, split_fractions=(1, 0, 0), midi_share=0.0, **kw)


@pytest.mark.slow
def test_corpus_renders_collection_windows(coll: Path, tmp_path: Path) -> None:
    _needs_synth()
    from instsim.data import synth as S

    kw = {"seconds": 4.0, "seed": 2, "sample_rate": SR, "split_fractions": (0.34, 0.33, 0.33),
          "midi_collections": [coll], "midi_share": 1.0}  # fmt: skip
    one = S.synthesize_corpus(tmp_path / "one", 3, workers=1, **kw)
    two = S.synthesize_corpus(tmp_path / "two", 3, workers=2, **kw)
    info = json.loads((tmp_path / "one" / "corpus.json").read_text())
    assert info["midi_collections"] == [str(coll.resolve())] and info["midi_share"] == 1.0
    assert info["midi_collection_info"][0]["licence"] == "CC0-1.0"
    assert set(info["midi_skipped"]) >= {"band/corrupt.mid", "band/zcopy.mid"}
    tracks = info["midi_tracks"]
    assert len(tracks) == 3 and {t.track_id: t.midi_file for t in one.tracks} == tracks
    by_split = {s: {tracks[t] for t in ids} for s, ids in info["splits"].items()}
    assert not by_split["train"] & by_split["test"]
    for t in one.tracks:
        d = tmp_path / "one" / t.split / t.track_id
        meta = yaml.safe_load((d / "metadata.yaml").read_text())
        mc = meta["instsim"]["midi_collection"]
        assert f"band/{mc['file']}" == t.midi_file and mc["licence"] == "CC0-1.0"
        assert mc["held_out"] is False and "grammar" not in meta["instsim"]
        score = meta["instsim"]["score"]
        assert (
            score["tempo_bpm"] == TEMPO and score["style"]["offset_seconds"] == mc["offset_seconds"]
        )
        groups = {s["mixing_group"] for s in meta["stems"].values()}
        assert len(groups) >= 2 and groups <= set(INSTRUMENTS)
        drums = [s for s in meta["stems"].values() if s["is_drum"]]
        assert all(s["render"]["bank"] == 128 for s in drums)
        for f in sorted(d.rglob("*")):  # workers: the same bytes
            if f.is_file():
                assert (
                    tmp_path / "two" / f.relative_to(tmp_path / "one")
                ).read_bytes() == f.read_bytes()
    assert [t.midi_file for t in two.tracks] == [t.midi_file for t in one.tracks]


@pytest.mark.slow
def test_cli_synth_with_a_collection(coll: Path, tmp_path: Path) -> None:
    _needs_synth()
    from click.testing import CliRunner

    from instsim.cli import main

    out = tmp_path / "cli"
    args = ["synth", "--out", str(out), "--songs", "2", "--seconds", "3", "--sr", str(SR),
            "--workers", "1", "--seed", "1", "--splits", "1,0,0", "--midi-collection", str(coll)]  # fmt: skip
    res = CliRunner().invoke(main, [*args, "--midi-share", "1"])
    assert res.exit_code == 0, res.output
    assert "MIDI collections: 2 of 2 track(s)" in res.output and "6 file(s) skipped" in res.output
    assert "checking every MIDI file of" in res.output and "warning" not in res.output
    # the collections and the share are part of the resume key
    again = CliRunner().invoke(main, [*args, "--midi-share", "1"])
    assert again.exit_code == 0 and "0 track(s)" in again.output
    for extra in ([], ["--midi-share", "0.5"]):
        bad = CliRunner().invoke(main, [*args, *extra] if extra else args[:-2])
        assert bad.exit_code == 2 and "midi_" in bad.output, bad.output
    # a held-out collection in a corpus with a train split: a warning
    held = write_yaml(tmp_path / "held", held_out=True)
    write_midi(held / "h.mid")
    res = CliRunner().invoke(main, [*args[:2], str(tmp_path / "h"), *args[3:-1], str(held)])
    assert res.exit_code == 0, res.output
    assert "warning: held-out MIDI collection held in a corpus with a train split" in res.output
    res = CliRunner().invoke(main, [*args[:2], str(tmp_path / "t"), *args[3:14], "0,0,1",
                                    "--midi-collection", str(held)])  # fmt: skip
    assert res.exit_code == 0 and "warning" not in res.output
    # usage errors: exit 2 with the reason
    res = CliRunner().invoke(main, [*args[:2], str(tmp_path / "x"), *args[3:-1], str(tmp_path)])
    assert res.exit_code == 2 and "collection.yaml" in res.output
    res = CliRunner().invoke(main, [*args[:2], str(tmp_path / "y"), *args[3:-2], "--midi-share",
                                    "0.5"])  # fmt: skip
    assert res.exit_code == 2 and "midi_share" in res.output


def test_synth_with_a_collection_without_its_extra_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from click.testing import CliRunner

    from instsim.cli import main

    monkeypatch.setitem(sys.modules, "fluidsynth", None)
    out = tmp_path / "c"
    held = write_yaml(tmp_path / "held", held_out=True)
    r = CliRunner().invoke(main, ["synth", "--out", str(out), "--songs", "1", "--seconds", "2",
                                  "--midi-collection", str(held)])  # fmt: skip
    assert r.exit_code == 2 and "pip install 'instsim[synth]'" in r.output
    assert "warning" not in r.output and not out.exists()
