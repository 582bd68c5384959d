"""Lesson 2: the DCGAN networks, minibatch discrimination, and that every stabiliser flag changes what D sees or its targets."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import coursekit as ck
from coursekit.metrics.flowers import checkerboard_energy
from coursekit.nets import DCGANDiscriminator, DCGANGenerator, MinibatchDiscrimination
from coursekit.train import GANConfig, d_step, instance_noise_std


# ---------------------------------------------------------------- shapes
@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("upsample", ["transposed", "nearest"])
@pytest.mark.parametrize("extra_layer", [False, True])
def test_generator_shapes(size, upsample, extra_layer):
    G = DCGANGenerator(z_dim=20, size=size, width=8, upsample=upsample, extra_layer=extra_layer)
    x = G(torch.randn(5, 20))
    assert x.shape == (5, 3, size, size) and G.z_dim == 20
    assert x.abs().max() <= 1                                      # tanh output
    kinds = [type(m) for m in G.modules()]
    assert (nn.Upsample in kinds) == (upsample == "nearest")
    assert (kinds.count(nn.ConvTranspose2d) == 1) == (upsample == "nearest")   # only the 1x1 -> 4x4 projection
    plain = DCGANGenerator(z_dim=20, size=size, width=8, upsample=upsample)
    convs = lambda g: sum(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in g.modules())  # noqa: E731
    assert convs(G) == convs(plain) + extra_layer                  # the extra layer is one more convolution


@pytest.mark.parametrize("size", [32, 64])
def test_discriminator_shapes(size):
    x = torch.rand(4, 3, size, size) * 2 - 1
    for options in ({}, {"dropout": 0.3}, {"minibatch_discrimination": True, "kernels": 6, "kernel_dim": 3}):
        D = DCGANDiscriminator(size=size, width=8, **options)
        assert D(x).shape == (4,)
        extra = options.get("kernels", 0)
        assert D.features(x).shape == (4, D.feature_size + extra)


def test_bad_shapes_are_refused_clearly():
    with pytest.raises(ValueError, match="power of two"):
        DCGANGenerator(size=48)
    with pytest.raises(ValueError, match="upsample"):
        DCGANGenerator(upsample="bilinear")
    with pytest.raises(ValueError, match=r"z must be a float tensor shaped \(B, 100\)"):
        DCGANGenerator(size=32, width=8)(torch.randn(2, 100, 1, 1))
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\)"):
        DCGANDiscriminator(size=32, width=8)(torch.randn(2, 3, 64, 64))


def test_generator_works_with_the_widgets_and_sampling():
    G = DCGANGenerator(size=32, width=8)
    strip = ck.widgets.interpolation_strip(G, seed_a=1, seed_b=2, t=4)
    assert strip.shape == (4, 3, 32, 32)


def test_transposed_design_shows_checkerboard_at_init():
    torch.manual_seed(0)
    z = torch.randn(32, 100)
    energy = {}
    for up in ("transposed", "nearest"):
        G = DCGANGenerator(size=32, width=16, upsample=up).eval()
        with torch.no_grad():
            energy[up] = checkerboard_energy(G(z))
    assert energy["transposed"] > 0.1 > 10 * energy["nearest"], energy


# ---------------------------------------------------------------- minibatch discrimination
def test_minibatch_discrimination_mixes_the_batch():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(in_features=10, kernels=4, kernel_dim=3)
    x = torch.randn(6, 10)
    out = layer(x)
    assert out.shape == (6, 14) and torch.equal(out[:, :10], x)
    changed = x.clone()
    changed[0] += 1.0
    out2 = layer(changed)
    assert not torch.allclose(out2[1:, 10:], out[1:, 10:])          # the OTHER images' features moved
    # identical images: every pair is at distance 0, so each gets (B - 1) per kernel
    same = layer(x[:1].repeat(6, 1))
    assert torch.allclose(same[:, 10:], torch.full((6, 4), 5.0))


def test_discriminator_with_minibatch_discrimination_compares_images():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    changed = x.clone()
    changed[0] = -changed[0]
    for mbd in (False, True):
        D = DCGANDiscriminator(size=32, width=8, minibatch_discrimination=mbd, kernels=8, kernel_dim=4).eval()
        with torch.no_grad():
            moved = not torch.allclose(D(x)[1:], D(changed)[1:])
        assert moved == mbd                                          # in eval mode only the layer links the batch


# ---------------------------------------------------------------- stabilisers: what D sees and its targets
class RecordingD(nn.Module):
    """A discriminator that keeps every batch it is shown; its logits depend on a trainable bias."""

    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.tensor(0.5))
        self.seen = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return x.mean((1, 2, 3)) + self.bias


class RecordingG(nn.Module):
    """A generator that keeps every z it is given."""

    def __init__(self, z_dim=16, size=8):
        super().__init__()
        self.z_dim, self.size = z_dim, size
        self.lin = nn.Linear(z_dim, 3 * size * size)
        self.zs = []

    def forward(self, z):
        self.zs.append(z.detach().clone())
        return torch.tanh(self.lin(z)).view(len(z), 3, self.size, self.size)


@pytest.fixture
def recorded_targets(monkeypatch):
    """Every target passed to BCE inside coursekit.train, in call order."""
    targets = []
    original = F.binary_cross_entropy_with_logits

    def recording(logits, target, *args, **kwargs):
        targets.append(target.detach().clone())
        return original(logits, target, *args, **kwargs)

    monkeypatch.setattr(ck.train.F, "binary_cross_entropy_with_logits", recording)
    return targets


def _one_d_step(config, noise_std=0.0):
    torch.manual_seed(0)
    G, D = RecordingG(), RecordingD()
    real = torch.rand(6, 3, 8, 8) * 2 - 1
    opt = torch.optim.Adam(D.parameters())
    d_step(G, D, opt, real, torch.randn(6, 16), config, noise_std=noise_std, generator=torch.Generator().manual_seed(1))
    return real, G, D


@pytest.mark.parametrize("real_label, fake_label", [(1.0, 0.0), (0.9, 0.0), (0.9, 0.1), (0.8, 0.2)])
def test_label_smoothing_sets_d_targets(recorded_targets, real_label, fake_label):
    _one_d_step(GANConfig(real_label=real_label, fake_label=fake_label))
    real_t, fake_t = recorded_targets
    assert torch.equal(real_t, torch.full((6,), real_label)) and torch.equal(fake_t, torch.full((6,), fake_label))


def test_instance_noise_changes_real_and_fake_inputs_of_d():
    real, G, D = _one_d_step(GANConfig(), noise_std=0.0)
    assert torch.equal(D.seen[0], real)                             # no noise: D sees the batch as it is
    fake = D.seen[1]
    real2, G2, D2 = _one_d_step(GANConfig(), noise_std=0.5)
    assert torch.equal(real2, real)
    for seen, clean in ((D2.seen[0], real), (D2.seen[1], fake)):   # same seeds: same real batch, same fakes
        noise = seen - clean
        assert 0.4 < noise.std().item() < 0.6 and noise.abs().max() > 1


def test_instance_noise_decays_linearly():
    cfg = GANConfig(steps=1000, instance_noise=0.4, instance_noise_steps=100)
    assert [round(instance_noise_std(cfg, s), 6) for s in (0, 50, 100, 500)] == [0.4, 0.2, 0.0, 0.0]
    assert instance_noise_std(GANConfig(steps=1000, instance_noise=0.4), 500) == pytest.approx(0.2)


def _train_recording(**overrides):
    torch.manual_seed(0)
    G, D = RecordingG(), RecordingD()
    images = torch.randint(0, 256, (32, 3, 8, 8), dtype=torch.uint8)
    ck.train.train_gan(G, D, ck.batches.DeviceBatches(images, batch_size=8), steps=3, log_every=3, progress=False,
                       precision="fp32", **overrides)
    return G, D


def test_train_gan_passes_instance_noise_to_d():
    on_grid = lambda x: torch.allclose(x * 127.5 + 127.5, (x * 127.5 + 127.5).round(), atol=1e-3)  # noqa: E731
    _, D = _train_recording()
    assert on_grid(D.seen[0])                                       # a real batch exactly as the data holds it
    _, D = _train_recording(instance_noise=0.3, instance_noise_steps=10)
    assert not on_grid(D.seen[0]) and D.seen[0].abs().max() > 1     # noise on the real batch ...
    _, D_clean = _train_recording()
    assert not torch.allclose(D.seen[1], D_clean.seen[1])           # ... and on the fakes


@pytest.mark.parametrize("latent", ["gaussian", "uniform"])
def test_latent_choice_changes_z(latent):
    G, _ = _train_recording(latent=latent)
    z = torch.cat(G.zs)
    if latent == "uniform":
        assert z.abs().max() <= 1 and abs(z.std().item() - 3 ** -0.5) < 0.05
    else:
        assert z.abs().max() > 1.5 and abs(z.std().item() - 1) < 0.1


def test_dropout_makes_d_stochastic_in_training_only():
    x = torch.rand(8, 3, 32, 32) * 2 - 1
    torch.manual_seed(0)
    D = DCGANDiscriminator(size=32, width=8, dropout=0.5)
    assert sum(isinstance(m, nn.Dropout) for m in D.modules()) == 3
    assert not torch.allclose(D(x), D(x))
    D.eval()
    assert torch.equal(D(x), D(x))
    plain = DCGANDiscriminator(size=32, width=8)
    assert not any(isinstance(m, nn.Dropout) for m in plain.modules()) and torch.equal(plain(x), plain(x))
