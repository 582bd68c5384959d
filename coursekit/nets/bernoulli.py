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
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def binarize(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Stochastic binarization: x float in [-1, 1] (or uint8 0..255) -> float {0, 1}, P(1) = intensity."""
    p = x.float() / 255 if x.dtype == torch.uint8 else (x.float() + 1) / 2
    return torch.bernoulli(p.clamp(0, 1), generator=generator)


def bernoulli_nll(logits: torch.Tensor, x_bin: torch.Tensor) -> torch.Tensor:
    """-log p(x) in nats per image for independent Bernoullis: logits, x_bin (B, C, H, W) -> (B,)."""
    return F.binary_cross_entropy_with_logits(logits.float(), x_bin.float(), reduction="none").flatten(1).sum(1)
