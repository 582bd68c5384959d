"""Measuring generated colour images (lesson 2): the flower measuring stick, colour spread, checkerboards.

- **Fréchet distance (FD)** between the 128-d penultimate features of `FlowerNet`, a small CNN the
  course trains on the Flowers-102 photos (102 classes; its weights ship with the package:
  `coursekit.pretrained.flower_net`). FID's recipe with a course-made network: the numbers are
  *FID-like*, comparable within this course only. Images are measured at 32x32: square images of
  at least 32 px (larger ones are downscaled first, with antialiasing; smaller ones are refused,
  never upscaled).
- **hue_tv**: total-variation distance (0 = same, 1 = disjoint) between the colour-weighted hue
  histograms of generated and real images. Colour collapse ("only yellow and purple flowers")
  shows up here directly.
- **checkerboard_energy**: the share of an image's spectral energy on the Nyquist row and column,
  where the checkerboard of strided transposed convolutions lives.

    net = ck.pretrained.flower_net(device)
    quality = FlowerQuality(net, flowers.images)         # embeds the real photos once
    quality(G)                 # -> {"fd": ..., "hue_tv": ...} on as many samples as real photos
    quality.score_images(x)    # images (N, 3, S, S), S >= 32: uint8, or float in [-1, 1]
    quality.floor(other_real)  # FD between two sets of real photos: the best reachable

Float images are taken as [-1, 1] (G's tanh) unless a `value_range` says otherwise, e.g.
value_range=(0, 1); the range is never guessed from the values.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_choice, check_count, check_images, check_seed, to_signed_unit
from ..nets.classifier import FLOWER_SIZE, FlowerNet
from ..nets.common import eval_mode, sample
from ..train import sample_z
from .digits import Range, _check_generator
from .frechet import frechet_distance

STICK_SIZE = FLOWER_SIZE   # the stick measures at FlowerNet's input size, 32x32
HUE_BINS = 12        # 30° per bin


# ---------------------------------------------------------------- input
def as_stick_input(images: torch.Tensor, size: int = STICK_SIZE, value_range: Range | None = None) -> torch.Tensor:
    """Square colour images (N, 3, S, S), N >= 1, S >= size: uint8 [0, 255] or float [-1, 1] (or in
    `value_range`, e.g. (0, 1)) -> float (N, 3, size, size) in [-1, 1].

    Larger images are downscaled with antialiasing; smaller ones are refused (an upscaled 1x1 image
    is no photo). Raises ValueError for other shapes and dtypes, NaN, an empty batch, or floats
    outside their range (never clipped; the range is never guessed from the values).
    """
    return _photos(images, "images", check_count(size, "size"), value_range)


def _photos(images, name: str, size: int = STICK_SIZE, value_range: Range | None = None) -> torch.Tensor:
    """as_stick_input for the argument called `name` (so its errors name it)."""
    _check_photos(images, name, size)
    x = to_signed_unit(images, name, value_range=value_range)
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x


def _check_photos(images, name: str, size: int = STICK_SIZE) -> None:
    """Square colour images (N, 3, S, S), N >= 1, S >= size (shape only, no host sync)."""
    check_images(images, name, channels=3, min_size=size)
    if images.shape[-1] != images.shape[-2]:
        raise ValueError(f"{name} must be square (N, 3, S, S), got {tuple(images.shape)}: crop them first "
                         "(ck.data.load_image_folder crops to squares)")


@torch.no_grad()
def flower_features(net: FlowerNet, images: torch.Tensor, batch: int = 500, value_range: Range | None = None) -> torch.Tensor:
    """images (N, 3, S, S), S >= 32: uint8, or float in [-1, 1] (or in `value_range`) -> FlowerNet features
    (N, 128) float64 on the CPU."""
    _check_network(net, "net")
    batch = check_count(batch, "batch")
    x = as_stick_input(images, value_range=value_range)
    device = next(net.parameters()).device
    with eval_mode(net):
        return torch.cat([net.features(chunk.to(device)).double().cpu() for chunk in x.split(batch)])


# ---------------------------------------------------------------- colour and checkerboards
def hue_and_chroma(images: torch.Tensor, value_range: Range | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per pixel of images (N, 3, S, S), S >= 32 (uint8, or float in [-1, 1] or in `value_range`; measured
    at 32 px): the hue in [0, 1) of the colour circle (0 red, 1/3 green, 2/3 blue) and the chroma
    (max - min of R, G, B in [0, 1]), each (N, 32, 32). Grey pixels have chroma 0 and an arbitrary hue."""
    x = as_stick_input(images, value_range=value_range).add(1).div(2).clamp(0, 1)  # (N, 3, 32, 32) in [0, 1]
    r, g, b = x.unbind(1)
    high, low = x.max(1).values, x.min(1).values
    chroma = high - low
    safe = chroma.clamp(min=1e-6)
    hue = torch.where(high == r, ((g - b) / safe) % 6, torch.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4)) / 6
    return hue, chroma


def hue_histogram(images: torch.Tensor, bins: int = HUE_BINS, value_range: Range | None = None) -> torch.Tensor:
    """The hue histogram (bins,) of a set of images (N, 3, S, S), each pixel weighted by its chroma
    (max - min of R, G, B).

    Grey pixels (chroma 0) have no hue and do not count. Sums to 1 (all zeros for an all-grey set).
    """
    bins = check_count(bins, "bins")
    hue, chroma = hue_and_chroma(images, value_range)
    index = (hue * bins).long().clamp(0, bins - 1)
    hist = torch.zeros(bins, dtype=torch.float64).index_add_(0, index.flatten(), chroma.flatten().double())
    return hist / hist.sum().clamp(min=1e-12)


def hue_distance(images_a: torch.Tensor, images_b: torch.Tensor, value_range: Range | None = None) -> float:
    """Total-variation distance between two sets' hue histograms: 0 = same colours, 1 = no colour in common.

    images_a, images_b: (N, 3, S, S), S >= 32, uint8 or float in [-1, 1] (or both in `value_range`)."""
    a, b = _photos(images_a, "images_a", value_range=value_range), _photos(images_b, "images_b", value_range=value_range)
    return 0.5 * float((hue_histogram(a, value_range=(-1, 1)) - hue_histogram(b, value_range=(-1, 1))).abs().sum())


def checkerboard_energy(images: torch.Tensor) -> float:
    """The share of spectral energy on the Nyquist row and column (period-2 patterns), averaged over images.

    images: (N, C, H, W), N >= 1, H and W even, any real values (uint8, or float in any range: the
    share does not change with scale or offset). The channels are averaged and each
    image's mean removed; then |FFT|² summed over the frequencies with period 2 along x or y,
    divided by the total. Real photos score about 0.002 at 32 px and 0.0004 at 64 px (Flowers-102,
    measured); an untrained G with strided transposed convolutions much more: its checkerboard is a
    period-2 pattern.
    """
    check_images(images, "images", finite=True)
    if images.shape[-1] % 2 or images.shape[-2] % 2:
        raise ValueError(f"images must be (N, C, H, W) with even H and W, got {tuple(images.shape)}")
    if images.dtype == torch.bool or images.is_complex():
        raise ValueError(f"images must hold real pixel values (uint8 or float), got dtype {images.dtype}")
    x = images.float() if images.is_floating_point() else images.float().div(127.5).sub(1)
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
        quality.score_images(x)    # the same for images (N, 3, S, S), S >= 32: uint8, or float in [-1, 1]
        quality.score_images(x, value_range=(0, 1))   # float images in [0, 1] (say so: never guessed)
        quality.floor(other_real)  # FD between the reference and other real photos: the best reachable

    real_images: (N, 3, S, S), N >= 2, S >= 32, uint8 or float in [-1, 1] (or in `value_range`).
    `quality(G)` draws as many samples as there are real images, from a fixed seed, so two
    generators are compared on the same noise. FD grows when a set is small (its covariance is
    estimated from fewer samples): compare sets of the same size.
    """

    def __init__(self, network: FlowerNet, real_images: torch.Tensor, seed: int = 0,
                 value_range: Range | None = None):
        _check_network(network, "network")
        x = _photos(real_images, "real_images", value_range=value_range)
        if len(x) < 2:
            raise ValueError(f"real_images: need at least 2 real images to compare against, got {len(x)}")
        self.network, self.n, self.seed = network.eval(), len(x), check_seed(seed)
        self.real_feats = flower_features(network, x, value_range=(-1, 1))
        self.real_hues = hue_histogram(x, value_range=(-1, 1))

    def score_images(self, images: torch.Tensor, value_range: Range | None = None) -> dict:
        """images (N, 3, S, S), N >= 2, S >= 32: uint8, or float in [-1, 1] (or in `value_range`)
        -> {"fd": ..., "hue_tv": ...}."""
        x = as_stick_input(images, value_range=value_range)
        if len(x) < 2:
            raise ValueError(f"images: need at least 2 images for a Fréchet distance, got {len(x)}")
        fd = frechet_distance(self.real_feats, flower_features(self.network, x, value_range=(-1, 1)))
        return {"fd": fd, "hue_tv": 0.5 * float((hue_histogram(x, value_range=(-1, 1)) - self.real_hues).abs().sum())}

    @torch.no_grad()
    def __call__(self, G: nn.Module, latent: str = "gaussian", value_range: Range = (-1, 1)) -> dict:
        """Sample as many images as there are real ones from G (eval mode, fixed seed) and score them.

        latent: the noise G was trained on, "gaussian" or "uniform" (see GANConfig.latent).
        value_range: the range of G's output, (-1, 1) for the course's tanh generators: a collapsed G
        drawing very bright images is scored (badly), not refused.
        """
        z_dim = _check_generator(G)
        check_choice(latent, "latent", ("gaussian", "uniform"))
        z = sample_z(self.n, z_dim, latent, generator=torch.Generator().manual_seed(self.seed))
        device = next(G.parameters()).device
        images = torch.cat([sample(G, chunk.to(device)) for chunk in z.split(500)])  # bounded memory
        return self.score_images(images, value_range=value_range)

    def floor(self, other_real_images: torch.Tensor, value_range: Range | None = None) -> float:
        """FD between the reference photos and other real photos: the best a generator can reach."""
        x = _photos(other_real_images, "other_real_images", value_range=value_range)
        if len(x) < 2:
            raise ValueError(f"other_real_images: need at least 2 images for a Fréchet distance, got {len(x)}")
        return frechet_distance(self.real_feats, flower_features(self.network, x, value_range=(-1, 1)))


def _check_network(net, name: str) -> None:
    if not isinstance(net, FlowerNet):
        raise TypeError(f"{name} must be a FlowerNet (ck.pretrained.flower_net()), got {type(net).__name__}")


# ---------------------------------------------------------------- validating the stick
YELLOW_PURPLE = ((40, 70), (260, 320))   # hue ranges in degrees: the colours the source's collapsed G drew


def colour_share(images: torch.Tensor, hue_ranges=YELLOW_PURPLE) -> torch.Tensor:
    """Per image (N,): the chroma-weighted share of its pixels whose hue (degrees) falls in one of `hue_ranges`.

    images (N, 3, S, S), S >= 32, uint8 or float in [-1, 1]; hue_ranges: pairs (low, high) of degrees, 0 <= low < high <= 360.
    """
    if isinstance(hue_ranges, (str, bytes)) or not hasattr(hue_ranges, "__iter__"):
        raise TypeError(f"hue_ranges must be pairs (low, high) of degrees, e.g. ((40, 70), (260, 320)), got {hue_ranges!r}")
    for pair in hue_ranges:
        if not (hasattr(pair, "__len__") and len(pair) == 2 and all(isinstance(v, (int, float)) for v in pair)
                and 0 <= pair[0] < pair[1] <= 360):
            raise ValueError(f"hue_ranges must be pairs (low, high) of degrees with 0 <= low < high <= 360, got {pair!r}")
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

    images: uint8 photos (N, 3, S, S), N >= 20 (two halves of at least 10: "collapsed" repeats 10), S >= 32.
    """
    from torchvision.transforms.functional import gaussian_blur
    if isinstance(images, torch.Tensor) and images.dtype != torch.uint8:
        raise ValueError(f"images must be uint8 photos 0..255 (ImageSet.images), got dtype {images.dtype}")
    _check_photos(images, "images")
    if len(images) < 20:
        raise ValueError(f"images: need at least 20 photos (two halves of at least 10), got {len(images)}")
    g = torch.Generator().manual_seed(check_seed(seed))
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
