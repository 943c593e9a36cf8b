"""Sampled drum kits (Hydrogen format) played from General MIDI drum notes."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from instsim.data.drumkits import find_kits, load_kit, render_drums
from instsim.errors import ConfigError

SR = 22050

XML = """<?xml version="1.0" encoding="UTF-8"?>
<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit">
 <name>Test Kit</name>
 <license>CC0</license>
 <instrumentList>
{instruments}
 </instrumentList>
</drumkit_info>
"""


def _tone(freq: float, seconds: float, amp: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    return (amp * np.cos(2 * np.pi * freq * t) * np.exp(-t * 3)).astype(np.float32)


def make_kit(root, name="kit", layered=True, roles=("Kick", "Snare", "Closed HH", "Open HH")):
    d = root / name
    d.mkdir()
    parts = []
    for i, inst in enumerate(roles):
        if layered:
            sf.write(d / f"{i}_soft.wav", _tone(100 + 100 * i, 0.5, 0.1), SR)
            hard_sr = 44100 if i == 0 else SR
            sf.write(d / f"{i}_hard.wav", _tone(100 + 100 * i, 0.5, 0.8, hard_sr), hard_sr)
            layers = (
                f"<layer><filename>{i}_soft.wav</filename><min>0</min><max>0.5</max><gain>1</gain></layer>"
                f"<layer><filename>{i}_hard.wav</filename><min>0.5</min><max>1</max><gain>1</gain></layer>"
            )
            parts.append(
                f"<instrument><id>{i}</id><name>{inst}</name><volume>1</volume>{layers}</instrument>"
            )
        else:  # the old format: one <filename> per instrument
            sf.write(d / f"{i}.flac", _tone(100 + 100 * i, 0.5), SR)
            parts.append(
                f"<instrument><id>{i}</id><filename>{i}.flac</filename><name>{inst}</name>"
                "<volume>1</volume></instrument>"
            )
    (d / "drumkit.xml").write_text(XML.format(instruments="\n".join(parts)))
    return d


def test_roles_from_names_and_both_formats(tmp_path):
    for layered in (True, False):
        kit = load_kit(make_kit(tmp_path, f"k{layered}", layered))
        assert {"kick", "snare", "hat_closed", "hat_open"} <= set(kit.roles)
        assert kit.playable()
        assert kit.licence == "CC0"
    # a pedal hat falls back to the closed hat; a missing cowbell has no fallback
    assert kit.layers("hat_pedal") == kit.roles["hat_closed"]
    assert kit.layers("cowbell") is None


def test_velocity_picks_the_layer_and_scales(tmp_path):
    kit = load_kit(make_kit(tmp_path))
    soft = render_drums([(0.0, 0.1, 36, 30)], kit, SR, SR)
    hard = render_drums([(0.0, 0.1, 36, 120)], kit, SR, SR)
    assert 0 < np.abs(soft).max() < np.abs(hard).max() / 4
    # the 44.1 kHz hard layer is resampled: 0.5 s of sample stays 0.5 s
    nz = np.flatnonzero(np.abs(hard) > 1e-6)
    assert abs(nz[-1] / SR - 0.5) < 0.01


def test_notes_land_where_they_start_and_output_has_length(tmp_path):
    kit = load_kit(make_kit(tmp_path))
    y = render_drums([(0.25, 0.3, 38, 100), (5.0, 5.1, 36, 100)], kit, SR, SR)  # 2nd after the end
    assert y.shape == (SR,)
    first = np.flatnonzero(np.abs(y) > 1e-6)[0]
    assert first == round(0.25 * SR)


def test_open_hat_is_choked_by_the_closed_hat(tmp_path):
    kit = load_kit(make_kit(tmp_path))
    ring = render_drums([(0.0, 0.1, 46, 100)], kit, SR, SR)
    choked = render_drums([(0.0, 0.1, 46, 100), (0.1, 0.2, 42, 1)], kit, SR, SR)
    closed = render_drums([(0.1, 0.2, 42, 1)], kit, SR, SR)
    tail = slice(round(0.2 * SR), round(0.45 * SR))
    assert np.abs(ring[tail]).max() > 0.05
    assert np.abs((choked - closed)[tail]).max() < 1e-9


def test_unknown_notes_are_left_out(tmp_path):
    kit = load_kit(make_kit(tmp_path))
    assert not render_drums([(0.0, 0.1, 81, 100)], kit, SR, SR).any()  # open triangle: no role


def test_bad_kits_are_refused_with_the_path(tmp_path):
    with pytest.raises(ConfigError, match="no drumkit.xml"):
        load_kit(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "drumkit.xml").write_text("<drumkit_info><unclosed>")
    with pytest.raises(ConfigError, match="bad"):
        load_kit(bad)


def test_find_kits_keeps_playable_kits_only(tmp_path):
    make_kit(tmp_path, "full")
    make_kit(tmp_path, "hands", roles=("Conga Hi", "Shaker"))
    assert [p.name for p in find_kits(tmp_path)] == ["full"]
    assert find_kits(tmp_path / "missing") == []
