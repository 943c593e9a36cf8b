"""The grammar registry and :func:`compose`, which turns a seed into a song.

:data:`GRAMMARS` lists the song models in the order they were added;
``_GRAMMAR_MODULES`` maps each to the module that writes its songs (one module per
grammar, each with ``song(streams, seconds) -> Score``). :func:`song_streams` gives
a song's independent random streams.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

import numpy as np

from ...errors import ConfigError, _choices
from . import ballad, band, electronic, funk, jazz, latin, pop, rock
from .score import Score

#: Song models :func:`compose` knows, in the order they were added: ``"pop"`` is the
#: original grammar; ``"jazz"`` is the held-out style (the default model never trains
#: on it). Adding a grammar never changes the songs of the earlier ones.
GRAMMARS: tuple[str, ...] = (
    "pop", "band", "electronic", "jazz", "rock", "funk", "latin", "ballad",
)  # fmt: skip


#: The module that writes each grammar's songs: ``MODULE.song(streams, seconds) -> Score``.
_GRAMMAR_MODULES: dict[str, ModuleType] = {
    "pop": pop,
    "band": band,
    "electronic": electronic,
    "jazz": jazz,
    "rock": rock,
    "funk": funk,
    "latin": latin,
    "ballad": ballad,
}


_SEED_CHILDREN = 32  # child streams: 0 song, 1-15 parts, 16-31 per-part render effects


def song_streams(song_seed: int | Sequence[int]) -> list[np.random.Generator]:
    """The independent random streams of a song (0: song, 1-15: parts, 16-31: effects)."""
    ss = np.random.SeedSequence(song_seed)
    return [np.random.default_rng(c) for c in ss.spawn(_SEED_CHILDREN)]


def compose(song_seed: int | Sequence[int], seconds: float, grammar: str = "pop") -> Score:
    """Compose one song.

    Parameters
    ----------
    song_seed : int or sequence of int
        Entropy for :class:`numpy.random.SeedSequence`; the corpus uses ``(seed, index)``.
    seconds : float > 0 [s]
        Song length.
    grammar : str
        The song model, one of :data:`GRAMMARS`:

        - ``"pop"``: the original grammar (unchanged);
        - ``"band"``: rock/funk/soul/latin/ballad feels with a piano that has its own
          writer and register, 1-7 "others" entering and leaving by section;
        - ``"electronic"``: loops, builds and drops, synth basses, stabs and pads;
        - ``"jazz"``: swing, ii-V-I, walking bass, rootless voicings; the held-out
          style, never used to train the default model;
        - ``"rock"`` (96-168 BPM): backbeat with crashes on section starts, eighth-note
          bass locked to the kick, distorted power chords (palm-muted verses) or riffs,
          piano pads or off-beat stabs in the middle register, quieter verses;
        - ``"funk"`` (88-118 BPM): 16th hats with ghost notes and open hats, slap or
          finger bass with octave pops and rests, clean chicken-scratch guitar
          interlocking with electric piano or clavinet on the off-beats, horn hits;
        - ``"latin"`` (80-105 BPM, one clave cycle per bar): son or rumba clave,
          congas, timbales, cowbell and shaker, tumbao bass anticipating the
          downbeat, montuno piano in octaves, nylon guitar arpeggios, brass/flute;
        - ``"ballad"`` (60-85 BPM, 4/4 or 3/4): soft brushes or rim clicks, sustained
          bass roots with passing tones, pedalled broken chords in a wide voicing,
          fingerpicked acoustic guitar, strings and pads with long notes.

        Every song of the last four holds all five groups (drums, bass, piano,
        guitar and 2-4 "others" from several GM families).

    Returns
    -------
    Score

    Raises
    ------
    ConfigError
        ``grammar`` is not one of :data:`GRAMMARS`.
    """
    if grammar not in GRAMMARS:
        raise ConfigError(
            "grammar", f"unknown grammar {grammar!r}; choose one of {_choices(GRAMMARS)}"
        )
    streams = song_streams(song_seed)
    if grammar == "pop":  # the original grammar: ``seconds`` as given, unconverted
        return pop.song(streams, seconds)
    return _GRAMMAR_MODULES[grammar].song(streams, float(seconds))
