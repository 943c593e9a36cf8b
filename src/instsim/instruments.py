"""The five instruments: one torch-free source of truth for their names and order.

The paper's Conditional Similarity Network has one sub-space per instrument, in
this order; Slakh's stems are grouped into the same five (``others`` holds every
stem that is not drums, bass, piano or guitar, see :mod:`instsim.data.groups`).
Everything that needs the names imports them from here: the model's default
config, the data pipeline, the training config, the evaluation report and the
plugin contracts. A model or dataset may use other names (``CSNConfig.instruments``,
``MultitrackDataset.instruments``); these are the defaults.
"""

from __future__ import annotations

__all__ = ["INSTRUMENTS"]

#: The paper's five instruments, in sub-space order.
INSTRUMENTS: tuple[str, ...] = ("drums", "bass", "piano", "guitar", "others")
