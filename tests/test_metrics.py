"""The measuring stick: a good classifier, and a Fréchet distance that means something."""
import pytest
import torch

import coursekit as ck


@pytest.fixture(scope="module")
def quality(data_root):
    classifier = ck.pretrained.mnist_classifier()
    return ck.metrics.DigitQuality(classifier, ck.data.load_mnist(train=False).subset(2000).images)


def test_classifier_is_accurate_on_held_out_digits(quality):
    test = ck.data.load_mnist(train=False)
    assert ck.metrics.accuracy(quality.classifier, test.images, test.labels) >= 0.98


def test_fd_separates_real_from_noise_and_from_one_class(quality):
    test = ck.data.load_mnist(train=False)
    floor = quality.floor(ck.data.load_mnist(train=True).subset(2000).images)  # held-out vs training digits
    noise = quality.score_images(torch.rand(2000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    ones = quality.score_images(test.images[test.labels == 1][:1000])
    assert floor < noise["fd"] / 20 and floor < ones["fd"] / 20
    assert ones["classes"] == 1 and ones["kl_uniform"] > 2.0


def test_fd_of_identical_sets_is_zero_and_symmetric(quality):
    feats = quality.real_feats
    scale = torch.cov(feats.T).trace().item()  # FD is a difference of terms of this size
    # the matrix square root of a nearly singular covariance keeps about half of float64's digits
    assert abs(ck.metrics.frechet_distance(feats, feats)) < 1e-7 * scale
    other = feats[torch.randperm(len(feats), generator=torch.Generator().manual_seed(0))[:1000]] + 0.1
    ab, ba = ck.metrics.frechet_distance(feats, other), ck.metrics.frechet_distance(other, feats)
    assert ab > 0 and abs(ab - ba) < 1e-7 * scale


def test_class_coverage_of_a_uniform_spread():
    probs = torch.eye(10).repeat(20, 1)  # 200 samples, 20 confidently in each class
    c = ck.metrics.class_coverage(probs)
    assert c == {"classes": 10, "kl_uniform": 0.0, "confident": 1.0}


def test_fd_falls_as_the_gan_trains(quality, data_root):
    torch.manual_seed(0)
    G, D = ck.nets.MLPGenerator(), ck.nets.MLPDiscriminator()
    untrained = quality(G)["fd"]
    evaluate = ck.callbacks.Evaluate(quality, every=500)
    ck.train.train_gan(G, D, ck.data.load_mnist().batches(128), steps=1000, log_every=50,
                       callbacks=[evaluate], progress=False)
    fds = [r["fd"] for r in evaluate.records]
    assert [r["step"] for r in evaluate.records] == [50, 550, 1000]
    # after 50 steps G has barely moved (its FD may even rise a little); from then on FD falls
    assert fds[0] > fds[1] > fds[2] and untrained > fds[1] and fds[2] < untrained / 3
    assert evaluate.records[-1]["classes"] == 10


# ---------------------------------------------------------------- bad input to the measures
@pytest.mark.parametrize("convert, message", [
    (lambda x: x.float() / 255 * 3 - 1, r"must be float in \[-1, 1\], got values in \[-1, 2\].*value_range="),
    (lambda x: x.float(), r"must be float in \[-1, 1\].*got values in \[0, 255\].*pass uint8"),
    (lambda x: x.long(), r"uint8 in \[0, 255\] or float in \[-1, 1\], got dtype torch.int64"),
    (lambda x: x.float().div(127.5).sub(1).index_fill(0, torch.tensor([3]), float("nan")), "NaN"),
    (lambda x: x[:0].float(), "empty"),
])
def test_digits_in_the_wrong_range_or_dtype_are_refused(quality, convert, message):
    digits = ck.data.load_mnist(train=False).images[:200]
    with pytest.raises(ValueError, match=message):
        quality.score_images(convert(digits))


def test_the_same_digits_score_the_same_as_uint8_or_as_minus_one_to_one(quality):
    digits = ck.data.load_mnist(train=False).images[:500]
    a, b = quality.score_images(digits), quality.score_images(digits.float() / 127.5 - 1)
    assert abs(a["fd"] - b["fd"]) < 1e-6 * a["fd"]


@pytest.mark.parametrize("a, b, message", [
    (torch.randn(50, 8), torch.randn(50, 9), "feature sizes differ: 8 vs 9"),
    (torch.randn(1, 8), torch.randn(50, 8), "N >= 2 samples"),
    (torch.randn(0, 8), torch.randn(50, 8), "N >= 2 samples"),
    (torch.randn(50), torch.randn(50, 8), r"must be \(N, D\)"),
    (torch.randn(50, 8).index_fill(0, torch.tensor([0]), float("nan")), torch.randn(50, 8), "NaN"),
])
def test_frechet_distance_checks_its_input_first(a, b, message):
    with pytest.raises(ValueError, match=message):
        ck.metrics.frechet_distance(a, b)


def test_a_measure_needs_real_images_and_the_classifier(quality):
    with pytest.raises(ValueError, match="at least 2 real images"):
        ck.metrics.DigitQuality(quality.classifier, ck.data.load_mnist(train=False).images[:1])
    with pytest.raises(TypeError, match="must be an MNISTClassifier"):
        ck.metrics.DigitQuality(torch.nn.Linear(2, 2), ck.data.load_mnist(train=False).images[:10])
