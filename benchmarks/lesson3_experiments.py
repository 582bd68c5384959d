"""Lesson 3's measured results: regenerates notebooks/results/lesson3_results.json and lesson3_*.png.

Every pitfall of the notebook, at a budget larger than the notebook's quick mode:
  1. mode collapse on the ring of 8 and the grid of 25 (seeds batched with coursekit.toy.train_many):
     plain GAN vs label smoothing, minibatch discrimination, PacGAN; then on MNIST digits (the
     Lesson 1 stick: classes covered, FD) plain MLP GAN vs a PacGAN-packed D;
  2. learning-rate and beta1 sweeps on the ring (all runs as one stacked model) and an MNIST
     learning-rate sweep (a diverged run is recorded as "diverged at step N");
  3. balance on MNIST: a D with 10x G's learning rate (lr_d 2e-3) under the saturating loss vs the
     non-saturating loss, a slower D (lr_d 5e-5), d_skip_below, label smoothing, each a train_gan option; and
     TTUR as Heusel et al. 2017 set it (D the *faster* learner: lr_d 4e-4, lr_g 1e-4, non-saturating loss);
     then where the saturating loss really starves G: one fixed (untrained) G, a D trained against it, and
     at checkpoints the gradient each G loss would send to the same G on the same z ("gradient");
  4. growing resolution 8 -> 16 -> 32 px on padded MNIST vs training at 32 px from the start.

    python benchmarks/lesson3_experiments.py --budget cpu    # what was run for the committed results
    python benchmarks/lesson3_experiments.py --budget full   # the real budget (a GPU: tens of minutes)
    python benchmarks/lesson3_experiments.py --budget tiny   # smoke test, seconds
    python benchmarks/lesson3_experiments.py --budget cpu --only mnist gradient
        # re-runs only those sections and merges them into the committed JSON (under "reruns": which
        # sections, machine, date, wall time); the budget must be the file's
    python benchmarks/lesson3_experiments.py --budget full --only collapse sweeps progressive --out /tmp/l3a &
    python benchmarks/lesson3_experiments.py --budget full --only mnist gradient --out /tmp/l3b &
    python benchmarks/lesson3_experiments.py --merge /tmp/l3a /tmp/l3b
        # the sections as two one-thread processes side by side (a 2-core CPU), then one file: --only into a
        # folder without results starts a partial file; --merge joins the parts (under "parts": each one's
        # sections, machine, date, wall time) and copies their figures

The last line: RESULT ring_plain_modes=... grid_plain_modes=... ... wall_s=... (the sections the file holds)
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
from coursekit.nets.progressive import StageBatches, ProgressiveDiscriminator, ProgressiveGenerator  # noqa: E402
from coursekit.train import TrainingDiverged, train_gan  # noqa: E402

BUDGETS = {   # toy: steps, seeds; mnist: steps per run, batch; progressive: steps per stage, fade steps
    "full": dict(toy_steps=20_000, toy_seeds=10, mnist_steps=5_000, mnist_batch=128, stage_steps=3_000, fade=1_500, prog_batch=64,
                 eval_points=10_000, eval_digits=10_000, grad_d_steps=2_000),
    "cpu": dict(toy_steps=2_000, toy_seeds=3, mnist_steps=200, mnist_batch=64, stage_steps=100, fade=50, prog_batch=32,
                eval_points=2_500, eval_digits=2_000, grad_d_steps=500),
    "tiny": dict(toy_steps=20, toy_seeds=3, mnist_steps=4, mnist_batch=16, stage_steps=3, fade=2, prog_batch=16,
                 eval_points=500, eval_digits=200, grad_d_steps=10),
}
SECTIONS = ("collapse", "sweeps", "mnist", "gradient", "progressive")
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
        "balance: saturating + slower D (lr_d 5e-5 = lr_g / 4)": dict(g_loss="saturating", real_label=1.0, lr_d=5e-5),
        "balance: saturating, strong D + d_skip_below 1.0": dict(g_loss="saturating", real_label=1.0, lr_d=2e-3,
                                                                 d_skip_below=1.0),
        "balance: saturating, strong D + label smoothing 0.9": dict(g_loss="saturating", real_label=0.9, lr_d=2e-3),
        # TTUR as Heusel et al. 2017 use it: D learns faster than G (their DCGAN runs: 4e-4 vs 1e-4)
        "balance: TTUR (lr_d 4e-4, lr_g 1e-4, non-saturating)": dict(real_label=1.0, lr_d=4e-4, lr_g=1e-4),
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


# ---------------------------------------------------------------- 3b. where G's gradient vanishes
def g_gradients(G, D, z: torch.Tensor) -> dict:
    """The norm of the gradient at G's weights of each G loss, on the same z, G and D (nothing is updated)."""
    out = {}
    logits = D(G(z))                                                    # (B,)
    for name, loss in (("saturating", -F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))),
                       ("non_saturating", F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits)))):
        grads = torch.autograd.grad(loss, list(G.parameters()), retain_graph=True)
        out[name] = torch.cat([g.flatten() for g in grads]).norm().item()
    out["d_fake"] = torch.sigmoid(logits).mean().item()
    return out


def gradient_at_fixed_g(b: dict) -> dict:
    """One G (untrained, fixed: its samples are poor, as early in training), a D trained against it (Adam 2e-4,
    beta1 0.5); at checkpoints, D's loss on a fresh batch and both G losses' gradient norms at the same G and z."""
    mnist = ck.data.load_mnist(train=True)
    torch.manual_seed(0)
    G, D = ck.nets.MLPGenerator(), ck.nets.MLPDiscriminator()
    opt = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    batches, noise = mnist.batches(b["mnist_batch"], seed=0), torch.Generator().manual_seed(0)
    probe = torch.randn(512, G.z_dim, generator=torch.Generator().manual_seed(1))     # the same z at every checkpoint
    total = b["grad_d_steps"]
    checkpoints = sorted({0, *(max(1, round(total * f)) for f in (0.01, 0.03, 0.1, 0.3, 1.0))})
    rows, start = [], time.perf_counter()
    for step in range(total + 1):
        real = batches.next_batch()
        with torch.no_grad():
            fake = G(torch.randn(len(real), G.z_dim, generator=noise))
        logits_real, logits_fake = D(real), D(fake)
        loss_d = (F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
                  + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake)))
        if step in checkpoints:                      # D's loss on this batch before the update, then the gradients
            rows.append({"d_steps": step, "loss_d": round(loss_d.item(), 4),
                         **{k: float(f"{v:.4g}") for k, v in g_gradients(G, D, probe).items()}})
            r = rows[-1]
            print(f"fixed G, D after {step:4d} steps: D loss {r['loss_d']:.4f}, mean D(G(z)) {r['d_fake']:.3g}, "
                  f"|grad_G| saturating {r['saturating']:.3g}, non-saturating {r['non_saturating']:.3g}", flush=True)
        if step == total:
            break
        opt.zero_grad(set_to_none=True)
        loss_d.backward()
        opt.step()
    return {"setting": f"MLP G untrained (seed 0, fixed), MLP D trained {total} steps against it, Adam 2e-4 beta1 0.5, "
                       f"batch {b['mnist_batch']}, gradient norms at G's weights on 512 fixed z", "rows": rows,
            "seconds": round(time.perf_counter() - start, 1)}


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
            histories.append(train_gan(G, D, StageBatches(padded.batches(b["prog_batch"], seed=stage), G, D, fade),
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


def result_line(results: dict) -> str:
    """The last line: a headline number of each section the results hold, and the wall time."""
    pairs = []
    if "collapse" in results:
        c = results["collapse"]
        pairs += [("ring_plain_modes", c["ring of 8: plain GAN"]["modes"]["mean"]),
                  ("grid_plain_modes", c["grid of 25: plain GAN"]["modes"]["mean"]),
                  ("grid_pacgan_modes", c["grid of 25: PacGAN (pack 2)"]["modes"]["mean"])]
    if "sweeps" in results:
        pairs.append(("lr_sweep_max_swing", max(r["loss_d_swing"] for r in results["sweeps"]["lr"]["rows"])))
    if "mnist" in results:
        pairs.append(("mnist_plain_fd", results["mnist"]["collapse: plain MLP GAN (no smoothing)"]["fd"]))
    if "gradient" in results:
        last = results["gradient"]["rows"][-1]
        pairs += [("grad_saturating", last["saturating"]), ("grad_non_saturating", last["non_saturating"])]
    if "progressive" in results:
        pairs += [("growing_fd", results["progressive"]["growing 8 -> 16 -> 32"]["fd"]),
                  ("direct_fd", results["progressive"]["32 px from the start"]["fd"])]
    pairs.append(("wall_s", results["wall_seconds"]))
    return "RESULT " + " ".join(f"{k}={v:.4g}" for k, v in pairs)


def merge_parts(folders: list[Path], out: Path) -> None:
    """Joins the lesson3_results.json of --only runs (one budget, no section twice) into out, with their figures."""
    parts = [json.loads((folder / "lesson3_results.json").read_text()) for folder in folders]
    budgets = {part["budget"] for part in parts}
    if len(budgets) != 1:
        raise SystemExit(f"--merge: the parts hold different budgets {sorted(budgets)}: merge runs of one budget")
    part_sections = [part.get("sections", list(SECTIONS)) for part in parts]     # a full run has no "sections"
    sections = [s for names in part_sections for s in names]
    if len(sections) != len(set(sections)):
        raise SystemExit(f"--merge: a section appears in more than one part ({sections})")
    run_keys = ("machine", "torch_threads", "load_average_1min", "date", "wall_seconds")
    merged = {"budget": parts[0]["budget"], "settings": parts[0]["settings"], "toy": TOY,
              "machine": parts[0]["machine"], "torch_threads": parts[0]["torch_threads"],
              "date": max(part["date"] for part in parts),
              "wall_seconds": round(sum(part["wall_seconds"] for part in parts), 1),   # one thread's time, all sections
              "parts": [{"sections": names, **{k: part[k] for k in run_keys}} for part, names in zip(parts, part_sections)]}
    for part, names in zip(parts, part_sections):
        merged.update({s: part[s] for s in names if s in part})
    (out / "lesson3_results.json").write_text(json.dumps(merged, indent=1))
    for folder in folders:
        for figure in folder.glob("lesson3_*.png"):
            if figure.parent.resolve() != out.resolve():
                (out / figure.name).write_bytes(figure.read_bytes())
    print(f"merged {len(parts)} parts ({', '.join(sections)}) into {out / 'lesson3_results.json'}")
    print(result_line(merged))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="full")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--only", nargs="+", choices=SECTIONS,
                        help="re-run only these sections and merge them into the existing lesson3_results.json")
    parser.add_argument("--merge", nargs="+", metavar="FOLDER",
                        help="join the partial results of --only runs in these folders into --out (no training)")
    args = parser.parse_args()
    b, out = BUDGETS[args.budget], Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.merge:
        return merge_parts([Path(folder) for folder in args.merge], out)
    sections = args.only or SECTIONS
    previous = None
    path = out / "lesson3_results.json"
    if args.only and path.exists():
        previous = json.loads(path.read_text())
        if previous["budget"] != args.budget:
            raise SystemExit(f"--only: {path} holds budget {previous['budget']!r}, not {args.budget!r}: "
                             f"pass --budget {previous['budget']} or run all sections")
    machine, load_start = ck.runtime.machine_summary("cpu"), os.getloadavg()
    print(machine, "| budget", args.budget, b, "| sections", " ".join(sections), flush=True)
    start = time.perf_counter()
    results = {}
    if "collapse" in sections:
        results["collapse"], snapshots = toy_collapse(b)
        plot_collapse(results["collapse"], snapshots, out / "lesson3_collapse.png")
    if "sweeps" in sections:
        results["sweeps"] = toy_sweeps(b)
    if "mnist" in sections:
        results["mnist"] = mnist_experiments(b)
    if "gradient" in sections:
        results["gradient"] = gradient_at_fixed_g(b)
    if "progressive" in sections:
        results["progressive"] = grow = progressive(b)
        ck.plot.show_images(torch.cat([v.pop("samples")[:16] for v in grow.values()]), nrow=16,
                            title="growing 8->16->32 (top) vs 32 px from the start (bottom)", size=12)
        plt.gcf().savefig(out / "lesson3_progressive.png", dpi=80)
        plt.close("all")
    run = {"machine": machine, "torch_threads": torch.get_num_threads(),
           "load_average_1min": {"start": round(load_start[0], 1), "end": round(os.getloadavg()[0], 1),
                                 "note": "the machine is shared: timings are inflated by other processes"},
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "wall_seconds": round(time.perf_counter() - start, 1)}
    if previous is None:
        results = {"budget": args.budget, "settings": b, "toy": TOY, **run, **results}
        if args.only:
            results["sections"] = list(sections)        # a part, for --merge
    else:                                   # keep the other sections; say which ones this run replaced
        results = {**previous, "settings": b, **results,
                   "reruns": previous.get("reruns", []) + [{"sections": list(sections), **run}]}
    (out / "lesson3_results.json").write_text(json.dumps(results, indent=1))
    print(f"wrote {out / 'lesson3_results.json'} ({', '.join(sections)}) in {run['wall_seconds']} s")
    print(result_line({**results, "wall_seconds": run["wall_seconds"]}))


if __name__ == "__main__":
    main()
