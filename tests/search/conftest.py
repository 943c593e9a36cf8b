"""Small synthetic feature dumps in extract's documented schemas (npz per track, parquet)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from instsim.batch import write_npz

NAMES = ("drums", "bass", "piano", "guitar", "others")
D = 8
SHA = "a" * 64


def normalised(x: np.ndarray) -> np.ndarray:
    v = x.reshape(*x.shape[:-1], len(NAMES), D)
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).reshape(x.shape).astype(np.float32)


def write_track(
    path: Path, vec: np.ndarray, source: str, sha: str = SHA, names=NAMES, model="m"
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_npz(
        path,
        {
            "embedding": np.asarray(vec, np.float32),
            "instruments": np.array(names, dtype=str),
            "model_id": np.array(model),
            "model_revision": np.array(""),
            "model_sha256": np.array(sha),
            "subspace_dim": np.int64(D),
            "source": np.array(source),
            "relpath": np.array(source),
        },
    )
    return path


def write_table(path: Path, vecs: np.ndarray, sources: list[str], sha: str = SHA) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = {"model_id": "m", "model_revision": None, "model_sha256": sha,
            "instruments": list(NAMES), "subspace_dim": D}  # fmt: skip
    table = pa.table(
        {"path": sources, "relpath": sources, "embedding": [list(map(float, v)) for v in vecs]},
        schema=pa.schema(
            [
                ("path", pa.string()),
                ("relpath", pa.string()),
                ("embedding", pa.list_(pa.float32())),
            ]
        ).with_metadata({b"instsim": json.dumps(meta).encode()}),
    )
    pq.write_table(table, path)
    return path


@pytest.fixture
def vecs(rng: np.random.Generator) -> np.ndarray:
    return normalised(rng.standard_normal((60, len(NAMES) * D)))


@pytest.fixture
def dumps(tmp_path: Path, vecs: np.ndarray) -> Path:
    """40 tracks as npz files in a folder, 20 more in one parquet table."""
    root = tmp_path / "features"
    for i in range(40):
        write_track(root / f"a/t{i:02d}.wav.npz", vecs[i], f"music/a/t{i:02d}.wav")
    write_table(
        root / "embeddings.parquet", vecs[40:], [f"music/b/t{i:02d}.wav" for i in range(40, 60)]
    )
    return root
