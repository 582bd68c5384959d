"""Small helpers every lesson's models share."""
from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def sample(G: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """G(z) in eval mode (BatchNorm uses its running statistics), returned to the CPU as float.

    z: (N, z_dim) on G's device -> images (N, C, H, W) float on the CPU.
    """
    was_training = G.training
    G.eval()
    try:
        return G(z).float().cpu()
    finally:
        G.train(was_training)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
