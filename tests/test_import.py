"""``import instsim`` stays light: no torch-heavy or optional libraries until they are used."""

from __future__ import annotations

import subprocess
import sys


def test_import_is_light() -> None:
    code = (
        "import sys, instsim;"
        "heavy = [m for m in ('torch', 'mirdata', 'essentia', 'sklearn', 'click', 'pretty_midi', "
        "'fluidsynth', 'pyarrow', 'matplotlib', 'huggingface_hub') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_api_listed() -> None:
    import instsim

    for name in instsim.__all__:
        assert getattr(instsim, name) is not None, name
    assert callable(instsim.embed) and isinstance(instsim.__version__, str)
