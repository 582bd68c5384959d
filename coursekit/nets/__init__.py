"""The lesson models: plain nn.Modules, shapes in every docstring. One file per family:

    mlp         lesson 1: the reference MLP generator and discriminator
    classifier  the small MNIST CNN behind the course's digit measuring stick
    layers      layers GANs add: minibatch discrimination
    vgg         VGG19 feature extractor for style transfer (lesson 5)
    common      sample(G, z), count_parameters(model)
"""
from .classifier import MNISTClassifier  # noqa: F401
from .common import count_parameters, sample  # noqa: F401
from .layers import MinibatchDiscrimination  # noqa: F401
from .mlp import MLPDiscriminator, MLPGenerator  # noqa: F401
from .vgg import VGGFeatures, load_vgg19, vgg19_layer_names  # noqa: F401
