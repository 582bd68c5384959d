"""Building blocks the lessons' networks share: MLP stacks, and the layers GANs add."""
from __future__ import annotations

import torch
from torch import nn

from ..checks import check_count, check_widths


def mlp(sizes: list[int], activation=nn.ReLU, last_activation: bool = False) -> nn.Sequential:
    """Linear layers sizes[0] -> sizes[1] -> ... with `activation()` between them (and after the last too,
    if `last_activation`): e.g. mlp([784, 512, 32]) = Linear(784, 512), ReLU, Linear(512, 32)."""
    sizes = check_widths(sizes, "sizes")
    if len(sizes) < 2:
        raise ValueError(f"sizes must hold at least an input and an output width, got {sizes!r}")
    if not callable(activation):
        raise TypeError(f"activation must be a layer class or a function returning a module, got {activation!r}")
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), activation()]
    return nn.Sequential(*(layers if last_activation else layers[:-1]))


class MinibatchDiscrimination(nn.Module):
    """Let D compare each sample with the rest of its batch (Salimans et al. 2016, section 3.2).

    A collapsed generator makes batches of near-identical images; one image at a time, D cannot
    see that. This layer projects each sample's features x_i (B, in_features) to a matrix
    M_i (kernels, kernel_dim), measures c_b(i, j) = exp(-||M_i,b - M_j,b||_1) to every other
    sample j for each kernel b, and appends o_i,b = sum_j c_b(i, j) to the features:

        x (B, in_features) -> (B, in_features + kernels)

    When the batch is diverse the extra features are small; when samples are close they grow,
    and D learns that "too similar" means "fake".
    """

    def __init__(self, in_features: int, kernels: int = 32, kernel_dim: int = 8):
        super().__init__()
        in_features = check_count(in_features, "in_features")
        kernels, kernel_dim = check_count(kernels, "kernels"), check_count(kernel_dim, "kernel_dim")
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.T.shape[0] or not len(x) or not x.is_floating_point():
            raise ValueError(f"x must be float features (B, {self.T.shape[0]}) with B >= 1, got {x.dtype} {tuple(x.shape)}")
        m = (x @ self.T.to(x.dtype)).view(-1, self.kernels, self.kernel_dim)     # (B, K, kd)
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(3)                      # (B, B, K): ||M_i - M_j||_1
        o = torch.exp(-l1).sum(1) - 1                                            # (B, K), minus the self-term exp(0)
        return torch.cat([x, o], dim=1)
