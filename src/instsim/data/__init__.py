"""Training data: the synthetic Slakh-style corpus, instrument groups, pseudo-mixes, caches.

Modules load on demand (``from instsim.data import synth``); importing this
package imports nothing heavy.
"""
