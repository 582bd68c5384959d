"""Denoising diffusion (lesson 6): noise schedule, forward noising, the noise-prediction loss,
DDPM ancestral sampling, DDIM sampling with few steps, classifier-free guidance, and training
on the course's engine.

    schedule = ck.diffusion.linear_schedule(T=1000)                 # Ho et al. 2020: beta 1e-4 .. 0.02
    x_t = ck.diffusion.q_sample(x0, t, schedule, noise)             # sqrt(ᾱ_t) x0 + sqrt(1 - ᾱ_t) noise
    net, ema = ck.nets.UNet(32), ck.nets.UNet(32)
    ck.diffusion.train_diffusion(net, mnist.batches(128, device), steps=5000, ema=ema)
    x = ck.diffusion.ddpm_sample(ema, schedule, 64)                 # T network passes
    x = ck.diffusion.ddim_sample(ema, schedule, 64, steps=50)       # 50 passes, deterministic for eta=0

Images are (B, 1, H, W) floats in [-1, 1]; time steps t are int64 in [0, T) (t = 0 is the least
noisy step; the paper's t = 1..T shifted by one). The model predicts the noise: eps_theta(x_t, t[, label]).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .checks import check_count, check_finite, check_images, check_labels, check_number, check_positive
from .engine import Run, TrainConfig, adam, backward_and_step, configure, fit, resolve_precision


# ---------------------------------------------------------------- the noise schedule
class NoiseSchedule:
    """β_1..β_T and what follows from them, as float64 tensors (T,) on the CPU.

    alphas = 1 - β;  alpha_bars ᾱ_t = Π_{s<=t} α_s: x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε.
    """

    def __init__(self, betas: torch.Tensor):
        if not torch.is_tensor(betas) or betas.dim() != 1 or len(betas) == 0:
            raise ValueError(f"betas must be a non-empty 1-d tensor, got {betas!r:.80}")
        betas = betas.double().cpu()
        if not torch.isfinite(betas).all() or not ((betas > 0) & (betas < 1)).all():
            raise ValueError("betas: every beta must be in (0, 1): a noise step adds some noise and keeps some signal")
        self.betas = betas
        self.alphas = 1 - betas
        self.alpha_bars = torch.cumprod(self.alphas, 0)

    @property
    def T(self) -> int:
        return len(self.betas)

    def _at(self, values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """values[t] shaped (B, 1, 1, 1) in `like`'s dtype and device, to broadcast over images."""
        return values.to(like.device)[t.to(like.device)].to(like.dtype).view(-1, *([1] * (like.dim() - 1)))


def linear_schedule(T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> NoiseSchedule:
    """Ho et al.'s schedule: β rising linearly from 1e-4 to 0.02 over T = 1000 steps."""
    T = check_count(T, "T")
    beta_start = check_number(beta_start, "beta_start", low=0, high=1, low_open=True, high_open=True)
    beta_end = check_number(beta_end, "beta_end", low=0, high=1, low_open=True, high_open=True)
    if not beta_start <= beta_end:
        raise ValueError(f"need 0 < beta_start <= beta_end < 1, got beta_start={beta_start!r}, beta_end={beta_end!r}")
    return NoiseSchedule(torch.linspace(beta_start, beta_end, T, dtype=torch.float64))


# ---------------------------------------------------------------- forward process and loss
def q_sample(x0: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule, noise: torch.Tensor) -> torch.Tensor:
    """Draw x_t ~ q(x_t | x_0) = N(sqrt(ᾱ_t) x_0, (1 - ᾱ_t) I): x0, noise (B, C, H, W), t (B,) -> (B, C, H, W)."""
    _check_images(x0, "x0")
    _check_timesteps(t, len(x0), schedule)
    if not torch.is_tensor(noise) or noise.shape != x0.shape or not noise.is_floating_point():
        raise ValueError(f"noise must be float with x0's shape {tuple(x0.shape)}, got "
                         f"{(noise.dtype, tuple(noise.shape)) if torch.is_tensor(noise) else type(noise).__name__}")
    check_finite(noise, "noise")
    ab = schedule._at(schedule.alpha_bars, t, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def diffusion_loss(model: nn.Module, x0: torch.Tensor, schedule: NoiseSchedule, *, labels: torch.Tensor | None = None,
                   p_uncond: float = 0.1, generator: torch.Generator | None = None) -> torch.Tensor:
    """The simplified DDPM loss: mean over batch and pixels of ||ε - ε_θ(x_t, t)||², a 0-d tensor.

    Draws, in this order from `generator`: t ~ U{0..T-1} (B,), ε ~ N(0, I) like x0, and (labels
    given) the mask that replaces each label by the model's `null_label` with probability
    `p_uncond` (classifier-free guidance trains one net for both). x0 (B, C, H, W) in [-1, 1].
    """
    _check_images(x0, "x0", model)
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (ck.diffusion.linear_schedule()), got {type(schedule).__name__}")
    p_uncond = check_number(p_uncond, "p_uncond", low=0, high=1)
    if labels is not None:
        _check_labels(model, labels, len(x0), x0.device)
    return _loss(model, x0, schedule, labels, p_uncond, generator)


def _loss(model, x0, schedule, labels, p_uncond, generator) -> torch.Tensor:
    """`diffusion_loss` without the input checks (they sync with the device; the training step skips them)."""
    t = torch.randint(0, schedule.T, (len(x0),), device=x0.device, generator=generator)
    noise = torch.randn(x0.shape, device=x0.device, generator=generator, dtype=x0.dtype)
    ab = schedule._at(schedule.alpha_bars, t, x0)
    x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * noise                     # q_sample, unchecked
    if labels is not None:
        drop = torch.rand(len(x0), device=x0.device, generator=generator) < p_uncond
        labels = torch.where(drop, torch.full_like(labels, model.null_label), labels)
    return F.mse_loss(model(x_t, t, labels).float(), noise.float())


# ---------------------------------------------------------------- sampling
def predict_noise(model: nn.Module, x: torch.Tensor, t: int, labels: torch.Tensor | None = None,
                  guidance: float = 1.0) -> torch.Tensor:
    """ε_θ(x, t) at one time step for a batch x (B, C, H, W); with labels, classifier-free guidance:

    ε = ε_uncond + guidance · (ε_label - ε_uncond): guidance 1 is the plain conditional model,
    0 the unconditional one, > 1 pushes samples towards what makes the label likely.
    """
    t = check_count(t, "t", minimum=0)
    check_images(x, "x", channels=getattr(model, "image_channels", None), min_size=getattr(model, "min_size", 1))
    if not x.is_floating_point():
        raise ValueError(f"x must be a float tensor (a noisy image x_t), got dtype {x.dtype}")
    guidance = check_number(guidance, "guidance", low=0)
    if labels is not None:
        labels = _check_labels(model, labels, len(x), x.device)
    return _predict_noise(model, x, t, labels, guidance)


def _predict_noise(model, x, t, labels, guidance) -> torch.Tensor:
    """`predict_noise` without the checks (the samplers check once, not at every step)."""
    steps = torch.full((len(x),), t, device=x.device, dtype=torch.long)
    if labels is None:
        return model(x, steps)
    if guidance == 1:
        return model(x, steps, labels)
    both = model(torch.cat([x, x]), torch.cat([steps, steps]),
                 torch.cat([labels, torch.full_like(labels, model.null_label)]))
    eps_label, eps_uncond = both.chunk(2)
    return eps_uncond + guidance * (eps_label - eps_uncond)


def _x0_and_eps(x: torch.Tensor, eps: torch.Tensor, ab: float, clip: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The clean image the noise prediction implies, x̂0 = (x - sqrt(1-ᾱ) ε) / sqrt(ᾱ), clipped to [-1, 1]
    if `clip`, and the noise consistent with the (clipped) x̂0."""
    x0 = (x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
    if not clip:
        return x0, eps
    x0 = x0.clamp(-1, 1)
    return x0, (x - math.sqrt(ab) * x0) / math.sqrt(1 - ab)


@torch.inference_mode()
def ddpm_sample(model: nn.Module, schedule: NoiseSchedule, n: int, *, labels: torch.Tensor | None = None,
                guidance: float = 1.0, generator: torch.Generator | None = None, variance: str = "beta",
                clip: bool = True, device=None) -> torch.Tensor:
    """Ancestral sampling (Ho et al. 2020, algorithm 2): T network passes -> (n, C, H, W) in [-1, 1] on the CPU.

    x_T ~ N(0, I); for t = T-1 .. 0: x_{t-1} = μ̃_t(x_t, x̂0) + σ_t z, z ~ N(0, I) (none at the last step),
    μ̃ the mean of q(x_{t-1} | x_t, x_0) at the predicted x̂0. variance "beta": σ_t² = β_t;
    "posterior": σ_t² = β̃_t = β_t (1 - ᾱ_{t-1}) / (1 - ᾱ_t). clip: x̂0 clipped to [-1, 1] (as Ho et al.'s code);
    with clip=False μ̃ = (x_t - β_t / sqrt(1 - ᾱ_t) ε) / sqrt(α_t), the paper's formula.
    All noise is drawn on the CPU from `generator`, so a seed gives the same images on any device.
    """
    if variance not in ("beta", "posterior"):
        raise ValueError(f"variance must be 'beta' or 'posterior', got {variance!r}")
    return _sample(model, schedule, n, list(range(schedule.T - 1, -1, -1)), labels, guidance, generator, clip,
                   device, eta=None, variance=variance)


@torch.inference_mode()
def ddim_sample(model: nn.Module, schedule: NoiseSchedule, n: int, steps: int = 50, *, eta: float = 0.0,
                labels: torch.Tensor | None = None, guidance: float = 1.0, generator: torch.Generator | None = None,
                clip: bool = True, device=None) -> torch.Tensor:
    """DDIM (Song et al. 2021): `steps` network passes on evenly spaced time steps -> (n, C, H, W) in [-1, 1].

    x_prev = sqrt(ᾱ_prev) x̂0 + sqrt(1 - ᾱ_prev - σ²) ε + σ z,  σ = eta · sqrt((1-ᾱ_prev)/(1-ᾱ_t) · (1 - ᾱ_t/ᾱ_prev)).
    eta = 0: deterministic (the same x_T always gives the same image); eta = 1 with steps = T is
    DDPM with the "posterior" variance. Same model as DDPM: no retraining.
    """
    steps = check_count(steps, "steps")
    if steps > schedule.T:
        raise ValueError(f"steps must be at most the schedule's T = {schedule.T}, got {steps}")
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not 0 <= eta <= 1:
        raise ValueError(f"eta must be a number in [0, 1] (0: deterministic DDIM, 1: DDPM-like), got {eta!r}")
    return _sample(model, schedule, n, timesteps(schedule.T, steps), labels, guidance, generator, clip, device,
                   eta=float(eta))


def timesteps(T: int, steps: int) -> list[int]:
    """`steps` time steps spread evenly over 0..T-1, largest first (T-1 and 0 always included)."""
    steps, T = check_count(steps, "steps"), check_count(T, "T")
    if steps == 1:
        return [T - 1]
    return sorted({round(i * (T - 1) / (steps - 1)) for i in range(steps)}, reverse=True)


def _sample(model, schedule, n, ts, labels, guidance, generator, clip, device, *, eta, variance="beta"):
    """The loop DDPM and DDIM share: one network pass per entry of `ts` (descending)."""
    n = check_count(n, "n")
    if isinstance(guidance, bool) or not isinstance(guidance, (int, float)) or not 0 <= guidance < math.inf:
        raise ValueError(f"guidance must be a finite number >= 0 (1: plain conditional), got {guidance!r}")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    labels = _check_labels(model, labels, n, device)
    shape = (n, getattr(model, "image_channels", 1), 28, 28)
    was_training = model.training
    model.eval()
    try:
        x = torch.randn(shape, generator=generator).to(device)                     # x_T ~ N(0, I)
        ab = schedule.alpha_bars.tolist()
        for i, t in enumerate(ts):
            prev = ts[i + 1] if i + 1 < len(ts) else -1
            ab_prev = ab[prev] if prev >= 0 else 1.0
            eps = _predict_noise(model, x, t, labels, guidance).float()
            x0, eps = _x0_and_eps(x, eps, ab[t], clip)
            if eta is None:  # DDPM: the posterior mean, then noise of variance β_t or β̃_t
                beta = 1 - ab[t] / ab_prev
                if clip:     # the mean of q(x_{t-1} | x_t, x̂0) at the clipped x̂0
                    mean = (math.sqrt(ab_prev) * beta * x0 + math.sqrt(1 - beta) * (1 - ab_prev) * x) / (1 - ab[t])
                else:        # the same mean written through ε, as in the paper (and lesson 6's loop)
                    mean = (x - beta / math.sqrt(1 - ab[t]) * eps) / math.sqrt(1 - beta)
                sigma = math.sqrt(beta if variance == "beta" else beta * (1 - ab_prev) / (1 - ab[t])) if prev >= 0 else 0.0
            else:            # DDIM: jump to ᾱ_prev along the predicted noise
                sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab[t]) * (1 - ab[t] / ab_prev))
                mean = math.sqrt(ab_prev) * x0 + math.sqrt(max(1 - ab_prev - sigma ** 2, 0.0)) * eps
            x = mean + sigma * torch.randn(shape, generator=generator).to(device) if sigma > 0 else mean
        return x.clamp(-1, 1).float().cpu()
    finally:
        model.train(was_training)


# ---------------------------------------------------------------- training on the engine
@dataclass
class DiffusionConfig(TrainConfig):
    """Settings of `train_diffusion` (paper values: Ho et al. 2020 on CIFAR-10)."""
    lr: float = 1e-3                # Adam; the paper used 2e-4 with a 35.7M-parameter net and 800k steps
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float | None = 1.0   # the paper clips the gradient norm to 1
    T: int = 1000                   # diffusion steps (paper: 1000)
    beta_start: float = 1e-4        # linear schedule of the noise variances (paper: 1e-4 .. 0.02)
    beta_end: float = 0.02
    ema_decay: float = 0.999        # EMA of the weights, kept in `ema` (paper: 0.9999 over 800k steps)
    p_uncond: float = 0.1           # label dropout for classifier-free guidance (Ho & Salimans: 0.1-0.2)

    def validate(self) -> None:
        super().validate()
        self.check_adam(("lr",))
        self.grad_clip = check_positive(self.grad_clip, "grad_clip", optional=True)
        self.ema_decay = check_number(self.ema_decay, "ema_decay", low=0, high=1, high_open=True)
        self.p_uncond = check_number(self.p_uncond, "p_uncond", low=0, high=1)
        linear_schedule(self.T, self.beta_start, self.beta_end)  # raises on bad schedule settings

    def schedule(self) -> NoiseSchedule:
        return linear_schedule(self.T, self.beta_start, self.beta_end)


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema ← decay · ema + (1 - decay) · model, parameter by parameter (buffers copied)."""
    decay = check_number(decay, "decay", low=0, high=1)
    if type(ema) is not type(model) or len(list(ema.parameters())) != len(list(model.parameters())):
        raise ValueError(f"ema must be a copy of model's architecture (ck.diffusion.ema_copy(model)), got "
                         f"{type(ema).__name__} for a {type(model).__name__}")
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p.detach(), 1 - decay)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)


def diffusion_step(run: Run, batch) -> dict[str, torch.Tensor]:
    """One training step: the noise-prediction loss on a batch, Adam, then the EMA of the weights.

    The EMA's decay warms up as min(ema_decay, (1 + step) / (10 + step)), so a short run's
    average is not dominated by the random initial weights.
    """
    cfg: DiffusionConfig = run.config
    model, opt = run.models["model"], run.optimizers["model"]
    x, labels = batch if isinstance(batch, (tuple, list)) else (batch, None)
    if getattr(model, "num_classes", None) is None:
        labels = None                                  # an unconditional net ignores the data set's labels
    with run.autocast():
        loss = _loss(model, x, run.memory["schedule"], labels, cfg.p_uncond, run.noise)
    opt.zero_grad(set_to_none=True)
    backward_and_step(loss, opt, run.scalers["model"], cfg.grad_clip)
    if "ema" in run.models:
        ema_update(run.models["ema"], model, min(cfg.ema_decay, (1 + run.step) / (10 + run.step)))
    return {"loss": loss.detach()}


def train_diffusion(model: nn.Module, data, config: DiffusionConfig | None = None, callbacks=(), *,
                    ema: nn.Module | None = None, **overrides) -> dict:
    """Train a noise predictor (in place) on batches from `data`; returns the history ("loss" per log step).

    ema: a second net of the same architecture that receives the moving average of the weights
    (sample from it); it is checkpointed with the run. Labelled batches train a net built with
    `num_classes` for classifier-free guidance. The course's engine: checkpoints, resume,
    divergence stop, progress and live plots through callbacks.
    """
    cfg = configure(DiffusionConfig, config, overrides)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module noise predictor model(x_t, t), got {type(model).__name__}")
    models = {"model": model}
    if ema is not None:
        if type(ema) is not type(model) or any(a.shape != b.shape for a, b in
                                                zip(ema.state_dict().values(), model.state_dict().values())):
            raise ValueError("ema must be a copy of model's architecture: ema = ck.diffusion.ema_copy(model)")
        ema.load_state_dict(model.state_dict())       # the average starts at the initial weights
        models["ema"] = ema.requires_grad_(False)
    device = next(model.parameters()).device
    amp = resolve_precision(device, cfg.precision)
    run = Run(models, {"model": adam(model.parameters(), cfg.lr, cfg.betas)},
              {"model": torch.amp.GradScaler(device.type, enabled=amp == torch.float16)},
              data, cfg, device, amp, torch.Generator(device=device).manual_seed(cfg.seed))
    run.memory["schedule"] = cfg.schedule()
    return fit(run, diffusion_step, callbacks)


def ema_copy(model: nn.Module) -> nn.Module:
    """A frozen copy of `model` to hold the moving average of its weights."""
    return copy.deepcopy(model).requires_grad_(False)


# ---------------------------------------------------------------- checks
def _check_images(x: torch.Tensor, name: str, model: nn.Module | None = None) -> None:
    """x: a float batch in [-1, 1] shaped as `model` (when given) takes it (one host sync)."""
    check_images(x, name, channels=getattr(model, "image_channels", None), min_size=getattr(model, "min_size", 1))
    if not x.is_floating_point():
        raise ValueError(f"{name} must be float in [-1, 1], got dtype {x.dtype} (uint8 digits: x / 127.5 - 1)")
    lo, hi = torch.aminmax(x.detach())
    if not torch.isfinite(lo) or not torch.isfinite(hi) or lo < -1.001 or hi > 1.001:
        raise ValueError(f"{name} must be finite and in [-1, 1], got values in [{float(lo):.3g}, {float(hi):.3g}]")


def _check_timesteps(t: torch.Tensor, n: int, schedule: NoiseSchedule) -> None:
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (ck.diffusion.linear_schedule()), got {type(schedule).__name__}")
    if not torch.is_tensor(t) or t.shape != (n,) or t.is_floating_point() or t.dtype == torch.bool:
        raise ValueError(f"t must be an integer tensor of shape ({n},), one time step per image, got "
                         f"{(t.dtype, tuple(t.shape)) if torch.is_tensor(t) else type(t).__name__}")
    if n and (t.min() < 0 or t.max() >= schedule.T):
        raise ValueError(f"time steps must be in 0..{schedule.T - 1}, got {int(t.min())}..{int(t.max())}")


def _check_labels(model: nn.Module, labels, n: int, device) -> torch.Tensor | None:
    if labels is None:
        return None
    classes = getattr(model, "num_classes", None)
    if classes is None:
        raise ValueError("labels given for a model without labels: build it with ck.nets.UNet(num_classes=10)")
    return check_labels(labels, "labels", n=n, classes=classes).to(device)
