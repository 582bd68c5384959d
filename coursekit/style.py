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
import functools
import numbers
import time
import weakref
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
    """Gram matrix: features (B, C, H, W) -> (B, C, C) float32, G[c, d] = sum_hw F[c, hw] F[d, hw] / (C*H*W).

    Which channels fire together, averaged over all positions: texture and colour statistics
    survive, the spatial layout does not. Computed in the features' precision (bf16 products
    are summed in fp32), returned in fp32.
    """
    return _Gram.apply(features)


class _Gram(torch.autograd.Function):
    """G = F F^T / n with a one-matmul backward: dL/dF = (dG + dG^T) F / n.

    Plain autograd sees two different matrices in F @ F.T and computes a matmul for each plus
    their sum: half the Gram's cost, which rivals the convolutions' on the shallow layers.
    """

    @staticmethod
    def forward(ctx, features: torch.Tensor) -> torch.Tensor:
        b, c, h, w = features.shape
        flat = features.reshape(b, c, h * w)
        ctx.save_for_backward(features)
        # one image: a plain matrix product (CPUs run bf16 mm about twice as fast as bmm)
        g = (flat[0] @ flat[0].T).unsqueeze(0) if b == 1 else flat @ flat.transpose(1, 2)
        return g.to(torch.promote_types(g.dtype, torch.float32)) / (c * h * w)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (features,) = ctx.saved_tensors
        b, c, h, w = features.shape
        flat = features.reshape(b, c, h * w)
        sym = ((grad + grad.transpose(1, 2)) / (c * h * w)).to(flat.dtype)
        out = (sym[0] @ flat[0]).unsqueeze(0) if b == 1 else sym @ flat
        return out.reshape(features.shape)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of features, divided by the mean square of the target's."""
    return F.mse_loss(features.float(), target) / target.square().mean()


def style_loss(features: dict[str, torch.Tensor], target_grams: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum over layers of ||gram(F) - G_target||^2 / ||G_target||^2 (each layer counts alike)."""
    losses = [(gram(features[k]) - t).square().sum() / t.square().sum() for k, t in target_grams.items()]
    return torch.stack(losses).sum() if losses else torch.zeros(())


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference between neighbouring pixels; 0 for a flat image."""
    check_images(image)
    return (image[..., 1:, :] - image[..., :-1, :]).square().mean() + (image[..., :, 1:] - image[..., :, :-1]).square().mean()


# ---------------------------------------------------------------- preparing images
def prepare(image, size: int) -> torch.Tensor:
    """A path, URL, course image name or tensor -> (1, 3, H, W) in [0, 1], longer side = `size`.

    Tensors: (1, 3, H, W), (3, H, W) or one channel; float in [0, 1] or uint8 in [0, 255].
    """
    if isinstance(image, torch.Tensor):
        x = image if image.dim() == 4 else image.unsqueeze(0)
        check_images(x)
        x = _to_unit_range(x)
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


def _to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [0, 1]; floats must already be in [0, 1] (else a ValueError saying how to fix it)."""
    if x.dtype == torch.uint8:
        return x.float() / 255
    if not x.is_floating_point():
        raise ValueError(f"image tensor has dtype {x.dtype}: pass floats in [0, 1] or uint8 in [0, 255]")
    low, high = x.min().item(), x.max().item()
    if low < -0.01 or high > 1.01:
        hint = ("it looks like 0-255: divide by 255" if high > 2 else
                "it looks like [-1, 1] (a GAN's output?): use (x + 1) / 2" if low >= -1.01 else "rescale it")
        raise ValueError(f"image tensor values must lie in [0, 1], got [{low:.3g}, {high:.3g}]: {hint}")
    return x


# ---------------------------------------------------------------- the optimisation
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}
_low_precision_copies: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # extractor -> {(dtype, device): copy}


def network_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """The network's dtype for `precision` ("auto", "fp32", "bf16") on `device`; None = fp32."""
    if precision == "auto":
        low = runtime.amp_dtype(device)
        # fp16 gradients on the pixels would underflow without loss scaling: fp16-only GPUs stay fp32
        return None if low == torch.float16 else low
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r}")
    return PRECISIONS[precision]


def in_precision(extractor: torch.nn.Module, dtype: torch.dtype | None, device: torch.device) -> torch.nn.Module:
    """The extractor itself (fp32), or its bf16 copy, made once per extractor, dtype and device.

    A copy rather than autocast: autocast re-casts frozen weights on every forward pass (they
    need no gradient, so its weight cache does not apply): a third of a step on a CPU.
    """
    if dtype is None:
        return extractor
    copies = _low_precision_copies.setdefault(extractor, {})
    key = (dtype, device)
    if key not in copies:
        copies[key] = copy.deepcopy(extractor).to(device=device, dtype=dtype)
    return copies[key]


def _check_steps(steps) -> None:
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be a whole number >= 1, got {steps!r}: each step is one forward and "
                         "backward pass; with no step the result would just be the starting image")


def transfer(content, style, *, size: int = 256, steps: int = 300, optimizer: str = "adam", lr: float | None = None,
             style_weight: float = 1e2, content_weight: float = 10.0, tv_weight: float = 0.1, init: str = "content",
             extractor: torch.nn.Module | None = None, device: torch.device | str | None = None, callback=None,
             style_layers=STYLE_LAYERS, content_layers=CONTENT_LAYERS, seed: int = 0, precision: str = "auto",
             progress: bool = True) -> tuple[torch.Tensor, dict]:
    """Optimise an image's pixels: content_weight * content + style_weight * style + tv_weight * TV.

    content, style: path, URL, course image name or tensor (see `prepare`).
    optimizer: "adam" (lr 0.02) or "lbfgs" (lr 1); one step = one forward and backward pass.
    init: "content" (start from the content image) or "noise".
    extractor: images -> {layer name: features}, e.g. `VGGFeatures`; it must return every layer
    in style_layers and content_layers (VGG19 names such as "relu1_1").
    precision: "auto" (bf16 where the hardware runs it natively, else fp32), "fp32" or "bf16":
    the network's precision; losses and pixels stay fp32.
    callback(step, image, history) is called every 10 steps and after the last, e.g. for a live preview.
    Returns (image (1, 3, H, W) in [0, 1] on the CPU, history: lists per step of the losses
    "total", "content", "style", "tv" and the "seconds" since the start).
    """
    _check_steps(steps)
    if init not in ("content", "noise"):
        raise ValueError(f"init must be 'content' or 'noise', got {init!r}")
    if optimizer not in ("adam", "lbfgs"):
        raise ValueError(f"optimizer must be 'adam' or 'lbfgs', got {optimizer!r}")
    style_layers, content_layers = tuple(style_layers), tuple(content_layers)
    device = torch.device(device) if device else runtime.pick_device(verbose=False)
    dtype = network_dtype(device, precision)
    extractor = (extractor or _default_extractor(style_layers + content_layers)).to(device)
    net = in_precision(extractor, dtype, device)
    features = lambda x: net(x if dtype is None else x.to(dtype))  # noqa: E731  losses are computed in fp32
    content_img = prepare(content, size).to(device)
    style_img = prepare(style, size).to(device)

    with torch.no_grad():  # targets, computed once
        content_feats, style_feats = features(content_img), features(style_img)
        _check_layers(content_feats, style_layers + content_layers)
        content_targets = {k: content_feats[k].float() for k in content_layers}
        style_targets = {k: gram(style_feats[k]) for k in style_layers}
        del content_feats, style_feats

    if init == "content":
        image = content_img.clone()
    else:
        image = torch.rand(content_img.shape, generator=torch.Generator().manual_seed(seed)).to(device)
    image.requires_grad_(True)
    if optimizer == "adam":
        opt = torch.optim.Adam([image], lr=lr or 0.02)
    else:
        opt = torch.optim.LBFGS([image], lr=lr or 1.0, max_iter=1, history_size=50)

    names = ("total", "content", "style", "tv")
    log = torch.zeros(steps, len(names), device=device)  # losses stay on the device: one sync per 10 steps
    history = {"step": [], **{k: [] for k in names}, "seconds": []}
    parts = {}

    def closure():
        opt.zero_grad(set_to_none=True)
        feats = features(image)
        parts["content"] = sum((content_loss(feats[k], t) for k, t in content_targets.items()), image.new_zeros(()))
        parts["style"] = style_loss(feats, style_targets)
        parts["tv"] = tv_loss(image)
        total = content_weight * parts["content"] + style_weight * parts["style"] + tv_weight * parts["tv"]
        total.backward()
        parts["total"] = total
        return total

    start, seconds = time.perf_counter(), []
    for step in tqdm(range(1, steps + 1), desc=f"style transfer ({optimizer})", disable=not progress, leave=False):
        opt.step(closure)
        with torch.no_grad():
            image.clamp_(0, 1)
            log[step - 1] = torch.stack([parts[k].detach().float().to(device) for k in names])
        seconds.append(time.perf_counter() - start)
        if step % 10 == 0 or step == steps:
            done = len(history["step"])
            for row, values in enumerate(log[done:step].tolist(), start=done):
                history["step"].append(row + 1)
                history["seconds"].append(seconds[row])
                for k, v in zip(names, values):
                    history[k].append(v)
            if callback is not None:
                callback(step, image.detach().cpu(), history)
    return image.detach().cpu(), history


@functools.lru_cache(maxsize=4)
def _default_extractor(layers: tuple[str, ...]) -> VGGFeatures:
    return VGGFeatures(layers)


def _check_layers(returned: dict, wanted: tuple[str, ...]) -> None:
    missing = [k for k in dict.fromkeys(wanted) if k not in returned]
    if missing:
        raise ValueError(f"the extractor does not return the layer(s) {missing} (it returns {sorted(returned)}): "
                         f"build it with style.VGGFeatures({list(dict.fromkeys(wanted))}), or ask only for "
                         "style_layers/content_layers it returns")
