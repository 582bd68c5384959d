"""Training speed of the reference MLP GAN at batch 128 on MNIST, three ways in one process.

(a) tutorial: torchvision DataLoader with per-image ToTensor/Normalize, `.item()` every step, fp32;
(b) coursekit: `train_gan` on device-resident batches (precision "auto": bf16 autocast where the
    processor runs it natively, fp32 otherwise; `--precision fp32` to compare);
(c) bound: the same steps on pre-made tensors in the best precision the machine has (bf16 autocast where
    native; fp32 on an AVX2-only CPU) with fused Adam: no data pipeline, no logging.

Runs are interleaved and repeated; the median of each is reported. Ends with a RESULT line:
speedup = coursekit / tutorial, of_bound = coursekit / bound.

    python benchmarks/gan_loop.py [--steps 200] [--repeats 3] [--precision auto]
"""
from __future__ import annotations

import argparse
import time

import torch

import coursekit as ck
from tutorial import as_bound, interleaved_rates, mnist_loader, plain_step, run_bound, run_coursekit

BATCH = 128


def make_models(device):
    torch.manual_seed(0)
    G, D = ck.nets.MLPGenerator().to(device), ck.nets.MLPDiscriminator().to(device)
    opts = (torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)),
            torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)))
    return G, D, *opts


def run_tutorial(loader, models, steps, device) -> float:
    G, D, opt_g, opt_d = models
    it, start, done = iter(loader), time.perf_counter(), 0
    while done < steps:
        try:
            real, _ = next(it)
        except StopIteration:
            it = iter(loader)
            continue
        real = real.to(device)
        loss_d, loss_g, out = plain_step(G, D, opt_g, opt_d, real, torch.randn(BATCH, 100, device=device))
        _ = (loss_d.item(), loss_g.item(), torch.sigmoid(out).mean().item())  # logged every step
        done += 1
    return steps * BATCH / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args()
    device = ck.runtime.pick_device()
    print(ck.runtime.machine_summary(device))
    print(f"coursekit precision: {args.precision} -> {ck.train.resolve_precision(device, args.precision) or 'fp32'}")

    loader = mnist_loader(BATCH)
    batches = ck.data.load_mnist(train=True).batches(BATCH, device)
    premade = ([batches.next_batch() for _ in range(20)], [torch.randn(BATCH, 100, device=device) for _ in range(20)])
    models = {name: make_models(device) for name in ("tutorial", "coursekit", "bound")}
    models["bound"] = as_bound(models["bound"])   # fused Adam: the fastest form of the same update

    # warm-up, then interleaved timed repeats
    rates = interleaved_rates({"tutorial": lambda n: run_tutorial(loader, models["tutorial"], n, device),
                               "coursekit": lambda n: run_coursekit(batches, models["coursekit"], n, args.precision),
                               "bound": lambda n: run_bound(premade, models["bound"], n, device)},
                              args.steps, args.repeats, warmup=10)
    tut, cks, bound = rates["tutorial"], rates["coursekit"], rates["bound"]
    print(f"RESULT tutorial_img_s={tut:.0f} coursekit_img_s={cks:.0f} bound_img_s={bound:.0f} "
          f"speedup={cks / tut:.2f} of_bound={cks / bound:.2f}")


if __name__ == "__main__":
    main()
