"""Many small GANs at once: toy-GAN trainings per minute, batched (coursekit.toy.train_many) vs one at a time.

The reference is the ordinary way, one `train_gan` run per seed (`coursekit.toy.train_one`), on
the same ring of 8 Gaussians with the same nets, batch size and number of steps. The batched
trainer stacks all runs' weights along a run axis and runs the networks once per step for all
of them (torch.vmap), so per-step overhead is paid once instead of once per run.

Both are timed in this process, interleaved (sequential run, batched call, repeat). Then the
batched runs are scored: modes of the ring covered (coursekit.metrics.mode_coverage), mean over
the seeds, for the plain GAN (no label smoothing) and for the fix (one-sided label smoothing,
real target 0.9).

    python benchmarks/toy_gans.py                    # 32 runs x 2000 steps, batch 64
    python benchmarks/toy_gans.py --runs 4 --steps 20 --sequential 1   # smoke test
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from coursekit import runtime, toy  # noqa: E402
from coursekit.metrics import coverage_of_runs  # noqa: E402
from coursekit.nets import ToyDiscriminator, ToyGenerator  # noqa: E402

PLAIN = {"real_label": 1.0}       # the textbook GAN: no label smoothing
FIXED = {"real_label": 0.9}       # one-sided label smoothing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=32, help="runs (seeds) trained at once by the batched trainer")
    parser.add_argument("--steps", type=int, default=2000, help="training steps of every run")
    parser.add_argument("--sequential", type=int, default=2, help="runs timed one at a time, per repeat")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of G and D")
    args = parser.parse_args()
    print(runtime.machine_summary("cpu"))
    print(f"torch threads: {torch.get_num_threads()} | {args.runs} runs x {args.steps} steps, batch {args.batch_size}, "
          f"lr {args.lr}, ring of 8")
    ring8 = toy.ring()
    common = dict(steps=args.steps, batch_size=args.batch_size, lr_g=args.lr, lr_d=args.lr)

    # interleaved: some runs one at a time, then a batched call (plain GAN, then the fix), and again
    seq_seconds, seq_runs, batch_seconds, batch_runs, trained = 0.0, 0, 0.0, 0, {}
    for repeat, (name, options) in enumerate((("baseline", PLAIN), ("fixed", FIXED))):
        start = time.perf_counter()
        for seed in range(args.sequential):
            toy.train_one(ring8, ToyGenerator, ToyDiscriminator, seed=seed, log_every=50, **common, **options)
        seq_seconds += time.perf_counter() - start
        seq_runs += args.sequential
        start = time.perf_counter()
        trained[name] = toy.train_many(ring8, ToyGenerator, ToyDiscriminator, range(args.runs), **common, **options)
        batch_seconds += time.perf_counter() - start
        batch_runs += args.runs
        print(f"repeat {repeat}: one at a time {seq_runs * 60 / seq_seconds:.1f} runs/min, "
              f"batched {batch_runs * 60 / batch_seconds:.1f} runs/min", flush=True)

    modes = {}
    for name, runs in trained.items():
        stats = coverage_of_runs(runs.samples(2500), ring8.centers, ring8.sigma)
        modes[name] = torch.tensor(stats["modes"], dtype=torch.float)
        print(f"{name:8s} (real_label {runs.settings['real_label'][0]:g}): modes per seed {stats['modes']}, "
              f"mean {modes[name].mean():.2f} +- {modes[name].std():.2f} (std over seeds), "
              f"high-quality share {sum(stats['high_quality']) / len(stats['high_quality']):.2f}")
    per_min, seq_per_min = batch_runs * 60 / batch_seconds, seq_runs * 60 / seq_seconds
    print(f"RESULT runs_per_min={per_min:.1f} sequential_runs_per_min={seq_per_min:.1f} "
          f"speedup={per_min / seq_per_min:.2f} modes_covered_baseline={modes['baseline'].mean():.2f} "
          f"modes_covered_fixed={modes['fixed'].mean():.2f}")


if __name__ == "__main__":
    main()
