"""The training engine every loop shares: the run's state, one loop with host syncs only every
`log_every` steps, divergence checks, deferred Ctrl-C, callbacks.

`coursekit.train` builds the course's loops on it (`train_gan`, `train_likelihood`): each is a
step function `step_fn(run, batch) -> {name: 0-d tensor}` handed to `fit`. Write your own step
function to train something new with checkpoints, resume, progress bars and live plots for free.
"""
from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields

import torch
from torch import nn
from tqdm.auto import tqdm

from . import runtime
from .checks import check_choice, check_count, check_number, check_positive, check_seed


# ---------------------------------------------------------------- settings
@dataclass
class TrainConfig:
    """Settings every loop shares."""
    steps: int = 10_000             # optimizer iterations in total (a resumed run continues up to this)
    log_every: int = 50             # steps between host syncs: logging, divergence checks, callbacks
    precision: str = "auto"         # "auto" | "fp32" | "bf16" | "fp16"; auto = runtime.amp_dtype(device)
    seed: int = 0                   # seed of the run's own noise stream
    max_seconds: float | None = None  # stop after this much training time (checked every step: a clock read)
    progress: bool = True           # tqdm progress bar
    max_loss: float = 1e6           # a loss above this counts as diverged, like NaN

    # fields a resumed run may change; any other difference from the checkpoint is refused
    RESUMABLE_CHANGES = ("steps", "log_every", "max_seconds", "progress")

    def __post_init__(self):
        self.validate()  # a bad setting fails where it is written, not at the first step

    def validate(self) -> None:
        """Raise a clear error naming the first bad field (before any weight is touched)."""
        self.steps = check_count(self.steps, "steps")
        self.log_every = check_count(self.log_every, "log_every")
        check_choice(self.precision, "precision", tuple(PRECISIONS))
        self.seed = check_seed(self.seed)
        self.max_seconds = check_positive(self.max_seconds, "max_seconds", optional=True)
        self.max_loss = check_positive(self.max_loss, "max_loss")

    def check_adam(self, lr_fields: tuple[str, ...]) -> None:
        """Adam's settings: each learning rate in `lr_fields` > 0, betas two numbers in [0, 1)."""
        for name in lr_fields:
            setattr(self, name, check_positive(getattr(self, name), name))
        betas = self.betas
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be two numbers in [0, 1) (Adam's beta1, beta2), got {betas!r}")
        self.betas = tuple(check_number(b, "betas", low=0, high=1, high_open=True) for b in betas)


PRECISIONS = {"auto": None, "fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class TrainingDiverged(RuntimeError):
    """A loss, weight or optimizer state became NaN, infinite or exploded; training stopped before saving it."""


# ---------------------------------------------------------------- the run
@dataclass
class Run:
    """Everything a loop reads and writes; `state_dict()` is what a checkpoint holds.

    models / optimizers / scalers: by name ("G", "D" for a GAN; "model" for a likelihood model).
    noise: the run's own seeded random stream (z for GANs), saved so a resumed run repeats it.
    """
    models: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    scalers: dict[str, torch.amp.GradScaler]
    data: object                    # a DeviceBatches (anything with next_batch / state_dict)
    config: TrainConfig
    device: torch.device
    amp: torch.dtype | None         # the autocast dtype, None for fp32
    noise: torch.Generator
    step: int = 0
    history: dict = field(default_factory=lambda: defaultdict(list))
    logged: dict = field(default_factory=dict)   # the latest logged averages
    last_checkpoint: str | None = None           # "step N, path" of the last good checkpoint
    restored: str | None = None                  # set by a callback that restored weights after divergence
    memory: dict = field(default_factory=dict)   # scratch space for step functions (not checkpointed)
    callbacks: list = field(default_factory=list)  # set by fit; those with state_dict() are checkpointed

    def __post_init__(self):
        self.step = check_count(self.step, "step", minimum=0)
        if not self.models or not all(isinstance(m, nn.Module) for m in self.models.values()):
            raise TypeError(f"models must be a non-empty dict of nn.Modules by name, got {self.models!r:.80}")
        if not callable(getattr(self.data, "next_batch", None)):
            raise TypeError(f"data must be a data source with next_batch() (e.g. ck.batches.DeviceBatches), "
                            f"got {type(self.data).__name__}")

    @property
    def G(self) -> nn.Module:
        return self.models["G"]

    @property
    def D(self) -> nn.Module:
        return self.models["D"]

    def autocast(self):
        """The mixed-precision context of this run (a no-op in fp32)."""
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp)

    def state_dict(self) -> dict:
        return {"models": {k: m.state_dict() for k, m in self.models.items()},
                "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "scalers": {k: s.state_dict() for k, s in self.scalers.items()},
                "data": self.data.state_dict(), "noise": self.noise.get_state(), "rng": _global_rng_state(),
                "step": self.step, "history": dict(self.history),
                "callbacks": {name: cb.state_dict() for name, cb in self.stateful_callbacks().items()},
                "config": asdict(self.config), "signature": self.signature()}

    def load_state_dict(self, state: dict) -> None:
        for group in ("models", "optimizers", "scalers"):
            for k, obj in getattr(self, group).items():
                obj.load_state_dict(state[group][k])
        self.data.load_state_dict(state["data"])
        self.noise.set_state(state["noise"].cpu())  # RNG states are CPU byte tensors, even for CUDA
        _set_global_rng_state(state["rng"])
        self.step = state["step"]
        self.history = defaultdict(list, state["history"])
        for name, cb in self.stateful_callbacks().items():      # a checkpoint from before they were saved has none
            if name in state.get("callbacks", {}):
                cb.load_state_dict(state["callbacks"][name])

    def stateful_callbacks(self) -> dict:
        """The callbacks with a state_dict() (e.g. Evaluate's records), named by class: "Evaluate", "Evaluate#2", ...
        so that a resumed run's curves and snapshots start where the stopped run's ended."""
        named, seen = {}, defaultdict(int)
        for cb in self.callbacks:
            if callable(getattr(cb, "state_dict", None)) and callable(getattr(cb, "load_state_dict", None)):
                kind = type(cb).__name__
                seen[kind] += 1
                named[kind if seen[kind] == 1 else f"{kind}#{seen[kind]}"] = cb
        return named

    def signature(self) -> dict:
        """What must be the same for a checkpoint to continue this run: the architecture, and the data's
        fingerprint (size, shape, a hash of sampled images, batch size, shuffle seed) when the source has one."""
        shapes = {k: {n: list(t.shape) for n, t in m.state_dict().items()} for k, m in self.models.items()}
        data = self.data.fingerprint() if callable(getattr(self.data, "fingerprint", None)) else {}
        return {"models": {k: type(m).__name__ for k, m in self.models.items()}, "shapes": shapes, "data": data}


def _global_rng_state() -> dict:
    """torch's global generators (dropout and other layers draw from them)."""
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_global_rng_state(state: dict) -> None:
    torch.set_rng_state(state["cpu"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


# ---------------------------------------------------------------- the loop
def fit(run: Run, step_fn, callbacks=()) -> dict:
    """Call `step_fn(run, batch) -> {name: 0-d tensor}` until run.config.steps; returns the history.

    Values are summed on the device and averaged at each log step (the only host sync).
    """
    cfg = run.config
    run.callbacks = list(callbacks)
    _call(callbacks, "on_start", run)
    if run.step > cfg.steps:
        raise ValueError(f"steps={cfg.steps} is below the step the run resumed at ({run.step}, {run.last_checkpoint}): "
                         f"a trained run cannot go back. Pass steps >= {run.step} to continue it, or start afresh "
                         "(Checkpoint(..., resume=False) or another run name)")
    if run.step == cfg.steps and run.step > 0:
        print(f"already trained to step {run.step} ({run.last_checkpoint}): nothing to do; pass a larger steps to continue")
    sums, names = None, None
    bad_step = torch.full((), -1, device=run.device, dtype=torch.long)
    since_log, start = 0, time.perf_counter() - (run.history["seconds"][-1] if run.history.get("seconds") else 0.0)
    bar = tqdm(total=cfg.steps, initial=min(run.step, cfg.steps), disable=not cfg.progress, desc="training")
    timer = runtime.StepTimer(run.device) if runtime.is_rehearsal() else None  # rehearsal only: time each step
    with _deferred_interrupt() as interrupted:
        try:
            while run.step < cfg.steps and not interrupted():
                if timer:
                    timer.start()
                values = step_fn(run, run.data.next_batch())
                run.step += 1
                since_log += 1
                if names is None:  # the first step fixes which values are logged
                    names = list(values)
                    sums = torch.zeros(len(names), device=run.device)
                    loss_index = torch.tensor([i for i, k in enumerate(names) if k.startswith("loss")], device=run.device)
                # bookkeeping on the device: no host sync here
                vector = torch.stack([values[k].float() for k in names])
                sums += vector
                losses = vector[loss_index]
                broken = ~torch.isfinite(losses).all() | (losses.abs() > cfg.max_loss).any()
                bad_step = torch.where((bad_step < 0) & broken, run.step, bad_step)
                if timer:
                    timer.stop()
                # every log_every steps, at the end, or when time is up: one sync, checks, log, callbacks
                out_of_time = cfg.max_seconds is not None and time.perf_counter() - start >= cfg.max_seconds
                if run.step % cfg.log_every == 0 or run.step == cfg.steps or out_of_time:
                    _check(run, bad_step, since_log)
                    _log(run, names, sums, since_log, time.perf_counter() - start)
                    sums.zero_()
                    bar.update(since_log)
                    bar.set_postfix({k: f"{v:.3f}" for k, v in list(run.logged.items())[:4]})
                    since_log = 0
                    _call(callbacks, "on_log", run)
                    if out_of_time:  # checked every step (a clock read, no device sync): slow models stop on time
                        break
        except TrainingDiverged as err:
            bar.close()
            _call(callbacks, "on_diverged", run)
            state = (f"the models in memory were restored to {run.restored}" if run.restored else
                     "the models in memory hold the diverged weights: create them again before retraining")
            raise TrainingDiverged(f"{err}; {state}.") from None
        bar.close()
        if interrupted():  # still inside the deferred-interrupt block: a second Ctrl-C cannot abort the save
            if since_log:  # log the partial interval, so the checkpoint holds a finite, complete state
                _check(run, bad_step, since_log)
                _log(run, names, sums, since_log, time.perf_counter() - start)
            _call(callbacks, "on_interrupt", run)
    if interrupted():
        raise KeyboardInterrupt(f"training interrupted at step {run.step}; run the same call again to resume")
    _call(callbacks, "on_end", run)
    if timer:  # the rehearsal's report: seconds per step and the full budget's projected time
        timer.record(_phase_name(run), getattr(cfg, "rehearsal_full_steps", None))
    return dict(run.history)


def _phase_name(run: Run) -> str:
    """e.g. 'GAN training: G MLPGenerator, D MLPDiscriminator, batch 128 of (1, 28, 28)' (rehearsal reports)."""
    kind = type(run.config).__name__.replace("Config", "")  # GAN, Likelihood, Diffusion, Train
    models = ", ".join(f"{k} {type(m).__name__}" for k, m in run.models.items())
    batch = getattr(run.data, "batch_size", None)
    images = getattr(run.data, "images", None)
    shape = f" of {tuple(images.shape[1:])}" if images is not None else ""
    return f"{kind} training: {models}" + (f", batch {batch}{shape}" if batch else "")



def backward_and_step(loss: torch.Tensor, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None,
                       clip: float | None = None) -> None:
    """backward + optimizer step, with fp16 loss scaling when a scaler is enabled."""
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0 or not loss.is_floating_point() or not loss.requires_grad:
        shape = (loss.dtype, tuple(loss.shape), "requires_grad" if loss.requires_grad else "no grad") \
            if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"loss must be a 0-d float tensor with a gradient (e.g. a mean over the batch), got {shape}")
    clip = check_positive(clip, "clip", optional=True)
    if scaler is None or not scaler.is_enabled():
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], clip)
        opt.step()
        return
    scaler.scale(loss).backward()
    if clip is not None:
        scaler.unscale_(opt)
        nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], clip)
    scaler.step(opt)
    scaler.update()


def configure(kind, config, overrides: dict):
    """The config to use: `config` (or defaults) with `overrides` applied, validated."""
    names = {f.name for f in fields(kind)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise TypeError(f"unknown setting(s) {unknown}; {kind.__name__} has: {', '.join(sorted(names))}")
    settings = {**asdict(config or kind()), **overrides}
    full = getattr(settings.get("steps"), "full", None)  # rehearsal: a runtime.steps loop length's full value
    cfg = kind(**settings)
    cfg.validate()
    if full is not None:  # validation makes steps a plain int; keep the full value for the rehearsal's report
        cfg.rehearsal_full_steps = full
    return cfg


def make_run(models: dict, lrs: dict, betas, data, cfg: TrainConfig) -> Run:
    device = next(iter(models.values())).parameters().__next__().device
    amp = resolve_precision(device, cfg.precision)
    use_scaler = amp == torch.float16  # fp16 needs loss scaling; bf16 and fp32 do not
    return Run(models, {k: adam(m.parameters(), lrs[k], betas) for k, m in models.items()},
               {k: torch.amp.GradScaler(device.type, enabled=use_scaler) for k in models},
               data, cfg, device, amp, torch.Generator(device=device).manual_seed(cfg.seed))


def adam(params, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam with the fused implementation on CPU and CUDA: one kernel updates all parameters.

    Same algorithm as the default; for a small GAN on a CPU it made whole training steps
    1.3-1.5x faster (the default launches ~10 small ops per parameter tensor).
    """
    params = list(params)
    if not params:
        raise ValueError("params is empty: the model has no parameters to train")
    lr = check_positive(lr, "lr")
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be two numbers in [0, 1) (Adam's beta1, beta2), got {betas!r}")
    betas = tuple(check_number(b, "betas", low=0, high=1, high_open=True) for b in betas)
    fused = params[0].device.type in ("cpu", "cuda")
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=fused)


def resolve_precision(device: torch.device, precision: str) -> torch.dtype | None:
    """The autocast dtype for a `precision` setting on `device` (None = plain fp32)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
    return runtime.amp_dtype(device) if precision == "auto" else PRECISIONS[precision]


def _check(run: Run, bad_step: torch.Tensor, since_log: int) -> None:
    """Raise TrainingDiverged if a loss broke since the last log, or a weight / optimizer state is not finite."""
    first_bad = int(bad_step)
    kept = f"the last checkpoint ({run.last_checkpoint}) is kept" if run.last_checkpoint else "no checkpoint was written"
    advice = ("Try a lower learning rate or another seed (as a new run: a checkpoint refuses changed settings, "
              "see coursekit.callbacks.Checkpoint)")
    if first_bad >= 0:
        raise TrainingDiverged(f"a loss became NaN, infinite or larger than max_loss={run.config.max_loss:g} at step "
                               f"{first_bad}: training stopped and {kept}. {advice}")
    tensors = [(f"{k} weight {n}", p) for k, m in run.models.items() for n, p in m.named_parameters()]
    tensors += [(f"{k} optimizer state {s}", v) for k, o in run.optimizers.items()
                for state in o.state.values() for s, v in state.items() if torch.is_tensor(v) and v.is_floating_point()]
    finite = torch.stack([torch.isfinite(t).all() for _, t in tensors]).tolist()
    if not all(finite):
        name = tensors[finite.index(False)][0]
        raise TrainingDiverged(f"{name} became NaN or infinite between steps {run.step - since_log} and {run.step}: "
                               f"training stopped and {kept}. {advice}")


def _log(run: Run, names: list[str], sums: torch.Tensor, n: int, seconds: float) -> None:
    """Average the summed values (the one host sync) and append them to the history."""
    run.logged = dict(zip(names, (sums / n).tolist()))
    run.history["step"].append(run.step)
    for k, v in run.logged.items():
        run.history[k].append(v)
    run.history["seconds"].append(seconds)


def _call(callbacks, hook: str, run: Run) -> None:
    for cb in callbacks:
        method = getattr(cb, hook, None)
        if method is not None:
            method(run)


@contextlib.contextmanager
def _deferred_interrupt():
    """Turn Ctrl-C / Jupyter's stop button into a flag the loop checks between steps.

    An interrupt then never lands in the middle of a step or of the checkpoint written on
    interrupt, so that checkpoint is a consistent state. (Only in the main thread, where signals arrive.)
    """
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag.is_set
        return
    previous = signal.signal(signal.SIGINT, lambda *_: flag.set())
    try:
        yield flag.is_set
    finally:
        signal.signal(signal.SIGINT, previous)
