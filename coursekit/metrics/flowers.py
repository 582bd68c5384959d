"""Measuring generated colour images (lesson 2): the flower measuring stick, colour spread, checkerboards.

- **Fréchet distance (FD)** between the 128-d penultimate features of `FlowerNet`, a small CNN the
  course trains on the Flowers-102 photos (102 classes; its weights ship with the package:
  `coursekit.pretrained.flower_net`). FID's recipe with a course-made network: the numbers are
  *FID-like*, comparable within this course only. Images are measured at 32x32 (larger ones are
  downscaled first, with antialiasing).
- **hue_tv**: total-variation distance (0 = same, 1 = disjoint) between the colour-weighted hue
  histograms of generated and real images. Colour collapse ("only yellow and purple flowers")
  shows up here directly.
- **checkerboard_energy**: the share of an image's spectral energy on the Nyquist row and column,
  where the checkerboard of strided transposed convolutions lives.

    net = ck.pretrained.flower_net(device)
    quality = FlowerQuality(net, flowers.images)         # embeds the real photos once
    quality(G)                 # -> {"fd": ..., "hue_tv": ...} on as many samples as real photos
    quality.score_images(x)    # images (N, 3, H, W): uint8, or float in [-1, 1]
    quality.floor(other_real)  # FD between two sets of real photos: the best reachable
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..nets.classifier import FLOWER_SIZE, FlowerNet
from ..nets.common import eval_mode, sample
from ..train import sample_z
from .frechet import frechet_distance

STICK_SIZE = FLOWER_SIZE   # the stick measures at FlowerNet's input size, 32x32
HUE_BINS = 12        # 30° per bin


# ---------------------------------------------------------------- input
def as_stick_input(images: torch.Tensor, size: int = STICK_SIZE) -> torch.Tensor:
    """Colour images (N, 3, H, W), uint8 [0, 255] or float [-1, 1] -> float (N, 3, size, size) in [-1, 1].

    Larger images are downscaled with antialiasing. Raises ValueError for other shapes, dtypes,
    non-finite values, or floats that look like [0, 1] or [0, 255].
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"the flower stick measures colour images (N, 3, H, W), got {shape}")
    if len(images) == 0:
        raise ValueError("no images to score (got an empty batch)")
    if images.dtype == torch.uint8:
        x = images.float().div(127.5).sub(1)
    elif images.is_floating_point():
        x = images.float()
        if not torch.isfinite(x).all():
            raise ValueError("images contain NaN or infinite values: the generator has diverged?")
        low, high = x.min().item(), x.max().item()
        if low < -1.01 or high > 1.01:
            raise ValueError(f"float images must be in [-1, 1] (as G's tanh gives), got values in [{low:.3g}, {high:.3g}]:"
                             " for 0-255 pixels pass uint8 (x.round().to(torch.uint8)) or x / 127.5 - 1")
        if low >= 0 and high > 0.05:
            raise ValueError(f"float images must be in [-1, 1], got values in [{low:.3g}, {high:.3g}], "
                             "which looks like [0, 1]: pass x * 2 - 1")
    else:
        raise ValueError(f"images must be uint8 in [0, 255] or float in [-1, 1], got dtype {images.dtype}")
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x


@torch.no_grad()
def flower_features(net: FlowerNet, images: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """images (N, 3, H, W) uint8 or float in [-1, 1] -> FlowerNet features (N, 128) float64 on the CPU."""
    device = next(net.parameters()).device
    with eval_mode(net):
        return torch.cat([net.features(as_stick_input(images[i: i + batch]).to(device)).double().cpu()
                          for i in range(0, len(images), batch)])


# ---------------------------------------------------------------- colour and checkerboards
def hue_and_chroma(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per pixel of images (N, 3, H, W) (uint8 or float in [-1, 1], measured at 32 px): the hue in
    [0, 1) of the colour circle (0 red, 1/3 green, 2/3 blue) and the chroma (max - min of R, G, B
    in [0, 1]), each (N, 32, 32). Grey pixels have chroma 0 and an arbitrary hue."""
    x = as_stick_input(images).add(1).div(2).clamp(0, 1)         # (N, 3, 32, 32) in [0, 1]
    r, g, b = x.unbind(1)
    high, low = x.max(1).values, x.min(1).values
    chroma = high - low
    safe = chroma.clamp(min=1e-6)
    hue = torch.where(high == r, ((g - b) / safe) % 6, torch.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4)) / 6
    return hue, chroma


def hue_histogram(images: torch.Tensor, bins: int = HUE_BINS) -> torch.Tensor:
    """The hue histogram (bins,) of a set of images, each pixel weighted by its chroma (max - min of R, G, B).

    Grey pixels (chroma 0) have no hue and do not count. Sums to 1.
    """
    hue, chroma = hue_and_chroma(images)
    index = (hue * bins).long().clamp(0, bins - 1)
    hist = torch.zeros(bins, dtype=torch.float64).index_add_(0, index.flatten(), chroma.flatten().double())
    return hist / hist.sum().clamp(min=1e-12)


def hue_distance(images_a: torch.Tensor, images_b: torch.Tensor) -> float:
    """Total-variation distance between two sets' hue histograms: 0 = same colours, 1 = no colour in common."""
    return 0.5 * float((hue_histogram(images_a) - hue_histogram(images_b)).abs().sum())


def checkerboard_energy(images: torch.Tensor) -> float:
    """The share of spectral energy on the Nyquist row and column (period-2 patterns), averaged over images.

    images: (N, C, H, W) float in [-1, 1] or uint8, H and W even. The channels are averaged and each
    image's mean removed; then |FFT|² summed over the frequencies with period 2 along x or y,
    divided by the total. Real photos score about 0.002 at 32 px and 0.0004 at 64 px (Flowers-102,
    measured); an untrained G with strided transposed convolutions much more: its checkerboard is a
    period-2 pattern.
    """
    x = images.float() if images.is_floating_point() else images.float().div(127.5).sub(1)
    if x.dim() != 4 or x.shape[-1] % 2 or x.shape[-2] % 2:
        raise ValueError(f"checkerboard_energy needs images (N, C, H, W) with even H and W, got {tuple(x.shape)}")
    g = x.mean(1)
    g = g - g.mean((1, 2), keepdim=True)
    power = torch.fft.fft2(g).abs().square()                     # (N, H, W)
    h, w = g.shape[1] // 2, g.shape[2] // 2
    nyquist = power[:, h, :].sum(1) + power[:, :, w].sum(1) - power[:, h, w]
    return float((nyquist / power.sum((1, 2)).clamp(min=1e-12)).mean())


# ---------------------------------------------------------------- the measure
class FlowerQuality:
    """Score generated colour images against real photos: FD on FlowerNet features and hue distance. A pure measure:

        net = ck.pretrained.flower_net(device)                    # the shipped stick
        quality = FlowerQuality(net, flowers.images)              # embeds the real photos once
        quality(G)                 # -> {"fd": ..., "hue_tv": ...}
        quality.score_images(x)    # the same for images (N, 3, H, W): uint8, or float in [-1, 1]
        quality.floor(other_real)  # FD between the reference and other real photos: the best reachable

    real_images: (N, 3, H, W) uint8 or float in [-1, 1]. `quality(G)` draws as many samples as
    there are real images, from a fixed seed, so two generators are compared on the same noise.
    FD grows when a set is small (its covariance is estimated from fewer samples): compare sets
    of the same size.
    """

    def __init__(self, network: FlowerNet, real_images: torch.Tensor, seed: int = 0):
        if not isinstance(network, FlowerNet):
            raise TypeError(f"network must be a FlowerNet (ck.pretrained.flower_net()), got {type(network).__name__}")
        if len(real_images) < 2:
            raise ValueError(f"need at least 2 real images to compare against, got {len(real_images)}")
        self.network, self.n, self.seed = network.eval(), len(real_images), seed
        self.real_feats = flower_features(network, real_images)
        self.real_hues = hue_histogram(real_images)

    def score_images(self, images: torch.Tensor) -> dict:
        """images (N, 3, H, W) uint8 or float in [-1, 1] -> {"fd": ..., "hue_tv": ...}."""
        fd = frechet_distance(self.real_feats, flower_features(self.network, images))
        return {"fd": fd, "hue_tv": 0.5 * float((hue_histogram(images) - self.real_hues).abs().sum())}

    @torch.no_grad()
    def __call__(self, G: nn.Module, latent: str = "gaussian") -> dict:
        """Sample as many images as there are real ones from G (eval mode, fixed seed) and score them.

        latent: the noise G was trained on, "gaussian" or "uniform" (see GANConfig.latent).
        """
        z = sample_z(self.n, G.z_dim, latent, generator=torch.Generator().manual_seed(self.seed))
        device = next(G.parameters()).device
        return self.score_images(torch.cat([sample(G, chunk.to(device)) for chunk in z.split(500)]))  # bounded memory

    def floor(self, other_real_images: torch.Tensor) -> float:
        """FD between the reference photos and other real photos: the best a generator can reach."""
        return frechet_distance(self.real_feats, flower_features(self.network, other_real_images))


# ---------------------------------------------------------------- validating the stick
YELLOW_PURPLE = ((40, 70), (260, 320))   # hue ranges in degrees: the colours the source's collapsed G drew


def colour_share(images: torch.Tensor, hue_ranges=YELLOW_PURPLE) -> torch.Tensor:
    """Per image (N,): the chroma-weighted share of its pixels whose hue (degrees) falls in one of `hue_ranges`."""
    hue, chroma = hue_and_chroma(images)
    hue = hue * 360
    inside = torch.zeros_like(hue, dtype=torch.bool)
    for low, high in hue_ranges:
        inside |= (hue >= low) & (hue < high)
    return (chroma * inside).sum((1, 2)) / chroma.sum((1, 2)).clamp(min=1e-6)


def validation_sets(images: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Cases with a known order for checking a stick: (reference, {name: images}), all uint8 (N, 3, H, W).

    The photos are split in two random halves: the first is the reference, the second the
    "real vs real" floor. Then, made from the second half: blurred (Gaussian, sigma 1 px at 32 px),
    heavily blurred (sigma 2.5 px), uniform noise, "collapsed" (10 photos repeated, each copy with
    tiny noise: std 3/255) and "yellow/purple only" (the photos that are mostly yellow or purple,
    by hue), with "diverse, same size" (a random draw of as many photos) as its fair comparison:
    FD grows for small sets, so compare sets of equal size.
    """
    from torchvision.transforms.functional import gaussian_blur
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(images), generator=g)
    half = len(images) // 2
    reference, other = images[order[:half]], images[order[half:2 * half]]
    scale = other.shape[-1] / STICK_SIZE

    def blur(sigma: float) -> torch.Tensor:
        s = sigma * scale
        k = 2 * round(3 * s) + 1
        return gaussian_blur(other.float(), [k, k], [s, s]).round().clamp(0, 255).to(torch.uint8)

    few = other[torch.arange(half) % 10]
    collapsed = (few.float() + 3 * torch.randn(few.shape, generator=g)).round().clamp(0, 255).to(torch.uint8)
    colourful = other[colour_share(other) > 0.5]
    diverse = other[torch.randperm(half, generator=g)[:len(colourful)]]
    sets = {"real vs real (floor)": other, "real, blurred (sigma 1)": blur(1.0),
            "real, heavily blurred (sigma 2.5)": blur(2.5),
            "uniform noise": torch.randint(0, 256, other.shape, generator=g, dtype=torch.uint8),
            "collapsed: 10 photos repeated": collapsed,
            f"real, diverse ({len(colourful)} photos)": diverse,
            f"yellow/purple only ({len(colourful)} photos)": colourful}
    return reference, sets
