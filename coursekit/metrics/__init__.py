"""Measuring generated images instead of eyeballing them. One file per measure:

    frechet  the Fréchet distance between two feature sets (the formula behind FID)
    digits   the MNIST measuring stick: FD on a shipped classifier's features, class coverage
"""
from .digits import DigitQuality, accuracy, class_coverage, features_and_probs, mnist_classifier  # noqa: F401
from .frechet import frechet_distance  # noqa: F401
