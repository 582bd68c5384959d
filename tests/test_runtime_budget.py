"""The budget switch: full, quick and the rehearsal (full sizes, loops cut short), and the rehearsal's step timer."""
import copy
import json
import pickle

import pytest
import torch

import coursekit as ck


@pytest.fixture
def switch(monkeypatch):
    """Set the budget switch: switch(quick=..., budget=...); None unsets a variable."""
    def set_to(quick=None, budget=None):
        for name, value in (("COURSEKIT_QUICK", quick), ("COURSEKIT_BUDGET", budget)):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
    return set_to


@pytest.mark.parametrize("quick, budget, name", [
    (None, None, "full"), ("1", None, "quick"), ("0", None, "full"), (None, "full", "full"),
    (None, "quick", "quick"), ("1", "quick", "quick"), (None, "rehearsal", "rehearsal"), (None, " Rehearsal ", "rehearsal")])
def test_one_switch_names_three_budgets(switch, quick, budget, name):
    switch(quick, budget)
    assert ck.runtime.budget_name() == name
    assert ck.runtime.is_quick() == (name == "quick") and ck.runtime.is_rehearsal() == (name == "rehearsal")


def test_sizes_are_full_in_the_rehearsal_and_loops_are_cut(switch):
    switch(None, "rehearsal")
    assert ck.runtime.budget(full=64, quick=32) == 64
    steps = ck.runtime.steps(full=20_000, quick=25)
    assert steps == ck.runtime.REHEARSAL_STEPS and steps.full == 20_000
    assert ck.runtime.steps(full=2, quick=1) == 2          # never longer than the full loop
    assert type(steps // 4) is int and type(steps + 1) is int   # arithmetic gives a plain number ...
    assert 3 * steps == 9 and (3 * steps).full == 60_000 and (steps * 2).full == 40_000   # ... but k stages of it
    assert ck.runtime.shown(full=8, quick=2) == 2           # a figure's count: no full-size question hangs on it
    switch("1", None)
    assert ck.runtime.steps(full=20_000, quick=25) == 25 and ck.runtime.budget(full=64, quick=32) == 32
    assert ck.runtime.shown(full=8, quick=2) == 2
    switch(None, None)
    assert ck.runtime.steps(full=20_000, quick=25) == 20_000 and type(ck.runtime.steps(full=5, quick=1)) is int
    assert ck.runtime.shown(full=8, quick=2) == 8


def test_a_config_keeps_a_cut_loops_full_length_and_a_checkpoint_saves_a_plain_int(switch):
    switch(None, "rehearsal")
    steps = ck.runtime.steps(full=5000, quick=20)
    cfg = ck.engine.configure(ck.engine.TrainConfig, None, {"steps": steps})   # copies through dataclasses.asdict
    assert cfg.steps == 3 and cfg.rehearsal_full_steps == 5000
    assert type(pickle.loads(pickle.dumps(steps))) is int and type(copy.copy(steps)) is int
    assert json.dumps({"steps": steps}) == '{"steps": 3}'


@pytest.mark.parametrize("quick, budget, words", [
    (None, "fast", ["COURSEKIT_BUDGET='fast'", "full, quick, rehearsal"]),
    ("1", "rehearsal", ["COURSEKIT_QUICK=1", "COURSEKIT_BUDGET='rehearsal'", "unset one"]),
    ("1", "full", ["COURSEKIT_QUICK=1", "COURSEKIT_BUDGET='full'"])])
def test_an_unknown_or_contradicting_budget_is_refused_by_name(switch, quick, budget, words):
    switch(quick, budget)
    with pytest.raises(ValueError) as err:
        ck.runtime.budget(full=1, quick=2)
    assert all(w in str(err.value) for w in words), err.value


@pytest.mark.parametrize("full, quick", [(0, 1), (10, 0), (2.5, 1), (True, 1), ("100", 1)])
def test_steps_wants_whole_positive_counts(switch, full, quick):
    switch(None, None)
    with pytest.raises(ValueError, match="whole number >= 1"):
        ck.runtime.steps(full=full, quick=quick)


def test_training_in_the_rehearsal_times_its_steps_and_projects_the_full_budget(switch, monkeypatch, tmp_path, capsys):
    switch(None, "rehearsal")
    report = tmp_path / "phases.jsonl"
    monkeypatch.setenv("COURSEKIT_REHEARSAL_REPORT", str(report))
    monkeypatch.setattr(ck.runtime, "REHEARSAL_PHASES", [])
    torch.manual_seed(0)
    mnist = ck.data.load_mnist(train=False)
    G, D = ck.nets.MLPGenerator(), ck.nets.MLPDiscriminator()
    history = ck.train.train_gan(G, D, mnist.batches(64, "cpu"), steps=ck.runtime.steps(full=10_000, quick=20),
                                 progress=False, precision="fp32")
    assert history["step"][-1] == 3
    (phase,) = ck.runtime.REHEARSAL_PHASES
    assert phase["phase"] == "GAN training: G MLPGenerator, D MLPDiscriminator, batch 64 of (1, 28, 28)"
    assert phase["timed_steps"] == 2 and phase["full_steps"] == 10_000 and phase["seconds_per_step"] > 0
    assert phase["cpu_seconds_per_step"] > 0
    assert phase["projected_seconds"] == pytest.approx(phase["seconds_per_step"] * 10_000)
    assert json.loads(report.read_text()) == phase
    assert "rehearsal | GAN training" in capsys.readouterr().out


def test_the_full_and_quick_budgets_time_nothing(switch, monkeypatch):
    monkeypatch.setattr(ck.runtime, "REHEARSAL_PHASES", [])
    for quick in ("1", None):
        switch(quick, None)
        ck.train.train_gan(ck.nets.MLPGenerator(), ck.nets.MLPDiscriminator(),
                           ck.data.load_mnist(train=False).batches(16, "cpu"), steps=3, progress=False)
    assert ck.runtime.REHEARSAL_PHASES == []
