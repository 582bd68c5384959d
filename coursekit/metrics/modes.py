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

from ..checks import check_number, check_positive


def mode_coverage(samples: torch.Tensor, centers: torch.Tensor, sigma: float, min_share: float = 0.01,
                  radius_sigmas: float = 3.0) -> dict:
    """samples (N, 2), centers (K, 2) -> {"modes": covered modes, "high_quality": share in [0, 1], "counts": [K]}.

    Non-finite samples (a diverged G) count as low quality. Integer points are points too (taken as float).
    """
    centers = _check_points(centers, "centers", dims=2, finite=True)
    samples = _check_points(samples, "samples", dims=2, width=centers.shape[1])
    sigma, radius_sigmas = check_positive(sigma, "sigma"), check_positive(radius_sigmas, "radius_sigmas")
    min_share = check_number(min_share, "min_share", low=0, high=1)
    samples, centers = samples.detach().float().cpu(), centers.detach().float().cpu()
    distance = torch.cdist(samples.nan_to_num(0.0), centers)     # (N, K); non-finite rows are dropped below
    nearest_distance, nearest = distance.min(1)                  # (N,)
    good = torch.isfinite(samples).all(1) & (nearest_distance <= radius_sigmas * sigma)
    counts = torch.bincount(nearest[good], minlength=len(centers))
    return {"modes": int((counts >= min_share * len(samples)).sum()),
            "high_quality": float(good.double().mean()),
            "counts": counts.tolist()}


def coverage_of_runs(samples: torch.Tensor, centers: torch.Tensor, sigma: float, **options) -> dict:
    """samples (R, N, 2) from R runs -> {"modes": [R], "high_quality": [R]} (mode_coverage of each run).

    options: min_share, radius_sigmas (see mode_coverage)."""
    samples = _check_points(samples, "samples", dims=3)
    unknown = set(options) - {"min_share", "radius_sigmas"}
    if unknown:
        raise TypeError(f"coverage_of_runs takes the options min_share and radius_sigmas, got {sorted(unknown)}")
    stats = [mode_coverage(s, centers, sigma, **options) for s in samples]
    return {"modes": [s["modes"] for s in stats], "high_quality": [s["high_quality"] for s in stats]}


def _check_points(x, name: str, *, dims: int, width: int | None = None, finite: bool = False) -> torch.Tensor:
    """A real tensor of points (..., N, D) with `dims` dimensions, N >= 1 (and D == width when given)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of points, got {type(x).__name__}")
    shape = "(N, D)" if dims == 2 else "(R, N, D)"
    if x.dim() != dims or 0 in x.shape or (width is not None and x.shape[-1] != width):
        want = shape if width is None else shape.replace("D", str(width))
        raise ValueError(f"{name} must have shape {want} with no empty axis, got {tuple(x.shape)}")
    if x.dtype == torch.bool or x.is_complex():
        raise ValueError(f"{name} must hold real coordinates (float or int), got dtype {x.dtype}")
    if finite and x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x
