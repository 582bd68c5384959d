"""Lesson 6: the U-Net, the noise schedule, the loss, DDPM / DDIM sampling, guidance, training on the engine."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import coursekit as ck
from coursekit.diffusion import (DiffusionConfig, ddim_sample, ddpm_sample, diffusion_loss, linear_schedule,
                                 predict_noise, q_sample, timesteps, train_diffusion)
from coursekit.nets import UNet


class Oracle(nn.Module):
    """The exact noise predictor for a data set of ONE image x*: ε(x_t, t) = (x_t - sqrt(ᾱ_t) x*) / sqrt(1 - ᾱ_t)."""

    def __init__(self, target: torch.Tensor, schedule):
        super().__init__()
        self.target, self.schedule = target, schedule
        self.dummy = nn.Parameter(torch.zeros(()))  # so the samplers find a device

    def forward(self, x, t, labels=None):
        ab = self.schedule._at(self.schedule.alpha_bars, t, x)
        return (x - ab.sqrt() * self.target) / (1 - ab).sqrt()


@pytest.fixture(scope="module")
def digits():
    return ck.data.load_mnist(train=True).subset(256, seed=0)


def test_unet_shapes_labels_and_zero_start():
    torch.manual_seed(0)
    net = UNet(8, (1, 2, 4), num_classes=10)
    x, t = torch.randn(3, 1, 28, 28), torch.tensor([0, 500, 999])
    out = net(x, t, torch.tensor([0, 9, net.null_label]))
    assert out.shape == x.shape
    assert torch.equal(out, torch.zeros_like(out))        # conv_out starts at zero: predicts ε = 0
    assert torch.equal(net(x, t), net(x, t, torch.full((3,), 10)))  # no labels = the null label


@pytest.mark.parametrize("kwargs, match", [(dict(channels=12), "multiple of 8"), (dict(channels=8.0), "multiple of 8"),
                                           (dict(mults=()), "mults"), (dict(mults=(1, 0)), "mults"),
                                           (dict(num_classes=0), "num_classes")])
def test_unet_refuses_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        UNet(**{"channels": 8, **kwargs})


def test_unet_refuses_bad_inputs():
    net, plain = UNet(8, num_classes=10), UNet(8)
    x = torch.randn(2, 1, 28, 28)
    with pytest.raises(ValueError, match="x must be"):
        net(x[0], torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="t must be"):
        net(x, torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="labels must be"):
        net(x, torch.zeros(2, dtype=torch.long), torch.zeros(2))
    with pytest.raises(ValueError, match="unconditional"):
        plain(x, torch.zeros(2, dtype=torch.long), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="no labels"):
        plain.null_label


def test_schedule_values_and_forward_statistics():
    s = linear_schedule(1000)
    assert s.T == 1000 and math.isclose(s.betas[0].item(), 1e-4) and math.isclose(s.betas[-1].item(), 0.02)
    assert torch.allclose(s.alpha_bars, torch.cumprod(1 - s.betas, 0))
    assert s.alpha_bars[-1] < 1e-4                                    # x_T is almost pure noise
    g = torch.Generator().manual_seed(0)
    x0 = torch.full((20_000, 1, 2, 2), 0.5)
    for step in (0, 250, 999):
        t = torch.full((len(x0),), step)
        xt = q_sample(x0, t, s, torch.randn(x0.shape, generator=g))
        ab = s.alpha_bars[step].item()
        assert abs(xt.mean().item() - 0.5 * math.sqrt(ab)) < 0.01     # mean sqrt(ᾱ_t) x0
        assert abs(xt.var().item() - (1 - ab)) < 0.02 * max(1 - ab, 0.01) + 1e-4  # variance 1 - ᾱ_t


@pytest.mark.parametrize("call, match", [
    (lambda: linear_schedule(0), "T must be"), (lambda: linear_schedule(10.5), "T must be"),
    (lambda: linear_schedule(10, 0.0, 0.02), "beta_start"), (lambda: linear_schedule(10, 0.1, 0.01), "beta_start"),
    (lambda: ck.diffusion.NoiseSchedule(torch.tensor([0.1, float("nan")])), "beta"),
    (lambda: ck.diffusion.NoiseSchedule(torch.tensor([])), "non-empty"),
])
def test_schedule_refuses_bad_settings(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("x0, t, match", [
    (torch.zeros(2, 28, 28), torch.zeros(2, dtype=torch.long), "(N, C, H, W)"),
    (torch.zeros(0, 1, 28, 28), torch.zeros(0, dtype=torch.long), "empty"),
    (torch.zeros(2, 1, 28, 28, dtype=torch.uint8), torch.zeros(2, dtype=torch.long), "float in"),
    (torch.full((2, 1, 28, 28), 255.0), torch.zeros(2, dtype=torch.long), r"\[-1, 1\]"),
    (torch.full((2, 1, 28, 28), float("nan")), torch.zeros(2, dtype=torch.long), "finite"),
    (torch.zeros(2, 1, 28, 28), torch.zeros(2), "integer tensor"),
    (torch.zeros(2, 1, 28, 28), torch.zeros(3, dtype=torch.long), "shape"),
    (torch.zeros(2, 1, 28, 28), torch.tensor([0, 1000]), "0..999"),
    (torch.zeros(2, 1, 28, 28), torch.tensor([-1, 0]), "0..999"),
])
def test_q_sample_refuses_bad_input(x0, t, match):
    with pytest.raises(ValueError, match=match):
        q_sample(x0, t, linear_schedule(), torch.zeros(x0.shape) if x0.dim() else x0)


def test_loss_refuses_bad_input():
    net, s = UNet(8, num_classes=10), linear_schedule(10)
    x = torch.zeros(2, 1, 28, 28)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        diffusion_loss(net, x + 3, s)
    with pytest.raises(ValueError, match="p_uncond"):
        diffusion_loss(net, x, s, p_uncond=1.5)
    with pytest.raises(ValueError, match="0..9"):
        diffusion_loss(net, x, s, labels=torch.tensor([3, 10]))
    with pytest.raises(TypeError, match="NoiseSchedule"):
        diffusion_loss(net, x, "linear")


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=0), "n must be"), (dict(n=-3), "n must be"), (dict(n=2.5), "n must be"),
    (dict(steps=0), "steps must be"), (dict(steps=-5), "steps must be"), (dict(steps=2.5), "steps must be"),
    (dict(steps=True), "steps must be"), (dict(steps=11), "at most"), (dict(eta=1.5), "eta"),
    (dict(guidance=-1.0), "guidance"), (dict(guidance=float("nan")), "guidance"),
    (dict(labels=torch.tensor([0, 10])), "0..9"), (dict(labels=torch.tensor([0.0, 1.0])), "whole class indices"),
    (dict(labels=torch.tensor([0, 1, 2])), "shape"),
])
def test_samplers_refuse_bad_input(kwargs, match):
    net, s = UNet(8, num_classes=10), linear_schedule(10)
    kwargs = {"n": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        ddim_sample(net, s, **{"steps": 10, **kwargs})
    if "steps" not in kwargs and "eta" not in kwargs:
        with pytest.raises(ValueError, match=match):
            ddpm_sample(net, s, **kwargs)


def test_labels_need_a_conditional_net_and_ddpm_variance_is_checked():
    with pytest.raises(ValueError, match="num_classes"):
        ddpm_sample(UNet(8), linear_schedule(10), 2, labels=torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="variance"):
        ddpm_sample(UNet(8), linear_schedule(10), 2, variance="learned")


def test_timesteps_spread_evenly():
    assert timesteps(1000, 1000) == list(range(999, -1, -1))
    assert timesteps(1000, 10)[0] == 999 and timesteps(1000, 10)[-1] == 0 and len(timesteps(1000, 10)) == 10
    assert timesteps(1000, 1) == [999]


@pytest.mark.parametrize("steps", [1000, 50, 10, 1])
def test_exact_noise_predictor_recovers_the_one_training_image(digits, steps):
    """With the exact ε of a one-image data set, DDIM (any step count) and DDPM both end on that image."""
    s = linear_schedule(1000)
    target = digits.images[:1].float() / 127.5 - 1
    oracle = Oracle(target, s)
    out = ddim_sample(oracle, s, 3, steps=steps, generator=torch.Generator().manual_seed(0), clip=False)
    assert torch.allclose(out, target.expand_as(out), atol=1e-4)
    if steps == 1000:
        out = ddpm_sample(oracle, s, 3, generator=torch.Generator().manual_seed(0), clip=False)
        assert torch.allclose(out, target.expand_as(out), atol=1e-4)


@pytest.mark.parametrize("clip", [False, True])
def test_ddim_with_eta_1_and_all_steps_is_ddpm_with_the_posterior_variance(clip):
    torch.manual_seed(0)
    net, s = UNet(8), linear_schedule(50)
    for p in net.conv_out.parameters():
        nn.init.normal_(p, std=0.1)  # a non-trivial predictor
    ddpm = ddpm_sample(net, s, 4, variance="posterior", clip=clip, generator=torch.Generator().manual_seed(1))
    ddim = ddim_sample(net, s, 4, steps=50, eta=1.0, clip=clip, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(ddpm, ddim, atol=1e-5)
    again = ddim_sample(net, s, 4, steps=10, generator=torch.Generator().manual_seed(1))
    assert torch.equal(again, ddim_sample(net, s, 4, steps=10, generator=torch.Generator().manual_seed(1)))


def test_ddpm_mean_is_the_papers_formula_without_clipping():
    """One DDPM step written as in Ho et al.'s algorithm 2 equals coursekit's (posterior-mean) form."""
    torch.manual_seed(0)
    net, s = UNet(8), linear_schedule(1)
    for p in net.conv_out.parameters():
        nn.init.normal_(p, std=0.1)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(4, 1, 28, 28, generator=g)
    with torch.no_grad():
        eps = net(x, torch.zeros(4, dtype=torch.long))
    a, ab = 1 - s.betas[0].item(), s.alpha_bars[0].item()
    paper = (x - (1 - a) / math.sqrt(1 - ab) * eps) / math.sqrt(a)
    ours = ddpm_sample(net, s, 4, clip=False, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(ours, paper.clamp(-1, 1), atol=1e-5)


def test_guidance_mixes_conditional_and_unconditional_predictions():
    torch.manual_seed(0)
    net = UNet(8, num_classes=10)
    for p in net.conv_out.parameters():
        nn.init.normal_(p, std=0.1)
    x, labels = torch.randn(3, 1, 28, 28), torch.tensor([1, 5, 7])
    with torch.no_grad():
        cond = predict_noise(net, x, 20, labels, 1.0)
        uncond = predict_noise(net, x, 20, None)
        guided = predict_noise(net, x, 20, labels, 3.0)
    assert torch.allclose(guided, uncond + 3 * (cond - uncond), atol=1e-5)
    assert torch.allclose(predict_noise(net, x, 20, labels, 0.0), uncond, atol=1e-5)


def written_out_step(model, opt, x0, schedule, generator):
    """The training step as notebook 06 writes it."""
    t = torch.randint(0, schedule.T, (len(x0),), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    ab = schedule.alpha_bars.float()[t].view(-1, 1, 1, 1)
    x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * noise
    loss = F.mse_loss(model(x_t, t), noise)
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss


def test_written_out_step_equals_coursekits(digits):
    x0 = digits.images[:16].float() / 127.5 - 1
    s = linear_schedule(1000)
    torch.manual_seed(0)
    ours = UNet(8)
    theirs = UNet(8)
    theirs.load_state_dict(ours.state_dict())
    loss = written_out_step(ours, ck.engine.adam(ours.parameters(), 1e-3, (0.9, 0.999)), x0, s,
                            torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = diffusion_loss(theirs, x0, s, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(loss, expected)
    data = ck.batches.DeviceBatches(digits.images[:16], batch_size=16, shuffle=False)
    train_diffusion(theirs, data, steps=1, precision="fp32", progress=False, seed=0)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_short_training_lowers_the_loss_and_keeps_an_ema(digits):
    torch.manual_seed(0)
    net = UNet(8, (1, 2, 4))
    ema = ck.diffusion.ema_copy(net)
    history = train_diffusion(net, digits.batches(32, "cpu"), steps=60, log_every=20, lr=2e-3, progress=False,
                              ema=ema)
    assert history["loss"][-1] < 0.75 * history["loss"][0], history["loss"]
    assert not any(torch.equal(a, b) for a, b in zip(net.parameters(), ema.parameters()) if a.dim() > 1)
    assert all(not p.requires_grad for p in ema.parameters())


def test_checkpoint_resume_continues_exactly(digits, tmp_path):
    def run(steps, folder):
        torch.manual_seed(0)
        net = UNet(8, (1, 2), num_classes=10)
        ema = ck.diffusion.ema_copy(net)
        history = train_diffusion(net, ck.batches.DeviceBatches(digits.images, digits.labels, batch_size=16),
                                  steps=steps, log_every=2, progress=False, ema=ema,
                                  callbacks=[ck.callbacks.Checkpoint("d", every=2, folder=folder)])
        return net, ema, history
    straight, straight_ema, _ = run(6, tmp_path / "a")
    run(3, tmp_path / "b")
    resumed, resumed_ema, history = run(6, tmp_path / "b")
    assert history["step"][-1] == 6
    for a, b in zip([*straight.parameters(), *straight_ema.parameters()],
                    [*resumed.parameters(), *resumed_ema.parameters()]):
        assert torch.equal(a, b)


def test_train_diffusion_refuses_bad_settings(digits):
    data = digits.batches(16, "cpu")
    with pytest.raises(ValueError, match="ema_decay"):
        train_diffusion(UNet(8), data, steps=1, ema_decay=1.0)
    with pytest.raises(ValueError, match="beta_start"):
        train_diffusion(UNet(8), data, steps=1, beta_start=0.5, beta_end=0.1)
    with pytest.raises(ValueError, match="T must be"):
        train_diffusion(UNet(8), data, steps=1, T=0)
    with pytest.raises(TypeError, match="unknown setting"):
        train_diffusion(UNet(8), data, steps=1, temperature=2)
    with pytest.raises(ValueError, match="ema must be a copy"):
        train_diffusion(UNet(8), data, steps=1, ema=UNet(16))


def test_diverged_training_stops(digits):
    with pytest.raises(ck.engine.TrainingDiverged):
        train_diffusion(UNet(8), digits.batches(16, "cpu"), steps=4, log_every=2, lr=1e30, grad_clip=None,
                        progress=False)
