"""`ImageSet`, the one container every loader returns, and the cache of decoded tensors.

Decoding thousands of JPEGs or IDX files takes seconds; it happens once. The result is saved
under `runtime.cache_dir("tensors")`, keyed by a fingerprint of the source files, and loaded
from there next time.
"""
from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .. import runtime
from ..batches import DeviceBatches
from ..checks import check_count, check_device, check_images, check_labels, check_seed
from ..storage import atomic_save


@dataclass
class ImageSet:
    """A small image data set held as one tensor.

    images: (N, C, H, W) uint8 in [0, 255];  labels: (N,) int64;  classes: label -> name.
    skipped: files that could not be read (folders only), with the reason.
    """
    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    name: str
    skipped: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_images(self.images, "images", channels=(1, 3), dtype=torch.uint8)
        if not isinstance(self.classes, (list, tuple)) or not all(isinstance(c, str) for c in self.classes):
            raise TypeError(f"classes must be a list of class names (str), got {self.classes!r}")
        check_labels(self.labels, "labels", n=len(self.images), classes=len(self.classes))
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {type(self.name).__name__}")

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        n, c, h, w = self.images.shape
        return f"ImageSet({self.name!r}: {n} images, {c}x{h}x{w} uint8, {len(self.classes)} classes)"

    def subset(self, n: int, seed: int = 0) -> ImageSet:
        """A random subset of `n` images (all of them if n >= len), same order every time."""
        n, seed = check_count(n, "n"), check_seed(seed)  # n: how many images to keep
        if n >= len(self):
            return self
        idx = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n]
        return ImageSet(self.images[idx], self.labels[idx], self.classes, f"{self.name} ({n})")

    def batches(self, batch_size: int = 128, device: str | torch.device = "cpu", *,
                shuffle: bool = True, seed: int = 0, with_labels: bool = False) -> DeviceBatches:
        """A device-resident batch iterator over this set (see `DeviceBatches`)."""
        batch_size, seed, device = check_count(batch_size, "batch_size"), check_seed(seed), check_device(device)
        labels = self.labels if with_labels else None
        return DeviceBatches(self.images, labels, batch_size, device, shuffle=shuffle, seed=seed)


def fingerprint(*paths: Path) -> str:
    """A short hash of file names, sizes and modification times: changes when the source does."""
    h = hashlib.sha1()
    for p in paths:
        st = p.stat()
        h.update(f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:10]


def cached(key: str, build: Callable[[], ImageSet]) -> ImageSet:
    """Load the ImageSet cached under `key`, or build it with `build()` and cache it."""
    if not isinstance(key, str) or not key or "/" in key or key.startswith("."):
        raise ValueError(f"key must be a file name (a non-empty str without '/'), got {key!r}")
    if not callable(build):
        raise TypeError(f"build must be a function returning an ImageSet, got {type(build).__name__}")
    path = runtime.cache_dir("tensors") / f"{key}.pt"
    if path.exists():
        try:
            d = torch.load(path, weights_only=True)
            return ImageSet(d["images"], d["labels"], d["classes"], d["name"], d["skipped"])
        except Exception as err:  # a half-written or stale cache file: rebuild it
            warnings.warn(f"ignoring unreadable cache file {path} ({err}); decoding again")
    s = build()
    atomic_save({"images": s.images, "labels": s.labels, "classes": s.classes,
                 "name": s.name, "skipped": s.skipped}, path)  # an interrupted save leaves no broken file
    return s
