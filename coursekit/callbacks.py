"""Callbacks for `coursekit.train.train_gan`: a few lines each, so you can write your own.

A callback is any object with some of these methods, each given the `GANRun` (models,
optimizers, `step`, `history`, `logged` averages):

    on_start(run)      before the first step (Checkpoint resumes here)
    on_log(run)        every `log_every` steps, after the losses were checked
    on_end(run)        after the last step
    on_interrupt(run)  after Ctrl-C / the stop button, at a step boundary

They run in the order given.
"""
from __future__ import annotations

from pathlib import Path

import torch

from . import runtime
from .nets import sample
from .plot import LivePlot


class Checkpoint:
    """Save the whole run every `every` steps, at the end and on interrupt; resume at start.

    The file is `checkpoint_dir(run_name)/last.pt`. Resuming restores weights, optimizer
    moments, the step counter and every random stream, so the resumed run continues exactly
    as if it had never stopped.
    """

    def __init__(self, run_name: str, every: int = 1000, resume: bool = True, folder: str | Path | None = None):
        self.path = Path(folder or runtime.checkpoint_dir(run_name)) / "last.pt"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.every, self.resume, self.saved_step = every, resume, 0

    def on_start(self, run) -> None:
        if self.resume and self.path.exists():
            run.load_state_dict(torch.load(self.path, map_location=run.device, weights_only=True))
            self.saved_step = run.step
            run.last_checkpoint = f"step {run.step}, {self.path}"
            print(f"resumed from {self.path} at step {run.step}")

    def on_log(self, run) -> None:
        if run.step - self.saved_step >= self.every:
            self.save(run)

    def on_end(self, run) -> None:
        self.save(run)

    def on_interrupt(self, run) -> None:
        self.save(run)
        print(f"interrupted: saved step {run.step} to {self.path}; run the cell again to resume")

    def save(self, run) -> None:
        tmp = self.path.with_suffix(".tmp")
        torch.save(run.state_dict(), tmp)
        tmp.replace(self.path)  # atomic: a crash mid-save never destroys the previous checkpoint
        self.saved_step = run.step
        run.last_checkpoint = f"step {run.step}, {self.path}"


class FixedNoiseSamples:
    """Every `every` steps, draw G(z) for one fixed z and keep it: watch the same samples improve.

    frames: list of (step, images (n, C, H, W) float on the CPU in [-1, 1]).
    """

    def __init__(self, z: torch.Tensor, every: int = 500):
        self.z, self.every, self.frames = z, every, []

    def on_log(self, run) -> None:
        if not self.frames or run.step - self.frames[-1][0] >= self.every:
            self.frames.append((run.step, sample(run.G, self.z.to(run.device))))

    def on_end(self, run) -> None:
        if not self.frames or self.frames[-1][0] != run.step:
            self.frames.append((run.step, sample(run.G, self.z.to(run.device))))


class LiveGANPlot:
    """Live curves of the losses and of mean D(x), D(G(z)), plus the latest fixed-noise samples."""

    def __init__(self, samples: FixedNoiseSamples | None = None, every: int = 1):
        self.samples = samples
        self.live = LivePlot({"losses": ["loss_d", "loss_g"], "mean D output (ideal 0.5)": ["d_real", "d_fake"]},
                             with_images=samples is not None, every=every)

    def on_log(self, run) -> None:
        images = self.samples.frames[-1][1] if self.samples and self.samples.frames else None
        self.live.update(run.step, run.logged, images)


class Evaluate:
    """Every `every` steps call `fn(G) -> dict of numbers` (e.g. a quality metric) and record it.

    records: list of {"step": ..., **fn(G)}, one per evaluation, the last at the end of training.
    """

    def __init__(self, fn, every: int = 1000):
        self.fn, self.every, self.records = fn, every, []

    def on_log(self, run) -> None:
        if not self.records or run.step - self.records[-1]["step"] >= self.every:
            self.records.append({"step": run.step, **self.fn(run.G)})

    def on_end(self, run) -> None:
        if not self.records or self.records[-1]["step"] != run.step:
            self.records.append({"step": run.step, **self.fn(run.G)})
