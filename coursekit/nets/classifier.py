"""The small MNIST classifier the course uses as its measuring stick (see `coursekit.metrics.digits`).

Its trained weights ship with the package (`coursekit/weights/`, loaded by `coursekit.pretrained`),
so every student measures with the same stick.
"""
from __future__ import annotations

import torch
from torch import nn

from ..checks import check_images


class MNISTClassifier(nn.Module):
    """A small CNN: images (B, 1, 28, 28) in [-1, 1] -> logits (B, 10).

    `features(x)` gives the 128-d penultimate activations (B, 128) that the course's
    Fréchet distance compares (see `coursekit.metrics`).
    """

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (B, 32, 14, 14)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, 7, 7)
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),          # (B, 128)
        )
        self.head = nn.Linear(128, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, channels=1, size=28)
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
