"""Every public function of coursekit refuses what it cannot handle (issue 21).

tests/catalogue/ holds the machinery (kinds of arguments, their bad values, the rule) and one
good call per public function, method and class. Here: every public callable has an entry, and
for each, every bad value at every argument gets a clear error or a correct result. The table of
outcomes is printed at the end of the run (tests/conftest.py) and written to
$COURSEKIT_CACHE/api_catalogue.json.
"""
from __future__ import annotations

import json
import os
import warnings
from collections import Counter
from pathlib import Path

import pytest

from catalogue import Entry, attempt, cases_for, infer_kind, public_callables, takes_arguments
from catalogue.entries_core import ENTRIES as CORE
from catalogue.entries_measure import ENTRIES as MEASURE
from catalogue.entries_media import ENTRIES as MEDIA
from catalogue.fixtures import Fixtures

ENTRIES: dict[str, Entry] = {**CORE, **MEASURE, **MEDIA}
assert len(ENTRIES) == len(CORE) + len(MEASURE) + len(MEDIA), "an entry is in two files"

# Callables the catalogue does not call, each with the reason.
NOT_CALLABLE_HERE = {
    "coursekit.pretrained.main": "the command line of `python -m coursekit.pretrained`; argparse refuses bad values",
    "coursekit.toy.ManyRuns": "the record train_many returns, filled in by it, never built by hand",
    "coursekit.trained.TrainedRun": "the record trained.load returns, filled in by it, never built by hand",
}

# Methods the engine calls with its own Run, and state restorers that take what `state_dict()` wrote
# (a checkpoint is checked whole before: storage.load and the run's signature and data fingerprint).
ENGINE_HOOKS = ("on_start", "on_log", "on_end", "on_interrupt", "on_diverged", "load_state_dict")
CALLABLES = {name: obj for name, obj in public_callables().items() if name.rsplit(".", 1)[1] not in ENGINE_HOOKS}
RESULTS: list[dict] = []


@pytest.fixture(scope="module")
def f(tmp_path_factory) -> Fixtures:
    return Fixtures(tmp_path_factory.mktemp("catalogue"))


def test_every_public_callable_is_in_the_catalogue():
    missing = sorted(name for name, obj in CALLABLES.items()
                     if takes_arguments(obj) and name not in ENTRIES and name not in NOT_CALLABLE_HERE)
    assert not missing, f"public callables without a catalogue entry (add one in tests/catalogue/): {missing}"
    stale = sorted(set(ENTRIES) - set(CALLABLES))
    assert not stale, f"catalogue entries for callables that no longer exist: {stale}"


@pytest.mark.parametrize("qualname", sorted(ENTRIES))
def test_bad_values_get_a_clear_error_or_a_correct_result(qualname, f):
    entry, obj = ENTRIES[qualname], CALLABLES[qualname]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        good = entry.args(f)
    failures = []
    for argument, value in good.items():
        if isinstance(entry.skip.get(argument), str):
            RESULTS.append({"callable": qualname, "argument": argument, "case": "-", "verdict": "skipped",
                            "detail": entry.skip[argument]})
            continue
        kind = entry.kinds.get(argument) or infer_kind(argument, value)
        if kind is None:
            continue
        for case, bad in cases_for(kind, value, f.tmp / "paths").items():
            if case in entry.skip.get(argument, {}):
                RESULTS.append({"callable": qualname, "argument": argument, "kind": kind, "case": case,
                                "verdict": "skipped", "detail": entry.skip[argument][case]})
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outcome = attempt(qualname, obj, entry, f, argument, case, bad)
            RESULTS.append({"callable": qualname, "argument": argument, "kind": kind, "case": case,
                            "verdict": outcome.verdict, "detail": outcome.detail})
            if not outcome.passed:
                failures.append(f"{argument}={case}: {outcome.verdict}: {outcome.detail}")
    assert not failures, f"{qualname}:\n  " + "\n  ".join(failures)


def catalogue_table() -> str:
    """Callables walked, cases tried, and how they ended (printed by tests/conftest.py at the end)."""
    if not RESULTS:
        return ""
    walked = {r["callable"] for r in RESULTS}
    verdicts = Counter(r["verdict"] for r in RESULTS)
    total = sum(v for k, v in verdicts.items() if k != "skipped")
    lines = [f"API catalogue: {len(walked)} callables walked ({len(CALLABLES)} public, "
             f"{len(ENTRIES)} with an entry), {total} bad-value cases tried"]
    for verdict, count in verdicts.most_common():
        lines.append(f"  {count:5d}  {verdict}")
    path = Path(os.environ.get("COURSEKIT_CACHE", ".cache")) / "api_catalogue.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(RESULTS, indent=1, default=str))
    lines.append(f"  (every case: {path})")
    return "\n".join(lines)
