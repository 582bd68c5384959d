"""Training speed of the lesson-2 DCGAN on Flowers-102, three ways in one process.

(a) tutorial: the PyTorch DCGAN tutorial as published: a torchvision data set (Flowers102, the
    "train" photos) + DataLoader (batch 128, shuffled, 2 workers) with per-image
    Resize/CenterCrop/ToTensor/Normalize, fp32, `.item()` logging every step;
(b) coursekit: `train_gan` on the same photos decoded once into one device-resident uint8 tensor
    (precision "auto": bf16 autocast where the processor runs it natively, fp32 otherwise;
    `--precision fp32` stands in for an AVX2 machine);
(c) bound: the same G/D steps on batches already in memory, in the best precision the machine has (bf16
    autocast where native; fp32 on an AVX2-only CPU) with fused Adam: no data pipeline, no logging.

Same models (DCGANGenerator / DCGANDiscriminator, 64 px, width 64 as in the tutorial), same
batch size. Runs are interleaved and repeated; the median of each is reported. Ends with:
speedup = coursekit / tutorial, of_bound = coursekit / bound.

    python benchmarks/dcgan_loop.py [--steps 10] [--repeats 3] [--precision auto] [--size 64] [--width 64] [--threads N]

On a machine shared with other jobs, two OpenMP threads spin-wait on each other and the bf16
kernels suffer most; `--threads 1` (or OMP_NUM_THREADS=1) gives steadier ratios there.
"""
from __future__ import annotations

import argparse
import time

import torch
import torchvision
from torch.utils.data import DataLoader
from torchvision import transforms

import coursekit as ck
from tutorial import as_bound, interleaved_rates, plain_step, run_bound, run_coursekit

Z_DIM = 100


def flowers_loader(size: int, batch: int, workers: int) -> DataLoader:
    """The tutorial's data pipeline: decode, Resize, CenterCrop, ToTensor, Normalize per image, in workers."""
    dataset = torchvision.datasets.Flowers102(
        ck.runtime.data_root(), split="train", download=False,
        transform=transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size), transforms.ToTensor(),
                                      transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]))
    return DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers, drop_last=True)


def make_models(args, device):
    torch.manual_seed(0)
    G = ck.nets.DCGANGenerator(Z_DIM, size=args.size, width=args.width).to(device)
    D = ck.nets.DCGANDiscriminator(size=args.size, width=args.width).to(device)
    opts = (torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)),
            torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)))
    return G, D, *opts


def run_tutorial(loader, models, steps, device) -> float:
    G, D, opt_g, opt_d = models
    it, start, images, done = iter(loader), time.perf_counter(), 0, 0
    while done < steps:
        try:
            real, _ = next(it)
        except StopIteration:  # a new epoch: the DataLoader starts its workers again
            it = iter(loader)
            continue
        real = real.to(device)
        loss_d, loss_g, out = plain_step(G, D, opt_g, opt_d, real, torch.randn(len(real), Z_DIM, device=device))
        _ = (loss_d.item(), loss_g.item(), torch.sigmoid(out).mean().item())  # logged every step
        images += len(real)
        done += 1
    return images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--width", type=int, default=64, help="G's and D's base channels (ngf = ndf)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers of the tutorial way")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = ck.runtime.pick_device()
    print(f"{ck.runtime.machine_summary(device)} | {torch.get_num_threads()} threads")
    amp = ck.train.resolve_precision(device, args.precision)
    print(f"coursekit precision: {args.precision} -> {amp or 'fp32'}; DCGAN {args.size} px, width {args.width}, "
          f"batch {args.batch}, {args.steps} steps x {args.repeats} repeats")

    loader = flowers_loader(args.size, args.batch, args.workers)
    batches = ck.data.load_flowers102("train", args.size).batches(args.batch, device)
    premade = ([batches.next_batch() for _ in range(5)], [torch.randn(args.batch, Z_DIM, device=device) for _ in range(5)])
    models = {name: make_models(args, device) for name in ("tutorial", "coursekit", "bound")}
    models["bound"] = as_bound(models["bound"])   # fused Adam: the fastest form of the same update

    # warm-up, then interleaved timed repeats
    rates = interleaved_rates({"tutorial": lambda n: run_tutorial(loader, models["tutorial"], n, device),
                               "coursekit": lambda n: run_coursekit(batches, models["coursekit"], n, args.precision),
                               "bound": lambda n: run_bound(premade, models["bound"], n, device)},
                              args.steps, args.repeats, warmup=2, decimals=1)
    tut, cks, bound = rates["tutorial"], rates["coursekit"], rates["bound"]
    print(f"RESULT tutorial_img_s={tut:.1f} coursekit_img_s={cks:.1f} bound_img_s={bound:.1f} "
          f"speedup={cks / tut:.2f} of_bound={cks / bound:.2f}")


if __name__ == "__main__":
    main()
