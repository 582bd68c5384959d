"""Lesson 2: DCGAN generators and discriminator for colour images (32 or 64 px).

Radford et al. (2015)'s recipe: no pooling and no fully connected hidden layers; G doubles
the image size block by block, D halves it; BatchNorm everywhere except G's output and D's
input; ReLU in G, LeakyReLU(0.2) in D; weights drawn from N(0, 0.02) (`dcgan_init`).

Two ways for G to double the image size (the lesson compares them):

    upsample="transposed"  ConvTranspose2d(k=4, s=2, p=1). The kernels overlap evenly (4 is
                           divisible by 2: every output pixel gets two taps per axis), but even
                           and odd output pixels use different kernel taps, so unless the taps
                           agree, alternate pixels differ: a checkerboard, even in an untrained G.
    upsample="nearest"     Upsample(x2, nearest) then Conv2d(k=3, p=1): every output pixel sees
                           the same number of inputs, no checkerboard (Odena et al. 2016).

    G = DCGANGenerator(size=64)                      # z (B, 100) -> images (B, 3, 64, 64) in [-1, 1]
    D = DCGANDiscriminator(size=64, dropout=0.3, minibatch_discrimination=True)   # images -> logits (B,)
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..checks import check_count, check_images, check_number, check_z
from .layers import MinibatchDiscrimination

UPSAMPLE_MODES = ("transposed", "nearest")


def _doublings(size: int) -> int:
    """How many x2 blocks take a 4x4 map to `size` (32 -> 3, 64 -> 4); ValueError otherwise."""
    n = math.log2(size / 4) if isinstance(size, int) and size >= 8 else -1
    if n != int(n) or n < 1:
        raise ValueError(f"size must be a power of two >= 8 (e.g. 32 or 64), got {size!r}")
    return int(n)


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN paper's initialisation: conv weights ~ N(0, 0.02); BatchNorm scale ~ N(1, 0.02), shift 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def up_block(c_in: int, c_out: int, upsample: str) -> list[nn.Module]:
    """The layers that double H and W: (B, c_in, H, W) -> (B, c_out, 2H, 2W) (no norm / activation)."""
    c_in, c_out = check_count(c_in, "c_in"), check_count(c_out, "c_out")
    if upsample == "transposed":
        return [nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1, bias=False)]
    if upsample == "nearest":
        return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False)]
    raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")


class DCGANGenerator(nn.Module):
    """z (B, z_dim) -> images (B, channels, size, size) in [-1, 1].

    z is reshaped to (B, z_dim, 1, 1); a 4x4 transposed convolution makes a (B, width * 2^(n-1), 4, 4)
    map; n - 1 blocks (x2 size, /2 channels, BatchNorm, ReLU) follow, then a last x2 block to
    `channels` with tanh (n = log2(size / 4): 3 for 32 px, 4 for 64 px).

    upsample: "transposed" or "nearest" (see the module docstring).
    extra_layer: one more Conv2d(k=3, s=1) + BatchNorm + ReLU before the output block (same shapes,
    one more layer of depth: the source's "extra generator layer").
    """

    def __init__(self, z_dim: int = 100, size: int = 64, channels: int = 3, width: int = 64,
                 upsample: str = "transposed", extra_layer: bool = False):
        super().__init__()
        n = _doublings(size)
        z_dim, channels, width = check_count(z_dim, "z_dim"), check_count(channels, "channels"), check_count(width, "width")
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")
        self.z_dim, self.size, self.channels, self.upsample, self.extra_layer = z_dim, size, channels, upsample, extra_layer
        c = width * 2 ** (n - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, c, kernel_size=4, stride=1, padding=0, bias=False),
                                   nn.BatchNorm2d(c), nn.ReLU(inplace=True)]        # (B, c, 4, 4)
        for _ in range(n - 1):                                                      # (B, c/2, 2H, 2W) each
            layers += [*up_block(c, c // 2, upsample), nn.BatchNorm2d(c // 2), nn.ReLU(inplace=True)]
            c //= 2
        if extra_layer:                                                             # (B, c, size/2, size/2)
            layers += [nn.Conv2d(c, c, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        layers += [*up_block(c, channels, upsample), nn.Tanh()]                     # (B, channels, size, size)
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_z(z, self.z_dim)
        return self.net(z.view(len(z), self.z_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """images (B, channels, size, size) in [-1, 1] -> logits (B,) (the sigmoid is inside the loss).

    n strided convolutions (k=4, s=2, p=1) halve the image down to 4x4 while the channels double
    from `width` (LeakyReLU(0.2); BatchNorm on all but the first); `features(x)` flattens that
    map to (B, width * 2^(n-1) * 16). The head is a linear layer (the same as the paper's last
    4x4 convolution).

    dropout: p of nn.Dropout after every LeakyReLU (0 = none; the source found it hurts).
    minibatch_discrimination: insert `MinibatchDiscrimination(features, kernels, kernel_dim)`
    before the head, so D sees how similar each image is to the rest of its batch.
    """

    def __init__(self, size: int = 64, channels: int = 3, width: int = 64, dropout: float = 0.0,
                 minibatch_discrimination: bool = False, kernels: int = 32, kernel_dim: int = 8):
        super().__init__()
        n = _doublings(size)
        channels, width = check_count(channels, "channels"), check_count(width, "width")
        kernels, kernel_dim = check_count(kernels, "kernels"), check_count(kernel_dim, "kernel_dim")
        dropout = check_number(dropout, "dropout", low=0, high=1, high_open=True)
        self.size, self.channels = size, channels
        layers: list[nn.Module] = []
        c_in, c = channels, width
        for i in range(n):                                                          # (B, c, H/2, W/2) each
            layers.append(nn.Conv2d(c_in, c, kernel_size=4, stride=2, padding=1, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(c))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            c_in, c = c, c * 2
        self.body = nn.Sequential(*layers, nn.Flatten())                            # (B, c_in * 16)
        self.feature_size = c_in * 16
        self.minibatch = (MinibatchDiscrimination(self.feature_size, kernels, kernel_dim)
                          if minibatch_discrimination else None)
        self.head = nn.Linear(self.feature_size + (kernels if minibatch_discrimination else 0), 1)
        self.apply(dcgan_init)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """images (B, C, size, size) -> (B, feature_size [+ kernels with minibatch discrimination])."""
        check_images(x, "D's input x", channels=self.channels, size=self.size, floating=True)
        f = self.body(x)
        return f if self.minibatch is None else self.minibatch(f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)
