"""Lesson 6: a small U-Net that predicts the noise in a noisy digit (Ho et al. 2020, much smaller).

    net = UNet(channels=32)                 # 28x28 -> 14x14 -> 7x7 and back, with skip connections
    eps = net(x_t, t)                       # x_t (B, 1, 28, 28), t (B,) int64 in [0, T) -> (B, 1, 28, 28)
    net = UNet(channels=32, num_classes=10) # label conditioning, for classifier-free guidance
    eps = net(x_t, t, labels)               # labels (B,) in 0..9, or net.null_label (= 10) for "no label"

The time step enters every residual block as a learned embedding of a sinusoidal code (the
Transformer's position code), added to the feature maps; a label adds its own embedding to it.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_count, check_images


def timestep_code(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal code of time steps: t (B,) -> (B, dim), sin and cos at geometric frequencies 1 .. 1/10000."""
    if not isinstance(t, torch.Tensor) or t.dim() != 1 or not len(t) or t.is_floating_point() or t.dtype == torch.bool:
        shape = (t.dtype, tuple(t.shape)) if isinstance(t, torch.Tensor) else type(t).__name__
        raise ValueError(f"t must be a 1-d tensor of whole time steps (B,), B >= 1, got {shape}")
    dim = check_count(dim, "dim", minimum=2)
    if dim % 2:
        raise ValueError(f"dim must be even (half sines, half cosines), got {dim}")
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]                       # (B, half)
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class ResBlock(nn.Module):
    """GroupNorm -> SiLU -> conv, + the (time, label) embedding, GroupNorm -> SiLU -> conv, + skip.

    x (B, c_in, H, W), emb (B, emb_dim) -> (B, c_out, H, W).
    """

    def __init__(self, c_in: int, c_out: int, emb_dim: int):
        super().__init__()
        c_in, c_out, emb_dim = check_count(c_in, "c_in"), check_count(c_out, "c_out"), check_count(emb_dim, "emb_dim")
        for name, c in (("c_in", c_in), ("c_out", c_out)):
            if c % 8:
                raise ValueError(f"{name} must be a multiple of 8 (GroupNorm uses 8 groups), got {c}")
        self.norm1, self.conv1 = nn.GroupNorm(8, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = nn.GroupNorm(8, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        check_images(x, "x", channels=self.norm1.num_channels, floating=True)
        if emb.dim() != 2 or emb.shape != (len(x), self.emb.in_features) or not emb.is_floating_point():
            raise ValueError(f"emb must be float ({len(x)}, {self.emb.in_features}), one embedding per image, "
                             f"got {emb.dtype} {tuple(emb.shape)}")
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(F.silu(emb))[:, :, None, None]            # the time step shifts every channel
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class UNet(nn.Module):
    """Noise predictor eps(x_t, t[, label]) for 1-channel digits: one ResBlock per resolution.

    channels: width at full resolution (a multiple of 8); mults: width multipliers per resolution
    (len(mults) - 1 halvings: (1, 2, 2) on 28x28 -> 28, 14, 7 px); num_classes: None for an
    unconditional net, else labels 0..num_classes-1 plus `null_label` = num_classes ("no label").
    """

    def __init__(self, channels: int = 32, mults: tuple[int, ...] = (1, 2, 2), num_classes: int | None = None,
                 image_channels: int = 1):
        super().__init__()
        image_channels = check_count(image_channels, "image_channels")
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 8 or channels % 8:
            raise ValueError(f"channels must be a multiple of 8 (GroupNorm uses 8 groups), got {channels!r}")
        if not mults or any(isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in mults):
            raise ValueError(f"mults must be a non-empty tuple of whole numbers >= 1, got {mults!r}")
        if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, int)
                                        or num_classes < 1):
            raise ValueError(f"num_classes must be None or a whole number >= 1, got {num_classes!r}")
        self.channels, self.mults, self.num_classes = channels, tuple(mults), num_classes
        self.image_channels = image_channels
        widths = [channels * m for m in mults]                       # e.g. 32, 64, 64 at 28, 14, 7 px
        emb = 4 * channels
        self.time_mlp = nn.Sequential(nn.Linear(channels, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.label_emb = nn.Embedding(num_classes + 1, emb) if num_classes else None
        self.conv_in = nn.Conv2d(image_channels, widths[0], 3, padding=1)
        self.down = nn.ModuleList(ResBlock(a, b, emb) for a, b in zip(widths[:1] + widths[:-1], widths))
        self.downsample = nn.ModuleList(nn.Conv2d(w, w, 3, stride=2, padding=1) for w in widths[:-1])
        self.middle = ResBlock(widths[-1], widths[-1], emb)
        self.upsample = nn.ModuleList(nn.Conv2d(widths[i + 1], widths[i + 1], 3, padding=1)
                                      for i in reversed(range(len(widths) - 1)))
        self.up = nn.ModuleList(ResBlock(widths[i + 1] + widths[i], widths[i], emb)
                                for i in reversed(range(len(widths) - 1)))
        self.norm_out = nn.GroupNorm(8, widths[0])
        self.conv_out = nn.Conv2d(widths[0], image_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)                         # start by predicting eps = 0
        nn.init.zeros_(self.conv_out.bias)

    @property
    def null_label(self) -> int:
        """The label meaning "no label" (classifier-free guidance trains with it, samples use it)."""
        if self.num_classes is None:
            raise ValueError("this UNet has no labels: build it with UNet(num_classes=10) for conditioning")
        return self.num_classes

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, C, H, W), t (B,) time steps, labels (B,) int64 or None -> predicted noise (B, C, H, W)."""
        self._check(x, t, labels)
        emb = self.time_mlp(timestep_code(t, self.channels))         # (B, emb)
        if self.label_emb is not None:
            labels = torch.full_like(t, self.null_label, dtype=torch.long) if labels is None else labels
            emb = emb + self.label_emb(labels)
        h, skips = self.conv_in(x), []
        for i, block in enumerate(self.down):
            h = block(h, emb)
            if i < len(self.downsample):                             # keep the skip, then halve the size
                skips.append(h)
                h = self.downsample[i](h)
        h = self.middle(h, emb)
        for conv, block in zip(self.upsample, self.up):             # double the size, join the skip
            skip = skips.pop()
            h = conv(F.interpolate(h, size=skip.shape[-2:], mode="nearest"))
            h = block(torch.cat([h, skip], dim=1), emb)
        return self.conv_out(F.silu(self.norm_out(h)))

    @property
    def min_size(self) -> int:
        """The smallest image side the net takes: each of its len(mults) - 1 halvings needs 2 pixels."""
        return 2 ** (len(self.mults) - 1)

    def _check(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None) -> None:
        if not torch.is_tensor(x) or x.dim() != 4 or x.shape[1] != self.image_channels or not x.is_floating_point():
            shape = (x.dtype, tuple(x.shape)) if torch.is_tensor(x) else type(x).__name__
            raise ValueError(f"x must be a float (B, {self.image_channels}, H, W) tensor, got {shape}")
        if len(x) == 0 or min(x.shape[-2:]) < self.min_size:
            raise ValueError(f"x must hold at least one image of at least {self.min_size}x{self.min_size} pixels "
                             f"(this U-Net halves the size {len(self.mults) - 1} times), got {tuple(x.shape)}")
        if not torch.is_tensor(t) or t.shape != (len(x),) or t.is_floating_point() or t.dtype == torch.bool:
            shape = (t.dtype, tuple(t.shape)) if torch.is_tensor(t) else type(t).__name__
            raise ValueError(f"t must be a ({len(x)},) tensor of whole time steps, one per image, got {shape}")
        if labels is not None:
            if self.label_emb is None:
                raise ValueError("labels given to an unconditional UNet: build it with UNet(num_classes=10)")
            if not torch.is_tensor(labels) or labels.shape != (len(x),) or labels.is_floating_point():
                raise ValueError(f"labels must be a ({len(x)},) integer tensor, got "
                                 f"{tuple(labels.shape) if torch.is_tensor(labels) else type(labels).__name__}")
