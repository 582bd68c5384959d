"""The fp16 + GradScaler path, which a free Colab T4 takes (no native bf16), on the CPU: a few steps
of each loop give finite losses, a live loss scaler, and a checkpoint the same run resumes from."""
import pytest
import torch

import coursekit as ck
from coursekit.callbacks import Checkpoint


@pytest.fixture(scope="module")
def digits(data_root):
    return ck.data.load_mnist(train=True).subset(256)


def finite_history(history: dict) -> bool:
    return all(torch.isfinite(torch.tensor(v, dtype=torch.float64)).all() for k, v in history.items() if k != "step")


def test_train_gan_in_fp16_scales_its_losses_and_resumes(digits, tmp_path):
    torch.manual_seed(0)
    G, D = ck.nets.MLPGenerator(), ck.nets.MLPDiscriminator()
    settings = dict(precision="fp16", progress=False, log_every=2)
    first = ck.train.train_gan(G, D, digits.batches(32, seed=0), steps=4, callbacks=[Checkpoint("gan", every=2, folder=tmp_path)],
                               **settings)
    assert first["step"][-1] == 4 and finite_history(first)
    state = torch.load(tmp_path / "last.pt", weights_only=False)
    scales = [s["scale"] for s in state["scalers"].values()]
    assert scales and all(s > 0 for s in scales)      # the GradScaler ran and was saved with the run
    torch.manual_seed(1)
    G2, D2 = ck.nets.MLPGenerator(), ck.nets.MLPDiscriminator()
    resumed = ck.train.train_gan(G2, D2, digits.batches(32, seed=0), steps=6,
                                 callbacks=[Checkpoint("gan", every=2, folder=tmp_path)], **settings)
    # continued from step 4 (the checkpoint's history first, then one more log step), not from 0
    assert resumed["step"] == [2, 4, 6] and resumed["loss_d"][:2] == first["loss_d"] and finite_history(resumed)


def test_train_likelihood_in_fp16_scales_its_loss_and_resumes(digits, tmp_path):
    torch.manual_seed(0)
    vae = ck.nets.VAE()
    settings = dict(precision="fp16", progress=False, log_every=2)
    first = ck.train.train_likelihood(vae, digits.batches(32, seed=0), steps=4,
                                      callbacks=[Checkpoint("vae", every=2, folder=tmp_path)], **settings)
    assert first["step"][-1] == 4 and finite_history(first)
    state = torch.load(tmp_path / "last.pt", weights_only=False)
    assert [s["scale"] for s in state["scalers"].values()][0] > 0
    resumed = ck.train.train_likelihood(ck.nets.VAE(), digits.batches(32, seed=0), steps=6,
                                        callbacks=[Checkpoint("vae", every=2, folder=tmp_path)], **settings)
    assert resumed["step"] == [2, 4, 6] and resumed["loss"][:2] == first["loss"] and finite_history(resumed)
