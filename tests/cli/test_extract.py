"""``instsim extract``: the command line (CliRunner) and killed-and-resumed runs (subprocess)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from instsim import Extractor
from instsim.cli import main
from tests.conftest import SR, music

TINY = {"backbone": "unet", "backbone_kwargs": {"channels": [4, 8, 8, 16, 16, 16]}}
CLI = [sys.executable, "-c", "from instsim.cli import main; main()", "extract"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("tiny-model")
    Extractor.from_config(TINY, seed=0).save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Good files, a corrupt file, an empty file and a text file named .wav."""
    root = tmp_path_factory.mktemp("mixed")
    sf.write(root / "good1.wav", music(4.0, seed=1), SR)
    (root / "sub").mkdir()
    sf.write(root / "sub" / "good2.flac", music(5.0, 44100, seed=2, channels=2), 44100)
    data = bytearray((root / "sub" / "good2.flac").read_bytes())
    data[300:] = bytes(len(data) - 300)
    (root / "sub" / "corrupt.flac").write_bytes(bytes(data))
    (root / "empty.wav").write_bytes(b"")
    (root / "notes.wav").write_text("these are my notes, not audio\n" * 10)
    return root


def run(*args: str) -> object:
    return CliRunner().invoke(main, ["extract", *args], catch_exceptions=False)


def test_help_documents_options_and_exit_codes() -> None:
    res = run("--help")
    assert res.exit_code == 0
    for text in ("--from-list", "--format", "--focus", "--workers", "--fail-fast", "Exit codes"):
        assert text in res.output
    assert "1  some inputs failed" in res.output and "2  usage error" in res.output


def test_mixed_folder_outputs_good_files_and_records_bad_ones(
    model_dir: Path, mixed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    res = run(str(mixed), "-o", str(out), "--model", str(model_dir), "--workers", "0")
    assert res.exit_code == 1, res.output
    outputs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npz"))
    assert outputs == ["good1.wav.npz", "sub/good2.flac.npz"]
    failures = [json.loads(x) for x in (out / "failures.jsonl").read_text().splitlines()]
    assert {Path(f["path"]).name: f["error"] for f in failures} == {
        "empty.wav": "EmptyAudioError",
        "notes.wav": "AudioDecodeError",
        "corrupt.flac": "AudioDecodeError",
    }
    assert set(failures[0]) == {"path", "error", "message"}
    assert "FAILED" in res.stderr and "empty.wav" in res.stderr
    assert "2 done, 0 skipped, 3 failed" in res.stderr  # the summary line
    # the same command again: everything good is skipped, the bad ones fail again
    res = run(str(mixed), "-o", str(out), "--model", str(model_dir), "--workers", "0", "-q")
    assert res.exit_code == 1 and "done" not in res.stderr  # --quiet: no summary
    assert len((out / "failures.jsonl").read_text().splitlines()) == 3


def test_all_good_exits_0_and_matches_the_extractor(
    model_dir: Path, mixed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    res = run(str(mixed / "good1.wav"), str(mixed / "sub"), "-o", str(out), "--model", str(model_dir),
              "--from-list", str(_list(tmp_path, [mixed / "good1.wav"])), "-q")  # fmt: skip
    assert res.exit_code == 1  # sub/ holds corrupt.flac
    res = run(str(mixed / "good1.wav"), "-o", str(tmp_path / "ok"), "--model", str(model_dir))
    assert res.exit_code == 0 and "1 done, 0 skipped, 0 failed" in res.stderr
    ext = Extractor.from_pretrained(model_dir)
    with np.load(tmp_path / "ok" / "good1.wav.npz") as f:
        np.testing.assert_allclose(f["embedding"], ext.embed(mixed / "good1.wav"), atol=1e-5)
        assert str(f["model_id"]) == str(model_dir)


def _list(tmp_path: Path, paths: list[Path]) -> Path:
    lst = tmp_path / "inputs.txt"
    lst.write_text("".join(f"{p}\n" for p in paths))
    return lst


def test_focus_output_is_the_slice_of_the_full_embedding(
    model_dir: Path, mixed: Path, tmp_path: Path
) -> None:
    good = str(mixed / "good1.wav")
    common = ["--model", str(model_dir), "--workers", "0", "--aggregate", "none", "-q"]
    assert run(good, "-o", str(tmp_path / "full"), *common).exit_code == 0
    res = run(good, "-o", str(tmp_path / "foc"), "--focus", "guitar", "--focus", "drums", *common)
    assert res.exit_code == 0
    with (
        np.load(tmp_path / "full" / "good1.wav.npz") as a,
        np.load(tmp_path / "foc" / "good1.wav.npz") as b,
    ):
        full, foc = a["embedding"], b["embedding"]
        assert foc.shape == (full.shape[0], 256)
        np.testing.assert_array_equal(
            foc, np.concatenate([full[:, 384:512], full[:, 0:128]], axis=1)
        )
        assert list(b["instruments"]) == ["guitar", "drums"]


def test_parquet_per_segment_table(model_dir: Path, mixed: Path, tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    out = tmp_path / "out"
    res = run(str(mixed / "good1.wav"), str(mixed / "sub" / "good2.flac"), "-o", str(out),
              "--model", str(model_dir), "--format", "parquet", "--aggregate", "none",
              "--focus", "bass", "--workers", "0", "-q")  # fmt: skip
    assert res.exit_code == 0
    df = pd.read_parquet(out / "embeddings.parquet")
    ext = Extractor.from_pretrained(model_dir)
    seg = ext.embed(mixed / "sub" / "good2.flac", focus="bass", aggregate=None)
    rows = df[df.relpath == "sub/good2.flac"]
    assert list(rows.segment) == list(range(len(seg)))
    np.testing.assert_allclose(np.stack(rows.embedding.to_numpy()), seg, atol=1e-5)


def test_unknown_focus_model_and_missing_inputs_are_usage_errors(
    model_dir: Path, mixed: Path, tmp_path: Path
) -> None:
    good = str(mixed / "good1.wav")
    res = run(good, "-o", str(tmp_path / "o"), "--model", str(model_dir), "--focus", "kazoo")
    assert res.exit_code == 2
    assert "kazoo" in res.output and "'drums'" in res.output and "'others'" in res.output
    assert "Traceback" not in res.output
    res = run(good, "-o", str(tmp_path / "o"), "--model", str(tmp_path / "no-such-model"))
    assert res.exit_code == 2
    assert "no-such-model" in res.output and "config.json" in res.output and "Hub" in res.output
    assert run("-o", str(tmp_path / "o")).exit_code == 2  # no inputs
    assert run(str(tmp_path / "missing.wav"), "-o", str(tmp_path / "o")).exit_code == 2
    res = run(good, "-o", str(tmp_path / "o"), "--model", str(model_dir), "--format", "csv")
    assert res.exit_code == 2 and "npz" in res.output and "parquet" in res.output
    (tmp_path / "file").write_text("x")
    res = run(good, "-o", str(tmp_path / "file"), "--model", str(model_dir))
    assert res.exit_code == 2 and "is a file" in res.output
    assert not (tmp_path / "o").exists()  # nothing was written by any of these


def test_list_from_stdin_and_cuda_without_gpu(model_dir: Path, mixed: Path, tmp_path: Path) -> None:
    listing = f"# inputs\n{mixed / 'good1.wav'}\n{mixed / 'sub' / 'good2.flac'}\n"
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main,
        ["extract", "--from-list", "-", "-o", str(out), "--model", str(model_dir), "-q"],
        input=listing,
    )
    assert res.exit_code == 0, res.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npz")) == [
        "good1.wav.npz",
        "sub/good2.flac.npz",
    ]
    import torch

    if not torch.cuda.is_available():
        res = run(
            str(mixed / "good1.wav"), "-o", str(out), "--model", str(model_dir), "--device", "cuda"
        )
        assert res.exit_code == 2 and "CUDA is not available" in res.output


def test_a_folder_without_audio_fails_naming_it(
    model_dir: Path, mixed: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "no-audio-here"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "readme.txt").write_text("no music\n")
    out = tmp_path / "out"
    res = run(str(empty), "-o", str(out), "--model", str(model_dir))
    assert res.exit_code == 1, res.output
    assert "no-audio-here" in res.stderr and "holds no audio file" in res.stderr
    (failure,) = [json.loads(x) for x in (out / "failures.jsonl").read_text().splitlines()]
    assert failure["error"] == "NoAudioFiles" and failure["path"] == str(empty)
    # next to a folder that has audio: the good file is embedded, the run still exits 1
    res = run(str(empty), str(mixed / "good1.wav"), "-o", str(out), "--model", str(model_dir))
    assert res.exit_code == 1 and "1 done" in res.stderr and "1 failed" in res.stderr


def test_default_model_missing_is_a_usage_error(
    mixed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import instsim.hub

    monkeypatch.setattr(
        instsim.hub, "bundled_model_dir", lambda name="default": tmp_path / "absent"
    )
    res = run(str(mixed / "good1.wav"), "-o", str(tmp_path / "o"))
    assert res.exit_code == 2 and "no default model is bundled" in res.output


def test_bundled_default_model_is_used_without_model_option(mixed: Path, tmp_path: Path) -> None:
    res = run(str(mixed / "good1.wav"), "-o", str(tmp_path / "o"))
    assert res.exit_code == 0, res.output
    with np.load(tmp_path / "o" / "good1.wav.npz") as z:
        assert z["embedding"].shape == (640,) and str(z["model_id"]) == "instsim/default"


# ---- killed with SIGKILL, then resumed ----------------------------------------------------
def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and SIGKILL")
@pytest.mark.parametrize("fmt", ["npz", "parquet"])
def test_killed_run_resumes_to_identical_outputs(
    fmt: str, model_dir: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    src = tmp_path_factory.getbasetemp() / "kill-inputs"
    if not src.exists():
        src.mkdir()
        for i in range(6):
            sf.write(src / f"a{i}.wav", music(3.0 + i, seed=10 + i), SR)
            sf.write(src / f"z{i}.wav", music(2.5 + i, seed=20 + i), SR)
        # a longer file in the middle keeps the run busy while it is killed
        sf.write(src / "m_long.flac", music(150.0, 48000, seed=5, channels=2), 48000)
    n = 13
    args = [str(src), "--model", str(model_dir), "--format", fmt, "--batch-size", "4", "-q"]
    ref = tmp_path / "ref"
    subprocess.run([*CLI, *args, "-o", str(ref), "--workers", "0"], check=True)

    out = tmp_path / "out"
    done = out / ("a0.wav.npz" if fmt == "npz" else ".instsim/parts")
    proc = subprocess.Popen([*CLI, *args, "-o", str(out), "--workers", "1"])
    deadline = time.monotonic() + 120
    while not (done.exists() and (fmt == "npz" or any(done.iterdir()))):
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended too soon"
        time.sleep(0.002)
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = list(out.rglob("*.npz")) if fmt == "npz" else list(done.iterdir())
    assert 0 < len(written) < n, "the kill came after the run finished"
    for p in out.rglob("*.npz"):  # whatever is in place is complete
        with np.load(p) as f:
            assert f["embedding"].shape == (640,)
    assert not (out / "embeddings.parquet").exists()
    deadline = time.monotonic() + 10  # orphaned decoding processes notice and exit
    while any(_alive(w) for w in workers):
        assert time.monotonic() < deadline, "decoding processes outlived their parent"
        time.sleep(0.05)

    res = subprocess.run([*CLI, *args, "-o", str(out), "--workers", "0"], capture_output=True)
    assert res.returncode == 0, res.stderr
    assert _tree(out) == _tree(ref)  # same files, same bytes
    assert len(_tree(ref)) == (n if fmt == "npz" else n + 1)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
