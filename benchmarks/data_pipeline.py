"""Images per second serving shuffled MNIST batches of 128 as float tensors in [-1, 1].

(a) the tutorial way: torchvision MNIST + DataLoader, per-image ToTensor/Normalize;
(b) coursekit: the whole set as one uint8 tensor on the device, indexed and scaled per batch.
Both in one process, same batch size, same number of batches. Ends with a RESULT line.

    python benchmarks/data_pipeline.py [--batches 400] [--device cpu]
"""
from __future__ import annotations

import argparse
import time

import torch

import coursekit as ck
from tutorial import mnist_loader


def images_per_second(batches, n_batches: int, batch_size: int, device: torch.device) -> float:
    """Pull n_batches from an iterator (restarting it when exhausted) and time it."""
    it, seen = iter(batches), 0
    for _ in range(5):  # warm-up
        next(it)
    start = time.perf_counter()
    while seen < n_batches:
        try:
            x = next(it)
        except StopIteration:
            it = iter(batches)
            continue
        x = x[0] if isinstance(x, (tuple, list)) else x
        x = x.to(device, non_blocking=True)
        seen += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n_batches * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else ck.runtime.pick_device()
    print(ck.runtime.machine_summary(device))

    tutorial = mnist_loader(args.batch_size)
    coursekit = ck.data.load_mnist(train=True).batches(args.batch_size, device)

    # sanity: both give the same value range and shape
    a, b = next(iter(tutorial))[0], coursekit.next_batch()
    assert a.shape == b.shape and a.min() >= -1 and a.max() <= 1 and b.min() >= -1 and b.max() <= 1

    tutorial_rate = images_per_second(tutorial, args.batches, args.batch_size, device)
    coursekit_rate = images_per_second(coursekit, args.batches, args.batch_size, device)
    print(f"tutorial DataLoader + ToTensor/Normalize: {tutorial_rate:12,.0f} img/s")
    print(f"coursekit DeviceBatches ({device.type}):     {coursekit_rate:12,.0f} img/s")
    print(f"RESULT tutorial_img_s={tutorial_rate:.0f} coursekit_img_s={coursekit_rate:.0f} "
          f"speedup={coursekit_rate / tutorial_rate:.1f}")


if __name__ == "__main__":
    main()
