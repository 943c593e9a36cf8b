"""Procedural composition of multitrack songs: the score half of the synthetic corpus.

:func:`compose` turns a seed into a :class:`Score`: tempo, meter, key and mode,
an A/B chord plan, and parts (a drum groove, a bass line, piano, guitar and
"other" instruments) as lists of notes in seconds, with General MIDI programs
drawn per song. Everything comes from one seeded :class:`numpy.random.Generator`
tree, so a seed always gives the same score. Each part draws from its own child
stream bar by bar, so a longer song starts with the same music as a shorter one
of the same seed.

The song-level choices (groove, patches, progression, register, style of each
part) are made once per song and repeated in every section, so that any two
segments of one song resemble each other more than segments of another song.

No audio here: :mod:`instsim.data.synth` renders scores with FluidSynth.

The package holds one module per concern; this one re-exports the names its
users import:

- :mod:`~instsim.data.compose.score`: :class:`Chord`, :class:`Part`, :class:`Score`;
- :mod:`~instsim.data.compose.gm`: General MIDI tables, drum-map notes, :func:`inst_class`;
- :mod:`~instsim.data.compose.harmony`: modes, progressions, chords, voicings, ``_Context``;
- :mod:`~instsim.data.compose.writers`: the part writers that several grammars share
  (drums, bass, chords, guitar, melody, piano, "others");
- :mod:`~instsim.data.compose.common`: the plan-to-notes steps every grammar takes
  (``_clip_note`` among them) and the :data:`Beats` notes type;
- one module per grammar (:mod:`~instsim.data.compose.pop`, ``band``, ``electronic``,
  ``jazz``, ``rock``, ``funk``, ``latin``, ``ballad``), each with ``song(streams, seconds)``;
- :mod:`~instsim.data.compose.grammars`: :data:`GRAMMARS`, the registry grammar -> module,
  :func:`song_streams` and :func:`compose`.
"""

from __future__ import annotations

from .common import Beats as Beats
from .common import _choice as _choice
from .common import _clip_note as _clip_note
from .common import _fix_overlaps as _fix_overlaps
from .gm import BONGO_HI as BONGO_HI
from .gm import CLAP as CLAP
from .gm import CLAVES as CLAVES
from .gm import CONGA_LOW as CONGA_LOW
from .gm import CONGA_MUTE as CONGA_MUTE
from .gm import CONGA_OPEN as CONGA_OPEN
from .gm import CONGAS as CONGAS
from .gm import COWBELL as COWBELL
from .gm import CRASH as CRASH
from .gm import CRASH2 as CRASH2
from .gm import DRUM_KITS as DRUM_KITS
from .gm import GM_FAMILIES, ROLE_PROGRAMS, inst_class
from .gm import GUIRO_LONG as GUIRO_LONG
from .gm import GUIRO_SHORT as GUIRO_SHORT
from .gm import HAT_CLOSED as HAT_CLOSED
from .gm import HAT_OPEN as HAT_OPEN
from .gm import HAT_PEDAL as HAT_PEDAL
from .gm import KICK as KICK
from .gm import KICK2 as KICK2
from .gm import MARACAS as MARACAS
from .gm import RIDE as RIDE
from .gm import RIDE_BELL as RIDE_BELL
from .gm import SHAKER as SHAKER
from .gm import SIDESTICK as SIDESTICK
from .gm import SNARE as SNARE
from .gm import SNARE2 as SNARE2
from .gm import TAMBOURINE as TAMBOURINE
from .gm import TIMBALE_HI as TIMBALE_HI
from .gm import TIMBALE_LO as TIMBALE_LO
from .gm import TOMS as TOMS
from .gm import _program_range as _program_range
from .grammars import GRAMMARS, compose
from .grammars import song_streams as song_streams
from .harmony import MODES
from .harmony import _Context as _Context
from .latin import _CLAVES as _CLAVES
from .score import KEY_NAMES as KEY_NAMES
from .score import Chord, Part, Score
from .writers import _BASS_RHYTHMS as _BASS_RHYTHMS
from .writers import _drum_style as _drum_style
from .writers import _drums as _drums
from .writers import _guitar as _guitar
from .writers import _vel as _vel

__all__ = [
    "GM_FAMILIES",
    "GRAMMARS",
    "MODES",
    "ROLE_PROGRAMS",
    "Chord",
    "Part",
    "Score",
    "compose",
    "inst_class",
]
