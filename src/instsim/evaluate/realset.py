"""Build the real-audio check's set: grids of mixes ``c-stem_i + rest_j`` from real recordings.

For each focus instrument ``c`` and each seeded draw, :func:`build_set` picks
``n_stems`` recordings of ``c`` (at most one per family) and ``n_rests``
distinct *rests* made of recordings of other instruments, and writes every
``stem_i + rest_j`` of the grid. So every mix has ``n_rests - 1`` other mixes
with the same ``c`` recording (over other accompaniments) and ``n_stems - 1``
with the same rest (under other ``c`` recordings): a sub-space that follows its
instrument finds the former nearest, one that follows the accompaniment the latter.

A rest is two recordings of two different instruments, neither ``c``: for
``c = drums`` two tonal parts (drum-less accompaniment); for any other ``c`` a
drum loop plus one tonal part, as in most songs (or, with ``drums_in_rest=False``,
two tonal parts: no drums at all, to see whether the drums are what a sub-space follows).

Stems are cut to ``seconds`` from a random start, or looped when shorter (drum
loops repeat as loops do; a held chord repeats). Loops keep their own tempi:
nothing is tempo-matched, since the check is about timbre, not rhythm. Each part
is brought to the same RMS, then given a random gain in ``±gain_db``; the mix is
scaled to a 0.9 peak and written as 16-bit FLAC at ``sample_rate``.

``manifest.json`` in the output folder lists every mix (draw, focus, the ``c``
source, the rest's sources, gains, offsets) and every source used (package,
licence, origin), so the set is reproducible and its licences are on record.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import _validate
from ..errors import ConfigError, DatasetError, UnknownInstrumentError
from ..instruments import INSTRUMENTS
from .realsources import PACKAGES, RealSource, installed_sources

__all__ = ["FOCUS_INSTRUMENTS", "MANIFEST", "build_set", "load_manifest"]

#: Instruments a focus may be; "others" is only ever part of a rest.
FOCUS_INSTRUMENTS = ("drums", "bass", "piano", "guitar")
MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class _Loader:
    """Decode each source once (mono, ``sr``), RMS-normalised; bad files raise naming them."""

    def __init__(self, sr: int) -> None:
        self.sr = sr
        self._cache: dict[str, np.ndarray] = {}

    def __call__(self, src: RealSource) -> np.ndarray:
        if src.id not in self._cache:
            from ..audio import load_audio

            y, _ = load_audio(src.path, sr=self.sr)
            rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))
            if rms < 1e-5:
                raise DatasetError(f"source {src.id!r} ({src.path}) is silent; remove it")
            self._cache[src.id] = (y / rms).astype(np.float32)
        return self._cache[src.id]


def _excerpt(y: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """``n`` samples of ``y`` from a random start, looping ``y`` when it is shorter."""
    if len(y) >= n:
        start = int(rng.integers(0, len(y) - n + 1))
        return y[start : start + n], start
    start = int(rng.integers(0, len(y)))
    reps = -(-(n + start) // len(y))
    return np.tile(y, reps)[start : start + n], start


def _draw_rests(
    pools: dict[str, list[RealSource]],
    focus: str,
    n: int,
    rng: np.random.Generator,
    drums_in_rest: bool,
) -> list[tuple[RealSource, RealSource]]:
    """``n`` distinct pairs of sources of two different instruments other than ``focus``.

    With ``drums_in_rest`` (and ``focus != "drums"``) the first of each pair is a drum loop.
    """
    tonal = [i for i in INSTRUMENTS if i not in (focus, "drums") and pools.get(i)]
    with_drums = drums_in_rest and focus != "drums"
    # tonal pairs in name order (a < b), so draws stay the same as the set first measured
    pairs = [("drums", b) for b in tonal] if with_drums else [
        (a, b) for a in tonal for b in tonal if a < b
    ]  # fmt: skip
    candidates = [(x, y) for a, b in pairs for x in pools[a] for y in pools[b]]
    if len(candidates) < n:
        raise DatasetError(
            f"focus {focus!r}: only {len(candidates)} distinct rests can be made from the "
            f"installed sources, {n} asked; lower n_rests or install more sources"
        )
    pick = rng.choice(len(candidates), size=n, replace=False)
    return [candidates[int(k)] for k in pick]


def _draw_stems(pool: list[RealSource], n: int, rng: np.random.Generator) -> list[RealSource]:
    """Up to ``n`` sources of ``pool``, at most one per family."""
    by_family: dict[str, list[RealSource]] = {}
    for s in pool:
        by_family.setdefault(s.family_key, []).append(s)
    families = sorted(by_family)
    order = rng.permutation(len(families))[: min(n, len(families))]
    out = []
    for k in order:
        members = by_family[families[int(k)]]
        out.append(members[int(rng.integers(len(members)))])
    return out


def build_set(
    out_dir: str | Path,
    *,
    sources: Sequence[RealSource] | None = None,
    focus: Sequence[str] = FOCUS_INSTRUMENTS,
    draws: int = 10,
    seed: int = 0,
    n_stems: int = 8,
    n_rests: int = 10,
    seconds: float = 6.0,
    sample_rate: int = 22050,
    gain_db: float = 3.0,
    drums_in_rest: bool = True,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write the real-audio check's mixes and ``manifest.json`` into ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Created; must not already hold a manifest unless ``overwrite``.
    sources : sequence of RealSource or None
        ``None``: the installed part of :data:`~instsim.evaluate.realsources.CATALOGUE`.
    focus : sequence of str
        Instruments to build grids for (from :data:`FOCUS_INSTRUMENTS`).
    draws : int > 0
        Seeded draws; draw ``d`` uses ``numpy.random.default_rng([seed, d, focus index])``.
    n_stems, n_rests : int >= 2
        Grid size per focus and draw. A focus with fewer families than ``n_stems``
        uses all of them (the manifest records the real size); fewer than 2 is an error.
    seconds : float [s]
        Length of each mix (at least one 3 s model segment).
    sample_rate : int [Hz]
    gain_db : float [dB] >= 0
        Each part's gain is drawn uniformly in ``[-gain_db, +gain_db]`` after RMS levelling.
    drums_in_rest : bool
        For a focus other than drums, make each rest a drum loop plus one tonal part
        (default, as in most songs); ``False``: two tonal parts, no drums anywhere.
    progress : callable ``(done, total)`` or None

    Returns
    -------
    dict
        The manifest (also written to ``out_dir/manifest.json``).

    Raises
    ------
    UnknownInstrumentError
        A focus outside :data:`FOCUS_INSTRUMENTS`.
    ConfigError
        A bad size, length or gain.
    DatasetError
        No sources installed, too few for a focus, or a silent file.
    AudioDecodeError
        A source file cannot be decoded.
    """
    import soundfile as sf

    focus = list(focus)
    for f in focus:
        if f not in FOCUS_INSTRUMENTS:
            raise UnknownInstrumentError(f, FOCUS_INSTRUMENTS)
    if not focus:
        raise ConfigError("focus", f"is empty; valid: {', '.join(FOCUS_INSTRUMENTS)}")
    draws = _validate.integer("draws", draws, minimum=1)
    n_stems = _validate.integer("n_stems", n_stems, minimum=2)
    n_rests = _validate.integer("n_rests", n_rests, minimum=2)
    sample_rate = _validate.integer("sample_rate", sample_rate, minimum=8000)
    if not (isinstance(seconds, (int, float)) and np.isfinite(seconds) and seconds >= 3.0):
        raise ConfigError("seconds", f"must be >= 3.0 (one model segment), got {seconds!r}")
    if not (isinstance(gain_db, (int, float)) and 0 <= gain_db <= 24):
        raise ConfigError("gain_db", f"must be in [0, 24] dB, got {gain_db!r}")
    out = Path(out_dir)
    if (out / MANIFEST).exists() and not overwrite:
        raise DatasetError(
            f"{out / MANIFEST} exists; choose another folder or rebuild with overwrite=True (CLI: --overwrite)"
        )

    srcs = list(installed_sources() if sources is None else sources)
    if not srcs:
        raise DatasetError(
            "no real recordings found: install the Debian packages "
            f"{' and '.join(PACKAGES)} (apt-get install {' '.join(PACKAGES)}) or pass sources"
        )
    for s in srcs:
        if s.instrument not in INSTRUMENTS:
            raise UnknownInstrumentError(s.instrument, INSTRUMENTS)
    if len({s.id for s in srcs}) != len(srcs):
        raise DatasetError("sources: two sources share an id; ids must be unique")
    pools: dict[str, list[RealSource]] = {
        i: [s for s in srcs if s.instrument == i] for i in INSTRUMENTS
    }
    for f in focus:
        n_fam = len({s.family_key for s in pools[f]})
        if n_fam < 2:
            raise DatasetError(
                f"focus {f!r}: {n_fam} source famil{'y' if n_fam == 1 else 'ies'} of {f!r} "
                "available, at least 2 needed for a grid"
            )

    load = _Loader(sample_rate)
    n = round(seconds * sample_rate)
    mixes: list[dict[str, Any]] = []
    used: dict[str, RealSource] = {}
    total = draws * len(focus)
    for d in range(draws):
        for fi, f in enumerate(focus):
            rng = np.random.default_rng([seed, d, FOCUS_INSTRUMENTS.index(f)])
            stems = _draw_stems(pools[f], n_stems, rng)
            rests = _draw_rests(pools, f, n_rests, rng, drums_in_rest)
            folder = out / f"draw-{d:02d}" / f
            folder.mkdir(parents=True, exist_ok=True)
            for i, stem in enumerate(stems):
                for j, rest in enumerate(rests):
                    parts, offsets, gains = [], [], []
                    for src in (stem, *rest):
                        y, start = _excerpt(load(src), n, rng)
                        g = float(rng.uniform(-gain_db, gain_db))
                        parts.append(y * 10 ** (g / 20))
                        offsets.append(round(start / sample_rate, 4))
                        gains.append(round(g, 3))
                        used[src.id] = src
                    mix = np.sum(parts, axis=0)
                    mix *= 0.9 / max(float(np.abs(mix).max()), 1e-9)
                    rel = f"draw-{d:02d}/{f}/mix-s{i:02d}-r{j:02d}.flac"
                    sf.write(out / rel, mix.astype(np.float32), sample_rate, subtype="PCM_16")
                    mixes.append(
                        {
                            "file": rel,
                            "draw": d,
                            "focus": f,
                            "stem": stem.id,
                            "rest": [r.id for r in rest],
                            "rest_id": "+".join(r.id for r in rest),
                            "offsets_seconds": offsets,
                            "gains_db": gains,
                        }
                    )
            if progress is not None:
                progress(d * len(focus) + fi + 1, total)

    manifest = {
        "format_version": FORMAT_VERSION,
        "settings": {
            "focus": focus,
            "draws": draws,
            "seed": seed,
            "n_stems": n_stems,
            "n_rests": n_rests,
            "seconds": float(seconds),
            "sample_rate": sample_rate,
            "gain_db": float(gain_db),
            "drums_in_rest": bool(drums_in_rest),
        },
        "packages": {
            p.name: {"licence": p.licence, "note": p.licence_note}
            for p in PACKAGES.values()
            if any(s.package == p.name for s in used.values())
        },
        "sources": {
            s.id: {
                "path": s.path,
                "instrument": s.instrument,
                "package": s.package,
                "licence": s.licence,
                "kind": s.kind,
                "family": s.family_key,
                "origin": s.origin,
            }
            for s in sorted(used.values(), key=lambda s: s.id)
        },
        "mixes": mixes,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def load_manifest(set_dir: str | Path) -> dict[str, Any]:
    """Read and check ``set_dir/manifest.json`` (written by :func:`build_set`).

    Raises
    ------
    DatasetError
        Missing or malformed manifest, or a listed mix file that is missing.
    """
    path = Path(set_dir) / MANIFEST
    if not path.is_file():
        raise DatasetError(
            f"{path} not found: build the set first (instsim real-check build {set_dir})"
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise DatasetError(f"{path}: not a real-check manifest of format {FORMAT_VERSION}")
    need = ("file", "draw", "focus", "stem", "rest_id")
    for k, m in enumerate(manifest.get("mixes", [])):
        if not isinstance(m, dict) or any(key not in m for key in need):
            raise DatasetError(f"{path}: mix #{k} lacks one of {', '.join(need)}")
        if not (Path(set_dir) / m["file"]).is_file():
            raise DatasetError(f"{path}: mix file {m['file']!r} is missing")
    if not manifest.get("mixes"):
        raise DatasetError(f"{path}: lists no mixes")
    return manifest
