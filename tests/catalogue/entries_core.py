"""Catalogue entries for the core: checks, storage, batches, engine, train, callbacks, toy, diffusion,
runtime and the GAN / U-Net / toy networks. See tests/catalogue/__init__.py for the rule."""
from __future__ import annotations

import torch

import coursekit as ck
from catalogue import Entry

FAST = {"steps": 2, "log_every": 1, "progress": False, "precision": "fp32"}


# ---------------------------------------------------------------- good values built per call
def digit_batches(f, **kw):
    return ck.batches.DeviceBatches(f.digits_u8, batch_size=8, **kw)


def gan_run(f):
    G, D = f.fresh_mlp_gan()
    cfg = ck.engine.configure(ck.train.GANConfig, None, FAST)
    return ck.engine.make_run({"G": G, "D": D}, {"G": 1e-3, "D": 1e-3}, (0.5, 0.999), digit_batches(f), cfg)


def unet(f, **kw):
    torch.manual_seed(0)
    return ck.nets.UNet(8, mults=(1, 2), **kw)


def schedule():
    return ck.diffusion.linear_schedule(T=20)


def toy_points(n=8):
    return ck.toy.ring().sample(n, torch.Generator().manual_seed(0))


def is_finite_float(result, args):
    assert isinstance(result, float) and result == result


ENGINE_BATCH = ("a step function: the engine hands it a batch from the data source, checked when the source was made; "
                "checking every batch would cost a host sync per step")
PER_STEP = "called every training step: a range check would cost a host sync per step (the data source is checked once)"
D_INPUT = ("D's input",)
FORWARD_NAN = "a layer's forward passes NaN through as torch's own layers do; the engine's divergence check catches it"

ENTRIES: dict[str, Entry] = {
    # ------------------------------------------------------------ checks
    "coursekit.checks.check_count": Entry(lambda f: {"value": 3, "name": "steps"}, kinds={"value": "count"},
                                          names={"value": ("steps",)}, skip={"name": "the caller's own literal"}),
    "coursekit.checks.check_number": Entry(lambda f: {"value": 0.5, "name": "p", "low": 0.0, "high": 1.0},
                                           kinds={"value": "probability"}, names={"value": ("p",)},
                                           skip={"name": "the caller's own literal", "low": "the caller's own literal",
                                                 "high": "the caller's own literal"}),
    "coursekit.checks.check_positive": Entry(lambda f: {"value": 0.5, "name": "lr"}, kinds={"value": "positive"},
                                             names={"value": ("lr",)}, skip={"name": "the caller's own literal"}),
    "coursekit.checks.check_seed": Entry(lambda f: {"value": 3, "name": "seed"}, kinds={"value": "seed"},
                                         names={"value": ("seed",)}, skip={"name": "the caller's own literal"}),
    "coursekit.checks.check_choice": Entry(lambda f: {"value": "a", "name": "mode", "choices": ("a", "b")},
                                           kinds={"value": "choice"}, names={"value": ("mode",)},
                                           skip={"name": "the caller's own literal", "choices": "the caller's own literal"}),
    "coursekit.checks.check_tensor": Entry(lambda f: {"x": torch.randn(4, 3), "name": "z", "dims": 2, "floating": True},
                                           names={"x": ("z",)}, skip={"name": "the caller's own literal",
                                                                      "dims": "the caller's own literal"}),
    "coursekit.checks.check_finite": Entry(lambda f: {"x": f.digits, "name": "images"}, names={"x": ("images",)},
                                           ok={"x": {"range_0_255": "finite, which is all it checks",
                                                     "dtype_int32": "integers are always finite",
                                                     "no_batch_axis": "finite, which is all it checks",
                                                     "extra_channel": "finite, which is all it checks",
                                                     "empty": "nothing to be non-finite",
                                                     "one_pixel": "finite, which is all it checks"}}),
    "coursekit.checks.check_images": Entry(lambda f: {"x": f.digits, "name": "images", "finite": True, "channels": 1},
                                           names={"x": ("images",)}, skip={"name": "the caller's own literal",
                                                                           "channels": "the caller's own literal"},
                                           ok={"x": {"range_0_255": "shape only: the range is to_signed_unit's job",
                                                     "dtype_int32": "no dtype asked for",
                                                     "one_pixel": "no min_size asked for"}}),
    "coursekit.checks.to_signed_unit": Entry(lambda f: {"x": f.digits_u8, "name": "images"}, names={"x": ("images",)},
                                             skip={"name": "the caller's own literal"},
                                             ok={"x": {"no_batch_axis": "any shape: it maps values only",
                                                       "extra_channel": "any shape: it maps values only",
                                                       "empty": "maps nothing to nothing",
                                                       "one_pixel": "any shape: it maps values only"}}),
    "coursekit.checks.check_labels": Entry(lambda f: {"labels": f.digit_labels, "name": "labels", "n": 16, "classes": 10},
                                           skip={"name": "the caller's own literal", "n": "the caller's own count",
                                                 "classes": "the caller's own count"}),
    "coursekit.checks.check_file": Entry(lambda f: {"path": ck.pretrained.MNIST_CLASSIFIER.path, "name": "weights"},
                                         kinds={"path": "file_in"}, skip={"name": "the caller's own literal"}),
    "coursekit.checks.check_folder": Entry(lambda f: {"path": f.tmp, "name": "folder"}, kinds={"path": "folder_in"},
                                           skip={"name": "the caller's own literal"}),

    "coursekit.checks.check_z": Entry(lambda f: {"z": torch.randn(4, 8), "z_dim": 8, "name": "z"},
                                      nan_through="shape and dtype only: generators call it every step (no host sync)",
                                      skip={"name": "the caller's own literal", "z_dim": "the caller's own count"}),
    "coursekit.checks.check_widths": Entry(lambda f: {"values": (8, 16), "name": "hidden"},
                                           skip={"name": "the caller's own literal"}),
    "coursekit.checks.check_device": Entry(lambda f: {"device": "cpu", "name": "device"}, kinds={"device": "choice"},
                                           skip={"name": "the caller's own literal"}),

    # ------------------------------------------------------------ storage
    "coursekit.storage.atomic_save": Entry(lambda f: {"obj": {"a": 1}, "path": f.folder("save") / "x.pt"},
                                           kinds={"path": "file_out"}),
    "coursekit.storage.file_digest": Entry(lambda f: {"path": ck.pretrained.MNIST_CLASSIFIER.path, "algorithm": "md5"},
                                           kinds={"path": "file_in", "algorithm": "choice"}),
    "coursekit.storage.sha256": Entry(lambda f: {"path": ck.pretrained.MNIST_CLASSIFIER.path}, kinds={"path": "file_in"}),
    "coursekit.storage.load": Entry(lambda f: {"path": ck.pretrained.MNIST_CLASSIFIER.path}, kinds={"path": "file_in"}),

    # ------------------------------------------------------------ batches and engine
    "coursekit.batches.DeviceBatches": Entry(lambda f: {"images": f.digits_u8, "labels": f.digit_labels, "batch_size": 8,
                                                        "seed": 1},
                                             ok={"images": {"extra_channel": "batches any number of channels; a model "
                                                                             "checks what it takes",
                                                            "one_pixel": "batches any image size; a model checks "
                                                                         "what it takes"}}),
    "coursekit.engine.TrainConfig": Entry(lambda f: {"steps": 10, "log_every": 2, "precision": "fp32", "seed": 0,
                                                     "max_seconds": 5.0, "max_loss": 10.0},
                                          kinds={"precision": "choice", "max_seconds": "positive", "max_loss": "positive"}),
    "coursekit.engine.TrainConfig.check_adam": Entry(lambda f: {"lr_fields": ("lr",)},
                                                     bind=lambda f: ck.train.LikelihoodConfig(),
                                                     skip={"lr_fields": "the config's own field names"}),
    "coursekit.engine.Run": Entry(lambda f: {"models": {"G": f.fresh_mlp_gan()[0]}, "optimizers": {}, "scalers": {},
                                             "data": digit_batches(f), "config": ck.engine.TrainConfig(),
                                             "device": torch.device("cpu"), "amp": None, "noise": torch.Generator(),
                                             "step": 0},
                                  kinds={"step": "count0"}),
    "coursekit.engine.fit": Entry(lambda f: {"run": gan_run(f), "step_fn": ck.train.gan_step, "callbacks": ()}),
    "coursekit.engine.backward_and_step": Entry(
        lambda f: (lambda m: {"loss": m(torch.ones(2, 3)).sum(), "opt": torch.optim.SGD(m.parameters(), 0.1),
                              "scaler": None, "clip": 1.0})(torch.nn.Linear(3, 1)),
        kinds={"clip": "positive"}),
    "coursekit.engine.configure": Entry(lambda f: {"kind": ck.train.GANConfig, "config": None, "overrides": {"steps": 3}}),
    "coursekit.engine.make_run": Entry(lambda f: {"models": {"G": f.fresh_mlp_gan()[0]}, "lrs": {"G": 1e-3},
                                                  "betas": (0.5, 0.999), "data": digit_batches(f),
                                                  "cfg": ck.engine.TrainConfig()}),
    "coursekit.engine.adam": Entry(lambda f: {"params": list(torch.nn.Linear(2, 2).parameters()), "lr": 1e-3,
                                              "betas": (0.9, 0.999)}),
    "coursekit.engine.resolve_precision": Entry(lambda f: {"device": torch.device("cpu"), "precision": "fp32"},
                                                kinds={"precision": "choice"}),

    # ------------------------------------------------------------ train
    "coursekit.train.GANConfig": Entry(lambda f: {"steps": 10, "lr_g": 1e-3, "lr_d": 1e-3, "real_label": 0.9,
                                                  "fake_label": 0.0, "latent": "uniform", "instance_noise": 0.1,
                                                  "instance_noise_steps": 5, "g_loss": "saturating", "d_skip_below": 0.1},
                                       kinds={"real_label": "probability", "fake_label": "probability",
                                              "latent": "choice", "g_loss": "choice", "instance_noise": "nonnegative",
                                              "d_skip_below": "nonnegative"}),
    "coursekit.train.LikelihoodConfig": Entry(lambda f: {"steps": 10, "lr": 1e-3, "grad_clip": 1.0},
                                              kinds={"grad_clip": "positive"}),
    "coursekit.train.sample_z": Entry(lambda f: {"n": 4, "z_dim": 8, "latent": "uniform"}, kinds={"latent": "choice"}),
    "coursekit.train.instance_noise_std": Entry(lambda f: {"config": ck.train.GANConfig(instance_noise=0.1), "step": 3},
                                                kinds={"step": "count0"}),
    "coursekit.train.add_instance_noise": Entry(lambda f: {"images": f.digits, "std": 0.1,
                                                           "generator": torch.Generator().manual_seed(0)},
                                                kinds={"std": "nonnegative"},
                                                ok={"images": {"range_0_255": "adds noise to any values",
                                                               "no_batch_axis": "adds noise to any shape",
                                                               "extra_channel": "adds noise to any shape",
                                                               "empty": "no images, no noise",
                                                               "one_pixel": "adds noise to any shape"}},
                                                nan_through=FORWARD_NAN),
    "coursekit.train.d_loss": Entry(lambda f: (lambda G, D: {"G": G, "D": D, "real": f.digits[:4], "z": torch.randn(4, 8),
                                                             "config": ck.train.GANConfig()})(*f.fresh_mlp_gan()),
                                    nan_through=FORWARD_NAN, names={"real": D_INPUT},
                                    skip={"real": {"range_0_255": PER_STEP}}),
    "coursekit.train.g_loss": Entry(lambda f: {"D": f.fresh_mlp_gan()[1], "fake": f.digits[:4], "config": ck.train.GANConfig()},
                                    nan_through=FORWARD_NAN, names={"fake": D_INPUT},
                                    skip={"fake": {"range_0_255": PER_STEP}}),
    "coursekit.train.d_step": Entry(lambda f: (lambda G, D: {"G": G, "D": D, "opt_d": torch.optim.SGD(D.parameters(), 0.01),
                                                             "real": f.digits[:4], "z": torch.randn(4, 8),
                                                             "config": ck.train.GANConfig()})(*f.fresh_mlp_gan()),
                                    nan_through=FORWARD_NAN, names={"real": D_INPUT},
                                    skip={"real": {"range_0_255": PER_STEP}}),
    "coursekit.train.g_step": Entry(lambda f: (lambda G, D: {"D": D, "opt_g": torch.optim.SGD(G.parameters(), 0.01),
                                                             "fake": G(torch.randn(4, 8)),
                                                             "config": ck.train.GANConfig()})(*f.fresh_mlp_gan()),
                                    nan_through=FORWARD_NAN, names={"fake": D_INPUT},
                                    skip={"fake": {"range_0_255": PER_STEP}}),
    "coursekit.train.gradient_norm": Entry(lambda f: {"model": f.fresh_mlp_gan()[0]}),
    "coursekit.train.gan_step": Entry(lambda f: {"run": gan_run(f), "real": f.digits[:8]}, skip={"real": ENGINE_BATCH}),
    "coursekit.train.train_gan": Entry(lambda f: {"G": f.fresh_mlp_gan()[0], "D": f.fresh_mlp_gan()[1],
                                                  "data": digit_batches(f), **FAST}, kinds={"precision": "choice"}),
    "coursekit.train.likelihood_step": Entry(
        lambda f: {"run": ck.engine.make_run({"model": ck.nets.VAE(z_dim=2, hidden=(16,))}, {"model": 1e-3}, (0.9, 0.999),
                                             digit_batches(f), ck.engine.configure(ck.train.LikelihoodConfig, None, FAST)),
                   "batch": f.digits[:8]}, skip={"batch": ENGINE_BATCH}),
    "coursekit.train.train_likelihood": Entry(lambda f: {"model": ck.nets.VAE(z_dim=2, hidden=(16,)),
                                                         "data": digit_batches(f), **FAST}, kinds={"precision": "choice"}),

    # ------------------------------------------------------------ callbacks
    "coursekit.callbacks.Checkpoint": Entry(lambda f: {"run_name": "catalogue", "every": 5,
                                                       "folder": f.folder("ckpt") / "run"},
                                            kinds={"folder": "folder_out", "run_name": "choice"},
                                            ok={"run_name": {"misspelt": "any plain name is a run name"}}),
    "coursekit.callbacks.Checkpoint.save": Entry(lambda f: {"run": gan_run(f)},
                                                 bind=lambda f: ck.callbacks.Checkpoint("c", folder=f.folder("save"))),
    "coursekit.callbacks.FixedNoiseSamples": Entry(lambda f: {"z": torch.randn(4, 8), "every": 5}),
    "coursekit.callbacks.LiveGANPlot": Entry(lambda f: {"samples": ck.callbacks.FixedNoiseSamples(torch.randn(4, 8)),
                                                        "every": 2}),
    "coursekit.callbacks.Evaluate": Entry(lambda f: {"fn": lambda G: {"x": 1.0}, "every": 5, "model": "G"},
                                          kinds={"model": "choice"}, ok={"model": {"misspelt": "checked against the run's "
                                                                                   "models when it runs (it names them)"}}),

    # ------------------------------------------------------------ toy
    "coursekit.toy.Mixture": Entry(lambda f: {"name": "two", "centers": torch.tensor([[0.0, 0.0], [1.0, 1.0]]), "sigma": 0.1},
                                   kinds={"sigma": "positive"}, skip={"name": "a free-form label"}),
    "coursekit.toy.Mixture.sample": Entry(lambda f: {"n": 5}, bind=lambda f: ck.toy.ring()),
    "coursekit.toy.ring": Entry(lambda f: {"modes": 4, "radius": 1.0, "sigma": 0.1}, kinds={"radius": "positive",
                                                                                        "sigma": "positive"}),
    "coursekit.toy.grid": Entry(lambda f: {"side": 3, "spacing": 1.0, "sigma": 0.1}, kinds={"spacing": "positive",
                                                                                        "sigma": "positive"}),
    "coursekit.toy.ToySampler": Entry(lambda f: {"mixture": ck.toy.ring(), "batch_size": 8, "seed": 1}),
    "coursekit.toy.train_one": Entry(lambda f: {"mixture": ck.toy.ring(), "make_G": ck.nets.ToyGenerator,
                                                "make_D": ck.nets.ToyDiscriminator, "seed": 0, "batch_size": 16,
                                                "steps": 2, "log_every": 1}),
    "coursekit.toy.Stacked": Entry(lambda f: {"modules": [ck.nets.ToyGenerator(), ck.nets.ToyGenerator()]}),
    "coursekit.toy.Stacked.__call__": Entry(lambda f: {"x": torch.randn(2, 5, 8)},
                                            bind=lambda f: ck.toy.Stacked([ck.nets.ToyGenerator(), ck.nets.ToyGenerator()]),
                                            nan_through=FORWARD_NAN),
    "coursekit.toy.Stacked.module": Entry(lambda f: {"r": 1},
                                          bind=lambda f: ck.toy.Stacked([ck.nets.ToyGenerator(), ck.nets.ToyGenerator()]),
                                          kinds={"r": "count0"}),
    "coursekit.toy.StackedAdam": Entry(lambda f: {"params": [torch.zeros(2, 3, requires_grad=True)],
                                                  "lr": torch.tensor([1e-3, 1e-3]), "beta1": torch.tensor([0.5, 0.5]),
                                                  "beta2": 0.999, "eps": 1e-8},
                                       kinds={"beta2": "probability", "eps": "positive"}),
    "coursekit.toy.ManyRuns.samples": Entry(lambda f: {"n": 10, "seed": 1}, bind=lambda f: many(f)),
    "coursekit.toy.ManyConfig": Entry(lambda f: {"steps": 3, "batch_size": 16, "lr_g": 1e-3, "lr_d": 1e-3, "beta1": 0.5,
                                                 "real_label": 0.9, "fake_label": 0.0, "g_loss": "saturating",
                                                 "log_every": 1, "snapshot_every": 2, "snapshot_points": 8},
                                      kinds={"lr_g": "positive", "lr_d": "positive", "beta1": "probability",
                                             "real_label": "probability", "fake_label": "probability", "g_loss": "choice"}),
    "coursekit.toy.train_many": Entry(lambda f: {"mixture": ck.toy.ring(), "make_G": ck.nets.ToyGenerator,
                                                 "make_D": ck.nets.ToyDiscriminator, "seeds": [0, 1], "steps": 2,
                                                 "batch_size": 16, "lr_g": [1e-3, 2e-3], "log_every": 1}),

    # ------------------------------------------------------------ diffusion
    "coursekit.diffusion.NoiseSchedule": Entry(lambda f: {"betas": torch.linspace(1e-4, 0.02, 10)}),

    "coursekit.diffusion.linear_schedule": Entry(lambda f: {"T": 10, "beta_start": 1e-4, "beta_end": 0.02},
                                                 kinds={"beta_start": "probability", "beta_end": "probability"}),
    "coursekit.diffusion.q_sample": Entry(lambda f: {"x0": f.digits[:2], "t": torch.tensor([0, 3]), "schedule": schedule(),
                                                     "noise": torch.randn(2, 1, 28, 28)},
                                          ok={"noise": {"range_0_255": "noise is N(0, I): any real values are valid"}}),
    "coursekit.diffusion.diffusion_loss": Entry(lambda f: {"model": unet(f), "x0": f.digits[:2], "schedule": schedule(),
                                                           "p_uncond": 0.1}, kinds={"p_uncond": "probability"}),
    "coursekit.diffusion.predict_noise": Entry(lambda f: {"model": unet(f, num_classes=10), "x": f.digits[:2], "t": 3,
                                                          "labels": f.digit_labels[:2], "guidance": 2.0},
                                               kinds={"t": "count0", "guidance": "nonnegative"},
                                               ok={"x": {"range_0_255": "x is a noisy image x_t: any real values are "
                                                                        "valid input"}},
                                               nan_through=FORWARD_NAN),
    "coursekit.diffusion.ddpm_sample": Entry(lambda f: {"model": unet(f), "schedule": schedule(), "n": 2,
                                                        "variance": "posterior"}, kinds={"variance": "choice"}),
    "coursekit.diffusion.ddim_sample": Entry(lambda f: {"model": unet(f, num_classes=10), "schedule": schedule(), "n": 2,
                                                        "steps": 3, "eta": 0.5, "labels": f.digit_labels[:2],
                                                        "guidance": 2.0},
                                             kinds={"eta": "probability", "guidance": "nonnegative"}),
    "coursekit.diffusion.timesteps": Entry(lambda f: {"T": 10, "steps": 3}),
    "coursekit.diffusion.DiffusionConfig": Entry(lambda f: {"steps": 3, "lr": 1e-3, "grad_clip": 1.0, "T": 10,
                                                            "ema_decay": 0.9, "p_uncond": 0.1},
                                                 kinds={"grad_clip": "positive", "ema_decay": "probability",
                                                        "p_uncond": "probability"},
                                                 ok={}),
    "coursekit.diffusion.ema_update": Entry(lambda f: {"ema": unet(f), "model": unet(f), "decay": 0.9},
                                            kinds={"decay": "probability"}),
    "coursekit.diffusion.diffusion_step": Entry(lambda f: {"run": diffusion_run(f), "batch": f.digits[:4]},
                                                skip={"batch": ENGINE_BATCH}),
    "coursekit.diffusion.train_diffusion": Entry(lambda f: {"model": unet(f), "data": digit_batches(f), "T": 10, **FAST},
                                                 kinds={"precision": "choice"}),
    "coursekit.diffusion.ema_copy": Entry(lambda f: {"model": unet(f)}),

    # ------------------------------------------------------------ networks
    "coursekit.nets.common.eval_mode": Entry(lambda f: {"model": f.fresh_mlp_gan()[0]}),
    "coursekit.nets.common.sample": Entry(lambda f: {"G": f.fresh_mlp_gan()[0], "z": torch.randn(4, 8)},
                                          nan_through=FORWARD_NAN),
    "coursekit.nets.common.count_parameters": Entry(lambda f: {"model": f.fresh_mlp_gan()[0]}),
    "coursekit.nets.dcgan.dcgan_init": Entry(lambda f: {"module": torch.nn.Conv2d(3, 4, 3)}),
    "coursekit.nets.dcgan.up_block": Entry(lambda f: {"c_in": 8, "c_out": 4, "upsample": "nearest"},
                                           kinds={"upsample": "choice"}),
    "coursekit.nets.dcgan.DCGANGenerator": Entry(lambda f: {"z_dim": 8, "size": 32, "channels": 3, "width": 8,
                                                            "upsample": "nearest"}, kinds={"upsample": "choice"}),
    "coursekit.nets.dcgan.DCGANGenerator.forward": Entry(lambda f: {"z": torch.randn(2, 8)},
                                                         bind=lambda f: f.fresh_dcgan()[0], nan_through=FORWARD_NAN),
    "coursekit.nets.dcgan.DCGANDiscriminator": Entry(lambda f: {"size": 32, "channels": 3, "width": 8, "dropout": 0.1,
                                                                "kernels": 4}, kinds={"dropout": "probability"}),
    "coursekit.nets.dcgan.DCGANDiscriminator.features": Entry(lambda f: {"x": f.flowers[:2]},
                                                              bind=lambda f: f.fresh_dcgan()[1], nan_through=FORWARD_NAN,
                                                              ok={"x": {"range_0_255": "a layer takes any values"}}),
    "coursekit.nets.dcgan.DCGANDiscriminator.forward": Entry(lambda f: {"x": f.flowers[:2]},
                                                             bind=lambda f: f.fresh_dcgan()[1], nan_through=FORWARD_NAN,
                                                             ok={"x": {"range_0_255": "a layer takes any values"}}),
    "coursekit.nets.layers.mlp": Entry(lambda f: {"sizes": [4, 8, 2]}),
    "coursekit.nets.layers.MinibatchDiscrimination": Entry(lambda f: {"in_features": 8, "kernels": 4, "kernel_dim": 3}),
    "coursekit.nets.layers.MinibatchDiscrimination.forward": Entry(
        lambda f: {"x": torch.randn(4, 8)}, bind=lambda f: ck.nets.MinibatchDiscrimination(8, 4, 3), nan_through=FORWARD_NAN),
    "coursekit.nets.mlp.MLPGenerator": Entry(lambda f: {"z_dim": 8, "hidden": (16,)}),
    "coursekit.nets.mlp.MLPGenerator.forward": Entry(lambda f: {"z": torch.randn(2, 8)}, bind=lambda f: f.fresh_mlp_gan()[0],
                                                     nan_through=FORWARD_NAN),
    "coursekit.nets.mlp.MLPDiscriminator": Entry(lambda f: {"hidden": (16,)}),
    "coursekit.nets.mlp.MLPDiscriminator.forward": Entry(lambda f: {"x": f.digits[:2]}, bind=lambda f: f.fresh_mlp_gan()[1],
                                                         nan_through=FORWARD_NAN,
                                                         ok={"x": {"range_0_255": "a layer takes any values"}}),
    "coursekit.nets.progressive.ProgressiveGenerator": Entry(lambda f: {"z_dim": 8, "channels": (8, 4), "image_channels": 1}),
    "coursekit.nets.progressive.ProgressiveGenerator.forward": Entry(
        lambda f: {"z": torch.randn(2, 8)}, bind=lambda f: ck.nets.progressive.ProgressiveGenerator(8, (8, 4)), nan_through=FORWARD_NAN),
    "coursekit.nets.progressive.ProgressiveDiscriminator": Entry(lambda f: {"channels": (8, 4), "image_channels": 1}),
    "coursekit.nets.progressive.ProgressiveDiscriminator.forward": Entry(
        lambda f: {"x": torch.zeros(2, 1, 8, 8)}, bind=lambda f: ck.nets.progressive.ProgressiveDiscriminator((8, 4)),
        nan_through=FORWARD_NAN, ok={"x": {"range_0_255": "a layer takes any values"}}),
    "coursekit.nets.progressive.images_at": Entry(lambda f: {"images": torch.nn.functional.pad(f.digits[:2], (2, 2, 2, 2),
                                                                                               value=-1.0),
                                                             "resolution": 8, "alpha": 0.5},
                                                  kinds={"alpha": "probability"},
                                                  ok={"images": {"range_0_255": "resizes any values",
                                                                 "extra_channel": "resizes any number of channels"}},
                                                  nan_through="resizing passes NaN through, as F.interpolate does"),
    "coursekit.nets.progressive.StageBatches": Entry(lambda f: {"batches": digit_batches(f),
                                                                "G": ck.nets.progressive.ProgressiveGenerator(8, (8, 4)),
                                                                "D": ck.nets.progressive.ProgressiveDiscriminator((8, 4)),
                                                                "fade_steps": 5}, kinds={"fade_steps": "count0"}),
    "coursekit.nets.toy.ToyGenerator": Entry(lambda f: {"z_dim": 4, "hidden": 8, "depth": 2}),
    "coursekit.nets.toy.ToyGenerator.forward": Entry(lambda f: {"z": torch.randn(4, 8)}, bind=lambda f: ck.nets.ToyGenerator(),
                                                     nan_through=FORWARD_NAN),
    "coursekit.nets.toy.ToyDiscriminator": Entry(lambda f: {"hidden": 8, "depth": 2, "pack": 2, "minibatch_kernels": 2,
                                                            "kernel_dim": 3}, kinds={"minibatch_kernels": "count0"}),
    "coursekit.nets.toy.ToyDiscriminator.forward": Entry(lambda f: {"x": toy_points()},
                                                         bind=lambda f: ck.nets.ToyDiscriminator(pack=2),
                                                         nan_through=FORWARD_NAN),
    "coursekit.nets.toy.Packed": Entry(lambda f: {"inner": torch.nn.Linear(4, 1), "pack": 2}),
    "coursekit.nets.toy.Packed.forward": Entry(lambda f: {"x": toy_points()},
                                               bind=lambda f: ck.nets.toy.Packed(torch.nn.Linear(4, 1), 2),
                                               nan_through=FORWARD_NAN),
    "coursekit.nets.unet.timestep_code": Entry(lambda f: {"t": torch.tensor([0, 5]), "dim": 8}),
    "coursekit.nets.unet.ResBlock": Entry(lambda f: {"c_in": 8, "c_out": 16, "emb_dim": 4}),
    "coursekit.nets.unet.ResBlock.forward": Entry(lambda f: {"x": torch.randn(2, 8, 4, 4), "emb": torch.randn(2, 4)},
                                                  bind=lambda f: ck.nets.unet.ResBlock(8, 8, 4), nan_through=FORWARD_NAN),
    "coursekit.nets.unet.UNet": Entry(lambda f: {"channels": 8, "mults": (1, 2), "num_classes": 10, "image_channels": 1}),
    "coursekit.nets.unet.UNet.forward": Entry(lambda f: {"x": f.digits[:2], "t": torch.tensor([0, 5]),
                                                         "labels": f.digit_labels[:2]},
                                              bind=lambda f: unet(f, num_classes=10), nan_through=FORWARD_NAN,
                                              ok={"x": {"range_0_255": "a layer takes any values"}}),

    # ------------------------------------------------------------ runtime
    "coursekit.runtime.budget": Entry(lambda f: {"full": 100, "quick": 2},
                                      skip={arg: "any value: budget picks one of two values the caller wrote, whatever "
                                                 "they are (a size, a width, a tuple, a string)" for arg in ("full", "quick")}),
    "coursekit.runtime.steps": Entry(lambda f: {"full": 100, "quick": 2}),
    "coursekit.runtime.shown": Entry(lambda f: {"full": 16, "quick": 4}),
    "coursekit.runtime.StepTimer": Entry(lambda f: {"device": "cpu"}, kinds={"device": "choice"}),
    "coursekit.runtime.StepTimer.record": Entry(lambda f: {"name": "phase", "full": 100},
                                                bind=lambda f: ck.runtime.StepTimer("cpu"),
                                                skip={"name": "a free-form label"}),
    "coursekit.runtime.amp_dtype": Entry(lambda f: {"device": "cpu"}, kinds={"device": "choice"}),
    "coursekit.runtime.machine_summary": Entry(lambda f: {"device": "cpu"}, kinds={"device": "choice"}),
    "coursekit.runtime.results_file": Entry(lambda f: {"name": "lesson1_cpu.json"}, kinds={"name": "choice"}),
    "coursekit.runtime.load_results": Entry(lambda f: {"name": "lesson1_cpu.json"}, kinds={"name": "choice"}),
    "coursekit.runtime.seed_everything": Entry(lambda f: {"seed": 3}),
    "coursekit.runtime.data_root": Entry(lambda f: {"root": f.tmp}, kinds={"root": "folder_in"},
                                         ok={"root": {"missing": "a folder not made yet: downloads create it"}}),
    "coursekit.runtime.checkpoint_dir": Entry(lambda f: {"run_name": "cat"}, kinds={"run_name": "choice"},
                                              ok={"run_name": {"misspelt": "any plain name is a run name"}}),
    "coursekit.runtime.colab_url": Entry(lambda f: {"notebook": "01_mlp_gan_mnist.ipynb"}, kinds={"notebook": "choice"}),
    "coursekit.runtime.pick_device": Entry(lambda f: {"verbose": False}),
}


def many(f):
    return f.once("many", lambda: ck.toy.train_many(ck.toy.ring(), ck.nets.ToyGenerator, ck.nets.ToyDiscriminator,
                                                    [0, 1], steps=2, batch_size=16, log_every=1))


def diffusion_run(f):
    model = unet(f)
    cfg = ck.engine.configure(ck.diffusion.DiffusionConfig, None, {**FAST, "T": 10})
    run = ck.engine.Run({"model": model}, {"model": ck.engine.adam(model.parameters(), 1e-3, (0.9, 0.999))},
                        {"model": torch.amp.GradScaler("cpu", enabled=False)}, digit_batches(f), cfg,
                        torch.device("cpu"), None, torch.Generator().manual_seed(0))
    run.memory["schedule"] = cfg.schedule()
    return run
