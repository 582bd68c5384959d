"""Mode collapse you can count: how many modes of a 2-D Gaussian mixture a generator covers.

The toy data of lesson 3 (`coursekit.toy.ring()`, `grid()`) has K known centres and one std
sigma. Following the unrolled-GAN, VEEGAN and PacGAN papers:

- a sample is **high quality** when it lies within 3 sigma of some centre (its nearest one);
- a mode is **covered** when at least `min_share` of the samples are high-quality samples of it
  (default 1 %: a few stray points near a centre do not make a covered mode).

    stats = mode_coverage(G_samples (N, 2), ring8.centers, ring8.sigma)
    stats["modes"], stats["high_quality"], stats["counts"]      # e.g. 3, 0.94, [812, 0, 0, ...]
"""
from __future__ import annotations

import torch


def mode_coverage(samples: torch.Tensor, centers: torch.Tensor, sigma: float, min_share: float = 0.01,
                  radius_sigmas: float = 3.0) -> dict:
    """samples (N, 2), centers (K, 2) -> {"modes": covered modes, "high_quality": share in [0, 1], "counts": [K]}.

    Non-finite samples (a diverged G) count as low quality.
    """
    if samples.dim() != 2 or samples.shape[1] != centers.shape[1] or len(samples) == 0:
        raise ValueError(f"samples must be (N, {centers.shape[1]}) with N >= 1, got {tuple(samples.shape)}")
    samples, centers = samples.detach().float().cpu(), centers.float().cpu()
    distance = torch.cdist(samples, centers)                     # (N, K)
    nearest_distance, nearest = distance.min(1)                  # (N,)
    good = torch.isfinite(samples).all(1) & (nearest_distance <= radius_sigmas * sigma)
    counts = torch.bincount(nearest[good], minlength=len(centers))
    return {"modes": int((counts >= min_share * len(samples)).sum()),
            "high_quality": float(good.double().mean()),
            "counts": counts.tolist()}


def coverage_of_runs(samples: torch.Tensor, centers: torch.Tensor, sigma: float, **options) -> dict:
    """samples (R, N, 2) from R runs -> {"modes": [R], "high_quality": [R]} (mode_coverage of each run)."""
    stats = [mode_coverage(s, centers, sigma, **options) for s in samples]
    return {"modes": [s["modes"] for s in stats], "high_quality": [s["high_quality"] for s in stats]}
