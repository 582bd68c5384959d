"""Measuring generated images instead of eyeballing them. One file per measure:

    frechet  the Fréchet distance between two feature sets (the formula behind FID)
    digits   the MNIST measuring stick: FD on the shipped classifier's features, class coverage

The sticks' trained networks ship with the package: see `coursekit.pretrained`.
"""
from .digits import DigitQuality, accuracy, as_classifier_input, class_coverage, features_and_probs  # noqa: F401
from .frechet import frechet_distance  # noqa: F401
