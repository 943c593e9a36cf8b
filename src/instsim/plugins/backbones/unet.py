"""The encoder half of the singing-voice U-Net of Jansson et al. (ISMIR 2017).

Six 5x5 convolutions with stride 2 (16, 32, 64, 128, 256, 512 channels), each
followed by batch normalisation and leaky ReLU (slope 0.2), as in the paper's
Fig. 4. Then (ours) global average + max pooling over frequency and time and a
linear layer to the embedding, so that any input length works.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from . import Backbone

__all__ = ["UNetEncoder"]


class UNetEncoder(Backbone):
    """U-Net encoder backbone (``"unet"``).

    Parameters
    ----------
    n_mels : int
        Mel bands of the input.
    embedding_dim : int
        Output size (640 for five 128-d sub-spaces).
    channels : sequence of int
        Output channels of the stride-2 convolutions.
    kernel_size : int
        Square kernel size.
    negative_slope : float
        Leaky ReLU slope.
    dropout : float
        Dropout before the output layer (0 disables it).

    Shapes
    ------
    ``forward(x: [batch, 1, n_mels, n_frames]) -> [batch, embedding_dim]``
    """

    def __init__(
        self,
        n_mels: int = 128,
        embedding_dim: int = 640,
        channels: Sequence[int] = (16, 32, 64, 128, 256, 512),
        kernel_size: int = 5,
        negative_slope: float = 0.2,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(n_mels, embedding_dim)
        layers: list[nn.Module] = []
        in_ch = 1
        for out_ch in channels:
            layers += [
                nn.Conv2d(in_ch, out_ch, kernel_size, stride=2, padding=kernel_size // 2),
                nn.BatchNorm2d(out_ch),
                nn.LeakyReLU(negative_slope),
            ]
            in_ch = out_ch
        self.encoder = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(2 * in_ch, embedding_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        pooled = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        return self.head(self.dropout(pooled))
