"""Small helpers every lesson's models share."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


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
    with eval_mode(G):
        return G(z).float().cpu()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
