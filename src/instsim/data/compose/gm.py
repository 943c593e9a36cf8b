"""General MIDI tables shared by every grammar.

The instrument families (:data:`GM_FAMILIES`, and :func:`inst_class`, Slakh's stem
label of a program), the programs the pop "others" roles draw from
(:data:`ROLE_PROGRAMS`), the drum kits (:data:`DRUM_KITS`), the GM drum-map note
numbers (kit pieces and latin percussion) and a comfortable melodic range per
program (``_program_range``).
"""

from __future__ import annotations

#: General MIDI families (8 programs each), named as Slakh's ``inst_class``.
GM_FAMILIES: tuple[str, ...] = (
    "Piano",
    "Chromatic Percussion",
    "Organ",
    "Guitar",
    "Bass",
    "Strings",
    "Strings (continued)",
    "Brass",
    "Reed",
    "Pipe",
    "Synth Lead",
    "Synth Pad",
    "Synth Effects",
    "Ethnic",
    "Percussive",
    "Sound Effects",
)

#: Programs the "others" roles draw from (General MIDI 8-23 and 40-111; 112-127 are
#: percussive and sound effects and never used).
ROLE_PROGRAMS: dict[str, tuple[int, ...]] = {
    "lead": (
        *range(8, 14), 16, 17, 18, 19, 21, 22, 23, 40, 41, 42, 53, 56, 57, 59, 60,
        *range(64, 88), *range(104, 112),
    ),
    "pad": (16, 17, 18, 19, 20, 44, 48, 49, 50, 51, 52, 53, 54, *range(88, 98), *range(99, 104)),
    "stabs": (16, 17, 18, 45, 47, 55, 56, 57, 61, 62, 63),
    "arp": (*range(8, 16), 45, 46, 80, 81, 84, 85, 86, 87, 98, 104, 105, 106, 107, 108),
    "counter": (40, 41, 42, 43, 48, 49, 58, 60, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74),
}  # fmt: skip

#: Drum kits (bank 128 presets of GM/GS soundfonts): standard, room, power,
#: electronic, TR-808, jazz, brush. A kit missing from a soundfont renders as kit 0.
DRUM_KITS: tuple[int, ...] = (0, 8, 16, 24, 25, 32, 40)


# GM drum map notes
KICK, KICK2, SIDESTICK, SNARE, CLAP, SNARE2 = 36, 35, 37, 38, 39, 40
HAT_CLOSED, HAT_PEDAL, HAT_OPEN, RIDE, RIDE_BELL = 42, 44, 46, 51, 53
CRASH, CRASH2, TAMBOURINE, COWBELL, SHAKER = 49, 57, 54, 56, 70
TOMS = (50, 48, 47, 45, 43, 41)  # high to low
CONGAS = (62, 63, 64)
# latin percussion
BONGO_HI, CONGA_MUTE, CONGA_OPEN, CONGA_LOW = 60, 62, 63, 64
TIMBALE_HI, TIMBALE_LO, GUIRO_SHORT, GUIRO_LONG, CLAVES, MARACAS = 65, 66, 73, 74, 75, 70


def inst_class(program: int, is_drum: bool) -> str:
    """Slakh's ``inst_class`` of a stem: ``"Drums"`` or the General MIDI family name."""
    return "Drums" if is_drum else GM_FAMILIES[int(program) // 8]


def _program_range(program: int) -> tuple[int, int]:
    """A comfortable pitch range (MIDI notes) for melodic lines on a GM program."""
    table = {
        40: (60, 88), 41: (52, 79), 42: (40, 67), 43: (33, 55), 44: (48, 79), 45: (48, 79),
        46: (48, 84), 47: (40, 55), 56: (58, 82), 57: (40, 70), 58: (30, 55), 59: (58, 80),
        60: (45, 75), 64: (60, 86), 65: (56, 81), 66: (48, 76), 67: (40, 69), 68: (60, 88),
        69: (52, 79), 70: (36, 67), 71: (52, 84), 72: (74, 98), 73: (62, 93), 74: (65, 91),
    }  # fmt: skip
    if program in table:
        return table[program]
    family = program // 8
    return {1: (60, 88), 2: (55, 84), 6: (48, 79), 7: (50, 80), 8: (55, 82), 9: (65, 93),
            10: (55, 84), 11: (48, 79), 12: (52, 84), 13: (55, 84)}.get(family, (55, 84))  # fmt: skip
