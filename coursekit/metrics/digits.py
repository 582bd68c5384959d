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

from ..nets import MNISTClassifier, sample
from .frechet import frechet_distance

# ---------------------------------------------------------------- the measures
def as_classifier_input(images: torch.Tensor) -> torch.Tensor:
    """Check the range of digits for the classifier: uint8 [0, 255] -> float [-1, 1]; float must be in [-1, 1].

    Raises ValueError for other dtypes, non-finite values, or floats that look like [0, 1] or [0, 255].
    """
    if images.dtype == torch.uint8:
        return images.float().div(127.5).sub(1)
    if not images.is_floating_point():
        raise ValueError(f"digits must be uint8 in [0, 255] or float in [-1, 1], got dtype {images.dtype}")
    if len(images) == 0:
        raise ValueError("no images to score (got an empty batch)")
    low, high = images.min().item(), images.max().item()
    if not torch.isfinite(images).all():
        raise ValueError("digits contain NaN or infinite values: the generator has diverged?")
    if low < -1.01 or high > 1.01:
        raise ValueError(f"float digits must be in [-1, 1] (as G's tanh gives), got values in [{low:.3g}, {high:.3g}]: "
                         "for 0-255 pixels pass uint8 (x.round().to(torch.uint8)) or x / 127.5 - 1")
    if low >= 0:
        raise ValueError(f"float digits must be in [-1, 1] (background -1), got values in [{low:.3g}, {high:.3g}], "
                         "which looks like [0, 1]: pass x * 2 - 1")
    return images.float()


@torch.no_grad()
def features_and_probs(model: MNISTClassifier, images: torch.Tensor, batch: int = 1000):
    """images (N, 1, 28, 28) float in [-1, 1] or uint8 -> (features (N, 128) float64, probs (N, 10))."""
    device = next(model.parameters()).device
    feats, probs = [], []
    for i in range(0, len(images), batch):
        x = as_classifier_input(images[i: i + batch]).to(device)
        f = model.features(x)
        feats.append(f.double().cpu())
        probs.append(F.softmax(model.head(f), dim=1).cpu())
    return torch.cat(feats), torch.cat(probs)


def accuracy(model: MNISTClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of correctly classified images; images (N, 1, 28, 28) uint8 or float in [-1, 1], labels (N,)."""
    _, probs = features_and_probs(model, images)
    return (probs.argmax(1) == labels.cpu()).double().mean().item()


def class_coverage(probs: torch.Tensor, present_share: float = 0.01, confident_prob: float = 0.9) -> dict:
    """From class probabilities (N, 10): how generated digits spread over the classes.

    classes: number of classes predicted for at least `present_share` of samples (10 is best);
    kl_uniform: KL(predicted-class histogram || uniform), 0 when every class is equally common;
    confident: share of samples whose top probability is >= `confident_prob`.
    """
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
        quality.floor(other_real)   # FD between two sets of real digits: the best reachable

    real_images: (N, 1, 28, 28) uint8 or float in [-1, 1]. `quality(G)` draws as many samples as
    there are real images, from a fixed seed, so two generators are compared on the same noise.
    """

    def __init__(self, classifier: MNISTClassifier, real_images: torch.Tensor, seed: int = 0):
        if not isinstance(classifier, MNISTClassifier):
            raise TypeError(f"classifier must be an MNISTClassifier (ck.pretrained.mnist_classifier()), "
                            f"got {type(classifier).__name__}")
        if len(real_images) < 2:
            raise ValueError(f"need at least 2 real images to compare against, got {len(real_images)}")
        self.classifier, self.n, self.seed = classifier.eval(), len(real_images), seed
        self.real_feats, _ = features_and_probs(self.classifier, real_images)

    def score_images(self, images: torch.Tensor) -> dict:
        """images (N, 1, 28, 28) uint8 or float in [-1, 1] -> the quality dict."""
        feats, probs = features_and_probs(self.classifier, images)
        return {"fd": frechet_distance(self.real_feats, feats), **class_coverage(probs)}

    @torch.no_grad()
    def __call__(self, G: torch.nn.Module) -> dict:
        """Sample as many digits as there are real ones from G (eval mode, fixed seed) and score them."""
        z = torch.randn(self.n, G.z_dim, generator=torch.Generator().manual_seed(self.seed))
        return self.score_images(sample(G, z.to(next(G.parameters()).device)))

    def floor(self, other_real_images: torch.Tensor) -> float:
        """FD between the reference digits and other real digits (e.g. training digits): the best reachable."""
        return frechet_distance(self.real_feats, features_and_probs(self.classifier, other_real_images)[0])
