"""The colour measuring stick (lesson 2): shipped weights, and cases whose order is known in advance."""
import pytest
import torch

import coursekit as ck
from coursekit.metrics.flowers import FlowerQuality, as_stick_input, colour_share, hue_distance, validation_sets


@pytest.fixture(scope="module")
def net(data_root):
    spec = ck.pretrained.FLOWER_NET
    assert spec.path.exists() and ck.storage.sha256(spec.path) == spec.sha256, "the shipped flower_net.pt is missing or changed"
    return ck.pretrained.flower_net(verbose=False)


@pytest.fixture(scope="module")
def flowers(data_root):
    return ck.data.load_flowers102("train+val", 32)


@pytest.mark.parametrize("seed", [0, 1])
def test_known_order(net, flowers, seed):
    reference, sets = validation_sets(flowers.images, seed=seed)
    quality = FlowerQuality(net, reference)
    scores = {name: quality.score_images(images) for name, images in sets.items()}
    fd = [s["fd"] for s in scores.values()]
    floor, blurred, heavy, noise, collapsed, diverse, colour = fd
    assert floor == pytest.approx(quality.floor(sets["real vs real (floor)"]))
    assert floor < blurred / 5 and blurred < heavy / 1.5 and heavy < noise / 5, scores     # clear margins
    assert collapsed > 10 * floor, scores
    assert colour > 3 * diverse, scores                                                  # same set size
    hue = [s["hue_tv"] for s in scores.values()]
    assert hue[6] > 3 * hue[5] and hue[4] > 3 * hue[0], scores                           # colour spread shows it too
    n_colour = len(list(sets.values())[6])
    assert 100 < n_colour < 400 and (colour_share(list(sets.values())[6]) > 0.5).all()


def test_scores_generators_at_32_and_64_px(net, flowers):
    quality = FlowerQuality(net, flowers.subset(64).images)
    for size in (32, 64):
        G = ck.nets.DCGANGenerator(size=size, width=8)
        for latent in ("gaussian", "uniform"):
            score = quality(G, latent=latent)
            assert set(score) == {"fd", "hue_tv"} and score["fd"] > 0 and 0 <= score["hue_tv"] <= 1


def test_same_generator_same_score(net, flowers):
    quality = FlowerQuality(net, flowers.subset(64).images)
    torch.manual_seed(0)
    G = ck.nets.DCGANGenerator(size=32, width=8)
    first = quality(G)
    torch.manual_seed(99)                  # the measure draws its own noise: global seeds do not matter
    assert quality(G) == first


def test_bad_inputs_are_refused_clearly(net, flowers):
    images = flowers.subset(8).images
    with pytest.warns(UserWarning, match=r"value_range=\(0, 1\)"):   # float is [-1, 1] unless said: never guessed
        as_stick_input(images.float() / 255)
    with pytest.raises(ValueError, match="0-255"):
        as_stick_input(images.float())
    with pytest.raises(ValueError, match=r"images must have shape \(N, 3, H, W\)"):
        as_stick_input(images[:, :1])
    with pytest.raises(ValueError, match="NaN"):
        as_stick_input(torch.full((2, 3, 32, 32), float("nan")))
    with pytest.raises(TypeError, match="FlowerNet"):
        FlowerQuality(ck.nets.MNISTClassifier(), images)
    assert hue_distance(images, images) == 0
