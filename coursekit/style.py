"""Neural style transfer (Gatys, Ecker & Bethge 2015): optimise the pixels of an image so that
its CNN features match a content image and the Gram matrices of its features match a style image.

    result, history = ck.style.transfer("chelsea.png", "starry_night.jpg", size=256)

The CNN is torchvision's VGG19 with ImageNet weights, downloaded on first use. Where they
cannot be had (offline), the same architecture with fixed random weights is used instead and
a line says so: random CNN features still transfer texture and colour at small sizes
(Ustyuzhaninov et al. 2016; He, Wang & Hopcroft 2016), but that is not what the pretrained
network gives.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF
from tqdm.auto import tqdm

from . import runtime
from .checks import check_images
from .data import style_image
from .images import load_image
from .nets.vgg import CONTENT_LAYERS, IMAGENET_MEAN, IMAGENET_STD, STYLE_LAYERS, VGGFeatures, load_vgg19, vgg19_layer_names  # noqa: F401

MIN_SIDE = 32          # VGG halves the image 4 times before conv5_1; below this the Gram matrices degenerate


# ---------------------------------------------------------------- the losses
def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix: features (B, C, H, W) -> (B, C, C), G[c, d] = sum_hw F[c, hw] F[d, hw] / (C*H*W).

    Which channels fire together, averaged over all positions: texture and colour statistics
    survive, the spatial layout does not.
    """
    b, c, h, w = features.shape
    f = features.reshape(b, c, h * w).float()
    return f @ f.transpose(1, 2) / (c * h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of features, divided by the mean square of the target's."""
    return F.mse_loss(features.float(), target) / target.square().mean()


def style_loss(features: dict[str, torch.Tensor], target_grams: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum over layers of ||gram(F) - G_target||^2 / ||G_target||^2 (each layer counts alike)."""
    return sum((gram(features[k]) - t).square().sum() / t.square().sum() for k, t in target_grams.items())


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference between neighbouring pixels; 0 for a flat image."""
    check_images(image)
    return (image[..., 1:, :] - image[..., :-1, :]).square().mean() + (image[..., :, 1:] - image[..., :, :-1]).square().mean()


# ---------------------------------------------------------------- preparing images
def prepare(image, size: int) -> torch.Tensor:
    """A path, URL, course image name or tensor -> (1, 3, H, W) in [0, 1], longer side = `size`."""
    if isinstance(image, torch.Tensor):
        x = image if image.dim() == 4 else image.unsqueeze(0)
        check_images(x)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # grayscale: the same value in R, G and B
        if x.shape[1] != 3:
            raise ValueError(f"image must have shape (1, 3, H, W) or (1, 1, H, W), got {tuple(image.shape)}")
    elif isinstance(image, (str, Path)) and not Path(image).exists() and "/" not in str(image):
        x = style_image(str(image))  # a course image by name, e.g. "starry_night.jpg"
    else:
        x = load_image(image)
    h, w = x.shape[-2:]
    if min(h, w) * size / max(h, w) < MIN_SIDE:
        raise ValueError(f"image of {w}×{h} px at size {size} has a shorter side under {MIN_SIDE} px: VGG "
                         f"halves it 4 times before conv5_1. Use a larger size or a less elongated image.")
    if max(h, w) > 2 * size:
        print(f"resizing a {w}×{h} px image to a longer side of {size} px")
    scale = size / max(h, w)
    return TF.resize(x.float(), [round(h * scale), round(w * scale)], antialias=True).clamp(0, 1).contiguous()


# ---------------------------------------------------------------- the optimisation
def transfer(content, style, *, size: int = 256, steps: int = 300, optimizer: str = "adam", lr: float | None = None,
             style_weight: float = 1e2, content_weight: float = 10.0, tv_weight: float = 0.1, init: str = "content",
             extractor: VGGFeatures | None = None, device: torch.device | str | None = None, callback=None,
             style_layers=STYLE_LAYERS, content_layers=CONTENT_LAYERS, seed: int = 0,
             progress: bool = True) -> tuple[torch.Tensor, dict]:
    """Optimise an image's pixels: content_weight * content + style_weight * style + tv_weight * TV.

    content, style: path, URL, course image name or tensor (see `prepare`).
    optimizer: "adam" (lr 0.02) or "lbfgs" (lr 1); one step = one forward and backward pass.
    init: "content" (start from the content image) or "noise".
    style_layers, content_layers: VGG19 layer names (the extractor must return them).
    callback(step, image, history) is called every 10 steps, e.g. for a live preview.
    Returns (image (1, 3, H, W) in [0, 1] on the CPU, history of losses per step).
    """
    device = torch.device(device) if device else runtime.pick_device(verbose=False)
    extractor = (extractor or VGGFeatures(tuple(style_layers) + tuple(content_layers))).to(device)
    content_img = prepare(content, size).to(device)
    style_img = prepare(style, size).to(device)
    # Mixed precision: a bf16/fp16 copy of the frozen network, made once. (Autocast would re-cast
    # the frozen weights on every forward pass: a third of a step's time on a CPU.)
    low = runtime.amp_dtype(device)
    if low == torch.float16:  # fp16 gradients on the pixels would underflow without loss scaling: use fp32
        low = None
    net = extractor if low is None else copy.deepcopy(extractor).to(low)
    features = lambda x: net(x if low is None else x.to(low))  # noqa: E731  losses are computed in fp32

    with torch.no_grad():  # targets, computed once
        content_targets = {k: v.float() for k, v in features(content_img).items() if k in content_layers}
        style_targets = {k: gram(v) for k, v in features(style_img).items() if k in style_layers}

    if init == "content":
        image = content_img.clone()
    elif init == "noise":
        image = torch.rand(content_img.shape, generator=torch.Generator().manual_seed(seed)).to(device)
    else:
        raise ValueError(f"init must be 'content' or 'noise', got {init!r}")
    image.requires_grad_(True)
    if optimizer == "adam":
        opt = torch.optim.Adam([image], lr=lr or 0.02)
    elif optimizer == "lbfgs":
        opt = torch.optim.LBFGS([image], lr=lr or 1.0, max_iter=1, history_size=50)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'lbfgs', got {optimizer!r}")

    history = {"step": [], "total": [], "content": [], "style": [], "tv": [], "seconds": []}
    parts = {}

    def closure():
        opt.zero_grad(set_to_none=True)
        feats = features(image)
        parts["content"] = sum(content_loss(feats[k], t) for k, t in content_targets.items())
        parts["style"] = style_loss(feats, style_targets)
        parts["tv"] = tv_loss(image)
        total = content_weight * parts["content"] + style_weight * parts["style"] + tv_weight * parts["tv"]
        total.backward()
        parts["total"] = total
        return total

    start = time.perf_counter()
    for step in tqdm(range(1, steps + 1), desc=f"style transfer ({optimizer})", disable=not progress, leave=False):
        opt.step(closure)
        with torch.no_grad():
            image.clamp_(0, 1)
        for k in ("total", "content", "style", "tv"):
            history[k].append(parts[k].item())  # style transfer steps are slow: one sync each is negligible
        history["step"].append(step)
        history["seconds"].append(time.perf_counter() - start)
        if callback is not None and (step % 10 == 0 or step == steps):
            callback(step, image.detach().cpu(), history)
    return image.detach().cpu(), history
