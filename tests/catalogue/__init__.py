"""One catalogue of bad inputs, thrown at every public function of coursekit (issue 21).

How it works:
- `public_callables()` walks coursekit and its subpackages: every function and class a module
  defines (not imports), and every public method of those classes. tests/test_api_catalogue.py
  fails for any of them without an `Entry` (or a reason in `NOT_CALLABLE_HERE`), so a function
  added next month is covered without anyone remembering to.
- An `Entry` gives one *good* call: a builder `args(f) -> {argument: value}` over the shared
  fixtures `f` (tests/catalogue/fixtures.py), and for methods `bind(f) -> the instance`.
- Each argument gets a *kind* (from its good value, or declared in `kinds`), and each kind a
  catalogue of bad values (`CASES`). Every (function, argument, bad value) is one test case.
- The rule: each case either raises a clear error (one of `CLEAR_ERRORS`, whose message names the
  argument, or one of its `names`), or, where the entry declares it `ok` with a reason, returns a
  result with no NaN in it that passes the entry's `check`. Anything else (a raw torch/numpy error,
  a NaN result, a silent return) fails the test.
"""
from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

import coursekit
from coursekit.engine import TrainingDiverged
from coursekit.storage import CheckpointError

CLEAR_ERRORS = (ValueError, TypeError, coursekit.DataError, OSError, CheckpointError, TrainingDiverged)


# ---------------------------------------------------------------- what a good call is
@dataclass
class Entry:
    args: Callable                      # f -> {argument: good value}
    bind: Callable | None = None        # f -> the instance, for methods
    kinds: dict = field(default_factory=dict)     # argument -> kind, where the good value's type is not enough
    ok: dict = field(default_factory=dict)        # argument -> {case: why this function handles it correctly}
    skip: dict = field(default_factory=dict)      # argument -> why no bad value is thrown at it (a str), or
                                                  # {case: why} for single cases
    names: dict = field(default_factory=dict)     # argument -> other words an error may name it by
    check: Callable | None = None       # (result, args) -> None, asserting an ok case's result is right
    nan_through: str | None = None      # why NaN in -> NaN out is right here (a layer's forward, as torch's own)


# ---------------------------------------------------------------- the catalogue of bad values
NAN, INF = float("nan"), float("inf")

NUMBER_CASES = {
    "count": {"zero": 0, "negative": -3, "float": 2.5, "bool": True, "nan": NAN, "string": "3"},
    "count0": {"negative": -3, "float": 2.5, "bool": True, "nan": NAN, "string": "3"},   # 0 is allowed
    "positive": {"zero": 0.0, "negative": -1e-3, "nan": NAN, "inf": INF, "bool": True, "string": "1e-3"},
    "nonnegative": {"negative": -0.5, "nan": NAN, "inf": INF, "bool": True, "string": "0.5"},
    "probability": {"negative": -0.1, "above_one": 1.5, "nan": NAN, "bool": True, "string": "0.5"},
    "number": {"nan": NAN, "inf": INF, "bool": True, "string": "1"},
    "seed": {"float": 2.5, "nan": NAN, "string": "0", "bool": True},
    "choice": {"misspelt": "nonsense", "number": 3, "none": None},
}


def image_cases(good: torch.Tensor) -> dict:
    """Bad variants of a good image batch (N, C, H, W)."""
    good = good.detach()
    as_float = good.float() if good.dtype == torch.uint8 else good.clone()
    with_nan = as_float.clone()
    with_nan.view(-1)[0] = NAN
    return {
        "range_0_255": good.float() if good.dtype == torch.uint8 else (good.float() + 1) * 127.5,  # float 0..255
        "dtype_int32": good.to(torch.int32),
        "no_batch_axis": good[0],
        "extra_channel": torch.cat([good, good[:, :1]], 1),
        "nan": with_nan,
        "empty": good[:0],
        "one_pixel": good[..., :1, :1],
    }


def tensor_cases(good: torch.Tensor) -> dict:
    """Bad variants of a good non-image tensor (noise z, labels, points)."""
    good = good.detach()
    cases = {"empty": good[:0] if good.dim() else good.new_empty(0), "extra_axis": good.unsqueeze(0)}
    if good.is_floating_point():
        with_nan = good.clone()
        with_nan.view(-1)[0] = NAN
        cases["nan"] = with_nan
        cases["dtype_long"] = good.long()
    else:
        cases["dtype_float"] = good.float() + 0.5
    return cases


def path_cases(tmp: Path, kind: str) -> dict:
    """Bad paths, made under tmp: for reading a file / folder, or writing one."""
    tmp.mkdir(parents=True, exist_ok=True)
    a_file, a_folder = tmp / "a_file.txt", tmp / "a_folder"
    a_file.write_text("not what you want")
    a_folder.mkdir(exist_ok=True)
    loop_a, loop_b, dangling = tmp / "loop_a", tmp / "loop_b", tmp / "dangling"
    for link, target in ((loop_a, loop_b), (loop_b, loop_a), (dangling, tmp / "nowhere")):
        if not link.is_symlink():
            link.symlink_to(target)
    inside_file = a_file / "below.pt"          # cannot be written: its parent is a file (holds for root too)
    if kind == "file_in":
        return {"missing": tmp / "missing.bin", "folder": a_folder, "dangling_link": dangling, "link_loop": loop_a}
    if kind == "folder_in":
        return {"missing": tmp / "missing_dir", "file": a_file, "dangling_link": dangling, "link_loop": loop_a}
    if kind == "file_out":
        return {"under_a_file": inside_file, "folder": a_folder, "link_loop": loop_a}
    if kind == "folder_out":
        return {"under_a_file": inside_file, "file": a_file}
    raise KeyError(kind)


PATH_KINDS = ("file_in", "folder_in", "file_out", "folder_out")


def infer_kind(name: str, value) -> str | None:
    """The kind of an argument from its good value (entries override it in `kinds`)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return "seed" if "seed" in name else "count"
    if isinstance(value, float):
        return "positive" if name.startswith("lr") or name in ("max_seconds", "timeout") else "number"
    if isinstance(value, torch.Tensor):
        return "images" if value.dim() == 4 and value.shape[1] in (1, 3) else "tensor"
    return None


def cases_for(kind: str, good, tmp: Path) -> dict:
    if kind in NUMBER_CASES:
        return NUMBER_CASES[kind]
    if kind == "images":
        return image_cases(good)
    if kind == "tensor":
        return tensor_cases(good)
    if kind in PATH_KINDS:
        return path_cases(tmp, kind)
    raise KeyError(f"no catalogue for kind {kind!r}")


# ---------------------------------------------------------------- the public API
def public_modules() -> list:
    return [coursekit] + [importlib.import_module(m.name)
                          for m in pkgutil.walk_packages(coursekit.__path__, "coursekit.")]


def public_callables() -> dict[str, Callable]:
    """{qualified name: object}: functions, classes and their public methods, as coursekit defines them."""
    found = {}
    for module in public_modules():
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                found[f"{module.__name__}.{name}"] = obj
            elif inspect.isclass(obj):
                found[f"{module.__name__}.{name}"] = obj
                for method_name, method in vars(obj).items():
                    public = not method_name.startswith("_") or method_name == "__call__"
                    if public and inspect.isfunction(method):
                        found[f"{module.__name__}.{name}.{method_name}"] = method
    return found


def takes_arguments(obj) -> bool:
    """False for a callable with nothing to throw bad values at (no parameters besides self)."""
    target = obj.__init__ if inspect.isclass(obj) else obj
    if target is object.__init__:
        return False
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return True
    params = [p for p in params if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return bool(params)


# ---------------------------------------------------------------- one case
@dataclass
class Outcome:
    verdict: str        # "clear error" | "correct result" | a failure description
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict in ("clear error", "correct result", "NaN in, NaN out")


def target_of(qualname: str, obj, entry: Entry, f):
    if entry.bind is not None:
        return getattr(entry.bind(f), qualname.rsplit(".", 1)[1])
    return obj


def attempt(qualname: str, obj, entry: Entry, f, argument: str, case: str, bad) -> Outcome:
    """Call the function with `argument` replaced by the bad value and judge what happens."""
    args = entry.args(f)
    args[argument] = bad
    fn = target_of(qualname, obj, entry, f)
    allowed = entry.ok.get(argument, {})
    try:
        result = fn(**args)
    except CLEAR_ERRORS as err:
        message = str(err)
        words = (argument,) + tuple(entry.names.get(argument, ()))
        if isinstance(bad, (str, Path)) and str(bad):
            words += (str(bad), Path(bad).name)
        if not any(w in message for w in words):
            return Outcome(f"error without the argument's name: {type(err).__name__}", message[:300])
        if case in allowed:
            return Outcome(f"raised, but the entry says it handles this ({allowed[case]})", message[:300])
        return Outcome("clear error", f"{type(err).__name__}: {message[:200]}")
    except Exception as err:  # noqa: BLE001 -- a raw error is exactly what the catalogue hunts
        return Outcome(f"raw {type(err).__name__}", str(err)[:300])
    if case == "nan" and entry.nan_through and _has_nan(result):
        return Outcome("NaN in, NaN out", entry.nan_through)
    if case not in allowed:
        return Outcome("returned silently", repr(result)[:200])
    if _has_nan(result):
        return Outcome("returned NaN", repr(result)[:200])
    if entry.check is not None:
        try:
            entry.check(result, args)
        except AssertionError as err:
            return Outcome("returned a wrong result", str(err)[:300])
    return Outcome("correct result", allowed[case])


def _has_nan(value) -> bool:
    if isinstance(value, torch.Tensor):
        return value.is_floating_point() and bool(torch.isnan(value).any())
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, dict):
        return any(_has_nan(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_nan(v) for v in value)
    return False
