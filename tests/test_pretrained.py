"""The shipped measuring sticks: present, hash-checked, accurate; a damaged file is noticed, never used."""
import pytest
import torch
from torch import nn

import coursekit as ck
from coursekit import pretrained, storage


@pytest.mark.parametrize("spec", list(pretrained.SHIPPED.values()), ids=list(pretrained.SHIPPED))
def test_every_shipped_file_matches_its_hash_and_loads(spec):
    assert spec.path.is_file(), f"{spec.path} is missing: run python -m coursekit.pretrained {spec.name}"
    assert spec.path.stat().st_size < 5 * 2**20, "shipped weights must stay small"
    assert storage.sha256(spec.path) == spec.sha256
    saved = storage.load(spec.path)
    spec.make().load_state_dict(saved["state_dict"])  # strict: every tensor present, shapes right
    assert {"seed", "epochs"} <= set(saved["info"])


def test_shipped_mnist_classifier_is_loaded_not_trained_and_scores_98_percent(data_root, capsys):
    model = ck.pretrained.mnist_classifier()
    assert "mnist_classifier: loaded (shipped, SHA-256 ok)" in capsys.readouterr().out
    test = ck.data.load_mnist(train=False)
    assert len(test) == 10_000
    assert ck.metrics.accuracy(model, test.images, test.labels) >= 0.98


def tiny_spec(sha: str) -> pretrained.Shipped:
    def train(device):
        torch.manual_seed(1)
        return nn.Linear(2, 2).state_dict(), {"seed": 1, "epochs": 0}
    return pretrained.Shipped("tiny", sha, lambda: nn.Linear(2, 2), train)


def test_damaged_shipped_file_is_noticed_and_the_model_trained_instead(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "weights")
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "weights").mkdir()
    torch.manual_seed(0)
    storage.atomic_save({"state_dict": nn.Linear(2, 2).state_dict(), "info": {"seed": 0}}, tmp_path / "weights" / "tiny.pt")
    good = storage.sha256(tmp_path / "weights" / "tiny.pt")

    shipped = pretrained.load_or_train(tiny_spec(good), "cpu")
    assert "tiny: loaded (shipped, SHA-256 ok): seed 0" in capsys.readouterr().out

    damaged = pretrained.load_or_train(tiny_spec("0" * 64), "cpu")  # the file no longer matches its hash
    out = capsys.readouterr().out
    assert "does not match its SHA-256" in out and "tiny: trained now" in out
    assert not torch.equal(shipped.weight, damaged.weight)  # the damaged file's weights were not used

    again = pretrained.load_or_train(tiny_spec("0" * 64), "cpu")  # trained once, then cached
    assert "tiny: loaded from the cache" in capsys.readouterr().out
    assert torch.equal(again.weight, damaged.weight)


def test_missing_shipped_file_trains_with_the_recipe(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "nothing-here")
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path / "cache"))
    pretrained.load_or_train(tiny_spec("0" * 64), "cpu")
    assert "tiny: trained now (no shipped weights found)" in capsys.readouterr().out
    assert (tmp_path / "cache" / "models" / "tiny.pt").is_file()


def test_the_package_declares_its_weights_as_package_data():
    text = (ck.runtime.CHECKOUT_DIR / "pyproject.toml").read_text()
    assert 'coursekit = ["weights/*.pt"]' in text  # so `pip install git+...` (Colab) installs them too
