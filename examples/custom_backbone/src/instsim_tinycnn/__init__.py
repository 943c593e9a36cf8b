"""A tiny CNN backbone for instsim, shipped as a separate package (example plugin)."""

from __future__ import annotations

import torch
from torch import nn

from instsim.plugins.backbones import Backbone

__all__ = ["TinyCNN"]


class TinyCNN(Backbone):
    """Three strided 3x3 convolutions, global average pooling and a linear head.

    ``forward(x: [batch, 1, n_mels, n_frames]) -> [batch, embedding_dim]``
    """

    def __init__(self, n_mels: int = 128, embedding_dim: int = 640, width: int = 16) -> None:
        super().__init__(n_mels, embedding_dim)
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, stride=2, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.Conv2d(2 * width, 4 * width, 3, stride=2, padding=1),
            nn.BatchNorm2d(4 * width),
            nn.ReLU(),
        )
        self.head = nn.Linear(4 * width, embedding_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))
