"""Good values the catalogue's calls are built from: real data (the shared samples), tiny models.

One `Fixtures` object per test session; `f.once(key, build)` caches anything an entry file needs
beyond these. Builders that hand out something a call may change (a model it trains, a list it
fills) must make a fresh one per call: `f.fresh_*`.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

import torch

import coursekit as ck


class Fixtures:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self._once = {}

    def once(self, key: str, build):
        if key not in self._once:
            self._once[key] = build()
        return self._once[key]

    def folder(self, name: str) -> Path:
        """A fresh, empty, writable folder under the session's tmp."""
        path = self.tmp / name
        n = 0
        while path.exists():
            n += 1
            path = self.tmp / f"{name}-{n}"
        path.mkdir(parents=True)
        return path

    # ------------------------------------------------------------ real digits and flowers
    @cached_property
    def mnist_test(self) -> ck.data.ImageSet:
        return ck.data.load_mnist(train=False)

    @cached_property
    def digits_u8(self) -> torch.Tensor:
        """16 real test digits (16, 1, 28, 28) uint8."""
        return self.mnist_test.images[:16].clone()

    @cached_property
    def digit_labels(self) -> torch.Tensor:
        return self.mnist_test.labels[:16].clone()

    @cached_property
    def digits(self) -> torch.Tensor:
        """The same digits as float in [-1, 1]."""
        return self.digits_u8.float() / 127.5 - 1

    @cached_property
    def flowers_u8(self) -> torch.Tensor:
        """12 real flower photos (12, 3, 32, 32) uint8."""
        return ck.data.load_flowers102("train", size=32).images[:12].clone()

    @cached_property
    def flowers(self) -> torch.Tensor:
        return self.flowers_u8.float() / 127.5 - 1

    # ------------------------------------------------------------ the shipped measuring sticks
    @cached_property
    def classifier(self):
        return ck.pretrained.mnist_classifier("cpu", verbose=False)

    @cached_property
    def flower_net(self):
        return ck.pretrained.flower_net("cpu", verbose=False)

    # ------------------------------------------------------------ tiny models (fresh each call)
    def fresh_mlp_gan(self):
        torch.manual_seed(0)
        return ck.nets.MLPGenerator(z_dim=8, hidden=(32,)), ck.nets.MLPDiscriminator(hidden=(32,))

    def fresh_dcgan(self, size: int = 32):
        torch.manual_seed(0)
        return (ck.nets.DCGANGenerator(z_dim=8, size=size, width=8), ck.nets.DCGANDiscriminator(size=size, width=8))
