"""The lesson models: plain nn.Modules, shapes in every docstring. One file per family:

    mlp         lesson 1: the reference MLP generator and discriminator
    classifier  the small CNNs behind the measuring sticks: MNISTClassifier, FlowerNet
    layers      building blocks: mlp(sizes), minibatch discrimination
    dcgan       lesson 2: DCGAN generators (transposed conv / nearest upsampling, extra layer) and discriminator
    vgg         VGG19 feature extractor for style transfer (lesson 5)
    toy         lesson 3: 2-D toy MLPs, PacGAN-packed and minibatch-discriminating D
    common      sample(G, z), count_parameters(model), eval_mode(model)
    bernoulli   lesson 4's data convention: binarized digits, Bernoulli NLL
    vae         lesson 4: autoencoder and VAE
    pixelcnn    lesson 4: masked convolution, PixelCNN (plain and gated)
"""
from .classifier import FlowerNet, MNISTClassifier  # noqa: F401
from .common import count_parameters, eval_mode, sample  # noqa: F401
from .dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_init  # noqa: F401
from .layers import MinibatchDiscrimination  # noqa: F401
from .mlp import MLPDiscriminator, MLPGenerator  # noqa: F401
from .toy import Packed, ToyDiscriminator, ToyGenerator  # noqa: F401
from .vgg import VGGFeatures, load_vgg19, vgg19_layer_names  # noqa: F401
from .bernoulli import bernoulli_nll, binarize  # noqa: F401
from .vae import VAE, Autoencoder  # noqa: F401
from .pixelcnn import GatedPixelCNN, MaskedConv2d, PixelCNN, causal_mask, sample_pixel_by_pixel  # noqa: F401
from .unet import UNet  # noqa: F401
