"""Catalogue entries for the measures (metrics.*), the likelihood models (nets.vae, nets.pixelcnn,
nets.bernoulli), the sticks' networks (nets.classifier) and coursekit.pretrained.
See tests/catalogue/__init__.py for what an Entry is and the rule it is held to."""
from __future__ import annotations

import torch
from torch import nn

import coursekit as ck
from catalogue import Entry
from coursekit.metrics import likelihood
from coursekit.nets import pixelcnn

# ---------------------------------------------------------------- shared good values and reasons
LAYER = "NaN in, NaN out, as torch's own layers: a forward runs every training step, so it checks no values (no host sync)"
ANY_FLOAT = ("a network's forward is a function of any finite float input, as torch's layers; the [-1, 1] range is "
             "checked where images enter (DeviceBatches, the measures)")
ANY_SIZE = "a convolution with 'same' padding works at any size, 1x1 included (its output has the input's size)"
PER_STEP_LOSS = ("loss(x) runs every training step: shape and dtype are refused clearly and NaN gives a NaN loss that the "
                 "engine's divergence check stops at (tests/test_bad_input_measures.py), but a value-range check needs a "
                 "host sync per step, which the engine avoids")


def x_bin(f, n: int = 4) -> torch.Tensor:
    """n real test digits, binarized once: float (n, 1, 28, 28) in {0, 1}."""
    return f.once(f"x_bin{n}", lambda: likelihood.binarized_test_set(f.digits_u8[:n], seed=0))


def tiny(key: str, make):
    """f -> one small model for every entry, made from seed 0 (`make()` builds it)."""
    def build():
        torch.manual_seed(0)
        return make()
    return lambda f: f.once(key, build)


vae = tiny("vae", lambda: ck.nets.VAE(z_dim=4, hidden=(16,)).eval())
autoencoder = tiny("autoencoder", lambda: ck.nets.Autoencoder(z_dim=4, hidden=(16,)))
pcnn = tiny("pcnn", lambda: ck.nets.PixelCNN(channels=4, layers=1))
gated = tiny("gated", lambda: ck.nets.GatedPixelCNN(channels=4, dilations=(1,)))
gated_layer = tiny("gated_layer", lambda: pixelcnn.GatedLayer(3))


def features(f, key: str, channels: int = 3, size: int = 6) -> torch.Tensor:
    return f.once(f"features-{key}-{channels}", lambda: torch.randn(2, channels, size, size,
                                                                    generator=torch.Generator().manual_seed(len(key))))


def digit_quality(f) -> ck.metrics.DigitQuality:
    return f.once("digit_quality", lambda: ck.metrics.DigitQuality(f.classifier, f.digits_u8))


def flower_quality(f) -> ck.metrics.FlowerQuality:
    return f.once("flower_quality", lambda: ck.metrics.FlowerQuality(f.flower_net, f.flowers_u8))


def ring_samples(f, runs: int | None = None) -> torch.Tensor:
    """Samples of lesson 3's ring of 8: (200, 2), or (runs, 200, 2)."""
    ring = ck.toy.ring()
    points = f.once("ring_samples", lambda: ring.sample(400, torch.Generator().manual_seed(0)))
    return points[:200] if runs is None else points.view(2, 200, 2)


def coverage_is_sound(result, args) -> None:
    k = len(args["centers"])
    modes = result["modes"]
    assert all(0 <= m <= k for m in (modes if isinstance(modes, list) else [modes])), result
    hq = result["high_quality"]
    assert all(0 <= q <= 1 for q in (hq if isinstance(hq, list) else [hq])), result


def binary_like_input(result, args) -> None:
    assert result.shape == args["x"].shape and set(result.unique().tolist()) <= {0.0, 1.0}, result


def same_pixels(result, args) -> None:
    assert result.shape[-2:] == args["x"].shape[-2:], (tuple(result.shape), tuple(args["x"].shape))


def tiny_shipped(name="tiny", sha256="0" * 64, make=lambda: nn.Linear(2, 2), train=None) -> dict:
    return {"name": name, "sha256": sha256, "make": make, "train": train or (lambda device: ({}, {}))}


FORWARD = {"range_0_255": ANY_FLOAT}
CONV_FORWARD = {"range_0_255": ANY_FLOAT, "one_pixel": ANY_SIZE}

ENTRIES: dict[str, Entry] = {
    # ------------------------------------------------------------ metrics.digits
    "coursekit.metrics.digits.as_classifier_input": Entry(lambda f: {"images": f.digits}),
    "coursekit.metrics.digits.features_and_probs": Entry(lambda f: {"model": f.classifier, "images": f.digits, "batch": 8}),
    "coursekit.metrics.digits.accuracy": Entry(lambda f: {"model": f.classifier, "images": f.digits,
                                                          "labels": f.digit_labels}),
    "coursekit.metrics.digits.class_coverage": Entry(
        lambda f: {"probs": f.once("probs", lambda: ck.metrics.features_and_probs(f.classifier, f.digits_u8)[1]),
                   "present_share": 0.01, "confident_prob": 0.9},
        kinds={"present_share": "probability", "confident_prob": "probability"}),
    "coursekit.metrics.digits.DigitQuality": Entry(lambda f: {"classifier": f.classifier, "real_images": f.digits,
                                                              "seed": 0}),
    "coursekit.metrics.digits.DigitQuality.score_images": Entry(lambda f: {"images": f.digits}, bind=digit_quality),
    "coursekit.metrics.digits.DigitQuality.__call__": Entry(lambda f: {"G": f.fresh_mlp_gan()[0]}, bind=digit_quality),
    "coursekit.metrics.digits.DigitQuality.floor": Entry(lambda f: {"other_real_images": f.digits}, bind=digit_quality),
    # ------------------------------------------------------------ metrics.flowers
    "coursekit.metrics.flowers.as_stick_input": Entry(lambda f: {"images": f.flowers, "size": 32}),
    "coursekit.metrics.flowers.flower_features": Entry(lambda f: {"net": f.flower_net, "images": f.flowers, "batch": 8}),
    "coursekit.metrics.flowers.hue_and_chroma": Entry(lambda f: {"images": f.flowers}),
    "coursekit.metrics.flowers.hue_histogram": Entry(lambda f: {"images": f.flowers, "bins": 12}),
    "coursekit.metrics.flowers.hue_distance": Entry(lambda f: {"images_a": f.flowers, "images_b": f.flowers[:6]}),
    "coursekit.metrics.flowers.colour_share": Entry(lambda f: {"images": f.flowers}),
    "coursekit.metrics.flowers.checkerboard_energy": Entry(
        lambda f: {"images": f.flowers},
        ok={"images": {"range_0_255": "a share of spectral energy: the mean is removed and the share does not change "
                                      "with scale, so any value range gives the same number",
                       "dtype_int32": "integer pixels are real values too (taken as uint8 ones are): the share does "
                                      "not depend on their scale",
                       "extra_channel": "the channels are averaged first: any number of channels"}},
        check=lambda result, args: _assert(isinstance(result, float) and 0 <= result <= 1, result)),
    "coursekit.metrics.flowers.validation_sets": Entry(
        lambda f: {"images": f.once("photos24", lambda: ck.data.load_flowers102("train", size=32).images[:24].clone()),
                   "seed": 0}),
    "coursekit.metrics.flowers.FlowerQuality": Entry(lambda f: {"network": f.flower_net, "real_images": f.flowers,
                                                                "seed": 0}),
    "coursekit.metrics.flowers.FlowerQuality.score_images": Entry(lambda f: {"images": f.flowers}, bind=flower_quality),
    "coursekit.metrics.flowers.FlowerQuality.__call__": Entry(lambda f: {"G": f.fresh_dcgan(32)[0], "latent": "gaussian"},
                                                              bind=flower_quality, kinds={"latent": "choice"}),
    "coursekit.metrics.flowers.FlowerQuality.floor": Entry(lambda f: {"other_real_images": f.flowers},
                                                           bind=flower_quality),
    # ------------------------------------------------------------ metrics.frechet, metrics.modes
    "coursekit.metrics.frechet.frechet_distance": Entry(
        lambda f: {"feats_a": f.once("feats_a", lambda: torch.randn(20, 8, generator=torch.Generator().manual_seed(1))),
                   "feats_b": f.once("feats_b", lambda: torch.randn(20, 8, generator=torch.Generator().manual_seed(2)))}),
    "coursekit.metrics.modes.mode_coverage": Entry(
        lambda f: {"samples": ring_samples(f), "centers": ck.toy.ring().centers, "sigma": 0.05, "min_share": 0.01,
                   "radius_sigmas": 3.0},
        kinds={"sigma": "positive", "min_share": "probability", "radius_sigmas": "positive"},
        ok={"samples": {"nan": "a diverged G's non-finite samples count as low quality (documented)",
                        "dtype_long": "integer coordinates are points too (taken as float)"},
            "centers": {"dtype_long": "integer centres are points too (taken as float)"}},
        check=coverage_is_sound),
    "coursekit.metrics.modes.coverage_of_runs": Entry(
        lambda f: {"samples": ring_samples(f, runs=2), "centers": ck.toy.ring().centers, "sigma": 0.05},
        kinds={"sigma": "positive"},
        ok={"samples": {"nan": "a diverged G's non-finite samples count as low quality (documented)",
                        "dtype_long": "integer coordinates are points too (taken as float)"},
            "centers": {"dtype_long": "integer centres are points too (taken as float)"}},
        check=coverage_is_sound),
    # ------------------------------------------------------------ metrics.likelihood
    "coursekit.metrics.likelihood.binarized_test_set": Entry(lambda f: {"images": f.digits_u8[:4], "seed": 0}),
    "coursekit.metrics.likelihood.nats_to_bits_per_dim": Entry(lambda f: {"nats": 81.3, "dims": 784}),
    "coursekit.metrics.likelihood.bits_per_dim_to_nats": Entry(lambda f: {"bits_per_dim": 0.15, "dims": 784}),
    "coursekit.metrics.likelihood.importance_weighted_nll": Entry(
        lambda f: {"vae": vae(f), "x_bin": x_bin(f), "samples": 2, "chunk": 2}),
    "coursekit.metrics.likelihood.evaluate_nll": Entry(
        lambda f: {"model": vae(f), "x_bin": x_bin(f), "batch": 2, "samples": 2, "seed": 0}),
    # ------------------------------------------------------------ nets.bernoulli
    "coursekit.nets.bernoulli.binarize": Entry(
        lambda f: {"x": f.digits[:4]},
        ok={"x": {"no_batch_axis": "elementwise: a single image (C, H, W) binarizes as well",
                  "extra_channel": "elementwise: any number of channels",
                  "one_pixel": "elementwise: any size",
                  "empty": "elementwise: an empty batch binarizes to an empty batch"}},
        check=binary_like_input),
    "coursekit.nets.bernoulli.bernoulli_nll": Entry(
        lambda f: {"logits": f.once("logits", lambda: torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))),
                   "x_bin": x_bin(f)},
        ok={"logits": {"range_0_255": "logits are any real numbers: large ones are confident pixels"}},
        check=lambda result, args: _assert(result.shape == (4,) and bool((result >= 0).all()), result)),
    # ------------------------------------------------------------ nets.classifier
    "coursekit.nets.classifier.MNISTClassifier.features": Entry(lambda f: {"x": f.digits[:4]}, bind=lambda f: f.classifier,
                                                                nan_through=LAYER, ok={"x": FORWARD}),
    "coursekit.nets.classifier.MNISTClassifier.forward": Entry(lambda f: {"x": f.digits[:4]}, bind=lambda f: f.classifier,
                                                               nan_through=LAYER, ok={"x": FORWARD}),
    "coursekit.nets.classifier.FlowerNet": Entry(lambda f: {"classes": 102}),
    "coursekit.nets.classifier.FlowerNet.features": Entry(lambda f: {"x": f.flowers[:4]}, bind=lambda f: f.flower_net,
                                                          nan_through=LAYER, ok={"x": FORWARD}),
    "coursekit.nets.classifier.FlowerNet.forward": Entry(lambda f: {"x": f.flowers[:4]}, bind=lambda f: f.flower_net,
                                                         nan_through=LAYER, ok={"x": FORWARD}),
    # ------------------------------------------------------------ nets.vae
    "coursekit.nets.vae.Autoencoder": Entry(lambda f: {"z_dim": 4, "hidden": (16,)}),
    "coursekit.nets.vae.Autoencoder.encode": Entry(lambda f: {"x": f.digits[:4]}, bind=autoencoder,
                                                   nan_through=LAYER, ok={"x": FORWARD}),
    "coursekit.nets.vae.Autoencoder.decode": Entry(lambda f: {"z": features(f, "z", 4, 1)[:, :, 0, 0]},
                                                   bind=autoencoder, nan_through=LAYER),
    "coursekit.nets.vae.Autoencoder.forward": Entry(lambda f: {"x": f.digits[:4]}, bind=autoencoder,
                                                    nan_through=LAYER, ok={"x": FORWARD}),
    "coursekit.nets.vae.Autoencoder.loss": Entry(lambda f: {"x": f.digits[:4]}, bind=autoencoder,
                                                 skip={"x": PER_STEP_LOSS}),
    "coursekit.nets.vae.VAE": Entry(lambda f: {"z_dim": 4, "hidden": (16,)}),
    "coursekit.nets.vae.VAE.encode": Entry(lambda f: {"x": x_bin(f)}, bind=vae, nan_through=LAYER, ok={"x": FORWARD}),
    "coursekit.nets.vae.VAE.decode": Entry(lambda f: {"z": features(f, "z", 4, 1)[:, :, 0, 0]}, bind=vae,
                                           nan_through=LAYER),
    "coursekit.nets.vae.VAE.mean_image": Entry(lambda f: {"z": features(f, "z", 4, 1)[:, :, 0, 0]}, bind=vae,
                                               nan_through=LAYER),
    "coursekit.nets.vae.VAE.forward": Entry(lambda f: {"x": x_bin(f)}, bind=vae, nan_through=LAYER, ok={"x": FORWARD}),
    "coursekit.nets.vae.VAE.elbo_terms": Entry(lambda f: {"x_bin": x_bin(f)}, bind=vae),
    "coursekit.nets.vae.VAE.nll": Entry(lambda f: {"x_bin": x_bin(f)}, bind=vae),
    "coursekit.nets.vae.VAE.loss": Entry(lambda f: {"x": f.digits[:4]}, bind=vae, skip={"x": PER_STEP_LOSS}),
    "coursekit.nets.vae.VAE.sample": Entry(lambda f: {"n": 2}, bind=vae),
    # ------------------------------------------------------------ nets.pixelcnn
    "coursekit.nets.pixelcnn.causal_mask": Entry(lambda f: {"kernel_size": 3, "mask_type": "A"},
                                                 kinds={"mask_type": "choice"}),
    "coursekit.nets.pixelcnn.MaskedConv2d": Entry(
        lambda f: {"in_channels": 1, "out_channels": 2, "kernel_size": 3, "mask_type": "B"}, kinds={"mask_type": "choice"}),
    "coursekit.nets.pixelcnn.MaskedConv2d.forward": Entry(
        lambda f: {"x": x_bin(f)}, bind=lambda f: f.once("masked_conv", lambda: pixelcnn.MaskedConv2d(1, 2, 3, "A")),
        nan_through=LAYER, ok={"x": CONV_FORWARD}, check=same_pixels),
    "coursekit.nets.pixelcnn.PixelCNN": Entry(lambda f: {"channels": 4, "layers": 1}, kinds={"layers": "count0"}),
    "coursekit.nets.pixelcnn.PixelCNN.forward": Entry(
        lambda f: {"x": x_bin(f)}, bind=pcnn, nan_through=LAYER,
        ok={"x": {**FORWARD, "one_pixel": "a PixelCNN is convolutional: a distribution over binary images of any "
                                          "size; for one pixel, p(x_00) alone"}}, check=same_pixels),
    "coursekit.nets.pixelcnn.StackConv": Entry(
        lambda f: {"in_channels": 2, "out_channels": 4, "kind": "vertical", "kernel_size": 3, "dilation": 1},
        kinds={"kind": "choice"}),
    "coursekit.nets.pixelcnn.StackConv.forward": Entry(
        lambda f: {"x": features(f, "stack")},
        bind=lambda f: f.once("stack_conv", lambda: pixelcnn.StackConv(3, 4, "horizontal", first=True)),
        nan_through=LAYER, ok={"x": CONV_FORWARD}, check=same_pixels),
    "coursekit.nets.pixelcnn.GatedLayer": Entry(lambda f: {"channels": 3, "dilation": 2}),
    "coursekit.nets.pixelcnn.GatedLayer.forward": Entry(
        lambda f: {"v": features(f, "v"), "h": features(f, "h")}, bind=gated_layer, nan_through=LAYER,
        ok={"v": FORWARD, "h": FORWARD}),
    "coursekit.nets.pixelcnn.GatedLayer.forward_vertical": Entry(
        lambda f: {"v": features(f, "v")}, bind=gated_layer, nan_through=LAYER, ok={"v": CONV_FORWARD}),
    "coursekit.nets.pixelcnn.GatedLayer.forward_horizontal": Entry(
        lambda f: {"h": features(f, "h"), "from_v": features(f, "from_v", channels=6)}, bind=gated_layer,
        nan_through=LAYER, ok={"h": FORWARD}),
    "coursekit.nets.pixelcnn.GatedPixelCNN": Entry(lambda f: {"channels": 4, "dilations": (1,)}),
    "coursekit.nets.pixelcnn.GatedPixelCNN.forward": Entry(
        lambda f: {"x": x_bin(f)}, bind=gated, nan_through=LAYER,
        ok={"x": {**FORWARD, "one_pixel": "a PixelCNN is convolutional: a distribution over binary images of any "
                                          "size; for one pixel, p(x_00) alone"}}, check=same_pixels),
    "coursekit.nets.pixelcnn.GatedPixelCNN.vertical_features": Entry(
        lambda f: {"x": x_bin(f)}, bind=gated, nan_through=LAYER, ok={"x": CONV_FORWARD}),
    "coursekit.nets.pixelcnn.GatedPixelCNN.row_logits": Entry(
        lambda f: {"x": x_bin(f), "from_v": gated(f).vertical_features(x_bin(f))}, bind=gated, nan_through=LAYER,
        ok={"x": FORWARD}),
    "coursekit.nets.pixelcnn.GatedPixelCNN.sample": Entry(lambda f: {"n": 1, "size": (2, 2)}, bind=gated),
    "coursekit.nets.pixelcnn.sample_pixel_by_pixel": Entry(lambda f: {"model": pcnn(f), "n": 1, "size": (2, 2)}),
    # ------------------------------------------------------------ pretrained
    "coursekit.pretrained.Shipped": Entry(lambda f: tiny_shipped(), kinds={"sha256": "choice"},
                                          names={"sha256": ("sha256",)}),
    "coursekit.pretrained.load_or_train": Entry(
        lambda f: {"spec": ck.pretrained.MNIST_CLASSIFIER, "device": "cpu", "verbose": False}, kinds={"device": "choice"}),
    "coursekit.pretrained.mnist_classifier": Entry(lambda f: {"device": "cpu", "verbose": False},
                                                   kinds={"device": "choice"}),
    "coursekit.pretrained.flower_net": Entry(lambda f: {"device": "cpu", "verbose": False}, kinds={"device": "choice"}),
    "coursekit.pretrained.train_classifier": Entry(
        lambda f: {"model": (m := nn.Sequential(nn.Flatten(), nn.Linear(784, 10))),
                   "batches": [(f.digits[:4], f.digit_labels[:4])], "epochs": 1,
                   "opt": torch.optim.SGD(m.parameters(), lr=1e-3)}),
    "coursekit.pretrained.train_mnist_classifier": Entry(lambda f: {"device": "cpu", "epochs": 1, "seed": 0},
                                                         kinds={"device": "choice"}),
    "coursekit.pretrained.train_flower_net": Entry(lambda f: {"device": "cpu", "epochs": 1, "seed": 0},
                                                   kinds={"device": "choice"}),
    # ------------------------------------------------------------ trained (the lessons' shipped models)
    "coursekit.trained.load": Entry(lambda f: {"name": "lesson1_mlp_gan", "device": "cpu", "verbose": False},
                                    kinds={"name": "choice", "device": "choice"}),
    "coursekit.trained.read": Entry(lambda f: {"path": ck.trained.path_of("lesson1_mlp_gan"), "name": "lesson1_mlp_gan",
                                               "device": "cpu"}, kinds={"path": "file_in", "name": "choice", "device": "choice"}),
    "coursekit.trained.path_of": Entry(lambda f: {"name": "lesson4_vae"}, kinds={"name": "choice"}),
    "coursekit.trained.to_half": Entry(lambda f: {"state": nn.Linear(2, 2).state_dict()},
                                       skip={"state": "a state_dict (not a kind the catalogue varies); "
                                                      "tests/test_trained.py throws a list and a dict of strings at it"}),
    "coursekit.trained.frames_to_uint8": Entry(lambda f: {"frames": [(0, f.digits[:2])]},
                                               skip={"frames": "a list of (step, images) pairs; tests/test_trained.py "
                                                               "throws NaN images, a negative step and a bare tensor at it"}),
}


def _assert(condition: bool, result) -> None:
    assert condition, repr(result)[:200]
