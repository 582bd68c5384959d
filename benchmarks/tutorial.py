"""The plain "tutorial way" pieces the benchmarks compare coursekit against, and the timing helpers they share."""
from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F
import torchvision
from torch.utils.data import DataLoader
from torchvision import transforms

import coursekit as ck


def mnist_loader(batch_size: int = 128) -> DataLoader:
    """torchvision MNIST + DataLoader with per-image ToTensor/Normalize to [-1, 1], shuffled."""
    dataset = torchvision.datasets.MNIST(ck.data.stage_mnist_for_torchvision(), train=True, download=False,
                                         transform=transforms.Compose([transforms.ToTensor(),
                                                                       transforms.Normalize((0.5,), (0.5,))]))
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True)


def plain_step(G, D, opt_g, opt_d, real, z):
    """One fp32 D step and G step, as the PyTorch DCGAN tutorial writes them."""
    ones = torch.ones(len(real), device=real.device)
    fake = G(z)
    loss_d = (F.binary_cross_entropy_with_logits(D(real), 0.9 * ones)
              + F.binary_cross_entropy_with_logits(D(fake.detach()), 0 * ones))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    out = D(fake)
    loss_g = F.binary_cross_entropy_with_logits(out, ones)
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return loss_d, loss_g, out


def run_coursekit(batches, models, steps, precision) -> float:
    """img/s of `train_gan` on device-resident batches (models: G, D, ...)."""
    G, D = models[:2]
    start = time.perf_counter()
    ck.train.train_gan(G, D, batches, steps=steps, precision=precision, log_every=50, progress=False)
    return steps * batches.batch_size / (time.perf_counter() - start)


def as_bound(models: tuple) -> tuple:
    """The bound's contestant: the same G and D, with fused Adam (the fastest implementation of the same update)."""
    G, D = models[:2]
    return G, D, ck.engine.adam(G.parameters(), 2e-4, (0.5, 0.999)), ck.engine.adam(D.parameters(), 2e-4, (0.5, 0.999))


def run_bound(premade, models, steps, device) -> float:
    """img/s of the same D and G steps on pre-made tensors in the best precision the machine has (autocast to
    `runtime.amp_dtype`: bf16 where the CPU or GPU runs it natively, fp16 on a GPU without bf16, else fp32):
    no data pipeline, no logging. The compute bound, whatever precision the contestants run in."""
    reals, zs = premade
    amp = ck.runtime.amp_dtype(device)
    start = time.perf_counter()
    with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
        for i in range(steps):
            plain_step(*models, reals[i % len(reals)], zs[i % len(zs)])
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * len(reals[0]) / (time.perf_counter() - start)


def interleaved_rates(runs: dict, steps: int, repeats: int, warmup: int, decimals: int = 0) -> dict[str, float]:
    """Time each `runs[name](steps) -> img/s` in turn, `repeats` times, after a warm-up of `warmup` steps.

    Interleaving gives every contestant the same machine conditions (this machine is noisy);
    returns the median rate of each.
    """
    for run in runs.values():  # kernel selection, allocator
        run(warmup)
    rates = {name: [] for name in runs}
    for r in range(repeats):
        for name, run in runs.items():
            rates[name].append(run(steps))
        print(f"repeat {r + 1}: " + "  ".join(f"{k} {v[-1]:,.{decimals}f} img/s" for k, v in rates.items()), flush=True)
    return {name: statistics.median(v) for name, v in rates.items()}
