"""Lesson 1: the reference MLP GAN on MNIST (generator and discriminator), ported from the source."""
from __future__ import annotations

import torch
from torch import nn

from ..checks import check_count, check_images, check_widths, check_z


class MLPGenerator(nn.Module):
    """z (B, z_dim) ~ N(0, I) -> images (B, 1, 28, 28) in [-1, 1].

    The reference architecture: Linear 256 -> 512 -> 1024, each followed by LeakyReLU(0.2) and
    BatchNorm, then Linear 784 and tanh. `batchnorm=False` drops the BatchNorm layers (an exercise).
    """

    def __init__(self, z_dim: int = 100, hidden: tuple[int, ...] = (256, 512, 1024),
                 image_shape: tuple[int, int, int] = (1, 28, 28), batchnorm: bool = True):
        super().__init__()
        z_dim, hidden, image_shape = check_count(z_dim, "z_dim"), check_widths(hidden, "hidden"), _shape(image_shape)
        self.z_dim, self.image_shape = z_dim, image_shape
        layers, width = [], z_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            if batchnorm:
                layers.append(nn.BatchNorm1d(h))
            width = h
        layers += [nn.Linear(width, image_shape[0] * image_shape[1] * image_shape[2]), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_z(z, self.z_dim)
        return self.net(z).view(len(z), *self.image_shape)


class MLPDiscriminator(nn.Module):
    """images (B, 1, 28, 28) in [-1, 1] -> logits (B,): large means "real".

    The reference architecture: flatten, Linear 1024 -> 512 -> 256 with LeakyReLU(0.2), then
    Linear 1. It returns logits; the loss (BCE with logits) applies the sigmoid, which is
    numerically safer than a sigmoid layer followed by BCE.
    """

    def __init__(self, hidden: tuple[int, ...] = (1024, 512, 256), image_shape: tuple[int, int, int] = (1, 28, 28)):
        super().__init__()
        hidden, image_shape = check_widths(hidden, "hidden"), _shape(image_shape)
        self.image_shape = image_shape
        layers, width = [nn.Flatten()], image_shape[0] * image_shape[1] * image_shape[2]
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, "D's input x", channels=self.image_shape[0], size=self.image_shape[1:], floating=True)
        return self.net(x).squeeze(1)


def _shape(image_shape) -> tuple[int, int, int]:
    if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3:
        raise ValueError(f"image_shape must be (channels, height, width), e.g. (1, 28, 28), got {image_shape!r}")
    return tuple(check_count(v, "image_shape") for v in image_shape)
