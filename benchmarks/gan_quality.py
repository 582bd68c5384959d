"""Sample quality after the same wall-clock time: the tutorial loop vs coursekit's train_gan.

Both train the reference MLP GAN (same initial weights, batch 128, Adam 2e-4/0.5, label
smoothing 0.9) on all 60,000 MNIST digits for `--seconds` each, one after the other in one
process. Then both generators are scored with the course's MNIST classifier: Fréchet distance
on its features (FID-like, not comparable to Inception FID), classes covered, confident share.
The floor is the FD between two disjoint sets of real digits.

Does mixed precision cost quality? A second check trains `train_gan` for the same number of
steps (`--precision-steps`) in fp32 and in the automatic precision (bf16 on a CPU with native
bf16), for several seeds (`--precision-seeds`; one GAN run is too noisy to judge), and reports
the mean and spread of FD for each. Ends with a RESULT line.

    python benchmarks/gan_quality.py [--seconds 300] [--samples 5000] [--precision-steps 3000] [--precision-seeds 3]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

import coursekit as ck
from gan_loop import BATCH, make_models
from tutorial import mnist_loader, plain_step


def train_tutorial(seconds: float, device) -> tuple[torch.nn.Module, int]:
    """The tutorial loop: DataLoader + ToTensor/Normalize, fp32, `.item()` every step."""
    G, D, opt_g, opt_d = make_models(device)
    loader = mnist_loader(BATCH)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for real, _ in loader:
            loss_d, loss_g, out = plain_step(G, D, opt_g, opt_d, real.to(device), torch.randn(BATCH, 100, device=device))
            _ = (loss_d.item(), loss_g.item(), torch.sigmoid(out).mean().item())
            steps += 1
            if time.perf_counter() - start >= seconds:
                break
    return G, steps


def train_coursekit(seconds: float, device) -> tuple[torch.nn.Module, int]:
    G, D = make_models(device)[:2]
    history = ck.train.train_gan(G, D, ck.data.load_mnist().batches(BATCH, device), steps=10**9,
                                 max_seconds=seconds, log_every=50, progress=False)
    return G, history["step"][-1]


def train_steps(steps: int, precision: str, seed: int, device) -> torch.nn.Module:
    torch.manual_seed(seed)
    G, D = ck.nets.MLPGenerator().to(device), ck.nets.MLPDiscriminator().to(device)
    ck.train.train_gan(G, D, ck.data.load_mnist().batches(BATCH, device, seed=seed), steps=steps, precision=precision,
                       seed=seed, log_every=50, progress=False)
    return G


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--precision-steps", type=int, default=3000)
    parser.add_argument("--precision-seeds", type=int, default=3)
    args = parser.parse_args()
    device = ck.runtime.pick_device()
    print(ck.runtime.machine_summary(device))
    classifier = ck.pretrained.mnist_classifier(device)
    quality = ck.metrics.DigitQuality(classifier, ck.data.load_mnist(train=False).subset(args.samples).images)
    floor = quality.floor(ck.data.load_mnist(train=True).subset(args.samples).images)

    results = {}
    for name, train in (("tutorial", train_tutorial), ("coursekit", train_coursekit)):
        G, steps = train(args.seconds, device)
        results[name] = {"steps": steps, **quality(G)}
        r = results[name]
        print(f"{name:9s}: {steps:6d} steps in {args.seconds:.0f} s | FD {r['fd']:7.1f} | "
              f"classes {r['classes']}/10 | KL to uniform {r['kl_uniform']:.3f} | confident {r['confident']:.1%}")
    print(f"real vs real FD floor: {floor:.1f}")

    auto = ck.train.resolve_precision(device, "auto")
    fds = {p: [] for p in ("fp32", "auto")}
    for seed in range(args.precision_seeds):
        for p in fds:  # interleaved, so both precisions see the same machine conditions
            fds[p].append(quality(train_steps(args.precision_steps, p, seed, device))["fd"])
        print(f"seed {seed}, {args.precision_steps} steps: fp32 FD {fds['fp32'][-1]:.1f} | "
              f"auto ({auto or 'fp32'}) FD {fds['auto'][-1]:.1f}")
    mean = {p: statistics.mean(v) for p, v in fds.items()}
    spread = {p: statistics.stdev(v) if len(v) > 1 else 0.0 for p, v in fds.items()}
    t, c = results["tutorial"], results["coursekit"]
    print(f"RESULT seconds={args.seconds:.0f} tutorial_steps={t['steps']} coursekit_steps={c['steps']} "
          f"tutorial_fd={t['fd']:.1f} coursekit_fd={c['fd']:.1f} floor_fd={floor:.1f} "
          f"tutorial_classes={t['classes']} coursekit_classes={c['classes']} "
          f"tutorial_confident={t['confident']:.3f} coursekit_confident={c['confident']:.3f} "
          f"precision_steps={args.precision_steps} fp32_fd={mean['fp32']:.1f} fp32_fd_sd={spread['fp32']:.1f} "
          f"auto_fd={mean['auto']:.1f} auto_fd_sd={spread['auto']:.1f}")


if __name__ == "__main__":
    main()
