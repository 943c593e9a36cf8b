"""POP909 arrangements: tiny POP909-format songs written here (no clone needed) -> scores."""

from __future__ import annotations

import importlib.util
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("pretty_midi")

from instsim.data import arrangements as A
from instsim.data import compose as C
from instsim.errors import ArrangementError, ConfigError, InstsimError
from instsim.instruments import INSTRUMENTS

N_BEATS = 48
# (label, beats): two chords a bar, a no-chord bar at the start and one in the middle
PROGRESSION = [("N", 4), ("C:maj", 2), ("A:min7", 2), ("F:maj/3", 2), ("G:7", 2),
               ("E:min/5", 2), ("D:sus4", 2), ("Bb:maj7", 2), ("G:7/b7", 2), ("N", 4),
               ("C#:min", 2), ("Ab:maj", 2), ("Eb:hdim7", 2), ("F#:7", 2), ("C:maj", 4),
               ("A:min", 4), ("F:maj", 4), ("G:sus2", 4)]  # fmt: skip
PCS = {"C": 0, "C#": 1, "D": 2, "Eb": 3, "E": 4, "F": 5, "F#": 6, "G": 7, "Ab": 8, "A": 9,
       "Bb": 10, "B": 11}  # fmt: skip


def beat_times(n: int = N_BEATS) -> np.ndarray:
    """An accelerando: beat periods from 0.6 s down to 0.45 s (100 -> 133 BPM)."""
    periods = np.linspace(0.6, 0.45, n - 1)
    return np.round(0.25 + np.concatenate([[0.0], np.cumsum(periods)]), 6)


def write_song(
    root: Path, sid: str, *, tracks: tuple[str, ...] = ("MELODY", "BRIDGE", "PIANO"), seed: int = 0
) -> Path:
    """A POP909-format song folder: NNN.mid (named tracks) + beat/chord/key annotations."""
    import pretty_midi

    rng = np.random.default_rng(seed)
    d = root / sid
    d.mkdir(parents=True)
    beats = beat_times()
    pm = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=120.0)
    for name in tracks:
        inst = pretty_midi.Instrument(program=0, name=name)
        for i in range(N_BEATS - 1):
            s, e = float(beats[i]), float(beats[i + 1])
            if name == "PIANO":
                root_p = 48 + int(rng.integers(0, 12))
                for p in (root_p, root_p + 4, root_p + 7, root_p + 12):
                    inst.notes.append(pretty_midi.Note(int(rng.integers(50, 90)), p, s, e - 0.02))
            elif name == "MELODY":
                inst.notes.append(pretty_midi.Note(90, int(rng.integers(64, 80)), s, e - 0.05))
            elif i % 2 == 0:
                inst.notes.append(pretty_midi.Note(70, int(rng.integers(55, 67)), s, s + 0.3))
        pm.instruments.append(inst)
    pm.write(str(d / f"{sid}.mid"))
    (d / "beat_midi.txt").write_text(
        "".join(
            f"{float(t)!r} {float(i % 2 == 0)} {float(i % 4 == 0)}\n" for i, t in enumerate(beats)
        )
    )
    lines, k = [], 0
    for label, n in PROGRESSION:
        end = beats[k + n] if k + n < N_BEATS else beats[-1] + 0.45
        lines.append(f"{float(beats[k])!r}\t{float(end)!r}\t{label}\n")
        k += n
    (d / "chord_midi.txt").write_text("".join(lines))
    (d / "key_audio.txt").write_text(f"0.0\t{float(beats[-1]) + 1.0}\tC:maj\n")
    return d


@pytest.fixture(scope="module")
def pop909(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone-like folder: POP909/001 ... 009 (all good)."""
    root = tmp_path_factory.mktemp("clone")
    for i in range(1, 10):
        write_song(root / "POP909", f"{i:03d}", seed=i)
    return root


@pytest.fixture(scope="module")
def song(pop909: Path) -> A.Pop909Song:
    return A.load_song(pop909 / "POP909" / "001")


SECONDS = 10.0


def test_parse(song: A.Pop909Song) -> None:
    assert song.song_id == "001" and set(song.tracks) == {"MELODY", "BRIDGE", "PIANO"}
    assert np.allclose(song.beats, beat_times()) and song.downbeats.sum() == N_BEATS // 4
    assert [c.label for c in song.chords] == [p[0] for p in PROGRESSION]
    assert song.chords[0].chord is None and song.chords[1].chord == C.Chord(0, (0, 4, 7), -1)
    assert song.keys == [(0.0, pytest.approx(song.beats[-1] + 1.0), 0, "major")]
    assert len(song.tracks["PIANO"]) == 4 * (N_BEATS - 1)


def test_parse_chord() -> None:
    chord, bass = A.parse_chord("Bb:min7/b7")
    assert (chord.root, chord.tones, bass) == (10, (0, 3, 7, 10), 8)
    assert A.parse_chord("F:maj/3")[1] == 9 and A.parse_chord("E:min/5")[1] == 11
    assert A.parse_chord("C#:sus4(b7)")[0].tones == (0, 5, 7, 10)
    assert A.parse_chord("N") is None
    with pytest.raises(ValueError, match="unknown quality 'power'.*maj"):
        A.parse_chord("C:power")
    with pytest.raises(ValueError, match="not 'root:quality"):
        A.parse_chord("H:maj")


def _window(score: C.Score) -> float:
    return float(score.style["offset_seconds"])


def test_five_classes_and_source(song: A.Pop909Song) -> None:
    for seed in range(6):
        score = A.arrange(song, (0, seed), SECONDS)
        assert {p.group for p in score.parts} == set(INSTRUMENTS)
        assert score.style["source"] == "POP909" and score.style["pop909_id"] == "001"
        assert len({p.index for p in score.parts}) == len(score.parts)
        for p in score.parts:
            assert p.notes and all(0 <= s < e <= SECONDS for s, e, _, _ in p.notes)
            assert C.inst_class(p.program, p.is_drum) in (*C.GM_FAMILIES, "Drums")
        lead = next(p for p in score.parts if p.name == "lead")
        assert any(lead.program in v for v in A.MELODY_PROGRAMS.values())
        assert next(p for p in score.parts if p.name == "piano").program in range(8)


def _source_cut(notes: list, offset: float, seconds: float) -> list:
    return sorted(
        (s - offset, min(e, offset + seconds) - offset, p, v)
        for s, e, p, v in notes
        if offset <= s < offset + seconds
    )


def test_piano_notes_are_the_source_notes(song: A.Pop909Song) -> None:
    offsets = set()
    for seed in range(4):
        score = A.arrange(song, (1, seed), SECONDS)
        off = _window(score)
        offsets.add(off)
        assert off in song.beats[song.downbeats]  # the window starts on a bar
        piano = next(p for p in score.parts if p.name == "piano")
        want = _source_cut(song.tracks["PIANO"], off, SECONDS)
        got = sorted(piano.notes)
        assert len(got) == len(want) > 0
        assert np.allclose(np.array(got), np.array(want), atol=2e-6)
        # the melody: the same times and velocities, pitches moved by whole octaves
        lead = next(p for p in score.parts if p.name == "lead")
        src = _source_cut(song.tracks["MELODY"], off, SECONDS)
        shift = score.style["octave_shift"]["lead"]
        assert shift % 12 == 0
        want = np.array([(s, e, p + shift, v) for s, e, p, v in src])
        assert np.allclose(np.array(sorted(lead.notes)), want, atol=2e-6)
    assert len(offsets) > 1  # the seed moves the window


def _grid(song: A.Pop909Song) -> np.ndarray:
    """16th-note positions of the real (accelerating) beats."""
    b = song.beats
    return np.concatenate([b[:-1] + (b[1:] - b[:-1]) * j / 4 for j in range(4)])


def test_drums_follow_the_real_beat_grid(song: A.Pop909Song) -> None:
    grid = np.sort(_grid(song))
    for seed in range(4):
        score = A.arrange(song, (2, seed), SECONDS)
        off = _window(score)
        drums = next(p for p in score.parts if p.group == "drums")
        assert drums.is_drum and drums.program in C.DRUM_KITS
        onsets = np.array([s for s, _, _, _ in drums.notes]) + off
        err = np.abs(onsets[:, None] - grid[None, :]).min(axis=1)
        assert err.max() < 0.03, err.max()
        # every downbeat in the window has a hit; a constant-tempo grid would drift off it
        downs = song.beats[song.downbeats]
        downs = downs[(downs >= off) & (downs < off + SECONDS - 0.1)]
        assert all(np.abs(onsets - t).min() < 0.03 for t in downs)
        beat_s = 60.0 / score.tempo
        assert score.tempo == pytest.approx(
            60.0
            / np.median(np.diff(song.beats[(song.beats >= off) & (song.beats < off + SECONDS)])),
            abs=1e-3,
        )
        lo, hi = score.style["tempo_range_bpm"]
        assert hi - lo > 3.0  # the accelerando is visible within the window
        fixed = off + np.round((downs - off) / beat_s) * beat_s
        assert np.abs(fixed - downs).max() > 0.03


def test_bass_plays_the_chord_labels(song: A.Pop909Song) -> None:
    passing = 0
    for seed in range(6):
        score = A.arrange(song, (3, seed), SECONDS)
        off = _window(score)
        bass = next(p for p in score.parts if p.group == "bass")
        assert bass.program in range(32, 40)
        onsets = np.array([s for s, _, _, _ in bass.notes])
        checked = 0
        for span in song.chords:
            t = span.start - off
            if span.chord is None or not 0 <= t < SECONDS - 0.2:
                continue
            near = [n for n in bass.notes if abs(n[0] - t) < 0.03]
            assert near, (span.label, t)
            assert near[0][2] % 12 == span.bass, span.label  # root, or the slash bass
            checked += 1
        assert checked >= 3
        for span in song.chords:  # written parts rest where there is no chord
            if span.chord is None:
                for part in score.parts:
                    if part.group in ("bass", "guitar") and not part.role.startswith("pop909"):
                        ons = np.array([s for s, _, _, _ in part.notes]) + off
                        assert not np.any((ons > span.start + 0.03) & (ons < span.end - 0.03))
        assert onsets.size
        # every other note is the current chord's bass, or an approach note to the next one
        for s, _, p, _ in bass.notes:
            t = s + off
            now = next(c for c in song.chords if c.start - 0.03 <= t < c.end)
            nxt = next(c for c in song.chords if c.start > t)
            if p % 12 == now.bass or (p % 12 == nxt.bass and nxt.start - t < 0.05):  # jitter
                continue
            assert nxt.start - t < 0.5 * 0.6 + 0.03, (now.label, nxt.label, t)
            assert 0 < min((p - nxt.bass) % 12, (nxt.bass - p) % 12) <= 2
            passing += 1
    assert passing > 0


def test_guitar_plays_chord_tones(song: A.Pop909Song) -> None:
    for seed in range(8):
        score = A.arrange(song, (4, seed), SECONDS)
        off = _window(score)
        for part in score.parts:
            if part.group != "guitar" or part.role.startswith("pop909"):
                continue
            for s, _, p, _ in part.notes:
                # the chord at the note, or at the next one within the timing jitter
                spans = [c for c in song.chords if c.start - 0.04 <= s + off < c.end and c.chord]
                allowed = set()
                for c in spans:
                    allowed |= {(c.chord.root + t) % 12 for t in c.chord.tones}
                    allowed.add((c.chord.root + 7) % 12)  # shapes add the fifth
                assert p % 12 in allowed, ([c.label for c in spans], p)


def test_determinism(song: A.Pop909Song, pop909: Path) -> None:
    a = A.arrange(song, (7, 1), SECONDS)
    b = A.arrange(pop909 / "POP909" / "001", (7, 1), SECONDS)
    assert a.describe() == b.describe()
    assert [(p.name, p.program, p.notes) for p in a.parts] == [
        (p.name, p.program, p.notes) for p in b.parts
    ]
    others = [A.arrange(song, (7, k), SECONDS) for k in range(2, 6)]
    assert any(
        [(p.program, p.notes) for p in o.parts] != [(p.program, p.notes) for p in a.parts]
        for o in others
    )
    yaml.safe_dump(a.describe())  # plain Python only: it goes into metadata.yaml


def test_a_song_shorter_than_the_window(song: A.Pop909Song) -> None:
    score = A.arrange(song, (0, 0), 60.0)
    assert score.style["offset_seconds"] <= song.beats[8]
    assert {p.group for p in score.parts} == set(INSTRUMENTS)
    drums = next(p for p in score.parts if p.group == "drums")
    assert max(s for s, _, _, _ in drums.notes) < song.end_seconds + 2.0


def test_missing_bridge_and_melody_are_fine(tmp_path: Path) -> None:
    d = write_song(tmp_path, "042", tracks=("PIANO",))
    score = A.arrange(d, 0, SECONDS)
    assert {p.name for p in score.parts} >= {"drums", "bass", "piano"}
    assert not {"lead", "bridge"} & {p.name for p in score.parts}


def _broken(tmp_path: Path, sid: str, how: str) -> Path:
    d = write_song(tmp_path, sid, tracks=("MELODY",) if how == "no-piano" else TRACKS)
    if how == "no-midi":
        (d / f"{sid}.mid").unlink()
    elif how == "corrupt":
        (d / f"{sid}.mid").write_bytes(b"MThd\x00\x00garbage")
    elif how == "no-beats":
        (d / "beat_midi.txt").unlink()
    elif how == "no-chords":
        (d / "chord_midi.txt").unlink()
    elif how == "bad-chord":
        (d / "chord_midi.txt").write_text("0.0\t1.0\tC:maj\n1.0\t2.0\tC:wobble\n")
    elif how == "bad-beat":
        (d / "beat_midi.txt").write_text("0.0 1.0 1.0\nx 0.0 0.0\n")
    elif how == "no-key":
        (d / "key_audio.txt").unlink()
    return d


TRACKS = ("MELODY", "BRIDGE", "PIANO")
BROKEN = {
    "no-midi": r"100\.mid.*MIDI file '100\.mid' is missing",
    "corrupt": r"101\.mid.*corrupt MIDI file",
    "no-piano": r"102\.mid.*PIANO track is missing.*MELODY",
    "no-beats": r"beat_midi\.txt.*beat annotation file is missing",
    "no-chords": r"chord_midi\.txt.*chord annotation file is missing",
    "bad-chord": r"chord_midi\.txt.*line 2.*unknown quality 'wobble'",
    "bad-beat": r"beat_midi\.txt.*line 2.*not numbers",
    "no-key": r"key_audio\.txt.*missing",
}


@pytest.mark.parametrize("k,how", list(enumerate(BROKEN)))
def test_errors_name_the_file_and_reason(tmp_path: Path, k: int, how: str) -> None:
    d = _broken(tmp_path, f"{100 + k}", how)
    with pytest.raises(ArrangementError, match=BROKEN[how]) as info:
        A.load_song(d)
    err = info.value
    assert isinstance(err, InstsimError) and isinstance(err, OSError)
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) and back.reason == err.reason
    with pytest.raises(ArrangementError, match="no such song folder"):
        A.load_song(tmp_path / "nope")


def test_scan_skips_and_reports_bad_songs(pop909: Path, tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    for sid in ("001", "002"):
        write_song(root, sid)
    _broken(root, "003", "no-piano")
    _broken(root, "004", "bad-chord")
    (root / "notes").mkdir()  # not a song folder: ignored
    found = A.scan_arrangements(root)
    assert found.song_ids == ["001", "002"] and set(found.skipped) == {"003", "004"}
    assert "PIANO" in found.skipped["003"] and "wobble" in found.skipped["004"]
    assert A.scan_arrangements(pop909).root == (pop909 / "POP909").resolve()
    assert len(A.scan_arrangements(pop909).song_ids) == 9
    with pytest.raises(ConfigError, match="no POP909 song folder"):
        A.scan_arrangements(root / "notes")
    with pytest.raises(ConfigError, match="is not a folder"):
        A.scan_arrangements(root / "missing")


def test_splits_never_share_a_song() -> None:
    ids = [f"{i:03d}" for i in range(1, 910)]
    pools = A.split_song_ids(ids, (0.8, 0.1, 0.1))
    sets = [set(v) for v in pools.values()]
    assert [len(s) for s in sets] == [727, 91, 91]
    assert set().union(*sets) == set(ids) and sum(map(len, sets)) == len(ids)
    assert A.split_song_ids(list(reversed(ids)), (0.8, 0.1, 0.1)) == pools  # order-free
    # tracks of each split draw from that split's pool only, without repeats while it lasts
    drawn: dict[str, list[str]] = {}
    for index in range(300):
        split = "train" if index < 240 else "validation" if index < 270 else "test"
        sid = A.draw_song(5, index, split, pools, 0.5)
        if sid is not None:
            assert sid in pools[split]
            drawn.setdefault(split, []).append(sid)
    assert 100 < sum(map(len, drawn.values())) < 200  # about half
    for got in drawn.values():
        assert len(set(got)) == len(got)
    assert not set(drawn["train"]) & set(drawn["test"])
    assert A.draw_song(5, 3, "train", pools, 1.0) == A.draw_song(5, 3, "train", pools, 1.0)
    assert A.draw_song(5, 3, "train", pools, 0.0) is None
    assert A.draw_song(5, 3, "test", {"train": ["001"]}, 1.0) is None
    small = A.split_song_ids(["001", "002", "003"], (0.8, 0.1, 0.1))
    assert all(len(v) == 1 for v in small.values())


# -- rendering --------------------------------------------------------------------


def _needs_synth() -> None:
    pytest.importorskip("fluidsynth")
    from instsim.data import synth as S

    if not Path(S.DEFAULT_SOUNDFONT).is_file():
        pytest.skip("default soundfont not installed")


def test_corpus_splits_use_disjoint_songs(pop909: Path, tmp_path: Path) -> None:
    _needs_synth()
    from instsim.data import synth as S

    summary = S.synthesize_corpus(tmp_path / "c", 6, seconds=1.0, seed=2, sample_rate=8000,
                                  split_fractions=(0.34, 0.33, 0.33), arrangements=pop909,
                                  arrangement_share=1.0)  # fmt: skip
    info = json.loads((tmp_path / "c" / "corpus.json").read_text())
    tracks = info["arrangement_tracks"]
    assert len(tracks) == 6 and info["arrangement_share"] == 1.0
    by_split = {s: {tracks[t] for t in ids} for s, ids in info["splits"].items()}
    assert not by_split["train"] & by_split["validation"]
    assert not by_split["train"] & by_split["test"]
    assert not by_split["validation"] & by_split["test"]
    assert info["arrangement_licence"].startswith("MIT") and info["arrangement_skipped"] == {}
    assert {t.track_id: t.arrangement for t in summary.tracks} == tracks
    with pytest.raises(ConfigError, match="arrangement_share.*only used with"):
        S.synthesize_corpus(tmp_path / "d", 1, arrangement_share=0.5)
    with pytest.raises(ConfigError, match=r"arrangement_share.*\[0, 1\]"):
        S.synthesize_corpus(tmp_path / "d", 1, arrangements=pop909, arrangement_share=1.5)


def test_cli_synth_with_arrangements(pop909: Path, tmp_path: Path) -> None:
    _needs_synth()
    from click.testing import CliRunner

    from instsim.cli import main

    out = tmp_path / "cli"
    args = ["synth", "--out", str(out), "--songs", "2", "--seconds", "6", "--sr", "16000",
            "--workers", "1", "--seed", "1", "--arrangements", str(pop909)]  # fmt: skip
    res = CliRunner().invoke(main, [*args, "--arrangement-share", "1"])
    assert res.exit_code == 0, res.output
    assert "POP909 arrangements: 2 of 2 track(s)" in res.output
    assert "checking every POP909 song in" in res.output  # said before the up-front scan
    info = json.loads((out / "corpus.json").read_text())
    assert info["arrangements"] == str((pop909 / "POP909").resolve())
    assert set(info["arrangement_tracks"]) == {"Track00001", "Track00002"}
    assert "Wang" in info["arrangement_citation"]
    for tid, sid in info["arrangement_tracks"].items():
        meta = yaml.safe_load((out / "train" / tid / "metadata.yaml").read_text())
        arr = meta["instsim"]["arrangement"]
        assert arr["song_id"] == sid and arr["licence"].startswith("MIT")
        assert {"piano", "lead"} <= set(arr["real_parts"])
        assert {"drums", "bass"} <= set(arr["written_parts"])
        groups = {s["mixing_group"] for s in meta["stems"].values()}
        assert groups == set(INSTRUMENTS)
        assert meta["instsim"]["score"]["style"]["pop909_id"] == sid
        assert meta["instsim"]["score"]["tempo_bpm"] > 0
    if importlib.util.find_spec("essentia") is not None:  # the pseudo-mix tempo groups need one
        import soundfile as sf

        from instsim.data.pseudomix import estimate_tempo

        y, sr = sf.read(out / "train" / "Track00001" / "mix.flac")
        assert estimate_tempo(y, sr) is not None

    res = CliRunner().invoke(main, ["synth", "--out", str(tmp_path / "x"), "--songs", "1",
                                    "--arrangement-share", "0.5"])  # fmt: skip
    assert res.exit_code == 2 and "arrangement_share" in res.output
    res = CliRunner().invoke(main, [*args[:2], str(tmp_path / "y"), *args[3:-1], str(tmp_path)])
    assert res.exit_code == 2 and "no POP909 song folder" in res.output
