"""VGG19 as a feature extractor for style transfer (lesson 5).

torchvision's VGG19 with ImageNet weights, downloaded on first use. Where they cannot be had
(offline), the same architecture with fixed random weights is used instead and one line says
so: random CNN features still transfer texture and colour at small sizes (Ustyuzhaninov et
al. 2016; He, Wang & Hopcroft 2016), but that is not what the pretrained network gives.
"""
from __future__ import annotations

import contextlib
import functools
import io

import torch
import torchvision
from torch import nn

from ..checks import check_choice, check_finite, check_images

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYERS = ("relu4_2",)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@functools.cache
def vgg19_layer_names() -> list[str]:
    """Names of torchvision's vgg19().features, in order: conv1_1, relu1_1, conv1_2, ..., pool5."""
    names, block, conv = [], 1, 0
    for layer in torchvision.models.vgg19().features:  # architecture only, cheap to list
        if isinstance(layer, nn.Conv2d):
            conv += 1
            names.append(f"conv{block}_{conv}")
        elif isinstance(layer, nn.ReLU):
            names.append(f"relu{block}_{conv}")
        else:
            names.append(f"pool{block}")
            block, conv = block + 1, 0
    return names


@functools.lru_cache(maxsize=2)
def load_vgg19(pretrained: bool = True, seed: int = 0) -> tuple[nn.Sequential, bool]:
    """VGG19's convolutional part, frozen, and whether it carries the ImageNet weights.

    Tries the pretrained weights (downloaded once to the torch hub cache, with a progress
    bar). If that fails, says so in one line and returns seeded random weights.
    """
    if pretrained:
        notice = io.StringIO()  # torch.hub prints 'Downloading: ...' before it knows whether it can
        try:
            with contextlib.redirect_stdout(notice):
                model = torchvision.models.vgg19(weights=torchvision.models.VGG19_Weights.DEFAULT, progress=True)
            print(notice.getvalue(), end="")  # it did download: say from where (the progress bar showed how)
            return _frozen(model.features), True
        except (OSError, RuntimeError, ValueError) as err:  # offline, blocked, or a corrupt download
            reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
            print(f"Pretrained VGG19 weights unavailable ({reason}): using VGG19 with fixed random weights "
                  f"(seed {seed}). Results show what random features transfer, not the pretrained network.")
    with torch.random.fork_rng(devices=[]):  # seed the init without disturbing the caller's RNG
        torch.manual_seed(seed)
        model = torchvision.models.vgg19(weights=None)
    return _frozen(model.features), False


def _frozen(features: nn.Sequential) -> nn.Sequential:
    for p in features.parameters():
        p.requires_grad_(False)
    for layer in features:
        if isinstance(layer, nn.ReLU):
            layer.inplace = False  # we keep ReLU outputs; an in-place ReLU would overwrite them
    return features.eval()


class VGGFeatures(nn.Module):
    """Frozen VGG19, cut after the deepest requested layer; returns exactly those layers.

    forward: images (B, 3, H, W) in [0, 1] -> {layer name: (B, C_l, H_l, W_l)}, one pass; the
    features are stored channels-last (`x.is_contiguous(memory_format=torch.channels_last)`).
    Images must be at least `min_size` px (2 ** the pools before the deepest layer: 16 for
    relu5_1). Their values (no NaN, within [0, 1]) are checked, one host sync, except while
    autograd records the pixels: the optimisation loop, which keeps them in [0, 1] itself.
    pooling: "max" (VGG's own) or "avg" (smoother, as Gatys et al. suggest for synthesis).
    """

    def __init__(self, layers=STYLE_LAYERS + CONTENT_LAYERS, pooling: str = "avg", pretrained: bool = True):
        super().__init__()
        names = vgg19_layer_names()
        if not isinstance(layers, (list, tuple, set)) or not all(isinstance(n, str) for n in layers):
            raise TypeError(f"layers must be a list of VGG19 layer names such as ['relu1_1', 'relu2_1'], got {layers!r}")
        layers = tuple(layers)
        if not layers:
            raise ValueError(f"layers is empty: name at least one VGG19 layer, from {names}")
        unknown = sorted(set(layers) - set(names))
        if unknown:
            raise ValueError(f"unknown VGG19 layers {unknown}; choose from {names}")
        check_choice(pooling, "pooling", ("max", "avg"))
        if not isinstance(pretrained, bool):
            raise TypeError(f"pretrained must be True or False, got {pretrained!r}")
        features, self.pretrained = load_vgg19(pretrained)
        last = max(names.index(n) for n in layers)
        self.body = nn.Sequential(*(self._layer(m, i, names, layers, pooling) for i, m in enumerate(list(features)[: last + 1])))
        self.names, self.layers = names[: last + 1], set(layers)
        self.min_size = 2 ** sum(n.startswith("pool") for n in self.names)  # each pool halves H and W
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    @staticmethod
    def _layer(module: nn.Module, i: int, names: list[str], layers, pooling: str) -> nn.Module:
        if isinstance(module, nn.MaxPool2d) and pooling == "avg":
            return nn.AvgPool2d(2, 2)
        if isinstance(module, nn.ReLU):  # in place saves a copy, unless we keep the conv output it would overwrite
            return nn.ReLU(inplace=names[i - 1] not in layers)
        return module  # the (shared, frozen) convolution itself

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        check_images(images, "images", channels=3, min_size=self.min_size)
        if not images.is_floating_point():
            raise ValueError(f"images must be float in [0, 1], got dtype {images.dtype} (uint8? divide by 255)")
        if not images.requires_grad:  # a direct call or the targets; the loop's pixels are clamped to [0, 1]
            check_finite(images, "images")
            low, high = images.min().item(), images.max().item()
            if low < -0.01 or high > 1.01:
                raise ValueError(f"images must be float in [0, 1] (VGG's ImageNet normalisation expects it), got "
                                 f"values in [{low:.3g}, {high:.3g}]" + (": divide by 255" if high > 2 else ""))
        # channels-last memory: CPU pooling runs ~10x and fp32 convolutions ~2x faster than in (B, C, H, W) order
        x, out = ((images - self.mean) / self.std).contiguous(memory_format=torch.channels_last), {}
        for name, layer in zip(self.names, self.body):
            x = layer(x)
            if name in self.layers:
                out[name] = x
        return out
