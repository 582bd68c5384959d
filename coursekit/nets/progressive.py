"""Lesson 3: growing the resolution during training, 8 -> 16 -> 32 px (Karras et al. 2018, "progressive growing").

A GAN at high resolution is hard from the start: D can tell real from fake by fine detail long
before G has learnt the coarse layout, so D wins early and G's gradient carries little. Karras
et al. start both networks at a low resolution and add layers as training goes; each new layer
is *faded in*: during the fade, the image is a blend

    alpha * new_layer_output + (1 - alpha) * upsampled(old_output),   alpha: 0 -> 1

so the freshly initialised layer cannot wreck what the smaller network already learnt. D grows
in mirror image, and the real images it sees are blended the same way.

    G, D = ProgressiveGenerator(), ProgressiveDiscriminator()   # both start at 8 x 8
    train_gan(G, D, StageBatches(batches32, G, D, fade_steps=0), steps=...)    # stage 8 px
    G.grow(); D.grow()                                                         # now 16 px, alpha = 0
    train_gan(G, D, StageBatches(batches32, G, D, fade_steps=500), steps=...)  # fade in, then train

`StageBatches` is the data source of one stage: it hands the engine real images at the current
resolution and, since the engine asks for exactly one batch per step, it also advances alpha.
Left out of the paper's recipe for brevity: equalised learning rate, pixel norm, minibatch
standard deviation, and resolutions above 32 px.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_count, check_images, check_number, check_widths, check_z


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.LeakyReLU(0.2),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.LeakyReLU(0.2))


class Growing(nn.Module):
    """What G and D share: `stage` (0 = 8 px), `alpha` (fade-in of the newest stage), `grow()`."""
    channels: tuple[int, ...]
    stage: int
    alpha: float

    @property
    def resolution(self) -> int:
        return 8 * 2 ** self.stage

    def grow(self) -> None:
        """Add the next resolution (alpha starts at 0: the new layers are faded in)."""
        if self.stage + 1 >= len(self.channels):
            raise ValueError(f"already at the largest resolution ({self.resolution} px)")
        self.stage, self.alpha = self.stage + 1, 0.0


class ProgressiveGenerator(Growing):
    """z (B, z_dim) -> images (B, C, r, r) in [-1, 1], r = 8 * 2**stage (8, 16, 32 with 3 channel widths).

    channels[s]: feature width at stage s. Each stage has its own 1x1 `to_image` layer; during a fade
    the previous stage's image is upsampled and blended with the new one by `alpha`.
    """

    def __init__(self, z_dim: int = 64, channels: tuple[int, ...] = (32, 16, 8), image_channels: int = 1):
        super().__init__()
        z_dim, channels = check_count(z_dim, "z_dim"), check_widths(channels, "channels")
        image_channels = check_count(image_channels, "image_channels")
        self.z_dim, self.channels, self.stage, self.alpha = z_dim, channels, 0, 1.0
        self.start = nn.Sequential(nn.Linear(z_dim, channels[0] * 8 * 8), nn.LeakyReLU(0.2))
        self.start_conv = nn.Sequential(nn.Conv2d(channels[0], channels[0], 3, padding=1), nn.LeakyReLU(0.2))
        self.blocks = nn.ModuleList(nn.Sequential(nn.Upsample(scale_factor=2), _conv_block(a, b))
                                    for a, b in zip(channels, channels[1:]))
        self.to_image = nn.ModuleList(nn.Conv2d(c, image_channels, 1) for c in channels)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_z(z, self.z_dim)
        x = self.start_conv(self.start(z).view(len(z), self.channels[0], 8, 8))   # (B, C0, 8, 8)
        previous = x
        for block in self.blocks[: self.stage]:
            previous, x = x, block(x)                                             # doubles the size
        image = torch.tanh(self.to_image[self.stage](x))                          # (B, C, r, r)
        if self.stage > 0 and self.alpha < 1:
            old = torch.tanh(self.to_image[self.stage - 1](previous))            # (B, C, r/2, r/2)
            image = self.alpha * image + (1 - self.alpha) * F.interpolate(old, scale_factor=2, mode="nearest")
        return image


class ProgressiveDiscriminator(Growing):
    """images (B, C, r, r), r = 8 * 2**stage -> logits (B,). The mirror of ProgressiveGenerator."""

    def __init__(self, channels: tuple[int, ...] = (32, 16, 8), image_channels: int = 1):
        super().__init__()
        channels, image_channels = check_widths(channels, "channels"), check_count(image_channels, "image_channels")
        self.channels, self.stage, self.alpha = channels, 0, 1.0
        self.image_channels = image_channels
        self.from_image = nn.ModuleList(nn.Sequential(nn.Conv2d(image_channels, c, 1), nn.LeakyReLU(0.2))
                                        for c in channels)
        self.blocks = nn.ModuleList(nn.Sequential(_conv_block(b, a), nn.AvgPool2d(2))  # halves the size
                                    for a, b in zip(channels, channels[1:]))
        self.end = nn.Sequential(nn.Conv2d(channels[0], channels[0], 3, padding=1), nn.LeakyReLU(0.2),
                                 nn.Flatten(), nn.Linear(channels[0] * 8 * 8, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_images(x, f"D's input x (D is at {self.resolution} px)", channels=self.image_channels, size=self.resolution,
                     floating=True)
        h = self.from_image[self.stage](x)
        if self.stage > 0:
            h = self.blocks[self.stage - 1](h)                                   # (B, C_{s-1}, r/2, r/2)
            if self.alpha < 1:
                old = self.from_image[self.stage - 1](F.avg_pool2d(x, 2))
                h = self.alpha * h + (1 - self.alpha) * old
        for block in reversed(self.blocks[: max(self.stage - 1, 0)]):
            h = block(h)
        return self.end(h).squeeze(1)


def images_at(images: torch.Tensor, resolution: int, alpha: float = 1.0) -> torch.Tensor:
    """Real images (B, C, R, R) -> (B, C, r, r) by average pooling, blended like G's output during a fade.

    With alpha < 1 the image is alpha * (r px) + (1 - alpha) * (r/2 px, upsampled): what G can draw then.
    """
    check_images(images, "images", floating=True)
    resolution = check_count(resolution, "resolution")
    alpha = check_number(alpha, "alpha", low=0, high=1)
    size = images.shape[-1]
    if images.shape[-2] != size or size % resolution or (alpha < 1 and resolution % 2):
        raise ValueError(f"images must be square with a side that resolution={resolution} divides (and an even "
                         f"resolution during a fade), got {tuple(images.shape)}")
    factor = size // resolution
    small = F.avg_pool2d(images, factor) if factor > 1 else images
    if alpha >= 1:
        return small
    coarse = F.interpolate(F.avg_pool2d(small, 2), scale_factor=2, mode="nearest")
    return alpha * small + (1 - alpha) * coarse


class StageBatches:
    """The data source of one growth stage for `train_gan`: real images at the models' resolution.

    Each `next_batch()` is one training step, so it also sets alpha = min(1, steps so far / fade_steps)
    on G and D (fade_steps=0: no fade). `state_dict` keeps the step count, so a resumed stage
    continues the fade where it stopped.
    """

    def __init__(self, batches, G: ProgressiveGenerator, D: ProgressiveDiscriminator, fade_steps: int = 0):
        if not isinstance(G, ProgressiveGenerator) or not isinstance(D, ProgressiveDiscriminator):
            raise TypeError(f"G and D must be a ProgressiveGenerator and a ProgressiveDiscriminator, got "
                            f"{type(G).__name__} and {type(D).__name__}")
        if not callable(getattr(batches, "next_batch", None)):
            raise TypeError(f"batches must be a data source with next_batch() (e.g. images.batches(32)), "
                            f"got {type(batches).__name__}")
        if G.resolution != D.resolution:
            raise ValueError(f"G is at {G.resolution} px but D at {D.resolution} px: grow both")
        fade_steps = check_count(fade_steps, "fade_steps", minimum=0)
        self.batches, self.G, self.D, self.fade_steps, self.step = batches, G, D, fade_steps, 0

    @property
    def alpha(self) -> float:
        return 1.0 if self.fade_steps <= 0 else min(1.0, self.step / self.fade_steps)

    def next_batch(self) -> torch.Tensor:
        self.G.alpha = self.D.alpha = alpha = self.alpha
        self.step += 1
        return images_at(self.batches.next_batch(), self.G.resolution, alpha)

    def fingerprint(self) -> dict:
        """The wrapped batches' fingerprint, plus this stage's resolution and fade length."""
        inner = self.batches.fingerprint() if callable(getattr(self.batches, "fingerprint", None)) else {}
        return {**inner, "resolution": self.G.resolution, "fade_steps": self.fade_steps}

    def state_dict(self) -> dict:
        return {"batches": self.batches.state_dict(), "step": self.step}

    def load_state_dict(self, state: dict) -> None:
        self.batches.load_state_dict(state["batches"])
        self.step = state["step"]
