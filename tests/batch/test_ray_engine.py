"""The Ray engine (instsim.batch.ray_engine): same outputs as the local engine, on a local Ray.

Every test of the engine itself shares one ``ray.init(num_cpus=2)`` (module scope): a Ray
start costs seconds. The two-node cluster test runs in a subprocess of its own, joining
with ``--address``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from instsim import Extractor
from instsim.batch import extract_batch, make_engine
from instsim.cli import main
from instsim.errors import ConfigError, MissingExtraError
from tests.conftest import SR, music

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[2]
TINY = {"backbone": "unet", "backbone_kwargs": {"channels": [4, 8, 8, 16, 16, 16]}}
PROVENANCE = (
    "timestamps", "silent", "instruments", "duration", "model_id", "model_revision",
    "model_sha256", "sample_rate", "frontend", "segment_seconds", "hop_seconds", "aggregate",
    "subspace_dim", "instsim_version", "source", "relpath", "params", "source_stat",
)  # fmt: skip
TABLE = "embeddings.parquet"


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One local Ray for the module (2 CPUs, no dashboard); the engine joins it."""
    ray.init(
        address="local",  # a new Ray of its own, never one already running on the machine
        num_cpus=2,
        include_dashboard=False,
        logging_level="WARNING",
        _system_config={"worker_niceness": 0},  # as the engine's own local Ray
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("tiny-model")
    Extractor.from_config(TINY, seed=0).save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def tiny(model_dir: Path) -> Extractor:
    return Extractor.from_pretrained(model_dir, device="cpu")


@pytest.fixture(scope="module")
def songs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tracks at several rates and lengths (resampled, several batches each), a silent
    track and a file that is not audio."""
    root = tmp_path_factory.mktemp("songs") / "music"
    (root / "album").mkdir(parents=True)
    sf.write(root / "a.wav", music(6.0, seed=1), SR)
    sf.write(root / "album" / "b.flac", music(4.5, 44100, seed=2, channels=2), 44100)
    sf.write(root / "album" / "c.wav", music(9.0, 16000, seed=3), 16000)
    sf.write(root / "d.wav", music(3.2, seed=4), SR)
    sf.write(root / "quiet.wav", np.zeros(SR * 4, np.float32), SR)
    (root / "notes.wav").write_text("not audio at all\n" * 20)
    return root


def _cli(*args: str) -> object:
    return CliRunner().invoke(main, ["extract", *args], catch_exceptions=False)


def _table(path: Path) -> dict[str, object]:
    t = pq.read_table(path)
    return {
        "relpath": t.column("relpath").to_pylist(),
        "path": t.column("path").to_pylist(),
        "duration": t.column("duration").to_pylist(),
        "n_segments": t.column("n_segments").to_pylist(),
        "embedding": np.array(t.column("embedding").to_pylist(), dtype=np.float32),
        "meta": t.schema.metadata,
    }


def _failures(out: Path) -> list[dict[str, str]]:
    return [json.loads(x) for x in (out / "failures.jsonl").read_text().splitlines()]


def _same_tables(a: dict[str, object], b: dict[str, object]) -> None:
    for key in ("relpath", "path", "duration", "n_segments", "meta"):
        assert a[key] == b[key], key
    diff = np.abs(a["embedding"] - b["embedding"]).max()  # type: ignore[operator]
    assert diff <= 1e-5, diff


# ---- same results as the local engine -------------------------------------------------------
def test_parquet_cli_resumes_a_local_half_equal_to_local_with_failures_and_exit_code(
    local_ray: None, model_dir: Path, tiny: Extractor, songs: Path, tmp_path: Path
) -> None:
    """Cross-engine resume: the local engine embeds half, the Ray engine (CLI) the rest;
    the table, failures.jsonl and exit code are the local engine's."""
    common = [str(songs), "--model", str(model_dir), "--format", "parquet", "--batch-size", "8"]
    loc = _cli(*common, "-o", str(tmp_path / "local"), "--workers", "0", "-q")
    out = tmp_path / "ray"
    half = extract_batch([songs / "a.wav", songs / "album" / "b.flac"], out, tiny, fmt="parquet")
    assert half.done == 2
    res = _cli(*common, "-o", str(out), "--engine", "ray", "--num-workers", "1")
    assert loc.exit_code == res.exit_code == 1, res.output  # a failed input: exit 1, not a crash
    assert "2 done, 2 skipped, 2 failed" in res.output  # the summary line, as locally
    _same_tables(_table(tmp_path / "local" / TABLE), _table(out / TABLE))
    assert _failures(out) == _failures(tmp_path / "local")
    assert [f["error"] for f in _failures(out)] == ["AudioDecodeError", "SilentAudioError"]
    assert not (out / ".instsim" / "tmp").exists()


def test_relative_inputs_are_named_as_given_in_failures(
    local_ray: None, model_dir: Path, songs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers read absolute paths, but failures.jsonl names a relative input as the user
    gave it, in the message too, like the local engine."""
    monkeypatch.chdir(songs.parent)
    common = ["music", "--model", str(model_dir), "--format", "npz"]
    _cli(*common, "-o", str(tmp_path / "local"), "--workers", "0", "-q")
    _cli(*common, "-o", str(tmp_path / "ray"), "--engine", "ray", "--num-workers", "1", "-q")
    rows = _failures(tmp_path / "ray")
    assert rows == _failures(tmp_path / "local")
    assert [r["path"] for r in rows] == ["music/notes.wav", "music/quiet.wav"]
    assert all(str(songs) not in r["message"] for r in rows), rows


def test_npz_equals_local_and_a_rerun_skips_everything(
    local_ray: None, tiny: Extractor, songs: Path, tmp_path: Path
) -> None:
    kw = dict(aggregate="none", batch_size=8)
    loc = extract_batch([songs], tmp_path / "local", tiny, **kw)
    out = tmp_path / "ray"
    got = extract_batch([songs], out, tiny, engine="ray", num_workers=1, **kw)
    assert (
        (got.done, got.failed, got.exit_code) == (loc.done, loc.failed, loc.exit_code) == (4, 2, 1)
    )
    assert got.audio_seconds == pytest.approx(loc.audio_seconds)
    for a in sorted((tmp_path / "local").rglob("*.npz")):
        rel = a.relative_to(tmp_path / "local")
        with np.load(a) as x, np.load(out / rel) as y:
            assert x["embedding"].shape == y["embedding"].shape and x["embedding"].ndim == 2
            assert np.abs(x["embedding"] - y["embedding"]).max() <= 1e-5, rel
            for key in PROVENANCE:
                np.testing.assert_array_equal(x[key], y[key], err_msg=f"{rel}: {key}")
    stat = {p: p.stat().st_mtime_ns for p in out.rglob("*.npz")}
    again = extract_batch([songs], out, tiny, engine="ray", num_workers=1, **kw)
    assert (again.done, again.skipped, again.failed) == (0, 4, 2)  # bad files are retried
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.npz")} == stat  # nothing rewritten


# ---- fault tolerance ------------------------------------------------------------------------
def _descendants(pid: int) -> list[int]:
    """Processes below ``pid`` (this test's Ray: raylet, workers, actors), from /proc."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _actor_pids() -> list[int]:
    pids = []
    for p in _descendants(os.getpid()):
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                if b"MapBatches(_Embedder)" in f.read():
                    pids.append(p)
        except OSError:
            continue
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_the_actor_mid_run_loses_and_duplicates_nothing(
    local_ray: None, tiny: Extractor, tmp_path: Path
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    n = 14
    for i in range(n):
        sf.write(src / f"t{i:02d}.wav", music(10.0, seed=100 + i), SR)
    ref = extract_batch([src], tmp_path / "local", tiny, fmt="parquet", batch_size=2)
    out = tmp_path / "ray"
    box: dict[str, object] = {}

    def work() -> None:
        box["summary"] = extract_batch(
            [src], out, tiny, fmt="parquet", batch_size=2, engine="ray", num_workers=1
        )

    th = threading.Thread(target=work)
    th.start()
    killed: list[int] = []
    parts = out / ".instsim" / "parts"
    deadline = time.monotonic() + 120
    while th.is_alive() and not killed and time.monotonic() < deadline:
        done = len(list(parts.glob("*.parquet"))) if parts.is_dir() else 0
        pids = _actor_pids()
        if pids and 1 <= done < n:  # the actor has embedded some tracks, not all
            with open(f"/proc/{pids[0]}/cmdline", "rb") as f:
                assert b"_decode" not in f.read()  # decoding runs in tasks, not in the actor
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])
        time.sleep(0.02)
    th.join(timeout=150)
    assert not th.is_alive()
    assert killed, "the run ended before an actor could be killed mid-run"
    summary = box["summary"]
    assert (summary.done, summary.failed) == (n, 0)  # type: ignore[attr-defined]
    got = _table(out / TABLE)
    assert len(got["relpath"]) == len(set(got["relpath"])) == n  # type: ignore[arg-type]
    _same_tables(_table(tmp_path / "local" / TABLE), got)
    assert ref.done == n


# ---- without Ray, and the local engine without Ray ------------------------------------------
def test_without_ray_the_engine_is_exit_2_naming_the_extra(
    model_dir: Path, songs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if not installed
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main, ["extract", str(songs), "-o", str(out), "--model", str(model_dir), "--engine", "ray"]
    )
    assert res.exit_code == 2, res.output
    assert "instsim extract --engine ray needs" in res.output
    assert "pip install 'instsim[ray]'" in res.output and "Traceback" not in res.output
    assert not out.exists()
    with pytest.raises(MissingExtraError, match=r"instsim\[ray\]"):
        make_engine("ray")


def test_local_engine_does_not_import_ray(model_dir: Path, songs: Path, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from instsim.cli import main\n"
        "try:\n"
        f"    main(['extract', {str(songs / 'a.wav')!r}, '-o', {str(tmp_path / 'o')!r},\n"
        f"          '--model', {str(model_dir)!r}, '-q'])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "print('ray' in sys.modules, any(m.startswith('ray.') for m in sys.modules))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "False"]
    assert (tmp_path / "o" / "a.wav.npz").is_file()


def test_cpu_actors_must_leave_a_cpu_for_decoding(
    local_ray: None, tiny: Extractor, songs: Path, tmp_path: Path
) -> None:
    """2 CPU actors on a 2-CPU Ray would leave the decoding tasks waiting forever."""
    with pytest.raises(ConfigError, match=r"2 network actor\(s\) x 1 CPU.*has 2 CPU.*at most 1"):
        extract_batch([songs], tmp_path / "out", tiny, engine="ray", num_workers=2)


def test_engine_options_are_checked_at_the_door(
    model_dir: Path, songs: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="engine.*'local', 'ray'"):
        make_engine("spark")
    with pytest.raises(ConfigError, match="num_workers.*ray engine"):
        make_engine("local", num_workers=2)
    with pytest.raises(ConfigError, match="workers.*num_workers"):
        make_engine("ray", workers=2)
    with pytest.raises(ConfigError, match="num_gpus"):
        make_engine("ray", num_gpus=-1)
    with pytest.raises(ConfigError, match="num_workers"):
        make_engine("ray", num_workers=0)
    help_text = CliRunner().invoke(main, ["extract", "--help"]).output
    for option in ("--engine", "--address", "--num-workers", "--num-gpus", "instsim[ray]"):
        assert option in help_text
    out = tmp_path / "out"
    base = [str(songs), "-o", str(out), "--model", str(model_dir)]
    for args, text in (
        (["--num-workers", "2"], "--num-workers is an option of the ray engine"),
        (["--address", "auto"], "--address is an option of the ray engine"),
        (["--engine", "ray", "--workers", "2"], "--workers is an option of the local engine"),
    ):
        res = CliRunner().invoke(main, ["extract", *base, *args])
        assert res.exit_code == 2 and text in res.output, res.output
    assert not out.exists()


# ---- a cluster of two nodes, joined with --address ------------------------------------------
_CLUSTER = """
import subprocess, sys
from ray.cluster_utils import Cluster

cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
cluster.add_node(num_cpus=1)  # 2 CPUs: the actor's and the decoding tasks' (on either node)
cluster.wait_for_nodes()
try:
    import ray
    ray.init(address=cluster.address)
    nodes = [n for n in ray.nodes() if n["Alive"]]
    ray.shutdown()
    print("NODES", len(nodes), flush=True)
    rc = subprocess.run([sys.executable, "-m", "instsim", "extract", *sys.argv[1:],
                         "--engine", "ray", "--address", cluster.address, "--num-workers", "1"])
    print("RC", rc.returncode, flush=True)
finally:
    cluster.shutdown()
"""


def test_two_node_cluster_joined_by_address(
    tiny: Extractor, model_dir: Path, songs: Path, tmp_path: Path
) -> None:
    good = [str(songs / g) for g in ("a.wav", "album/b.flac", "album/c.wav", "d.wav")]
    args = [*good, "--model", str(model_dir), "--format", "parquet", "-q"]
    res = subprocess.run(
        [sys.executable, "-c", _CLUSTER, *args, "-o", str(tmp_path / "ray")],
        capture_output=True,
        text=True,
        timeout=170,
        cwd=ROOT,
        env={**os.environ, "RAY_worker_niceness": "0"},  # workers at the test's priority
    )
    assert "NODES 2" in res.stdout and "RC 0" in res.stdout, res.stdout + res.stderr[-3000:]
    extract_batch(good, tmp_path / "local", tiny, fmt="parquet")
    _same_tables(_table(tmp_path / "local" / TABLE), _table(tmp_path / "ray" / TABLE))
