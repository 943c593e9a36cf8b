"""Sampled drum kits: Hydrogen drumkits (real recorded drums) played from General MIDI notes.

A Hydrogen drumkit is a folder with a ``drumkit.xml`` that lists instruments
("Pearl Kick", "Closed HH", "Tom Low" ...), each with one or more velocity layers
of recorded samples (WAV/FLAC). Debian's ``hydrogen-drumkits`` package installs
fourteen of them under :data:`HYDROGEN_DIR` (GPL-2(+), see its copyright file).

:func:`load_kit` reads a kit and names each instrument by its role (kick, snare,
closed hi-hat ...) from its name; :func:`render_drums` plays a drum part's General
MIDI notes (:mod:`instsim.data.compose`'s drum map) by sample playback: the
velocity picks the layer and scales it, an open hi-hat is choked by the next
closed or pedal hi-hat, and a note whose role the kit lacks falls back to a
related role (a pedal hat to the closed hat, a ride bell to the ride ...) or is
left out. Everything is deterministic: no random draw here.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import ConfigError

__all__ = ["HYDROGEN_DIR", "Kit", "cached_kit", "find_kits", "load_kit", "render_drums"]

#: Where Debian's ``hydrogen-drumkits`` package installs its kits.
HYDROGEN_DIR = Path("/usr/share/hydrogen/data/drumkits")

#: General MIDI drum notes -> role.
GM_ROLES: dict[int, str] = {
    35: "kick", 36: "kick", 37: "sidestick", 38: "snare", 40: "snare", 39: "clap",
    42: "hat_closed", 44: "hat_pedal", 46: "hat_open", 49: "crash", 57: "crash", 52: "crash",
    55: "crash", 51: "ride", 59: "ride", 53: "ride_bell", 41: "tom_low", 43: "tom_low",
    45: "tom_mid", 47: "tom_mid", 48: "tom_high", 50: "tom_high", 54: "tambourine",
    56: "cowbell", 69: "shaker", 70: "shaker", 60: "hand_high", 61: "hand_low", 62: "hand_high",
    63: "hand_high", 64: "hand_low", 75: "clave", 76: "woodblock", 77: "woodblock",
}  # fmt: skip

#: A role the kit lacks is played by the first of these it has (else the note is left out).
FALLBACK: dict[str, tuple[str, ...]] = {
    "hat_pedal": ("hat_closed",),
    "hat_open": ("hat_closed",),
    "hat_closed": ("hat_pedal", "hat_open"),
    "ride": ("ride_bell", "crash", "hat_open"),
    "ride_bell": ("ride", "cowbell"),
    "crash": ("ride", "hat_open"),
    "sidestick": ("snare",),
    "clap": ("snare",),
    "tom_low": ("tom_mid", "tom_high"),
    "tom_mid": ("tom_low", "tom_high"),
    "tom_high": ("tom_mid", "tom_low"),
    "hand_high": ("hand_low",),
    "hand_low": ("hand_high",),
    "woodblock": ("clave",),
    "clave": ("woodblock",),
}

_CHOKERS = ("hat_closed", "hat_pedal")
_FADE_S = 0.012  # choke fade of an open hi-hat [s]


def _role(name: str) -> str | None:
    """A kit instrument's role from its name, or ``None``."""
    n = name.lower()
    hat = "hat" in n or re.search(r"\bhh\b|hihat|\bhh[ _-]", n) is not None
    if hat:
        if "pedal" in n or "foot" in n or re.search(r"\bpd\b", n):
            return "hat_pedal"
        if "open" in n or re.search(r"\bop\b|semi", n):
            return "hat_open"
        return "hat_closed"
    table = (
        ("kick", ("kick", "bass drum", "bassdrum", "bd")),
        ("ride_bell", ("ride bell", "ride-cup", "ride cup", "bell")),
        ("ride", ("ride",)),
        ("crash", ("crash", "splash", "china", "cymbal")),
        ("sidestick", ("stick", "rim click")),
        ("snare", ("snare",)),
        ("clap", ("clap", "snap")),
        ("cowbell", ("cowbell",)),
        ("tambourine", ("tamb",)),
        ("shaker", ("shaker", "maraca")),
        ("clave", ("clave",)),
        ("woodblock", ("wood",)),
    )
    for role, keys in table:
        if any(re.search(rf"(^|[^a-z]){re.escape(k)}", n) for k in keys):
            return role
    if "tom" in n:
        if "floor" in n or "low" in n or re.search(r"\blo\b", n):
            return "tom_low"
        if "mid" in n:
            return "tom_mid"
        return "tom_high"
    if any(k in n for k in ("conga", "bongo", "djembe", "cajon")):
        return "hand_low" if any(k in n for k in ("low", "lo ", "bass", "thump")) else "hand_high"
    return None


@dataclass(frozen=True)
class Kit:
    """A sampled drum kit.

    Attributes
    ----------
    name : str
        The kit's name (its folder name).
    path : Path
        The kit folder.
    licence : str
        What ``drumkit.xml`` says (``""`` when silent).
    roles : dict of str -> list of (min_velocity, max_velocity, gain, file)
        Velocity layers (velocity as 0-1 fractions) of the first instrument of each role.
    """

    name: str
    path: Path
    licence: str
    roles: dict[str, tuple[tuple[float, float, float, Path], ...]]

    def playable(self) -> bool:
        """Kick, snare and a hi-hat or ride: enough to play a groove."""
        r = self.roles
        return "kick" in r and "snare" in r and any(k in r for k in ("hat_closed", "ride"))

    def layers(self, role: str) -> tuple[tuple[float, float, float, Path], ...] | None:
        for r in (role, *FALLBACK.get(role, ())):
            if r in self.roles:
                return self.roles[r]
        return None


def _text(el: ET.Element, tag: str, default: str = "") -> str:
    child = el.find(tag)
    return child.text.strip() if child is not None and child.text else default


def load_kit(path: str | os.PathLike[str]) -> Kit:
    """Read a Hydrogen drumkit folder (or its ``drumkit.xml``).

    Raises
    ------
    ConfigError
        Not a drumkit folder, unreadable XML, or no instrument with a sample file.
    """
    p = Path(path)
    folder = p.parent if p.name == "drumkit.xml" else p
    xml = folder / "drumkit.xml"
    if not xml.is_file():
        raise ConfigError(
            "hydrogen_kit", f"{str(folder)!r} is not a Hydrogen drumkit folder (no drumkit.xml)"
        )
    try:
        root = ET.parse(xml).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ConfigError(
            "hydrogen_kit", f"{str(xml)!r} is not readable drumkit XML: {exc}"
        ) from None
    for el in root.iter():  # drop the namespace: old and new kits differ
        el.tag = el.tag.rsplit("}", 1)[-1]
    roles: dict[str, tuple[tuple[float, float, float, Path], ...]] = {}
    for inst in root.iter("instrument"):
        role = _role(_text(inst, "name"))
        if role is None or role in roles:
            continue
        volume = float(_text(inst, "volume", "1") or 1)
        layers = []
        for layer in inst.findall("layer"):
            f = folder / _text(layer, "filename")
            if f.is_file() and f.stat().st_size > 64:
                layers.append((float(_text(layer, "min", "0")), float(_text(layer, "max", "1")),
                               volume * float(_text(layer, "gain", "1")), f))  # fmt: skip
        single = _text(inst, "filename")
        if (
            not layers
            and single
            and (folder / single).is_file()
            and (folder / single).stat().st_size > 64
        ):
            layers.append((0.0, 1.0, volume, folder / single))
        if layers:
            roles[role] = tuple(sorted(layers))
    if not roles:
        raise ConfigError(
            "hydrogen_kit", f"{str(folder)!r} has no drum instrument with a sample file"
        )
    return Kit(folder.name, folder, _text(root, "license"), roles)


def find_kits(root: str | os.PathLike[str] = HYDROGEN_DIR) -> list[Path]:
    """The playable Hydrogen kit folders under ``root`` (sorted by name); ``[]`` when none."""
    base = Path(root)
    if not base.is_dir():
        return []
    out = []
    for d in sorted(base.iterdir()):
        if (d / "drumkit.xml").is_file():
            try:
                if load_kit(d).playable():
                    out.append(d)
            except ConfigError:
                continue
    return out


@cache
def _sample(path: Path, sr: int) -> np.ndarray:
    """A sample as mono float32 at ``sr`` (cached per process)."""
    import soundfile as sf
    import soxr

    y, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    if file_sr != sr:
        y = soxr.resample(y, file_sr, sr, quality="HQ").astype(np.float32)
    return y


@cache
def cached_kit(path: str) -> Kit:
    """:func:`load_kit`, read once per process and path (the corpus renderer's loader)."""
    return load_kit(path)


def render_drums(
    notes: list[tuple[float, float, int, int]], kit: Kit | str | os.PathLike[str], sr: int, n: int
) -> np.ndarray:
    """Play a drum part on a sampled kit.

    Parameters
    ----------
    notes : list of (start [s], end [s], GM drum note, velocity 1-127)
    kit : Kit or path of a Hydrogen kit folder
    sr : int [Hz]
    n : int
        Output length in samples.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64]
    """
    if not isinstance(kit, Kit):
        kit = cached_kit(str(Path(kit)))
    out = np.zeros(n)
    choke_at = sorted(round(s * sr) for s, _, p, _ in notes if GM_ROLES.get(p) in _CHOKERS)
    fade = max(1, round(_FADE_S * sr))
    for start, _end, pitch, vel in notes:
        role = GM_ROLES.get(pitch)
        layers = kit.layers(role) if role else None
        if not layers:
            continue
        v = min(max(vel / 127.0, 0.0), 1.0)
        _, _, gain, f = next(
            (lay for lay in layers if lay[0] <= v <= lay[1]),
            min(layers, key=lambda lay: min(abs(v - lay[0]), abs(v - lay[1]))),
        )
        y = _sample(f, sr)
        at = round(start * sr)
        if at >= n:
            continue
        length = min(len(y), n - at)
        amp = gain * (0.25 + 0.75 * v) ** 1.6
        seg = y[:length].astype(np.float64) * amp
        if role == "hat_open" and "hat_open" in kit.roles:
            nxt = next((c for c in choke_at if c > at), None)
            if nxt is not None and nxt - at < length:
                stop = nxt - at
                seg = seg.copy()
                end = min(stop + fade, length)
                seg[stop:end] *= np.linspace(1.0, 0.0, end - stop)
                seg[end:] = 0.0
        out[at : at + length] += seg
    return out
