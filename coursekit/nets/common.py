"""Small helpers every lesson's models share."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from ..checks import check_z


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """`with eval_mode(model):` the model in eval mode (BatchNorm's running statistics, no dropout),
    back in the mode it had afterwards, even after an error."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@torch.no_grad()
def sample(G: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """G(z) in eval mode (BatchNorm uses its running statistics), returned to the CPU as float.

    z: (N, z_dim) on G's device -> images (N, C, H, W) float on the CPU.
    """
    if not isinstance(G, nn.Module):
        raise TypeError(f"G must be a generator nn.Module, got {type(G).__name__}")
    check_z(z, getattr(G, "z_dim", z.shape[-1] if isinstance(z, torch.Tensor) and z.dim() else 1))
    with eval_mode(G):
        return G(z).float().cpu()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
