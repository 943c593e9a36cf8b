"""The corpus generator's diversity options: grammars, Hydrogen kits, production chains."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from instsim.cli import main
from instsim.data import synth as S
from instsim.errors import ConfigError, DatasetError
from instsim.instruments import INSTRUMENTS

from .test_drumkits import make_kit

SR = 16000
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_kit(tmp_path_factory.mktemp("kits"), "Sampled")


def test_default_is_unchanged_by_the_new_options() -> None:
    a = S.synthesize_song((3, 1), 3.0, sample_rate=SR)
    b = S.synthesize_song(
        (3, 1), 3.0, sample_rate=SR, grammars=None, hydrogen_kits=[], production=False
    )
    assert np.array_equal(a.mix, b.mix)
    assert "grammar" not in a.metadata["instsim"]


def test_grammar_drawn_from_the_seed_and_recorded() -> None:
    names = {
        S.synthesize_song((5, k), 2.0, sample_rate=SR, grammars=["band", "electronic"]).metadata[
            "instsim"
        ]["grammar"]
        for k in range(8)
    }
    assert names == {"band", "electronic"}
    with pytest.raises(ConfigError, match="valid"):
        S.synthesize_song((5, 0), 2.0, sample_rate=SR, grammars=["polka"])


@pytest.mark.parametrize("grammar", ["rock", "funk", "latin", "ballad"])
def test_later_grammars_render_all_five_groups(grammar: str) -> None:
    song = S.synthesize_song((6, 0), 3.0, sample_rate=SR, grammars=[grammar])
    assert song.metadata["instsim"]["grammar"] == grammar
    assert {stem.group for stem in song.stems.values()} == set(INSTRUMENTS)
    for name, stem in song.stems.items():
        assert np.abs(stem.audio).max() > 0.01, (name, stem.group)


def test_hydrogen_kits_play_drum_parts(kit: Path) -> None:
    used = []
    for k in range(12):
        song = S.synthesize_song((9, k), 3.0, sample_rate=SR, hydrogen_kits=[kit])
        for stem in song.stems.values():
            if stem.group == "drums":
                used.append(stem.metadata["plugin_name"])
                if stem.metadata["render"].get("hydrogen_kit") == "Sampled":
                    assert np.abs(stem.audio).max() > 0.01
                    assert stem.metadata["render"]["kit_licence"] == "CC0"
    assert any(u.startswith("Sampled") for u in used)
    assert any(u.startswith("FluidR3") for u in used)  # the SoundFont's kits stay in the draw


def test_production_chain_is_recorded_and_changes_the_stems() -> None:
    plain = S.synthesize_song((4, 2), 3.0, sample_rate=SR)
    prod = S.synthesize_song((4, 2), 3.0, sample_rate=SR, production=True)
    again = S.synthesize_song((4, 2), 3.0, sample_rate=SR, production=True)
    assert np.array_equal(prod.mix, again.mix)
    assert not np.array_equal(plain.mix, prod.mix)
    chains = [s.metadata["render"]["production"] for s in prod.stems.values()]
    assert any(chains) and all(isinstance(c, list) for c in chains)
    # stems still add up to the mix exactly (16-bit integers)
    total = sum(np.rint(s.audio * 32768).astype(np.int32) for s in prod.stems.values())
    assert np.array_equal(np.clip(total, -32768, 32767), np.rint(prod.mix * 32768).astype(np.int32))


def test_corpus_records_the_options_and_refuses_others(tmp_path: Path, kit: Path) -> None:
    out = tmp_path / "c"
    S.synthesize_corpus(out, 2, seconds=2.0, seed=1, sample_rate=SR, grammars=["jazz"],
                        hydrogen_kits=[kit], production=True)  # fmt: skip
    info = json.loads((out / "corpus.json").read_text())
    assert info["grammars"] == ["jazz"] and info["production"] is True
    assert info["hydrogen_kit"] == [str(kit)]
    with pytest.raises(DatasetError, match="grammars"):
        S.synthesize_corpus(out, 2, seconds=2.0, seed=1, sample_rate=SR, grammars=["band"])


def test_cli_options(tmp_path: Path, kit: Path) -> None:
    out = tmp_path / "cli"
    r = CliRunner().invoke(main, ["synth", "--out", str(out), "--songs", "1", "--seconds", "2",
                                  "--sr", str(SR), "--splits", "1,0,0", "--workers", "1",
                                  "--grammar", "band", "--hydrogen-kit", str(kit), "--production"])  # fmt: skip
    assert r.exit_code == 0, r.output
    info = json.loads((out / "corpus.json").read_text())
    assert info["grammars"] == ["band"] and info["production"] is True
    bad = CliRunner().invoke(main, ["synth", "--out", str(tmp_path / "x"), "--songs", "1",
                                    "--hydrogen-kit", str(tmp_path)])  # fmt: skip
    assert bad.exit_code == 2 and "drumkit.xml" in bad.output
