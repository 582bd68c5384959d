"""Trained helper models that ship with the package: the course's measuring sticks.

FID is useful because everyone measures with the same Inception network. Our sticks work the
same way: their weights are committed in `coursekit/weights/` with a SHA-256, so every student,
on every machine, gets the same numbers for the same images, and nobody waits for a training.

    classifier = ck.pretrained.mnist_classifier(device)   # prints "... loaded (shipped, SHA-256 ok) ..."

If a shipped file is missing (an unusual install) or damaged (its hash differs), the model is
trained once with the same recipe, cached in `runtime.cache_dir("models")`, and the line says
"trained". The weights were made by this module's script, which prints seed, epochs, accuracy
and the hash to paste below:

    python -m coursekit.pretrained mnist_classifier
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import runtime, storage
from .checks import check_count, check_device, check_seed
from .data import load_flowers102, load_mnist
from .metrics.digits import accuracy
from .metrics.flowers import STICK_SIZE, as_stick_input
from .nets import FlowerNet, MNISTClassifier

WEIGHTS_DIR = runtime.PACKAGE_DIR / "weights"


@dataclass(frozen=True)
class Shipped:
    """A model whose trained weights ship with the package.

    make: builds the untrained model;  train(device) -> (state_dict, info) is the recipe that made
    the shipped file (info: seed, epochs, accuracy, ...);  sha256: the shipped file's hash.
    """
    name: str
    sha256: str
    make: Callable[[], nn.Module]
    train: Callable[[torch.device], tuple[dict, dict]]

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"name must be a file stem such as 'mnist_classifier', got {self.name!r}")
        if not isinstance(self.sha256, str) or len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise ValueError(f"sha256 must be 64 lowercase hex digits (storage.sha256(path)), got {self.sha256!r}")
        for field in ("make", "train"):
            if not callable(getattr(self, field)):
                raise TypeError(f"{field} must be callable, got {type(getattr(self, field)).__name__}")

    @property
    def path(self) -> Path:
        return WEIGHTS_DIR / f"{self.name}.pt"


def load_or_train(spec: Shipped, device: torch.device | str = "cpu", verbose: bool = True) -> nn.Module:
    """The model of `spec` with its shipped weights (hash-checked), else trained once and cached.

    Prints one line saying which happened. Returns the model in eval mode on `device`.
    """
    if not isinstance(spec, Shipped):
        raise TypeError(f"spec must be a pretrained.Shipped (e.g. pretrained.MNIST_CLASSIFIER), got {type(spec).__name__}")
    device = check_device(device)
    model, source = spec.make(), None
    if spec.path.exists():
        if storage.sha256(spec.path) == spec.sha256:
            saved, source = storage.load(spec.path, what="shipped weights"), "loaded (shipped, SHA-256 ok)"
        else:
            print(f"{spec.path} does not match its SHA-256 (damaged or changed): training {spec.name} instead")
    if source is None:
        cached = runtime.cache_dir("models") / f"{spec.name}.pt"
        try:
            saved, source = storage.load(cached, what="cached model"), f"loaded from the cache ({cached})"
        except storage.CheckpointError:
            state, info = spec.train(torch.device(device))
            saved, source = {"state_dict": state, "info": info}, "trained now (no shipped weights found)"
            storage.atomic_save(saved, cached)
    model.load_state_dict(saved["state_dict"])
    if verbose:
        info = ", ".join(f"{k} {v}" for k, v in saved["info"].items() if k != "machine")
        print(f"{spec.name}: {source}: {info}")
    return model.to(device).eval()


# ---------------------------------------------------------------- the training recipe both sticks share
def train_classifier(model: nn.Module, batches, epochs: int, opt: torch.optim.Optimizer, *, schedule=None,
                     augment=None, desc: str = "training") -> nn.Module:
    """Cross-entropy training, `epochs` passes over `batches` (yielding (images, labels) on the model's
    device), in the device's mixed precision. schedule: an lr scheduler stepped every batch;
    augment(images) -> images. Returns the model in eval mode on the CPU."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(opt, torch.optim.Optimizer):
        raise TypeError(f"opt must be a torch.optim.Optimizer, got {type(opt).__name__}")
    epochs = check_count(epochs, "epochs")
    if schedule is not None and not callable(getattr(schedule, "step", None)):
        raise TypeError(f"schedule must be an lr scheduler (with .step()) or None, got {type(schedule).__name__}")
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be a function images -> images, or None, got {type(augment).__name__}")
    device = next(model.parameters()).device
    amp = runtime.amp_dtype(device)
    for _ in tqdm(range(epochs), desc=desc, unit="epoch"):
        for x, y in batches:
            x = augment(x) if augment is not None else x
            with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
                loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if schedule is not None:
                schedule.step()
    return model.eval().cpu()


# ---------------------------------------------------------------- the MNIST classifier
def train_mnist_classifier(device: torch.device, epochs: int = 3, seed: int = 0) -> tuple[dict, dict]:
    """The recipe of the shipped MNIST classifier: Adam 1e-3, batch 128, `epochs` over the 60,000 training digits.

    Returns (state_dict on the CPU, info with the accuracy on the 10,000 held-out test digits).
    """
    device, epochs, seed = check_device(device), check_count(epochs, "epochs"), check_seed(seed)
    start = time.perf_counter()
    torch.manual_seed(seed)
    model = MNISTClassifier().to(device)
    batches = load_mnist(train=True).batches(128, device, seed=seed, with_labels=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model = train_classifier(model, batches, epochs, opt, desc="training the MNIST classifier")
    test = load_mnist(train=False)
    info = {"test_accuracy": round(accuracy(model, test.images, test.labels), 4), "epochs": epochs, "seed": seed,
            "seconds": round(time.perf_counter() - start), "machine": runtime.machine_summary(device)}
    return model.state_dict(), info


MNIST_CLASSIFIER = Shipped(
    name="mnist_classifier",
    sha256="f6cc2ad02cb8a0f12de33b8689056cf3c73d02d4f38dc630e557a5b4bc4783cf",  # 98.69% on the 10,000 test digits
    make=MNISTClassifier,
    train=train_mnist_classifier,
)


def mnist_classifier(device: torch.device | str = "cpu", verbose: bool = True) -> MNISTClassifier:
    """The course's MNIST classifier (the digit measuring stick), shipped with the package."""
    return load_or_train(MNIST_CLASSIFIER, device, verbose)


# ---------------------------------------------------------------- the Flowers-102 network (lesson 2)
def _augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flips and random 32x32 crops of the 4-px reflect-padded batch (B, 3, 32, 32)."""
    flip = torch.rand(len(x), generator=generator, device=x.device) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    padded = F.pad(x, (4, 4, 4, 4), mode="reflect")
    i, j = torch.randint(0, 9, (2,), generator=generator, device=x.device).tolist()
    return padded[:, :, i:i + STICK_SIZE, j:j + STICK_SIZE]


def train_flower_net(device: torch.device, epochs: int = 40, seed: int = 0) -> tuple[dict, dict]:
    """The recipe of the shipped FlowerNet: Adam 2e-3 with cosine decay, batch 64, `epochs` over the 1,020
    Flowers-102 "train" photos at 32 px (flips and crops as augmentation).

    Returns (state_dict on the CPU, info with the accuracy on the 1,020 held-out "val" photos).
    """
    device, epochs, seed = check_device(device), check_count(epochs, "epochs"), check_seed(seed)
    start = time.perf_counter()
    torch.manual_seed(seed)
    model = FlowerNet().to(device)
    batches = load_flowers102("train", STICK_SIZE).batches(64, device, seed=seed, with_labels=True)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=epochs * len(batches))
    noise = torch.Generator(device=device).manual_seed(seed)
    model = train_classifier(model, batches, epochs, opt, schedule=sched, augment=lambda x: _augment(x, noise),
                             desc="training the flower network")
    val = load_flowers102("val", STICK_SIZE)
    with torch.no_grad():
        correct = (model(as_stick_input(val.images)).argmax(1) == val.labels).double().mean().item()
    info = {"val_accuracy": round(correct, 4), "classes": 102, "epochs": epochs, "seed": seed,
            "seconds": round(time.perf_counter() - start), "machine": runtime.machine_summary(device)}
    return model.state_dict(), info


FLOWER_NET = Shipped(
    name="flower_net",
    sha256="0bde6209575e4f8dfbc6a0486551676a07a3104b514be879f03da8363237f0b7",  # `python -m coursekit.pretrained flower_net`
    make=FlowerNet,
    train=train_flower_net,
)


def flower_net(device: torch.device | str = "cpu", verbose: bool = True) -> FlowerNet:
    """The course's Flowers-102 CNN (the colour-image measuring stick, see `coursekit.metrics.flowers`)."""
    return load_or_train(FLOWER_NET, device, verbose)


SHIPPED = {spec.name: spec for spec in (MNIST_CLASSIFIER, FLOWER_NET)}


def main() -> None:
    parser = argparse.ArgumentParser(description="Train a shipped model with its recipe and write coursekit/weights/NAME.pt")
    parser.add_argument("name", choices=sorted(SHIPPED))
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    spec = SHIPPED[args.name]
    device = torch.device(args.device) if args.device else runtime.pick_device()
    state, info = spec.train(device)
    WEIGHTS_DIR.mkdir(exist_ok=True)
    storage.atomic_save({"state_dict": state, "info": info}, spec.path)
    print(f"{spec.name}: {info}")
    print(f"wrote {spec.path} ({spec.path.stat().st_size:,} bytes), sha256={storage.sha256(spec.path)}")


if __name__ == "__main__":
    main()
