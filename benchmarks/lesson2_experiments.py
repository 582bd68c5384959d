"""Lesson 2's experiments at a stated budget: batch size, data set size, each stabiliser on/off.

Every configuration starts from the same base (DCGAN with strided transposed convolutions,
batch 16, GANConfig's defaults: Adam 2e-4 / beta1 0.5, one-sided label smoothing 0.9, Gaussian z)
and changes ONE thing. All see the same number of images (epochs x all 2,040 photos), so batch 8
takes twice the steps of batch 16, and the 500-photo subset goes through its photos 4x as often. Each is measured with the course's flower stick (FD and hue
distance against all 2,040 photos, on as many samples), the checkerboard energy of its samples,
and mean D(x), D(G(z)) over the last logged steps.

Writes notebooks/results/lesson2_experiments.json (budget, machine, date, wall time, one row per
configuration, and BUDGETS: notebook 02 reads its full and quick budgets from there, so the lesson
and this script run the same table) and lesson2_experiments.png (8 samples per configuration, one row each).

    python benchmarks/lesson2_experiments.py --budget cpu    # what was run and committed (32 px, on 2 CPU cores)
    python benchmarks/lesson2_experiments.py --budget full   # the real budget, for a GPU (64 px, 50 epochs)
    python benchmarks/lesson2_experiments.py --budget cpu --spread "base (transposed G, batch 16)" --seeds 0 1 2
        # the seed-to-seed spread of some configurations, merged into the committed JSON under "seed_spread"
        # (a run without --spread writes a fresh file: run --spread after it; notebook 02 reads the spread of
        # "base (transposed G, batch 16)" and "instance noise 0.1, decaying", tests/test_notebook_results.py checks)

The notebook's section 8 is the same table: the same EXPERIMENTS (names and options), the same budgets,
D(x) and D(G(z)) as the mean over the last quarter of the logged values.
"""
from __future__ import annotations

import argparse
import datetime
import json
import time
from pathlib import Path

import torch
import torchvision

import coursekit as ck

RESULTS = Path(__file__).resolve().parents[1] / "notebooks" / "results"

# The one definition of lesson 2's budgets (the notebook reads them from the JSON this script writes).
BUDGETS = {  # size (px), width (G's and D's base channels), epochs over the photos seen by every configuration
    "full": {"size": 64, "width": 64, "epochs": 50},     # the lesson's full budget (COURSEKIT_QUICK unset): a GPU
    "cpu": {"size": 32, "width": 32, "epochs": 2},       # what was committed, on 2 CPU cores
    "quick": {"size": 32, "width": 8, "epochs": 0.25},   # the lesson's quick preview (COURSEKIT_QUICK=1)
}

# name -> (generator options, discriminator options, train_gan overrides, photos used, batch size)
BASE_BATCH = 16
EXPERIMENTS = {
    "base (transposed G, batch 16)": ({}, {}, {}, None, BASE_BATCH),
    "batch 8": ({}, {}, {}, None, 8),
    "batch 32": ({}, {}, {}, None, 32),
    "500-photo subset": ({}, {}, {}, 500, BASE_BATCH),
    "no label smoothing (1.0 / 0.0)": ({}, {}, {"real_label": 1.0}, None, BASE_BATCH),
    "two-sided smoothing (0.9 / 0.1)": ({}, {}, {"fake_label": 0.1}, None, BASE_BATCH),
    "two-sided smoothing (0.8 / 0.2)": ({}, {}, {"real_label": 0.8, "fake_label": 0.2}, None, BASE_BATCH),
    "instance noise 0.1, decaying": ({}, {}, {"instance_noise": 0.1}, None, BASE_BATCH),
    "uniform z": ({}, {}, {"latent": "uniform"}, None, BASE_BATCH),
    "dropout 0.3 in D": ({}, {"dropout": 0.3}, {}, None, BASE_BATCH),
    "minibatch discrimination": ({}, {"minibatch_discrimination": True}, {}, None, BASE_BATCH),
    "upsampling G (nearest + conv)": ({"upsample": "nearest"}, {}, {}, None, BASE_BATCH),
    "extra G layer": ({"extra_layer": True}, {}, {}, None, BASE_BATCH),
}


def run_one(name: str, spec, flowers: ck.data.ImageSet, quality, budget: dict, device, seed: int = 0) -> tuple[dict, torch.Tensor]:
    """Train one configuration from scratch; returns (its row of the table, 8 samples)."""
    g_opts, d_opts, overrides, photos, batch = spec
    data = flowers.subset(photos) if photos else flowers
    steps = max(1, round(budget["epochs"] * len(flowers) / batch))   # same images seen by every configuration
    torch.manual_seed(seed)
    G = ck.nets.DCGANGenerator(size=budget["size"], width=budget["width"], **g_opts).to(device)
    D = ck.nets.DCGANDiscriminator(size=budget["size"], width=budget["width"], **d_opts).to(device)
    start = time.perf_counter()
    history = ck.train.train_gan(G, D, data.batches(batch, device, seed=seed), steps=steps, seed=seed,
                                 log_every=max(1, min(50, steps // 4)), progress=False, **overrides)
    seconds = time.perf_counter() - start
    latent = overrides.get("latent", "gaussian")
    score = quality(G, latent=latent)
    z = ck.train.sample_z(64, G.z_dim, latent, generator=torch.Generator().manual_seed(1))
    samples = ck.nets.sample(G, z.to(device))
    tail = max(1, len(history["d_real"]) // 4)  # the last quarter of the logged averages (the notebook does the same)
    row = {"name": name, "seed": seed, "photos": len(data), "batch": batch, "steps": steps, "seconds": round(seconds, 1),
           "fd": round(score["fd"], 2), "hue_tv": round(score["hue_tv"], 3),
           "checkerboard": round(ck.metrics.checkerboard_energy(samples), 4),
           "d_real": round(sum(history["d_real"][-tail:]) / tail, 3),
           "d_fake": round(sum(history["d_fake"][-tail:]) / tail, 3)}
    return row, samples[:8]


def spread(args, budget: dict, flowers, quality, device, machine: str) -> None:
    """Run some configurations with several seeds; merge {name: rows} into the committed JSON's "seed_spread"."""
    path = args.out / "lesson2_experiments.json"
    result = json.loads(path.read_text())
    if result["budget"] != args.budget:
        raise SystemExit(f"--spread merges into {path}, whose budget is {result['budget']!r}: pass --budget {result['budget']}")
    wall, rows = time.perf_counter(), {}
    for name in args.spread:
        rows[name] = []
        for seed in args.seeds:
            row, _ = run_one(name, EXPERIMENTS[name], flowers, quality, budget, device, seed=seed)
            rows[name].append(row)
            print(f"{name:34s} seed {seed}  FD {row['fd']:7.2f}  hue {row['hue_tv']:.3f}  D(x) {row['d_real']:.2f}  "
                  f"D(G(z)) {row['d_fake']:.2f}  ({row['seconds']} s)", flush=True)
    previous = result.get("seed_spread", {}).get("rows", {})
    result["budgets"] = BUDGETS                                   # the notebook reads its budgets from here
    result["d_real_d_fake"] = "mean over the last quarter of the logged values"
    result["seed_spread"] = {"seeds": args.seeds, "machine": machine, "threads": torch.get_num_threads(),
                             "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                             "wall_seconds": round(time.perf_counter() - wall),
                             "note": "seed s seeds the weights, the batch order and train_gan's noise; "
                                     "run on this machine, so seed 0 need not repeat the main table's number",
                             "rows": {**previous, **rows}}
    path.write_text(json.dumps(result, indent=1) + "\n")
    fds = {name: [r["fd"] for r in r_] for name, r_ in rows.items()}
    print(f"merged into {path}: {fds}")
    print(f"RESULT configs={len(rows)} seeds={len(args.seeds)} wall_s={result['seed_spread']['wall_seconds']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="cpu")
    parser.add_argument("--only", nargs="*", help="run only these configurations (names as in EXPERIMENTS)")
    parser.add_argument("--spread", nargs="+", choices=list(EXPERIMENTS), metavar="NAME",
                        help="run these configurations with every --seeds seed and merge them into the JSON")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds for --spread")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for lesson2_experiments.json/.png")
    args = parser.parse_args()
    budget = BUDGETS[args.budget]
    device = ck.runtime.pick_device()
    machine = ck.runtime.machine_summary(device)
    print(machine)
    print(f"budget {args.budget}: {budget}")
    flowers = ck.data.load_flowers102("train+val", budget["size"])
    quality = ck.metrics.FlowerQuality(ck.pretrained.flower_net(device), flowers.images)
    if args.spread:
        return spread(args, budget, flowers, quality, device, machine)
    halves = torch.randperm(len(flowers), generator=torch.Generator().manual_seed(0)).split(len(flowers) // 2)
    floor = ck.metrics.FlowerQuality(quality.network, flowers.images[halves[0]]).floor(flowers.images[halves[1]])
    print(f"stick floor (FD between two random halves of the photos, 1,020 each): {floor:.2f}")
    wall = time.perf_counter()
    rows, grids = [], []
    names = args.only or list(EXPERIMENTS)
    for name in names:
        row, samples = run_one(name, EXPERIMENTS[name], flowers, quality, budget, device)
        rows.append(row)
        grids.append(samples)
        print(f"{name:34s} steps {row['steps']:5d}  {row['seconds']:7.1f} s  FD {row['fd']:7.2f}  hue {row['hue_tv']:.3f}  "
              f"checker {row['checkerboard']:.4f}  D(x) {row['d_real']:.2f}  D(G(z)) {row['d_fake']:.2f}", flush=True)
    wall = time.perf_counter() - wall
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"budget": args.budget, **budget, "budgets": BUDGETS, "images_seen_per_config": f"{budget['epochs']} x {len(flowers)}",
              "data": f"{flowers.name} (Flowers-17 is not available offline)", "stick": "flower_net (FD on 32x32 FlowerNet features, "
              f"vs all {len(flowers)} photos, {len(flowers)} samples)", "stick_floor_fd": round(floor, 2),
              "machine": machine, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "wall_seconds": round(wall), "note": "shared CPU: other jobs ran at the same time" if device.type == "cpu" else "",
              "d_real_d_fake": "mean over the last quarter of the logged values", "rows": rows}
    (args.out / "lesson2_experiments.json").write_text(json.dumps(result, indent=1) + "\n")
    grid = torchvision.utils.make_grid(torch.cat(grids).add(1).div(2).clamp(0, 1), nrow=8, padding=1)
    torchvision.utils.save_image(grid, args.out / "lesson2_experiments.png")
    print(f"wrote {args.out / 'lesson2_experiments.json'} and .png; wall time {wall:.0f} s")
    print(f"RESULT configs={len(rows)} wall_s={wall:.0f} base_fd={rows[0]['fd']} floor_fd={floor:.2f}")


if __name__ == "__main__":
    main()
