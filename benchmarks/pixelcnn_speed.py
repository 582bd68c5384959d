"""Lesson 4's gated PixelCNN on a CPU: what each speed-up of the training step buys, measured alike.

Every variant trains the lesson's `GatedPixelCNN` on the same 128 real MNIST digits (dynamically
binarized by `loss`), Adam, one optimizer step per step:

  plain            fp32, (B, C, H, W) memory order: the reference (the model as the lesson writes it)
  bf16             + bf16 autocast (native on AVX-512 BF16 / AMX; emulated and slow on AVX2-only CPUs)
  bf16+cl          + channels-last weights (LikelihoodConfig.channels_last, the default)
  bf16+cl+compile  + torch.compile of the forward (LikelihoodConfig.compile; first call compiles, not timed)

Variants are interleaved and repeated; each ratio is the median over repeats of variant / plain
within the repeat, so a shared machine's drifts cancel. Not done: cropping the masked kernels to
the rows and columns they use (the vertical 3x3 uses 2 rows, the horizontal 1x3 two columns): it
would cut the layer's multiply-adds by about 28 % (29 C^2 -> 21 C^2 per pixel with the 1x1s), at
the price of asymmetric padding the lesson's readers must follow; measure it before adopting it.

    python benchmarks/pixelcnn_speed.py [--channels 64 32] [--steps 4] [--repeats 3]

The last line: RESULT channels=... plain_img_s=... bf16_x=... bf16_cl_x=... bf16_cl_compile_x=... (for the first width)
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import coursekit as ck  # noqa: E402
from coursekit.nets import GatedPixelCNN  # noqa: E402

VARIANTS = {"plain": (False, False, False), "bf16": (True, False, False), "bf16+cl": (True, True, False),
            "bf16+cl+compile": (True, True, True)}


def make_step(channels: int, bf16: bool, channels_last: bool, compiled: bool, x: torch.Tensor):
    """A training step (one Adam update) of a fresh seeded model; the first call (compilation) runs here."""
    torch.manual_seed(0)
    model = GatedPixelCNN(channels=channels)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if compiled:
        model.compile()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)

    def step():
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            loss = model.loss(x)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    step()
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, nargs="+", default=[64, 32])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(ck.runtime.machine_summary("cpu"), f"| {torch.get_num_threads()} threads")
    if not ck.runtime.amp_dtype("cpu"):
        print("this CPU has no native bf16: the bf16 rows emulate it (expect them slower than plain)")
    x = ck.data.load_mnist(train=True).images[:128].float() / 127.5 - 1
    first = None
    for channels in args.channels:
        steps = {name: make_step(channels, *flags, x) for name, flags in VARIANTS.items()}
        rates = {name: [] for name in VARIANTS}
        for _ in range(args.repeats):
            for name, step in steps.items():
                start = time.perf_counter()
                for _ in range(args.steps):
                    step()
                rates[name].append(128 * args.steps / (time.perf_counter() - start))
        ratios = {name: statistics.median(r / p for r, p in zip(rates[name], rates["plain"])) for name in VARIANTS}
        print(f"channels {channels}: " + ", ".join(f"{name} {statistics.median(rates[name]):.1f} img/s ({ratios[name]:.2f}x)"
                                                    for name in VARIANTS))
        first = first or (channels, statistics.median(rates["plain"]), ratios)
    channels, plain, ratios = first
    print(f"RESULT channels={channels} plain_img_s={plain:.1f} bf16_x={ratios['bf16']:.2f} "
          f"bf16_cl_x={ratios['bf16+cl']:.2f} bf16_cl_compile_x={ratios['bf16+cl+compile']:.2f}")


if __name__ == "__main__":
    main()
