"""Likelihoods of digits: negative log-likelihood (NLL) in nats per image and bits per dimension.

The course's convention (lesson 4): models train on *dynamically* binarized MNIST (each pixel
drawn as a Bernoulli of its grey value, afresh every batch) and are scored on a test set binarized
*once* with a fixed seed (`binarized_test_set`); NLL = -log p(x) in nats per image. That is the
setting of Burda et al.'s numbers (dynamic binarization), not of the fixed binarized MNIST of
Salakhutdinov & Murray (2008) / Larochelle & Murray (2011) on which PixelCNN's 81.3 was reported:
the two are close but not the same benchmark. Bits per dimension divide by the number of pixels
and by ln 2 (1 bit = ln 2 nats); 81.3 nats = 0.150 binary bits/dim. Bits/dim on 8-bit grey MNIST
(e.g. 0.81) measure another data set and cannot be compared with either.

    bits/dim = NLL_nats / (D · ln 2),   D = 784 for a 28×28 digit

A PixelCNN's NLL is exact (the chain rule). A VAE only gives a bound: -ELBO, or the tighter
importance-weighted bound with K samples z_k ~ q(z|x) (Burda et al. 2015),

    -log p(x) ≤ -log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x)

which tends to the true -log p(x) as K grows (K = 1 is the ELBO).
"""
from __future__ import annotations

import math

import torch

from ..nets.common import eval_mode
from ..nets.bernoulli import bernoulli_nll, binarize

LN2 = math.log(2)

# Published test NLLs on binarized MNIST, nats per image (lower is better), each tagged with its
# binarization; the course's own numbers follow the dynamic convention (see the module docstring).
# (VAEs in the literature span about 85-95 depending on architecture and training length.)
PUBLISHED_NATS = {
    "PixelCNN (van den Oord et al. 2016, Pixel Recurrent Neural Networks, table 4; fixed binarization)": 81.30,
    "VAE, 1 stochastic layer, MLP (Burda et al. 2015, IWAE bound with K=5000; dynamic binarization)": 86.76,
}


def nats_to_bits_per_dim(nats: float | torch.Tensor, dims: int = 784):
    """NLL in nats per image -> bits per dimension (dims = pixels per image)."""
    return nats / (dims * LN2)


def bits_per_dim_to_nats(bits_per_dim: float | torch.Tensor, dims: int = 784):
    """Bits per dimension -> NLL in nats per image."""
    return bits_per_dim * dims * LN2


def binarized_test_set(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """One fixed stochastic binarization of held-out digits: uint8 (N, 1, H, W) -> float {0, 1}, seeded.

    Every model is scored on these same 0/1 digits.
    """
    if images.dtype != torch.uint8:
        raise ValueError(f"binarized_test_set expects uint8 digits (ImageSet.images), got {images.dtype}")
    return binarize(images, generator=torch.Generator().manual_seed(seed))


def _log_normal(z: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log N(z; mean, diag(exp(log_var))) summed over the last dimension."""
    return -0.5 * ((z - mean).pow(2) / log_var.exp() + log_var + math.log(2 * math.pi)).sum(-1)


@torch.inference_mode()
def importance_weighted_nll(vae, x_bin: torch.Tensor, samples: int = 100, chunk: int = 100,
                            generator: torch.Generator | None = None) -> torch.Tensor:
    """The importance-weighted bound on -log p(x) (B,) in nats, K = `samples` draws from q(z|x) per image.

    vae: a `coursekit.nets.VAE` (encode -> (μ, log σ²), decode -> logits); x_bin (B, 1, 28, 28) in {0, 1}.
    K = 1 gives -ELBO; the bound tightens as K grows. Draws are made `chunk` at a time.
    """
    device = next(vae.parameters()).device
    x_bin = x_bin.to(device).float()
    mean, log_var = (t.float() for t in vae.encode(x_bin))                 # (B, Z) each
    log_w = []
    for start in range(0, samples, chunk):
        k = min(chunk, samples - start)
        eps = torch.randn(k, *mean.shape, generator=generator).to(device)  # (k, B, Z)
        z = mean + (0.5 * log_var).exp() * eps
        logits = vae.decode(z.flatten(0, 1)).float()                       # (k·B, 1, 28, 28)
        log_px_z = -bernoulli_nll(logits, x_bin.repeat(k, 1, 1, 1)).view(k, -1)
        log_pz = _log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
        log_qz = _log_normal(z, mean, log_var)
        log_w.append(log_px_z + log_pz - log_qz)                           # (k, B)
    log_w = torch.cat(log_w)
    return -(torch.logsumexp(log_w, 0) - math.log(samples))


@torch.inference_mode()
def evaluate_nll(model, x_bin: torch.Tensor, batch: int = 500, samples: int | None = None, seed: int = 0) -> float:
    """Mean NLL in nats per image of `model` on binary digits x_bin (N, 1, 28, 28).

    PixelCNNs: exact (`model.nll`). A VAE: the importance-weighted bound with `samples` draws
    per image (None: -ELBO with one draw). Runs in fp32, in eval mode, `batch` images at a time.
    """
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    total = 0.0
    with eval_mode(model):
        for i in range(0, len(x_bin), batch):
            x = x_bin[i: i + batch].to(device)
            if samples is not None:
                nll = importance_weighted_nll(model, x, samples, generator=generator)
            else:
                nll = model.nll(x)
            total += float(nll.double().sum())
    return total / len(x_bin)


__all__ = ["binarize", "bernoulli_nll", "LN2", "PUBLISHED_NATS", "nats_to_bits_per_dim", "bits_per_dim_to_nats", "binarized_test_set",
           "importance_weighted_nll", "evaluate_nll"]
