"""A synthetic multitrack corpus in Slakh2100's layout, rendered with FluidSynth.

Songs are composed procedurally (:mod:`instsim.data.compose`), each part is
rendered alone with FluidSynth into a mono stem, lightly and reproducibly
"produced" (reverb, chorus, EQ, filters, level), loudness-normalised, mixed,
and written the way Slakh2100 is::

    OUT/
      corpus.json                      generator parameters, per-split track ids
      train/Track00001/
        mix.flac                       the sum of the stems
        stems/S00.flac ... S0N.flac    one mono stem per part
        MIDI/S00.mid ... S0N.mid       the notes of each stem
        all_src.mid                    all parts in one MIDI file
        metadata.yaml                  Slakh's keys (UUID, stems: {S00: {inst_class, program_num, ...}})
      validation/Track000NN/...
      test/Track000NN/...

Audio is 16-bit PCM FLAC (:data:`SUBTYPE`), mono, at the requested sample rate.
The mix is the *integer* sum of the 16-bit stems, so the decoded stems add up to
the decoded mix exactly (to float rounding). Stems are loudness-normalised to
:data:`NORMALIZATION_LUFS` plus a per-part level, summed, and the same
``overall_gain`` is then applied to every stem so the mix peaks at
:data:`TARGET_PEAK_DB` dBFS: nothing clips.

Song ``k`` of a corpus with seed ``s`` is composed and produced from the seed
``(s, k)`` alone, so a corpus is the same bit for bit whatever the number of
worker processes, and a corpus can be extended (``start_index``) or resumed.

``pretty_midi`` and ``fluidsynth`` (the ``synth`` extra) load on first use.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError, DatasetError, ParameterError
from ..instruments import INSTRUMENTS
from . import compose as _compose
from .groups import group_of

if TYPE_CHECKING:
    from .sampler import SamplePack

__all__ = [
    "DEFAULT_SOUNDFONT",
    "NORMALIZATION_LUFS",
    "SPLITS",
    "SUBTYPE",
    "TARGET_PEAK_DB",
    "CorpusSummary",
    "HeldOutDataWarning",
    "Song",
    "Stem",
    "TrackSummary",
    "check_kit_soundfonts",
    "check_soundfont",
    "check_soundfonts",
    "integrated_loudness",
    "read_corpus_info",
    "synthesize_corpus",
    "synthesize_song",
]

#: The soundfont used when none is given (Debian's ``fluid-soundfont-gm``).
DEFAULT_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
#: Sample format of every FLAC file.
SUBTYPE = "PCM_16"
#: Peak level of every mix [dBFS] (Slakh's ``target_peak``).
TARGET_PEAK_DB = -1.0
#: Loudness every stem is normalised to before its part level [LUFS] (Slakh's ``normalization_factor``).
NORMALIZATION_LUFS = -13.0
#: Split folders, in track-number order.
SPLITS: tuple[str, ...] = ("train", "validation", "test")
CORPUS_FILE = "corpus.json"
GENERATOR = "instsim.data.synth"

_BLOCK = 64  # FluidSynth renders in blocks of 64 samples
# Drum notes a kit SoundFont plays as another: Acoustic Bass Drum (35) as Bass Drum 1 (36),
# as single-kit SoundFonts such as avldrums sound General MIDI keys 36-61 only.
_KIT_NOTES = {35: 36}


# ---------------------------------------------------------------------------
# validation


def check_soundfont(path: str | os.PathLike[str] | None) -> Path:
    """Resolve and check a SoundFont 2 file.

    Parameters
    ----------
    path : path or None
        ``None`` means :data:`DEFAULT_SOUNDFONT`.

    Returns
    -------
    Path
        The absolute path.

    Raises
    ------
    ConfigError
        The file is missing, unreadable or not a SoundFont 2 (``RIFF....sfbk``) file.
    """
    hint = " (install Debian's fluid-soundfont-gm or pass a .sf2 path)" if path is None else ""
    return _check_sf2(DEFAULT_SOUNDFONT if path is None else path, "soundfont", hint)


def _check_sf2(path: str | os.PathLike[str], field: str, hint: str = "") -> Path:
    """The file checks of :func:`check_soundfont`, reported under the config field ``field``."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(field, f"{str(p)!r} does not exist or is not a file{hint}")
    try:
        with open(p, "rb") as fh:
            head = fh.read(12)
    except OSError as exc:
        raise ConfigError(field, f"cannot read {str(p)!r}: {exc.strerror or exc}") from None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise ConfigError(field, f"{str(p)!r} is not a SoundFont 2 (.sf2) file")
    return p.resolve()


def check_soundfonts(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None,
) -> list[Path]:
    """:func:`check_soundfont` for one path, ``None`` (the default) or several paths."""
    if paths is None or isinstance(paths, (str, os.PathLike)):
        return [check_soundfont(paths)]
    out = [check_soundfont(p) for p in paths]
    if not out:
        raise ConfigError("soundfont", "an empty list of SoundFonts; give at least one")
    if len(set(out)) != len(out):
        raise ConfigError("soundfont", f"a SoundFont is listed twice: {[str(p) for p in out]}")
    return out


def check_kit_soundfonts(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None,
    sample_rate: int = 44100,
) -> list[Path]:
    """Resolve and check drum-kit-only SoundFonts (``kit_soundfonts=``, ``--kit-soundfont``).

    Each file gets the checks of :func:`check_soundfont`, is loaded by FluidSynth
    and must hold at least one preset: its first one (lowest bank, then preset
    number) is the kit drum parts are rendered with.

    Parameters
    ----------
    paths : path, sequence of paths, or None
        ``None`` or an empty sequence means no kit SoundFont.
    sample_rate : int [Hz]
        Rate of the (cached, per-process) synthesizer that loads them.

    Returns
    -------
    list of Path
        The absolute paths, in the given order (empty for none).

    Raises
    ------
    ConfigError
        A file is missing, unreadable, not a SoundFont 2 file, not loadable by
        FluidSynth, holds no preset, or is listed twice (field ``kit_soundfont``).
    """
    if paths is None:
        return []
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    out = [_check_sf2(p, "kit_soundfont") for p in items]
    if len(set(out)) != len(out):
        raise ConfigError(
            "kit_soundfont", f"a kit SoundFont is listed twice: {[str(p) for p in out]}"
        )
    for p in out:
        try:
            first = _kit_preset(str(p), sample_rate)
        except ConfigError:
            raise ConfigError("kit_soundfont", f"FluidSynth could not load {str(p)!r}") from None
        if first is None:
            raise ConfigError(
                "kit_soundfont",
                f"{str(p)!r} holds no preset; a kit SoundFont must hold a drum kit",
            )
    return out


def _check_params(n_songs: int, seconds: float, seed: int, sample_rate: int, split_fractions: Sequence[float],
                  workers: int, start_index: int) -> tuple[float, float, float]:  # fmt: skip
    def is_int(v: object) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if not is_int(n_songs) or n_songs < 1:
        raise ConfigError("n_songs", f"must be an integer >= 1, got {n_songs!r}")
    if not is_int(start_index) or start_index < 0 or start_index + n_songs > 99999:
        raise ConfigError(
            "start_index", f"must be an integer in [0, {99999 - n_songs}], got {start_index!r}"
        )
    if not is_int(seed) or seed < 0:
        raise ConfigError("seed", f"must be a non-negative integer, got {seed!r}")
    if not is_int(workers) or workers < 0:
        raise ConfigError("workers", f"must be an integer >= 0 (0 = all cores), got {workers!r}")
    _check_song(seconds, sample_rate)
    fr = tuple(float(f) for f in split_fractions)
    if len(fr) != 3 or any(not math.isfinite(f) or f < 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
        raise ConfigError(
            "split_fractions",
            f"must be three non-negative fractions (train, validation, test) summing to 1, got {split_fractions!r}",
        )
    return fr  # type: ignore[return-value]


def _check_song(seconds: float, sample_rate: int) -> None:
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not (0 < seconds < math.inf)
    ):
        raise ConfigError("seconds", f"must be a positive number of seconds, got {seconds!r}")
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, (int, np.integer))
        or not (8000 <= sample_rate <= 96000)
    ):
        raise ConfigError(
            "sample_rate",
            f"must be an integer in [8000, 96000] Hz (FluidSynth's range), got {sample_rate!r}",
        )


# ---------------------------------------------------------------------------
# signal processing


def _biquad(kind: str, f0: float, sr: int, q: float = 0.7071, gain_db: float = 0.0) -> np.ndarray:
    """One second-order section (RBJ audio-EQ cookbook) as a row ``[b0, b1, b2, 1, a1, a2]``."""
    a = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * f0 / sr
    cw, sw = math.cos(w0), math.sin(w0)
    alpha = sw / (2.0 * q)
    if kind == "lowpass":
        b = [(1 - cw) / 2, 1 - cw, (1 - cw) / 2]
        den = [1 + alpha, -2 * cw, 1 - alpha]
    elif kind == "highpass":
        b = [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2]
        den = [1 + alpha, -2 * cw, 1 - alpha]
    elif kind == "peak":
        b = [1 + alpha * a, -2 * cw, 1 - alpha * a]
        den = [1 + alpha / a, -2 * cw, 1 - alpha / a]
    elif kind == "lowshelf":
        s = 2 * math.sqrt(a) * alpha
        b = [
            a * ((a + 1) - (a - 1) * cw + s),
            2 * a * ((a - 1) - (a + 1) * cw),
            a * ((a + 1) - (a - 1) * cw - s),
        ]
        den = [
            (a + 1) + (a - 1) * cw + s,
            -2 * ((a - 1) + (a + 1) * cw),
            (a + 1) + (a - 1) * cw - s,
        ]
    elif kind == "highshelf":
        s = 2 * math.sqrt(a) * alpha
        b = [
            a * ((a + 1) + (a - 1) * cw + s),
            -2 * a * ((a - 1) + (a + 1) * cw),
            a * ((a + 1) + (a - 1) * cw - s),
        ]
        den = [(a + 1) - (a - 1) * cw + s, 2 * ((a - 1) - (a + 1) * cw), (a + 1) - (a - 1) * cw - s]
    else:  # pragma: no cover - internal
        raise ParameterError("kind", repr(kind))
    return np.array([*(x / den[0] for x in b), 1.0, den[1] / den[0], den[2] / den[0]])


def _k_weighting(sr: int) -> np.ndarray:
    """BS.1770 K-weighting (pre-filter shelf + RLB high-pass) at any rate, as two SOS rows.

    Analog prototypes re-derived for arbitrary rates by the bilinear transform
    (B. De Man's derivation); at 48 kHz they give the coefficients of the standard.
    """
    k = math.tan(math.pi * 1681.974450955533 / sr)
    q = 0.7071752369554196
    vh = 10.0 ** (3.999843853973347 / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
             1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]  # fmt: skip
    k = math.tan(math.pi * 38.13547087602444 / sr)
    q = 0.5003270373238773
    a0 = 1.0 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, highpass])


def integrated_loudness(y: np.ndarray, sr: int) -> float:
    """Integrated loudness of a mono signal by ITU-R BS.1770-4 [LUFS].

    K-weighting, 400 ms blocks with 75 % overlap, absolute gate at -70 LUFS and
    relative gate 10 LU below the ungated mean.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,)]
    sr : int > 0 [Hz]

    Returns
    -------
    float [LUFS]
        ``-inf`` when every block is below the absolute gate (silence).
    """
    from scipy.signal import sosfilt

    sos = _k_weighting(sr)
    z = np.square(sosfilt(sos, np.asarray(y, dtype=np.float64)))
    block, hop = round(0.4 * sr), round(0.1 * sr)
    if z.size < block:
        return -math.inf
    csum = np.concatenate([[0.0], np.cumsum(z)])
    starts = np.arange(0, z.size - block + 1, hop)
    power = (csum[starts + block] - csum[starts]) / block
    with np.errstate(divide="ignore"):
        lk = -0.691 + 10.0 * np.log10(power)
    gated = power[lk > -70.0]
    if gated.size == 0:
        return -math.inf
    rel = -0.691 + 10.0 * math.log10(gated.mean()) - 10.0
    gated = power[(lk > -70.0) & (lk > rel)]
    return float(-0.691 + 10.0 * math.log10(gated.mean()))


def _draw_effects(rng: np.random.Generator, group: str) -> dict[str, Any]:
    """Per-stem production settings (augmentation) from the stem's own random stream."""
    reverb_on = rng.random() < 0.75
    chorus_on = rng.random() < (0.1 if group in ("drums", "bass") else 0.4)
    max_send = {"bass": 50, "drums": 90}.get(group, 127)
    lp_floor = {"drums": 6000.0, "bass": 1200.0, "piano": 3000.0, "guitar": 3000.0}.get(
        group, 2500.0
    )

    def logu(lo: float, hi: float) -> float:
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))

    fx: dict[str, Any] = {
        "reverb": {
            "room_size": round(float(rng.uniform(0.1, 0.95)), 4),
            "damping": round(float(rng.uniform(0.0, 0.9)), 4),
            "width": round(float(rng.uniform(0.0, 100.0)), 3),
            "level": round(float(rng.uniform(0.1, 0.9)), 4) if reverb_on else 0.0,
        },
        "reverb_send": int(rng.integers(15, max_send + 1)) if reverb_on else 0,
        "chorus": {
            "voices": int(rng.integers(2, 7)),
            "level": round(float(rng.uniform(0.5, 3.0)), 4) if chorus_on else 0.0,
            "speed_hz": round(float(rng.uniform(0.2, 2.0)), 4),
            "depth_ms": round(float(rng.uniform(2.0, 12.0)), 4),
            "waveform": str(rng.choice(["sine", "triangle"])),
        },
        "chorus_send": int(rng.integers(40, 128)) if chorus_on else 0,
        "eq": {
            "low_shelf": {
                "freq_hz": round(logu(80, 300), 2),
                "gain_db": round(float(rng.uniform(-5, 5)), 3),
            },
            "peak": {
                "freq_hz": round(logu(300, 5000), 2),
                "q": round(float(rng.uniform(0.5, 2.0)), 3),
                "gain_db": round(float(rng.uniform(-5, 5)), 3),
            },
            "high_shelf": {
                "freq_hz": round(logu(3000, 10000), 2),
                "gain_db": round(float(rng.uniform(-5, 5)), 3),
            },
            "lowpass_hz": round(logu(lp_floor, 16000), 2) if rng.random() < 0.25 else None,
            "highpass_hz": (
                round(logu(40, 200 if group != "drums" else 80), 2)
                if group != "bass" and rng.random() < (0.1 if group == "drums" else 0.25)
                else None
            ),
        },
    }
    return fx


def _apply_eq(y: np.ndarray, sr: int, eq: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
    """Apply the EQ of :func:`_draw_effects`; filters above 0.45 * sr are skipped (and recorded as such)."""
    from scipy.signal import sosfilt

    nyq_ok = 0.45 * sr
    rows, applied = [], {}
    for key, kind in (("low_shelf", "lowshelf"), ("peak", "peak"), ("high_shelf", "highshelf")):
        band = eq[key]
        ok = band["freq_hz"] < nyq_ok
        applied[key] = ok
        if ok:
            rows.append(_biquad(kind, band["freq_hz"], sr, band.get("q", 0.7071), band["gain_db"]))
    for key, kind in (("lowpass_hz", "lowpass"), ("highpass_hz", "highpass")):
        f = eq[key]
        ok = f is not None and f < nyq_ok
        applied[key] = bool(ok)
        if ok:
            rows.append(_biquad(kind, f, sr))
    out = sosfilt(np.stack(rows), y) if rows else y
    return out, applied


# ---------------------------------------------------------------------------
# FluidSynth


@cache
def _write_float() -> Any:
    import fluidsynth

    fn = fluidsynth._fl.fluid_synth_write_float
    vp, ci = ctypes.c_void_p, ctypes.c_int
    fn.argtypes = [vp, ci, vp, ci, ci, vp, ci, ci]
    fn.restype = ci
    return fn


@cache
def _anchor(soundfont: str, sample_rate: int) -> tuple[Any, int]:
    """A synth kept alive per process so FluidSynth's sample cache keeps the soundfont in memory."""
    import fluidsynth

    fs = fluidsynth.Synth(samplerate=float(sample_rate), channels=16)
    sfid = fs.sfload(soundfont)
    if sfid < 0:
        raise ConfigError("soundfont", f"FluidSynth could not load {soundfont!r}")
    return fs, sfid


@cache
def _kit_preset(soundfont: str, sample_rate: int) -> tuple[int, int, str] | None:
    """The first preset (lowest bank 0-128, then number) of a SoundFont as ``(bank, preset,
    name)``, or ``None`` when it holds none: the kit a kit SoundFont renders drum parts with."""
    fs, sfid = _anchor(soundfont, sample_rate)
    for bank in range(129):
        for preset in range(128):
            name = fs.sfpreset_name(sfid, bank, preset)
            if name:
                return bank, preset, name
    return None


def _one_or_list(values: list[str]) -> str | list[str]:
    """One SoundFont is recorded as a string (as before several were possible), more as a list."""
    return values[0] if len(values) == 1 else values


def _has_preset(soundfont: str, sample_rate: int, bank: int, preset: int) -> bool:
    fs, sfid = _anchor(soundfont, sample_rate)
    return bool(fs.sfpreset_name(sfid, bank, preset))


def _choose_soundfont(
    soundfonts: Sequence[Path],
    part: _compose.Part,
    seed_list: list[int],
    sample_rate: int,
    kits: Sequence[Path] = (),
    hydrogen: Sequence[Path] = (),
) -> tuple[Path, bool | str]:
    """The SoundFont one part is rendered with, and whether it is a kit SoundFont.

    With several SoundFonts, a seeded uniform choice among those holding the part's
    exact preset (drum kits in bank 128); with one, that one. A drum part with kit
    SoundFonts draws (the same way) among those main SoundFonts plus every kit
    SoundFont and every Hydrogen kit (returned with ``"hydrogen"``). Without kit
    SoundFonts or Hydrogen kits the choice is what it always was.
    """
    kits = list(kits) if part.is_drum else []
    hydrogen = list(hydrogen) if part.is_drum else []
    if len(soundfonts) == 1 and not kits and not hydrogen:
        return soundfonts[0], False
    bank = 128 if part.is_drum else 0
    fits = [sf for sf in soundfonts if _has_preset(str(sf), sample_rate, bank, part.program)]
    if not kits and not hydrogen:
        fits = fits or list(soundfonts[:1])
    choices: list[tuple[Path, bool | str]] = [(sf, False) for sf in fits]
    choices += [(sf, True) for sf in kits] + [(h, "hydrogen") for h in hydrogen]
    rng = np.random.default_rng([*seed_list, 0x50F7, part.index])
    return choices[int(rng.integers(len(choices)))]


def _render_part(
    part: _compose.Part, fx: dict[str, Any], soundfont: str, sr: int, n: int, kit: bool = False
) -> tuple[np.ndarray, dict[str, Any]]:
    """Render one part alone into a mono float64 signal of exactly ``n`` samples.

    A fresh synthesizer per stem (cheap: the sample data stays cached by the
    per-process anchor synth) makes every stem independent of what the process
    rendered before, which keeps the corpus bit-identical across worker counts.

    ``kit=True`` (a drum part, ``soundfont`` a kit SoundFont) plays the SoundFont's
    first preset on the drum channel. It is selected by SoundFont id, bank and
    number (``fluid_synth_program_select``), which FluidSynth honours on the drum
    channel whatever the bank; a bank select + program change there would look in
    bank 128 only, find nothing in a bank-0 kit, and render silence. Its notes go
    through :data:`_KIT_NOTES` (recorded as ``kit_note_map``).
    """
    import fluidsynth

    _anchor(soundfont, sr)
    rev, cho = fx["reverb"], fx["chorus"]
    settings = {
        "synth.reverb.active": 1 if rev["level"] > 0 else 0,
        "synth.chorus.active": 1 if cho["level"] > 0 else 0,
        "synth.reverb.room-size": float(rev["room_size"]),
        "synth.reverb.damp": float(rev["damping"]),
        "synth.reverb.width": float(rev["width"]),
        "synth.reverb.level": float(rev["level"]),
        "synth.chorus.nr": int(cho["voices"]),
        "synth.chorus.level": float(cho["level"]),
        "synth.chorus.speed": float(cho["speed_hz"]),
        "synth.chorus.depth": float(cho["depth_ms"]),
    }
    fs = fluidsynth.Synth(samplerate=float(sr), channels=16, **settings)
    try:
        sfid = fs.sfload(soundfont)
        chan = 9 if part.is_drum else 0
        if kit:
            first = _kit_preset(soundfont, sr)
            if first is None or fs.program_select(chan, sfid, first[0], first[1]) != 0:
                raise ConfigError("kit_soundfont", f"FluidSynth cannot play a kit of {soundfont!r}")
            bank, preset, name = first
        else:
            bank = 128 if part.is_drum else 0
            preset = part.program
            if fs.program_select(chan, sfid, bank, preset) != 0:
                preset = 0
                fs.program_select(chan, sfid, bank, preset)
            name = fs.sfpreset_name(sfid, bank, preset) or ""
        fs.cc(chan, 91, int(fx["reverb_send"]))
        fs.cc(chan, 93, int(fx["chorus_send"]))
        note_map = _KIT_NOTES if kit else {}
        events = []
        for start, end, pitch, vel in part.notes:
            pitch = note_map.get(pitch, pitch)
            events.append((round(start * sr), 1, pitch, vel))
            events.append((round(end * sr), 0, pitch, 0))
        events.sort()
        n_pad = -(-n // _BLOCK) * _BLOCK
        left = np.zeros(n_pad, dtype=np.float32)
        right = np.zeros(n_pad, dtype=np.float32)
        lp, rp = left.ctypes.data, right.ctypes.data
        write = _write_float()
        pos = 0
        for at, kind, pitch, vel in [*events, (n_pad, -1, 0, 0)]:
            at = min(at, n_pad)
            if at > pos:
                write(fs.synth, at - pos, lp, pos, 1, rp, pos, 1)
                pos = at
            if kind == 1:
                fs.noteon(chan, pitch, vel)
            elif kind == 0:
                fs.noteoff(chan, pitch)
    finally:
        fs.delete()
    y = (left[:n].astype(np.float64) + right[:n]) * 0.5
    patch = {"bank": bank, "preset": int(preset), "preset_name": name}
    if kit:
        patch["kit_note_map"] = dict(note_map)
    return y, patch


# ---------------------------------------------------------------------------
# songs


@dataclass
class Stem:
    """One rendered stem.

    Attributes
    ----------
    name : str
        ``"S00"``, ``"S01"``, ...
    audio : np.ndarray [shape=(n_samples,), dtype=float32]
        Exactly what the 16-bit FLAC file holds (``int16 / 32768``).
    group : str
        ``drums``, ``bass``, ``piano``, ``guitar`` or ``others``.
    metadata : dict
        The stem's entry of ``metadata.yaml``.
    part : compose.Part
        Its notes (seconds) and patch.
    """

    name: str
    audio: np.ndarray
    group: str
    metadata: dict[str, Any]
    part: _compose.Part


@dataclass
class Song:
    """One synthesized multitrack, in memory.

    Attributes
    ----------
    stems : dict of str -> Stem
        Keyed ``"S00"``, ``"S01"`` ...
    mix : np.ndarray [shape=(n_samples,), dtype=float32]
        The sum of the stems (exactly, in 16-bit integers).
    sample_rate : int [Hz]
    seconds : float [s]
    metadata : dict
        The whole ``metadata.yaml``.
    score : compose.Score
    """

    stems: dict[str, Stem]
    mix: np.ndarray
    sample_rate: int
    seconds: float
    metadata: dict[str, Any]
    score: _compose.Score

    @property
    def groups(self) -> set[str]:
        """The groups that have at least one stem."""
        return {s.group for s in self.stems.values()}

    def midi(self, stems: Sequence[str] | None = None) -> Any:
        """A ``pretty_midi.PrettyMIDI`` with the notes of some stems (all by default)."""
        import pretty_midi

        sc = self.score
        pm = pretty_midi.PrettyMIDI(initial_tempo=float(sc.tempo))
        pm.time_signature_changes.append(pretty_midi.TimeSignature(sc.beats_per_bar, 4, 0.0))
        minor = sc.mode in ("minor", "dorian")
        pm.key_signature_changes.append(
            pretty_midi.KeySignature(sc.key + (12 if minor else 0), 0.0)
        )
        for name in stems if stems is not None else list(self.stems):
            part = self.stems[name].part
            inst = pretty_midi.Instrument(
                program=int(part.program), is_drum=part.is_drum, name=name
            )
            inst.notes = [
                pretty_midi.Note(int(v), int(p), float(s), float(e)) for s, e, p, v in part.notes
            ]
            pm.instruments.append(inst)
        return pm

    def write(self, track_dir: str | os.PathLike[str]) -> Path:
        """Write the Slakh layout (mix, stems, MIDI, all_src.mid, metadata.yaml) into ``track_dir``."""
        import soundfile as sf
        import yaml

        d = Path(track_dir)
        (d / "stems").mkdir(parents=True, exist_ok=True)
        (d / "MIDI").mkdir(exist_ok=True)
        for name, stem in self.stems.items():
            sf.write(
                d / "stems" / f"{name}.flac",
                _pcm16(stem.audio),
                self.sample_rate,
                subtype=SUBTYPE,
                format="FLAC",
            )
            self.midi([name]).write(str(d / "MIDI" / f"{name}.mid"))
        sf.write(d / "mix.flac", _pcm16(self.mix), self.sample_rate, subtype=SUBTYPE, format="FLAC")
        self.midi().write(str(d / "all_src.mid"))
        with open(d / "metadata.yaml", "w", encoding="utf-8") as fh:
            yaml.safe_dump(self.metadata, fh, sort_keys=True, default_flow_style=False)
        return d


def _to_int16(x: np.ndarray) -> np.ndarray:
    """Round [-1, 1) floats to 16-bit integers."""
    return np.round(np.asarray(x, dtype=np.float64) * 32768.0).astype(np.int16)


def _pcm16(audio: np.ndarray) -> np.ndarray:
    """16-bit integers of a float32 stem or mix (exact for the values :class:`Song` holds)."""
    scaled = np.rint(np.asarray(audio, dtype=np.float32) * np.float32(32768.0))
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def _seed_list(song_seed: int | Sequence[int]) -> list[int]:
    items = [song_seed] if np.isscalar(song_seed) else list(song_seed)  # type: ignore[arg-type]
    ok = items and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0 for v in items
    )
    if not ok:
        raise ConfigError(
            "song_seed", f"must be a non-negative integer or a sequence of them, got {song_seed!r}"
        )
    return [int(v) for v in items]


def _check_kits(
    kit_soundfonts: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None,
    sf2s: Sequence[Path],
    sample_rate: int,
) -> list[Path]:
    """:func:`check_kit_soundfonts`, and none of them also a main SoundFont."""
    kits = check_kit_soundfonts(kit_soundfonts, sample_rate)
    both = [str(p) for p in kits if p in sf2s]
    if both:
        raise ConfigError(
            "kit_soundfont",
            f"{both} listed both as SoundFont and as kit SoundFont; a kit SoundFont holds "
            "drum kits only (its first preset is played on the drum channel)",
        )
    return kits


def _draw_grammar(grammars: Sequence[str] | None, seed_list: list[int]) -> str | None:
    """The song's composition grammar, drawn from its seed; ``None`` without ``grammars``."""
    if grammars is None:
        return None
    names = list(grammars)
    valid = _compose.GRAMMARS
    bad = [g for g in names if g not in valid]
    if not names or bad:
        raise ConfigError(
            "grammars", f"unknown or empty grammar list {names!r}; valid: {list(valid)}"
        )
    rng = np.random.default_rng([*seed_list, 0x6A33])
    return names[int(rng.integers(len(names)))]


def _check_arrangements(
    root: str | os.PathLike[str] | None, share: float | None, fractions: Sequence[float]
) -> tuple[Any, dict[str, list[str]], float]:
    """The scanned POP909 set, its per-split pools and the share (``None, {}, 0`` without it)."""
    if root is None:
        if share is not None:
            raise ConfigError(
                "arrangement_share", "is only used with arrangements (--arrangements DIR)"
            )
        return None, {}, 0.0
    share = 0.5 if share is None else share
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise ConfigError("arrangement_share", f"must be a fraction in [0, 1], got {share!r}")
    from .arrangements import scan_arrangements, split_song_ids

    found = scan_arrangements(root)
    if not found.song_ids:
        shown = "; ".join(f"{k}: {v}" for k, v in list(found.skipped.items())[:3])
        raise ConfigError(
            "arrangements",
            f"no usable song in {str(root)!r} ({len(found.skipped)} skipped, e.g. {shown})",
        )
    return found, split_song_ids(found.song_ids, fractions), float(share)


def _check_midi(
    roots: Sequence[str | os.PathLike[str]] | None,
    share: float | None,
    arrangement_share: float,
    fractions: Sequence[float],
    seconds: float,
) -> tuple[list[Any], dict[str, list[str]], float]:
    """The scanned MIDI collections (by name), their per-split pools and the share
    (``[], {}, 0`` without collections)."""
    if not roots:
        if share is not None:
            raise ConfigError(
                "midi_share", "is only used with MIDI collections (--midi-collection DIR)"
            )
        return [], {}, 0.0
    share = 0.5 if share is None else share
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise ConfigError("midi_share", f"must be a fraction in [0, 1], got {share!r}")
    if arrangement_share + share > 1 + 1e-9:
        raise ConfigError(
            "midi_share",
            f"arrangement_share ({arrangement_share:g}) + midi_share ({share:g}) is "
            f"{arrangement_share + share:g}; the two shares of real songs may not exceed 1",
        )
    from .midi_collection import scan_collection, split_files

    folders = sorted({str(Path(r).expanduser().resolve()) for r in roots})
    colls = [scan_collection(f, seconds) for f in folders]
    names = [c.name for c in colls]
    if len(set(names)) != len(names):
        raise ConfigError(
            "midi_collection",
            f"two collections have the same name in their collection.yaml: {sorted(names)}",
        )
    colls.sort(key=lambda c: c.name)
    return colls, split_files(colls, fractions), float(share)


def _check_hydrogen(kits: Sequence[str | os.PathLike[str]] | None) -> list[Path]:
    """Hydrogen kit folders, each checked to be a playable kit."""
    from .drumkits import cached_kit

    out = []
    for k in kits or ():
        kit = cached_kit(str(k))
        if not kit.playable():
            raise ConfigError(
                "hydrogen_kit",
                f"{str(k)!r} lacks a kick, a snare or a hi-hat/ride: it cannot play a groove",
            )
        out.append(Path(k))
    return out


def _check_packs(
    packs: Sequence[str | os.PathLike[str] | SamplePack] | None, share: float | None
) -> tuple[list[SamplePack], float]:
    """The sample packs (merged, sorted by name) and the share; ``[], 0`` without packs."""
    if not packs:
        if share is not None:
            raise ConfigError(
                "sample_pack_share", "is only used with sample packs (--sample-pack DIR)"
            )
        return [], 0.0
    share = 0.5 if share is None else share
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise ConfigError("sample_pack_share", f"must be a fraction in [0, 1], got {share!r}")
    from .sampler import SamplePack, cached_packs

    loaded = [p for p in packs if isinstance(p, SamplePack)]
    folders = tuple(str(p) for p in packs if not isinstance(p, SamplePack))
    if folders:
        loaded += cached_packs(folders)
    names = [p.name for p in loaded]
    if len(set(names)) != len(names):
        raise ConfigError("sample_pack", f"a sample pack is given twice: {sorted(names)}")
    return sorted(loaded, key=lambda p: p.name), float(share)


def _choose_pack(
    packs: Sequence[SamplePack], share: float, part: _compose.Part, seed_list: list[int]
) -> SamplePack | None:
    """The sample pack a melodic part is rendered with, or ``None`` (its SoundFont).

    Drawn from a stream of its own (nothing else reads it): with probability ``share``
    one of the packs covering the part (:meth:`~instsim.data.sampler.SamplePack.covers`:
    its program, every note within reach of the sampled range), uniformly.
    """
    if not packs or part.is_drum:
        return None
    covering = [p for p in packs if p.covers(part.program, [n[2] for n in part.notes])]
    if not covering:
        return None
    rng = np.random.default_rng([*seed_list, 0x5A3B, part.index])
    if rng.random() >= share:
        return None
    return covering[int(rng.integers(len(covering)))]


def _plugin_name(soundfont: Path, preset_name: str) -> str:
    return f"{soundfont.name}:{preset_name}" if preset_name else soundfont.name


def synthesize_song(
    song_seed: int | Sequence[int],
    seconds: float,
    soundfont: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    sample_rate: int = 44100,
    *,
    kit_soundfonts: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    grammars: Sequence[str] | None = None,
    hydrogen_kits: Sequence[str | os.PathLike[str]] | None = None,
    production: bool = False,
    arrangement: str | os.PathLike[str] | None = None,
    sample_packs: Sequence[str | os.PathLike[str] | SamplePack] | None = None,
    sample_pack_share: float | None = None,
    midi_file: str | os.PathLike[str] | None = None,
) -> Song:
    """Compose, render, produce and mix one song, in memory.

    Parameters
    ----------
    song_seed : int or sequence of int
        Everything about the song follows from it; the corpus uses ``(seed, index)``.
    seconds : float > 0 [s]
        Length of every stem and of the mix (release tails are cut at the end).
    soundfont : path, sequence of paths, or None
        SoundFont 2 file(s); ``None`` means :data:`DEFAULT_SOUNDFONT`. With several, each
        part is rendered with one of those that hold its preset, drawn from the song's seed
        (more timbres per corpus); the stem's ``plugin_name`` records which.
    sample_rate : int in [8000, 96000] [Hz]
    kit_soundfonts : path, sequence of paths, or None
        Drum-kit-only SoundFont 2 files (:func:`check_kit_soundfonts`), e.g. Debian's
        ``avldrums.lv2-soundfont`` kits, whose kit is a bank-0 preset. A drum part draws
        its SoundFont uniformly among the ``soundfont`` files holding its kit (bank 128)
        plus every kit SoundFont; a kit SoundFont plays its first preset on the drum
        channel (General MIDI drum notes, with the acoustic bass drum 35 played as 36:
        ``render.kit_note_map``). Other parts never use them. ``None`` (the default)
        or an empty list renders exactly as without the parameter.
    grammars : sequence of str or None
        Composition grammars (:data:`instsim.data.compose.GRAMMARS`) the song's grammar
        is drawn from (uniformly, from the song's seed). ``None``: ``"pop"``, exactly as
        before the parameter existed.
    hydrogen_kits : sequence of paths or None
        Hydrogen drumkit folders (real recorded drums, :mod:`instsim.data.drumkits`);
        drum parts draw among them besides the SoundFonts holding their kit.
    production : bool
        Run a seeded per-stem production chain (:mod:`instsim.data.production`:
        EQ, filters, saturation, compression, modulation, bit-crush, reverb) after
        FluidSynth. ``False`` renders exactly as before the parameter existed.
    arrangement : path or None
        A POP909 song folder: the score is a window of that real arrangement
        (:func:`instsim.data.arrangements.arrange`: real piano, melody and bridge, drums,
        bass and guitar written on its beats and chords) instead of a composed song;
        ``grammars`` is then not used. ``metadata.yaml`` records it under
        ``instsim.arrangement`` (dataset, song id, window offset, licence).
    sample_packs : sequence of paths or SamplePack, or None
        Recorded-instrument sample packs (:mod:`instsim.data.sampler`; folders are read
        with :func:`~instsim.data.sampler.load_packs`, so velocity packages of one
        instrument merge). A melodic part whose General MIDI program some pack covers
        (and whose notes all lie within :data:`~instsim.data.sampler.MAX_SHIFT`
        semitones of the pack's sampled range) is rendered, with probability
        ``sample_pack_share``, by one of the packs covering it (drawn uniformly) instead
        of by its SoundFont; both draws come from a random stream of their own, so
        ``None`` or an empty list renders exactly as without the parameter. Drum parts never use them. FluidSynth's reverb and
        chorus are not applied to a pack's stem; the EQ and the production chain are.
        With packs, every stem's metadata records its ``renderer``
        (``soundfont:<file>``, ``sample-pack:<name>`` or ``hydrogen:<kit>``).
    sample_pack_share : float in [0, 1] or None
        See ``sample_packs``; default 0.5 with packs. Not allowed without them.
    midi_file : path or None
        A Standard MIDI File inside a General MIDI collection (a folder with a
        ``collection.yaml``, :mod:`instsim.data.midi_collection`): the score is a window
        of that real arrangement (:func:`~instsim.data.midi_collection.window_score`: every
        part, notes, velocities and programs as in the file) instead of a composed song;
        ``grammars`` is then not used, and ``arrangement`` may not be given too.
        ``metadata.yaml`` records it under ``instsim.midi_collection`` (collection, file,
        window offset, licence, source).

    Returns
    -------
    Song

    Raises
    ------
    ConfigError
        Bad ``seconds``, ``sample_rate``, soundfont or kit soundfont.
    ArrangementError
        ``arrangement`` is a song folder that cannot be used (names the file and why);
        ``midi_file`` cannot be used (a :class:`~instsim.errors.MidiCollectionError`).
    SamplePackError
        A sample-pack folder cannot be used (names the file and why).
    """
    import pretty_midi

    from .. import __version__

    _check_song(seconds, sample_rate)
    sf2s = check_soundfonts(soundfont)
    kits = _check_kits(kit_soundfonts, sf2s, sample_rate)
    seed_list = _seed_list(song_seed)
    if arrangement is not None and midi_file is not None:
        raise ConfigError(
            "midi_file", "a song is a POP909 arrangement or a MIDI-collection window, not both"
        )
    real = arrangement is not None or midi_file is not None
    grammar = _draw_grammar(grammars, seed_list) if not real else None
    hydrogen = _check_hydrogen(hydrogen_kits)
    packs, pack_share = _check_packs(sample_packs, sample_pack_share)
    if arrangement is not None:
        from .arrangements import arrange

        score = arrange(arrangement, seed_list, float(seconds))
    elif midi_file is not None:
        from .midi_collection import window_score

        score = window_score(midi_file, seed_list, float(seconds))
    elif grammar is None:
        score = _compose.compose(seed_list, float(seconds))
    else:
        score = _compose.compose(seed_list, float(seconds), grammar=grammar)
    streams = _compose.song_streams(seed_list)
    n = round(float(seconds) * sample_rate)

    rendered = []
    for part in score.parts:
        fx = _draw_effects(streams[16 + part.index], part.group)
        sf2, kit = _choose_soundfont(sf2s, part, seed_list, sample_rate, kits, hydrogen)
        pack = _choose_pack(packs, pack_share, part, seed_list)
        if pack is not None:
            y = pack.render(part.notes, sample_rate, n).astype(np.float64)
            patch = {
                "sample_pack": pack.name,
                "pack_licence": pack.licence,
                "preset_name": pack.name,
            }
            renderer = f"sample-pack:{pack.name}"
        elif kit == "hydrogen":
            from .drumkits import cached_kit, render_drums

            h2 = cached_kit(str(sf2))
            y = render_drums(part.notes, h2, sample_rate, n)
            patch = {"hydrogen_kit": h2.name, "kit_licence": h2.licence, "preset_name": h2.name}
            renderer = f"hydrogen:{h2.name}"
        else:
            y, patch = _render_part(part, fx, str(sf2), sample_rate, n, bool(kit))
            renderer = f"soundfont:{sf2.name}"
        plugin = pack.name if pack is not None else _plugin_name(sf2, patch["preset_name"])
        y, applied = _apply_eq(y, sample_rate, fx["eq"])
        if production:
            from .production import apply_chain, draw_chain

            chain = draw_chain(np.random.default_rng([*seed_list, 0x9D0C, part.index]), part.group)
            y = apply_chain(y, sample_rate, chain)
            patch["production"] = chain
        loud = integrated_loudness(y, sample_rate)
        gain = (
            10.0 ** ((NORMALIZATION_LUFS + part.gain_db - loud) / 20.0)
            if math.isfinite(loud)
            else 1.0
        )
        rendered.append((part, fx, patch, plugin, applied, y * gain, gain, loud, renderer))

    mix = np.zeros(n)
    for r in rendered:
        mix += r[5]
    peak = max(
        [float(np.abs(mix).max(initial=0.0))]
        + [float(np.abs(r[5]).max(initial=0.0)) for r in rendered]
    )
    overall_gain = 10.0 ** (TARGET_PEAK_DB / 20.0) / peak if peak > 0 else 1.0

    order = streams[31].permutation(len(rendered))  # stem numbering is shuffled, as in Slakh
    stems: dict[str, Stem] = {}
    meta_stems: dict[str, Any] = {}
    ints = []
    for sidx, ridx in enumerate(order):
        part, fx, patch, plugin, applied, y, gain, loud, renderer = rendered[int(ridx)]
        q = _to_int16(np.clip(y * overall_gain, -1.0, 32767 / 32768))
        ints.append(q)
        audio = (q.astype(np.float32) / np.float32(32768.0)).astype(np.float32)
        name = f"S{sidx:02d}"
        loud += 20.0 * math.log10(gain * overall_gain)  # loudness of the stem as written
        fx = {**fx, "eq": {**fx["eq"], "applied": applied}}
        meta = {
            "audio_rendered": True,
            "inst_class": _compose.inst_class(part.program, part.is_drum),
            "integrated_loudness": float(loud) if math.isfinite(loud) else None,
            "is_drum": bool(part.is_drum),
            "midi_program_name": "Drums"
            if part.is_drum
            else pretty_midi.program_to_instrument_name(part.program),
            "midi_saved": True,
            "plugin_name": plugin,
            "program_num": 128 if part.is_drum else int(part.program),
            "mixing_group": group_of(part.program, part.is_drum),
            "part": part.describe(),
            "render": {
                **patch,
                "level_db": round(float(part.gain_db), 4),
                "stem_gain": float(gain * overall_gain),
                **fx,
            },
        }
        if packs:  # absent without packs: such a metadata.yaml is what it always was
            meta["renderer"] = renderer
        meta_stems[name] = meta
        stems[name] = Stem(name, audio, meta["mixing_group"], meta, part)

    mix_int = np.zeros(n, dtype=np.int32)
    for q in ints:
        mix_int += q
    mix_int = np.clip(mix_int, -32768, 32767).astype(np.int16)
    mix_audio = mix_int.astype(np.float32) / np.float32(32768.0)
    uuid = streams[31].bytes(16).hex()
    metadata = {
        "UUID": uuid,
        "audio_dir": "stems",
        "lmd_midi_dir": None,
        "midi_dir": "MIDI",
        "normalization_factor": NORMALIZATION_LUFS,
        "normalized": True,
        "overall_gain": float(overall_gain),
        "stems": meta_stems,
        "target_peak": TARGET_PEAK_DB,
        "instsim": {
            "generator": GENERATOR,
            "version": __version__,
            "song_seed": seed_list,
            "seconds": float(seconds),
            "sample_rate": int(sample_rate),
            "subtype": SUBTYPE,
            "soundfont": _one_or_list([p.name for p in sf2s]),
            "score": score.describe(),
        },
    }
    if kits:
        metadata["instsim"]["kit_soundfont"] = [p.name for p in kits]
    if grammar is not None:
        metadata["instsim"]["grammar"] = grammar
    if hydrogen:
        metadata["instsim"]["hydrogen_kit"] = [p.name for p in hydrogen]
    if production:
        metadata["instsim"]["production"] = True
    if packs:
        metadata["instsim"]["sample_pack"] = [p.name for p in packs]
        metadata["instsim"]["sample_pack_share"] = pack_share
    if arrangement is not None:
        from .arrangements import LICENCE

        metadata["instsim"]["arrangement"] = {
            "dataset": "POP909",
            "song_id": score.style["pop909_id"],
            "offset_seconds": score.style["offset_seconds"],
            "licence": LICENCE,
            "real_parts": sorted(p.name for p in score.parts if p.role.startswith("pop909-")),
            "written_parts": sorted(
                p.name for p in score.parts if not p.role.startswith("pop909-")
            ),
        }
    if midi_file is not None:
        from .midi_collection import collection_info, find_collection

        info = collection_info(find_collection(midi_file))
        metadata["instsim"]["midi_collection"] = {
            "collection": info.name,
            "file": score.style["file"],
            "offset_seconds": score.style["offset_seconds"],
            "licence": info.licence,
            "source": info.source,
            **({"attribution": info.attribution} if info.attribution else {}),
            "held_out": info.held_out,
            "real_parts": sorted(p.name for p in score.parts),
        }
    return Song(stems, mix_audio, int(sample_rate), float(seconds), metadata, score)


# ---------------------------------------------------------------------------
# the corpus


@dataclass
class TrackSummary:
    """What happened to one track of a :func:`synthesize_corpus` call.

    Attributes
    ----------
    index : int
        Song index ``k`` (the track is ``Track{k+1:05d}``).
    track_id : str
    split : str
    path : Path
        The track folder.
    skipped : bool
        ``True`` when the folder was already complete and left as it was.
    wall_seconds : float [s]
        Time to compose, render and write it (0 when skipped).
    groups : tuple of str
        Groups with a stem, in :data:`instsim.instruments.INSTRUMENTS` order.
    n_stems : int
    arrangement : str or None
        The POP909 song id of an arrangement track, ``None`` for a composed song.
    midi_file : str or None
        The file id (``<collection name>/<relative path>``) of a MIDI-collection track.
    """

    index: int
    track_id: str
    split: str
    path: Path
    skipped: bool
    wall_seconds: float
    groups: tuple[str, ...]
    n_stems: int
    arrangement: str | None = None
    midi_file: str | None = None


@dataclass
class CorpusSummary:
    """Result of :func:`synthesize_corpus`.

    Attributes
    ----------
    out_dir : Path
    tracks : list of TrackSummary
        This call's tracks, by index.
    splits : dict of str -> list of str
        Track ids of the *whole* corpus per split (as in ``corpus.json``).
    wall_seconds : float [s]
    params : dict
        The generator parameters written to ``corpus.json``.
    """

    out_dir: Path
    tracks: list[TrackSummary]
    splits: dict[str, list[str]]
    wall_seconds: float
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_rendered(self) -> int:
        return sum(not t.skipped for t in self.tracks)

    @property
    def n_skipped(self) -> int:
        return sum(t.skipped for t in self.tracks)

    @property
    def seconds_per_song(self) -> float:
        """Mean wall time per rendered song, per worker [s]."""
        done = [t.wall_seconds for t in self.tracks if not t.skipped]
        return float(np.mean(done)) if done else 0.0


def track_id(index: int) -> str:
    """Slakh-style track id of song ``index`` (0-based): ``Track00001`` for 0."""
    return f"Track{index + 1:05d}"


def _split_counts(n: int, fractions: Sequence[float]) -> list[int]:
    """Songs per split: largest remainders, and one for every non-zero fraction when possible."""
    raw = [n * f for f in fractions]
    counts = [math.floor(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))[: n - sum(counts)]:
        counts[i] += 1
    positive = [i for i, f in enumerate(fractions) if f > 0]
    if n >= len(positive):
        for i in positive:
            if counts[i] == 0:
                donor = max(range(len(counts)), key=lambda j: counts[j])
                counts[donor] -= 1
                counts[i] += 1
    return counts


def read_corpus_info(out_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``corpus.json`` of a folder, or ``None`` when it has none."""
    p = Path(out_dir) / CORPUS_FILE
    if not p.is_file():
        return None
    try:
        info = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{str(p)!r} is not a readable instsim corpus file: {exc}") from None
    if not isinstance(info, dict) or info.get("generator") != GENERATOR:
        raise DatasetError(f"{str(p)!r} was not written by instsim's corpus generator")
    return info


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


_SAME = (
    "seed",
    "seconds",
    "sample_rate",
    "soundfont",
    "kit_soundfont",
    "grammars",
    "hydrogen_kit",
    "production",
    "arrangements",
    "arrangement_share",
    "sample_pack",
    "sample_pack_share",
    "midi_collections",
    "midi_share",
)


def _render_track(job: tuple[Any, ...]) -> TrackSummary:
    """Worker: compose, render and write one track (atomic: a temporary folder renamed at the end)."""
    out_dir, index, split, seed, seconds, soundfont, sample_rate, kits, extra = job
    t0 = time.perf_counter()
    tid = track_id(index)
    final = Path(out_dir) / split / tid
    tmp = final.with_name(f".{tid}.partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    song = synthesize_song(
        (seed, index), seconds, soundfont, sample_rate, kit_soundfonts=kits, **extra
    )
    song.write(tmp)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    groups = tuple(g for g in INSTRUMENTS if g in song.groups)
    arr = song.metadata["instsim"].get("arrangement")
    mc = song.metadata["instsim"].get("midi_collection")
    return TrackSummary(
        index, tid, split, final, False, time.perf_counter() - t0, groups, len(song.stems),
        arr["song_id"] if arr else None, f"{mc['collection']}/{mc['file']}" if mc else None,
    )  # fmt: skip


def _existing_summary(index: int, split: str, path: Path) -> TrackSummary:
    import yaml

    with open(path / "metadata.yaml", encoding="utf-8") as fh:
        meta = yaml.safe_load(fh) or {}
    stems = meta.get("stems") or {}
    present = {group_of(s.get("program_num"), s.get("is_drum")) for s in stems.values()}
    groups = tuple(g for g in INSTRUMENTS if g in present)
    arr = (meta.get("instsim") or {}).get("arrangement") or {}
    mc = (meta.get("instsim") or {}).get("midi_collection") or {}
    return TrackSummary(index, track_id(index), split, path, True, 0.0, groups, len(stems),
                        arr.get("song_id"),
                        f"{mc['collection']}/{mc['file']}" if mc else None)  # fmt: skip


class HeldOutDataWarning(UserWarning):
    """Held-out sample packs or MIDI collections in a corpus with a train split.

    They are for test sets only (``held_out: true``); a corpus made for testing uses
    ``split_fractions=(0, 0, 1)`` (``--splits 0,0,1``) and gets no warning.
    """


def _held_out_in_training(
    packs: Sequence[Any],
    pack_share: float,
    collections: Sequence[Any],
    midi_share: float,
    split_fractions: Sequence[float],
) -> list[str]:
    """What a corpus would train on that is held out: ``["sample pack X", ...]``.

    Packs and collections count only when drawn from (share above 0); the list is
    empty when the train fraction is 0.
    """
    if split_fractions[0] <= 0:
        return []
    return [f"sample pack {p.name}" for p in packs if pack_share > 0 and p.held_out] + [
        f"MIDI collection {c.name}" for c in collections if midi_share > 0 and c.info.held_out
    ]


def synthesize_corpus(
    out_dir: str | os.PathLike[str],
    n_songs: int,
    seconds: float = 60.0,
    seed: int = 0,
    soundfont: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    sample_rate: int = 44100,
    split_fractions: Sequence[float] = (0.8, 0.1, 0.1),
    workers: int = 1,
    progress: Callable[[TrackSummary], None] | None = None,
    start_index: int = 0,
    *,
    overwrite: bool = False,
    kit_soundfonts: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    grammars: Sequence[str] | None = None,
    hydrogen_kits: Sequence[str | os.PathLike[str]] | None = None,
    production: bool = False,
    arrangements: str | os.PathLike[str] | None = None,
    arrangement_share: float | None = None,
    sample_packs: Sequence[str | os.PathLike[str]] | None = None,
    sample_pack_share: float | None = None,
    midi_collections: Sequence[str | os.PathLike[str]] | None = None,
    midi_share: float | None = None,
) -> CorpusSummary:
    """Write a synthetic multitrack corpus in Slakh2100's layout.

    Songs ``start_index .. start_index + n_songs - 1`` become ``Track{k+1:05d}``;
    the first ``split_fractions[0]`` of them go to ``train/``, the next to
    ``validation/``, the rest to ``test/`` (contiguous numbers, as in Slakh2100).

    Folder rules: an empty or missing ``out_dir`` is created. A folder that
    already holds a corpus (``corpus.json``) made with the same ``seed``,
    ``seconds``, ``sample_rate``, soundfont(s) and kit soundfont(s) is *extended
    or resumed*: complete tracks are kept, missing ones rendered, ``corpus.json``
    updated. Any other non-empty folder is refused unless ``overwrite=True``,
    which re-renders every requested track (replacing those track folders only;
    nothing else is deleted) and restarts ``corpus.json`` when the parameters differ.

    Parameters
    ----------
    out_dir : path
    n_songs : int >= 1
    seconds : float > 0 [s]
        Length of each song.
    seed : int
        Corpus seed; song ``k`` depends only on ``(seed, k)``.
    soundfont : path, sequence of paths, or None
        SoundFont 2 file(s) (default :data:`DEFAULT_SOUNDFONT`); with several, each part
        of each song is rendered with one of them (:func:`synthesize_song`).
    sample_rate : int in [8000, 96000] [Hz]
    split_fractions : (float, float, float)
        Train, validation, test fractions summing to 1.
    workers : int >= 0
        Processes rendering songs in parallel; 0 uses every core. The output does
        not depend on it.
    progress : callable or None
        Called with each :class:`TrackSummary` as it completes (in completion order).
    start_index : int >= 0
        Index of the first song (to extend a corpus).
    overwrite : bool
        See the folder rules above.
    kit_soundfonts : path, sequence of paths, or None
        Drum-kit-only SoundFont 2 files, drawn from by drum parts besides ``soundfont``
        (see :func:`synthesize_song`). ``corpus.json`` records them (``kit_soundfont``,
        ``kit_soundfont_name``, lists) when there are any; a corpus made with another
        list of them is another corpus (folder rules). ``None`` (default) or an empty
        list: no kit SoundFont, the same corpus as without the parameter.
    grammars, hydrogen_kits, production
        Diversity options of :func:`synthesize_song`, recorded in ``corpus.json``
        (``grammars``, ``hydrogen_kit``, ``production``) when used.
    arrangements : path or None
        A POP909 dataset folder (the clone, or its ``POP909/`` folder of song folders;
        user data, never bundled). Its songs are scanned first
        (:func:`instsim.data.arrangements.scan_arrangements`: bad songs are skipped and
        listed in ``corpus.json`` under ``arrangement_skipped``) and partitioned among
        the splits by :func:`~instsim.data.arrangements.split_song_ids`, so train,
        validation and test never share a POP909 song. A share ``arrangement_share`` of
        each split's tracks (drawn from ``(seed, index)``) is then a window of one of
        its split's songs (:func:`~instsim.data.arrangements.draw_song`), the rest
        composed as usual. ``corpus.json`` records ``arrangements``,
        ``arrangement_share``, the licence and citation, the pool sizes and
        ``arrangement_tracks`` (track id -> POP909 song id).
    arrangement_share : float in [0, 1] or None
        Share of arrangement tracks; default 0.5 with ``arrangements``. Not allowed
        without ``arrangements``.
    sample_packs : sequence of paths or None
        Recorded-instrument sample-pack folders (:mod:`instsim.data.sampler`, user data);
        a share ``sample_pack_share`` (default 0.5) of the melodic parts they cover are
        rendered with them (see :func:`synthesize_song`). ``corpus.json`` records the
        folders (``sample_pack``, sorted), the share and, under ``sample_packs``, each
        instrument's name, programs, licence, attribution and ``held_out`` flag; a corpus
        made with other packs or another share is another corpus (folder rules). ``None``
        or an empty list: the same corpus as without the parameter.
    sample_pack_share : float in [0, 1] or None
    midi_collections : sequence of paths or None
        General MIDI collection folders (:mod:`instsim.data.midi_collection`: MIDI files
        plus a ``collection.yaml`` naming the collection, its licence and source; user
        data, never bundled). Each is scanned first
        (:func:`~instsim.data.midi_collection.scan_collection` with ``seconds``: files that
        cannot be used are skipped and listed in ``corpus.json`` under ``midi_skipped``)
        and its files partitioned among the splits
        (:func:`~instsim.data.midi_collection.split_files`), so train, validation and test
        never share a file. A share ``midi_share`` of each split's tracks (drawn from
        ``(seed, index)``, after the POP909 share:
        :func:`~instsim.data.midi_collection.draw_file`) is a window of one of its split's
        files. ``corpus.json`` records ``midi_collections`` (the folders, sorted),
        ``midi_share``, each collection's name, licence, source and ``held_out`` flag
        (``midi_collection_info``), the pool sizes and ``midi_tracks`` (track id -> file
        id); a corpus made with other collections or another share is another corpus
        (folder rules). ``None`` or an empty list: the same corpus as without the parameter.
    midi_share : float in [0, 1] or None
        Share of collection tracks; default 0.5 with collections. Not allowed without
        them; ``arrangement_share + midi_share`` may not exceed 1.

    Returns
    -------
    CorpusSummary

    Raises
    ------
    MissingExtraError
        ``instsim[synth]`` (pretty_midi, pyfluidsynth) is not installed.
    ConfigError
        A bad parameter, soundfont or kit soundfont.
    DatasetError
        ``out_dir`` is not usable (see the folder rules).
    SamplePackError
        A sample-pack folder cannot be used.
    MidiCollectionError
        A MIDI collection has a missing or bad ``collection.yaml`` or no usable file.
    """
    from .. import __version__
    from ..extras import require

    require("synth", "synthesize_corpus")  # before any work, not in a worker process
    t_start = time.perf_counter()
    fractions = _check_params(
        n_songs, seconds, seed, sample_rate, split_fractions, workers, start_index
    )
    sf2s = check_soundfonts(soundfont)
    kits = _check_kits(kit_soundfonts, sf2s, sample_rate)
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise DatasetError(f"output folder {str(out)!r} exists and is not a folder")
    params = {
        "seed": int(seed),
        "seconds": float(seconds),
        "sample_rate": int(sample_rate),
        "soundfont": _one_or_list([str(p) for p in sf2s]),
    }
    if kits:  # absent without kits: such a corpus.json is what it always was
        params["kit_soundfont"] = [str(p) for p in kits]
    # The diversity options, likewise absent when unused.
    extra: dict[str, Any] = {}
    if grammars is not None:
        _draw_grammar(grammars, [0])
        extra["grammars"] = params["grammars"] = list(grammars)
    if hydrogen_kits:
        hyd = _check_hydrogen(hydrogen_kits)
        extra["hydrogen_kits"] = params["hydrogen_kit"] = [str(p) for p in hyd]
    if production:
        extra["production"] = params["production"] = True
    packs, pack_share = _check_packs(
        sorted(str(Path(p).expanduser().resolve()) for p in sample_packs or ()), sample_pack_share
    )
    if packs:
        folders = sorted(str(f) for p in packs for f in p.folders)
        extra["sample_packs"] = params["sample_pack"] = folders
        extra["sample_pack_share"] = params["sample_pack_share"] = pack_share
    arr_set, pools, share = _check_arrangements(arrangements, arrangement_share, fractions)
    if arr_set is not None:
        params["arrangements"] = str(arr_set.root)
        params["arrangement_share"] = share
    colls, midi_pools, m_share = _check_midi(
        midi_collections, midi_share, share, fractions, float(seconds)
    )
    if colls:
        params["midi_collections"] = sorted(str(c.root) for c in colls)
        params["midi_share"] = m_share
    held = _held_out_in_training(packs, pack_share, colls, m_share, fractions)
    if held:
        warnings.warn(
            HeldOutDataWarning(
                f"held-out {', '.join(held)} in a corpus with a train split: they are for "
                "test sets only, never for training corpora (a test corpus: split_fractions "
                "(0, 0, 1), --splits 0,0,1; docs/synth.md)"
            ),
            stacklevel=2,
        )
    info = read_corpus_info(out) if out.is_dir() else None
    if info is not None:
        if any(info.get(k) != params.get(k) for k in _SAME):
            if not overwrite:
                diff = ", ".join(
                    f"{k}={info.get(k)!r} (asked {params.get(k)!r})"
                    for k in _SAME
                    if info.get(k) != params.get(k)
                )
                raise DatasetError(
                    f"{str(out)!r} holds a corpus made with other parameters: {diff}; "
                    "use another folder, the same parameters, or overwrite=True (--overwrite)"
                )
            info = None
    elif out.is_dir() and any(out.iterdir()) and not overwrite:
        raise DatasetError(
            f"output folder {str(out)!r} is not empty and is not an instsim corpus (no {CORPUS_FILE}); "
            "choose an empty folder or pass overwrite=True (--overwrite)"
        )
    splits: dict[str, list[str]] = {
        s: list((info or {}).get("splits", {}).get(s, [])) for s in SPLITS
    }

    counts = _split_counts(n_songs, fractions)
    plan: list[tuple[int, str]] = []
    k = start_index
    for split, c in zip(SPLITS, counts):
        plan.extend((k + i, split) for i in range(c))
        k += c
    for index, split in plan:
        tid = track_id(index)
        for other in SPLITS:
            if other != split and (tid in splits[other] or (out / other / tid).exists()):
                if not overwrite:
                    raise DatasetError(
                        f"{tid} already exists in {other!r} but this call puts it in {split!r} "
                        f"(n_songs and split_fractions decide the split); use the same values, another "
                        "start_index, or overwrite=True"
                    )
                if tid in splits[other]:
                    splits[other].remove(tid)
                if (out / other / tid).exists():
                    shutil.rmtree(out / other / tid)

    corpus = {
        "generator": GENERATOR,
        "format": "slakh2100",
        "instsim_version": __version__,
        **params,
        "soundfont_name": _one_or_list([p.name for p in sf2s]),
        **({"kit_soundfont_name": [p.name for p in kits]} if kits else {}),
        **({"sample_packs": [p.describe() for p in packs]} if packs else {}),
        "subtype": SUBTYPE,
        "channels": 1,
        "target_peak_db": TARGET_PEAK_DB,
        "normalization_lufs": NORMALIZATION_LUFS,
        "split_fractions": list(fractions),
        "splits": splits,
    }
    arr_tracks: dict[str, str] = dict((info or {}).get("arrangement_tracks", {}))
    song_of: dict[int, str] = {}
    if arr_set is not None:
        from .arrangements import CITATION, LICENCE, draw_song

        for index, split in plan:
            sid = draw_song(int(seed), index, split, pools, share)
            arr_tracks.pop(track_id(index), None)
            if sid is not None:
                song_of[index] = sid
                arr_tracks[track_id(index)] = sid
        corpus.update(
            {
                "arrangement_dataset": "POP909",
                "arrangement_licence": LICENCE,
                "arrangement_citation": CITATION,
                "arrangement_pool_sizes": {k: len(v) for k, v in pools.items()},
                "arrangement_skipped": dict(arr_set.skipped),
                "arrangement_tracks": dict(sorted(arr_tracks.items())),
            }
        )
    midi_tracks: dict[str, str] = dict((info or {}).get("midi_tracks", {}))
    file_of: dict[int, str] = {}
    if colls:
        from .midi_collection import draw_file

        roots = {c.name: c.root for c in colls}
        for index, split in plan:
            fid = draw_file(int(seed), index, split, midi_pools, m_share, share)
            midi_tracks.pop(track_id(index), None)
            if fid is not None:
                name, rel = fid.split("/", 1)
                file_of[index] = str(roots[name] / rel)
                midi_tracks[track_id(index)] = fid
        corpus.update(
            {
                "midi_collection_info": [c.describe() for c in colls],
                "midi_pool_sizes": {k: len(v) for k, v in midi_pools.items()},
                "midi_skipped": {c.key(r): why for c in colls for r, why in c.skipped.items()},
                "midi_tracks": dict(sorted(midi_tracks.items())),
            }
        )
    for split in SPLITS:
        (out / split).mkdir(parents=True, exist_ok=True)
    _write_json(out / CORPUS_FILE, {**corpus, "n_tracks": sum(len(v) for v in splits.values())})

    results: list[TrackSummary] = []
    jobs = []
    for index, split in plan:
        path = out / split / track_id(index)
        if not overwrite and (path / "metadata.yaml").is_file():
            summary = _existing_summary(index, split, path)
            results.append(summary)
            if progress is not None:
                progress(summary)
        else:
            jobs.append(
                (
                    str(out),
                    index,
                    split,
                    int(seed),
                    float(seconds),
                    [str(p) for p in sf2s],
                    int(sample_rate),
                    [str(p) for p in kits],
                    {**extra, "arrangement": str(arr_set.folder(song_of[index]))}
                    if index in song_of
                    else {**extra, "midi_file": file_of[index]}
                    if index in file_of
                    else extra,
                )
            )

    n_workers = min(workers or os.cpu_count() or 1, max(1, len(jobs)))
    if n_workers <= 1:
        for job in jobs:
            summary = _render_track(job)
            results.append(summary)
            if progress is not None:
                progress(summary)
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(n_workers, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(_render_track, job) for job in jobs]
            try:
                for fut in as_completed(futures):
                    summary = fut.result()
                    results.append(summary)
                    if progress is not None:
                        progress(summary)
            except BaseException:
                for f in futures:
                    f.cancel()
                raise

    for t in results:
        if t.track_id not in splits[t.split]:
            splits[t.split].append(t.track_id)
    splits = {s: sorted(v) for s, v in splits.items()}
    corpus["splits"] = splits
    _write_json(out / CORPUS_FILE, {**corpus, "n_tracks": sum(len(v) for v in splits.values())})
    results.sort(key=lambda t: t.index)
    return CorpusSummary(out, results, splits, time.perf_counter() - t_start, corpus)
