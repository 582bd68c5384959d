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

Every likelihood here takes one input: binary digits, float (N, 1, 28, 28) with each pixel exactly
0.0 or 1.0 (`binarized_test_set`, or `binarize` for other digits). Grey digits, [-1, 1] floats,
uint8 pixels, NaN, an empty batch or other sizes are refused with a ValueError saying how to
binarize: a likelihood of anything else is a number that looks right and means nothing.
"""
from __future__ import annotations

import math

import numbers

import torch
from torch import nn

from ..checks import check_count, check_images, check_seed, check_tensor
from ..nets.common import eval_mode
from ..nets.bernoulli import _check_binary, _nll, bernoulli_nll, binarize
from ..nets.vae import VAE

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
    return _check_amount(nats, "nats") / (check_count(dims, "dims") * LN2)


def bits_per_dim_to_nats(bits_per_dim: float | torch.Tensor, dims: int = 784):
    """Bits per dimension -> NLL in nats per image."""
    return _check_amount(bits_per_dim, "bits_per_dim") * check_count(dims, "dims") * LN2


def _check_amount(value, name: str):
    """A finite number, or a float tensor of finite numbers (any shape), unchanged."""
    if isinstance(value, torch.Tensor):
        return check_tensor(value, name, floating=True, allow_empty=True)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a finite number or a float tensor, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return value


def binarized_test_set(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """One fixed stochastic binarization of held-out digits: uint8 (N, 1, H, W) -> float {0, 1}, seeded.

    Every model is scored on these same 0/1 digits.
    """
    if isinstance(images, torch.Tensor) and images.dtype != torch.uint8:
        raise ValueError(f"images must be uint8 digits 0..255 (ImageSet.images, e.g. test.images), got dtype {images.dtype}")
    check_images(images, "images", channels=1, size=28)
    return binarize(images, generator=torch.Generator().manual_seed(check_seed(seed)))


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
    if not isinstance(vae, VAE):
        raise TypeError(f"vae must be a coursekit.nets.VAE (encode -> (μ, log σ²), decode -> logits), got {type(vae).__name__}")
    _check_binary(x_bin)
    samples, chunk = check_count(samples, "samples"), check_count(chunk, "chunk")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    device = next(vae.parameters()).device
    x_bin = x_bin.to(device).float()
    mean, log_var = (t.float() for t in vae.encode(x_bin))                 # (B, Z) each
    log_w = []
    for start in range(0, samples, chunk):
        k = min(chunk, samples - start)
        eps = torch.randn(k, *mean.shape, generator=generator).to(device)  # (k, B, Z)
        z = mean + (0.5 * log_var).exp() * eps
        logits = vae.decode(z.flatten(0, 1)).float()                       # (k·B, 1, 28, 28)
        log_px_z = -_nll(logits, x_bin.repeat(k, 1, 1, 1)).view(k, -1)
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
    x_bin must be binary (0.0 / 1.0, e.g. `binarized_test_set`); anything else is refused.
    """
    if not isinstance(model, nn.Module) or not callable(getattr(model, "nll", None)):
        raise TypeError(f"model must be a likelihood model with nll(x_bin) (ck.nets.VAE, PixelCNN, GatedPixelCNN), "
                        f"got {type(model).__name__}")
    _check_binary(x_bin)
    batch, seed = check_count(batch, "batch"), check_seed(seed)
    if samples is not None:
        samples = check_count(samples, "samples")
        if not isinstance(model, VAE):
            raise ValueError(f"samples is the VAE's number of importance samples; {type(model).__name__}'s NLL is "
                             "exact: leave samples=None")
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
