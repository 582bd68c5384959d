"""The measuring stick: a good classifier, and a Fréchet distance that means something."""
import pytest
import torch

import coursekit as ck


@pytest.fixture(scope="module")
def quality(data_root):
    return ck.metrics.DigitQuality(n=2000)


def test_classifier_is_accurate_on_held_out_digits(quality):
    test = ck.data.load_mnist(train=False)
    assert ck.metrics.accuracy(quality.classifier, test.images, test.labels) >= 0.98


def test_fd_separates_real_from_noise_and_from_one_class(quality):
    test = ck.data.load_mnist(train=False)
    floor = quality.floor()  # held-out real digits vs real training digits
    noise = quality.score_images(torch.rand(2000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    ones = quality.score_images(test.images[test.labels == 1][:1000])
    assert floor < noise["fd"] / 20 and floor < ones["fd"] / 20
    assert ones["classes"] == 1 and ones["kl_uniform"] > 2.0


def test_fd_of_identical_sets_is_zero_and_symmetric(quality):
    feats = quality.real_feats
    scale = torch.cov(feats.T).trace().item()  # FD is a difference of terms of this size
    assert abs(ck.metrics.frechet_distance(feats, feats)) < 1e-8 * scale
    other = feats[torch.randperm(len(feats), generator=torch.Generator().manual_seed(0))[:1000]] + 0.1
    ab, ba = ck.metrics.frechet_distance(feats, other), ck.metrics.frechet_distance(other, feats)
    assert ab > 0 and abs(ab - ba) < 1e-8 * scale


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
    assert untrained > fds[0] > fds[1] > fds[2] and fds[2] < untrained / 3
    assert evaluate.records[-1]["classes"] == 10
