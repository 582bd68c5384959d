"""Lesson 4's central claim on a CPU: at equal training time, the PixelCNN's exact NLL vs the VAE's bound.

The two models train at the same time, side by side, one thread each (two processes of
`benchmarks/train_shipped.py`, so both see the same machine load), each for `--minutes` of
training. Every so often each is scored on the same 1,000 held-out binarized test digits: the
PixelCNN's exact NLL, the VAE's importance-weighted bound (K=100), in nats per digit. The scoring
time counts into each model's clock (PixelCNN: 1,000 forward passes every 250 steps; VAE: 100,000
every 5,000 steps; a few % of each run).

The PixelCNN is the lesson's gated PixelCNN at `--channels` (32: 2.8x faster than the lesson's 64
on a CPU), channels-last, bf16 where native and torch.compile'd: the CPU fast path
(benchmarks/pixelcnn_speed.py measures each of those). Writes notebooks/results/
lesson4_equal_time.json (both curves, the table at equal time, machine) and lesson4_equal_time.png
(NLL against training minutes; 32 samples of each). Both runs' models land in --out, the PixelCNN's
also as the shipped lesson4_pixelcnn when --ship is given.

    python benchmarks/lesson4_equal_time.py --minutes 40 --ship

The last line: RESULT minutes=... vae_nll_nats=... pixelcnn_nll_nats=... (at the last common time)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import coursekit as ck  # noqa: E402
from coursekit import trained  # noqa: E402

RESULTS = ROOT / "notebooks" / "results"


def clock_of(history: dict) -> dict[int, float]:
    """{step: training seconds} at the run's log steps."""
    return dict(zip(history["step"], history["seconds"]))


def nll_at(evaluations: list, clock: dict[int, float], seconds: float) -> float:
    """The last score measured at or before `seconds` of training (clock: `clock_of` the run's history)."""
    before = [e for e in evaluations if clock.get(e["step"], float("inf")) <= seconds + 1e-6]
    return before[-1]["nll_nats"] if before else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=40)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--out", type=Path, default=Path(ck.runtime.cache_dir("equal_time")))
    parser.add_argument("--ship", action="store_true", help="also copy the PixelCNN to coursekit/weights (print its hash)")
    parser.add_argument("--save", action="store_true", help="write the JSON and PNG under notebooks/results/")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    script = str(ROOT / "benchmarks" / "train_shipped.py")
    runs = {"VAE": ["lesson4_vae", "--steps", "10000000"],
            "PixelCNN": ["lesson4_pixelcnn", "--channels", str(args.channels), "--compile", "--steps", "10000000"]}
    procs = {name: subprocess.Popen([sys.executable, script, *argv, "--minutes", str(args.minutes), "--out",
                                     str(args.out / name)], env=env, stdout=open(args.out / f"{name}.log", "w"),
                                    stderr=subprocess.STDOUT) for name, argv in runs.items()}
    for name, proc in procs.items():
        if proc.wait() != 0:
            raise SystemExit(f"{name} run failed: see {args.out / (name + '.log')}")
    loaded = {name: trained.read(args.out / name / f"{argv[0]}.pt", argv[0]) for name, argv in runs.items()}
    common = min(run.history["seconds"][-1] for run in loaded.values())
    clocks = {name: clock_of(run.history) for name, run in loaded.items()}
    table = {name: {"nll_nats_at_equal_time": nll_at(run.evaluations, clocks[name], common),
                    "steps": run.info["steps"], "training_seconds": run.info["seconds"],
                    "images_seen": run.info["steps"] * run.info["batch_size"],
                    "params": ck.nets.count_parameters(run.model), "kwargs": run.kwargs,
                    "curve": [{"step": e["step"], "seconds": clocks[name][e["step"]], "nll_nats": e["nll_nats"]}
                              for e in run.evaluations]}
             for name, run in loaded.items()}
    machine = loaded["PixelCNN"].info["machine"]
    result = {"what": "VAE and gated PixelCNN trained side by side for the same minutes, one thread each "
                      "(benchmarks/lesson4_equal_time.py); NLL in nats per digit on 1,000 held-out binarized test "
                      "digits (PixelCNN exact, VAE IWAE bound K=100)",
              "minutes": args.minutes, "equal_time_seconds": round(common), "machine": machine,
              "date": loaded["PixelCNN"].info["date"], "models": table}

    fig, (ax, *grids) = plt.subplots(1, 3, figsize=(15, 4.2), gridspec_kw={"width_ratios": [1.3, 1, 1]})
    for name, row in table.items():
        ax.plot([p["seconds"] / 60 for p in row["curve"]], [p["nll_nats"] for p in row["curve"]], "o-", ms=3,
                label=f"{name} ({row['params']:,} parameters)")
    ax.axvline(common / 60, c="k", ls=":", lw=1)
    ax.set_ylim(top=min(130, ax.get_ylim()[1])); ax.set_xlabel("training minutes (one CPU thread each)")
    ax.set_ylabel("test NLL, nats per digit"); ax.grid(alpha=0.3); ax.legend()
    ax.set_title("equal time: exact NLL (PixelCNN) vs bound (VAE)", fontsize=10)
    for a, (name, run) in zip(grids, loaded.items()):
        with torch.no_grad():
            drawn = run.model.sample(32, torch.Generator().manual_seed(0))
        ck.plot.show_images(drawn * 2 - 1, nrow=8, ax=a, title=f"{name}: 32 samples")
    if args.save:
        (RESULTS / "lesson4_equal_time.json").write_text(json.dumps(result, indent=1) + "\n")
        fig.savefig(RESULTS / "lesson4_equal_time.png", dpi=90, bbox_inches="tight")
    if args.ship:
        shipped = trained.path_of("lesson4_pixelcnn")
        shutil.copy(args.out / "PixelCNN" / shipped.name, shipped)
        print(f"shipped {shipped}: sha256={ck.storage.sha256(shipped)}")
    print(json.dumps({k: v for k, v in result.items() if k != "models"}, indent=1))
    for name, row in table.items():
        print(f"{name}: {row['steps']:,} steps, {row['images_seen']:,} digits, NLL at {common / 60:.1f} min "
              f"{row['nll_nats_at_equal_time']:.2f} nats")
    print(f"RESULT minutes={common / 60:.1f} vae_nll_nats={table['VAE']['nll_nats_at_equal_time']:.2f} "
          f"pixelcnn_nll_nats={table['PixelCNN']['nll_nats_at_equal_time']:.2f}")


if __name__ == "__main__":
    main()
