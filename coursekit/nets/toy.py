"""Lesson 3: small MLPs for 2-D toy data, and the discriminators that fight mode collapse.

    G = ToyGenerator()                          # z (B, 8) -> points (B, 2)
    D = ToyDiscriminator()                      # points (B, 2) -> logits (B,)
    D = ToyDiscriminator(pack=4)                # PacGAN: logits (B // 4,), one per pack of 4 points
    D = ToyDiscriminator(minibatch_kernels=16)  # + minibatch discrimination before the last layer

Both fixes give D a view of several samples at once. One sample from a collapsed G looks
perfectly real; a batch (or a pack) of near-identical samples does not. They are plain
nn.Modules, so `coursekit.train.train_gan` trains them like any other G and D.
"""
from __future__ import annotations

import torch
from torch import nn

from ..checks import check_count, check_z
from .layers import MinibatchDiscrimination, mlp


class ToyGenerator(nn.Module):
    """z (B, z_dim) ~ N(0, I) -> points (B, 2). No output squashing: the toy data spans about [-5, 5]."""

    def __init__(self, z_dim: int = 8, hidden: int = 64, depth: int = 2):
        super().__init__()
        z_dim, hidden, depth = check_count(z_dim, "z_dim"), check_count(hidden, "hidden"), check_count(depth, "depth")
        self.z_dim = z_dim
        self.net = mlp([z_dim, *[hidden] * depth, 2])  # (B, z_dim) -> depth x (Linear, ReLU) -> Linear -> (B, 2)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(check_z(z, self.z_dim))


class ToyDiscriminator(nn.Module):
    """points (B, 2) -> logits (B // pack,): large means "real".

    pack > 1 (PacGAN, Lin et al. 2018): D sees `pack` samples concatenated, (B // pack, 2 * pack),
    and judges them together; B must be a multiple of `pack`. The loss functions of
    `coursekit.train` work unchanged: they build their targets with the logits' shape.
    minibatch_kernels > 0 (Salimans et al. 2016): a `MinibatchDiscrimination` layer between the
    hidden layers and the output lets D compare each sample with the rest of the batch.
    """

    def __init__(self, hidden: int = 64, depth: int = 2, pack: int = 1, minibatch_kernels: int = 0,
                 kernel_dim: int = 8):
        super().__init__()
        hidden, depth, pack = check_count(hidden, "hidden"), check_count(depth, "depth"), check_count(pack, "pack")
        minibatch_kernels = check_count(minibatch_kernels, "minibatch_kernels", minimum=0)
        kernel_dim = check_count(kernel_dim, "kernel_dim")
        self.pack = pack
        self.trunk = mlp([2 * pack, *[hidden] * depth], lambda: nn.LeakyReLU(0.2), last_activation=True)
        self.minibatch = MinibatchDiscrimination(hidden, minibatch_kernels, kernel_dim) if minibatch_kernels else None
        self.head = nn.Linear(hidden + minibatch_kernels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != 2 or x.shape[0] % self.pack or not len(x) or not x.is_floating_point():
            raise ValueError(f"x must be float points (B, 2) with B >= 1 a multiple of pack={self.pack}, "
                             f"got {x.dtype} {tuple(x.shape)}")
        h = self.trunk(x.reshape(x.shape[0] // self.pack, 2 * self.pack))  # (B // pack, hidden)
        if self.minibatch is not None:
            h = self.minibatch(h)                                         # (B // pack, hidden + kernels)
        return self.head(h).squeeze(1)


class Packed(nn.Module):
    """PacGAN for images: D judges `pack` images at once, stacked along the channel axis.

    images (B, C, H, W) -> inner D on (B // pack, pack * C, H, W) -> logits (B // pack,).
    The inner D must accept pack * C channels, e.g. MLPDiscriminator(image_shape=(2, 28, 28)) for pack 2.
    """

    def __init__(self, inner: nn.Module, pack: int = 2):
        super().__init__()
        if not isinstance(inner, nn.Module):
            raise TypeError(f"inner must be a discriminator nn.Module, got {type(inner).__name__}")
        self.inner, self.pack = inner, check_count(pack, "pack")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() < 2 or not len(x) or len(x) % self.pack or not x.is_floating_point():
            shape = (x.dtype, tuple(x.shape)) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must be a float batch (B, ...) with B >= 1 a multiple of pack={self.pack}, got {shape}")
        b, c = x.shape[:2]
        return self.inner(x.reshape(b // self.pack, self.pack * c, *x.shape[2:]))
