"""Lesson 3's measured results: regenerates notebooks/results/lesson3_results.json and lesson3_*.png.

Every pitfall of the notebook, at a budget larger than the notebook's quick mode:
  1. mode collapse on the ring of 8 and the grid of 25 (seeds batched with coursekit.toy.train_many):
     plain GAN vs label smoothing, minibatch discrimination, PacGAN; then on MNIST digits (the
     Lesson 1 stick: classes covered, FD) plain MLP GAN vs a PacGAN-packed D;
  2. learning-rate and beta1 sweeps on the ring (all runs as one stacked model) and an MNIST
     learning-rate sweep (a diverged run is recorded as "diverged at step N");
  3. balance on MNIST: a strong D (lr_d = 10 x lr_g) with the saturating loss (grad_g vanishes) vs non-saturating, TTUR,
     d_skip_below, label smoothing, each a train_gan option;
  4. growing resolution 8 -> 16 -> 32 px on padded MNIST vs training at 32 px from the start.

    python benchmarks/lesson3_experiments.py --budget cpu    # what was run for the committed results
    python benchmarks/lesson3_experiments.py --budget full   # the real budget (a GPU: tens of minutes)
    python benchmarks/lesson3_experiments.py --budget tiny   # smoke test, seconds
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import coursekit as ck  # noqa: E402
from coursekit import toy  # noqa: E402
from coursekit.metrics import coverage_of_runs  # noqa: E402
from coursekit.nets import Packed, ToyDiscriminator, ToyGenerator  # noqa: E402
from coursekit.nets.progressive import FadeIn, ProgressiveDiscriminator, ProgressiveGenerator  # noqa: E402
from coursekit.train import TrainingDiverged, train_gan  # noqa: E402

BUDGETS = {   # toy: steps, seeds; mnist: steps per run, batch; progressive: steps per stage, fade steps
    "full": dict(toy_steps=20_000, toy_seeds=10, mnist_steps=5_000, mnist_batch=128, stage_steps=3_000, fade=1_500, prog_batch=64,
                 eval_points=10_000, eval_digits=10_000),
    "cpu": dict(toy_steps=2_000, toy_seeds=3, mnist_steps=200, mnist_batch=64, stage_steps=100, fade=50, prog_batch=32,
                eval_points=2_500, eval_digits=2_000),
    "tiny": dict(toy_steps=20, toy_seeds=3, mnist_steps=4, mnist_batch=16, stage_steps=3, fade=2, prog_batch=16,
                 eval_points=500, eval_digits=200),
}
TOY = dict(batch_size=64, lr_g=1e-3, lr_d=1e-3)       # the toy setting of the notebook
OUT = ROOT / "notebooks" / "results"


def summary(values: list[float]) -> dict:
    t = torch.tensor(values, dtype=torch.float)
    return {"values": values, "mean": round(t.mean().item(), 3), "std": round(t.std().item() if len(t) > 1 else 0.0, 3)}


# ---------------------------------------------------------------- 1. mode collapse, countable
def toy_collapse(b: dict) -> tuple[dict, dict]:
    seeds = list(range(b["toy_seeds"]))
    n = len(seeds)
    results, snapshots = {}, {}
    fixes = {"ring of 8": [("plain GAN | label smoothing 0.9", ToyDiscriminator, [1.0] * n + [0.9] * n),
                           ("minibatch discrimination", lambda: ToyDiscriminator(minibatch_kernels=8, kernel_dim=4), 1.0),
                           ("PacGAN (pack 2)", lambda: ToyDiscriminator(pack=2), 1.0)],
             "grid of 25": [("plain GAN | label smoothing 0.9", ToyDiscriminator, [1.0] * n + [0.9] * n),
                            ("PacGAN (pack 2)", lambda: ToyDiscriminator(pack=2), 1.0)]}
    for mixture in (toy.ring(), toy.grid()):
        for names, make_D, labels in fixes[mixture.name]:
            run_seeds = seeds * (2 if isinstance(labels, list) else 1)    # plain and smoothed runs in one call
            start = time.perf_counter()
            runs = toy.train_many(mixture, ToyGenerator, make_D, run_seeds, steps=b["toy_steps"], real_label=labels,
                                  snapshot_every=b["toy_steps"] // 4, **TOY)
            cov = coverage_of_runs(runs.samples(b["eval_points"]), mixture.centers, mixture.sigma)
            for i, name in enumerate(names.split(" | ")):
                part = slice(i * n, (i + 1) * n)
                results[f"{mixture.name}: {name}"] = {
                    "modes": summary(cov["modes"][part]), "high_quality": summary(cov["high_quality"][part]),
                    "of_modes": len(mixture.centers), "seconds": round(time.perf_counter() - start, 1)}
                print(f"{mixture.name}: {name}: modes {cov['modes'][part]}, high quality "
                      f"{[round(q, 2) for q in cov['high_quality'][part]]}", flush=True)
            if names.startswith("plain"):
                snapshots[mixture.name] = (mixture, runs)
    return results, snapshots


def plot_collapse(results: dict, snapshots: dict, path: Path) -> None:
    """The plain run that covered the fewest modes (top) and the same seed with label smoothing (bottom)."""
    mixture, runs = snapshots["ring of 8"]
    n = len(runs.seeds) // 2
    final = runs.samples(2500)
    modes = coverage_of_runs(final[:n], mixture.centers, mixture.sigma)["modes"]
    worst = modes.index(min(modes))
    frames = runs.snapshots
    fig, axes = plt.subplots(2, len(frames) + 1, figsize=(3 * (len(frames) + 1), 6))
    for row, (r, label) in enumerate(((worst, "plain"), (worst + n, "smoothing"))):
        for ax, (step, pts) in zip(axes[row], frames):
            ax.scatter(*pts[r].T, s=2, alpha=0.5)
            ax.scatter(*mixture.centers.T, c="red", marker="x")
            ax.set(xlim=(-3, 3), ylim=(-3, 3), title=f"{label}, seed {runs.seeds[r]}, step {step}")
        axes[row, -1].hist2d(*final[r].T.numpy(), bins=80, range=[[-3, 3], [-3, 3]], cmap="viridis",
                             norm=matplotlib.colors.LogNorm())
        axes[row, -1].set_title("G's density at the end (log colour)")
    fig.tight_layout()
    fig.savefig(path, dpi=60)
    plt.close(fig)


# ---------------------------------------------------------------- 2. hyper-parameter sweeps
def toy_sweeps(b: dict) -> dict:
    ring8, seeds = toy.ring(), list(range(b["toy_seeds"]))
    lrs = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
    betas = [0.0, 0.5, 0.9]
    out = {}
    for name, values, key in (("lr", lrs, "lr"), ("beta1", betas, "beta1")):
        grid_values = [v for v in values for _ in seeds]
        options = {**TOY, "lr_g": grid_values, "lr_d": grid_values} if key == "lr" else {**TOY, "beta1": grid_values}
        runs = toy.train_many(ring8, ToyGenerator, ToyDiscriminator, seeds * len(values), steps=b["toy_steps"],
                              real_label=0.9, **options)
        cov = coverage_of_runs(runs.samples(b["eval_points"]), ring8.centers, ring8.sigma)
        loss_d = torch.tensor(runs.history["loss_d"])                 # (logs, R)
        tail = loss_d[len(loss_d) * 3 // 4:]
        rows = []
        for i, v in enumerate(values):
            part = slice(i * len(seeds), (i + 1) * len(seeds))
            rows.append({key: v, "modes": summary(cov["modes"][part]), "high_quality": summary(cov["high_quality"][part]),
                         "loss_d_swing": round(tail[:, part].std(0).mean().item(), 4),   # oscillation of D's loss
                         "diverged_at": runs.diverged_at[part]})
            print(f"ring sweep {key}={v}: modes {cov['modes'][part]}, swing {rows[-1]['loss_d_swing']}, "
                  f"diverged {runs.diverged_at[part]}", flush=True)
        out[name] = {"rows": rows}
    return out


# ---------------------------------------------------------------- MNIST: the lesson 1 stick
def mnist_run(b: dict, quality, mnist, *, make_D=None, seed: int = 0, **options) -> dict:
    torch.manual_seed(seed)
    G, D = ck.nets.MLPGenerator(), (make_D or ck.nets.MLPDiscriminator)()
    start = time.perf_counter()
    try:
        history = train_gan(G, D, mnist.batches(b["mnist_batch"], seed=seed), steps=b["mnist_steps"], seed=seed,
                            log_every=max(1, b["mnist_steps"] // 20), progress=False, track_grad_norm=True, **options)
    except TrainingDiverged as err:
        step = int(str(err).split("at step ")[1].split(":")[0]) if "at step " in str(err) else None
        return {"diverged_at": step, "message": str(err)[:160], "seconds": round(time.perf_counter() - start, 1)}
    scores = quality(G)
    return {"diverged_at": None, "fd": round(scores["fd"], 2), "classes": scores["classes"],
            "confident": round(scores["confident"], 3),
            "loss_d_end": round(sum(history["loss_d"][-3:]) / 3, 4), "grad_g_end": sum(history["grad_g"][-3:]) / 3,
            "history": {k: history[k] for k in ("step", "loss_d", "loss_g", "grad_g", "d_real", "d_fake")},
            "seconds": round(time.perf_counter() - start, 1)}


def mnist_experiments(b: dict) -> dict:
    mnist = ck.data.load_mnist(train=True)
    quality = ck.metrics.DigitQuality(ck.pretrained.mnist_classifier(), ck.data.load_mnist(train=False)
                                      .subset(b["eval_digits"]).images)
    out = {"floor_fd": round(quality.floor(mnist.subset(b["eval_digits"]).images), 2)}
    runs = {
        "collapse: plain MLP GAN (no smoothing)": dict(real_label=1.0),
        "collapse: PacGAN D (pack 2)": dict(real_label=1.0, make_D=lambda: Packed(
            ck.nets.MLPDiscriminator(image_shape=(2, 28, 28)), 2)),
        "balance: saturating loss, strong D (lr_d 2e-3)": dict(g_loss="saturating", real_label=1.0, lr_d=2e-3),
        "balance: non-saturating loss, strong D": dict(real_label=1.0, lr_d=2e-3),
        "balance: saturating + TTUR (lr_d 5e-5)": dict(g_loss="saturating", real_label=1.0, lr_d=5e-5),
        "balance: saturating, strong D + d_skip_below 1.0": dict(g_loss="saturating", real_label=1.0, lr_d=2e-3,
                                                                 d_skip_below=1.0),
        "balance: saturating, strong D + label smoothing 0.9": dict(g_loss="saturating", real_label=0.9, lr_d=2e-3),
        "lr 2e-5": dict(lr_g=2e-5, lr_d=2e-5), "lr 2e-4": dict(), "lr 2e-3": dict(lr_g=2e-3, lr_d=2e-3),
        "lr 2e-2": dict(lr_g=2e-2, lr_d=2e-2), "lr 2e-1": dict(lr_g=2e-1, lr_d=2e-1),
    }
    for name, options in runs.items():
        out[name] = mnist_run(b, quality, mnist, **options)
        r = out[name]
        print(f"MNIST {name}: " + (f"diverged at step {r['diverged_at']}" if r["diverged_at"] else
                                    f"FD {r['fd']}, classes {r['classes']}, loss_d {r['loss_d_end']}, "
                                    f"grad_g {r['grad_g_end']:.3g}") + f" ({r['seconds']} s)", flush=True)
    return out


# ---------------------------------------------------------------- 4. growing resolution
def progressive(b: dict) -> dict:
    mnist = ck.data.load_mnist(train=True)
    padded = ck.data.ImageSet(F.pad(mnist.images, (2, 2, 2, 2)), mnist.labels, mnist.classes, "MNIST padded to 32")
    quality = ck.metrics.DigitQuality(ck.pretrained.mnist_classifier(verbose=False),
                                      ck.data.load_mnist(train=False).subset(b["eval_digits"]).images)
    out = {}
    for name in ("growing 8 -> 16 -> 32", "32 px from the start"):
        torch.manual_seed(0)
        G, D = ProgressiveGenerator(), ProgressiveDiscriminator()
        if name.startswith("32"):
            for _ in range(2):
                G.grow(), D.grow()
            G.alpha = D.alpha = 1.0
        start, histories = time.perf_counter(), []
        stages = 3 if name.startswith("growing") else 1
        for stage in range(stages):
            if stage:
                G.grow(), D.grow()
            steps = b["stage_steps"] * (3 if stages == 1 else 1)        # the same number of steps in total
            fade = b["fade"] if stage else 0
            histories.append(train_gan(G, D, FadeIn(padded.batches(b["prog_batch"], seed=stage), G, D, fade),
                                       steps=steps, log_every=max(1, steps // 10), progress=False, seed=stage))
        with torch.no_grad():
            z = torch.randn(b["eval_digits"], G.z_dim, generator=torch.Generator().manual_seed(0))
            images = ck.nets.sample(G, z)[:, :, 2:30, 2:30].clamp(-1, 1)     # crop the padding: 28 x 28
        scores = quality.score_images(images)
        out[name] = {"fd": round(scores["fd"], 2), "classes": scores["classes"],
                     "d_real_minus_fake_first_log": round(histories[0]["d_real"][0] - histories[0]["d_fake"][0], 3),
                     "seconds": round(time.perf_counter() - start, 1), "samples": images[:32]}
        print(f"{name}: FD {out[name]['fd']}, classes {out[name]['classes']} ({out[name]['seconds']} s)", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="full")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    b, out = BUDGETS[args.budget], Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    machine, load_start = ck.runtime.machine_summary("cpu"), os.getloadavg()
    print(machine, "| budget", args.budget, b, flush=True)
    start = time.perf_counter()
    collapse, snapshots = toy_collapse(b)
    plot_collapse(collapse, snapshots, out / "lesson3_collapse.png")
    sweeps = toy_sweeps(b)
    mnist = mnist_experiments(b)
    grow = progressive(b)
    ck.plot.show_images(torch.cat([v.pop("samples")[:16] for v in grow.values()]), nrow=16,
                        title="growing 8->16->32 (top) vs 32 px from the start (bottom)", size=12)
    plt.gcf().savefig(out / "lesson3_progressive.png", dpi=80)
    plt.close("all")
    results = {"budget": args.budget, "settings": b, "toy": TOY, "machine": machine,
               "torch_threads": torch.get_num_threads(),
               "load_average_1min": {"start": round(load_start[0], 1), "end": round(os.getloadavg()[0], 1),
                                     "note": "the machine is shared: timings are inflated by other processes"}, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
                   timespec="seconds"), "wall_seconds": round(time.perf_counter() - start, 1),
               "collapse": collapse, "sweeps": sweeps, "mnist": mnist, "progressive": grow}
    (out / "lesson3_results.json").write_text(json.dumps(results, indent=1))
    print(f"wrote {out / 'lesson3_results.json'} in {results['wall_seconds']} s")


if __name__ == "__main__":
    main()
