"""Where the course runs: device, seeds, the budget switch, Colab, data and cache folders.

Every lesson starts with::

    import coursekit as ck
    device = ck.runtime.pick_device()      # prints one line, e.g. "device: cuda (NVIDIA T4)"
    ck.runtime.seed_everything(0)
    steps = ck.runtime.steps(full=5000, quick=20)    # a loop's length: steps, epochs, iterations
    size = ck.runtime.budget(full=64, quick=32)      # everything else: sizes, widths, batches, counts

One switch, three budgets (`COURSEKIT_BUDGET`, or `COURSEKIT_QUICK=1` for the quick one):
- full (the default): what students run, on a GPU;
- quick (`COURSEKIT_QUICK=1` or `COURSEKIT_BUDGET=quick`, set by CI): every lesson in seconds on a
  CPU; `budget` and `steps` return their `quick` values;
- rehearsal (`COURSEKIT_BUDGET=rehearsal`): every size at its full value, every loop cut to
  `REHEARSAL_STEPS` steps (and figures drawn with their quick count: `shown`). It runs the full budget's cells with full-size tensors in a few
  minutes, so it shows the full budget's memory, and times each training phase (`StepTimer`)
  to project the full budget's time.
Each only changes numbers; the code path is the same.
"""
from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .checks import DataError, check_count, check_device, check_folder, check_seed

# The one place that names the course repository. The notebooks' setup cell and the README's
# Colab links are generated from it (tests/test_repository.py checks they agree).
REPO_SLUG = "generative-image-course/generative-image-course"
REPO_URL = f"https://github.com/{REPO_SLUG}"

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent  # the repository root when coursekit runs from a clone
# The committed results the lessons quote live in the repository's notebooks/results/. An install
# from git (Colab) carries a copy inside the package (pyproject.toml maps it to coursekit/lesson_results).
RESULTS_DIRS = (CHECKOUT_DIR / "notebooks" / "results", PACKAGE_DIR / "lesson_results")


BUDGETS = ("full", "quick", "rehearsal")
REHEARSAL_STEPS = 3   # a rehearsal's loop length: one warm-up step, then two timed ones


def budget_name() -> str:
    """The budget this process runs: "full", "quick" or "rehearsal".

    `COURSEKIT_BUDGET` names it; unset, `COURSEKIT_QUICK=1` (1/true/yes/on) means "quick", else "full".
    """
    quick_flag = os.environ.get("COURSEKIT_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}
    chosen = os.environ.get("COURSEKIT_BUDGET", "").strip().lower()
    if not chosen:
        return "quick" if quick_flag else "full"
    if chosen not in BUDGETS:
        raise ValueError(f"COURSEKIT_BUDGET={os.environ['COURSEKIT_BUDGET']!r} is not a budget: set it to one of "
                         f"{', '.join(BUDGETS)} (or unset it: full, or quick with COURSEKIT_QUICK=1)")
    if quick_flag and chosen != "quick":
        raise ValueError(f"COURSEKIT_QUICK=1 asks for the quick budget but COURSEKIT_BUDGET={chosen!r}: "
                         "unset one of them (COURSEKIT_BUDGET=quick alone is the same as COURSEKIT_QUICK=1)")
    return chosen


def is_quick() -> bool:
    """True in the quick budget (`COURSEKIT_QUICK=1` or `COURSEKIT_BUDGET=quick`: CI and fast previews)."""
    return budget_name() == "quick"


def is_rehearsal() -> bool:
    """True in the rehearsal budget (`COURSEKIT_BUDGET=rehearsal`): full sizes, loops cut short."""
    return budget_name() == "rehearsal"


def budget(full, quick):
    """`quick` in the quick budget, else `full` (the rehearsal too). For sizes, widths, batches and counts.

    Use `steps` for how long a loop runs.
    """
    return quick if is_quick() else full


class RehearsalSteps(int):
    """A loop length cut for the rehearsal that remembers its full value (`.full`), so the training
    loop that runs it can report the full budget's projected time. Other arithmetic gives a plain int.
    Multiplied by a whole number it stays a cut loop; saved (pickled, e.g. in a checkpoint) it is a plain int."""

    def __new__(cls, value: int, full: int):
        obj = super().__new__(cls, value)
        obj.full = int(full)
        return obj

    def __deepcopy__(self, memo):  # configs are copied with dataclasses.asdict: keep `.full`
        return self

    def __mul__(self, times):  # k * steps, e.g. three stages' worth in one run: still a cut loop
        if isinstance(times, int) and not isinstance(times, bool):
            return RehearsalSteps(int(self) * times, self.full * times)
        return int(self) * times

    __rmul__ = __mul__

    def __reduce__(self):
        return int, (int(self),)


def steps(full: int, quick: int) -> int:
    """How many times a loop runs: training steps, epochs, iterations, evaluation batches.

    Full budget: `full`; quick: `quick`; rehearsal: min(full, REHEARSAL_STEPS), carrying `full`.
    """
    for name, value in (("full", full), ("quick", quick)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"steps({name}=...) must be a whole number >= 1, got {value!r}")
    chosen = budget_name()
    if chosen == "rehearsal":
        return RehearsalSteps(min(full, REHEARSAL_STEPS), full)
    return quick if chosen == "quick" else full


def shown(full: int, quick: int) -> int:
    """How many images to draw only to look at (a figure): `full`, or `quick` in the quick budget and in
    the rehearsal, where no question of memory or time hangs on a figure's count. Anything measured or
    trained on takes `budget`."""
    full, quick = check_count(full, "full"), check_count(quick, "quick")
    return full if budget_name() == "full" else quick


# ---------------------------------------------------------------- rehearsal timing
REHEARSAL_PHASES: list[dict] = []   # the phases this process timed in the rehearsal, in order


class StepTimer:
    """Times the steps of one training phase in the rehearsal, skipping the first (warm-up).

    A loop calls `start()` before and `stop()` after each step, then `record(name, full_steps)`.
    On CUDA it synchronises around each step, so the time is the device's. It also sums the process's
    CPU time: on a CPU shared with other jobs, that is what the step would take on an idle one.
    """

    def __init__(self, device: torch.device | str = "cpu"):
        self.cuda = check_device(device).type == "cuda"
        self.count, self.seconds, self.cpu_seconds, self.began, self.began_cpu = 0, 0.0, 0.0, 0.0, 0.0

    def _now(self) -> float:
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()

    def start(self) -> None:
        self.began, self.began_cpu = self._now(), time.process_time()

    def stop(self) -> None:
        self.count += 1
        if self.count > 1:  # the first step pays for allocations, autotuning and lazy setup
            self.seconds += self._now() - self.began
            self.cpu_seconds += time.process_time() - self.began_cpu

    def record(self, name: str, full: int | None) -> dict | None:
        """Add the phase to REHEARSAL_PHASES (and `COURSEKIT_REHEARSAL_REPORT`, a JSON-lines file) and print it.

        full: the phase's step count in the full budget (a `steps` value's `.full`), None if unknown.
        """
        if full is not None:
            full = check_count(full, "full")
        if self.count < 2:
            print(f"rehearsal | {name}: {self.count} step ran, nothing to time "
                  "(resumed from a checkpoint of an earlier rehearsal? set COURSEKIT_CHECKPOINTS to an empty folder)")
            return None
        per_step = self.seconds / (self.count - 1)
        phase = {"phase": name, "timed_steps": self.count - 1, "seconds_per_step": per_step,
                 "cpu_seconds_per_step": self.cpu_seconds / (self.count - 1), "full_steps": full,
                 "projected_seconds": None if full is None else per_step * full}
        REHEARSAL_PHASES.append(phase)
        if os.environ.get("COURSEKIT_REHEARSAL_REPORT"):
            with open(os.environ["COURSEKIT_REHEARSAL_REPORT"], "a") as f:
                f.write(json.dumps(phase) + "\n")
        projected = (f"full budget {full:,} steps: about {per_step * full / 60:.1f} min here" if full is not None
                     else "full step count unknown (the loop length did not come from ck.runtime.steps)")
        print(f"rehearsal | {name}: {per_step:.3f} s per step | {projected}")
        return phase


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules


def pick_device(verbose: bool = True) -> torch.device:
    """Choose cuda, then mps, then cpu, and print the choice in one line."""
    if torch.cuda.is_available():
        device = torch.device("cuda")
        name = torch.cuda.get_device_name(0)
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        device, name = torch.device("mps"), "Apple GPU"
    else:
        device, name = torch.device("cpu"), f"{torch.get_num_threads()} threads"
    if verbose:
        print(f"device: {device.type} ({name}) | torch {torch.__version__} | budget: {budget_name()}")
    return device


def amp_dtype(device: torch.device | str) -> torch.dtype | None:
    """The mixed-precision dtype worth using on `device`, or None for plain fp32.

    CUDA: bfloat16 where supported (Ampere and newer, no loss scaling needed), else float16.
    CPU: bfloat16 only where the processor computes it natively (AVX-512 BF16 or AMX);
    elsewhere it is emulated and slower than fp32. MPS: None.
    """
    device = check_device(device)
    if device.type == "cuda":  # emulated bf16 (e.g. on Colab's T4) is slow: ask for the native kind
        try:
            native_bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # torch < 2.3 has no such argument and reports native support only
            native_bf16 = torch.cuda.is_bf16_supported()
        return torch.bfloat16 if native_bf16 else torch.float16
    if device.type == "cpu" and _cpu_has_native_bf16():
        return torch.bfloat16
    return None


def _cpu_has_native_bf16() -> bool:
    check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)  # exists in torch >= 2.1
    if check is not None and check():
        return True
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cpu_name() -> str:
    """The processor's model name, e.g. 'AMD EPYC 9R14' (or the platform's best guess)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()


def machine_summary(device: torch.device | str = "cpu") -> str:
    """One line naming the hardware a figure was measured on, and the precision it runs in.

    e.g. 'CPU AMD EPYC, 2 cores, native bf16 (AVX-512 BF16): bf16 autocast | torch 2.14.1'
    or 'GPU NVIDIA T4: fp16 autocast | torch 2.5.0'. Benchmarks print it and store it with results.
    """
    device = check_device(device)
    amp = amp_dtype(device)
    precision = {torch.bfloat16: "bf16 autocast", torch.float16: "fp16 autocast"}.get(amp, "fp32")
    if device.type == "cuda":
        hw = f"GPU {torch.cuda.get_device_name(device)}"
    else:
        bf16 = "native bf16 (AVX-512 BF16/AMX)" if _cpu_has_native_bf16() else "no native bf16 (AVX2: fp32 is the fast path)"
        hw = f"CPU {cpu_name()}, {os.cpu_count()} cores, {bf16}"
    return f"{hw}: {precision} | torch {torch.__version__}"


def results_file(name: str) -> Path:
    """The path of a committed results file, e.g. 'lesson2_experiments.json' or 'lesson4_samples.png'.

    Found in the clone's notebooks/results/, else in the installed package's copy, so a notebook
    run alone (Colab, a downloaded .ipynb) reads the same numbers as one run inside the clone.
    """
    _check_name(name, "name")
    for folder in RESULTS_DIRS:
        if (folder / name).is_file():
            return folder / name
    known = sorted({p.name for folder in RESULTS_DIRS if folder.is_dir() for p in folder.iterdir() if p.is_file()})
    raise DataError(f"no committed results file named {name!r}; the course ships {', '.join(known) or 'none'}. "
                    "The scripts in benchmarks/ (run from a clone with --save) write them to notebooks/results/.")


def load_results(name: str) -> dict:
    """Read a committed results JSON file (see `results_file`) into a dict."""
    import json
    return json.loads(results_file(name).read_text())


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and all GPUs); return a torch.Generator seeded alike."""
    seed = check_seed(seed)
    if not 0 <= seed < 2 ** 32:
        raise ValueError(f"seed must be in 0..2**32 - 1 (NumPy's range), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Where data sets are read from and downloaded to.

    First match wins: the `root` argument, the `COURSEKIT_DATA` environment variable, the
    repository's `data/` folder when running from a clone, else `~/coursekit-data`.
    """
    if root is not None:
        if isinstance(root, bool) or not isinstance(root, (str, os.PathLike)) or str(root) == "":
            raise ValueError(f"root must be a folder path (str or pathlib.Path), got {root!r}")
        root = Path(root).expanduser()
        if root.exists() or root.is_symlink():      # a folder not made yet is fine: downloads create it
            check_folder(root, "root")
        return root
    if os.environ.get("COURSEKIT_DATA"):
        return Path(os.environ["COURSEKIT_DATA"]).expanduser()
    if (CHECKOUT_DIR / "data" / "README.md").exists():
        return CHECKOUT_DIR / "data"
    return Path.home() / "coursekit-data"


def cache_dir(*parts: str) -> Path:
    """A writable folder for decoded tensors and trained helper models (created on demand).

    `COURSEKIT_CACHE` if set, else `~/.cache/coursekit`. Data folders may be read-only;
    this one never is.
    """
    base = Path(os.environ.get("COURSEKIT_CACHE") or Path.home() / ".cache" / "coursekit")
    path = base.expanduser().joinpath(*parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as err:
        raise DataError(f"the cache folder {path} is not writable ({err.strerror or err}). Set COURSEKIT_CACHE "
                        "to a folder you can write to, e.g. COURSEKIT_CACHE=/tmp/coursekit-cache") from err
    return path


def checkpoint_dir(run_name: str = "") -> Path:
    """Where training checkpoints go (created on demand).

    `COURSEKIT_CHECKPOINTS` if set; on Colab with Google Drive mounted at /content/drive,
    `MyDrive/coursekit-checkpoints` so runs survive a disconnect; else `<cache>/checkpoints`.
    """
    if os.environ.get("COURSEKIT_CHECKPOINTS"):
        base = Path(os.environ["COURSEKIT_CHECKPOINTS"]).expanduser()
    elif in_colab() and Path("/content/drive/MyDrive").is_dir():
        base = Path("/content/drive/MyDrive/coursekit-checkpoints")
    else:
        base = cache_dir("checkpoints")
    if run_name != "":
        _check_name(run_name, "run_name")
    path = base / run_name if run_name else base
    path.mkdir(parents=True, exist_ok=True)
    return path


def _check_name(value, name: str) -> None:
    """A plain file or folder name: a non-empty string without path separators."""
    if not isinstance(value, str) or not value.strip() or any(c in value for c in "/\\"):
        raise ValueError(f"{name} must be a plain name (a non-empty string without / or \\), got {value!r}")


def setup_cell_source() -> str:
    """The first code cell of every notebook: on Colab it installs coursekit, elsewhere nothing."""
    return (
        "# Setup: on Colab this installs the course package; on your own machine it does nothing.\n"
        "import sys, subprocess\n"
        "if 'google.colab' in sys.modules:\n"
        f"    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', 'git+{REPO_URL}'], check=True)"
    )


def colab_url(notebook: str) -> str:
    """The 'Open in Colab' address of a notebook path such as 'notebooks/00_setup.ipynb'."""
    if not isinstance(notebook, str) or not notebook.endswith(".ipynb") or notebook.startswith(("/", "http")):
        raise ValueError(f"notebook must be a notebook path in the repository such as 'notebooks/00_setup.ipynb', "
                         f"got {notebook!r}")
    return f"https://colab.research.google.com/github/{REPO_SLUG}/blob/main/{notebook}"
