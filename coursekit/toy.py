"""Lesson 3: 2-D toy data where mode collapse can be counted, and many small GANs trained at once.

    ring8 = ck.toy.ring()                      # 8 Gaussians on a circle of radius 2, sigma 0.05
    grid25 = ck.toy.grid()                     # 5 x 5 Gaussians, 2 apart, sigma 0.05
    data = ck.toy.ToySampler(ring8, batch_size=128, seed=0)   # a data source for train_gan
    G, D, history = ck.toy.train_one(ring8, ToyGenerator, ToyDiscriminator, seed=0, steps=2000)
    runs = ck.toy.train_many(ring8, ToyGenerator, ToyDiscriminator, seeds=range(8), steps=2000)

`train_one` is the ordinary way: `coursekit.train.train_gan`, one run. `train_many` trains R
runs (seeds, learning rates, beta1 values) as ONE stacked model: every weight gets a leading
run axis (`torch.func.stack_module_state`) and the networks' own forward code runs on all runs
at once through `torch.vmap`. Small GANs are dominated by per-step overhead (Python, kernel
launches), so R runs cost little more than one. Each run keeps its own initial weights, data
stream and noise stream, seeded exactly as `train_one` seeds them, and its own Adam state, so a
stacked run follows the same trajectory as the separate run, up to floating-point rounding.

Why not `train_gan` with a stacked model: the engine stops the whole run on the first NaN,
while here one run diverging (a result of a learning-rate sweep) must not stop the others;
`train_many` records the step each run diverged at and lets the rest continue.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import torch
from torch import nn
from torch.func import functional_call, stack_module_state

from . import runtime
from .checks import check_choice, check_count, check_number, check_positive, check_seed, check_tensor
from .engine import configure
from .train import d_loss, g_loss, train_gan

DATA_SEED_OFFSET = 10_000   # run `seed` draws its data from seed + this, its noise z from `seed`


# ---------------------------------------------------------------- the data
@dataclass(frozen=True)
class Mixture:
    """An equal-weight mixture of K isotropic Gaussians in 2-D: centers (K, 2), one std `sigma`."""
    name: str
    centers: torch.Tensor
    sigma: float

    def __post_init__(self):
        centers = check_tensor(self.centers, "centers", dims=2, floating=True)
        if centers.shape[1] != 2:
            raise ValueError(f"centers must have shape (K, 2), one 2-D point per mode, got {tuple(centers.shape)}")
        object.__setattr__(self, "sigma", check_positive(self.sigma, "sigma"))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n points (n, 2): a random centre each, plus N(0, sigma^2) noise."""
        n = check_count(n, "n")
        which = torch.randint(len(self.centers), (n,), generator=generator)
        return self.centers[which] + self.sigma * torch.randn(n, 2, generator=generator)


def ring(modes: int = 8, radius: float = 2.0, sigma: float = 0.05) -> Mixture:
    """`modes` Gaussians evenly spaced on a circle (the unrolled-GAN benchmark of Metz et al. 2017)."""
    modes, radius = check_count(modes, "modes"), check_positive(radius, "radius")
    angles = torch.arange(modes) * (2 * math.pi / modes)
    return Mixture(f"ring of {modes}", radius * torch.stack([angles.cos(), angles.sin()], 1), sigma)


def grid(side: int = 5, spacing: float = 2.0, sigma: float = 0.05) -> Mixture:
    """side x side Gaussians on a square grid centred on 0 (5 x 5: centres at -4, -2, 0, 2, 4)."""
    side, spacing = check_count(side, "side"), check_positive(spacing, "spacing")
    ticks = (torch.arange(side) - (side - 1) / 2) * spacing
    return Mixture(f"grid of {side * side}", torch.cartesian_prod(ticks, ticks), sigma)


class ToySampler:
    """Batches (batch_size, 2) from a Mixture, from its own seeded stream: a data source for train_gan."""

    def __init__(self, mixture: Mixture, batch_size: int, seed: int = 0, device: torch.device | str = "cpu"):
        if not isinstance(mixture, Mixture):
            raise TypeError(f"mixture must be a Mixture (ck.toy.ring() or ck.toy.grid()), got {type(mixture).__name__}")
        self.mixture, self.batch_size, self.device = mixture, check_count(batch_size, "batch_size"), torch.device(device)
        self.seed = check_seed(seed)
        self.generator = torch.Generator().manual_seed(self.seed)

    def next_batch(self) -> torch.Tensor:
        return self.mixture.sample(self.batch_size, self.generator).to(self.device)

    def fingerprint(self) -> dict:
        """What a checkpoint compares on resume: the mixture, the batch size and the seed."""
        return {"mixture": self.mixture.name, "centers": self.mixture.centers.tolist(), "sigma": self.mixture.sigma,
                "batch_size": self.batch_size, "shuffle_seed": self.seed}

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"].cpu())


# ---------------------------------------------------------------- one run: the engine
def train_one(mixture: Mixture, make_G, make_D, seed: int = 0, batch_size: int = 128, **config):
    """One toy GAN with `train_gan`, seeded as `train_many` seeds its run `seed`. Returns (G, D, history).

    make_G / make_D: callables returning fresh modules (e.g. ToyGenerator, lambda: ToyDiscriminator(pack=4)).
    config: GANConfig fields (steps, lr_g, real_label, ...). Precision defaults to fp32: 2-D
    coordinates need its resolution, and these nets are too small for bf16 to pay off.
    """
    seed = check_seed(seed)
    for name, make in (("make_G", make_G), ("make_D", make_D)):
        if not callable(make):
            raise TypeError(f"{name} must be a callable that returns a fresh module (e.g. ToyGenerator), got {make!r}")
    sampler = ToySampler(mixture, batch_size, seed + DATA_SEED_OFFSET)
    torch.manual_seed(seed)
    G, D = make_G(), make_D()
    config = {"precision": "fp32", "progress": False, **config}
    history = train_gan(G, D, sampler, seed=seed, **config)
    return G, D, history


# ---------------------------------------------------------------- many runs at once
class Stacked:
    """R copies of one architecture as one set of stacked weights (leading run axis R).

    `stacked(x)`: x (R, B, ...) -> (R, B', ...): run r's network applied to x[r], via torch.vmap
    over the module's own forward (functional_call). `module(r)`: run r as an ordinary nn.Module.
    """

    def __init__(self, modules: list[nn.Module]):
        self.template = copy.deepcopy(modules[0]).to("meta")   # the code; the weights live in self.params
        params, self.buffers = stack_module_state(modules)
        self.params = {k: v.detach().requires_grad_() for k, v in params.items()}
        self.runs = len(modules)
        self._forward = torch.vmap(lambda p, b, x: functional_call(self.template, (p, b), (x,)))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() < 2 or len(x) != self.runs or not x.is_floating_point():
            shape = (x.dtype, tuple(x.shape)) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must be a float batch per run, shaped ({self.runs}, B, ...), got {shape}")
        return self._forward(self.params, self.buffers, x)

    def module(self, r: int) -> nn.Module:
        """A plain copy of run r (on the CPU)."""
        r = check_count(r, "r", minimum=0)
        if r >= self.runs:
            raise ValueError(f"r must be a run index in 0..{self.runs - 1}, got {r}")
        m = copy.deepcopy(self.template).to_empty(device="cpu")
        m.load_state_dict({**{k: v[r].detach().cpu() for k, v in self.params.items()},
                           **{k: v[r].cpu() for k, v in self.buffers.items()}})
        return m


class StackedAdam:
    """Adam (as torch.optim.Adam, no weight decay) on stacked weights, one lr and beta1 per run.

    lr, beta1: tensors (R,). Adam treats every weight separately, so this is exactly R
    independent Adams; per-run values only need broadcasting along the run axis.
    """

    def __init__(self, params: list[torch.Tensor], lr: torch.Tensor, beta1: torch.Tensor,
                 beta2: float = 0.999, eps: float = 1e-8):
        if not params or not all(isinstance(p, torch.Tensor) for p in params):
            raise ValueError("params must be a non-empty list of stacked weight tensors (R, ...)")
        runs = len(params[0])
        for name, value, high in (("lr", lr, None), ("beta1", beta1, 1)):
            check_tensor(value, name, dims=1, floating=True)
            if len(value) != runs or not bool((value > 0 if high is None else (value >= 0) & (value < 1)).all()):
                raise ValueError(f"{name} must hold one value per run ({runs}), each "
                                 f"{'> 0' if high is None else 'in [0, 1)'}, got {value.tolist()}")
        beta2 = check_number(beta2, "beta2", low=0, high=1, high_open=True)
        eps = check_positive(eps, "eps")
        self.params, self.beta2, self.eps, self.t = params, beta2, eps, 0
        self.lr, self.beta1 = lr.float(), beta1.float()
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        step_size = self.lr / (1 - self.beta1 ** self.t)            # (R,)
        root_bc2 = math.sqrt(1 - self.beta2 ** self.t)
        for p, m, v in zip(self.params, self.m, self.v):
            shape = (-1,) + (1,) * (p.dim() - 1)                     # broadcast (R,) along the run axis
            m.lerp_(p.grad, (1 - self.beta1).view(shape).expand_as(m))
            v.mul_(self.beta2).addcmul_(p.grad, p.grad, value=1 - self.beta2)
            p.sub_(step_size.view(shape) * m / (v.sqrt() / root_bc2 + self.eps))


@dataclass
class ManyRuns:
    """What `train_many` returns. R runs; per-run values are lists of length R."""
    G: Stacked
    D: Stacked
    seeds: list[int]
    settings: dict                       # lr_g, lr_d, beta1, real_label per run, and the shared options
    history: dict                        # "step": [...]; "loss_d", "loss_g", "d_real", "d_fake": [[R values], ...]
    diverged_at: list[int | None]        # the first step with a NaN / exploding loss, None if never
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)  # (step, samples (R, n, 2))
    seconds: float = 0.0

    def samples(self, n: int = 2500, seed: int = 1234) -> torch.Tensor:
        """n samples of every run's G from the same noise: (R, n, 2) on the CPU."""
        n, seed = check_count(n, "n"), check_seed(seed)
        z = torch.randn(n, self.G.template.z_dim, generator=torch.Generator().manual_seed(seed))
        device = next(iter(self.G.params.values())).device
        with torch.no_grad():
            return self.G(z.to(device).expand(self.G.runs, n, -1)).cpu()


def _per_run(value, runs: int, name: str) -> torch.Tensor:
    """A float or a sequence of R floats -> tensor (R,)."""
    values = torch.as_tensor(value, dtype=torch.float32).flatten()
    if len(values) == 1:
        values = values.expand(runs)
    if len(values) != runs:
        raise ValueError(f"{name} needs one value or one per run ({runs}), got {len(values)}")
    return values.clone()


@dataclass
class ManyConfig:
    """Settings of `train_many`. lr_g, lr_d, beta1, real_label: one value for all runs or one per run (a
    sweep); the rest mean what the GANConfig fields of the same name mean."""
    steps: int = 2000
    batch_size: int = 128
    lr_g: float | list[float] = 2e-4
    lr_d: float | list[float] = 2e-4
    beta1: float | list[float] = 0.5
    real_label: float | list[float] = 0.9
    fake_label: float = 0.0
    g_loss: str = "non_saturating"
    log_every: int = 50
    snapshot_every: int | None = None   # keep (step, G's samples (R, n, 2)) every that many steps (and at step 0) ...
    snapshot_points: int = 512          # ... for this many fixed noise vectors
    max_loss: float = 1e6

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        for name in ("steps", "batch_size", "log_every", "snapshot_points"):
            setattr(self, name, check_count(getattr(self, name), name))
        if self.snapshot_every is not None:
            self.snapshot_every = check_count(self.snapshot_every, "snapshot_every")
        for name, low, high in (("lr_g", 0, None), ("lr_d", 0, None), ("beta1", 0, 1), ("real_label", 0, 1)):
            value = getattr(self, name)
            values = value if isinstance(value, (list, tuple)) else [value]
            if not values:
                raise ValueError(f"{name} needs one value or one per run, got an empty list")
            for v in values:
                check_number(v, name, low=low, high=high, low_open=name.startswith("lr"), high_open=name == "beta1")
        self.fake_label = check_number(self.fake_label, "fake_label", low=0, high=1)
        check_choice(self.g_loss, "g_loss", ("non_saturating", "saturating"))
        self.max_loss = check_positive(self.max_loss, "max_loss")


def train_many(mixture: Mixture, make_G, make_D, seeds, config: ManyConfig | None = None, *,
               device: torch.device | str = "cpu", **overrides) -> ManyRuns:
    """Train len(seeds) toy GANs at once; run r is `train_one(..., seed=seeds[r])` with its own lr / beta1.

    config / overrides: `ManyConfig` fields, e.g. train_many(ring8, G, D, range(8), steps=500, lr_g=[...]).
    The step is the one of `coursekit.train`, with its loss functions (`d_loss`, `g_loss`) on the
    stacked runs: D on real (target real_label) and detached fakes (target fake_label), then G on
    the same fakes through the updated D. Losses are means over each run's batch, summed over
    runs, so each run's gradient is its own.
    """
    cfg = configure(ManyConfig, config, overrides)
    steps, batch_size, log_every, snapshot_every = cfg.steps, cfg.batch_size, cfg.log_every, cfg.snapshot_every
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a list of whole numbers, one run each (e.g. range(8)), got {seeds!r}")
    seeds, device = [check_seed(s, "seeds") for s in seeds], torch.device(device)
    if not seeds:
        raise ValueError("seeds is empty: give one seed per run, e.g. seeds=range(8)")
    R = len(seeds)
    Gs, Ds = [], []
    for s in seeds:                                  # the same initial weights as train_one(seed=s)
        torch.manual_seed(s)
        Gs.append(make_G().to(device))
        Ds.append(make_D().to(device))
    G, D = Stacked(Gs), Stacked(Ds)
    samplers = [ToySampler(mixture, batch_size, s + DATA_SEED_OFFSET, device) for s in seeds]
    noises = [torch.Generator(device=device).manual_seed(s) for s in seeds]
    settings = {k: _per_run(getattr(cfg, k), R, k) for k in ("lr_g", "lr_d", "beta1", "real_label")}
    targets = SimpleNamespace(real_label=settings["real_label"].to(device).view(R, 1),  # (R, 1): one target per run
                              fake_label=cfg.fake_label, g_loss=cfg.g_loss)
    opt_g = StackedAdam(list(G.params.values()), settings["lr_g"].to(device), settings["beta1"].to(device))
    opt_d = StackedAdam(list(D.params.values()), settings["lr_d"].to(device), settings["beta1"].to(device))
    z_fixed = torch.randn(cfg.snapshot_points, G.template.z_dim, generator=torch.Generator().manual_seed(1234))
    z_fixed = z_fixed.to(device).expand(R, -1, -1)
    history, sums = {"step": [], "loss_d": [], "loss_g": [], "d_real": [], "d_fake": []}, torch.zeros(4, R, device=device)
    diverged_at = torch.full((R,), -1, dtype=torch.long, device=device)
    snapshots = []

    def snapshot(step):
        with torch.no_grad():
            snapshots.append((step, G(z_fixed).cpu()))

    if snapshot_every:
        snapshot(0)
    start = time.perf_counter()
    timer = runtime.StepTimer(device) if runtime.is_rehearsal() else None  # rehearsal only: time each step
    for step in range(1, steps + 1):
        if timer:
            timer.start()
        real = torch.stack([s.next_batch() for s in samplers])                       # (R, B, 2)
        z = torch.stack([torch.randn(batch_size, G.template.z_dim, device=device, generator=g) for g in noises])
        # D step: real -> real_label, detached fakes -> fake_label; each loss (R,), one per run
        loss_d, d_real, d_fake, fake = d_loss(G, D, real, z, targets)                # fake (R, B, 2)
        opt_d.zero_grad()
        loss_d.sum().backward()
        opt_d.step()
        # G step: the updated D on the same fakes
        loss_g = g_loss(D, fake, targets)
        opt_g.zero_grad()
        loss_g.sum().backward()
        opt_g.step()
        # bookkeeping on the device: no host sync
        values = torch.stack([loss_d, loss_g, d_real, d_fake]).detach()             # (4, R)
        sums += values
        broken = ~torch.isfinite(values[:2]).all(0) | (values[:2].abs() > cfg.max_loss).any(0)
        diverged_at = torch.where((diverged_at < 0) & broken, step, diverged_at)
        if timer:
            timer.stop()
        if step % log_every == 0 or step == steps:
            n = step - (history["step"][-1] if history["step"] else 0)
            for name, row in zip(("loss_d", "loss_g", "d_real", "d_fake"), (sums / n).tolist()):
                history[name].append(row)
            history["step"].append(step)
            sums.zero_()
        if snapshot_every and step % snapshot_every == 0:
            snapshot(step)
    if timer:  # the rehearsal's report: seconds per step and the full budget's projected time
        timer.record(f"train_many: {R} toy GANs at once, batch {batch_size}", getattr(cfg, "rehearsal_full_steps", None))
    settings = {k: v.tolist() for k, v in settings.items()}
    settings.update(fake_label=cfg.fake_label, g_loss=cfg.g_loss, batch_size=batch_size, steps=steps)
    return ManyRuns(G, D, seeds, settings, history, [None if s < 0 else s for s in diverged_at.tolist()],
                    snapshots, time.perf_counter() - start)
