import os
from pathlib import Path

import torch

import coursekit as ck


def test_budget_follows_the_switch(monkeypatch):
    monkeypatch.setenv("COURSEKIT_QUICK", "1")
    assert ck.runtime.is_quick() and ck.runtime.budget(full=1000, quick=3) == 3
    monkeypatch.setenv("COURSEKIT_QUICK", "0")
    assert not ck.runtime.is_quick() and ck.runtime.budget(full=1000, quick=3) == 1000
    monkeypatch.delenv("COURSEKIT_QUICK")
    assert ck.runtime.budget(full=1000, quick=3) == 1000


def test_data_root_order(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSEKIT_DATA", str(tmp_path / "env"))
    assert ck.runtime.data_root(tmp_path / "arg") == tmp_path / "arg"
    assert ck.runtime.data_root() == tmp_path / "env"
    monkeypatch.delenv("COURSEKIT_DATA")
    assert ck.runtime.data_root() == ck.runtime.CHECKOUT_DIR / "data"  # running from a clone


def test_cache_and_checkpoint_dirs_are_created(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("COURSEKIT_CHECKPOINTS", raising=False)
    assert ck.runtime.cache_dir("x").is_dir()
    assert ck.runtime.checkpoint_dir("run1") == tmp_path / "cache" / "checkpoints" / "run1"
    monkeypatch.setenv("COURSEKIT_CHECKPOINTS", str(tmp_path / "ckpt"))
    assert ck.runtime.checkpoint_dir("run1").is_dir()


def test_pick_device_prints_one_line(capsys):
    device = ck.runtime.pick_device()
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith(f"device: {device.type}")


def test_seed_everything_repeats():
    ck.runtime.seed_everything(3)
    a = torch.randn(5)
    ck.runtime.seed_everything(3)
    assert torch.equal(a, torch.randn(5))


def test_not_colab_here():
    assert not ck.runtime.in_colab()


def test_machine_summary_names_the_cpu_and_the_precision_it_trains_in():
    line = ck.runtime.machine_summary("cpu")
    assert line.startswith(f"CPU {ck.runtime.cpu_name()}, {os.cpu_count()} cores")
    native = ck.runtime.amp_dtype("cpu") == torch.bfloat16
    assert ("native bf16" in line and "bf16 autocast" in line) if native else ("no native bf16" in line and ": fp32" in line)
    assert line.endswith(f"| torch {torch.__version__}")
