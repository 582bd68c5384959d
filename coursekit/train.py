"""Training loops: the GAN step and the likelihood-model step, on one shared engine.

    G, D = ck.nets.MLPGenerator(), ck.nets.MLPDiscriminator()
    history = ck.train.train_gan(G, D, mnist.batches(128, device), GANConfig(steps=5000),
                                 callbacks=[ck.callbacks.Checkpoint("mnist-gan")])
    history = ck.train.train_likelihood(vae, mnist.batches(128, device), LikelihoodConfig(steps=3000))

The GAN step is `d_step` then `g_step`, written to read like the loop in notebook 01. Every
stabiliser of lessons 2 and 3 is a `GANConfig` field, not a copy of the loop. The machinery
around the steps (host syncs only every `log_every` steps, the divergence stop, deferred Ctrl-C,
callbacks for checkpoints and plots) is `coursekit.engine.fit`, shared by both loops.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .checks import check_choice, check_count, check_number, check_positive
from .engine import (PRECISIONS, Run, TrainConfig, TrainingDiverged, adam, backward_and_step,  # noqa: F401
                     configure, fit, make_run, resolve_precision)


# ---------------------------------------------------------------- settings
@dataclass
class GANConfig(TrainConfig):
    """Settings of `train_gan`. Stabilisers (lesson 2) and balance options (lesson 3) are fields."""
    lr_g: float = 2e-4              # Adam learning rates (DCGAN paper: 2e-4); different ones = TTUR
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)  # Adam beta1 0.5 (DCGAN paper), not the default 0.9
    real_label: float = 0.9         # D's target for real images: 0.9 = one-sided label smoothing, 1.0 = off
    fake_label: float = 0.0         # D's target for generated images: 0.1 with 0.9 = two-sided smoothing
    latent: str = "gaussian"        # noise z: "gaussian" N(0, I) or "uniform" U(-1, 1)
    instance_noise: float = 0.0     # std of Gaussian noise added to every image D sees, at step 0 ...
    instance_noise_steps: int | None = None  # ... decaying linearly to 0 over this many steps (None: all steps)
    g_loss: str = "non_saturating"  # "non_saturating": min -log D(G(z));  "saturating": min log(1 - D(G(z)))
    d_skip_below: float | None = None  # skip D's update while its last loss was below this (syncs every step)
    track_grad_norm: bool = False   # log "grad_g": the norm of the gradient reaching G's weights

    def validate(self) -> None:
        super().validate()
        self.check_adam(("lr_g", "lr_d"))
        for name in ("real_label", "fake_label"):
            setattr(self, name, check_number(getattr(self, name), name, low=0, high=1))
        check_choice(self.latent, "latent", ("gaussian", "uniform"))
        check_choice(self.g_loss, "g_loss", ("non_saturating", "saturating"))
        self.instance_noise = check_number(self.instance_noise, "instance_noise", low=0)
        if self.instance_noise_steps is not None:
            self.instance_noise_steps = check_count(self.instance_noise_steps, "instance_noise_steps")
        self.d_skip_below = check_number(self.d_skip_below, "d_skip_below", low=0, optional=True)


@dataclass
class LikelihoodConfig(TrainConfig):
    """Settings of `train_likelihood` (VAE, PixelCNN: models that minimise a negative log-likelihood)."""
    lr: float = 1e-3                # Adam
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float | None = None  # clip the gradient norm to this (None: no clipping)
    channels_last: bool = True      # convolution weights in (C_out, H, W, C_in) memory order, oneDNN's and cuDNN's
                                    # fast layout (PixelCNN training: 1.55x on a bf16 CPU); no effect without convs
    compile: bool = False           # torch.compile the model's forward (PixelCNN on a CPU: 1.4x, after ~1 min compiling)

    # memory order and compilation change speed, not the run: a resumed run may switch them
    RESUMABLE_CHANGES = TrainConfig.RESUMABLE_CHANGES + ("channels_last", "compile")

    def validate(self) -> None:
        super().validate()
        self.check_adam(("lr",))
        self.grad_clip = check_positive(self.grad_clip, "grad_clip", optional=True)
        for name in ("channels_last", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")


# ---------------------------------------------------------------- the GAN step
def sample_z(n: int, z_dim: int, latent: str = "gaussian", *, device=None, generator=None) -> torch.Tensor:
    """Noise z (n, z_dim): N(0, I) for "gaussian", U(-1, 1) for "uniform"."""
    n, z_dim = check_count(n, "n"), check_count(z_dim, "z_dim")
    check_choice(latent, "latent", ("gaussian", "uniform"))
    if latent == "uniform":
        return torch.rand(n, z_dim, device=device, generator=generator) * 2 - 1
    return torch.randn(n, z_dim, device=device, generator=generator)


def instance_noise_std(config: GANConfig, step: int) -> float:
    """The instance-noise std at `step`: config.instance_noise, falling linearly to 0."""
    step = check_count(step, "step", minimum=0)
    span = config.instance_noise_steps or config.steps
    return config.instance_noise * max(0.0, 1.0 - step / span)


def add_instance_noise(images: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """images + N(0, std²) noise (unchanged when std is 0): blurs where real and fake overlap."""
    std = check_number(std, "std", low=0)
    if not isinstance(images, torch.Tensor) or not images.is_floating_point():
        raise ValueError(f"images must be a float tensor, got {getattr(images, 'dtype', type(images).__name__)}")
    if std == 0:
        return images
    return images + std * torch.randn(images.shape, device=images.device, generator=generator, dtype=images.dtype)


# The losses are pure functions (no optimizer, no precision): `d_step` / `g_step` add autocast, backward
# and the optimizer step, and `coursekit.toy.train_many` calls the same losses on stacked runs.
def _bce(logits: torch.Tensor, target) -> torch.Tensor:
    """BCE with logits against a constant target (a float, or a tensor broadcasting to logits, e.g. (R, 1)
    per run), averaged over the last axis, the batch: (B,) -> a scalar, (R, B) -> (R,)."""
    target = torch.as_tensor(target, dtype=logits.dtype, device=logits.device).expand_as(logits)
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(-1)


def d_loss(G: nn.Module, D: nn.Module, real: torch.Tensor, z: torch.Tensor, config: GANConfig, *,
           noise_std: float = 0.0, generator: torch.Generator | None = None):
    """D's loss on a real batch and a generated one (detached: no gradient flows into G).

    real (B, C, H, W) in [-1, 1], z (B, z_dim). Targets: config.real_label for real, config.fake_label
    for fake. With `noise_std`, both batches get instance noise before D sees them.
    Returns (loss_d, mean D(x), mean D(G(z)), fake): means over the batch, as tensors, no host sync.
    """
    _check_gan_inputs(real=real, z=z, G=G)
    fake = G(z)                                                              # (B, C, H, W)
    logits_real = D(add_instance_noise(real, noise_std, generator))          # (B,)
    logits_fake = D(add_instance_noise(fake.detach(), noise_std, generator))  # detach: G is not updated here
    loss = _bce(logits_real, config.real_label) + _bce(logits_fake, config.fake_label)
    return loss, torch.sigmoid(logits_real).mean(-1), torch.sigmoid(logits_fake).mean(-1), fake


def g_loss(D: nn.Module, fake: torch.Tensor, config: GANConfig, *, noise_std: float = 0.0,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """G's loss on `fake` (made by G with gradient): low when D calls the images real.

    non_saturating (default): -log D(G(z)), i.e. BCE with target 1;
    saturating (the original minimax game): log(1 - D(G(z))) = -BCE with target 0.
    """
    _check_gan_inputs(fake=fake)
    logits = D(add_instance_noise(fake, noise_std, generator))
    return -_bce(logits, 0.0) if config.g_loss == "saturating" else _bce(logits, 1.0)


def _check_gan_inputs(*, real=None, fake=None, z=None, G=None) -> None:
    """Shapes and dtypes only (no host sync: the losses run every training step)."""
    for name, x in (("real", real), ("fake", fake)):
        if x is not None and (not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() < 2 or not len(x)):
            shape = (x.dtype, tuple(x.shape)) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"{name} must be a float batch (B, ...) in [-1, 1] with B >= 1, got {shape}")
    if z is not None:
        z_dim = getattr(G, "z_dim", None)
        if (not isinstance(z, torch.Tensor) or not z.is_floating_point() or z.dim() < 2 or not len(z)
                or (z_dim is not None and z.shape[-1] != z_dim)):
            shape = (z.dtype, tuple(z.shape)) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"z must be float noise (B, {z_dim or 'z_dim'}) with B >= 1, got {shape}")


def d_step(G: nn.Module, D: nn.Module, opt_d: torch.optim.Optimizer, real: torch.Tensor, z: torch.Tensor,
           config: GANConfig, *, noise_std: float = 0.0, generator: torch.Generator | None = None,
           autocast=contextlib.nullcontext(), scaler: torch.amp.GradScaler | None = None):
    """Update D with `d_loss` (same arguments, plus the optimizer, autocast and the fp16 scaler).

    Returns (loss_d, mean D(x), mean D(G(z)), fake) as tensors, without syncing with the host.
    """
    with autocast:
        loss, d_real, d_fake, fake = d_loss(G, D, real, z, config, noise_std=noise_std, generator=generator)
    opt_d.zero_grad(set_to_none=True)
    backward_and_step(loss, opt_d, scaler)
    return loss.detach(), d_real.detach(), d_fake.detach(), fake


def g_step(D: nn.Module, opt_g: torch.optim.Optimizer, fake: torch.Tensor, config: GANConfig, *,
           noise_std: float = 0.0, generator: torch.Generator | None = None,
           autocast=contextlib.nullcontext(), scaler: torch.amp.GradScaler | None = None) -> torch.Tensor:
    """Update G with `g_loss` through `fake` (made by G with gradient), so the updated D calls its images real."""
    with autocast:
        loss = g_loss(D, fake, config, noise_std=noise_std, generator=generator)
    opt_g.zero_grad(set_to_none=True)
    backward_and_step(loss, opt_g, scaler)
    return loss.detach()


def gradient_norm(model: nn.Module) -> torch.Tensor:
    """The L2 norm of all of `model`'s gradients together (0-d tensor, no host sync)."""
    norms = [p.grad.detach().float().norm() for p in model.parameters() if p.grad is not None]
    return torch.stack(norms).norm() if norms else torch.zeros(())


def gan_step(run: Run, real: torch.Tensor, *, d_step=d_step, g_step=g_step) -> dict[str, torch.Tensor]:
    """One GAN iteration: a D step, then a G step on the same fakes. Returns the values to log."""
    cfg: GANConfig = run.config
    G, D = run.models["G"], run.models["D"]
    z = sample_z(len(real), G.z_dim, cfg.latent, device=run.device, generator=run.noise)
    std = instance_noise_std(cfg, run.step)
    update_d = True
    if cfg.d_skip_below is not None:  # needs D's last loss on the host: one sync per step
        update_d = run.memory.get("last_loss_d", float("inf")) >= cfg.d_skip_below
    if update_d:
        loss_d, d_real, d_fake, fake = d_step(G, D, run.optimizers["D"], real, z, cfg, noise_std=std,
                                              generator=run.noise, autocast=run.autocast(), scaler=run.scalers["D"])
    else:  # D sits this step out: only its loss and outputs, for the log
        with run.autocast():
            loss_d, d_real, d_fake, fake = d_loss(G, D, real, z, cfg, noise_std=std, generator=run.noise)
        loss_d, d_real, d_fake = loss_d.detach(), d_real.detach(), d_fake.detach()
    loss_g = g_step(D, run.optimizers["G"], fake, cfg, noise_std=std, generator=run.noise,
                    autocast=run.autocast(), scaler=run.scalers["G"])
    values = {"loss_d": loss_d, "loss_g": loss_g, "d_real": d_real, "d_fake": d_fake}
    if cfg.d_skip_below is not None:
        run.memory["last_loss_d"] = float(loss_d)
        values["d_skipped"] = torch.tensor(0.0 if update_d else 1.0, device=run.device)
    if cfg.track_grad_norm:
        values["grad_g"] = gradient_norm(G)
    return values


def train_gan(G: nn.Module, D: nn.Module, data, config: GANConfig | None = None, callbacks=(), *,
              d_step=d_step, g_step=g_step, **overrides) -> dict:
    """Train G and D (in place) on batches from `data`; returns the history of logged averages.

    `overrides` change single config fields: train_gan(G, D, data, steps=500, lr_d=1e-4).
    `d_step` / `g_step` replace the two halves of the step (same arguments as the defaults).
    history: {"step": [...], "loss_d": [...], "loss_g": [...], "d_real": [...], "d_fake": [...],
    "seconds": [...]} (+ "grad_g", "d_skipped" when those options are on), one entry per log step.
    """
    cfg = configure(GANConfig, config, overrides)
    if not hasattr(G, "z_dim"):
        raise ValueError("G needs a `z_dim` attribute (the length of its noise vector)")
    run = make_run({"G": G, "D": D}, {"G": cfg.lr_g, "D": cfg.lr_d}, cfg.betas, data, cfg)
    return fit(run, lambda r, real: gan_step(r, real, d_step=d_step, g_step=g_step), callbacks)


# ---------------------------------------------------------------- the likelihood step
def likelihood_step(run: Run, batch) -> dict[str, torch.Tensor]:
    """One iteration for a model with `loss(x) -> {"loss": scalar to minimise, other terms...}`.

    The model defines its own loss (VAE: the negative ELBO; PixelCNN: the exact NLL);
    the engine only minimises "loss" and logs every term.
    """
    model, opt = run.models["model"], run.optimizers["model"]
    x = batch[0] if isinstance(batch, (tuple, list)) else batch
    with run.autocast():
        terms = model.loss(x)
    opt.zero_grad(set_to_none=True)
    backward_and_step(terms["loss"], opt, run.scalers["model"], run.config.grad_clip)
    return {k: v.detach() for k, v in terms.items()}


def train_likelihood(model: nn.Module, data, config: LikelihoodConfig | None = None, callbacks=(), *,
                     step=likelihood_step, **overrides) -> dict:
    """Train a likelihood model (in place) with Adam on batches from `data`; returns the history.

    The model must have `loss(x) -> dict` with a scalar "loss" (see `likelihood_step`).
    The same engine as `train_gan`: checkpoints, resume, divergence stop, progress, callbacks.
    """
    cfg = configure(LikelihoodConfig, config, overrides)
    if not callable(getattr(model, "loss", None)):
        raise ValueError(f"{type(model).__name__} needs a loss(x) method returning {{'loss': ..., ...}}")
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)   # in place; the weights' values and state_dict() keys are unchanged
    if cfg.compile:
        model.compile()                               # in place: self(x) inside model.loss runs the compiled forward
    run = make_run({"model": model}, {"model": cfg.lr}, cfg.betas, data, cfg)
    return fit(run, step, callbacks)


