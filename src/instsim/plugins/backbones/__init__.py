"""Backbone plugins (entry-point group ``instsim.backbones``).

A backbone maps a batch of log-mel spectrograms to a batch of embeddings. To add
one from another package, subclass :class:`Backbone` and register the class::

    [project.entry-points."instsim.backbones"]
    mynet = "mypackage.nets:MyNet"

Then ``{"backbone": "mynet"}`` works in any model or training config.
"""

from __future__ import annotations

from torch import nn

__all__ = ["Backbone"]


class Backbone(nn.Module):
    """Contract for backbone plugins.

    Subclasses must accept ``n_mels`` and ``embedding_dim`` as keyword arguments
    (plus any keyword options of their own, which come from the model config's
    ``backbone_kwargs`` and must be JSON-serialisable), and implement::

        forward(x: Tensor[batch, 1, n_mels, n_frames]) -> Tensor[batch, embedding_dim]

    The number of frames is not fixed: a backbone must accept 3 s and 10 s
    segments alike (pool over time before the output layer).

    Parameters
    ----------
    n_mels : int
        Mel bands of the input.
    embedding_dim : int
        Size of the output embedding.
    """

    def __init__(self, n_mels: int, embedding_dim: int) -> None:
        super().__init__()
        self.n_mels = int(n_mels)
        self.embedding_dim = int(embedding_dim)
