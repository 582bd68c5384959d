"""Every lesson's full budget, projected on paper for a Colab T4: time and memory, phase by phase.

Nothing here runs on a GPU. Each phase of a lesson (a training loop, a sampling or evaluation call)
runs on this CPU at the lesson's FULL sizes for one and for three steps (or once, on a slice of its
batch), under a dispatch mode that sees every aten operation:

- FLOPs of each operation from `torch.utils.flop_counter` (matmuls and convolutions, forward and
  backward; under inference mode, which dispatches conv2d and linear whole, 2 x outputs x weights per
  output, the same count); the optimizer's update (fused Adam) and every elementwise op count as memory traffic;
- memory traffic: the bytes of each operation's inputs and outputs (no cache reuse: an upper bound);
- kernel launches: every operation that is not a view, a reshape or an allocation;
- time of one operation on a T4: max(FLOPs / sustained FLOP rate, bytes / sustained bandwidth)
  + the per-launch cost; summed over operations (a per-operation roofline, no overlap);
- memory: parameters, gradients and Adam's two moments (fp32), the data set on the device, the
  tensors autograd saves for the backward pass (`torch.autograd.graph.saved_tensors_hooks`, each
  storage once) and the largest single operation's inputs + outputs; for sampling and evaluation,
  the peak of the tensors alive at once (tracked through the dispatch mode).
The per-step figures are the difference between the 3-step and the 1-step run (so set-up costs once),
times the lesson's full step count read from the notebook (each number is checked against the
notebook's source: the script stops if a notebook changed). Mixed precision: the CPU runs the course's
bf16 autocast as a stand-in for the T4's fp16 autocast (same 2-byte tensors, same autocast op lists
for convolutions and matmuls): FLOPs in 16-bit inputs count at the tensor-core rate, the rest at fp32.

The T4 (NVIDIA T4 datasheet): 65 TFLOPS fp16 tensor-core peak, 8.1 TFLOPS fp32 peak, 320 GB/s,
16 GB (about 15 usable). The sustained fractions below are ASSUMPTIONS, not measurements: small
convolutions (32-128 channels) on a 70 W card that lowers its clock under load reach a fraction of
peak. The per-launch cost is PyTorch's eager dispatch on Colab's 2-vCPU host, which the GPU waits on
when kernels are short.

    python benchmarks/gpu_projection.py                 # all lessons, about 5-10 min on a 2-core CPU
    python benchmarks/gpu_projection.py --lessons 4 6   # some
    python benchmarks/gpu_projection.py --save          # writes notebooks/results/gpu_projection.json

Last line: RESULT lesson1_t4_min=... lesson1_t4_gb=... ... worst_t4_min=... worst_t4_gb=...
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import re
import time
import weakref
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode

import coursekit as ck

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "notebooks" / "results"

T4 = {"fp16_tensor_tflops": 65.0, "fp32_tflops": 8.1, "bandwidth_gb_s": 320.0, "memory_gb": 16.0,
      "source": "NVIDIA T4 datasheet (peak figures)"}
ASSUMED = {"fp16_tensor_fraction": 0.25, "fp32_fraction": 0.5, "bandwidth_fraction": 0.65, "launch_us": 12.0,
           "cuda_context_gb": 0.4, "allocator_overhead": 0.2,
           "why": "assumptions, not measurements: small convolutions and matmuls reach a quarter of the tensor-core "
                  "peak at best on a clock-throttled 70 W T4; elementwise kernels about 2/3 of the bandwidth; "
                  "PyTorch eager spends about 10-15 us of host time per operation on Colab's 2-vCPU host; "
                  "the CUDA context takes about 0.4 GB outside PyTorch's allocator, and the caching allocator "
                  "holds about 20 % more than the live tensors"}
GOAL = {"minutes": 15.0, "gb": 12.0}
NO_KERNEL = {"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "_unsafe_view", "lift_fresh",
             "detach", "alias", "set_", "resize_", "view", "_reshape_alias", "as_strided", "expand", "t", "transpose",
             "permute", "unsqueeze", "squeeze", "select", "slice", "split", "unbind", "split_with_sizes", "chunk",
             "narrow", "unfold", "diagonal", "view_as", "reshape", "flatten", "movedim", "_to_copy_noop"}
LOW_PRECISION = (torch.float16, torch.bfloat16)


def _conv_or_linear_flops(func, args, out) -> int:
    """FLOPs of the composite ops that inference mode dispatches whole (flop_counter counts their parts)."""
    name = func._overloadpacket.__name__
    x, weight = args[0], args[1]
    if name == "linear":
        return 2 * out.numel() * weight.shape[1]
    if name.startswith("conv_transpose"):
        return 2 * x.numel() * weight[0].numel()
    if name.startswith("conv"):
        return 2 * out.numel() * weight[0].numel()
    return 0


COMPOSITE_FLOPS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def _bytes(t: torch.Tensor) -> int:
    if t.device.type == "meta":
        return 0
    return min(t.numel() * t.element_size(), t.untyped_storage().nbytes())


class Meter(TorchDispatchMode):
    """Counts, per aten operation: FLOPs (16-bit or fp32 inputs), bytes in + out, launches, the T4
    roofline time, and the peak bytes of tensors created inside it that are alive at once."""

    def __init__(self):
        super().__init__()
        self.registry = FlopCounterMode(display=False).flop_registry
        self.flops_low = self.flops_fp32 = self.bytes = self.launches = 0
        self.seconds = 0.0
        self.largest_op = 0
        self.live, self.live_bytes, self.peak_live = {}, 0, 0
        self.tc = T4["fp16_tensor_tflops"] * 1e12 * ASSUMED["fp16_tensor_fraction"]
        self.fp32 = T4["fp32_tflops"] * 1e12 * ASSUMED["fp32_fraction"]
        self.bw = T4["bandwidth_gb_s"] * 1e9 * ASSUMED["bandwidth_fraction"]

    def _track(self, t: torch.Tensor) -> None:
        key = t.untyped_storage().data_ptr()
        if key == 0:
            return
        if key not in self.live:
            self.live[key] = [t.untyped_storage().nbytes(), 0]
            self.live_bytes += self.live[key][0]
            self.peak_live = max(self.peak_live, self.live_bytes)
        self.live[key][1] += 1
        weakref.finalize(t, self._release, key)

    def _release(self, key) -> None:
        entry = self.live.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] <= 0:
            self.live_bytes -= entry[0]
            del self.live[key]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = func._overloadpacket.__name__.rstrip("_") if not func._overloadpacket.__name__.startswith("_") \
            else func._overloadpacket.__name__
        outs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        for t in outs:
            self._track(t)
        is_view = any(r.alias_info is not None and not r.alias_info.is_write for r in func._schema.returns)
        if is_view or name in NO_KERNEL:
            return out
        ins = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        moved = sum(_bytes(t) for t in ins) + sum(_bytes(t) for t in outs)
        if func._overloadpacket in self.registry:
            flops = self.registry[func._overloadpacket](*args, **kwargs, out_val=out)
        elif func._overloadpacket.__name__ in COMPOSITE_FLOPS:
            flops = _conv_or_linear_flops(func, args, out)
        else:
            flops = 0
        low = any(t.dtype in LOW_PRECISION for t in ins)
        if low:
            self.flops_low += flops
        else:
            self.flops_fp32 += flops
        self.bytes += moved
        self.launches += 1
        self.largest_op = max(self.largest_op, moved)
        self.seconds += max(flops / (self.tc if low else self.fp32), moved / self.bw) + ASSUMED["launch_us"] * 1e-6
        return out

    def totals(self) -> dict:
        return {"gflops_16bit": self.flops_low / 1e9, "gflops_fp32": self.flops_fp32 / 1e9, "gbytes": self.bytes / 1e9,
                "launches": self.launches, "t4_seconds": self.seconds}


def measure(fn) -> tuple[dict, int, int, int]:
    """Run fn() under a Meter and a saved-tensors hook: (totals, saved-for-backward bytes, largest op bytes, live peak)."""
    saved: dict[int, int] = {}

    def pack(t):
        if t.device.type != "meta":
            saved.setdefault(t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), Meter() as meter:
        fn()
    return meter.totals(), sum(saved.values()), meter.largest_op, meter.peak_live


def state_bytes(*models, train: bool = True) -> int:
    """Parameters (and, training, their gradients and Adam's two moments), plus buffers."""
    params = sum(p.numel() * 4 for m in models for p in m.parameters())
    buffers = sum(b.numel() * b.element_size() for m in models for b in m.buffers())
    return params * (4 if train else 1) + buffers


# ---------------------------------------------------------------- phases
class Lesson:
    """A lesson's phases: each a projected T4 time and memory; the notebook's numbers are checked against its source."""

    def __init__(self, number: int, notebook: str):
        self.number, self.path = number, REPO / "notebooks" / notebook
        self.source = "\n".join("".join(c["source"]) for c in json.loads(self.path.read_text())["cells"])
        self.phases: list[dict] = []

    def full(self, text: str, value):
        """`value`, after checking that the notebook's source holds `text` (e.g. 'steps(full=10_000')."""
        if text not in self.source:
            raise SystemExit(f"{self.path.name} no longer holds {text!r}: update benchmarks/gpu_projection.py")
        return value

    def train(self, name: str, run, steps: int, models, data_bytes: int = 0, times: int = 1) -> None:
        """run(k) trains k steps from scratch; projected: fixed + per step x steps, `times` such runs."""
        one, saved1, largest1, _ = measure(lambda: run(1))
        three, saved3, largest3, _ = measure(lambda: run(3))
        per_step = {k: (three[k] - one[k]) / 2 for k in one}
        fixed = {k: max(one[k] - per_step[k], 0.0) for k in one}
        seconds = times * (fixed["t4_seconds"] + per_step["t4_seconds"] * steps)
        memory = state_bytes(*models) + data_bytes + saved1 + max(largest1, largest3)
        self.phases.append({"phase": name, "kind": "training", "steps": steps, "runs": times,
                            "per_step": _rounded(per_step), "saved_activations_gb": saved1 / 1e9,
                            "t4_seconds": seconds, "t4_memory_gb": _gpu_gb(memory)})
        print(f"  {name}: {per_step['gflops_16bit'] + per_step['gflops_fp32']:.2f} GFLOP, {per_step['launches']:.0f} launches "
              f"per step; {times} x {steps:,} steps: {seconds / 60:.2f} min, {_gpu_gb(memory):.2f} GB", flush=True)

    def evaluate(self, name: str, call, scale: float = 1.0, calls: int = 1, models=(), data_bytes: int = 0) -> None:
        """call() once (on a slice of the full batch: FLOPs, bytes and live memory x `scale`), `calls` times."""
        totals, _, largest, live = measure(call)
        per_call = {k: (v * scale if k != "launches" else v) for k, v in totals.items()}
        per_call["t4_seconds"] = totals["t4_seconds"] * scale - (scale - 1) * totals["launches"] * ASSUMED["launch_us"] * 1e-6
        seconds = calls * per_call["t4_seconds"]
        memory = state_bytes(*models, train=False) + data_bytes + max(live, largest) * scale
        self.phases.append({"phase": name, "kind": "sampling / evaluation", "calls": calls, "per_call": _rounded(per_call),
                            "t4_seconds": seconds, "t4_memory_gb": _gpu_gb(memory)})
        print(f"  {name}: {per_call['gflops_16bit'] + per_call['gflops_fp32']:.2f} GFLOP, {per_call['launches']:.0f} launches "
              f"per call; {calls} call(s): {seconds / 60:.2f} min, {_gpu_gb(memory):.2f} GB", flush=True)

    def summary(self) -> dict:
        minutes = sum(p["t4_seconds"] for p in self.phases) / 60
        gb = max((p["t4_memory_gb"] for p in self.phases), default=0.0)
        return {"notebook": self.path.name, "t4_minutes": round(minutes, 2), "t4_peak_gb": round(gb, 2),
                "within_goal": minutes <= GOAL["minutes"] and gb <= GOAL["gb"], "phases": self.phases}


def _gpu_gb(live_bytes: float) -> float:
    return live_bytes * (1 + ASSUMED["allocator_overhead"]) / 1e9 + ASSUMED["cuda_context_gb"]


def _rounded(d: dict) -> dict:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


def uint8_bytes(images: torch.Tensor) -> int:
    return images.numel()


# ---------------------------------------------------------------- the lessons
def lesson1(mnist, test) -> Lesson:
    L = Lesson(1, "01_mlp_gan_mnist.ipynb")
    steps = L.full("steps(full=10_000, quick=1000)", 10_000)
    data = uint8_bytes(mnist.images)

    def gan(k, precision="bf16"):
        torch.manual_seed(0)
        G, D = ck.nets.MLPGenerator(), ck.nets.MLPDiscriminator()
        ck.train.train_gan(G, D, mnist.batches(128, "cpu", seed=0), steps=k, precision=precision, progress=False)
    G, D = ck.nets.MLPGenerator(), ck.nets.MLPDiscriminator()
    L.train("the step written out + train_gan check (fp32, 2 x 20 steps)", lambda k: gan(k, "fp32"), 20, (G, D), data, times=2)
    L.train("MLP GAN, batch 128 (train_gan)", gan, steps, (G, D), data)
    quality = ck.metrics.DigitQuality(ck.pretrained.mnist_classifier("cpu", verbose=False), test.subset(2000).images)
    evaluations = steps // max(steps // 8, 50) + 1
    L.evaluate("FD + classes on 2,000 samples (Evaluate callback)", lambda: quality(G), calls=evaluations, models=(G,))
    return L


def lesson2(flowers) -> Lesson:
    L = Lesson(2, "02_dcgan_flowers.ipynb")
    size = L.full("size = ck.runtime.budget(full=64, quick=32)", 64)
    width = L.full("width = ck.runtime.budget(full=64, quick=16)", 64)
    steps = L.full("steps = ck.runtime.steps(full=10_000, quick=200)", 10_000)
    d_steps = L.full("steps=ck.runtime.steps(full=500, quick=50), width=d_width)", 500)
    mine_steps = L.full("steps=ck.runtime.steps(full=2000, quick=20)", 2000)
    table = json.loads((RESULTS / "lesson2_experiments.json").read_text())["budgets"]["full"]
    assert table["size"] == size and table["width"] == width, table
    data = uint8_bytes(flowers.images)

    def d_only(k):  # the notebook's train_d_against: a fresh D against a fixed G, batch 32
        torch.manual_seed(0)
        G, D = ck.nets.DCGANGenerator(size=size, width=width), ck.nets.DCGANDiscriminator(size=size, width=width)
        opt = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        photos = flowers.batches(32, "cpu", seed=0)
        for _ in range(k):
            real = photos.next_batch()
            with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
                fake = G(torch.randn(32, 100))
            with torch.autocast("cpu", torch.bfloat16):
                loss = (torch.nn.functional.binary_cross_entropy_with_logits(D(real).float(), torch.full((32,), 0.9))
                        + torch.nn.functional.binary_cross_entropy_with_logits(D(fake).float(), torch.zeros(32)))
            opt.zero_grad(); loss.backward(); opt.step()
    G, D = ck.nets.DCGANGenerator(size=size, width=width), ck.nets.DCGANDiscriminator(size=size, width=width)
    L.train("D against a fixed G, batch 32 (3 label settings, hand-written loop)", d_only, d_steps, (G, D), data, times=3)

    def dcgan(batch, g_opts=None, d_opts=None, photos=None, **options):
        def run(k):
            torch.manual_seed(0)
            G = ck.nets.DCGANGenerator(size=size, width=width, **(g_opts or {}))
            D = ck.nets.DCGANDiscriminator(size=size, width=width, **(d_opts or {}))
            ck.train.train_gan(G, D, (photos or flowers).batches(batch, "cpu"), steps=k, precision="bf16", progress=False,
                               **options)
        return run
    L.train(f"DCGAN {size} px, width {width}, batch 16 (train_gan)", dcgan(16), steps, (G, D), data)
    stick = ck.pretrained.flower_net("cpu", verbose=False)
    quality = ck.metrics.FlowerQuality(stick, flowers.images)
    evaluations = steps // max(steps // 5, 50) + 1
    L.evaluate(f"FD + hue on {len(flowers)} samples (Evaluate callback)", lambda: quality(G), calls=evaluations, models=(G, stick))
    experiments = {"batch 16 (7 configurations: base, 3 label settings, instance noise, uniform z, 500 photos)": (16, {}, {}, {}, 7),
                   "batch 8": (8, {}, {}, {}, 1), "batch 32": (32, {}, {}, {}, 1),
                   "dropout 0.3 in D": (16, {}, {"dropout": 0.3}, {}, 1),
                   "minibatch discrimination": (16, {}, {"minibatch_discrimination": True}, {}, 1),
                   "upsampling G": (16, {"upsample": "nearest"}, {}, {}, 1), "extra G layer": (16, {"extra_layer": True}, {}, {}, 1)}
    for name, (batch, g_opts, d_opts, options, times) in experiments.items():
        run_steps = max(1, round(table["epochs"] * len(flowers) / batch))
        L.train(f"experiment table: {name}, {run_steps:,} steps", dcgan(batch, g_opts, d_opts, **options), run_steps, (G, D),
                data, times=times)
    L.evaluate("experiment table: FD + hue per configuration", lambda: quality(G), calls=13, models=(G, stick))
    mine = flowers.subset(48)
    Gs, Ds = ck.nets.DCGANGenerator(size=size, width=16), ck.nets.DCGANDiscriminator(size=size, width=16)

    def own(k):
        torch.manual_seed(0)
        ck.train.train_gan(ck.nets.DCGANGenerator(size=size, width=16), ck.nets.DCGANDiscriminator(size=size, width=16),
                           mine.batches(16, "cpu"), steps=k, precision="bf16", progress=False)
    L.train("your own photos: width 16, batch 16", own, mine_steps, (Gs, Ds), uint8_bytes(mine.images))
    return L


def lesson3(mnist, test) -> Lesson:
    L = Lesson(3, "03_gan_pitfalls.ipynb")
    toy_steps = L.full("toy_steps = ck.runtime.steps(full=10_000, quick=500)", 10_000)
    seeds = L.full("seeds = list(range(ck.runtime.budget(full=10, quick=3)))", 10)
    mnist_steps = L.full("mnist_steps = ck.runtime.steps(full=5000, quick=40)", 5000)
    d_steps = L.full("d_steps = ck.runtime.steps(full=2000, quick=100)", 2000)
    stage = L.full("stage_steps, fade_steps = ck.runtime.steps(full=3000, quick=8)", 3000)
    n_ref = L.full("subset(ck.runtime.budget(full=10_000, quick=500))", 10_000)
    from coursekit import toy
    from coursekit.nets import ToyDiscriminator, ToyGenerator
    ring = toy.ring()
    G, D = ToyGenerator(), ToyDiscriminator()
    L.train("one toy GAN (train_one, fp32)", lambda k: toy.train_one(ring, ToyGenerator, ToyDiscriminator, seed=2, steps=k,
                                                                   batch_size=64), toy_steps, (G, D))
    for runs, times, what in ((2 * seeds, 2, "plain + smoothing, ring and grid"), (seeds, 3, "fixes (minibatch, PacGAN) and packed grid"),
                              (5 * seeds, 1, "learning-rate sweep"), (3 * seeds, 1, "beta1 sweep")):
        L.train(f"train_many: {runs} toy GANs at once ({what})",
                lambda k, runs=runs: toy.train_many(ring, ToyGenerator, ToyDiscriminator, range(runs), steps=k, batch_size=64),
                toy_steps, (G, D), times=times)
    data = uint8_bytes(mnist.images)

    def digits(k):
        torch.manual_seed(0)
        ck.train.train_gan(ck.nets.MLPGenerator(), ck.nets.MLPDiscriminator(), mnist.batches(64, "cpu"), steps=k,
                           track_grad_norm=True, precision="bf16", progress=False)
    Gm, Dm = ck.nets.MLPGenerator(), ck.nets.MLPDiscriminator()
    L.train("MLP GAN on digits, batch 64 (collapse 2, learning rates 3, balance 6)", digits, mnist_steps, (Gm, Dm), data, times=11)
    stick = ck.metrics.DigitQuality(ck.pretrained.mnist_classifier("cpu", verbose=False), test.subset(n_ref).images)
    L.evaluate(f"classes + FD on {n_ref:,} samples per run", lambda: stick(Gm), calls=11, models=(Gm,))

    def d_wins(k):
        torch.manual_seed(0)
        Gf, Dw = ck.nets.MLPGenerator(), ck.nets.MLPDiscriminator()
        opt = torch.optim.Adam(Dw.parameters(), lr=2e-4, betas=(0.5, 0.999))
        batches = mnist.batches(64, "cpu", seed=0)
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        for _ in range(k):
            real = batches.next_batch()
            with torch.no_grad():
                fake = Gf(torch.randn(len(real), 100))
            loss = bce(Dw(real), torch.ones(len(real))) + bce(Dw(fake), torch.zeros(len(real)))
            opt.zero_grad(); loss.backward(); opt.step()
    L.train("D trained against a fixed G (hand-written loop, fp32)", d_wins, d_steps, (Gm, Dm), data)
    from coursekit.nets.progressive import ProgressiveDiscriminator, ProgressiveGenerator, StageBatches
    padded = ck.data.ImageSet(torch.nn.functional.pad(mnist.images, (2, 2, 2, 2)), mnist.labels, mnist.classes, "padded")
    for px, grows in ((8, 0), (16, 1), (32, 2)):
        def progressive(k, grows=grows):
            torch.manual_seed(0)
            Gp, Dp = ProgressiveGenerator(), ProgressiveDiscriminator()
            for _ in range(grows):
                Gp.grow(), Dp.grow()
            ck.train.train_gan(Gp, Dp, StageBatches(padded.batches(32, "cpu"), Gp, Dp), steps=k,
                               precision="bf16", progress=False)
        Gp, Dp = ProgressiveGenerator(), ProgressiveDiscriminator()
        # growing: one stage at each size; from the start: 3 stages' worth at 32 px
        L.train(f"progressive GAN at {px} px, batch 32", progressive, stage, (Gp, Dp), uint8_bytes(padded.images),
                times=4 if px == 32 else 1)
    return L


def lesson4(mnist, test) -> Lesson:
    L = Lesson(4, "04_vae_vs_pixelcnn.ipynb")
    from coursekit.metrics.likelihood import binarized_test_set, evaluate_nll
    from coursekit.nets import VAE, Autoencoder, GatedPixelCNN
    n_test = L.full("n_test = ck.runtime.budget(full=10_000, quick=100)", 10_000)
    ae_steps = L.full("ae_steps = ck.runtime.steps(full=5000, quick=100)", 5000)
    vae_steps = L.full("vae_steps = ck.runtime.steps(full=30_000, quick=150)", 30_000)
    channels = L.full("pcnn_channels = ck.runtime.budget(full=64, quick=16)", 64)
    pcnn_steps = L.full("pcnn_steps = ck.runtime.steps(full=8000, quick=25)", 8000)
    batch = L.full("pcnn_batch = ck.runtime.budget(full=128, quick=32)", 128)
    gan_steps = L.full("gan_steps = ck.runtime.steps(full=10_000, quick=100)", 10_000)
    n_fd = L.full("n_fd = ck.runtime.budget(full=5000, quick=64)", 5000)
    fd_batch = L.full("fd_batch = ck.runtime.budget(full=100, quick=64)", 100)
    K = L.full("iw_samples = ck.runtime.budget(full=1000, quick=10)", 1000)
    data = uint8_bytes(mnist.images)

    def likelihood(make, k, batch_size=128):
        torch.manual_seed(0)
        ck.train.train_likelihood(make(), mnist.batches(batch_size, "cpu"), steps=k, precision="bf16", progress=False)
    L.train("autoencoder, batch 128", lambda k: likelihood(lambda: Autoencoder(z_dim=16), k), ae_steps, (Autoencoder(z_dim=16),), data)
    vae = VAE(z_dim=32)
    L.train("VAE, batch 128 (x3: the VAE, the mean-reduced one, z_dim 2)", lambda k: likelihood(lambda: VAE(z_dim=32), k), vae_steps,
            (vae,), data, times=3)
    pcnn = GatedPixelCNN(channels=channels)
    L.train(f"gated PixelCNN, {channels} channels, batch {batch}",
            lambda k: likelihood(lambda: GatedPixelCNN(channels=channels), k, batch), pcnn_steps, (pcnn,), data)
    G, D = ck.nets.MLPGenerator(), ck.nets.MLPDiscriminator()

    def gan(k):
        torch.manual_seed(0)
        ck.train.train_gan(ck.nets.MLPGenerator(), ck.nets.MLPDiscriminator(), mnist.batches(128, "cpu"), steps=k,
                           precision="bf16", progress=False)
    L.train("MLP GAN, batch 128", gan, gan_steps, (G, D), data)
    vae.eval(), pcnn.eval()
    few = 8
    # sampling and evaluation run in fp32 in the notebook (no autocast): fp32 rates on the T4
    L.evaluate("PixelCNN: the plain pixel loop, 4 digits (784 passes; measured on 1, scaled)",
               lambda: ck.nets.pixelcnn.sample_pixel_by_pixel(pcnn, 1, torch.Generator().manual_seed(0)), scale=4, models=(pcnn,))
    L.evaluate("PixelCNN: cached sampler, 4 digits", lambda: pcnn.sample(4, torch.Generator().manual_seed(0)), models=(pcnn,))
    L.evaluate(f"PixelCNN: 64 timed + {n_fd:,} samples for FD in batches of {fd_batch} (measured on {few}, scaled)",
               lambda: pcnn.sample(few, torch.Generator().manual_seed(1)), scale=fd_batch / few,
               calls=n_fd // fd_batch + 1, models=(pcnn,))
    L.evaluate(f"VAE: 64 timed + {n_fd:,} samples in batches of {fd_batch}", lambda: vae.sample(fd_batch, torch.Generator().manual_seed(1)),
               calls=n_fd // fd_batch + 1, models=(vae,))
    x_test = binarized_test_set(test.subset(100, seed=1).images, seed=0)
    L.evaluate(f"VAE: importance-weighted bound, K = {K}, {n_test:,} digits in batches of 100 (one measured)",
               lambda: evaluate_nll(vae, x_test, samples=K, batch=100), scale=1.0, calls=n_test // 100, models=(vae,))
    L.evaluate(f"PixelCNN: exact NLL of {n_test:,} digits in batches of 100 (one measured)",
               lambda: evaluate_nll(pcnn, x_test, batch=100), calls=n_test // 100, models=(pcnn,))
    quality = ck.metrics.DigitQuality(ck.pretrained.mnist_classifier("cpu", verbose=False), test.subset(n_fd, seed=2).images)
    images = torch.rand(n_fd, 1, 28, 28) * 2 - 1
    L.evaluate(f"FD + classes of {n_fd:,} images (3 models, 2 real floors)", lambda: quality.score_images(images), calls=5)
    return L


def lesson5() -> Lesson:
    L = Lesson(5, "05_style_transfer.ipynb")
    from coursekit import style
    size = L.full("SIZE = ck.runtime.budget(full=256, quick=64)", 256)
    steps = L.full("STEPS = ck.runtime.steps(full=300, quick=25)", 300)
    sweep = L.full("sweep_steps = ck.runtime.steps(full=200, quick=15)", 200)
    extractor = style.VGGFeatures(pooling="avg")
    content, painting = style.prepare("chelsea.png", size), style.prepare("starry_night.jpg", size)

    def run(optimizer):
        return lambda k: style.transfer(content, painting, size=size, steps=k, optimizer=optimizer, extractor=extractor,
                                        precision="bf16", progress=False)
    vgg = state_bytes(extractor, train=False)
    L.train(f"style transfer, Adam, {size} px (the first run, Adam from content and from noise)", run("adam"), steps, (),
            vgg, times=3)
    L.train(f"style transfer, Adam, {size} px (style-weight and TV sweeps)", run("adam"), sweep, (), vgg, times=5)
    L.train(f"style transfer, L-BFGS, {size} px", run("lbfgs"), steps, (), vgg)
    return L


def lesson6(mnist, test) -> Lesson:
    L = Lesson(6, "06_diffusion.ipynb")
    from coursekit.diffusion import ddim_sample, ddpm_sample, linear_schedule, train_diffusion
    channels = L.full("channels = ck.runtime.budget(full=32, quick=8)", 32)
    steps = L.full("steps = ck.runtime.steps(full=20_000, quick=20)", 20_000)
    batch = L.full("batch_size = ck.runtime.budget(full=128, quick=32)", 128)
    log_every = L.full("log_every=ck.runtime.budget(full=100, quick=5)", 100)
    n_show = L.full("n_show = ck.runtime.shown(full=8, quick=2)", 8)
    n_fd = L.full("n_fd = ck.runtime.budget(full=5000, quick=64)", 5000)
    fd_batch = L.full("fd_batch = ck.runtime.budget(full=100, quick=64)", 100)
    net = ck.nets.UNet(channels, mults=(1, 2, 4), num_classes=10)
    ema = ck.diffusion.ema_copy(net)

    def train(k):
        torch.manual_seed(0)
        model = ck.nets.UNet(channels, mults=(1, 2, 4), num_classes=10)
        train_diffusion(model, mnist.batches(batch, "cpu", with_labels=True), steps=k, ema=ck.diffusion.ema_copy(model),
                        lr=1e-3, precision="bf16", progress=False)
    L.train(f"U-Net {channels} channels, batch {batch}, EMA", train, steps, (net,), uint8_bytes(mnist.images))
    L.phases[-1]["t4_memory_gb"] += state_bytes(ema, train=False) / 1e9
    schedule = linear_schedule()
    ema.eval()
    few = 8
    # sampling runs in fp32 in the notebook (no autocast): fp32 rates on the T4
    L.evaluate("live plot: DDIM-10, 16 samples every 10 logs", lambda: ddim_sample(ema, schedule, 16, steps=10),
               calls=steps // log_every // 10 + 1, models=(ema,))
    L.evaluate(f"DDPM, 1000 passes, {n_show} digits (written out + coursekit's; measured on 1, scaled)",
               lambda: ddpm_sample(ema, schedule, 1), scale=n_show, calls=2, models=(ema,))
    L.evaluate("DDIM 10 + 50 + 10 steps, 8 digits", lambda: [ddim_sample(ema, schedule, 8, steps=k) for k in (10, 50, 10)],
               models=(ema,))
    labels = torch.arange(10).repeat(2)
    L.evaluate("guidance: DDIM-20, 20 digits, 3 weights", lambda: ddim_sample(ema, schedule, 20, steps=20, labels=labels,
                                                                                guidance=3.0), calls=3, models=(ema,))
    L.evaluate(f"DDIM-10, {n_fd:,} samples for FD in batches of {fd_batch} (measured on {few}, scaled)",
               lambda: ddim_sample(ema, schedule, few, steps=10), scale=fd_batch / few, calls=n_fd // fd_batch, models=(ema,))
    return L


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lessons", type=int, nargs="*", default=[1, 2, 3, 4, 5, 6])
    parser.add_argument("--save", action="store_true",
                        help="write notebooks/results/gpu_projection.json (lessons not run keep their saved projection)")
    args = parser.parse_args()
    start = time.perf_counter()
    print(ck.runtime.machine_summary("cpu"))
    print(f"T4: {T4}\nassumed: {ASSUMED}")
    mnist, test = ck.data.load_mnist(train=True), ck.data.load_mnist(train=False)
    flowers = ck.data.load_flowers102("train+val", 64) if 2 in args.lessons else None
    makers = {1: lambda: lesson1(mnist, test), 2: lambda: lesson2(flowers), 3: lambda: lesson3(mnist, test),
              4: lambda: lesson4(mnist, test), 5: lesson5, 6: lambda: lesson6(mnist, test)}
    lessons = {}
    for n in args.lessons:
        print(f"lesson {n}:", flush=True)
        lessons[n] = makers[n]().summary()
    print(f"\n{'lesson':22s} {'T4 min':>7s} {'T4 GB':>6s}  within {GOAL['minutes']:.0f} min and {GOAL['gb']:.0f} GB")
    for n, s in lessons.items():
        print(f"{s['notebook']:22s} {s['t4_minutes']:7.1f} {s['t4_peak_gb']:6.2f}  {'yes' if s['within_goal'] else 'NO'}")
    wall = time.perf_counter() - start
    if args.save:
        path = RESULTS / "gpu_projection.json"
        for s in lessons.values():
            s.update(date=datetime.date.today().isoformat(), wall_seconds=round(wall))
        saved = json.loads(path.read_text())["lessons"] if path.exists() else {}   # some lessons re-run: keep the others
        saved.update({str(n): s for n, s in lessons.items()})
        path.write_text(json.dumps({
            "what": "a projection on paper, not a measurement: each lesson's full budget on a Colab T4 "
                    "(benchmarks/gpu_projection.py; method in its docstring)",
            "t4": T4, "assumed": ASSUMED, "goal": GOAL, "measured_on": ck.runtime.machine_summary("cpu"),
            "date": datetime.date.today().isoformat(), "wall_seconds": round(wall), "torch": torch.__version__,
            "lessons": dict(sorted(saved.items()))}, indent=1) + "\n")
        print("saved", path)
    pairs = " ".join(f"lesson{n}_t4_min={s['t4_minutes']:.1f} lesson{n}_t4_gb={s['t4_peak_gb']:.2f}" for n, s in lessons.items())
    worst_min = max(s["t4_minutes"] for s in lessons.values())
    worst_gb = max(s["t4_peak_gb"] for s in lessons.values())
    print(f"RESULT {pairs} worst_t4_min={worst_min:.1f} worst_t4_gb={worst_gb:.2f} wall_s={wall:.0f}")


if __name__ == "__main__":
    main()
