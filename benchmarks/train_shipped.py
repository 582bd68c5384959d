"""Train the models coursekit ships (coursekit/trained.py) with the lessons' full-budget cells.

Each recipe is its lesson's training cell at the full budget, as a script: the same model, seed,
data, batch, steps, optimizer settings and callbacks (the measuring stick every `every` steps and
fixed-noise snapshots). It writes

  coursekit/weights/NAME.pt           the trained model in half precision + the run's record (history,
                                      stick scores, 8 snapshots per frame) + info (budget, machine, time)
  notebooks/results/NAME.json         info and the stick's scores over training (the committed result)
  notebooks/results/NAME.png          64 samples of the trained model (fixed seed)

and prints the SHA-256 to paste into coursekit/trained.py's SHIPPED. A run checkpoints like the
lesson does (runtime.checkpoint_dir), so a stopped run resumes where it stopped.

    python benchmarks/train_shipped.py lesson2_dcgan                 # the lesson's full budget
    python benchmarks/train_shipped.py lesson4_pixelcnn --minutes 60 # stop after 60 min of training (recorded)
    python benchmarks/train_shipped.py lesson1_mlp_gan --steps 3 --out /tmp/x   # a smoke test

The last line: RESULT name=NAME steps=... seconds=... fd=... (or nll_nats=...) mb=...
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import coursekit as ck  # noqa: E402
from coursekit import trained  # noqa: E402
from coursekit.metrics.likelihood import binarized_test_set, evaluate_nll  # noqa: E402

# per recipe: the lesson's full-budget numbers (the notebook's `full=` values)
RECIPES = {
    "lesson1_mlp_gan": dict(lesson="01_mlp_gan_mnist", steps=10_000, batch=128, every=1250, log_every=50),
    "lesson2_dcgan": dict(lesson="02_dcgan_flowers", steps=10_000, batch=16, every=2000, log_every=25,
                          kwargs=dict(size=64, width=64)),
    "lesson4_vae": dict(lesson="04_vae_vs_pixelcnn", steps=30_000, batch=128, every=5000, log_every=25,
                        kwargs=dict(z_dim=32)),
    "lesson4_pixelcnn": dict(lesson="04_vae_vs_pixelcnn", steps=8_000, batch=128, every=250, log_every=5,
                             kwargs=dict(channels=64)),
}


def train_gan_recipe(name: str, recipe: dict, device: torch.device, steps: int, max_seconds) -> tuple:
    """Lessons 1 and 2: train_gan with the lesson's callbacks. Returns (G, kwargs, history, evaluations, frames)."""
    if name == "lesson1_mlp_gan":
        test = ck.data.load_mnist(train=False)
        data = ck.data.load_mnist(train=True)
        stick = ck.metrics.DigitQuality(ck.pretrained.mnist_classifier(device), test.subset(2000).images)
        kwargs, z_count = {}, 64
        make_g, make_d = (lambda: ck.nets.MLPGenerator()), (lambda: ck.nets.MLPDiscriminator())
    else:
        data = ck.data.load_flowers102("train+val", recipe["kwargs"]["size"])
        stick = ck.metrics.FlowerQuality(ck.pretrained.flower_net(device), data.subset(2040).images)
        kwargs, z_count = recipe["kwargs"], 32
        make_g = lambda: ck.nets.DCGANGenerator(**kwargs)  # noqa: E731
        make_d = lambda: ck.nets.DCGANDiscriminator(**kwargs)  # noqa: E731
    every = min(recipe["every"], steps)
    samples = ck.callbacks.FixedNoiseSamples(torch.randn(z_count, 100, generator=torch.Generator().manual_seed(1)), every=every)
    evaluate = ck.callbacks.Evaluate(stick, every=every)
    checkpoint = ck.callbacks.Checkpoint(f"shipped-{name}-{steps}", every=every)
    torch.manual_seed(0)
    G, D = make_g().to(device), make_d().to(device)
    history = ck.train.train_gan(G, D, data.batches(recipe["batch"], device), steps=steps, max_seconds=max_seconds,
                                 log_every=min(recipe["log_every"], every), callbacks=[checkpoint, samples, evaluate])
    return G, kwargs, history, evaluate.records, samples.frames


def train_likelihood_recipe(name: str, recipe: dict, device: torch.device, steps: int, max_seconds,
                            compile: bool = False) -> tuple:
    """Lesson 4: train_likelihood; scored by exact NLL (PixelCNN) or the IWAE bound (VAE, K=100) on 1,000 test digits."""
    data, test = ck.data.load_mnist(train=True), ck.data.load_mnist(train=False)
    x_test = binarized_test_set(test.subset(1000, seed=1).images, seed=0)
    kwargs = recipe["kwargs"]
    model_class = trained.MODEL_CLASSES[name]

    def score(model) -> dict:
        options = {"samples": 100} if name == "lesson4_vae" else {}
        return {"nll_nats": evaluate_nll(model, x_test, batch=100, **options)}

    every = min(recipe["every"], steps)
    evaluate = ck.callbacks.Evaluate(score, every=every, model="model")
    widths = "-".join(f"{k}{v}" for k, v in kwargs.items())
    checkpoint = ck.callbacks.Checkpoint(f"shipped-{name}-{widths}-{steps}", every=every)
    torch.manual_seed(0)
    model = model_class(**kwargs).to(device)
    history = ck.train.train_likelihood(model, data.batches(recipe["batch"], device), steps=steps,
                                        max_seconds=max_seconds, log_every=min(recipe["log_every"], every),
                                        compile=compile, callbacks=[checkpoint, evaluate])
    frames = [(evaluate.records[-1]["step"], model.sample(8, torch.Generator().manual_seed(1)) * 2 - 1)]
    return model, kwargs, history, evaluate.records, frames


def sample_grid(name: str, model: torch.nn.Module, device: torch.device) -> torch.Tensor:
    """64 samples of the trained model in [-1, 1] (fixed seed 2)."""
    generator = torch.Generator().manual_seed(2)
    if name.startswith("lesson4"):
        return model.sample(64, generator) * 2 - 1
    return ck.nets.sample(model, torch.randn(64, model.z_dim, generator=generator).to(device)).cpu()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=sorted(RECIPES))
    parser.add_argument("--steps", type=int, default=None, help="fewer steps than the full budget (a smoke test)")
    parser.add_argument("--minutes", type=float, default=None, help="stop training after this many minutes (recorded)")
    parser.add_argument("--out", type=Path, default=None, help="write the files here instead of coursekit/weights "
                                                               "and notebooks/results")
    parser.add_argument("--channels", type=int, default=None, help="lesson4_pixelcnn: another width than the lesson's 64")
    parser.add_argument("--compile", action="store_true", help="lesson 4 models: torch.compile (LikelihoodConfig.compile)")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    recipe = dict(RECIPES[args.name])
    if args.channels:
        if args.name != "lesson4_pixelcnn":
            parser.error("--channels is an option of lesson4_pixelcnn only")
        recipe["kwargs"] = {**recipe["kwargs"], "channels": args.channels}
    device = torch.device(args.device) if args.device else ck.runtime.pick_device()
    steps = args.steps or recipe["steps"]
    max_seconds = args.minutes * 60 if args.minutes else None
    weights_dir = args.out or trained.WEIGHTS_DIR
    results_dir = args.out or ROOT / "notebooks" / "results"
    weights_dir.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    if args.name.startswith("lesson4"):
        fitted = train_likelihood_recipe(args.name, recipe, device, steps, max_seconds, compile=args.compile)
    else:
        fitted = train_gan_recipe(args.name, recipe, device, steps, max_seconds)
    model, kwargs, history, evaluations, frames = fitted
    wall = time.perf_counter() - start
    model.eval()
    done = int(history["step"][-1]) if history.get("step") else steps
    info = {"name": args.name, "lesson": recipe["lesson"], "steps": done, "full_steps": recipe["steps"],
            "batch_size": recipe["batch"], "seed": 0, "seconds": round(history["seconds"][-1] if history.get("seconds") else wall),
            "wall_seconds_with_scoring": round(wall), "machine": ck.runtime.machine_summary(device),
            "threads": torch.get_num_threads(), "compiled": args.compile, "kwargs": kwargs,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "last_scores": {k: v for k, v in evaluations[-1].items() if k != "step"},
            "budget": "full" if done == recipe["steps"] else f"{done:,} of the full budget's {recipe['steps']:,} steps"}
    record = {"history": {k: [float(v) for v in values] for k, values in history.items()},
              "evaluations": evaluations, "frames": trained.frames_to_uint8([(s, x[:8]) for s, x in frames])}
    path = weights_dir / f"{args.name}.pt"
    ck.storage.atomic_save({"state_dict": trained.to_half(model.state_dict()), "kwargs": kwargs,
                            "record": record, "info": info}, path)
    (results_dir / f"{args.name}.json").write_text(json.dumps({**info, "evaluations": evaluations}, indent=1) + "\n")
    grid = sample_grid(args.name, model, device)
    fig, ax = plt.subplots(figsize=(6, 6))
    ck.plot.show_images(grid, nrow=8, ax=ax, title=f"{args.name}: {done:,} steps ({info['machine'].split(':')[0]})")
    fig.savefig(results_dir / f"{args.name}.png", dpi=100, bbox_inches="tight")
    sha = ck.storage.sha256(path)
    print(json.dumps(info, indent=1))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB), sha256={sha}")
    scores = " ".join(f"{k}={v:.4g}" for k, v in info["last_scores"].items() if isinstance(v, (int, float)))
    print(f"RESULT name={args.name} steps={done} seconds={info['seconds']} {scores} mb={path.stat().st_size / 1e6:.2f}")


if __name__ == "__main__":
    main()
