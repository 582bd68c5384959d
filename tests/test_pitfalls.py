"""Lesson 3: the mode-coverage metric, the balance options of train_gan, the batched toy trainer."""
import pytest
import torch

import coursekit as ck
from coursekit import toy
from coursekit.metrics import coverage_of_runs, mode_coverage
from coursekit.nets import ToyDiscriminator, ToyGenerator
from coursekit.train import GANConfig, TrainingDiverged, g_step, train_gan


# ---------------------------------------------------------------- the metric
@pytest.mark.parametrize("mixture", [toy.ring(), toy.grid()], ids=["ring", "grid"])
def test_a_perfect_sampler_covers_every_mode(mixture):
    samples = mixture.sample(5000, torch.Generator().manual_seed(0))
    stats = mode_coverage(samples, mixture.centers, mixture.sigma)
    assert stats["modes"] == len(mixture.centers)
    assert stats["high_quality"] > 0.97            # P(|x - mu| < 3 sigma) in 2-D = 1 - exp(-4.5) = 0.989
    assert sum(stats["counts"]) == pytest.approx(stats["high_quality"] * 5000)


def test_a_one_mode_sampler_covers_one_mode():
    ring8 = toy.ring()
    samples = ring8.centers[3] + ring8.sigma * torch.randn(2000, 2, generator=torch.Generator().manual_seed(0))
    stats = mode_coverage(samples, ring8.centers, ring8.sigma)
    assert stats["modes"] == 1 and stats["counts"][3] == max(stats["counts"])
    assert stats["high_quality"] > 0.97


def test_samples_between_modes_are_low_quality():
    ring8 = toy.ring()
    midpoints = (ring8.centers + ring8.centers.roll(1, 0)) / 2          # halfway between neighbours
    samples = midpoints.repeat(100, 1) + 0.01 * torch.randn(800, 2, generator=torch.Generator().manual_seed(0))
    stats = mode_coverage(samples, ring8.centers, ring8.sigma)
    assert stats == {"modes": 0, "high_quality": 0.0, "counts": [0] * 8}
    # half on modes, half between: half high quality; NaN samples (a diverged G) count as low quality
    mixed = torch.cat([ring8.sample(800, torch.Generator().manual_seed(1)), samples, torch.full((10, 2), float("nan"))])
    assert mode_coverage(mixed, ring8.centers, ring8.sigma)["high_quality"] == pytest.approx(0.5, abs=0.02)


def test_a_few_stray_samples_do_not_cover_a_mode():
    ring8 = toy.ring()
    samples = torch.cat([ring8.centers[:1].repeat(990, 1), ring8.centers[1:2].repeat(5, 1), ring8.centers[2:3].repeat(5, 1)])
    assert mode_coverage(samples, ring8.centers, ring8.sigma)["modes"] == 1     # 0.5 % < min_share 1 %
    assert mode_coverage(samples, ring8.centers, ring8.sigma, min_share=0.005)["modes"] == 3
    runs = coverage_of_runs(torch.stack([samples, ring8.sample(1000)]), ring8.centers, ring8.sigma)
    assert runs["modes"] == [1, 8]
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        mode_coverage(torch.zeros(10, 3), ring8.centers, ring8.sigma)


# ---------------------------------------------------------------- data and nets
def test_the_toy_sampler_resumes_its_stream():
    data = toy.ToySampler(toy.ring(), batch_size=16, seed=3)
    data.next_batch()
    state = data.state_dict()
    expected = data.next_batch()
    data.next_batch()
    data.load_state_dict(state)
    assert torch.equal(data.next_batch(), expected)
    assert expected.shape == (16, 2)


def test_packed_and_minibatch_discriminators_shapes():
    x = torch.randn(12, 2)
    assert ToyDiscriminator(pack=4)(x).shape == (3,)
    assert ToyDiscriminator(minibatch_kernels=4, kernel_dim=3)(x).shape == (12,)
    assert ToyGenerator(z_dim=5)(torch.randn(7, 5)).shape == (7, 2)
    with pytest.raises(ValueError, match="multiple of pack=4"):
        ToyDiscriminator(pack=4)(torch.randn(10, 2))


# ---------------------------------------------------------------- the balance options change the loop
def _toy_pair(seed=0):
    torch.manual_seed(seed)
    return ToyGenerator(), ToyDiscriminator()


def _train(steps, seed=0, **options):
    G, D = _toy_pair(seed)
    history = train_gan(G, D, toy.ToySampler(toy.ring(), 64, seed=1), steps=steps, log_every=1, precision="fp32",
                        progress=False, **options)
    return G, D, history


def test_d_skip_below_leaves_d_unchanged_on_skipped_steps():
    _, d_once, _ = _train(1)
    _, d_skipping, history = _train(6, d_skip_below=100.0)    # D's loss (about 1.4) is always below 100
    _, d_training, _ = _train(6)
    assert history["d_skipped"] == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0]  # the first step has no previous loss
    for a, b, c in zip(d_once.parameters(), d_skipping.parameters(), d_training.parameters()):
        assert torch.equal(a, b)                   # only step 1 updated D
        assert not torch.equal(b, c)               # without the option D moves every step


def test_saturating_and_non_saturating_give_different_gradients_for_the_same_d():
    G, D = _toy_pair()
    with torch.no_grad():
        D.head.bias.fill_(-8.0)                    # D confidently rejects everything: D(G(z)) ~ 3e-4
    z = torch.randn(64, G.z_dim, generator=torch.Generator().manual_seed(0))
    norms = {}
    for loss in ("saturating", "non_saturating"):
        G.zero_grad()
        g_step(D, torch.optim.SGD(G.parameters(), lr=0.0), G(z), GANConfig(g_loss=loss))
        norms[loss] = ck.train.gradient_norm(G).item()
    assert norms["non_saturating"] > 100 * norms["saturating"] > 0   # the saturating gradient vanishes


def test_track_grad_norm_logs_the_vanishing_gradient():
    _, _, saturating = _train(3, g_loss="saturating", track_grad_norm=True)
    _, _, non_saturating = _train(3, track_grad_norm=True)
    assert len(saturating["grad_g"]) == 3 and all(g > 0 for g in saturating["grad_g"])
    assert saturating["grad_g"] != non_saturating["grad_g"]


def test_ttur_gives_each_network_its_own_update_size():
    G0, D0 = _toy_pair()
    G, D, _ = _train(1, lr_g=1e-4, lr_d=4e-4)
    # Adam's first step moves every weight by lr * g / (|g| + eps), i.e. by lr (for g >> eps)
    step_g = max((a - b).abs().max().item() for a, b in zip(G.parameters(), G0.parameters()))
    step_d = max((a - b).abs().max().item() for a, b in zip(D.parameters(), D0.parameters()))
    assert step_g == pytest.approx(1e-4, rel=1e-3) and step_d == pytest.approx(4e-4, rel=1e-3)


def test_label_smoothing_changes_the_d_step():
    _, d_smooth, h_smooth = _train(3, real_label=0.9)
    _, d_plain, h_plain = _train(3, real_label=1.0)
    assert h_smooth["loss_d"][0] != h_plain["loss_d"][0]
    assert not all(torch.equal(a, b) for a, b in zip(d_smooth.parameters(), d_plain.parameters()))


def test_a_huge_learning_rate_is_reported_as_diverged():
    G, D = _toy_pair()
    with pytest.raises(TrainingDiverged, match="at step"):
        train_gan(G, D, toy.ToySampler(toy.ring(), 64), steps=50, log_every=5, lr_g=1e3, lr_d=1e3, max_loss=50,
                  precision="fp32", progress=False)


# ---------------------------------------------------------------- batched = separate runs
@pytest.mark.parametrize("make_D", [ToyDiscriminator, lambda: ToyDiscriminator(pack=2),
                                    lambda: ToyDiscriminator(minibatch_kernels=4, kernel_dim=3)],
                         ids=["plain", "packed", "minibatch"])
def test_train_many_follows_the_separate_runs(make_D):
    """Same seeds -> the same trajectory (we test the weights after 5 steps, to float rounding)."""
    seeds, lrs, labels = [0, 1, 2], [2e-4, 1e-3, 5e-4], [0.9, 1.0, 0.8]
    runs = toy.train_many(toy.ring(), ToyGenerator, make_D, seeds, steps=5, batch_size=32, lr_g=lrs, lr_d=lrs,
                          real_label=labels, log_every=5)
    for r, (seed, lr, label) in enumerate(zip(seeds, lrs, labels)):
        G, D, history = toy.train_one(toy.ring(), ToyGenerator, make_D, seed=seed, batch_size=32, steps=5,
                                      log_every=5, lr_g=lr, lr_d=lr, real_label=label)
        for single, stacked in ((G, runs.G.module(r)), (D, runs.D.module(r))):
            for (name, a), b in zip(single.named_parameters(), stacked.parameters()):
                assert torch.allclose(a, b, atol=1e-5, rtol=1e-4), (r, name)
        assert runs.history["loss_d"][0][r] == pytest.approx(history["loss_d"][0], rel=1e-4)
    assert runs.diverged_at == [None, None, None]


def test_one_diverging_run_does_not_stop_the_others():
    made = []

    def make_D():                                  # the second run's D starts with a NaN weight
        D = ToyDiscriminator()
        if len(made) == 1:
            with torch.no_grad():
                D.head.weight[0, 0] = float("nan")
        made.append(D)
        return D

    runs = toy.train_many(toy.ring(), ToyGenerator, make_D, [0, 1], steps=3, batch_size=32, log_every=1)
    assert runs.diverged_at == [None, 1]
    assert all(torch.isfinite(p).all() for p in runs.G.module(0).parameters())
    samples = runs.samples(100)
    assert samples.shape == (2, 100, 2) and torch.isfinite(samples[0]).all()


# ---------------------------------------------------------------- growing resolution
def test_growing_keeps_what_g_and_d_computed_while_alpha_is_zero():
    from coursekit.nets.progressive import ProgressiveDiscriminator, ProgressiveGenerator, images_at
    torch.manual_seed(0)
    G, D = ProgressiveGenerator(z_dim=8, channels=(8, 4, 4)), ProgressiveDiscriminator(channels=(8, 4, 4))
    z, real32 = torch.randn(4, 8), torch.rand(4, 1, 32, 32) * 2 - 1
    for resolution in (8, 16, 32):
        assert G(z).shape == (4, 1, resolution, resolution) and D(images_at(real32, resolution)).shape == (4,)
        if resolution == 32:
            break
        before_g, before_d = G(z), D(images_at(real32, resolution))
        G.grow(), D.grow()                                     # alpha = 0: the new layers contribute nothing yet
        assert torch.allclose(G(z), torch.nn.functional.interpolate(before_g, scale_factor=2), atol=1e-6)
        assert torch.allclose(D(images_at(real32, 2 * resolution, alpha=0.0)), before_d, atol=1e-5)
        G.alpha = D.alpha = 1.0                                # the fade is over
    with pytest.raises(ValueError, match="largest resolution"):
        G.grow()
    with pytest.raises(ValueError, match="D is at 32 px"):
        D(torch.zeros(2, 1, 16, 16))


def test_fade_in_advances_alpha_once_per_batch_and_resumes():
    from coursekit.nets.progressive import StageBatches, ProgressiveDiscriminator, ProgressiveGenerator
    G, D = ProgressiveGenerator(z_dim=8, channels=(8, 4)), ProgressiveDiscriminator(channels=(8, 4))
    G.grow(), D.grow()
    images = ck.data.ImageSet(torch.randint(0, 256, (20, 1, 32, 32), dtype=torch.uint8), torch.zeros(20, dtype=torch.long),
                              ["x"], "random test pixels")
    data = StageBatches(images.batches(4), G, D, fade_steps=4)
    alphas = []
    for _ in range(6):
        assert data.next_batch().shape == (4, 1, 16, 16)
        alphas.append(G.alpha)
    assert alphas == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0] and D.alpha == 1.0
    state = data.state_dict()
    data.step = 0
    data.load_state_dict(state)
    assert data.alpha == 1.0


def test_stacked_adam_is_r_independent_torch_adams():
    """Why toy.py keeps its own 20-line Adam (issue 22): torch.optim.Adam takes one lr and beta1 per
    parameter group, and a stacked weight (R, ...) is one tensor holding every run, so a per-run lr /
    beta1 sweep cannot be one torch Adam. StackedAdam must still be exactly R torch Adams."""
    from coursekit.toy import StackedAdam
    torch.manual_seed(0)
    lr, beta1 = torch.tensor([1e-3, 3e-2, 1e-1]), torch.tensor([0.0, 0.5, 0.9])
    stacked = torch.randn(3, 4, 5, requires_grad=True)
    singles = [stacked[r].detach().clone().requires_grad_() for r in range(3)]
    ours = StackedAdam([stacked], lr, beta1)
    theirs = [torch.optim.Adam([p], lr=float(lr[r]), betas=(float(beta1[r]), 0.999)) for r, p in enumerate(singles)]
    for step in range(5):
        grad = torch.randn(3, 4, 5)
        ours.zero_grad()
        stacked.grad = grad.clone()
        ours.step()
        for r, (p, opt) in enumerate(zip(singles, theirs)):
            opt.zero_grad()
            p.grad = grad[r].clone()
            opt.step()
    for r in range(3):
        torch.testing.assert_close(stacked[r].detach(), singles[r].detach(), rtol=1e-5, atol=1e-6)
