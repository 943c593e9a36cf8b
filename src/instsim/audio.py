"""Audio input: decode, downmix, resample, stream in blocks.

Files are decoded with soundfile (libsndfile: WAV, FLAC, OGG/Vorbis/Opus, MP3,
AIFF, ... in integer or float PCM). Formats libsndfile cannot open (AAC/M4A,
WMA, ...) fall back to essentia's ``AudioLoader`` (FFmpeg based). Every channel
layout is averaged to mono and resampled with soxr (band-limited, anti-aliased).

Long files are *streamed*: :func:`stream_audio` reads fixed-length blocks and
resamples them with a stateful soxr stream, so memory stays constant whatever
the file length. :func:`load_audio` is the whole-file convenience on top of it.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import AudioDecodeError, EmptyAudioError, NonFiniteAudioError, ParameterError

__all__ = [
    "AUDIO_EXTENSIONS",
    "AudioInfo",
    "audio_info",
    "check_wav_truncation",
    "load_audio",
    "resample",
    "stream_audio",
    "valid_audio",
]

#: File extensions treated as audio when walking folders (lower case, with dot).
AUDIO_EXTENSIONS = frozenset(
    {
        ".wav",
        ".wave",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".mp3",
        ".aif",
        ".aiff",
        ".aifc",
        ".au",
        ".caf",
        ".w64",
        ".rf64",
        ".m4a",
        ".aac",
        ".wma",
        ".mp4",
    }
)

_RESAMPLE_QUALITY = "HQ"


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, read from its header.

    Attributes
    ----------
    path : str
    sample_rate : int [Hz]
    channels : int
    frames : int
        Samples per channel (``-1`` when the decoder cannot tell in advance).
    duration : float [seconds]
    backend : str
        ``"soundfile"`` or ``"essentia"``.
    """

    path: str
    sample_rate: int
    channels: int
    frames: int
    duration: float
    backend: str


def valid_audio(y: np.ndarray, source: object = "<array>") -> np.ndarray:
    """Check that ``y`` is usable audio and return it as float32 mono.

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,) or (n_samples, n_channels)]
        Audio samples. Multichannel input is averaged to mono.
    source : object
        What to name in error messages (a path or a description).

    Returns
    -------
    np.ndarray [shape=(n_samples,), dtype=float32]

    Raises
    ------
    EmptyAudioError
        ``y`` has no samples.
    NonFiniteAudioError
        ``y`` contains NaN or infinity.
    AudioDecodeError
        ``y`` is not 1-D or 2-D numeric data.
    """
    y = np.asarray(y)
    if y.dtype.kind not in "fiu":
        raise AudioDecodeError(source, f"samples must be numeric, got dtype {y.dtype}")
    if y.ndim not in (1, 2):
        raise AudioDecodeError(
            source, f"expected shape (n_samples,) or (n_samples, n_channels), got {y.shape}"
        )
    if y.size == 0:
        raise EmptyAudioError(source)
    if y.dtype.kind == "i":
        y = y.astype(np.float32) / float(-np.iinfo(y.dtype).min)
    elif y.dtype.kind == "u":  # unsigned PCM is centred on half the range
        half = float(np.iinfo(y.dtype).max // 2 + 1)
        y = (y.astype(np.float32) - half) / half
    if y.ndim == 2:
        y = y.mean(axis=1, dtype=np.float32) if y.shape[1] > 1 else y[:, 0]
    y = np.ascontiguousarray(y, dtype=np.float32)
    finite = np.isfinite(y)
    if not finite.all():
        raise NonFiniteAudioError(source, int(y.size - finite.sum()))
    return y


def resample(y: np.ndarray, orig_sr: float, target_sr: float) -> np.ndarray:
    """Resample mono audio with soxr (anti-aliased, high quality).

    Parameters
    ----------
    y : np.ndarray [shape=(n_samples,), dtype=float32]
    orig_sr, target_sr : float > 0 [Hz]
        Rates need not be whole: reading a clip as if recorded at ``sr * 2 ** (k / 12)``
        shifts it by ``k`` semitones (the sample-pack renderer, ``instsim.data.sampler``).

    Returns
    -------
    np.ndarray [shape=(round(n_samples * target_sr / orig_sr),), dtype=float32]
    """
    if orig_sr == target_sr:
        return y
    import soxr

    return soxr.resample(y, orig_sr, target_sr, quality=_RESAMPLE_QUALITY).astype(
        np.float32, copy=False
    )


def _check_path(path: Path) -> None:
    if not path.exists():
        raise AudioDecodeError(path, "no such file")
    if path.is_dir():
        raise AudioDecodeError(path, "is a directory, not an audio file")
    if not os.access(path, os.R_OK):
        raise AudioDecodeError(path, "permission denied")
    if path.stat().st_size == 0:
        raise EmptyAudioError(path)


def check_wav_truncation(path: str | os.PathLike) -> None:
    """Raise if a RIFF/WAVE file holds fewer audio bytes than its header declares.

    libsndfile silently shortens such files to the bytes present; a batch job
    should report them instead. Other formats are left to their decoders (a cut
    FLAC or MP3 fails to decode on its own). Streamed WAVs that declare a size
    of 0 or 0xFFFFFFFF, and RF64/W64 files, are not checked.

    Raises
    ------
    AudioDecodeError
        The ``data`` chunk is cut short.
    """
    declared = have = None
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return
            size = os.fstat(f.fileno()).st_size
            pos = 12
            while pos + 8 <= size:
                f.seek(pos)
                ck = f.read(8)
                if len(ck) < 8:
                    return
                ck_id, ck_size = ck[:4], struct.unpack("<I", ck[4:])[0]
                if ck_id == b"data":
                    declared, have = ck_size, size - (pos + 8)
                    break
                pos += 8 + ck_size + (ck_size & 1)
    except OSError:
        return  # unreadable: the decoder reports it with its own message
    if declared is not None and declared not in (0, 0xFFFFFFFF) and have < declared:
        raise AudioDecodeError(
            path,
            f"truncated: the WAV header declares {declared} bytes of audio "
            f"but the file holds {have}",
        )


def _essentia_load(path: Path, first_error: str) -> tuple[np.ndarray, int]:
    try:
        import essentia

        essentia.log.infoActive = False
        essentia.log.warningActive = False
        import essentia.standard as es

        audio, sr, _channels, _md5, _bitrate, _codec = es.AudioLoader(filename=str(path))()
    except Exception as exc:  # essentia raises RuntimeError for anything
        raise AudioDecodeError(
            path,
            f"libsndfile cannot read it ({first_error}) and essentia's loader failed too "
            f"({str(exc).strip() or type(exc).__name__})",
        ) from None
    audio = np.asarray(audio, dtype=np.float32)
    if audio.size == 0:
        raise EmptyAudioError(path)
    return audio, int(sr)


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Read a file's sample rate, channel count and duration without decoding it all.

    Raises
    ------
    AudioDecodeError
        The file is missing, unreadable or not audio.
    """
    import soundfile as sf

    p = Path(path)
    _check_path(p)
    try:
        info = sf.info(str(p))
    except Exception as exc:
        audio, sr = _essentia_load(p, str(exc))
        n = audio.shape[0]
        ch = audio.shape[1] if audio.ndim == 2 else 1
        return AudioInfo(str(p), sr, ch, n, n / sr, "essentia")
    return AudioInfo(
        str(p),
        int(info.samplerate),
        int(info.channels),
        int(info.frames),
        float(info.duration),
        "soundfile",
    )


def stream_audio(
    path: str | os.PathLike,
    sr: int | None = None,
    block_seconds: float = 30.0,
) -> Iterator[np.ndarray]:
    """Decode a file block by block, as mono float32 at ``sr``.

    Memory use is bounded by one block, whatever the file's length: each block is
    read, downmixed, checked for NaN/inf and pushed through a stateful soxr
    resampler, so the concatenated output equals a whole-file resample.

    Parameters
    ----------
    path : str or os.PathLike
        An audio file.
    sr : int > 0 [Hz] or None
        Output sample rate; ``None`` keeps the file's own rate.
    block_seconds : float > 0 [seconds]
        Length of each block read from the file (at the file's own rate).

    Yields
    ------
    np.ndarray [shape=(n,), dtype=float32]
        Consecutive blocks of mono audio at ``sr``. Block lengths vary slightly
        when resampling; the last block may be shorter.

    Raises
    ------
    AudioDecodeError, EmptyAudioError, NonFiniteAudioError
        Raised on the first block that shows the problem.
    """
    import soundfile as sf

    p = Path(path)
    _check_path(p)
    check_wav_truncation(p)
    if block_seconds <= 0:
        raise ParameterError("block_seconds", f"must be > 0, got {block_seconds}")
    try:
        f = sf.SoundFile(str(p))
    except Exception as exc:
        # libsndfile cannot open it: decode the whole file with essentia instead.
        audio, file_sr = _essentia_load(p, str(exc).strip())
        y = valid_audio(audio, p)
        y = resample(y, file_sr, sr or file_sr)
        step = max(1, int(block_seconds * (sr or file_sr)))
        for start in range(0, y.shape[0], step):
            yield y[start : start + step]
        return

    with f:
        file_sr = int(f.samplerate)
        out_sr = sr or file_sr
        block = max(1, round(block_seconds * file_sr))
        stream = None
        if out_sr != file_sr:
            import soxr

            stream = soxr.ResampleStream(
                file_sr, out_sr, 1, dtype="float32", quality=_RESAMPLE_QUALITY
            )
        total = 0
        offset = 0
        while True:
            try:
                data = f.read(block, dtype="float32", always_2d=True)
            except Exception as exc:
                raise AudioDecodeError(
                    p, f"decoding failed after {offset} frames: {str(exc).strip()}"
                ) from None
            n = data.shape[0]
            last = n < block
            if n:
                mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
                if not np.isfinite(mono).all():
                    raise NonFiniteAudioError(p, int((~np.isfinite(mono)).sum()))
                offset += n
            else:
                mono = np.zeros(0, dtype=np.float32)
            if stream is not None:
                mono = stream.resample_chunk(mono, last=last)
            if mono.size:
                total += mono.size
                yield np.ascontiguousarray(mono, dtype=np.float32)
            if last:
                break
        if total == 0:
            raise EmptyAudioError(p)


def load_audio(path: str | os.PathLike, sr: int | None = 22050) -> tuple[np.ndarray, int]:
    """Decode a whole file to mono float32 at ``sr``.

    Parameters
    ----------
    path : str or os.PathLike
        An audio file in any format libsndfile reads (WAV, FLAC, OGG, MP3, AIFF, ...),
        or one essentia's FFmpeg-based loader reads (M4A/AAC, ...).
    sr : int > 0 [Hz] or None
        Target sample rate; ``None`` keeps the file's rate. Default 22050, the
        rate of instsim's models.

    Returns
    -------
    y : np.ndarray [shape=(n_samples,), dtype=float32]
        Mono audio (channels averaged).
    sr : int [Hz]
        The sample rate of ``y``.

    Raises
    ------
    AudioDecodeError
        Missing, unreadable, corrupt or non-audio file.
    EmptyAudioError
        The file decodes to zero samples.
    NonFiniteAudioError
        The file contains NaN or infinite samples.

    Examples
    --------
    >>> y, sr = instsim.load_audio("song.flac")  # doctest: +SKIP
    >>> y.shape, sr  # doctest: +SKIP
    ((661500,), 22050)
    """
    blocks = list(stream_audio(path, sr))
    out_sr = sr if sr is not None else audio_info(path).sample_rate
    return np.concatenate(blocks) if len(blocks) > 1 else blocks[0], int(out_sr)
