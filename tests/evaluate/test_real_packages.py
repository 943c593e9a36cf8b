"""The real-audio check on the installed Debian packages' recordings (installed by .ci/run).

Not skipped when the packages are missing: the check's recipe needs them, so a
machine without them fails here with the install command.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from instsim import load_audio
from instsim.evaluate.realset import build_set
from instsim.evaluate.realsources import CATALOGUE, PACKAGES, installed_sources

pytestmark = pytest.mark.slow


def test_every_catalogued_recording_is_installed_and_decodes() -> None:
    missing = [s.path for s in CATALOGUE if not Path(s.path).is_file()]
    assert not missing, (
        f"{len(missing)} catalogued recordings missing (first: {missing[0]}); "
        f"apt-get install {' '.join(PACKAGES)}"
    )
    for s in CATALOGUE:
        y, _ = load_audio(s.path, sr=22050)
        assert len(y) > 0.5 * 22050 and np.sqrt(np.mean(y**2)) > 1e-3, s.id


def test_a_real_set_records_the_packages_licences(tmp_path: Path) -> None:
    assert len(installed_sources()) == len(CATALOGUE), f"apt-get install {' '.join(PACKAGES)}"
    m = build_set(tmp_path / "set", focus=["drums", "guitar"], draws=1, n_stems=3, n_rests=3,
                  seconds=3.0)  # fmt: skip
    assert len(m["mixes"]) == 18
    for info in m["sources"].values():
        assert info["licence"] == PACKAGES[info["package"]].licence
    assert set(m["packages"]) <= set(PACKAGES)
    assert {p["licence"] for p in m["packages"].values()} <= {"CC0-1.0", "GPL-2+"}
