"""Callbacks for `coursekit.train.train_gan` and `train_likelihood`: a few lines each, so you can write your own.

A callback is any object with some of these methods, each given the `coursekit.train.Run`
(`models`, `optimizers`, `step`, `history`, `logged` averages; `run.G`, `run.D` for a GAN):

    on_start(run)      before the first step (Checkpoint resumes here)
    on_log(run)        every `log_every` steps, after the losses were checked
    on_end(run)        after the last step
    on_interrupt(run)  after Ctrl-C / the stop button, at a step boundary
    on_diverged(run)   when training stopped on NaN / exploding values (Checkpoint restores weights)

They run in the order given.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import asdict
from pathlib import Path

import torch

from . import runtime, storage
from .checks import check_count, check_tensor
from .nets import sample
from .plot import LivePlot


class Checkpoint:
    """Save the whole run every `every` steps, at the end and on interrupt; resume at start.

    Files: `checkpoint_dir(run_name)/last.pt`, and `previous.pt` (the one before it), so a
    broken last write never costs the run. Resuming restores weights, optimizer moments, the
    step counter and every random stream, so the resumed run continues exactly as if it had
    never stopped. Callbacks with a state (Evaluate's records, FixedNoiseSamples' frames) are saved
    too, so the curves and snapshots of a resumed run start with the stopped run's.

    A checkpoint belongs to one run: resuming with a different architecture, data set size,
    batch size or setting (learning rate, seed, label smoothing, ...) is refused with the
    difference named. Only `steps`, `log_every`, `max_seconds` and `progress` may change
    (e.g. to train longer). To try other settings, use another `run_name`, or
    `resume=False` to start this one afresh. After a divergence the models in memory are
    restored to the last checkpoint.
    """

    def __init__(self, run_name: str, every: int = 1000, resume: bool = True, folder: str | Path | None = None):
        every = check_count(every, "every")
        if not isinstance(run_name, str) or not run_name.strip() or any(c in run_name for c in '/\\:'):
            raise ValueError(f"run_name must be a non-empty name without / \\ or : (it names a folder), got {run_name!r}")
        if folder is not None and (isinstance(folder, bool) or not isinstance(folder, (str, os.PathLike))):
            raise TypeError(f"folder must be a path (str or pathlib.Path) or None, got {type(folder).__name__}")
        folder = Path(folder) if folder else runtime.checkpoint_dir(run_name)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise NotADirectoryError(f"folder: cannot make the checkpoint folder {folder}: it, or a folder above it, "
                                     "is a file") from None
        self.path, self.previous = folder / "last.pt", folder / "previous.pt"
        for path in (self.path, self.previous):
            if path.is_dir():
                raise IsADirectoryError(f"{path} is a folder, where the checkpoint file goes: move or delete it "
                                        f"(or pass another folder)")
        self.every, self.resume, self.saved_step = every, resume, 0

    def on_start(self, run) -> None:
        if not self.resume or not (self.path.exists() or self.previous.exists()):
            return
        state, path = self._load_newest_good()
        _check_same_run(run, state, path)
        run.load_state_dict(state)
        self.saved_step = run.step
        run.last_checkpoint = f"step {run.step}, {path}"
        print(f"resumed from {path} at step {run.step}")

    def on_log(self, run) -> None:
        if run.step - self.saved_step >= self.every:
            self.save(run)

    def on_end(self, run) -> None:
        self.save(run)

    def on_interrupt(self, run) -> None:
        self.save(run)
        print(f"interrupted: saved step {run.step} to {self.path}; run the cell again to resume")

    def on_diverged(self, run) -> None:
        """Put the last good weights back into the models in memory."""
        if self.path.exists() and run.last_checkpoint:
            run.load_state_dict(storage.load(self.path, run.device, "checkpoint"))
            run.restored = f"step {run.step} from {self.path}"

    def save(self, run) -> None:
        """Write last.pt atomically, keeping the one before as previous.pt."""
        state = run.state_dict()
        self.path.with_suffix(".tmp").unlink(missing_ok=True)  # left by a run killed mid-write (older coursekit)
        if self.path.exists():
            os.replace(self.path, self.previous)
        storage.atomic_save(state, self.path)
        self.saved_step = run.step
        run.last_checkpoint = f"step {run.step}, {self.path}"

    def _load_newest_good(self) -> tuple[dict, Path]:
        """last.pt, or previous.pt (with a warning) if last.pt is broken; CheckpointError if neither loads."""
        errors = []
        for path in (self.path, self.previous):
            if not path.exists():
                continue
            try:
                state = storage.load(path, "cpu", "checkpoint")
                if errors:
                    warnings.warn(f"{errors[0]}; resuming from the one before it, {path}")
                return state, path
            except storage.CheckpointError as err:
                errors.append(str(err))
        raise storage.CheckpointError(f"{'; '.join(errors)}. To start this run afresh, delete {self.path.parent} "
                                      "or pass Checkpoint(..., resume=False).")


def _check_same_run(run, state: dict, path: Path) -> None:
    """Refuse a checkpoint of another run, naming what differs."""
    where = (f"Use another run name for a new run, or Checkpoint(..., resume=False) to start {path.parent.name} "
             f"afresh (or delete {path.parent}).")
    if "signature" not in state or "config" not in state:
        raise storage.CheckpointError(f"{path} was written by an older coursekit or another program. {where}")
    saved, now = state["signature"], run.signature()
    if saved["models"] != now["models"] or saved["shapes"] != now["shapes"]:
        detail = _first_difference(saved["shapes"], now["shapes"]) if saved["models"] == now["models"] else \
            f"models {saved['models']} vs now {now['models']}"
        raise storage.CheckpointError(f"{path} holds another architecture ({detail}). {where}")
    # keys an older checkpoint lacks (it was saved before coursekit stored them) cannot be compared
    changed = {k: (saved["data"][k], v) for k, v in now["data"].items() if k in saved["data"] and saved["data"][k] != v}
    if changed:
        text = ", ".join(f"{k} {a} -> now {b}" for k, (a, b) in changed.items())
        raise storage.CheckpointError(f"{path} was trained on other data ({text}). {where}")
    config = asdict(run.config)
    changed = [k for k, v in config.items() if k not in run.config.RESUMABLE_CHANGES
               and _plain(state["config"].get(k)) != _plain(v)]
    if changed:
        text = ", ".join(f"{k}={state['config'].get(k)!r} (now {config[k]!r})" for k in changed)
        raise storage.CheckpointError(f"{path} was trained with {text}. A checkpoint continues the same run; "
                                      f"only {', '.join(run.config.RESUMABLE_CHANGES)} may change. {where}")


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def _first_difference(a: dict, b: dict) -> str:
    for model in b:
        for name in sorted(set(a.get(model, {})) | set(b[model])):
            if a.get(model, {}).get(name) != b[model].get(name):
                return f"{model}.{name}: {a.get(model, {}).get(name)} saved vs {b[model].get(name)} now"
    return "parameter shapes differ"


class FixedNoiseSamples:
    """Every `every` steps, draw G(z) for one fixed z and keep it: watch the same samples improve.

    frames: list of (step, images (n, C, H, W) float on the CPU in [-1, 1]).
    """

    def __init__(self, z: torch.Tensor, every: int = 500):
        self.z = check_tensor(z, "z", dims=2, floating=True)
        self.every, self.frames = check_count(every, "every"), []

    def on_log(self, run) -> None:
        if not self.frames or run.step - self.frames[-1][0] >= self.every:
            self.frames.append((run.step, sample(run.G, self.z.to(run.device))))

    def on_end(self, run) -> None:
        if not self.frames or self.frames[-1][0] != run.step:
            self.frames.append((run.step, sample(run.G, self.z.to(run.device))))

    def state_dict(self) -> dict:
        """The frames so far (a Checkpoint saves them, so a resumed run keeps the earlier ones)."""
        return {"frames": [(step, images.cpu()) for step, images in self.frames]}

    def load_state_dict(self, state: dict) -> None:
        self.frames = [(int(step), images) for step, images in state["frames"]]


class LiveGANPlot:
    """Live curves of the losses and of mean D(x), D(G(z)), plus the latest fixed-noise samples."""

    def __init__(self, samples: FixedNoiseSamples | None = None, every: int = 1):
        if samples is not None and not isinstance(samples, FixedNoiseSamples):
            raise TypeError(f"samples must be a FixedNoiseSamples callback or None, got {type(samples).__name__}")
        every = check_count(every, "every")
        self.samples = samples
        self.live = LivePlot({"losses": ["loss_d", "loss_g"], "mean D output (ideal 0.5)": ["d_real", "d_fake"]},
                             with_images=samples is not None, every=every)

    def on_log(self, run) -> None:
        images = self.samples.frames[-1][1] if self.samples and self.samples.frames else None
        self.live.update(run.step, run.logged, images)

    def on_end(self, run) -> None:
        self.live.finish()  # the last step, even if the plot skipped redraws to keep training fast


class Evaluate:
    """Every `every` steps call `fn(G) -> dict of numbers` (e.g. a quality metric) and record it.

    records: list of {"step": ..., **fn(model)}, one per evaluation, the last at the end of training.
    model: which of the run's models to pass ("G" for a GAN, "model" for `train_likelihood`).
    """

    def __init__(self, fn, every: int = 1000, model: str = "G"):
        if not callable(fn):
            raise TypeError(f"fn must be a callable fn(model) -> dict of numbers (e.g. a DigitQuality), got {fn!r}")
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must name one of the run's models ('G' for a GAN, 'model' otherwise), got {model!r}")
        self.fn, self.every, self.model, self.records = fn, check_count(every, "every"), model, []

    def _evaluate(self, run) -> None:
        if self.model not in run.models:
            raise ValueError(f"Evaluate(model={self.model!r}): this run's models are {sorted(run.models)}")
        self.records.append({"step": run.step, **self.fn(run.models[self.model])})

    def on_log(self, run) -> None:
        if not self.records or run.step - self.records[-1]["step"] >= self.every:
            self._evaluate(run)

    def state_dict(self) -> dict:
        """The records so far, their numbers as plain Python values (a Checkpoint saves them, so a resumed run
        keeps the earlier ones); a value that is not a number, string or bool is left out of the saved copy."""
        return {"records": [{k: plain for k, v in r.items() if (plain := _plain(v)) is not None} for r in self.records]}

    def load_state_dict(self, state: dict) -> None:
        self.records = [dict(r) for r in state["records"]]

    def on_end(self, run) -> None:
        if not self.records or self.records[-1]["step"] != run.step:
            self._evaluate(run)


def _plain(value):
    """A record's value as a plain Python number/str/bool (what a weights-only checkpoint can hold), else None."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if getattr(value, "shape", None) == () and hasattr(value, "item"):     # a 0-d tensor or a numpy scalar
        return value.item()
    return None
