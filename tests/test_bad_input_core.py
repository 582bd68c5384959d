"""Issue 21's bullets for the training core, each as the message a student now gets (or the right result).

Toy GANs (lesson 3) and training options: bad settings fail before any weight changes; a checkpoint
refuses to continue on other data; a resumed run never silently does nothing.
"""
import math

import pytest
import torch

import coursekit as ck
from coursekit.storage import CheckpointError

FAST = dict(log_every=1, progress=False, precision="fp32")


# ---------------------------------------------------------------- toy GANs
@pytest.mark.parametrize("settings, message", [
    ({"steps": 0}, "steps must be a whole number >= 1, got 0"),
    ({"steps": -5}, "steps must be a whole number >= 1, got -5"),
    ({"steps": 2.5}, "steps must be a whole number >= 1, got 2.5"),
    ({"lr_g": float("nan")}, "lr_g must be a number in (0, inf"),
    ({"lr_d": -1e-3}, "lr_d must be"),
    ({"beta1": 1.5}, "beta1 must be a number in [0, 1)"),
    ({"g_loss": "non-saturating"}, "g_loss must be one of 'non_saturating', 'saturating'"),
    ({"log_every": 0}, "log_every must be a whole number >= 1, got 0"),
    ({"lr_g": [1e-3, float("nan")]}, "lr_g must be"),
])
def test_train_many_refuses_bad_settings_by_name(settings, message):
    with pytest.raises(ValueError) as err:
        ck.toy.train_many(ck.toy.ring(), ck.nets.ToyGenerator, ck.nets.ToyDiscriminator, [0, 1],
                          **{"steps": 2, "batch_size": 8, **settings})
    assert message.split(" must")[0] in str(err.value) and "must be" in str(err.value), str(err.value)
    if "got" in message:
        assert message in str(err.value)


def test_train_many_refuses_no_seeds():
    with pytest.raises(ValueError, match="seeds is empty: give one seed per run"):
        ck.toy.train_many(ck.toy.ring(), ck.nets.ToyGenerator, ck.nets.ToyDiscriminator, [], steps=2)
    with pytest.raises(ValueError, match="seeds must be a whole number"):
        ck.toy.train_many(ck.toy.ring(), ck.nets.ToyGenerator, ck.nets.ToyDiscriminator, [0, 1.5], steps=2)


def test_train_many_takes_a_whole_float_step_count():
    runs = ck.toy.train_many(ck.toy.ring(), ck.nets.ToyGenerator, ck.nets.ToyDiscriminator, [0], steps=2.0,
                             batch_size=8, log_every=1)
    assert runs.history["step"] == [1, 2] and runs.settings["steps"] == 2


# ---------------------------------------------------------------- training options
@pytest.fixture(scope="module")
def digits():
    return ck.data.load_mnist(train=False).subset(64, seed=0)


def _gan():
    torch.manual_seed(0)
    return ck.nets.MLPGenerator(z_dim=8, hidden=(32,)), ck.nets.MLPDiscriminator(hidden=(32,))


@pytest.mark.parametrize("settings, message", [
    ({"instance_noise_steps": -5}, "instance_noise_steps must be a whole number >= 1, got -5"),
    ({"d_skip_below": float("nan")}, "d_skip_below must be a finite number >= 0 or None, got nan"),
    ({"real_label": 1.5}, "real_label must be a number in [0, 1], got 1.5"),
    ({"latent": "normal"}, "latent must be one of 'gaussian', 'uniform', got 'normal'"),
])
def test_gan_options_are_refused_before_any_weight_changes(digits, settings, message):
    G, D = _gan()
    before = [p.clone() for p in G.parameters()]
    with pytest.raises(ValueError) as err:
        ck.train.train_gan(G, D, digits.batches(16), steps=2, **FAST, **settings)
    assert message in str(err.value)
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))


def test_a_config_is_checked_where_it_is_written():
    with pytest.raises(ValueError, match="steps must be a whole number >= 1, got 0"):
        ck.train.GANConfig(steps=0)
    assert ck.train.GANConfig(steps=1e4).steps == 10_000          # 1e4 is a whole number


def _train(G, D, data, folder, steps=4, **settings):
    return ck.train.train_gan(G, D, data, steps=steps, **FAST, **settings,
                              callbacks=[ck.callbacks.Checkpoint("run", every=2, folder=folder)])


@pytest.mark.parametrize("change", ["other images, same count and shape", "another shuffle seed",
                                    "another data set of the same shape"])
def test_resume_refuses_other_data_of_the_same_shape(digits, tmp_path, change):
    G, D = _gan()
    _train(G, D, digits.batches(16, seed=0), tmp_path)
    if change == "other images, same count and shape":
        other = digits.images.flip(0)                               # the same digits in another order ...
        other[0] = 255 - other[0]                                   # ... and one of them inverted
        data = ck.batches.DeviceBatches(other, batch_size=16, seed=0)
    elif change == "another shuffle seed":
        data = digits.batches(16, seed=1)
    else:
        flowers = ck.data.load_flowers102("train", size=28).images[:64]
        data = ck.batches.DeviceBatches(flowers[:, :1].contiguous(), batch_size=16, seed=0)   # one channel, 28 px
    G, D = _gan()
    with pytest.raises(CheckpointError, match="was trained on other data") as err:
        _train(G, D, data, tmp_path, steps=6)
    assert ("sample_sha256" in str(err.value)) or ("shuffle_seed 0 -> now 1" in str(err.value))


def test_resume_with_the_same_data_continues(digits, tmp_path):
    G, D = _gan()
    _train(G, D, digits.batches(16, seed=0), tmp_path)
    G, D = _gan()
    history = _train(G, D, digits.batches(16, seed=0), tmp_path, steps=6)
    assert history["step"][-1] == 6


def test_steps_below_the_checkpoint_is_an_error_and_equal_says_so(digits, tmp_path, capsys):
    G, D = _gan()
    _train(G, D, digits.batches(16), tmp_path, steps=4)
    G, D = _gan()
    with pytest.raises(ValueError, match=r"steps=2 is below the step the run resumed at \(4"):
        _train(G, D, digits.batches(16), tmp_path, steps=2)
    G, D = _gan()
    _train(G, D, digits.batches(16), tmp_path, steps=4)
    assert "already trained to step 4" in capsys.readouterr().out


def test_last_checkpoint_path_taken_by_a_folder_is_named(tmp_path):
    (tmp_path / "last.pt").mkdir()
    with pytest.raises(IsADirectoryError, match=r"last\.pt is a folder, where the checkpoint file goes"):
        ck.callbacks.Checkpoint("run", folder=tmp_path)


def test_a_checkpoint_folder_under_a_file_is_named(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(NotADirectoryError, match="cannot make the checkpoint folder"):
        ck.callbacks.Checkpoint("run", folder=tmp_path / "notes.txt" / "run")


def test_evaluate_names_a_model_the_run_does_not_have(digits):
    G, D = _gan()
    evaluate = ck.callbacks.Evaluate(lambda m: {"x": 1.0}, every=1, model="generator")
    with pytest.raises(ValueError, match=r"Evaluate\(model='generator'\): this run's models are \['D', 'G'\]"):
        ck.train.train_gan(G, D, digits.batches(16), steps=1, callbacks=[evaluate], **FAST)


def test_instance_noise_never_grows():
    cfg = ck.train.GANConfig(steps=100, instance_noise=0.4, instance_noise_steps=50)
    stds = [ck.train.instance_noise_std(cfg, s) for s in range(0, 101, 10)]
    assert stds == sorted(stds, reverse=True) and stds[0] == 0.4 and stds[-1] == 0
    assert all(math.isfinite(s) for s in stds)
