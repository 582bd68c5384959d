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
import math
import numbers
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF
from tqdm.auto import tqdm

from . import runtime
from .checks import check_choice, check_count, check_device, check_finite, check_images, check_number, check_positive, check_seed
from .data import style_image
from .engine import TrainingDiverged, configure
from .images import load_image
from .nets.vgg import CONTENT_LAYERS, IMAGENET_MEAN, IMAGENET_STD, STYLE_LAYERS, VGGFeatures, load_vgg19, vgg19_layer_names  # noqa: F401

MIN_SIDE = 32  # smallest side of an image, as given and after resizing: VGG19 halves it 4 times before
#                conv5_1, so relu5_1 sees 2x2 positions at 32 px and a single one at 16 px (its absolute floor)


# ---------------------------------------------------------------- the losses
def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix: features (B, C, H, W) -> (B, C, C) float32, G[c, d] = sum_hw F[c, hw] F[d, hw] / (C*H*W).

    Which channels fire together, averaged over all positions: texture and colour statistics
    survive, the spatial layout does not. Computed in the features' precision (bf16 products
    are summed in fp32), returned in fp32. Called every optimisation step, it checks the shape and
    dtype but not the values (that would be a host sync per step): NaN features give a NaN Gram,
    as torch's own matmul does; `transfer` refuses NaN images before it starts.
    """
    _check_features(features, "features")
    return _Gram.apply(features)


def _check_features(x, name: str) -> torch.Tensor:
    """A non-empty float (B, C, H, W) feature map; no value check (no host sync: called every step)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of features (B, C, H, W), got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{name} must be features shaped (B, C, H, W), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a float tensor (features of a network), got dtype {x.dtype}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}): nothing to compare")
    return x


class _Gram(torch.autograd.Function):
    """G = F F^T / n with a one-matmul backward: dL/dF = (dG + dG^T) F / n.

    Plain autograd sees two different matrices in F @ F.T and computes a matmul for each plus
    their sum: half the Gram's cost, which rivals the convolutions' on the shallow layers.
    Features stored channels-last (as `VGGFeatures` returns them) are read as a (H*W, C) matrix
    X, G = X^T X, so neither direction copies them into the other layout.
    """

    @staticmethod
    def forward(ctx, features: torch.Tensor) -> torch.Tensor:
        b, c, h, w = features.shape
        ctx.save_for_backward(features)
        if _channels_last(features):
            x = features.permute(0, 2, 3, 1).reshape(b, h * w, c)
            g = _matmul(x.transpose(1, 2), x)
        else:
            flat = features.reshape(b, c, h * w)
            g = _matmul(flat, flat.transpose(1, 2))
        return g.to(torch.promote_types(g.dtype, torch.float32)) / (c * h * w)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (features,) = ctx.saved_tensors
        b, c, h, w = features.shape
        sym = ((grad + grad.transpose(1, 2)) / (c * h * w)).to(features.dtype)
        if _channels_last(features):
            x = features.permute(0, 2, 3, 1).reshape(b, h * w, c)
            return _matmul(x, sym).reshape(b, h, w, c).permute(0, 3, 1, 2)  # channels-last, like the input
        return _matmul(sym, features.reshape(b, c, h * w)).reshape(features.shape)


def _channels_last(features: torch.Tensor) -> bool:
    return not features.is_contiguous() and features.is_contiguous(memory_format=torch.channels_last)


def _matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched a @ b; for one image a plain matrix product (CPUs run bf16 mm about twice as fast as bmm)."""
    return (a[0] @ b[0]).unsqueeze(0) if a.shape[0] == 1 else a @ b


def content_loss(features: torch.Tensor, target: torch.Tensor, target_power: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared difference of features, divided by the mean square of the target's.

    features, target: (B, C, H, W), the same shape. target_power: target.square().mean(), if
    already computed (it saves a pass over the target every step). Shapes and dtypes are checked,
    values are not (a host sync per step): NaN in gives NaN out, as torch's mse_loss.
    """
    _check_features(features, "features")
    _check_features(target, "target")
    if features.shape != target.shape:
        raise ValueError(f"features and target must have the same shape, got {tuple(features.shape)} and "
                         f"{tuple(target.shape)}: the features of the image and of the content image at one layer")
    if target_power is None:
        target_power = target.square().mean()
    return F.mse_loss(_in_storage_order(features).float(), _in_storage_order(target)) / target_power


def _in_storage_order(x: torch.Tensor) -> torch.Tensor:
    """The same numbers as a contiguous view: (B, H, W, C) for channels-last storage, else x.

    A mean over all elements does not care about their order, and PyTorch's mse_loss
    backward is 2-3x slower on a channels-last tensor than on a contiguous one.
    """
    return x.permute(0, 2, 3, 1) if x.dim() == 4 and _channels_last(x) else x


def style_loss(features: dict[str, torch.Tensor], target_grams: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum over layers of ||gram(F) - G_target||^2 / ||G_target||^2 (each layer counts alike).

    features: {layer: (B, C, H, W)}; target_grams: {layer: (B, C, C)}, every layer of which
    `features` must hold.
    """
    missing = [k for k in target_grams if k not in features]
    if missing:
        raise ValueError(f"features lack the layer(s) {missing} that target_grams has (features has {sorted(features)})")
    losses = [(gram(features[k]) - t).square().sum() / t.square().sum() for k, t in target_grams.items()]
    return torch.stack(losses).sum() if losses else torch.zeros(())


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference between neighbouring pixels; 0 for a flat image.

    image: float (B, C, H, W), at least 2x2 px. Computed every step: NaN pixels give a NaN loss
    (no value check, which would be a host sync).
    """
    check_images(image, "image", min_size=2)
    if not image.is_floating_point():
        raise ValueError(f"image must be a float tensor, got dtype {image.dtype}")
    return (image[..., 1:, :] - image[..., :-1, :]).square().mean() + (image[..., :, 1:] - image[..., :, :-1]).square().mean()


# ---------------------------------------------------------------- preparing images
def prepare(image, size: int, name: str = "image") -> torch.Tensor:
    """A path, URL, course image name or tensor -> (1, 3, H, W) in [0, 1], longer side = `size`.

    Tensors: (1, 3, H, W), (3, H, W) or one channel; float in [0, 1] or uint8 in [0, 255], no
    NaN. The image must be at least MIN_SIDE (32) px on its shorter side, as given and after
    resizing: a smaller one is refused, never upscaled from a few pixels. `name` is the
    argument the errors name (transfer passes "content" and "style").
    """
    size = check_count(size, "size", minimum=MIN_SIDE)
    if isinstance(image, torch.Tensor):
        x = image if image.dim() != 3 else image.unsqueeze(0)  # one image (C, H, W): add the batch axis
        check_images(x, name, channels=(1, 3))
        if x.shape[0] != 1:
            raise ValueError(f"{name} must be one image, shaped (1, C, H, W) or (C, H, W), got {tuple(image.shape)}")
        x = _to_unit_range(x, name)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # grayscale: the same value in R, G and B
    elif isinstance(image, (str, Path)) and not Path(image).exists() and "/" not in str(image):
        x = style_image(str(image))  # a course image by name, e.g. "starry_night.jpg"
    elif isinstance(image, (str, Path)):
        x = load_image(image)
    else:
        raise TypeError(f"{name} must be a path, URL, course image name or tensor (1, 3, H, W), "
                        f"got {type(image).__name__}")
    h, w = x.shape[-2:]
    if min(h, w) < MIN_SIDE:
        raise ValueError(f"{name} of {w}×{h} px has a shorter side under {MIN_SIDE} px: VGG19 halves it 4 times "
                         "before conv5_1, and an image upscaled from a few pixels has no content or style to "
                         f"transfer. Pass an image at least {MIN_SIDE}×{MIN_SIDE} px.")
    if min(h, w) * size / max(h, w) < MIN_SIDE:
        raise ValueError(f"{name} of {w}×{h} px at size {size} has a shorter side under {MIN_SIDE} px: VGG "
                         f"halves it 4 times before conv5_1. Use a larger size or a less elongated image.")
    if max(h, w) > 2 * size:
        print(f"resizing a {w}×{h} px image to a longer side of {size} px")
    scale = size / max(h, w)
    return TF.resize(x.float(), [round(h * scale), round(w * scale)], antialias=True).clamp(0, 1).contiguous()


def _to_unit_range(x: torch.Tensor, name: str = "image") -> torch.Tensor:
    """uint8 [0, 255] -> float [0, 1]; floats must already be in [0, 1], without NaN (else a ValueError saying how to fix it)."""
    if x.dtype == torch.uint8:
        return x.float() / 255
    if not x.is_floating_point():
        raise ValueError(f"{name}: image tensor has dtype {x.dtype}: pass floats in [0, 1] or uint8 in [0, 255]")
    check_finite(x, name)
    low, high = x.min().item(), x.max().item()
    if low < -0.01 or high > 1.01:
        hint = ("it looks like 0-255: divide by 255" if high > 2 else
                "it looks like [-1, 1] (a GAN's output?): use (x + 1) / 2" if low >= -1.01 else "rescale it")
        raise ValueError(f"{name}: image tensor values must lie in [0, 1], got [{low:.3g}, {high:.3g}]: {hint}")
    return x


# ---------------------------------------------------------------- the optimisation
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}
_low_precision_copies: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # extractor -> {(dtype, device): copy}


def network_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """The network's dtype for `precision` ("auto", "fp32", "bf16") on `device`; None = fp32."""
    check_choice(precision, "precision", ("auto", *PRECISIONS))
    device = check_device(device)
    if precision == "auto":
        low = runtime.amp_dtype(device)
        # fp16 gradients on the pixels would underflow without loss scaling: fp16-only GPUs stay fp32
        return None if low == torch.float16 else low
    return PRECISIONS[precision]


def in_precision(extractor: torch.nn.Module, dtype: torch.dtype | None, device: torch.device) -> torch.nn.Module:
    """The extractor itself (fp32), or its bf16 copy, made once per extractor, dtype and device.

    A copy rather than autocast: autocast re-casts frozen weights on every forward pass (they
    need no gradient, so its weight cache does not apply): a third of a step on a CPU.
    """
    if not isinstance(extractor, torch.nn.Module):
        raise TypeError(f"extractor must be a torch.nn.Module (e.g. style.VGGFeatures()), got {type(extractor).__name__}")
    if dtype is not None and (not isinstance(dtype, torch.dtype) or not dtype.is_floating_point):
        raise ValueError(f"dtype must be a float torch.dtype (e.g. torch.bfloat16) or None for fp32, got {dtype!r}")
    device = check_device(device)
    if dtype is None:
        return extractor
    copies = _low_precision_copies.setdefault(extractor, {})
    key = (dtype, device)
    if key not in copies:
        copies[key] = copy.deepcopy(extractor).to(device=device, dtype=dtype)
    return copies[key]


@dataclass
class TransferConfig:
    """Settings of `transfer`; transfer(..., steps=50, optimizer="lbfgs") overrides single fields."""
    size: int = 256                 # longer side of the images in px
    steps: int = 300                # forward and backward passes (L-BFGS may finish its last line search a few past)
    optimizer: str = "adam"         # "adam" (lr 0.02) or "lbfgs" (lr 1, strong-Wolfe line search, as Gatys et al.)
    lr: float | None = None         # None: the optimizer's value above
    style_weight: float = 1e2       # total = content_weight * content + style_weight * style + tv_weight * TV
    content_weight: float = 10.0
    tv_weight: float = 0.1
    init: str = "content"           # start from the "content" image or from uniform "noise"
    style_layers: tuple[str, ...] = STYLE_LAYERS    # VGG19 names such as "relu1_1"
    content_layers: tuple[str, ...] = CONTENT_LAYERS
    seed: int = 0                   # of the "noise" start
    precision: str = "auto"         # the network's: "auto" (bf16 where native, else fp32), "fp32", "bf16"
    progress: bool = True           # tqdm progress bar

    def __post_init__(self) -> None:
        self.validate()  # a bad field fails where the config is made, not at the first step

    def validate(self) -> None:
        """Raise ValueError/TypeError naming the first bad field (before any work)."""
        if isinstance(self.steps, bool) or not isinstance(self.steps, numbers.Integral) or self.steps < 1:
            raise ValueError(f"steps must be a whole number >= 1, got {self.steps!r}: each step is one forward and "
                             "backward pass; with no step the result would just be the starting image")
        check_count(self.size, "size", minimum=MIN_SIDE)
        check_choice(self.optimizer, "optimizer", ("adam", "lbfgs"))
        check_positive(self.lr, "lr", optional=True)
        for name in ("style_weight", "content_weight", "tv_weight"):
            check_number(getattr(self, name), name, low=0)  # a negative weight would maximise its loss
        check_choice(self.init, "init", ("content", "noise"))
        for name in ("style_layers", "content_layers"):
            layers = getattr(self, name)
            if not isinstance(layers, (list, tuple)) or not all(isinstance(k, str) for k in layers):
                raise TypeError(f"{name} must be a list of VGG19 layer names such as ('relu1_1', 'relu2_1'), got {layers!r}")
        check_seed(self.seed, "seed")
        check_choice(self.precision, "precision", ("auto", *PRECISIONS))
        if not isinstance(self.progress, bool):
            raise TypeError(f"progress must be True or False, got {self.progress!r}")
        self.style_layers, self.content_layers = tuple(self.style_layers), tuple(self.content_layers)


def transfer(content, style, config: TransferConfig | None = None, *, extractor: torch.nn.Module | None = None,
             device: torch.device | str | None = None, callback=None, **overrides) -> tuple[torch.Tensor, dict]:
    """Optimise an image's pixels: content_weight * content + style_weight * style + tv_weight * TV.

    content, style: path, URL, course image name or tensor (see `prepare`).
    config / overrides: `TransferConfig` fields, e.g. transfer(c, s, steps=50, optimizer="lbfgs").
    One step = one forward and backward pass. The network's precision is config.precision;
    losses and pixels stay fp32.
    extractor: images -> {layer name: features}, e.g. `VGGFeatures`; it must return every layer
    in style_layers and content_layers.
    callback(step, image, history) is called every 10 steps with the image just evaluated, and
    with the result after the last step, e.g. for a live preview.
    Returns (image (1, 3, H, W) in [0, 1] on the CPU, history: lists per step of the losses
    "total", "content", "style", "tv" and the "seconds" since the start).
    """
    cfg = configure(TransferConfig, config, overrides)
    size, steps, optimizer, lr, init = cfg.size, cfg.steps, cfg.optimizer, cfg.lr, cfg.init
    style_weight, content_weight, tv_weight = cfg.style_weight, cfg.content_weight, cfg.tv_weight
    style_layers, content_layers = cfg.style_layers, cfg.content_layers
    device = runtime.pick_device(verbose=False) if device is None else check_device(device)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a function callback(step, image, history) or None, got {type(callback).__name__}")
    if extractor is not None and not isinstance(extractor, torch.nn.Module):
        raise TypeError(f"extractor must be a torch.nn.Module (e.g. style.VGGFeatures()) or None, got {type(extractor).__name__}")
    content_img = prepare(content, size, "content").to(device)  # the images first: a bad one fails before VGG loads
    style_img = prepare(style, size, "style").to(device)
    dtype = network_dtype(device, cfg.precision)
    extractor = (extractor or _default_extractor(style_layers + content_layers)).to(device)
    net = in_precision(extractor, dtype, device)
    features = lambda x: net(x if dtype is None else x.to(dtype))  # noqa: E731  losses are computed in fp32

    with torch.no_grad():  # targets, computed once
        content_feats, style_feats = features(content_img), features(style_img)
        _check_layers(content_feats, style_layers + content_layers)
        content_targets = {k: content_feats[k].float() for k in content_layers}
        content_powers = {k: t.square().mean() for k, t in content_targets.items()}
        style_targets = {k: gram(style_feats[k]) for k in style_layers}
        del content_feats, style_feats

    if init == "content":
        image = content_img.clone()
    else:
        image = torch.rand(content_img.shape, generator=torch.Generator().manual_seed(cfg.seed)).to(device)
    image.requires_grad_(True)
    if optimizer == "adam":
        opt = torch.optim.Adam([image], lr=lr or 0.02)
    else:  # with a line search, as Gatys et al. ran it (through scipy): without one, L-BFGS can take wild steps
        opt = torch.optim.LBFGS([image], lr=lr or 1.0, history_size=20, line_search_fn="strong_wolfe",
                                tolerance_grad=0.0, tolerance_change=0.0)

    names = ("total", "content", "style", "tv")
    rows: list[torch.Tensor] = []  # the losses of each evaluation, kept on the device: one sync per 10
    history = {"step": [], **{k: [] for k in names}, "seconds": []}
    seconds: list[float] = []
    bar = tqdm(total=steps, desc=f"style transfer ({optimizer})", disable=not cfg.progress, leave=False)

    def report(shown: torch.Tensor) -> None:
        """Move the new rows into `history` and show `shown` through the callback."""
        done = len(history["step"])
        new = torch.stack(rows[done:]).tolist()  # the one host sync per 10 steps
        if not all(math.isfinite(v) for values in new for v in values):
            bar.close()
            raise TrainingDiverged(f"style transfer diverged: a loss became NaN or infinite by step {len(rows)} "
                                   f"(lr {lr or ('0.02' if optimizer == 'adam' else '1')} with {optimizer}). "
                                   "Lower lr or the weights, or use precision='fp32'.")
        for row, values in enumerate(new, start=done):
            history["step"].append(row + 1)
            history["seconds"].append(seconds[row])
            for k, v in zip(names, values):
                history[k].append(v)
        if callback is not None:
            callback(len(rows), shown.detach().cpu(), history)

    timer = runtime.StepTimer(device) if runtime.is_rehearsal() else None  # rehearsal only: time each step

    def closure():
        if timer:
            timer.start()
        opt.zero_grad(set_to_none=True)
        seen = image.clamp(0, 1)  # the network sees pixels in [0, 1]; the gradient is 0 where a clamp holds
        feats = features(seen)
        content_term = sum((content_loss(feats[k], t, content_powers[k]) for k, t in content_targets.items()),
                           image.new_zeros(()))
        style_term = style_loss(feats, style_targets)
        tv_term = tv_loss(seen)
        total = content_weight * content_term + style_weight * style_term + tv_weight * tv_term
        total.backward()
        if timer:
            timer.stop()
        rows.append(torch.stack([total, content_term, style_term, tv_term]).detach().float())
        seconds.append(time.perf_counter() - start)
        bar.update()
        if len(rows) % 10 == 0 and len(rows) < steps:
            report(seen)
        return total

    start = time.perf_counter()
    while len(rows) < steps:
        if optimizer == "adam":
            opt.step(closure)
            with torch.no_grad():
                image.clamp_(0, 1)  # projected: Adam's next step starts from pixels in [0, 1]
        else:
            # L-BFGS runs up to `remaining` evaluations in one call; its last line search may add a few.
            # The pixels are not clamped between its steps: it learns the curvature from the steps it
            # took, and a step moved behind its back makes that false (the loss then spikes 100x+).
            # Its first iteration runs alone, from a trial step of about unit length (1/||g||_2, as
            # scipy's L-BFGS-B starts; torch starts at 1/||g||_1, which moves a pixel by ~1/numel):
            # from that tiny start the line search stopped short of the minimum, the first curvature
            # pair overrated the step, and the next trial overshot 10x+ (in fp32 and bf16 alike,
            # at sizes that depend on rounding). Costs one evaluation: the second call re-evaluates.
            remaining = steps - len(rows)
            first = opt.state[image].get("n_iter", 0) == 0
            step_scale = image.numel() ** 0.5 if first else 1.0  # ||g||_1 / ||g||_2 for a gradient spread evenly
            opt.param_groups[0].update(max_iter=1 if first else remaining, max_eval=remaining,
                                       lr=(lr or 1.0) * step_scale)
            opt.step(closure)
    bar.close()
    if timer:  # the rehearsal's report: seconds per step and the full budget's projected time
        timer.record(f"style transfer: {optimizer}, {tuple(image.shape[-2:])} px", getattr(cfg, "rehearsal_full_steps", None))
    result = image.detach().clamp(0, 1)
    report(result)
    return result.cpu(), history


@functools.lru_cache(maxsize=4)
def _default_extractor(layers: tuple[str, ...]) -> VGGFeatures:
    return VGGFeatures(layers)


def _check_layers(returned: dict, wanted: tuple[str, ...]) -> None:
    missing = [k for k in dict.fromkeys(wanted) if k not in returned]
    if missing:
        raise ValueError(f"the extractor does not return the layer(s) {missing} (it returns {sorted(returned)}): "
                         f"build it with style.VGGFeatures({list(dict.fromkeys(wanted))}), or ask only for "
                         "style_layers/content_layers it returns")
