"""Measuring generated images instead of eyeballing them. One file per measure:

    frechet  the Fréchet distance between two feature sets (the formula behind FID)
    digits   the MNIST measuring stick: FD on the shipped classifier's features, class coverage
    flowers  the colour-image stick (lesson 2): FD on the shipped FlowerNet's features, hue distance, checkerboards
    modes    lesson 3: modes of a 2-D Gaussian mixture covered, share of high-quality samples
    likelihood  NLL in nats per image, nats <-> bits/dim, the VAE's importance-weighted bound

The sticks' trained networks ship with the package: see `coursekit.pretrained`.
"""
from .digits import DigitQuality, accuracy, as_classifier_input, class_coverage, features_and_probs  # noqa: F401
from .flowers import FlowerNet, FlowerQuality, checkerboard_energy, hue_distance  # noqa: F401
from .frechet import frechet_distance  # noqa: F401
from .modes import coverage_of_runs, mode_coverage  # noqa: F401
from .likelihood import (binarized_test_set, bits_per_dim_to_nats, importance_weighted_nll,  # noqa: F401
                         nats_to_bits_per_dim, evaluate_nll)
