"""The fully convolutional network (FCN) of Choi, Fazekas and Sandler (ISMIR 2016).

Stacks of 3x3 convolution, batch normalisation, ELU and max pooling; the paper's
per-instrument networks use it (Hashizume et al. 2022). The widths default to a
CPU-friendly version of FCN-5; the last pooling is global (max over the remaining
time-frequency plane), so any input length works. The default widths
(16, 32, 64, 64, 128) run at about 235 segments/s forward on 2 CPU cores; the
original (128 ... 2048) would make stage 1 of training the bottleneck.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from . import Backbone

__all__ = ["FCN"]


class FCN(Backbone):
    """FCN backbone (``"fcn"``).

    Parameters
    ----------
    n_mels : int
        Mel bands of the input.
    embedding_dim : int
        Output size (128 for one per-instrument sub-space).
    channels : sequence of int
        Channels of each conv block; each block but the last halves time and
        frequency with 2x2 max pooling (pooling is skipped once an axis is 1).
    dropout : float
        Dropout before the output layer.

    Shapes
    ------
    ``forward(x: [batch, 1, n_mels, n_frames]) -> [batch, embedding_dim]``
    """

    def __init__(
        self,
        n_mels: int = 128,
        embedding_dim: int = 128,
        channels: Sequence[int] = (16, 32, 64, 64, 128),
        dropout: float = 0.0,
    ) -> None:
        super().__init__(n_mels, embedding_dim)
        self.blocks = nn.ModuleList()
        in_ch = 1
        for out_ch in channels:
            self.blocks.append(
                nn.Sequential(
                    nn.Conv2d(in_ch, out_ch, 3, padding=1),
                    nn.BatchNorm2d(out_ch),
                    nn.ELU(),
                )
            )
            in_ch = out_ch
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(in_ch, embedding_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i < last:
                kh = 2 if x.shape[2] > 1 else 1
                kw = 2 if x.shape[3] > 1 else 1
                x = nn.functional.max_pool2d(x, (kh, kw))
        x = x.amax(dim=(2, 3))
        return self.head(self.dropout(x))
