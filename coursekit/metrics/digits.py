"""Measuring generated digits instead of eyeballing them.

The course trains its own small MNIST classifier (`mnist_classifier`, cached after the first
run) and uses it three ways:

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
from tqdm.auto import tqdm

from .. import runtime
from ..data import load_mnist
from ..nets import MNISTClassifier, sample
from .frechet import frechet_distance

CLASSIFIER_FILE = "mnist_classifier_v1.pt"


# ---------------------------------------------------------------- the measuring stick
def train_mnist_classifier(device: torch.device | str = "cpu", epochs: int = 3, seed: int = 0) -> MNISTClassifier:
    """Train the small CNN on the 60,000 MNIST training digits (Adam 1e-3, batch 128)."""
    device = torch.device(device)
    torch.manual_seed(seed)
    model = MNISTClassifier().to(device)
    batches = load_mnist(train=True).batches(128, device, seed=seed, with_labels=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    amp = runtime.amp_dtype(device)
    for _ in tqdm(range(epochs), desc="training the MNIST classifier (once)", unit="epoch"):
        for x, y in batches:
            with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
                loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model.eval()


def accuracy(model: MNISTClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of correctly classified images; images (N, 1, 28, 28) uint8."""
    _, probs = features_and_probs(model, images)
    return (probs.argmax(1) == labels).double().mean().item()


def mnist_classifier(device: torch.device | str = "cpu", verbose: bool = True) -> MNISTClassifier:
    """The course's MNIST classifier: loaded from the cache, or trained once (about a minute on CPU)."""
    path = runtime.cache_dir("models") / CLASSIFIER_FILE
    model = MNISTClassifier()
    if path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(saved["state_dict"])
        acc, source = saved["test_accuracy"], f"loaded from {path}"
    else:
        trained = train_mnist_classifier(device)
        model.load_state_dict({k: v.cpu() for k, v in trained.state_dict().items()})
        test = load_mnist(train=False)
        acc, source = accuracy(model, test.images, test.labels), "trained now"
        tmp = path.with_suffix(".tmp")
        torch.save({"state_dict": model.state_dict(), "test_accuracy": acc}, tmp)
        tmp.replace(path)
    if verbose:
        print(f"MNIST classifier ({source}): {acc:.2%} accuracy on the 10,000 held-out test digits")
    return model.to(device).eval()


# ---------------------------------------------------------------- the measures
@torch.no_grad()
def features_and_probs(model: MNISTClassifier, images: torch.Tensor, batch: int = 1000):
    """images (N, 1, 28, 28) float in [-1, 1] or uint8 -> (features (N, 128) float64, probs (N, 10))."""
    device = next(model.parameters()).device
    feats, probs = [], []
    for i in range(0, len(images), batch):
        x = images[i: i + batch].to(device)
        x = x.float().div(127.5).sub(1) if x.dtype == torch.uint8 else x.float()
        f = model.features(x)
        feats.append(f.double().cpu())
        probs.append(F.softmax(model.head(f), dim=1).cpu())
    return torch.cat(feats), torch.cat(probs)


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
    """Score generated digits against real held-out digits: FD, class coverage, confidence.

        quality = DigitQuality(device)     # trains or loads the classifier, embeds real digits once
        quality(G)                         # -> {"fd": ..., "classes": ..., "kl_uniform": ..., "confident": ...}
        quality.floor()                    # FD between two disjoint sets of real digits
    """

    def __init__(self, device: torch.device | str = "cpu", n: int = 2000, seed: int = 0):
        self.device, self.n, self.seed = torch.device(device), n, seed
        self.classifier = mnist_classifier(self.device)
        self.real_feats, _ = features_and_probs(self.classifier, load_mnist(train=False).subset(n, seed).images)

    def score_images(self, images: torch.Tensor) -> dict:
        """images (N, 1, 28, 28) in [-1, 1] (or uint8) -> the quality dict."""
        feats, probs = features_and_probs(self.classifier, images)
        return {"fd": frechet_distance(self.real_feats, feats), **class_coverage(probs)}

    @torch.no_grad()
    def __call__(self, G: torch.nn.Module) -> dict:
        """Sample n digits from G (eval mode, fixed seed) and score them."""
        z = torch.randn(self.n, G.z_dim, generator=torch.Generator().manual_seed(self.seed))
        return self.score_images(sample(G, z.to(next(G.parameters()).device)))

    def floor(self) -> float:
        """FD between the held-out digits and as many real training digits: the best reachable."""
        other = load_mnist(train=True).subset(self.n, self.seed).images
        return frechet_distance(self.real_feats, features_and_probs(self.classifier, other)[0])
