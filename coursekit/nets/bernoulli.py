"""Lesson 4's data convention and likelihood: dynamically binarized MNIST, Bernoulli pixels.

A batch from `DeviceBatches` (float (B, 1, 28, 28) in [-1, 1]) becomes x ∈ {0, 1} by drawing each
pixel x_ij ~ Bernoulli((pixel + 1) / 2) anew every time it is seen (`binarize`, torch's global RNG,
which checkpoints save, so a resumed run draws the same pixels). Each model's likelihood is a
product of Bernoullis, and its negative log-likelihood in nats per image is

    NLL(x) = -Σ_ij [x_ij log p_ij + (1 - x_ij) log(1 - p_ij)]     (784 terms for a 28×28 digit)

(divide by 784·ln 2 for bits per dimension: `coursekit.metrics.likelihood`, which re-exports these
two functions with the rest of the likelihood measures). Published figures for this convention:
PixelCNN 81.3 nats (van den Oord et al. 2016), VAEs ≈ 85–95. The models (`vae`, `pixelcnn`)
train on it, so it sits here, below them, rather than in `metrics` above.

The one input every likelihood accepts is a *binary* float batch: each pixel exactly 0.0 or 1.0
(what `binarize` and `metrics.binarized_test_set` return). Anything else (uint8 0..255, grey
[-1, 1] or [0, 1] floats, NaN) is refused with a ValueError saying how to binarize, since a
likelihood of grey pixels is a plausible-looking but meaningless number. The public functions
check the values (one host sync); the models' training step (`loss`, called every step) checks
shapes and dtypes only, and leaves values to the data pipeline.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..checks import check_images, to_signed_unit

HOW_TO_BINARIZE = ("binarize digits first: ck.nets.bernoulli.binarize(x) for uint8 0..255 or float [-1, 1] digits, "
                   "or ck.metrics.binarized_test_set(images) for the fixed held-out set")


def binarize(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Stochastic binarization: x uint8 0..255 or float in [-1, 1], any shape -> float {0, 1}, P(1) = intensity.

    Float values outside [-1, 1] (0..255 floats, say) and NaN are refused, never clipped (one host sync).
    """
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of uint8 0..255 or float [-1, 1] pixels, got {type(x).__name__}")
    if x.dtype == torch.uint8:
        p = x.float() / 255
    else:
        p = (to_signed_unit(x, "x", value_range=(-1, 1)) + 1) / 2
    return torch.bernoulli(p.clamp(0, 1), generator=generator)  # clamp: only the rounding slack to_signed_unit allows


def bernoulli_nll(logits: torch.Tensor, x_bin: torch.Tensor) -> torch.Tensor:
    """-log p(x) in nats per image for independent Bernoullis: logits, x_bin (B, C, H, W) -> (B,).

    x_bin must be binary (0.0 / 1.0), logits finite real numbers of the same shape (checked: one host sync).
    """
    _check_binary(x_bin, "x_bin", size=None, channels=None)
    check_images(logits, "logits", finite=True)
    if not logits.is_floating_point():
        raise ValueError(f"logits must be a float tensor, got dtype {logits.dtype}")
    if logits.shape != x_bin.shape:
        raise ValueError(f"logits and x_bin must have the same shape, got {tuple(logits.shape)} and {tuple(x_bin.shape)}")
    return _nll(logits, x_bin)


# ---------------------------------------------------------------- the pieces the models share
def _nll(logits: torch.Tensor, x_bin: torch.Tensor) -> torch.Tensor:
    """bernoulli_nll without checks, for the training step (no host sync): (B, ...) -> (B,)."""
    return F.binary_cross_entropy_with_logits(logits.float(), x_bin.float(), reduction="none").flatten(1).sum(1)


def _draw_binary(x: torch.Tensor) -> torch.Tensor:
    """The training step's binarization of a float [-1, 1] batch, without a host sync (values unchecked).

    NaN pixels stay NaN, so the loss becomes NaN and the engine's divergence check stops the run.
    """
    p = ((x.float() + 1) / 2).clamp(0, 1)
    return torch.where(torch.isnan(p), p, torch.bernoulli(p.nan_to_num(0.0)))


def _check_binary(x_bin, name: str = "x_bin", *, size: int | None = 28, channels: int | None = 1) -> torch.Tensor:
    """Raise unless x_bin is binary images: float (N, 1, size, size) (any H, W when size is None), N >= 1,
    every pixel exactly 0.0 or 1.0 (one host sync). Returns x_bin."""
    check_images(x_bin, name, channels=channels, size=size)
    if not x_bin.is_floating_point():
        raise ValueError(f"{name} must be binary float pixels 0.0 / 1.0, got dtype {x_bin.dtype}: {HOW_TO_BINARIZE}")
    not_binary = (x_bin != 0) & (x_bin != 1)
    if bool(not_binary.any()):
        if bool(torch.isnan(x_bin).any()):
            raise ValueError(f"{name} contains NaN: a likelihood needs binary pixels 0.0 / 1.0 ({HOW_TO_BINARIZE})")
        low, high = x_bin.min().item(), x_bin.max().item()
        raise ValueError(f"{name} must be binary pixels 0.0 / 1.0, got values in [{low:.3g}, {high:.3g}] "
                         f"({int(not_binary.sum())} pixels neither 0 nor 1): {HOW_TO_BINARIZE}")
    return x_bin
