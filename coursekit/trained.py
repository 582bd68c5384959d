"""The models lessons 1, 2 and 4 train, trained once at the lesson's full budget and shipped.

A student without a GPU (or without the time) can skip a lesson's long training and still walk
the latent space of a real flower GAN. Each lesson has one switch at the top::

    SKIP_TRAINING = False   # True: load the trained model that ships with coursekit instead

and its training cell reads::

    if SKIP_TRAINING:
        shipped = ck.trained.load("lesson2_dcgan", device)        # prints what it is and how it was made
        G, history = shipped.model, shipped.history
    else:
        history = ck.train.train_gan(G, D, ...)

The files sit in `coursekit/weights/` in half precision (a trained generator: 0.7-7 MB) with a
SHA-256 each, like the measuring sticks (`coursekit.pretrained`). Besides the weights, a file
keeps the record of the run that made it: the logged history, the measuring stick's scores over
training and a few fixed-noise snapshots, so the lesson's plots after the training cell draw the
shipped run. `benchmarks/train_shipped.py NAME` is the script that made each file (the lesson's
full-budget training cell, run as a script); it prints the hash to paste below.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from . import nets, storage
from .checks import DataError, check_choice, check_count, check_device, check_images

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

# name -> SHA-256 of coursekit/weights/NAME.pt (written by benchmarks/train_shipped.py)
SHIPPED = {
    "lesson1_mlp_gan": "917108452ba899825ad25b172612034d5a373ba9daf65ac589c6d387342645f6",  # 10,000 steps, FD 39.3
    "lesson2_dcgan": "ba82105783f19d1145cd865a85b6b7ceccb3fe69456ad402283472c3c1c3e7a8",  # 64 px, width 64, 10,000 steps, FD 9.1
    "lesson4_vae": "94b36443fb6074414280d18f683249263d7d3549ee176aea1ab54ec974200e0f",  # 30,000 steps, 90.8 nats (K=100)
    # channels 64, 8,000 steps (the lesson's full budget; compiled, bf16, on the 2-core AMX Xeon), 82.4 nats exact
    "lesson4_pixelcnn": "cb42e28f6bc4f9125b18ea2497aea534a7858c7549a0aad5e815d3e9514a1a80",
}

# name -> the class the file's weights belong to (its constructor arguments are in the file)
MODEL_CLASSES = {
    "lesson1_mlp_gan": nets.MLPGenerator,
    "lesson2_dcgan": nets.DCGANGenerator,
    "lesson4_vae": nets.VAE,
    "lesson4_pixelcnn": nets.GatedPixelCNN,
}


@dataclass
class TrainedRun:
    """A shipped model and the record of the run that trained it.

    model: the trained model (fp32, eval mode, on the device asked for);
    history: the engine's logged history {"step": [...], "loss...": [...], ...} (`train_gan`'s return value);
    evaluations: the measuring stick's scores over training [{"step": ..., "fd": ..., ...}] (an `Evaluate`'s records);
    frames: fixed-noise snapshots [(step, images (n, C, H, W) float in [-1, 1])] (a `FixedNoiseSamples`' frames);
    info: how it was made: budget, steps, seconds, machine, date, seed, final scores;
    kwargs: the model's constructor arguments (`type(model)(**kwargs)` builds an untrained twin).
    """
    model: nn.Module
    history: dict = field(default_factory=dict)
    evaluations: list = field(default_factory=list)
    frames: list = field(default_factory=list)
    info: dict = field(default_factory=dict)
    kwargs: dict = field(default_factory=dict)


def path_of(name: str) -> Path:
    """Where the shipped file of `name` lives: coursekit/weights/NAME.pt."""
    check_choice(name, "name", tuple(MODEL_CLASSES))
    return WEIGHTS_DIR / f"{name}.pt"


def to_half(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict with every floating tensor in float16 (half the bytes; integer buffers kept)."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise TypeError(f"state must be a model's state_dict() (names -> tensors), got {type(state).__name__}")
    return {k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu() for k, v in state.items()}


def frames_to_uint8(frames: list) -> list:
    """FixedNoiseSamples frames [(step, images in [-1, 1])] -> [(step, uint8 images)] (a quarter of the bytes)."""
    if not isinstance(frames, (list, tuple)) or not all(isinstance(f, (list, tuple)) and len(f) == 2 for f in frames):
        raise TypeError(f"frames must be a list of (step, images) pairs (FixedNoiseSamples.frames), got {frames!r:.80}")
    for step, images in frames:
        check_count(step, "frames: step", minimum=0)
        check_images(images, "frames: images", floating=True, finite=True)
    return [(int(step), ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)) for step, images in frames]


def load(name: str, device: torch.device | str = "cpu", verbose: bool = True) -> TrainedRun:
    """The shipped model `name` (one of MODEL_CLASSES), hash-checked, with the record of its run.

    Raises DataError (naming the file and what to do) if the file is missing or its SHA-256
    differs from the one this coursekit version shipped: then train in the lesson instead.
    """
    check_choice(name, "name", tuple(MODEL_CLASSES))
    device = check_device(device)
    path = path_of(name)
    expected = SHIPPED.get(name)
    if expected is None or not path.is_file():
        raise DataError(f"{name}: no shipped weights in this coursekit ({path} is missing): set SKIP_TRAINING = False "
                        "and train the model in the lesson, or reinstall coursekit")
    if storage.sha256(path) != expected:
        raise DataError(f"{name}: {path} does not match its SHA-256 (damaged or changed): set SKIP_TRAINING = False "
                        "and train the model in the lesson, or reinstall coursekit")
    run = read(path, name, device)
    if verbose:
        info = run.info
        widths = ", ".join(f"{k}={v}" for k, v in run.kwargs.items())
        print(f"{name}: loaded (shipped, SHA-256 ok): {type(run.model).__name__}({widths}), {info['steps']:,} of the full budget's "
              f"{info['full_steps']:,} steps, trained {info['seconds'] / 60:.0f} min on {info['machine'].split(' | ')[0]} ({info['date']})")
    return run


def read(path: str | Path, name: str, device: torch.device | str = "cpu") -> TrainedRun:
    """A file written like the shipped ones (benchmarks/train_shipped.py), from any path, unchecked.

    name: the recipe it was trained by (one of MODEL_CLASSES: it picks the model's class).
    `load` is this plus the hash check for the files that ship; use `read` for your own runs.
    """
    check_choice(name, "name", tuple(MODEL_CLASSES))
    device = check_device(device)
    saved = storage.load(Path(path), "cpu", "trained model")
    try:
        model = MODEL_CLASSES[name](**saved["kwargs"])
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in saved["state_dict"].items()})
    except (KeyError, TypeError, RuntimeError) as err:
        raise DataError(f"{path} is not a {name} file written by benchmarks/train_shipped.py ({type(err).__name__}: "
                        f"{str(err)[:200]})") from err
    record = saved.get("record", {})
    frames = [(step, images.float() / 127.5 - 1) for step, images in record.get("frames", [])]
    return TrainedRun(model.to(device).eval(), record.get("history", {}), record.get("evaluations", []), frames,
                      saved.get("info", {}), dict(saved["kwargs"]))
