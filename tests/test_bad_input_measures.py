"""Issue 21, the measures and the likelihoods: each bullet of the issue as a test (bad input -> the
message it gets now, or the correct result).

- Likelihoods (lesson 4): the one accepted input is binary float digits 0.0 / 1.0 (N, 1, 28, 28);
  everything else is refused with a message saying how to binarize.
- Measures: float images are [-1, 1] unless the caller says `value_range=(0, 1)` (never guessed from
  the values); empty batches and images too small for a stick are refused.
- A collapsed G drawing bright images is scored (badly) during training, not refused.
"""
import warnings

import pytest
import torch
from torch import nn

import coursekit as ck
from coursekit.metrics.likelihood import binarized_test_set, evaluate_nll, importance_weighted_nll

HOW = r"binarize"   # every refusal of a likelihood says how to binarize


@pytest.fixture(scope="module")
def digits():
    return ck.data.load_mnist(train=False).images[:64]        # (64, 1, 28, 28) uint8, real test digits


@pytest.fixture(scope="module")
def x_bin(digits):
    return binarized_test_set(digits[:16], seed=0)            # (16, 1, 28, 28) float {0, 1}


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {"VAE": ck.nets.VAE(z_dim=4, hidden=(32,)).eval(), "PixelCNN": ck.nets.PixelCNN(channels=8, layers=2).eval(),
            "GatedPixelCNN": ck.nets.GatedPixelCNN(channels=8, dilations=(1, 2)).eval()}


# ---------------------------------------------------------------- likelihoods (lesson 4)
def likelihood_cases(digits, x_bin):
    """The bullet's inputs: (name, x, what the message must say)."""
    signed = digits[:16].float() / 127.5 - 1
    return [
        ("[-1, 1] floats (NLL 277.8 instead of 491.4 before)", signed, r"binary pixels 0.0 / 1.0, got values in \[-1, 1\]"),
        ("[0, 1] grey digits (a plausible number before)", digits[:16].float() / 255, r"binary pixels 0.0 / 1.0.*neither 0 nor 1"),
        ("uint8 0..255 (1.7e4-6.6e8 nats before)", digits[:16], r"binary float pixels 0.0 / 1.0, got dtype torch.uint8"),
        ("NaN (nan before)", x_bin.clone().index_fill_(0, torch.tensor([0]), float("nan")), r"contains NaN"),
        ("empty batch (ZeroDivisionError before)", x_bin[:0], r"x_bin is an empty batch"),
        ("int64 dtype (raw torch error before)", x_bin.long(), r"binary float pixels 0.0 / 1.0, got dtype torch.int64"),
        ("no batch axis (raw torch error before)", x_bin[0], r"x_bin must have shape \(N, 1, 28, 28\)"),
        ("3 channels (raw torch error before)", x_bin.repeat(1, 3, 1, 1), r"x_bin must have shape \(N, 1, 28, 28\)"),
        ("32 px digits (scored silently before)", nn.functional.pad(x_bin, (2, 2, 2, 2)), r"x_bin must have shape \(N, 1, 28, 28\)"),
    ]


@pytest.mark.parametrize("model_name", ["VAE", "PixelCNN", "GatedPixelCNN"])
def test_likelihoods_accept_binary_digits_only_and_say_how_to_binarize(models, digits, x_bin, model_name):
    model = models[model_name]
    samples = 2 if model_name == "VAE" else None
    for case, x, message in likelihood_cases(digits, x_bin):
        with pytest.raises(ValueError, match=message) as err:
            evaluate_nll(model, x, samples=samples)
        assert "x_bin" in str(err.value), case
        if "binary" in message or "NaN" in message:
            assert HOW in str(err.value) and "ck.nets.bernoulli.binarize" in str(err.value), case
    if model_name == "VAE":
        for case, x, message in likelihood_cases(digits, x_bin):
            with pytest.raises(ValueError, match=message):
                importance_weighted_nll(model, x, samples=2)
    # the one accepted input is scored, the same way as before (binary float digits)
    nll = evaluate_nll(model, x_bin, samples=samples, batch=8)
    assert 784 * 0.3 < nll < 784 * 1.5                          # untrained: about 784 ln 2 = 543 nats per digit


def test_likelihood_counts_are_checked_before_anything_runs(models, x_bin):
    vae, pcnn = models["VAE"], models["PixelCNN"]
    with pytest.raises(ValueError, match="samples must be a whole number >= 1, got 0"):      # torch.cat error before
        evaluate_nll(vae, x_bin, samples=0)
    with pytest.raises(ValueError, match="samples must be a whole number >= 1, got 0"):
        importance_weighted_nll(vae, x_bin, samples=0)
    with pytest.raises(ValueError, match="samples is the VAE's number of importance samples.*leave samples=None"):
        evaluate_nll(pcnn, x_bin, samples=10)
    with pytest.raises(ValueError, match="batch must be a whole number >= 1, got 0"):
        evaluate_nll(pcnn, x_bin, batch=0)
    with pytest.raises(TypeError, match="vae must be a coursekit.nets.VAE"):
        importance_weighted_nll(pcnn, x_bin)


def test_model_nll_checks_values_and_the_training_loss_checks_shapes_without_a_host_sync(models, digits, x_bin):
    signed = digits[:16].float() / 127.5 - 1
    for name in ("VAE", "PixelCNN", "GatedPixelCNN"):
        model = models[name]
        with pytest.raises(ValueError, match=r"x_bin must be binary pixels 0.0 / 1.0.*binarize"):
            model.nll(signed)
        # the per-step loss takes the [-1, 1] batch: shape and dtype refused clearly ...
        with pytest.raises(ValueError, match="x must be float images .*got dtype torch.uint8"):
            model.loss(digits[:4])
        with pytest.raises(ValueError, match=r"x must have shape \(N, 1, "):
            model.loss(signed[0])
        with pytest.raises(ValueError, match="x is an empty batch"):
            model.loss(signed[:0])
        # ... and NaN pixels give a NaN loss (the engine's divergence check stops there) instead of a raw torch error
        with torch.no_grad():
            loss = model.loss(signed[:4].clone().index_fill_(0, torch.tensor([1]), float("nan")))["loss"]
        assert torch.isnan(loss)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 28, 28\)"):
        ck.nets.Autoencoder(z_dim=4, hidden=(16,)).loss(signed[:4, :, :14, :14])


def test_binarize_refuses_out_of_range_and_nan_instead_of_clipping(digits):
    with pytest.raises(ValueError, match=r"x must be float in \[-1, 1\], got values in \[0, 255\]"):
        ck.nets.bernoulli.binarize(digits.float())
    with pytest.raises(ValueError, match="x contains NaN"):
        ck.nets.bernoulli.binarize(torch.full((2, 1, 28, 28), float("nan")))
    once = ck.nets.bernoulli.binarize(digits, torch.Generator().manual_seed(0))
    assert torch.equal(once, binarized_test_set(digits, seed=0))          # uint8 draws are unchanged


# ---------------------------------------------------------------- measures
@pytest.fixture(scope="module")
def digit_stick():
    test = ck.data.load_mnist(train=False)
    return ck.metrics.DigitQuality(ck.pretrained.mnist_classifier(verbose=False), test.images[:1000])


@pytest.fixture(scope="module")
def flowers():
    return ck.data.load_flowers102("train", size=32).images       # (1020, 3, 32, 32) uint8


@pytest.fixture(scope="module")
def flower_stick(flowers):
    return ck.metrics.FlowerQuality(ck.pretrained.flower_net(verbose=False), flowers[:500])


def test_zero_to_one_images_with_an_undershoot_are_scored_as_zero_to_one_when_said_so(digit_stick, flower_stick, flowers):
    train = ck.data.load_mnist(train=True).images[:1000]
    unit = train.float() / 255
    unit[:, :, 0, 0] = -0.001                                  # a -0.001 undershoot, as a sigmoid G's rounding gives
    as_uint8 = digit_stick.score_images(train)["fd"]
    said = digit_stick.score_images(unit, value_range=(0, 1))["fd"]
    assert said == pytest.approx(as_uint8, rel=1e-3, abs=1e-3)   # was FD 587 (taken as [-1, 1]) instead of 29
    photos = flowers[500:]
    unit_photos = photos.float() / 255
    unit_photos[:, :, 0, 0] = -0.001
    said = flower_stick.score_images(unit_photos, value_range=(0, 1))["fd"]
    assert said == pytest.approx(flower_stick.score_images(photos)["fd"], rel=1e-2)
    # without value_range, float images are [-1, 1]: never guessed from the values, and [0, 1] images
    # with no negative value get a warning that says what to pass
    with pytest.warns(UserWarning, match=r"value_range=\(0, 1\)"):
        ck.metrics.as_classifier_input(train.float() / 255)


@pytest.mark.parametrize("stick", ["digit", "flower"])
def test_empty_batches_and_one_pixel_images_are_refused_by_the_sticks(digit_stick, flower_stick, flowers, stick):
    quality, images = (digit_stick, ck.data.load_mnist(train=False).images[:8]) if stick == "digit" else (flower_stick, flowers[:8])
    with pytest.raises(ValueError, match=r"images is an empty batch"):              # a torch.cat error before
        quality.score_images(images[:0])
    with pytest.raises(ValueError, match=r"other_real_images is an empty batch"):
        quality.floor(images[:0])
    size_rule = r"images must have shape \(N, 1, 28, 28\)" if stick == "digit" else r"images must be at least 32x32 pixels, got 1x1"
    with pytest.raises(ValueError, match=size_rule):                                # scored before
        quality.score_images(images[..., :1, :1])
    if stick == "flower":   # below the stick's 32 px: refused, never upscaled; larger: downscaled
        with pytest.raises(ValueError, match="at least 32x32 pixels, got 16x16"):
            ck.metrics.flowers.as_stick_input(images[..., :16, :16])
        big = ck.data.load_flowers102("train", size=64).images[:8]
        assert ck.metrics.flowers.as_stick_input(big).shape == (8, 3, 32, 32)


# ---------------------------------------------------------------- a collapsed G during training
class BrightCollapsedG(nn.Module):
    """A generator collapsed onto one very bright image: every pixel tanh(3) = 0.995 whatever z is."""

    def __init__(self, z_dim: int, shape: tuple[int, int, int]):
        super().__init__()
        self.z_dim, self.shape = z_dim, shape
        self.level = nn.Parameter(torch.tensor(3.0))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.level).expand(len(z), *self.shape).clone()


def test_a_collapsed_generator_drawing_bright_images_is_scored_badly_not_refused(digit_stick, flower_stick):
    for quality, shape, fd_floor in ((digit_stick, (1, 28, 28), 50.0), (flower_stick, (3, 32, 32), 50.0)):
        G = BrightCollapsedG(8, shape)
        with warnings.catch_warnings():
            warnings.simplefilter("error")                      # G's output is [-1, 1] by contract: no guessing, no warning
            score = quality(G)                                  # raised "looks like [0, 1]" before, mid-training
            again = quality.score_images(ck.nets.sample(G, torch.randn(16, 8)), value_range=(-1, 1))
        assert score["fd"] > fd_floor and again["fd"] > fd_floor
        if "classes" in score:
            assert score["classes"] <= 1                        # one image: one class
