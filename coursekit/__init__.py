"""coursekit: the helper package of the generative image models course.

    import coursekit as ck
    device = ck.runtime.pick_device()
    mnist = ck.data.load_mnist()
    ck.plot.show_images(mnist.images[:64])

Modules, lowest first (a module only imports those above it):
    runtime  device, seeds, quick/full budgets, data/cache/checkpoint folders
    checks   clear errors for bad input
    images   decoding single image files
    batches  device-resident batch iterator
    data     data sets as one uint8 tensor
    plot     image grids, loss curves, live training plot
    nets     the lesson models (plain nn.Modules)
    train    the GAN loop;  callbacks  checkpoints, samples, live plots for it
    metrics  FID-like distance, class coverage and confidence for MNIST samples
    style    style transfer: VGG19 features, Gram matrices, content/style/TV losses
    widgets  ipywidgets toys: latent-space explorer, style-transfer app
"""
from . import runtime, checks, images, batches, data, plot, nets, train, callbacks, metrics, style, widgets  # noqa: F401
from .checks import DataError  # noqa: F401

__version__ = "0.1.0"
