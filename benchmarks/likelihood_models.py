"""Lesson 4's comparison: a VAE, a gated PixelCNN and the lesson 1 GAN on the same digits.

Data convention (both likelihood models): dynamically binarized MNIST, each pixel drawn as
Bernoulli(intensity) every time a digit is seen; test digits binarized once with seed 0.
That is Burda et al.'s (2015) dynamic convention; the published PixelCNN figure (81.3 nats) is on
the fixed binarization of Salakhutdinov & Murray / Larochelle & Murray, so it compares only roughly.
NLL in nats per image (bits/dim = nats / (784 ln 2)). The VAE's NLL is the importance-weighted
bound with `--iw-samples` draws per digit; the PixelCNN's is exact.

Each model trains with coursekit's engine (`train_likelihood`, `train_gan`) for the same
budget: `--seconds` of training each (and at most its `--*-steps`). Then, on the same held-out
digits: test NLL; seconds to sample `--sample-n` images; Fréchet distance, classes covered and
confident share with the course's MNIST stick on `--fd-n` samples per model. A second VAE is
trained for exactly as many steps as the PixelCNN managed (the same training images): where
the PixelCNN is far slower per image (a CPU), this separates "less data seen" from "worse
model". The plain
reference for speed: PixelCNN sampling with one full forward pass per pixel vs the cached
vertical stack, on the same model and noise (must give identical images).

    python benchmarks/likelihood_models.py --budget cpu          # ≈ 13 min on a shared 2-core CPU
    python benchmarks/likelihood_models.py --budget full --save  # the GPU budget (published-figure run)

`--save` writes notebooks/results/lesson4_likelihood_models.json and lesson4_samples.png.
The last line: RESULT vae_nll_nats=... pixelcnn_nll_nats=... (unit: nats per image, in the keys).
"""
from __future__ import annotations

import argparse
import datetime
import json
import time
from pathlib import Path

import matplotlib
import torch

import coursekit as ck
from coursekit.metrics.likelihood import binarized_test_set, nats_to_bits_per_dim, evaluate_nll
from coursekit.nets import VAE, GatedPixelCNN, eval_mode, sample_pixel_by_pixel

SAME = "VAE, PixelCNN's steps"   # the VAE trained on as many images as the PixelCNN saw
RESULTS = Path(__file__).resolve().parents[1] / "notebooks" / "results"
BATCH = 128

BUDGETS = {  # per model: at most `steps`, and at most `seconds` of training (None: no time limit)
    "full": dict(seconds=None, vae_steps=100_000, pixelcnn_steps=40_000, gan_steps=30_000, channels=64,
                 z_dim=32, test=10_000, iw_samples=1000, fd_n=5000, sample_n=64),
    "cpu": dict(seconds=150, vae_steps=100_000, pixelcnn_steps=100_000, gan_steps=100_000, channels=32,
                z_dim=32, test=500, iw_samples=100, fd_n=200, sample_n=64),
    "tiny": dict(seconds=None, vae_steps=3, pixelcnn_steps=3, gan_steps=3, channels=4,
                 z_dim=4, test=20, iw_samples=4, fd_n=8, sample_n=4),
}


def train(steps, seconds, seed, fit, log_every=50) -> tuple[int, float]:
    """Train with coursekit's engine; returns (steps done, training images per second).

    The engine checks max_seconds after every step (a clock read), so training stops at most one step past it.
    """
    history = fit(steps=steps, max_seconds=seconds, seed=seed, log_every=min(log_every, steps), progress=False)
    return history["step"][-1], history["step"][-1] * BATCH / history["seconds"][-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="cpu")
    for key, value in BUDGETS["cpu"].items():  # every budget number can be overridden
        parser.add_argument(f"--{key.replace('_', '-')}", type=float if key == "seconds" else int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", action="store_true", help="write the JSON and PNG under notebooks/results/")
    args = parser.parse_args()
    b = {k: (getattr(args, k) if getattr(args, k) is not None else v) for k, v in BUDGETS[args.budget].items()}
    device = ck.runtime.pick_device()
    machine = ck.runtime.machine_summary(device)
    print(machine)
    print("budget:", args.budget, b)
    started = time.perf_counter()

    mnist, test = ck.data.load_mnist(train=True), ck.data.load_mnist(train=False)
    x_test = binarized_test_set(test.subset(b["test"], seed=1).images, seed=0)   # (N, 1, 28, 28) in {0, 1}
    classifier = ck.pretrained.mnist_classifier(device)
    quality = ck.metrics.DigitQuality(classifier, test.subset(max(b["fd_n"], 2), seed=2).images)

    rows = {}

    def batches():  # every model sees the same shuffled stream of training digits
        return mnist.batches(BATCH, device, seed=args.seed)

    # --- the VAE
    torch.manual_seed(args.seed)
    vae = VAE(z_dim=b["z_dim"]).to(device)
    steps, img_s = train(b["vae_steps"], b["seconds"], args.seed,
                         lambda **kw: ck.train.train_likelihood(vae, batches(), **kw))
    nll = evaluate_nll(vae, x_test, samples=b["iw_samples"], batch=100)
    elbo = evaluate_nll(vae, x_test)
    images, secs, fd_images = draw(vae, b, args.seed)
    print(f"VAE: {steps} steps, {img_s:.0f} img/s, test NLL {nll:.2f} nats", flush=True)
    rows["VAE"] = {"nll_nats": nll, "elbo_nats": elbo, "steps": steps, "train_img_s": img_s,
                   "train_s": steps * BATCH / img_s,
                   "sample_s": secs, "params": ck.nets.count_parameters(vae),
                   **quality.score_images(fd_images * 2 - 1), "images": images * 2 - 1}
    # --- the gated PixelCNN
    torch.manual_seed(args.seed)
    pcnn = GatedPixelCNN(channels=b["channels"]).to(device)
    steps, img_s = train(b["pixelcnn_steps"], b["seconds"], args.seed,
                         lambda **kw: ck.train.train_likelihood(pcnn, batches(), **kw),
                         log_every=2)
    nll = evaluate_nll(pcnn, x_test, batch=100)
    images, secs, fd_images = draw(pcnn, b, args.seed)
    print(f"PixelCNN: {steps} steps, {img_s:.0f} img/s, test NLL {nll:.2f} nats, "
          f"{secs:.1f} s for {b['sample_n']} samples", flush=True)
    rows["PixelCNN"] = {"nll_nats": nll, "steps": steps, "train_img_s": img_s, "train_s": steps * BATCH / img_s,
                        "sample_s": secs, "params": ck.nets.count_parameters(pcnn),
                        **quality.score_images(fd_images * 2 - 1), "images": images * 2 - 1}
    # the VAE again, for exactly as many steps (training images) as the PixelCNN managed: likelihood per data seen
    torch.manual_seed(args.seed)
    vae_same = VAE(z_dim=b["z_dim"]).to(device)
    same_steps, same_img_s = train(steps, None, args.seed,
                                   lambda **kw: ck.train.train_likelihood(vae_same, batches(), **kw))
    same_images, same_secs, same_fd = draw(vae_same, b, args.seed)
    rows[SAME] = {"nll_nats": evaluate_nll(vae_same, x_test, samples=b["iw_samples"], batch=100),
                  "steps": same_steps, "train_img_s": same_img_s, "train_s": same_steps * BATCH / same_img_s,
                  "sample_s": same_secs, "params": rows["VAE"]["params"], **quality.score_images(same_fd * 2 - 1),
                  "images": same_images * 2 - 1}
    print(f"VAE for the PixelCNN's {steps} steps: test NLL {rows[SAME]['nll_nats']:.2f} nats",
          flush=True)
    # the plain reference for sampling: one full forward pass per pixel (same model, same noise)
    n_ref = 1
    start = time.perf_counter()
    ref = sample_pixel_by_pixel(pcnn.eval(), n_ref, torch.Generator().manual_seed(args.seed))
    ref_s = time.perf_counter() - start
    cached, cached_s = sample_timed(pcnn, n_ref, seed=args.seed)
    if not torch.equal(ref, cached):
        raise SystemExit("cached PixelCNN sampling differs from the plain pixel-by-pixel loop: a bug")
    speedup = ref_s / cached_s
    # --- the lesson 1 GAN at the same budget
    torch.manual_seed(args.seed)
    G, D = ck.nets.MLPGenerator().to(device), ck.nets.MLPDiscriminator().to(device)
    history = ck.train.train_gan(G, D, mnist.batches(BATCH, device, seed=args.seed), steps=b["gan_steps"],
                                 max_seconds=b["seconds"], seed=args.seed, log_every=min(50, b["gan_steps"]),
                                 progress=False)
    start = time.perf_counter()
    z = torch.randn(b["sample_n"], G.z_dim, generator=torch.Generator().manual_seed(0))
    images = ck.nets.sample(G, z.to(device))
    secs = time.perf_counter() - start
    z = torch.randn(b["fd_n"], G.z_dim, generator=torch.Generator().manual_seed(1))
    fd_images = ck.nets.sample(G, z.to(device))
    rows["GAN (lesson 1)"] = {"nll_nats": None, "steps": history["step"][-1],
                              "train_img_s": history["step"][-1] * BATCH / history["seconds"][-1],
                              "train_s": history["seconds"][-1], "sample_s": secs,
                              "params": ck.nets.count_parameters(G), **quality.score_images(fd_images),
                              "images": images}
    # --- references: real digits, and real digits binarized (what a perfect binary model would draw)
    real = ck.data.load_mnist(train=True).subset(b["fd_n"], seed=3).images
    floors = {"real digits": quality.score_images(real),
              "real digits, binarized": quality.score_images(binarize_to_pm1(real))}

    print(f"\n{'model':22s} {'NLL nats':>9s} {'bits/dim':>8s} {'FD':>7s} {'classes':>7s} {'params':>9s} "
          f"{'steps':>7s} {'train s':>7s} {'train img/s':>11s} {'s / ' + str(b['sample_n']) + ' samples':>15s}")
    for name, r in rows.items():
        nll = (f"{r['nll_nats']:9.2f} {nats_to_bits_per_dim(r['nll_nats']):8.4f}" if r["nll_nats"]
               else f"{'-':>9s} {'-':>8s}")
        print(f"{name:22s} {nll} {r['fd']:7.2f} {r['classes']:7d} {r['params']:9,d} {r['steps']:7d} "
              f"{r['train_s']:7.0f} {r['train_img_s']:11.0f} {r['sample_s']:15.3f}")
    for name, r in floors.items():
        print(f"{name:22s} {'':18s} {r['fd']:7.2f} {r['classes']:7d}")
    print(f"VAE: IWAE bound with K={b['iw_samples']} samples per digit; -ELBO {rows['VAE']['elbo_nats']:.2f} nats. "
          f"Test digits: {len(x_test)}. FD on {b['fd_n']} samples per model.")
    print(f"PixelCNN sampling, {n_ref} images: plain loop {ref_s:.2f} s, cached vertical stack {cached_s:.2f} s "
          f"(speedup {speedup:.1f}, identical images)")
    wall = time.perf_counter() - started
    print(f"wall time {wall:.0f} s")

    if args.save:
        save(args.budget, b, machine, rows, floors, speedup, wall)
    v, p = rows["VAE"], rows["PixelCNN"]
    print(f"RESULT vae_nll_nats={v['nll_nats']:.2f} pixelcnn_nll_nats={p['nll_nats']:.2f} "
          f"pixelcnn_bpd={nats_to_bits_per_dim(p['nll_nats']):.4f} "
          f"pixelcnn_sample_s_per_img={p['sample_s'] / b['sample_n']:.4f} "
          f"vae_sample_s_per_img={v['sample_s'] / b['sample_n']:.5f} "
          f"vae_img_s={v['train_img_s']:.0f} pixelcnn_img_s={p['train_img_s']:.0f} "
          f"vae_fd={v['fd']:.2f} pixelcnn_fd={p['fd']:.2f} gan_fd={rows['GAN (lesson 1)']['fd']:.2f} "
          f"sampling_speedup={speedup:.2f} vae_at_pixelcnn_steps_nll_nats={rows[SAME]['nll_nats']:.2f} "
          f"pixelcnn_steps={p['steps']} vae_steps={v['steps']}")


def sample_timed(model: torch.nn.Module, n: int, seed: int = 0) -> tuple[torch.Tensor, float]:
    """model.sample(n) in eval mode with a seeded generator -> (images (n, 1, 28, 28) on the CPU, seconds)."""
    start = time.perf_counter()
    with eval_mode(model):
        images = model.sample(n, generator=torch.Generator().manual_seed(seed))
    return images, time.perf_counter() - start


def draw(model, b: dict, seed: int) -> tuple[torch.Tensor, float, torch.Tensor]:
    """(sample_n timed samples, their seconds, fd_n samples for FD: the timed ones and more)."""
    images, secs = sample_timed(model, b["sample_n"], seed=seed)
    more = sample_timed(model, b["fd_n"] - b["sample_n"], seed=seed + 1)[0] if b["fd_n"] > b["sample_n"] else images[:0]
    return images, secs, torch.cat([images, more])[: b["fd_n"]]


def binarize_to_pm1(images: torch.Tensor) -> torch.Tensor:
    """uint8 digits -> one seeded stochastic binarization, as floats in {-1, 1}."""
    return binarized_test_set(images, seed=0) * 2 - 1


def save(budget: str, b: dict, machine: str, rows: dict, floors: dict, speedup: float, wall: float) -> None:
    """notebooks/results/lesson4_likelihood_models.json + lesson4_samples.png (64 samples per model)."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    RESULTS.mkdir(parents=True, exist_ok=True)
    shown = {k: v for k, v in rows.items() if k in ("VAE", "PixelCNN", "GAN (lesson 1)")}
    fig, axes = plt.subplots(1, len(shown), figsize=(4 * len(shown), 4.3))
    for ax, (name, r) in zip(axes, shown.items()):
        ck.plot.show_images(r["images"], nrow=8, title=name, ax=ax)
    fig.tight_layout()
    fig.savefig(RESULTS / "lesson4_samples.png", dpi=80)
    data = {"budget": budget, "settings": b, "machine": machine,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "wall_seconds": round(wall), "batch_size": BATCH, "threads": torch.get_num_threads(),
            "convention": "dynamically binarized MNIST, Bernoulli pixels, NLL in nats per image; test digits "
                          "binarized once (seed 0); VAE NLL = importance-weighted bound",
            "models": {name: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items() if k != "images"}
                       for name, r in rows.items()},
            "references": {name: {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}
                           for name, r in floors.items()},
            "pixelcnn_sampling_speedup_vs_plain_loop": round(speedup, 2)}
    (RESULTS / "lesson4_likelihood_models.json").write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {RESULTS / 'lesson4_likelihood_models.json'} and lesson4_samples.png")


if __name__ == "__main__":
    main()
