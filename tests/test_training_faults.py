"""Nothing wrong passes silently in training: blow-ups, changed settings on resume, broken
checkpoints, a second Ctrl-C while saving, bad arguments. Each gets a clear error or a correct result."""
import re
import signal

import pytest
import torch

import coursekit as ck
from coursekit import storage
from coursekit.callbacks import Checkpoint
from coursekit.storage import CheckpointError
from coursekit.train import TrainingDiverged


@pytest.fixture(scope="module")
def digits(data_root):
    return ck.data.load_mnist(train=True).subset(512)


def models(seed=0, **g_kwargs):
    torch.manual_seed(seed)
    return ck.nets.MLPGenerator(**g_kwargs), ck.nets.MLPDiscriminator()


def quick(**kw):
    return {"precision": "fp32", "progress": False, "log_every": 5, **kw}


def all_finite(state) -> bool:
    if torch.is_tensor(state):
        return not state.is_floating_point() or bool(torch.isfinite(state).all())
    if isinstance(state, dict):
        return all(all_finite(v) for v in state.values())
    if isinstance(state, (list, tuple)):
        return all(all_finite(v) for v in state)
    return True


# ---------------------------------------------------------------- divergence
def test_learning_rate_blow_up_stops_within_one_log_interval_and_saves_nothing_bad(digits, tmp_path):
    """lr 1e6: losses explode (finite but huge) and Adam's state overflows. The guard stops at once."""
    first_broken = []

    def watching_g_step(*args, **kwargs):  # the default G step, noting the first step with a non-finite tensor
        loss = ck.train.g_step(*args, **kwargs)
        if not first_broken and not (torch.isfinite(loss) and loss.abs() < 1e6 and all_finite(G.state_dict())):
            first_broken.append(len(seen))
        seen.append(1)
        return loss

    seen = []
    G, D = models()
    with pytest.raises(TrainingDiverged) as err:
        ck.train.train_gan(G, D, digits.batches(64), g_step=watching_g_step, lr_g=1e6, lr_d=1e6,
                           **quick(steps=200, log_every=10), callbacks=[Checkpoint("x", every=10, folder=tmp_path)])
    stopped = max(int(s) for s in re.findall(r"step (\d+)", str(err.value)))
    assert first_broken and stopped - (first_broken[0] + 1) < 10, (first_broken, str(err.value))
    saved = tmp_path / "last.pt"
    if saved.exists():  # whatever was checkpointed before the blow-up is finite
        assert all_finite(storage.load(saved))


def test_non_finite_optimizer_state_with_finite_losses_is_caught(digits, tmp_path):
    """Adam's second moment overflowing freezes training with finite losses: caught at the next log step."""
    class PoisonAdam:
        def on_log(self, run):
            if run.step == 10:
                for state in run.optimizers["G"].state.values():
                    state["exp_avg_sq"].fill_(float("inf"))

    G, D = models()
    ckpt = Checkpoint("x", every=5, folder=tmp_path)
    with pytest.raises(TrainingDiverged, match=r"G optimizer state exp_avg_sq became NaN or infinite between steps 10 and 15"):
        ck.train.train_gan(G, D, digits.batches(64), **quick(steps=40), callbacks=[ckpt, PoisonAdam()])
    assert ckpt.saved_step == 10  # the poisoned state of step 15 was never written
    assert all_finite(storage.load(tmp_path / "last.pt"))


def test_after_nan_the_models_in_memory_are_restored_from_the_checkpoint(digits, tmp_path):
    class NaNAt:
        def on_log(self, run):
            if run.step == 10:
                with torch.no_grad():
                    next(run.G.parameters()).fill_(float("nan"))

    G, D = models()
    with pytest.raises(TrainingDiverged, match=r"restored to step 10"):
        ck.train.train_gan(G, D, digits.batches(64), **quick(steps=40),
                           callbacks=[Checkpoint("x", every=10, folder=tmp_path), NaNAt()])
    assert all_finite(G.state_dict()) and all_finite(D.state_dict())


def test_without_a_checkpoint_divergence_says_the_models_hold_bad_weights(digits):
    G, D = models()
    with pytest.raises(TrainingDiverged, match="no checkpoint was written.*hold the diverged weights"):
        ck.train.train_gan(G, D, digits.batches(64), lr_g=1e6, lr_d=1e6, **quick(steps=50))


# ---------------------------------------------------------------- resuming
@pytest.fixture
def trained_checkpoint(digits, tmp_path):
    G, D = models()
    ck.train.train_gan(G, D, digits.batches(64), **quick(steps=10), callbacks=[Checkpoint("x", folder=tmp_path)])
    return tmp_path


@pytest.mark.parametrize("change, field", [({"lr_g": 1e-4}, "lr_g"), ({"seed": 1}, "seed"),
                                           ({"real_label": 1.0}, "real_label"), ({"precision": "bf16"}, "precision")])
def test_resume_refuses_changed_settings_naming_the_field(digits, trained_checkpoint, change, field):
    G, D = models()
    before = [p.clone() for p in G.parameters()]
    with pytest.raises(CheckpointError, match=rf"trained with {field}=.*only steps, log_every, max_seconds, progress may change"):
        ck.train.train_gan(G, D, digits.batches(64), **quick(steps=20, **change),
                           callbacks=[Checkpoint("x", folder=trained_checkpoint)])
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))  # nothing was trained


def test_resume_may_train_longer_and_a_fresh_start_is_one_flag(digits, trained_checkpoint, capsys):
    G, D = models()
    history = ck.train.train_gan(G, D, digits.batches(64), **quick(steps=20),
                                 callbacks=[Checkpoint("x", folder=trained_checkpoint)])
    assert "resumed" in capsys.readouterr().out and history["step"][0] == 5 and history["step"][-1] == 20
    G, D = models()
    history = ck.train.train_gan(G, D, digits.batches(64), **quick(steps=10, lr_g=1e-4),
                                 callbacks=[Checkpoint("x", resume=False, folder=trained_checkpoint)])
    assert history["step"] == [5, 10]


def test_resume_refuses_other_data_and_other_architectures(digits, trained_checkpoint):
    G, D = models()
    with pytest.raises(CheckpointError, match=r"other data \(batch_size 64 -> now 32\)"):
        ck.train.train_gan(G, D, digits.batches(32), **quick(steps=20), callbacks=[Checkpoint("x", folder=trained_checkpoint)])
    with pytest.raises(CheckpointError, match=r"other data \(images 512 -> now 256, sample_sha256 "):
        ck.train.train_gan(G, D, digits.subset(256).batches(64), **quick(steps=20),
                           callbacks=[Checkpoint("x", folder=trained_checkpoint)])
    G, D = models(hidden=(128, 256, 512))
    with pytest.raises(CheckpointError, match=r"another architecture \(G\.net\.0\.bias: \[256\] saved vs \[128\] now\)"):
        ck.train.train_gan(G, D, digits.batches(64), **quick(steps=20), callbacks=[Checkpoint("x", folder=trained_checkpoint)])


@pytest.mark.parametrize("damage, message", [(b"", "is empty"), (b"not a checkpoint at all", "is truncated or not a coursekit file")])
def test_broken_checkpoint_names_the_file_and_what_to_do(digits, tmp_path, damage, message):
    (tmp_path / "last.pt").write_bytes(damage)
    G, D = models()
    with pytest.raises(CheckpointError, match=rf"{tmp_path / 'last.pt'} {message}.*resume=False"):
        ck.train.train_gan(G, D, digits.batches(64), **quick(steps=10), callbacks=[Checkpoint("x", folder=tmp_path)])


def test_a_truncated_last_checkpoint_falls_back_to_the_previous_one(digits, trained_checkpoint):
    G, D = models()  # a second save: step 10 -> previous.pt, step 15 -> last.pt
    ck.train.train_gan(G, D, digits.batches(64), **quick(steps=15), callbacks=[Checkpoint("x", folder=trained_checkpoint)])
    last = trained_checkpoint / "last.pt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    G, D = models()
    with pytest.warns(UserWarning, match="resuming from the one before it"):
        history = ck.train.train_gan(G, D, digits.batches(64), **quick(steps=20),
                                     callbacks=[Checkpoint("x", folder=trained_checkpoint)])
    assert history["step"] == [5, 10, 15, 20]


def test_second_ctrl_c_during_the_interrupt_save_cannot_lose_the_checkpoint(digits, tmp_path, monkeypatch):
    class StopButtonAt:
        def on_log(self, run):
            if run.step == 10:
                signal.raise_signal(signal.SIGINT)

    real_save = torch.save

    def impatient_save(obj, f):  # the student presses stop again while the checkpoint is being written
        signal.raise_signal(signal.SIGINT)
        real_save(obj, f)

    monkeypatch.setattr(storage.torch, "save", impatient_save)
    G, D = models()
    with pytest.raises(KeyboardInterrupt, match="interrupted at step 10"):
        ck.train.train_gan(G, D, digits.batches(64), **quick(steps=40),
                           callbacks=[StopButtonAt(), Checkpoint("x", every=1000, folder=tmp_path)])
    monkeypatch.undo()
    assert storage.load(tmp_path / "last.pt")["step"] == 10
    assert not list(tmp_path.glob("*.tmp"))


# ---------------------------------------------------------------- arguments
@pytest.mark.parametrize("bad, message", [
    ({"log_every": 0}, "log_every must be a whole number >= 1, got 0"),
    ({"steps": 0}, "steps must be a whole number >= 1, got 0"),
    ({"steps": -5}, "steps must be a whole number >= 1"),
    ({"steps": 2.5}, "steps must be a whole number >= 1, got 2.5"),
    ({"lr_g": 0}, "lr_g must be a finite number > 0"),
    ({"precision": "fp8"}, "precision must be one of"),
    ({"real_label": 1.5}, "real_label must be a number in [0, 1]"),
    ({"latent": "cauchy"}, "latent must be"),
])
def test_bad_arguments_are_refused_before_any_weight_changes(digits, bad, message):
    G, D = models()
    before = [p.clone() for p in [*G.parameters(), *D.parameters()]]
    with pytest.raises(ValueError, match=re.escape(message)):
        ck.train.train_gan(G, D, digits.batches(64), **{**quick(steps=10), **bad})
    assert all(torch.equal(a, b) for a, b in zip(before, [*G.parameters(), *D.parameters()]))


def test_unknown_setting_lists_the_real_ones(digits):
    G, D = models()
    with pytest.raises(TypeError, match=r"unknown setting\(s\) \['lr'\]; GANConfig has: .*lr_d, lr_g"):
        ck.train.train_gan(G, D, digits.batches(64), lr=1e-3)


def test_checkpoint_every_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="every must be a whole number >= 1"):
        Checkpoint("x", every=0, folder=tmp_path)


def test_max_seconds_stops_on_time_even_between_log_steps(digits):
    """A slow model must not overrun its time budget by up to log_every steps."""
    class Slow:
        def on_start(self, run):
            import time
            real_step = run.data.next_batch

            def slow_batch():
                time.sleep(0.05)
                return real_step()
            run.data.next_batch = slow_batch

    G, D = models()
    history = ck.train.train_gan(G, D, digits.batches(64), **quick(steps=1000, log_every=500, max_seconds=0.5),
                                 callbacks=[Slow()])
    assert history["step"][-1] < 500 and 0.5 <= history["seconds"][-1] < 3.0
