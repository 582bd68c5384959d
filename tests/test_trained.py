"""The shipped lesson models (coursekit.trained): hash-checked, half precision, loadable, and each
lesson's SKIP_TRAINING switch runs the lesson top to bottom on them."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient import NotebookClient

import coursekit as ck
from coursekit import trained

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(trained.MODEL_CLASSES))
def test_every_shipped_model_loads_hash_checked(name, capsys):
    path = trained.path_of(name)
    assert name in trained.SHIPPED and path.is_file(), f"{name} is not shipped"
    assert ck.storage.sha256(path) == trained.SHIPPED[name]
    assert path.stat().st_size < 10e6, "a shipped model must stay small (half precision)"
    saved = ck.storage.load(path, "cpu", "shipped weights")
    assert all(v.dtype == torch.float16 for v in saved["state_dict"].values() if v.is_floating_point())
    run = trained.load(name)
    line = capsys.readouterr().out
    assert "SHA-256 ok" in line and f"{run.info['steps']:,}" in line and run.info["machine"].split(":")[0] in line
    assert isinstance(run.model, trained.MODEL_CLASSES[name]) and not run.model.training
    assert all(p.dtype == torch.float32 for p in run.model.parameters())
    assert run.history["step"][-1] == run.info["steps"] and run.evaluations[-1]["step"] == run.info["steps"]
    for step, images in run.frames:
        assert images.dtype == torch.float32 and images.min() >= -1 and images.max() <= 1
    with torch.no_grad():
        if name == "lesson4_pixelcnn":
            drawn = run.model.sample(2, torch.Generator().manual_seed(0), size=(4, 4))
        elif name == "lesson4_vae":
            drawn = run.model.sample(2, torch.Generator().manual_seed(0))
        else:
            drawn = run.model(torch.randn(2, run.model.z_dim))
    assert torch.isfinite(drawn).all()


def test_a_damaged_or_missing_file_is_a_clear_error_and_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(trained, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(ck.DataError, match="SKIP_TRAINING = False"):
        trained.load("lesson4_vae")
    damaged = tmp_path / "lesson4_vae.pt"
    shutil.copy(REPO / "coursekit" / "weights" / "lesson4_vae.pt", damaged)
    with damaged.open("r+b") as f:
        f.seek(200)
        f.write(b"\x00\x01\x02")
    before = damaged.read_bytes()
    with pytest.raises(ck.DataError, match="does not match its SHA-256"):
        trained.load("lesson4_vae")
    assert damaged.read_bytes() == before
    with pytest.raises(ValueError, match="name"):
        trained.load("lesson9_gan")


def test_helpers_refuse_what_they_cannot_store():
    with pytest.raises(TypeError, match="state"):
        trained.to_half([torch.zeros(2)])
    with pytest.raises(TypeError, match="state"):
        trained.to_half({"w": "weights"})
    assert trained.to_half({"w": torch.ones(2), "n": torch.tensor(3)})["n"].dtype == torch.int64
    images = torch.rand(2, 1, 4, 4) * 2 - 1
    with pytest.raises(TypeError, match="frames"):
        trained.frames_to_uint8(images)
    with pytest.raises(ValueError, match="step"):
        trained.frames_to_uint8([(-1, images)])
    with pytest.raises(ValueError, match="frames"):
        trained.frames_to_uint8([(0, images * float("nan"))])
    (step, stored), = trained.frames_to_uint8([(5, images)])
    assert stored.dtype == torch.uint8 and (stored.float() / 127.5 - 1 - images).abs().max() <= 1 / 255 + 1e-6


@pytest.mark.parametrize("name", ["lesson1_mlp_gan", "lesson4_pixelcnn"])
def test_the_recipe_script_writes_a_loadable_file(name, tmp_path, monkeypatch):
    """benchmarks/train_shipped.py (what made the shipped files), 2 steps, into a temporary folder."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COURSEKIT_CHECKPOINTS": str(tmp_path / "checkpoints")}
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "train_shipped.py"), name, "--steps", "2",
                           "--out", str(tmp_path)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1].startswith(f"RESULT name={name} steps=2 ")
    monkeypatch.setattr(trained, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setitem(trained.SHIPPED, name, ck.storage.sha256(tmp_path / f"{name}.pt"))
    run = trained.load(name, verbose=False)
    assert run.info["steps"] == 2 and run.info["budget"].startswith("2 of the full budget's")
    unchecked = trained.read(tmp_path / f"{name}.pt", name)   # a student's own run: no hash to check against
    assert unchecked.kwargs == run.kwargs and unchecked.info == run.info
    assert all(torch.equal(a, b) for a, b in zip(unchecked.model.state_dict().values(), run.model.state_dict().values()))
    other = "lesson4_vae" if name == "lesson1_mlp_gan" else "lesson1_mlp_gan"
    with pytest.raises(ck.DataError, match=f"not a {other} file"):
        trained.read(tmp_path / f"{name}.pt", other)
    assert (tmp_path / f"{name}.json").is_file() and (tmp_path / f"{name}.png").stat().st_size > 1000


@pytest.mark.parametrize("notebook", ["01_mlp_gan_mnist", "02_dcgan_flowers", "04_vae_vs_pixelcnn"])
def test_skip_training_runs_the_lesson_on_the_shipped_models(notebook, tmp_path, monkeypatch):
    """The lesson with SKIP_TRAINING = True, quick budget, top to bottom: no training cell trains."""
    nb = nbformat.read(REPO / "notebooks" / f"{notebook}.ipynb", as_version=4)
    switched = [c for c in nb.cells if c.cell_type == "code" and "SKIP_TRAINING = False" in c.source]
    assert len(switched) == 1, "one switch per lesson"
    switched[0].source = switched[0].source.replace("SKIP_TRAINING = False", "SKIP_TRAINING = True")
    monkeypatch.setenv("COURSEKIT_QUICK", "1")
    monkeypatch.setenv("COURSEKIT_CHECKPOINTS", str(tmp_path / "checkpoints"))
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "loaded (shipped, SHA-256 ok)" in printed
