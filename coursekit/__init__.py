"""coursekit: the helper package of the generative image models course.

    import coursekit as ck
    device = ck.runtime.pick_device()
    mnist = ck.data.load_mnist()
    ck.plot.show_images(mnist.images[:64])

Modules, lowest first (a module only imports those above it):
    checks   clear errors for bad input (imports only torch)
    runtime  device, seeds, quick/full/rehearsal budgets, data/cache/checkpoint folders
    storage  atomic saves, SHA-256, clear errors for broken files
    download downloads with a timeout, size and checksum checks, nothing kept on failure
    images   decoding single image files
    batches  device-resident batch iterator
    data     data sets as one uint8 tensor (a package: MNIST, flowers, folders, the decoded-tensor cache)
    plot     image grids, loss curves, live training plot
    nets     the lesson models (plain nn.Modules), one file per family
    engine   the training loop every model shares: logging, divergence stop, deferred Ctrl-C, callbacks
    train    the GAN step and the likelihood-model step on that engine;  callbacks  checkpoints, samples, live plots
    toy      2-D mixtures of Gaussians and many small GANs trained at once (lesson 3)
    diffusion  DDPM/DDIM: the noise schedule, the noise-prediction loss, sampling, guidance (lesson 6)
    metrics  measuring sticks: Fréchet distance, MNIST and flower quality, mode coverage, likelihoods
    pretrained  the sticks' shipped, hash-checked weights (load, or train once)
    trained  the lessons' models trained at the full budget, shipped in half precision (SKIP_TRAINING)
    style    style transfer: VGG19 features, Gram matrices, content/style/TV losses
    widgets  ipywidgets toys: latent-space explorer, style-transfer app
    quiz     the pre- and post-lesson quizzes (questions in notebooks/quizzes/*.json), checked on click
"""
from . import checks, runtime, storage, download, images, batches, data, plot, nets, engine, train, callbacks, toy, diffusion, metrics, pretrained, trained, style, widgets, quiz  # noqa: F401
from .checks import DataError  # noqa: F401

__version__ = "0.1.0"
