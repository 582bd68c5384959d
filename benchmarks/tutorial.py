"""The plain "tutorial way" pieces the benchmarks compare coursekit against."""
from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision
from torch.utils.data import DataLoader
from torchvision import transforms

import coursekit as ck


def mnist_loader(batch_size: int = 128) -> DataLoader:
    """torchvision MNIST + DataLoader with per-image ToTensor/Normalize to [-1, 1], shuffled."""
    dataset = torchvision.datasets.MNIST(ck.data.stage_mnist_for_torchvision(), train=True, download=False,
                                         transform=transforms.Compose([transforms.ToTensor(),
                                                                       transforms.Normalize((0.5,), (0.5,))]))
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True)


def plain_step(G, D, opt_g, opt_d, real, z):
    """One fp32 D step and G step, as the PyTorch DCGAN tutorial writes them."""
    ones = torch.ones(len(real), device=real.device)
    fake = G(z)
    loss_d = (F.binary_cross_entropy_with_logits(D(real), 0.9 * ones)
              + F.binary_cross_entropy_with_logits(D(fake.detach()), 0 * ones))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    out = D(fake)
    loss_g = F.binary_cross_entropy_with_logits(out, ones)
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return loss_d, loss_g, out
