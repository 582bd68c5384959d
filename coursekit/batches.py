"""A batch iterator for data sets that fit in device memory.

The tutorial way (a DataLoader calling PIL ToTensor/Normalize per image) spends most of a small
model's training time preparing data. Here the whole set is one uint8 tensor copied to the
device once; a batch is one index operation and one scale to [-1, 1], done on the device.
"""
from __future__ import annotations

import hashlib

import torch

from .checks import check_count, check_images, check_seed, check_tensor


class DeviceBatches:
    """Shuffled minibatches from one device-resident uint8 tensor.

    images: (N, C, H, W) uint8.  labels: optional (N,) int64.
    Each batch is float (B, C, H, W) in [-1, 1] on `device`, or (images, labels) with labels.
    Shuffling is seeded and its state saved by `state_dict()`, so a resumed run sees exactly
    the batches an uninterrupted run would.

        batches = DeviceBatches(mnist.images, batch_size=128, device="cuda")
        for x in batches:           # one epoch
            ...
        x = batches.next_batch()    # or an endless stream across epochs
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None = None, batch_size: int = 128,
                 device: str | torch.device = "cpu", *, shuffle: bool = True, seed: int = 0,
                 dtype: torch.dtype = torch.float32):
        check_images(images, dtype=torch.uint8)
        if labels is not None:
            check_tensor(labels, "labels", dims=1)
            if labels.is_floating_point() or labels.shape != (len(images),):
                raise ValueError(f"labels must be whole class indices shaped ({len(images)},), one per image, "
                                 f"got {labels.dtype} {tuple(labels.shape)}")
        batch_size = check_count(batch_size, "batch_size")
        if batch_size > len(images):
            raise ValueError(f"batch_size must be in 1..{len(images)} (the data set size), got {batch_size}")
        self.device = torch.device(device)
        self.images = images.to(self.device)  # copied to the device once
        self.labels = None if labels is None else labels.to(self.device, torch.int64)
        self.batch_size, self.shuffle, self.dtype, self.seed = batch_size, shuffle, dtype, check_seed(seed)
        self.generator = torch.Generator(device=self.device).manual_seed(self.seed)
        self.epoch, self.position, self.order = 0, 0, None

    def __len__(self) -> int:
        """Batches per epoch (the last, incomplete batch is dropped)."""
        return len(self.images) // self.batch_size

    def __iter__(self):
        """The remaining batches of the current epoch (a whole epoch when called at its start)."""
        yield self.next_batch()
        while self.position + self.batch_size <= len(self.images):
            yield self.next_batch()

    def next_batch(self):
        """The next batch, starting a new (reshuffled) epoch when the current one is used up."""
        if self.order is None or self.position + self.batch_size > len(self.images):
            self._new_epoch()
        idx = self.order[self.position: self.position + self.batch_size]
        self.position += self.batch_size
        x = self.images[idx].to(self.dtype).div_(127.5).sub_(1)  # uint8 [0, 255] -> [-1, 1]
        return x if self.labels is None else (x, self.labels[idx])

    def _new_epoch(self) -> None:
        n = len(self.images)
        if self.order is not None:
            self.epoch += 1
        self.order = (torch.randperm(n, device=self.device, generator=self.generator) if self.shuffle
                      else torch.arange(n, device=self.device))
        self.position = 0

    def fingerprint(self) -> dict:
        """What identifies this data stream, for a checkpoint to tell it from another: the number and shape
        of the images, a SHA-256 of 64 images (and labels) spread over the set, the batch size, shuffling
        and its seed. Cheap: one copy of 64 images to the CPU."""
        picked = torch.linspace(0, len(self.images) - 1, min(64, len(self.images))).long().to(self.device)
        digest = hashlib.sha256(self.images[picked].cpu().numpy().tobytes())
        if self.labels is not None:
            digest.update(self.labels[picked].cpu().numpy().tobytes())
        return {"images": len(self.images), "image_shape": list(self.images.shape[1:]), "batch_size": self.batch_size,
                "sample_sha256": digest.hexdigest()[:16], "shuffle": self.shuffle, "shuffle_seed": self.seed}

    def state_dict(self) -> dict:
        """Where the iterator is: epoch, position, this epoch's order and the shuffling RNG."""
        return {"epoch": self.epoch, "position": self.position,
                "order": None if self.order is None else self.order.cpu(),
                "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.position = state["epoch"], state["position"]
        self.order = None if state["order"] is None else state["order"].to(self.device)
        self.generator.set_state(state["generator"].cpu())  # RNG states are CPU byte tensors, even for CUDA
