"""Lesson 4: masked convolutions are causal, the VAE's KL and bounds are right, sampling and resume work."""
import math

import pytest
import torch

import coursekit as ck
from coursekit.metrics.likelihood import (binarized_test_set, bits_per_dim_to_nats, importance_weighted_nll,
                                          nats_to_bits_per_dim, evaluate_nll)
from coursekit.nets.bernoulli import binarize
from coursekit.nets.pixelcnn import GatedPixelCNN, MaskedConv2d, PixelCNN, causal_mask, sample_pixel_by_pixel
from coursekit.nets.vae import VAE, Autoencoder

H = W = 12


def raster(i, j):
    return i * W + j


def changed_positions(f, i, j, seed=0):
    """Perturb pixel (i, j) of a random binary image; return the set of output positions that change."""
    x = torch.bernoulli(torch.full((1, 1, H, W), 0.5), generator=torch.Generator().manual_seed(seed))
    y = x.clone()
    y[0, 0, i, j] = 1 - y[0, 0, i, j]
    with torch.no_grad():
        diff = (f(x) - f(y)).abs().amax(1)[0]          # (H, W)
    return {(a, b) for a, b in torch.nonzero(diff > 0).tolist()}


def test_masks_on_a_kernel():
    a, b = causal_mask(3, "A"), causal_mask(3, "B")
    assert a.tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert b.tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match="mask_type"):
        causal_mask(3, "C")


@pytest.mark.parametrize("i, j", [(0, 0), (5, 7), (11, 11), (6, 0)])
def test_mask_a_hides_the_pixel_and_everything_after_it(i, j):
    torch.manual_seed(0)
    conv = MaskedConv2d(1, 4, 5, "A")
    changed = changed_positions(conv, i, j)
    assert all(raster(a, b) > raster(i, j) for a, b in changed), changed
    if (i, j) != (H - 1, W - 1):
        assert changed  # the perturbation reaches some later output


@pytest.mark.parametrize("i, j", [(0, 0), (5, 7), (11, 11)])
def test_mask_b_lets_the_pixel_itself_through(i, j):
    torch.manual_seed(0)
    conv = MaskedConv2d(1, 4, 5, "B")
    changed = changed_positions(conv, i, j)
    assert (i, j) in changed
    assert all(raster(a, b) >= raster(i, j) for a, b in changed), changed


@pytest.mark.parametrize("model", [PixelCNN(channels=8, layers=4), GatedPixelCNN(channels=8, dilations=(1, 2, 1))],
                         ids=["plain", "gated"])
@pytest.mark.parametrize("i, j", [(0, 0), (4, 5), (11, 3), (11, 11)])
def test_whole_pixelcnn_output_depends_only_on_earlier_pixels(model, i, j):
    torch.manual_seed(0)
    changed = changed_positions(model, i, j)
    assert all(raster(a, b) > raster(i, j) for a, b in changed), changed


def receptive_field(model, i, j):
    """Input pixels the logit at (i, j) depends on (gradient non-zero), as a set."""
    x = torch.bernoulli(torch.full((1, 1, H, W), 0.5), generator=torch.Generator().manual_seed(1)).requires_grad_()
    model(x)[0, 0, i, j].backward()
    return {(a, b) for a, b in torch.nonzero(x.grad[0, 0] != 0).tolist()}


def test_plain_stack_has_a_blind_spot_and_the_gated_one_has_none():
    torch.manual_seed(0)
    i, j = 8, 4
    plain = receptive_field(PixelCNN(channels=8, layers=3), i, j)
    gated = receptive_field(GatedPixelCNN(channels=8, dilations=(1, 1, 1)), i, j)
    assert all(raster(a, b) < raster(i, j) for a, b in plain | gated)
    near = {(a, b) for a in range(i - 2, i + 1) for b in range(W) if raster(a, b) < raster(i, j) and abs(b - j) <= 2}
    assert near <= gated, near - gated
    blind = gated - plain   # earlier pixels the gated stacks see and the plain stack cannot
    assert blind and all(a < i and b > j for a, b in blind), blind


def test_vae_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mean, log_var = torch.randn(6, 5), torch.randn(6, 5)
    q = torch.distributions.Normal(mean, (0.5 * log_var).exp())
    p = torch.distributions.Normal(torch.zeros(5), torch.ones(5))
    expected = torch.distributions.kl_divergence(q, p).sum(1)
    assert torch.allclose(VAE.kl(mean, log_var), expected, atol=1e-5)
    assert torch.allclose(VAE.kl(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))


def test_vae_loss_is_the_negative_elbo_in_nats():
    torch.manual_seed(0)
    vae = VAE(z_dim=4, hidden=(32,))
    x = torch.rand(8, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        terms = vae.loss(x)
    assert set(terms) == {"loss", "recon", "kl"}
    assert torch.allclose(terms["loss"], terms["recon"] + terms["kl"])
    assert 784 * 0.3 < float(terms["recon"]) < 784 * 1.5  # untrained: ≈ 784 · ln 2 nats
    assert float(terms["kl"]) >= 0


def test_nats_and_bits_per_dim():
    assert nats_to_bits_per_dim(784 * math.log(2)) == pytest.approx(1.0)
    assert bits_per_dim_to_nats(nats_to_bits_per_dim(81.3)) == pytest.approx(81.3)
    assert nats_to_bits_per_dim(3 * 32 * 32 * math.log(2) * 3.0, dims=3 * 32 * 32) == pytest.approx(3.0)
    # a model that says p = 1/2 for every pixel costs exactly 1 bit per dimension
    x = binarize(torch.rand(4, 1, 28, 28) * 2 - 1)
    nll = ck.nets.bernoulli.bernoulli_nll(torch.zeros_like(x), x)
    assert torch.allclose(nats_to_bits_per_dim(nll), torch.ones(4))


def test_binarization_is_bernoulli_of_the_intensity():
    x = torch.full((1, 1, 100, 100), 0.5)   # intensity (0.5 + 1) / 2 = 0.75
    share = binarize(x, torch.Generator().manual_seed(0)).mean()
    assert 0.72 < float(share) < 0.78
    digits = ck.data.load_mnist(train=False).subset(10).images
    a, b = binarized_test_set(digits, seed=0), binarized_test_set(digits, seed=0)
    assert torch.equal(a, b) and set(a.unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="uint8"):
        binarized_test_set(digits.float())


def test_importance_weighted_bound_is_tighter_than_the_elbo():
    torch.manual_seed(0)
    vae = VAE(z_dim=4, hidden=(32,)).eval()
    x = binarized_test_set(ck.data.load_mnist(train=False).subset(16).images)
    elbo = evaluate_nll(vae, x, samples=1, seed=0)
    iwae = evaluate_nll(vae, x, samples=64, seed=0)
    assert iwae < elbo
    one = importance_weighted_nll(vae, x[:4], samples=1, generator=torch.Generator().manual_seed(0))
    assert one.shape == (4,)


def test_sampling_shapes_and_values():
    torch.manual_seed(0)
    vae = VAE(z_dim=3, hidden=(16,))
    s = vae.sample(5, torch.Generator().manual_seed(0))
    assert s.shape == (5, 1, 28, 28) and 0 <= float(s.min()) and float(s.max()) <= 1
    assert set(vae.sample(2, binary=True).unique().tolist()) <= {0.0, 1.0}
    for model in (PixelCNN(channels=4, layers=2), GatedPixelCNN(channels=4, dilations=(1, 2))):
        s = model.sample(3, torch.Generator().manual_seed(0), size=(6, 5))
        assert s.shape == (3, 1, 6, 5) and set(s.unique().tolist()) <= {0.0, 1.0}
    ae = Autoencoder(z_dim=3, hidden=(16,))
    assert ae(torch.zeros(2, 1, 28, 28)).shape == (2, 1, 28, 28)
    assert ae.loss(torch.zeros(2, 1, 28, 28))["loss"].item() > 0


def test_gated_cached_sampling_equals_the_plain_pixel_loop():
    torch.manual_seed(0)
    model = GatedPixelCNN(channels=6, dilations=(1, 2, 1))
    cached = model.sample(4, torch.Generator().manual_seed(3), size=(7, 7))
    plain = sample_pixel_by_pixel(model, 4, torch.Generator().manual_seed(3), size=(7, 7))
    assert torch.equal(cached, plain)


class Crash:
    def __init__(self, at):
        self.at = at

    def on_log(self, run):
        if run.step == self.at:
            raise RuntimeError("simulated crash")


@pytest.mark.parametrize("make", [lambda: VAE(z_dim=4, hidden=(32,)),
                                  lambda: GatedPixelCNN(channels=4, dilations=(1,))], ids=["vae", "gated-pixelcnn"])
def test_train_likelihood_resumes_to_identical_weights(make, tmp_path):
    digits = ck.data.load_mnist(train=True).subset(256)
    settings = dict(steps=12, log_every=3, precision="fp32", progress=False)

    torch.manual_seed(0)
    straight = make()
    ck.train.train_likelihood(straight, digits.batches(32, seed=0), **settings)

    torch.manual_seed(0)
    first = make()
    with pytest.raises(RuntimeError, match="simulated crash"):
        ck.train.train_likelihood(first, digits.batches(32, seed=0), **settings,
                                  callbacks=[ck.callbacks.Checkpoint("r", every=3, folder=tmp_path), Crash(at=6)])
    torch.manual_seed(123)   # a fresh process: other initial weights and global RNG, restored from the checkpoint
    resumed = make()
    history = ck.train.train_likelihood(resumed, digits.batches(32, seed=0), **settings,
                                        callbacks=[ck.callbacks.Checkpoint("r", every=3, folder=tmp_path)])
    assert history["step"] == [3, 6, 9, 12]
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
