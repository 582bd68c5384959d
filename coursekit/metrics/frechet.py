"""The Fréchet distance between two sets of features: the formula behind FID."""
from __future__ import annotations

import torch

from ..checks import check_finite


def frechet_distance(feats_a: torch.Tensor, feats_b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) between two (N, D) feature sets.

    Tr((S_a S_b)^(1/2)) is computed as the sum of square roots of the eigenvalues of the
    symmetric matrix S_a^(1/2) S_b S_a^(1/2), which stays stable when a covariance is singular
    (e.g. a collapsed generator).
    """
    for name, f in (("feats_a", feats_a), ("feats_b", feats_b)):
        if not isinstance(f, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor (N, D) of features, got {type(f).__name__}")
        if f.dim() != 2 or len(f) < 2 or f.shape[1] < 1:
            raise ValueError(f"{name} must be (N, D) with N >= 2 samples (a covariance needs two), got {tuple(f.shape)}")
        if not f.is_floating_point():
            raise ValueError(f"{name} must be float features (N, D), got dtype {f.dtype}")
        check_finite(f, name)
    if feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(f"feature sizes differ: {feats_a.shape[1]} vs {feats_b.shape[1]} (same network and layer?)")
    a, b = feats_a.double(), feats_b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    evals, evecs = torch.linalg.eigh(cov_a)
    sqrt_a = evecs @ torch.diag(evals.clamp(min=0).sqrt()) @ evecs.T
    tr_covmean = torch.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * tr_covmean)
