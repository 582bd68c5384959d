"""Measuring generated digits instead of eyeballing them.

A small MNIST classifier (its weights ship with the package: `coursekit.pretrained.mnist_classifier`)
is used three ways:

- **Fréchet distance (FD)** between the classifier's 128-d penultimate features of real and of
  generated digits: the recipe of FID, but with a different network, so it is *FID-like*. Its
  numbers are comparable within this course, NOT with Inception FID values in papers.
- **Class coverage**: how the predicted classes of generated digits spread over 0..9
  (KL divergence to uniform; number of classes present). Mode collapse shows up here.
- **Confident fraction**: the share of samples the classifier labels with probability >= 0.9;
  blobs that look like no digit score low.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_count, check_images, check_labels, check_number, check_seed, check_tensor, to_signed_unit
from ..nets import MNISTClassifier, sample
from .frechet import frechet_distance

Range = tuple[float, float]


# ---------------------------------------------------------------- the measures
def as_classifier_input(images: torch.Tensor, value_range: Range | None = None) -> torch.Tensor:
    """Digits (N, 1, 28, 28) for the classifier, N >= 1: uint8 [0, 255] -> float [-1, 1]; float must be in [-1, 1].

    The stick measures 28x28 digits exactly (no resizing). Float digits are taken as [-1, 1] (G's
    tanh) unless `value_range` says otherwise, e.g. value_range=(0, 1) for sigmoid outputs; the range
    is never guessed from the values. Raises ValueError for other shapes and dtypes, NaN, an empty
    batch, or floats outside their range (never clipped).
    """
    return _digits(images, "images", value_range)


def _digits(images, name: str, value_range: Range | None) -> torch.Tensor:
    """as_classifier_input for the argument called `name` (so its errors name it)."""
    check_images(images, name, channels=1, size=28)
    return to_signed_unit(images, name, value_range=value_range)


@torch.no_grad()
def features_and_probs(model: MNISTClassifier, images: torch.Tensor, batch: int = 1000,
                       value_range: Range | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """images (N, 1, 28, 28) uint8, or float in [-1, 1] (or in `value_range`) -> (features (N, 128) float64, probs (N, 10))."""
    _check_classifier(model, "model")
    batch = check_count(batch, "batch")
    x = as_classifier_input(images, value_range)
    device = next(model.parameters()).device
    feats, probs = [], []
    for chunk in x.split(batch):
        f = model.features(chunk.to(device))
        feats.append(f.double().cpu())
        probs.append(F.softmax(model.head(f), dim=1).cpu())
    return torch.cat(feats), torch.cat(probs)


def accuracy(model: MNISTClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of correctly classified images; images (N, 1, 28, 28) uint8 or float in [-1, 1], labels (N,)."""
    x = as_classifier_input(images)
    labels = check_labels(labels, "labels", n=len(x), classes=10)
    _, probs = features_and_probs(model, x, value_range=(-1, 1))
    return (probs.argmax(1) == labels.cpu()).double().mean().item()


def class_coverage(probs: torch.Tensor, present_share: float = 0.01, confident_prob: float = 0.9) -> dict:
    """From class probabilities (N, 10): how generated digits spread over the classes.

    classes: number of classes predicted for at least `present_share` of samples (10 is best);
    kl_uniform: KL(predicted-class histogram || uniform), 0 when every class is equally common;
    confident: share of samples whose top probability is >= `confident_prob`.
    """
    check_tensor(probs, "probs", dims=2, floating=True)
    if probs.min().item() < 0 or probs.max().item() > 1:
        raise ValueError(f"probs must be probabilities in [0, 1] (a softmax, as features_and_probs gives), "
                         f"got values in [{probs.min().item():.3g}, {probs.max().item():.3g}]")
    present_share = check_number(present_share, "present_share", low=0, high=1)
    confident_prob = check_number(confident_prob, "confident_prob", low=0, high=1)
    counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).double()
    share = counts / counts.sum()
    nonzero = share[share > 0]
    kl = float((nonzero * (nonzero * len(share)).log()).sum())
    return {"classes": int((share >= present_share).sum()), "kl_uniform": kl,
            "confident": float((probs.max(1).values >= confident_prob).double().mean())}


class DigitQuality:
    """Score generated digits against real digits: FD, class coverage, confidence. A pure measure:

        classifier = ck.pretrained.mnist_classifier(device)              # the shipped stick
        quality = DigitQuality(classifier, test.subset(2000).images)     # embeds the real digits once
        quality(G)                  # -> {"fd": ..., "classes": ..., "kl_uniform": ..., "confident": ...}
        quality.score_images(x)     # the same for images (N, 1, 28, 28): uint8, or float in [-1, 1]
        quality.score_images(x, value_range=(0, 1))   # float digits in [0, 1] (say so: never guessed)
        quality.floor(other_real)   # FD between two sets of real digits: the best reachable

    real_images: (N, 1, 28, 28) uint8 or float in [-1, 1] (or in `value_range`), N >= 2. The stick
    measures 28x28 digits only. `quality(G)` draws as many samples as there are real images, from
    a fixed seed, so two generators are compared on the same noise.
    """

    def __init__(self, classifier: MNISTClassifier, real_images: torch.Tensor, seed: int = 0,
                 value_range: Range | None = None):
        _check_classifier(classifier, "classifier")
        x = _digits(real_images, "real_images", value_range)
        if len(x) < 2:
            raise ValueError(f"real_images: need at least 2 real images to compare against, got {len(x)}")
        self.classifier, self.n, self.seed = classifier.eval(), len(x), check_seed(seed)
        self.real_feats, _ = features_and_probs(self.classifier, x, value_range=(-1, 1))

    def score_images(self, images: torch.Tensor, value_range: Range | None = None) -> dict:
        """images (N, 1, 28, 28), N >= 2: uint8, or float in [-1, 1] (or in `value_range`) -> the quality dict."""
        x = _digits(images, "images", value_range)
        if len(x) < 2:
            raise ValueError(f"images: need at least 2 images for a Fréchet distance, got {len(x)}")
        feats, probs = features_and_probs(self.classifier, x, value_range=(-1, 1))
        return {"fd": frechet_distance(self.real_feats, feats), **class_coverage(probs)}

    @torch.no_grad()
    def __call__(self, G: nn.Module, value_range: Range = (-1, 1)) -> dict:
        """Sample as many digits as there are real ones from G (eval mode, fixed seed) and score them.

        value_range: the range of G's output, (-1, 1) for the course's tanh generators: a collapsed G
        drawing very bright digits is scored (badly), not refused."""
        z_dim = _check_generator(G)
        z = torch.randn(self.n, z_dim, generator=torch.Generator().manual_seed(self.seed))
        return self.score_images(sample(G, z.to(next(G.parameters()).device)), value_range=value_range)

    def floor(self, other_real_images: torch.Tensor, value_range: Range | None = None) -> float:
        """FD between the reference digits and other real digits (e.g. training digits): the best reachable."""
        x = _digits(other_real_images, "other_real_images", value_range)
        if len(x) < 2:
            raise ValueError(f"other_real_images: need at least 2 images for a Fréchet distance, got {len(x)}")
        return frechet_distance(self.real_feats, features_and_probs(self.classifier, x, value_range=(-1, 1))[0])


def _check_classifier(model, name: str) -> None:
    if not isinstance(model, MNISTClassifier):
        raise TypeError(f"{name} must be an MNISTClassifier (ck.pretrained.mnist_classifier()), got {type(model).__name__}")


def _check_generator(G) -> int:
    """G's z_dim, after checking that G is a generator module (an nn.Module with z_dim and parameters)."""
    if not isinstance(G, nn.Module) or not isinstance(getattr(G, "z_dim", None), int):
        raise TypeError(f"G must be a generator: an nn.Module with a z_dim attribute (e.g. ck.nets.MLPGenerator), "
                        f"got {type(G).__name__}")
    return G.z_dim
