"""The GAN loop: same result as the notebook's hand-written loop, exact resume, NaN stop."""
import signal

import pytest
import torch
import torch.nn.functional as F

import coursekit as ck
from coursekit.callbacks import Checkpoint
from coursekit.train import GANConfig, TrainingDiverged


@pytest.fixture(scope="module")
def digits(data_root):
    return ck.data.load_mnist(train=True).subset(2048)


def fresh_models(seed=0):
    torch.manual_seed(seed)
    return ck.nets.MLPGenerator(), ck.nets.MLPDiscriminator()


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_hand_written_loop_equals_train_gan(digits):
    """The loop as notebook 01 writes it out, step by step, gives bit-identical weights."""
    steps = 25
    G, D = fresh_models()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=True)
    batches, noise = digits.batches(128, seed=0), torch.Generator().manual_seed(0)
    for _ in range(steps):
        real = batches.next_batch()
        z = torch.randn(128, 100, generator=noise)
        fake = G(z)
        loss_d = (F.binary_cross_entropy_with_logits(D(real), torch.full((128,), 0.9))
                  + F.binary_cross_entropy_with_logits(D(fake.detach()), torch.zeros(128)))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.binary_cross_entropy_with_logits(D(fake), torch.ones(128))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()

    G2, D2 = fresh_models()
    ck.train.train_gan(G2, D2, digits.batches(128, seed=0), steps=steps, precision="fp32", log_every=10, progress=False)
    assert same_weights(G, G2) and same_weights(D, D2)


class CrashAt:
    """Simulates the kernel dying at a log step: no chance to save anything."""
    def __init__(self, step):
        self.step = step

    def on_log(self, run):
        if run.step == self.step:
            raise RuntimeError("kernel died")


class StopButtonAt:
    """Presses Jupyter's stop button (SIGINT) at a log step."""
    def __init__(self, step):
        self.step = step

    def on_log(self, run):
        if run.step == self.step:
            signal.raise_signal(signal.SIGINT)


@pytest.mark.parametrize("precision", ["auto", "fp32"])
def test_resume_after_crash_or_interrupt_is_bitwise_identical(digits, tmp_path, precision):
    cfg = GANConfig(steps=40, log_every=5, precision=precision, progress=False)
    G, D = fresh_models()
    history = ck.train.train_gan(G, D, digits.batches(128, seed=3), cfg, [Checkpoint("x", every=10, folder=tmp_path / "a")])
    assert history["step"][-1] == 40

    # the kernel dies at step 25: the checkpoint of step 20 survives; a new kernel resumes from it
    G1, D1 = fresh_models()
    with pytest.raises(RuntimeError, match="kernel died"):
        ck.train.train_gan(G1, D1, digits.batches(128, seed=3), cfg,
                           [Checkpoint("x", every=10, folder=tmp_path / "b"), CrashAt(25)])
    G1, D1 = fresh_models(seed=99)  # other initial weights: everything must come from the checkpoint
    ck.train.train_gan(G1, D1, digits.batches(128, seed=3), cfg, [Checkpoint("x", every=10, folder=tmp_path / "b")])
    assert same_weights(G, G1) and same_weights(D, D1)

    # the stop button at step 15: saved at the step boundary, then resumed
    G2, D2 = fresh_models()
    with pytest.raises(KeyboardInterrupt, match="interrupted at step 15"):
        ck.train.train_gan(G2, D2, digits.batches(128, seed=3), cfg,
                           [Checkpoint("x", every=10, folder=tmp_path / "c"), StopButtonAt(15)])
    assert torch.load(tmp_path / "c" / "last.pt", weights_only=True)["step"] == 15
    G2, D2 = fresh_models(seed=98)
    ck.train.train_gan(G2, D2, digits.batches(128, seed=3), cfg, [Checkpoint("x", every=10, folder=tmp_path / "c")])
    assert same_weights(G, G2) and same_weights(D, D2)


class PoisonAt:
    """Puts a NaN into G's first layer after the given step."""
    def __init__(self, step):
        self.step = step

    def on_log(self, run):
        if run.step == self.step:
            with torch.no_grad():
                run.G.net[0].weight[0, 0] = float("nan")


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(digits, tmp_path):
    G, D = fresh_models()
    ckpt = Checkpoint("x", every=10, folder=tmp_path)
    with pytest.raises(TrainingDiverged, match=r"at step 13: .*last checkpoint \(step 12"):
        ck.train.train_gan(G, D, digits.batches(128), steps=40, log_every=4, progress=False,
                           callbacks=[ckpt, PoisonAt(12)])
    saved = torch.load(tmp_path / "last.pt", weights_only=True)
    assert saved["step"] == 12  # saved at the first log step past 10, before the poison
    assert all(torch.isfinite(v).all() for v in saved["models"]["G"].values() if v.is_floating_point())


def test_wrong_shapes_name_the_expected_shape():
    G, D = fresh_models()
    with pytest.raises(ValueError, match=r"z must be a float tensor shaped \(B, 100\).*got torch.float32 \(4, 64\)"):
        G(torch.randn(4, 64))
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\), got \(4, 3, 28, 28\)"):
        D(torch.randn(4, 3, 28, 28))
    with pytest.raises(ValueError, match="precision must be"):
        ck.train.train_gan(G, D, None, precision="fp8", progress=False)


def test_a_resumed_run_keeps_the_curves_and_snapshots_made_before_the_stop(digits, tmp_path):
    """Evaluate's records and FixedNoiseSamples' frames travel in the checkpoint: after the stop button and a
    re-run of the cell (new callbacks, as a notebook re-creates them), they hold the same steps as an
    uninterrupted run's, and the same numbers."""
    cfg = GANConfig(steps=40, log_every=5, precision="fp32", progress=False)
    z = torch.randn(4, 100, generator=torch.Generator().manual_seed(1))
    score = lambda G: {"mean": G(z).mean(), "std": float(G(z).std()), "name": "G", "skipped": [1, 2]}  # noqa: E731

    def callbacks(folder):
        return [Checkpoint("x", every=10, folder=folder), ck.callbacks.Evaluate(score, every=10),
                ck.callbacks.FixedNoiseSamples(z, every=10)]

    whole = callbacks(tmp_path / "a")
    ck.train.train_gan(*fresh_models(), digits.batches(128, seed=3), cfg, whole)
    stopped = callbacks(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        ck.train.train_gan(*fresh_models(), digits.batches(128, seed=3), cfg, [*stopped, StopButtonAt(25)])
    assert [r["step"] for r in stopped[1].records] == [5, 15, 25]
    resumed = callbacks(tmp_path / "b")
    ck.train.train_gan(*fresh_models(seed=7), digits.batches(128, seed=3), cfg, resumed)
    assert [r["step"] for r in resumed[1].records] == [r["step"] for r in whole[1].records] == [5, 15, 25, 35, 40]
    assert [f[0] for f in resumed[2].frames] == [f[0] for f in whole[2].frames]
    number = lambda v: float(torch.as_tensor(v).detach())                                   # noqa: E731
    for mine, theirs in zip(resumed[1].records, whole[1].records):
        assert number(mine["mean"]) == pytest.approx(number(theirs["mean"]), abs=1e-6) and mine["name"] == "G"
    restored, new = resumed[1].records[:3], resumed[1].records[3:]
    assert all(type(r["mean"]) is float and "skipped" not in r for r in restored)  # saved: numbers and text only
    assert all("skipped" in r for r in new)
    assert all(torch.allclose(a[1], b[1], atol=1e-6) for a, b in zip(resumed[2].frames, whole[2].frames))
