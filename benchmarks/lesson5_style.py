"""Lesson 5's committed full-budget run: regenerates notebooks/results/lesson5_style.json and .png.

Every optimisation of the lesson at its full budget (the notebook's `full=` values), with the
same images, weights and settings, so the notebook can show what its cells make at full size
next to a quick run:

  main       the section 5 run: 256 px, 300 Adam steps from the content photo, default weights;
  weights    section 6: style weight 1, 1e2, 1e4, 200 steps each;
  tv         section 6: TV weight 0 and 1e3, 200 steps each;
  optimizers section 7: L-BFGS and Adam from the photo, Adam from noise, 300 steps each.

The extractor is `style.VGGFeatures(pooling="avg")`: torchvision's ImageNet VGG19 where its weights
can be had, else the course's seeded random-weight VGG19 (recorded under "extractor"; on a machine
without internet the committed run is the fallback's, and the notebook says so).

    python benchmarks/lesson5_style.py                      # the full budget (about 10 min on a 2-core CPU)
    python benchmarks/lesson5_style.py --budget quick --out /tmp/x   # the quick budget: a smoke test

The last line: RESULT size=... main_style_ratio=... main_seconds=... lbfgs_ratio=... adam_ratio=...
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
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import coursekit as ck  # noqa: E402
from coursekit import style  # noqa: E402

# the notebook's budgets: (size, steps, sweep steps)
BUDGETS = {"full": dict(size=256, steps=300, sweep_steps=200), "quick": dict(size=64, steps=25, sweep_steps=15)}
STYLE_WEIGHTS = [1, 1e2, 1e4]
TV_WEIGHTS = [0.0, 1e3]
OPTIMIZERS = {"L-BFGS from content": dict(optimizer="lbfgs", init="content"),
              "Adam from content": dict(optimizer="adam", init="content"),
              "Adam from noise": dict(optimizer="adam", init="noise")}
CONTENT, PAINTING = "chelsea.png", "starry_night.jpg"


def summary(history: dict, image: torch.Tensor) -> dict:
    """What the notebook prints of a run: first and last losses, seconds, and the result's TV."""
    return {"style_first": history["style"][0], "style_last": history["style"][-1],
            "content_last": history["content"][-1],
            "seconds": round(history["seconds"][-1], 1), "steps": len(history["style"]),
            "tv_of_result": style.tv_loss(image).item()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="full")
    parser.add_argument("--out", default=str(ROOT / "notebooks" / "results"))
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    budget = BUDGETS[args.budget]
    device = ck.runtime.pick_device()
    machine, load_start, start = ck.runtime.machine_summary(device), os.getloadavg(), time.perf_counter()
    print(machine, "|", torch.get_num_threads(), "threads")

    content = style.prepare(CONTENT, budget["size"]).to(device)
    painting = style.prepare(PAINTING, budget["size"]).to(device)
    extractor = style.VGGFeatures(pooling="avg").to(device)
    run = lambda steps, **kw: style.transfer(content, painting, size=budget["size"], steps=steps,  # noqa: E731
                                             extractor=extractor, device=device, progress=False, **kw)
    images, record = {}, {}
    image, history = run(budget["steps"])
    images["main"], record["main"] = image, summary(history, image)
    print("main:", record["main"])
    for w in STYLE_WEIGHTS:
        image, history = run(budget["sweep_steps"], style_weight=w)
        images[f"style weight {w:g}"], record[f"style weight {w:g}"] = image, summary(history, image)
    for w in TV_WEIGHTS:
        image, history = run(budget["sweep_steps"], tv_weight=w)
        images[f"TV weight {w:g}"], record[f"TV weight {w:g}"] = image, summary(history, image)
    curves = {}
    for name, kw in OPTIMIZERS.items():
        image, history = run(budget["steps"], **kw)
        images[name], record[name] = image, summary(history, image)
        curves[name] = {"seconds": [round(s, 2) for s in history["seconds"]], "total": history["total"]}
        print(f"{name}:", record[name])

    results = {
        "budget": args.budget, "settings": {**budget, "style_weights": STYLE_WEIGHTS, "tv_weights": TV_WEIGHTS,
                                             "content": CONTENT, "style": PAINTING, "defaults": vars(style.TransferConfig())},
        "extractor": "torchvision VGG19, ImageNet weights" if extractor.pretrained else
                     "seeded random-weight VGG19 (no ImageNet weights on this machine: the offline fallback)",
        "machine": machine, "torch_threads": torch.get_num_threads(),
        "load_average_1min": {"start": round(load_start[0], 1), "end": round(os.getloadavg()[0], 1)},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": round(time.perf_counter() - start, 1), "runs": record, "history": curves,
    }
    (out / "lesson5_style.json").write_text(json.dumps(results, indent=1, default=str) + "\n")

    rows = [["content", "main", "style"], [f"style weight {w:g}" for w in STYLE_WEIGHTS],
            [f"TV weight {w:g}" for w in TV_WEIGHTS], list(OPTIMIZERS)]
    images.update(content=content.cpu(), style=painting.cpu())
    fig, axes = plt.subplots(len(rows), 3, figsize=(9, 2.4 * len(rows)))
    for row, names in zip(axes, rows):
        for ax in row:
            ax.axis("off")
        for ax, name in zip(row, names):
            ax.imshow(images[name][0].permute(1, 2, 0).clamp(0, 1).numpy())
            ax.set_title(name if name not in record else f"{name}\nstyle loss {record[name]['style_last']:.3f}", fontsize=8)
    fig.suptitle(f"lesson 5 at the '{args.budget}' budget: {results['extractor'].split(' (')[0]}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "lesson5_style.png", dpi=80)
    # 256 colours: a third of the bytes (it ships in the package), no difference a student can see
    Image.open(out / "lesson5_style.png").convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(
        out / "lesson5_style.png", optimize=True)
    main_run, lbfgs, adam = record["main"], record["L-BFGS from content"], record["Adam from content"]
    print(f"wrote {out / 'lesson5_style.json'} and lesson5_style.png in {results['wall_seconds']} s")
    print(f"RESULT size={budget['size']} main_style_ratio={main_run['style_first'] / main_run['style_last']:.1f} "
          f"main_seconds={main_run['seconds']} lbfgs_ratio={lbfgs['style_first'] / lbfgs['style_last']:.1f} "
          f"adam_ratio={adam['style_first'] / adam['style_last']:.1f} wall_seconds={results['wall_seconds']}")


if __name__ == "__main__":
    main()
