"""Freely licensed real recordings that Debian packages install, sorted by instrument.

The real-audio check (:mod:`instsim.evaluate.real`) mixes these files; they are
test material only, never training data. Each :class:`RealSource` names its
package, the file inside the package's sample folder, the instrument it stands
for, its licence (as stated in the package's ``/usr/share/doc/<package>/copyright``)
and where it comes from.

* ``sonic-pi-samples`` (Debian ``main``): samples of Sonic Pi, all from freesound.org
  and dedicated to the public domain under CC0 1.0 (the package's copyright file
  and ``samples/README.md`` list each file's freesound page).
* ``lmms-common`` (Debian ``main``): LMMS's sample library, covered by the
  package's ``Files: *`` stanza, GPL-2+.

``kind`` says what the recording is: ``"recording"`` (an acoustic or electric
instrument played and recorded), ``"electronic"`` (a drum machine or
synthesizer recorded as audio). Neither is a General MIDI SoundFont render,
the only kind of audio the default model is trained on.

``family`` groups files that are versions of one performance (the Amen break
cut two ways, one guitar riff through three distortions): a draw never puts two
members of one family among its focus stems, so "same source" stays unambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["CATALOGUE", "PACKAGES", "PackageInfo", "RealSource", "installed_sources"]


@dataclass(frozen=True)
class PackageInfo:
    """A Debian package holding sample files, and where they lie once installed."""

    name: str
    root: str
    licence: str
    licence_note: str


PACKAGES: dict[str, PackageInfo] = {
    "sonic-pi-samples": PackageInfo(
        "sonic-pi-samples",
        "/usr/share/sonic-pi/samples",
        "CC0-1.0",
        "/usr/share/doc/sonic-pi-samples/copyright and samples/README.md: every sample is "
        "from freesound.org, dedicated to the public domain (CC0 1.0)",
    ),
    "lmms-common": PackageInfo(
        "lmms-common",
        "/usr/share/lmms/samples",
        "GPL-2+",
        "/usr/share/doc/lmms-common/copyright, stanza 'Files: *' (LMMS sample library)",
    ),
}


@dataclass(frozen=True)
class RealSource:
    """One real recording used as a stem.

    Attributes
    ----------
    id : str
        Unique name, ``<package>:<relative path>`` for catalogue entries.
    path : str
        Absolute path of the audio file.
    instrument : str
        The sub-space it stands for: ``drums``, ``bass``, ``piano``, ``guitar`` or ``others``.
    package, licence : str
        Where it comes from and under which licence.
    kind : {"recording", "electronic"}
    family : str
        Files sharing a family are versions of one performance (default: the id).
    origin : str
        The upstream page, where the package's copyright file names one.
    """

    id: str
    path: str
    instrument: str
    package: str
    licence: str
    kind: str = "recording"
    family: str = ""
    origin: str = ""

    @property
    def family_key(self) -> str:
        return self.family or self.id


def _fs(n: int, user: str) -> str:
    return f"https://freesound.org/people/{user}/sounds/{n}/"


# (file, instrument, kind, family, origin); the freesound pages are those the
# package's copyright file and README give for each file.
_SONIC_PI: list[tuple[str, str, str, str, str]] = [
    # drums: loops of drum kits, breaks and percussion
    ("loop_amen.flac", "drums", "recording", "amen", _fs(43389, "Dolfeus")),
    ("loop_amen_full.flac", "drums", "recording", "amen", _fs(202537, "gowers")),
    ("loop_breakbeat.flac", "drums", "recording", "", _fs(160354, "Snapper4298")),
    ("loop_compus.flac", "drums", "recording", "", _fs(212288, "godspine")),
    ("loop_industrial.flac", "drums", "recording", "", _fs(222072, "godspine")),
    ("loop_garzul.flac", "drums", "recording", "", _fs(213524, "Garzul")),
    ("loop_mika.flac", "drums", "recording", "", _fs(188551, "mika55")),
    ("loop_safari.flac", "drums", "recording", "", _fs(318759, "nemaavla")),
    ("loop_tabla.flac", "drums", "recording", "", _fs(242591, "lezaarth")),
    ("loop_mehackit1.flac", "drums", "electronic", "", _fs(415568, "hullum")),
    ("loop_mehackit2.flac", "drums", "electronic", "", _fs(415575, "hullum")),
    ("loop_perc1.flac", "drums", "recording", "", _fs(415574, "hullum")),
    ("loop_perc2.flac", "drums", "recording", "", _fs(415573, "hullum")),
    # guitar
    ("guit_em9.flac", "guitar", "recording", "", _fs(46992, "Sub-d")),
    ("guit_e_fifths.flac", "guitar", "recording", "", _fs(46990, "Sub-d")),
    ("guit_e_slide.flac", "guitar", "recording", "", _fs(2410, "Suva")),
    ("guit_harmonics.flac", "guitar", "recording", "", _fs(141524, "BStateham")),
    # piano
    ("ambi_piano.flac", "piano", "recording", "", _fs(51245, "RutgerMuller")),
    # bass: synthesizer basses
    ("bass_thick_c.flac", "bass", "electronic", "", _fs(165314, "ani_music")),
    ("bass_trance_c.flac", "bass", "electronic", "", _fs(165329, "ani_music")),
    ("bass_voxy_c.flac", "bass", "electronic", "", _fs(165325, "ani_music")),
    ("bass_woodsy_c.flac", "bass", "electronic", "", _fs(165322, "ani_music")),
    ("bass_drop_c.flac", "bass", "electronic", "", _fs(165320, "ani_music")),
    # others: drones, hums, pads
    ("ambi_drone.flac", "others", "recording", "", _fs(195341, "Autistic%20Lucario")),
    ("ambi_glass_hum.flac", "others", "recording", "", _fs(35391, "kaligari")),
    ("ambi_haunted_hum.flac", "others", "recording", "", _fs(35392, "kaligari")),
    ("ambi_glass_rub.flac", "others", "recording", "", _fs(198403, "ani_music")),
    ("loop_drone_g_97.flac", "others", "electronic", "", _fs(415570, "hullum")),
]

_LMMS: list[tuple[str, str, str, str]] = [
    # drums: drum-machine patterns and sampled breaks
    ("beats/909beat01.ogg", "drums", "electronic", ""),
    ("beats/break01.ogg", "drums", "recording", ""),
    ("beats/break02.ogg", "drums", "recording", ""),
    ("beats/break03.ogg", "drums", "recording", ""),
    ("beats/electro_beat01.ogg", "drums", "electronic", ""),
    ("beats/electro_beat02.ogg", "drums", "electronic", ""),
    ("beats/house_loop01.ogg", "drums", "electronic", ""),
    ("beats/jungle01.ogg", "drums", "recording", ""),
    # guitar
    ("latin/latin_guitar01.ogg", "guitar", "recording", ""),
    ("latin/latin_guitar02.ogg", "guitar", "recording", ""),
    ("latin/latin_guitar03.ogg", "guitar", "recording", ""),
    ("instruments/steel_guitar01.ogg", "guitar", "recording", "lmms-steel-guitar"),
    ("instruments/steel_guitar_heavy_distorted01.ogg", "guitar", "recording", "lmms-steel-guitar"),
    # piano (acoustic and electric)
    ("instruments/piano02.ogg", "piano", "recording", ""),
    ("instruments/e_piano_accord01.ogg", "piano", "recording", ""),
    ("instruments/e_piano_accord02.ogg", "piano", "recording", ""),
    # bass: a slapped bass guitar and synthesizer bass lines
    ("instruments/bassslap02.ogg", "bass", "recording", ""),
    ("bassloops/tb303_01.ogg", "bass", "electronic", ""),
    ("bassloops/techno_bass01.ogg", "bass", "electronic", ""),
    ("bassloops/techno_bass02.ogg", "bass", "electronic", ""),
    ("bassloops/rave_bass01.ogg", "bass", "electronic", "lmms-rave-bass"),
    ("bassloops/rave_bass02.ogg", "bass", "electronic", "lmms-rave-bass"),
    ("bassloops/briff01.ogg", "bass", "electronic", ""),
    # others: organs, strings, winds, choirs, pads
    ("instruments/church_organ01.ogg", "others", "recording", ""),
    ("instruments/church_organ02.ogg", "others", "recording", ""),
    ("instruments/church_organ03.ogg", "others", "recording", ""),
    ("instruments/e_organ01.ogg", "others", "recording", ""),
    ("instruments/flute01.ogg", "others", "recording", ""),
    ("instruments/trumpet01.ogg", "others", "recording", ""),
    ("instruments/cello01.ogg", "others", "recording", ""),
    ("stringsnpads/strings01.ogg", "others", "recording", ""),
    ("stringsnpads/chorus02.ogg", "others", "recording", ""),
    ("stringsnpads/bell_choir01.ogg", "others", "recording", ""),
    ("stringsnpads/heaven_strings01.ogg", "others", "electronic", ""),
    ("stringsnpads/juno_pad01.ogg", "others", "electronic", ""),
    ("stringsnpads/nord_ambient01.ogg", "others", "electronic", ""),
    ("stringsnpads/space_strings01.ogg", "others", "electronic", "lmms-space-strings"),
]


def _catalogue() -> tuple[RealSource, ...]:
    out: list[RealSource] = []
    sp, lm = PACKAGES["sonic-pi-samples"], PACKAGES["lmms-common"]
    for rel, inst, kind, family, origin in _SONIC_PI:
        out.append(
            RealSource(
                f"{sp.name}:{rel}",
                str(Path(sp.root) / rel),
                inst,
                sp.name,
                sp.licence,
                kind,
                f"{sp.name}:{family}" if family else "",
                origin,
            )
        )
    for rel, inst, kind, family in _LMMS:
        out.append(
            RealSource(
                f"{lm.name}:{rel}",
                str(Path(lm.root) / rel),
                inst,
                lm.name,
                lm.licence,
                kind,
                f"{lm.name}:{family}" if family else "",
                "https://lmms.io/ (LMMS sample library, via Debian lmms-common)",
            )
        )
    return tuple(out)


#: Every catalogued file, whether or not its package is installed here.
CATALOGUE: tuple[RealSource, ...] = _catalogue()


def installed_sources(catalogue: tuple[RealSource, ...] = CATALOGUE) -> list[RealSource]:
    """The catalogue entries whose file exists on this machine.

    Returns
    -------
    list of RealSource
        In catalogue order; empty when neither package is installed
        (``apt-get install sonic-pi-samples lmms-common``).
    """
    return [s for s in catalogue if Path(s.path).is_file()]
