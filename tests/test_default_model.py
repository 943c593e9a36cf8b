"""The bundled default model: loads offline with no argument, embeds, and its sub-spaces follow
their instrument on the example clips (A's drums over B's rest is A-like on drums, B-like elsewhere)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import instsim
from instsim import Extractor
from instsim.hub import bundled_model_dir

AUDIO = Path(__file__).resolve().parents[1] / "examples" / "audio"


@pytest.fixture(scope="module")
def default() -> Extractor:
    return Extractor.from_pretrained()


@pytest.fixture(scope="module")
def clips(default: Extractor) -> dict[str, np.ndarray]:
    return {p.stem: default.embed(p) for p in sorted(AUDIO.glob("*.flac"))}


def test_bundled_files_and_card() -> None:
    folder = bundled_model_dir()
    assert {"config.json", "model.safetensors", "README.md"} <= {p.name for p in folder.iterdir()}
    assert (folder / "model.safetensors").stat().st_size < 12_000_000  # float16 storage
    card = (folder / "README.md").read_text()
    assert card.startswith("---\n") and "library_name: instsim" in card
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["instruments"] == list(instsim.INSTRUMENTS) and cfg["subspace_dim"] == 128
    # v4.1: the drums sub-space reads the percussive part of the mix (docs/results.md)
    assert cfg["inputs"] == {"drums": "percussive"} and cfg["frontend"]["hpss_stride"] == 4


def test_bundled_card_is_the_docs_model_card() -> None:
    """The card shipped with the weights (and pushed to the Hub) says what docs/model-card.md
    says: a re-export after editing the docs cannot be forgotten."""
    docs = Path(__file__).resolve().parents[1] / "docs" / "model-card.md"
    card = (bundled_model_dir() / "README.md").read_text()
    body = card.split("\n---\n", 1)[1]  # after the YAML header
    assert body.strip() == docs.read_text().strip()


def test_loads_offline_with_no_argument() -> None:
    code = (
        "import instsim, sys; v = instsim.embed(sys.argv[1], focus='bass'); print(v.shape, v.dtype)"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_ENDPOINT="http://127.0.0.1:9")
    out = subprocess.run(
        [sys.executable, "-c", code, str(AUDIO / "song_a.flac")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "(128,) float32"


def test_embed_shapes(default: Extractor, clips: dict[str, np.ndarray]) -> None:
    assert default.model_id == "instsim/default"
    assert all(v.shape == (640,) and v.dtype == np.float32 for v in clips.values())
    seg = instsim.embed(AUDIO / "song_c.flac", aggregate=None)
    assert seg.shape == (12, 640)


def test_drums_subspace_follows_the_drums(default: Extractor, clips: dict[str, np.ndarray]) -> None:
    a, b, mixed = clips["song_a"], clips["song_b"], clips["song_a_drums_over_b"]
    # the pseudo-mix shares A's drums: on drums it is closer to A than B is ...
    assert default.similarity(a, mixed, focus="drums") > default.similarity(b, mixed, focus="drums")
    # ... and shares B's bass, piano/guitar and others: on "others" it is closer to B
    assert default.similarity(b, mixed, focus="others") > default.similarity(
        a, mixed, focus="others"
    )
