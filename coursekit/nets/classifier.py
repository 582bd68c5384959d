"""The small classifiers behind the course's measuring sticks: MNIST digits (`coursekit.metrics.digits`)
and Flowers-102 photos (`coursekit.metrics.flowers`).

Their trained weights ship with the package (`coursekit/weights/`, loaded and made by
`coursekit.pretrained`), so every student measures with the same sticks.
"""
from __future__ import annotations

import torch
from torch import nn

from ..checks import check_count, check_images

FLOWER_SIZE = 32     # FlowerNet's input: 32x32 colour images


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
        """x (B, 1, 28, 28) float in [-1, 1] -> (B, 128). Shape and dtype are checked (no host sync)."""
        return self.body(check_images(x, "x", channels=1, size=28, floating=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, 28, 28) float in [-1, 1] -> logits (B, 10)."""
        return self.head(self.features(x))


class FlowerNet(nn.Module):
    """A small CNN: images (B, 3, 32, 32) in [-1, 1] -> logits (B, 102) (Flowers-102 classes).

    `features(x)` gives the 128-d penultimate activations (B, 128) that `FlowerQuality` compares.
    """

    def __init__(self, classes: int = 102):
        super().__init__()
        classes = check_count(classes, "classes")

        def block(c_in, c_out):  # (B, c_in, H, W) -> (B, c_out, H/2, W/2)
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]

        self.body = nn.Sequential(*block(3, 16), *block(16, 32), *block(32, 64), *block(64, 128),    # (B, 128, 2, 2)
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())                          # (B, 128)
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(128, classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, 32, 32) float in [-1, 1] -> (B, 128). Other sizes: metrics.flowers.as_stick_input downscales."""
        return self.body(check_images(x, "x", channels=3, size=FLOWER_SIZE, floating=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, 32, 32) float in [-1, 1] -> logits (B, classes)."""
        return self.head(self.features(x))
