"""Lesson 4: the autoencoder and the variational autoencoder (MLPs on 28×28 digits).

Both follow one convention: `encode(x)` -> code, `decode(z)` -> the decoder's output, and
`forward(x)` reconstructs x (pixel intensities / probabilities in [0, 1]). The VAE trains on
binarized digits (`coursekit.nets.bernoulli`): `loss(x) -> {"loss": -ELBO, ...}` for
`coursekit.train.train_likelihood` (x: the [-1, 1] batch) and `nll(x_bin) -> (B,)` nats per image.

Inputs are checked for shape and dtype in every method (no host sync, so the training step stays
sync-free); `nll` and `elbo_terms` also check that x_bin is binary (0.0 / 1.0, one host sync).
"""
from __future__ import annotations

import torch
from torch import nn

from ..checks import check_count, check_images, check_widths, check_z
from .bernoulli import _check_binary, _draw_binary, _nll
from .layers import mlp


class Autoencoder(nn.Module):
    """x (B, 1, 28, 28) -> code z (B, z_dim) -> reconstruction (B, 1, 28, 28) in [0, 1].

    Encoder and decoder are MLPs (784 -> hidden -> z_dim and back). The loss is the L2
    reconstruction error Σ_ij (x̂_ij - x_ij)² per image on the intensities in [0, 1]: a plain
    autoencoder has no likelihood, only a reconstruction.
    """

    def __init__(self, z_dim: int = 32, hidden: tuple[int, ...] = (512, 256)):
        super().__init__()
        self.z_dim, hidden = check_count(z_dim, "z_dim"), check_widths(hidden, "hidden")
        self.encoder = nn.Sequential(nn.Flatten(), mlp([784, *hidden, z_dim]))
        self.decoder = mlp([z_dim, *reversed(hidden), 784])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, 28, 28) in [-1, 1] -> z (B, z_dim)."""
        return self.encoder(check_images(x, "x", channels=1, size=28, floating=True))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, z_dim) -> images (B, 1, 28, 28) in [0, 1]."""
        return torch.sigmoid(self.decoder(check_z(z, self.z_dim))).view(-1, 1, 28, 28)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, 28, 28) -> its reconstruction (B, 1, 28, 28) in [0, 1]."""
        return self.decode(self.encode(x))

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x: the [-1, 1] batch (B, 1, 28, 28). "loss" = the squared error per image on intensities in [0, 1]."""
        target = (check_images(x, "x", channels=1, size=28, floating=True).float() + 1) / 2                                     # [-1, 1] -> [0, 1]
        recon = (self(x).float() - target).pow(2).flatten(1).sum(1).mean()
        return {"loss": recon}


class VAE(nn.Module):
    """Variational autoencoder with Bernoulli pixels (Kingma & Welling 2013).

    encoder: x (B, 1, 28, 28) -> mean μ (B, z_dim) and log-variance log σ² (B, z_dim) of q(z|x);
    reparameterisation: z = μ + σ·ε, ε ~ N(0, I) (the randomness is outside the network, so
    gradients flow into μ and σ); decoder: z -> Bernoulli logits (B, 1, 28, 28).
    loss = -ELBO = E_q[-log p(x|z)] + KL(q(z|x) || N(0, I)),  in nats per image, where
    KL = ½ Σ_k (μ_k² + σ_k² - log σ_k² - 1).
    """

    def __init__(self, z_dim: int = 32, hidden: tuple[int, ...] = (512, 256)):
        super().__init__()
        self.z_dim, hidden = check_count(z_dim, "z_dim"), check_widths(hidden, "hidden")
        self.body = nn.Sequential(nn.Flatten(), mlp([784, *hidden]), nn.ReLU())
        self.mean = nn.Linear(hidden[-1], z_dim)
        self.log_var = nn.Linear(hidden[-1], z_dim)
        self.decoder = mlp([z_dim, *reversed(hidden), 784])

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 1, 28, 28) in {0, 1} -> (μ, log σ²), each (B, z_dim)."""
        h = self.body(check_images(x, "x", channels=1, size=28, floating=True))
        return self.mean(h), self.log_var(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, z_dim) -> Bernoulli logits (B, 1, 28, 28)."""
        return self.decoder(check_z(z, self.z_dim)).view(-1, 1, 28, 28)

    def mean_image(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, z_dim) -> pixel probabilities (B, 1, 28, 28) in [0, 1] (the decoder's mean image)."""
        return torch.sigmoid(self.decode(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, 28, 28) -> its reconstruction: the mean image of its code's mean μ, in [0, 1]."""
        return self.mean_image(self.encode(x)[0])

    @staticmethod
    def kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        """KL(N(μ, σ²) || N(0, I)) per image, (B, z_dim) -> (B,): ½ Σ (μ² + σ² - log σ² - 1)."""
        return 0.5 * (mean.float().pow(2) + log_var.float().exp() - log_var.float() - 1).sum(1)

    def elbo_terms(self, x_bin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x_bin (B, 1, 28, 28) in {0, 1} -> (reconstruction NLL (B,), KL (B,)) with one z per image."""
        return self._elbo_terms(_check_binary(x_bin))

    def _elbo_terms(self, x_bin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.encode(x_bin)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)    # the reparameterisation
        return _nll(self.decode(z), x_bin), self.kl(mean, log_var)

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x: the [-1, 1] batch (B, 1, 28, 28), binarized here. "loss" = -ELBO in nats per image.

        Called every training step: shape and dtype are checked, values are not (that needs a host
        sync); NaN pixels give a NaN loss, which the engine's divergence check stops at."""
        recon, kl = self._elbo_terms(_draw_binary(check_images(x, "x", channels=1, size=28, floating=True)))
        recon, kl = recon.mean(), kl.mean()
        return {"loss": recon + kl, "recon": recon, "kl": kl}

    def nll(self, x_bin: torch.Tensor) -> torch.Tensor:
        """-ELBO (B,) in nats: an upper bound on -log p(x) (tighter: metrics.importance_weighted_nll)."""
        recon, kl = self.elbo_terms(x_bin)
        return recon + kl

    @torch.inference_mode()
    def sample(self, n: int, generator: torch.Generator | None = None, binary: bool = False) -> torch.Tensor:
        """n digits from z ~ N(0, I): (n, 1, 28, 28) float on the CPU, the probabilities p(x=1|z) in [0, 1]
        (or, with binary=True, a Bernoulli draw from them)."""
        n = check_count(n, "n")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        device = self.mean.weight.device
        z = torch.randn(n, self.z_dim, generator=generator).to(device)
        p = self.mean_image(z).float().cpu()
        return torch.bernoulli(p, generator=generator) if binary else p

