"""Lesson 4's gated PixelCNN on a CPU: what each speed-up of the training step buys, measured alike.

Every variant trains the lesson's `GatedPixelCNN` on the same 128 real MNIST digits (dynamically
binarized by `loss`), Adam, one optimizer step per step:

  plain            fp32, (B, C, H, W) memory order: the reference (the model as the lesson writes it)
  bf16             + bf16 autocast (native on AVX-512 BF16 / AMX; emulated and slow on AVX2-only CPUs)
  bf16+cl          + channels-last weights (LikelihoodConfig.channels_last, the default)
  bf16+cl+compile  + torch.compile of the forward (LikelihoodConfig.compile; first call compiles, not timed)

  crop, bf16+cl+crop   plain and bf16+cl with every masked kernel cropped to the rows and columns its
                   mask keeps (the vertical 3x3 uses 2 rows, the horizontal 1x3 two columns), the input
                   padded on one side instead: the same function (checked), about 28 % fewer
                   multiply-adds per gated layer (29 C^2 -> 21 C^2 per pixel with the 1x1s). An
                   experiment, not coursekit's model: on a 2-core Xeon with AMX (64 channels, 2 threads)
                   crop was 1.10x plain in fp32, but bf16+cl+crop 3.25x against bf16+cl's 3.84x (the
                   padding copies and the odd kernel shapes cost more than the products saved), so
                   the lesson keeps its masks, which it can show.

Variants are interleaved and repeated; each ratio is the median over repeats of variant / plain
within the repeat, so a shared machine's drifts cancel.

    python benchmarks/pixelcnn_speed.py [--channels 64 32] [--steps 4] [--repeats 3]

The last line: RESULT channels=... plain_img_s=... bf16_x=... bf16_cl_x=... bf16_cl_compile_x=... crop_x=...
bf16_cl_crop_x=... (for the first width)
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import coursekit as ck  # noqa: E402
from coursekit.nets import GatedPixelCNN  # noqa: E402
from coursekit.nets.pixelcnn import StackConv  # noqa: E402

# name: (bf16 autocast, channels-last, torch.compile, cropped kernels)
VARIANTS = {"plain": (False, False, False, False), "bf16": (True, False, False, False),
            "bf16+cl": (True, True, False, False), "bf16+cl+compile": (True, True, True, False),
            "crop": (False, False, False, True), "bf16+cl+crop": (True, True, False, True)}


class CroppedStackConv(nn.Module):
    """A StackConv with only the kernel rows (vertical) or columns (horizontal) its mask keeps.

    The kept taps sit at offsets -p .. -p + d*(k'-1) from the output pixel (p: the first one's
    distance, d: dilation, k': kept rows or columns), so the input is padded by p before and
    d*(k'-1) - p after (negative: cropped) along that axis, and by the usual amount across.
    """

    def __init__(self, conv: StackConv):
        super().__init__()
        axis = 0 if conv.kind == "vertical" else 1
        kept = conv.mask.any(dim=1 - axis).nonzero().flatten().tolist()   # kernel rows (or columns) with a 1
        centre, d = conv.weight.shape[2 + axis] // 2, conv.dilation[axis]
        weight = conv.weight.detach().narrow(2 + axis, kept[0], kept[-1] - kept[0] + 1)
        self.weight, self.bias = nn.Parameter(weight.clone()), nn.Parameter(conv.bias.detach().clone())
        self.dilation, before = conv.dilation, d * (centre - kept[0])
        after = d * (len(kept) - 1) - before
        across = conv.padding[1 - axis]
        self.pad = (across, across, before, after) if axis == 0 else (before, after, 0, 0)   # F.pad: (left, right, top, bottom)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, self.pad), self.weight, self.bias, dilation=self.dilation)


def crop_masked_kernels(model: GatedPixelCNN) -> GatedPixelCNN:
    """The same model with every StackConv cropped (checked to compute the same logits)."""
    cropped = copy.deepcopy(model)
    for module in list(cropped.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, StackConv):
                setattr(module, name, CroppedStackConv(child))
    probe = (torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    with torch.no_grad():
        assert torch.allclose(model(probe), cropped(probe), atol=1e-5), "cropping changed the model's function"
    return cropped


def make_step(channels: int, bf16: bool, channels_last: bool, compiled: bool, crop: bool, x: torch.Tensor):
    """A training step (one Adam update) of a fresh seeded model; the first call (compilation) runs here."""
    torch.manual_seed(0)
    model = GatedPixelCNN(channels=channels)
    if crop:
        model = crop_masked_kernels(model)
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
          f"bf16_cl_x={ratios['bf16+cl']:.2f} bf16_cl_compile_x={ratios['bf16+cl+compile']:.2f} crop_x={ratios['crop']:.2f} "
          f"bf16_cl_crop_x={ratios['bf16+cl+crop']:.2f}")


if __name__ == "__main__":
    main()
