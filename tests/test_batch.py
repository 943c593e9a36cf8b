"""Batch extraction (instsim.batch) and decoding in worker processes (instsim.decode)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from instsim import Extractor
from instsim.batch import (
    STAGING,
    InputCollection,
    InputItem,
    InputProblem,
    Reporter,
    extract_batch,
    safe_output_path,
    write_npz,
)
from instsim.errors import AudioDecodeError, ConfigError, UnknownInstrumentError
from tests.conftest import SR, music

TINY = {"backbone": "unet", "backbone_kwargs": {"channels": [4, 8, 8, 16, 16, 16]}}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Extractor:
    """A small random-weight model, saved and loaded back (as the CLI does)."""
    d = tmp_path_factory.mktemp("tiny-model")
    Extractor.from_config(TINY, seed=0).save_pretrained(d)
    return Extractor.from_pretrained(d, device="cpu")


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """music/ with nested good files of several formats and one non-audio file."""
    root = tmp_path_factory.mktemp("coll") / "music"
    (root / "album" / "cd1").mkdir(parents=True)
    sf.write(root / "a.wav", music(5.0, seed=1), SR, subtype="PCM_16")
    sf.write(root / "album" / "b.flac", music(4.0, 44100, seed=2, channels=2), 44100)
    sf.write(root / "album" / "cd1" / "c.flac", music(7.0, 32000, seed=3), 32000)
    sf.write(root / "album" / "b.wav", music(3.5, seed=4), SR)  # same stem as b.flac
    (root / "notes.txt").write_text("not audio, not walked\n")
    return root


def _rels(items) -> list[str]:
    return [x.rel for x in items if isinstance(x, InputItem)]


# ---- input collection ---------------------------------------------------------------------
def test_walk_is_recursive_sorted_and_filters_by_extension(collection: Path) -> None:
    col = InputCollection([collection])
    assert col.base == str(collection)
    assert _rels(col) == ["a.wav", "album/b.flac", "album/b.wav", "album/cd1/c.flac"]
    assert col.count() == 4


def test_relative_paths_for_files_lists_absolute_and_dotdot(
    collection: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(collection / "album")
    col = InputCollection(["../a.wav", "cd1/c.flac"])
    assert col.base == str(collection)  # the deepest folder holding both
    assert _rels(col) == ["a.wav", "album/cd1/c.flac"]
    # a list file: relative entries are relative to the list's folder; comments skipped
    lst = tmp_path / "list.txt"
    lst.write_text(f"# my files\n{collection / 'album/b.wav'}\n\n../{tmp_path.name}/x.wav\n")
    col = InputCollection(lists=[lst])
    assert col.base == str(tmp_path.parent)
    rels = _rels(col)
    assert rels[1] == f"{tmp_path.name}/x.wav"  # missing files are kept: they fail at decoding
    assert rels[0].endswith("music/album/b.wav") and not rels[0].startswith(("/", ".."))


def test_same_file_names_in_different_folders_do_not_collide(tmp_path: Path) -> None:
    for d in ("x/a", "y/a"):
        (tmp_path / d).mkdir(parents=True)
        sf.write(tmp_path / d / "song.wav", music(1.0), SR)
    col = InputCollection([tmp_path / "x/a/song.wav", tmp_path / "y/a/song.wav"])
    assert _rels(col) == ["x/a/song.wav", "y/a/song.wav"]


def test_duplicates_and_symlink_loops_are_warnings(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / "sub").mkdir(parents=True)
    sf.write(root / "sub" / "s.wav", music(1.0), SR)
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    items = list(InputCollection([root, root / "sub" / "s.wav"]))
    assert _rels(items) == ["sub/s.wav"]
    problems = [x for x in items if isinstance(x, InputProblem)]
    assert {p.error for p in problems} == {"SymlinkLoop", "DuplicateInput"}
    assert not any(p.fatal for p in problems)


def test_unreadable_folder_is_a_failure_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "r"
    (root / "locked").mkdir(parents=True)
    sf.write(root / "ok.wav", music(1.0), SR)
    real_scandir = os.scandir

    def scandir(path):  # root can read everything, so simulate a permission error
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    items = list(InputCollection([root]))
    assert _rels(items) == ["ok.wav"]
    (p,) = [x for x in items if isinstance(x, InputProblem)]
    assert p.fatal and p.error == "PermissionError" and p.path.endswith("locked")


def test_safe_output_path_never_leaves_outdir(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert safe_output_path(out, "a/b.wav", ".npz") == out / "a" / "b.wav.npz"
    for bad in ("", "/etc/passwd", "../x.wav", "a/../../x.wav", "a//b.wav", "./a.wav"):
        with pytest.raises(ConfigError):
            safe_output_path(out, bad, ".npz")
    (tmp_path / "elsewhere").mkdir()
    (out / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(ConfigError, match="outside the output folder"):
        safe_output_path(out, "link/x.wav", ".npz")


def test_a_symlink_in_outdir_cannot_lead_outputs_out(tiny: Extractor, tmp_path: Path) -> None:
    (tmp_path / "in" / "album").mkdir(parents=True)
    sf.write(tmp_path / "in" / "album" / "s.wav", music(3.0), SR)
    sf.write(tmp_path / "in" / "t.wav", music(3.0), SR)
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "album").symlink_to(elsewhere, target_is_directory=True)
    s = extract_batch([tmp_path / "in"], out, tiny)
    assert (s.done, s.failed) == (1, 1)
    assert list(elsewhere.iterdir()) == []
    (failure,) = [json.loads(x) for x in (out / "failures.jsonl").read_text().splitlines()]
    assert failure["path"].endswith("s.wav") and "outside the output folder" in failure["message"]


def test_write_npz_is_byte_deterministic(tmp_path: Path) -> None:
    arrays = {"embedding": np.arange(6, dtype=np.float32), "model_id": np.array("m")}
    write_npz(tmp_path / "a.npz", arrays)
    os.utime(tmp_path, (0, 0))
    write_npz(tmp_path / "b.npz", arrays)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "a.npz") as f:
        np.testing.assert_array_equal(f["embedding"], arrays["embedding"])
        assert str(f["model_id"]) == "m"


# ---- extract_batch ------------------------------------------------------------------------
def test_npz_outputs_match_the_extractor(tiny: Extractor, collection: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    s = extract_batch([collection], out, tiny, batch_size=4)
    assert (s.done, s.skipped, s.failed, s.exit_code) == (4, 0, 0, 0)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npz"))
    assert files == ["a.wav.npz", "album/b.flac.npz", "album/b.wav.npz", "album/cd1/c.flac.npz"]
    assert not (out / STAGING).exists() and not (out / "failures.jsonl").exists()
    for rel in ("a.wav", "album/cd1/c.flac"):
        te = tiny.embed_track(collection / rel)
        with np.load(out / f"{rel}.npz") as f:
            assert f["embedding"].shape == (640,) and f["embedding"].dtype == np.float32
            np.testing.assert_allclose(f["embedding"], te.vector(), atol=1e-5)
            np.testing.assert_allclose(f["timestamps"], te.timestamps)
            assert list(f["instruments"]) == list(tiny.instruments)
            assert str(f["model_id"]) == tiny.model_id
            assert float(f["segment_seconds"]) == 3.0 and float(f["hop_seconds"]) == 1.5
            assert json.loads(str(f["frontend"]))["sample_rate"] == 22050
            assert str(f["instsim_version"]) and float(f["duration"]) == pytest.approx(te.duration)
    assert s.audio_seconds == pytest.approx(5.0 + 4.0 + 7.0 + 3.5, abs=0.01)


def test_focus_and_per_segment_outputs(tiny: Extractor, collection: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    extract_batch([collection / "a.wav"], out, tiny, focus=["bass", "drums"], aggregate="none")
    te = tiny.embed_track(collection / "a.wav")
    with np.load(out / "a.wav.npz") as f:
        assert f["embedding"].shape == (len(te.timestamps), 256)
        np.testing.assert_allclose(f["embedding"], te.segment_vectors(["bass", "drums"]), atol=1e-5)
        assert list(f["instruments"]) == ["bass", "drums"]
    with pytest.raises(UnknownInstrumentError, match="'drums'"):
        extract_batch([collection], tmp_path / "o2", tiny, focus=["kazoo"])


def test_rerun_skips_up_to_date_outputs_and_redoes_changed_ones(
    tiny: Extractor, collection: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    extract_batch([collection], out, tiny)
    target = out / "a.wav.npz"
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.npz")}
    s = extract_batch([collection], out, tiny)
    assert (s.done, s.skipped) == (0, 4)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.npz")} == before
    s = extract_batch([collection], out, tiny, hop_seconds=1.0)  # other parameters: redo
    assert (s.done, s.skipped) == (4, 0)
    with np.load(target) as f:
        assert float(f["hop_seconds"]) == 1.0
    st = (collection / "a.wav").stat()  # the input changed: redo it only
    os.utime(collection / "a.wav", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    s = extract_batch([collection], out, tiny, hop_seconds=1.0)
    assert (s.done, s.skipped) == (1, 3)
    s = extract_batch([collection], out, tiny, hop_seconds=1.0, overwrite=True)
    assert (s.done, s.skipped) == (4, 0)
    other = Extractor.from_config(TINY, seed=1)  # another model: redo
    assert extract_batch([collection], out, other, hop_seconds=1.0).done == 4


def test_parquet_table_matches_the_extractor(
    tiny: Extractor, collection: Path, tmp_path: Path
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "out"
    s = extract_batch([collection], out, tiny, fmt="parquet")
    assert s.output == out / "embeddings.parquet" and s.exit_code == 0
    table = pq.read_table(s.output)
    assert table.column_names == ["path", "relpath", "duration", "n_segments", "embedding"]
    assert str(table.schema.field("embedding").type) == "list<element: float>"
    assert table.column("relpath").to_pylist() == [
        "a.wav",
        "album/b.flac",
        "album/b.wav",
        "album/cd1/c.flac",
    ]
    emb = np.array(table.column("embedding").to_pylist(), dtype=np.float32)
    np.testing.assert_allclose(emb[3], tiny.embed(collection / "album/cd1/c.flac"), atol=1e-5)
    meta = json.loads(table.schema.metadata[b"instsim"])
    assert meta["instruments"] == list(tiny.instruments) and meta["aggregate"] == "mean"
    # per segment, focused
    out2 = tmp_path / "seg"
    extract_batch([collection], out2, tiny, fmt="parquet", aggregate="none", focus=["piano"])
    df = pq.read_table(out2 / "embeddings.parquet").to_pandas()
    assert list(df.columns) == ["path", "relpath", "segment", "start", "end", "silent", "embedding"]
    rows = df[df.relpath == "a.wav"]
    te = tiny.embed_track(collection / "a.wav")
    np.testing.assert_allclose(np.stack(rows.embedding), te.segment_vectors("piano"), atol=1e-5)
    np.testing.assert_allclose(rows[["start", "end"]].to_numpy(), te.timestamps)
    # a rerun skips everything and leaves the table's bytes alone
    data = (out / "embeddings.parquet").read_bytes()
    s = extract_batch([collection], out, tiny, fmt="parquet")
    assert (s.done, s.skipped) == (0, 4)
    assert (out / "embeddings.parquet").read_bytes() == data


def _bad_inputs(root: Path) -> dict[str, str]:
    """Write one file per kind of bad input; return name -> expected error class."""
    root.mkdir(parents=True, exist_ok=True)
    sf.write(root / "good.wav", music(4.0, seed=7), SR)
    (root / "empty.wav").write_bytes(b"")
    (root / "text.wav").write_text("this is not a RIFF file\n" * 20)
    data = (root / "good.wav").read_bytes()
    (root / "truncated.wav").write_bytes(data[: len(data) // 2])
    good_flac = root / "corrupt.flac"
    sf.write(good_flac, music(4.0, seed=8), SR)
    raw = bytearray(good_flac.read_bytes())
    raw[200:] = bytes(len(raw) - 200)  # keep the header, zero the frames
    good_flac.write_bytes(bytes(raw))
    sf.write(root / "silent.wav", np.zeros(4 * SR, dtype=np.float32), SR)
    nan = music(4.0, seed=9)
    nan[1000:1010] = np.nan
    sf.write(root / "nan.wav", nan, SR, subtype="FLOAT")
    return {
        "corrupt.flac": "AudioDecodeError",
        "empty.wav": "EmptyAudioError",
        "nan.wav": "NonFiniteAudioError",
        "silent.wav": "SilentAudioError",
        "text.wav": "AudioDecodeError",
        "truncated.wav": "AudioDecodeError",
    }


class _Events(Reporter):
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def item(self, status: str, path: str, seconds: float = 0.0) -> None:
        self.events.append((status, Path(path).name))


def test_bad_inputs_are_recorded_and_the_batch_carries_on(tiny: Extractor, tmp_path: Path) -> None:
    expected = _bad_inputs(tmp_path / "in")
    out = tmp_path / "out"
    rep = _Events()
    s = extract_batch([tmp_path / "in"], out, tiny, reporter=rep)
    assert (s.done, s.failed, s.exit_code) == (1, 6, 1)
    assert [p.name for p in out.glob("*.npz")] == ["good.wav.npz"]
    lines = [json.loads(x) for x in (out / "failures.jsonl").read_text().splitlines()]
    assert {Path(x["path"]).name: x["error"] for x in lines} == expected
    assert all(Path(x["path"]).name in x["message"] for x in lines)
    assert [e for e in rep.events if e[0] == "done"] == [("done", "good.wav")]
    assert not list((out / STAGING).glob("**/*")) if (out / STAGING).exists() else True
    # fail fast: stops at the first bad input (corrupt.flac sorts first)
    s = extract_batch([tmp_path / "in"], tmp_path / "ff", tiny, fail_fast=True)
    assert s.stopped and s.failed == 1 and s.exit_code == 1
    assert len((tmp_path / "ff" / "failures.jsonl").read_text().splitlines()) == 1


def test_failures_file_describes_the_latest_run(tiny: Extractor, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.wav").write_text("nope")
    sf.write(tmp_path / "in" / "ok.wav", music(3.0), SR)
    out = tmp_path / "out"
    assert extract_batch([tmp_path / "in"], out, tiny).failed == 1
    (tmp_path / "in" / "bad.wav").unlink()
    s = extract_batch([tmp_path / "in"], out, tiny)
    assert (s.failed, s.skipped, s.exit_code) == (0, 1, 0)
    assert not (out / "failures.jsonl").exists()


def test_output_dir_that_is_a_file_or_in_use(
    tiny: Extractor, collection: Path, tmp_path: Path
) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        extract_batch([collection], tmp_path / "f", tiny)
    fcntl = pytest.importorskip("fcntl")
    (tmp_path / "busy" / STAGING).mkdir(parents=True)
    with open(tmp_path / "busy" / STAGING / "lock", "wb") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        with pytest.raises(ConfigError, match="another instsim extract"):
            extract_batch([collection], tmp_path / "busy", tiny)


def test_formats_are_registered_sinks(tiny: Extractor, collection: Path, tmp_path: Path) -> None:
    from instsim.batch import FORMATS, SINKS, register_sink
    from instsim.batch.sinks.npz import NpzSink

    assert FORMATS == ("npz", "parquet") and SINKS["npz"] is NpzSink
    with pytest.raises(ConfigError, match=r"'format'.*'csv'.*valid: 'npz', 'parquet'"):
        extract_batch([collection], tmp_path / "o", tiny, fmt="csv")
    seen: list[str] = []

    class ListSink:  # a third format: keeps the relative paths it is given
        def __init__(self, outdir: Path, staging: object, run: object) -> None:
            self.output = outdir

        def is_done(self, item: InputItem, stamp: object) -> bool:
            return False

        def write(self, item: InputItem, te: object, stamp: object) -> None:
            seen.append(item.rel)

        def record(self, item: InputItem) -> None:
            pass

        def finish(self) -> None:
            seen.append("<finished>")

    register_sink("list")(ListSink)
    try:
        s = extract_batch([collection], tmp_path / "o", tiny, fmt="list")
    finally:
        del SINKS["list"]
    assert s.done == 4 and seen[-1] == "<finished>" and seen[0] == "a.wav"


def test_an_empty_input_folder_is_a_failure(tiny: Extractor, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    s = extract_batch([tmp_path / "empty"], tmp_path / "out", tiny)
    assert (s.done, s.failed, s.exit_code) == (0, 1, 1)
    (failure,) = [
        json.loads(x) for x in (tmp_path / "out" / "failures.jsonl").read_text().splitlines()
    ]
    assert failure["path"] == str(tmp_path / "empty") and "no audio file" in failure["message"]


def test_stage_progress_draws_one_bar_per_stage() -> None:
    import io

    from instsim.batch import StageProgress

    buf = io.StringIO()
    bars = StageProgress(labels={"embed": "embedding"}, units={"embed": "segment"}, file=buf)
    bars("cache", 1, 2)
    bars("cache", 2, 2)
    bars("embed", 5, 10)
    bars.close()
    text = buf.getvalue()
    assert "cache" in text and "2/2" in text and "embedding" in text and "5/10" in text
    quiet = StageProgress(quiet=True, file=(buf := io.StringIO()))
    quiet("cache", 1, 2)
    quiet.close()
    assert buf.getvalue() == ""


# ---- decoding in worker processes -----------------------------------------------------------
def test_worker_processes_give_the_same_results_in_order(
    tiny: Extractor, collection: Path, tmp_path: Path
) -> None:
    files = sorted(str(p) for p in collection.rglob("*.*") if p.suffix in (".wav", ".flac"))
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    inputs = [files[0], str(bad), *files[1:], music(2.0, seed=5), files[0]]
    ref = list(tiny.embed_files(inputs, sr=SR, on_error="return", batch_size=5, workers=0))
    got = list(tiny.embed_files(inputs, sr=SR, on_error="return", batch_size=5, workers=2))
    assert [r.index for r in got] == list(range(len(inputs)))
    assert [r.source for r in got] == [r.source for r in ref]
    for a, b in zip(ref, got):
        if a.ok:
            np.testing.assert_allclose(a.embedding.raw, b.embedding.raw, atol=1e-5)
            np.testing.assert_array_equal(a.embedding.timestamps, b.embedding.timestamps)
            np.testing.assert_array_equal(a.embedding.silent, b.embedding.silent)
            assert a.embedding.duration == b.embedding.duration
        else:
            assert type(b.error) is type(a.error) and str(b.error) == str(a.error)
    with pytest.raises(AudioDecodeError, match="bad.wav"):
        list(tiny.embed_files([files[0], str(bad), files[1]], workers=1))


class _CrashPath:
    """Kills the decoding process that opens it (stands in for a decoder segfault)."""

    def __fspath__(self) -> str:
        os._exit(3)


def _crash_path() -> _CrashPath:
    return _CrashPath()


class _Crash(np.ndarray):
    """Pickles into a :class:`_CrashPath`, so only the worker process is affected."""

    def __reduce__(self):
        return (_crash_path, ())


def test_a_crashing_worker_fails_only_its_own_file(tiny: Extractor, collection: Path) -> None:
    files = [str(collection / "a.wav"), str(collection / "album/b.wav")]
    crash = np.zeros(4, dtype=np.float32).view(_Crash)
    inputs = [files[0], crash, files[1], crash, files[0]]
    res = list(tiny.embed_files(inputs, sr=SR, workers=1, on_error="return"))
    assert [r.ok for r in res] == [True, False, True, False, True]
    assert isinstance(res[1].error, AudioDecodeError) and "died" in str(res[1].error)


def test_network_threads_follow_which_stage_dominates(
    tiny: Extractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from instsim.batch import engine

    monkeypatch.setattr(engine, "_cores", lambda: 2)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    assert engine.default_threads(1) == 1  # a decoding thread + one network thread
    assert engine.default_threads(1, network_bound=True) == 2
    routed = Extractor.from_config(
        {"backbone_kwargs": {"channels": [4, 8, 8, 16, 16, 16]}, "inputs": {"drums": "percussive"}}
    )
    seen = {}
    for name, ext in (("plain", tiny), ("routed", routed)):
        with engine._torch_threads(ext, None, workers=0):
            seen[name] = torch.get_num_threads()
    # a model with a second pass and an HPSS per segment gets every core for its network
    assert seen == {"plain": 1, "routed": 2}
