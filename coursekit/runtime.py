"""Where the course runs: device, seeds, the quick/full switch, Colab, data and cache folders.

Every lesson starts with::

    import coursekit as ck
    device = ck.runtime.pick_device()      # prints one line, e.g. "device: cuda (NVIDIA T4)"
    ck.runtime.seed_everything(0)
    steps = ck.runtime.budget(full=5000, quick=20)

`COURSEKIT_QUICK=1` (set by CI) makes every lesson run in seconds on a CPU: `budget` returns
the `quick` value. It only shrinks numbers; the code path is the same.
"""
from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import numpy as np
import torch

# The one place that names the course repository. The notebooks' setup cell and the README's
# Colab links are generated from it (tests/test_repository.py checks they agree).
REPO_SLUG = "generative-image-course/generative-image-course"
REPO_URL = f"https://github.com/{REPO_SLUG}"

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent  # the repository root when coursekit runs from a clone
# The committed results the lessons quote live in the repository's notebooks/results/. An install
# from git (Colab) carries a copy inside the package (pyproject.toml maps it to coursekit/lesson_results).
RESULTS_DIRS = (CHECKOUT_DIR / "notebooks" / "results", PACKAGE_DIR / "lesson_results")


def is_quick() -> bool:
    """True when `COURSEKIT_QUICK` is set to 1/true/yes (CI and fast previews)."""
    return os.environ.get("COURSEKIT_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}


def budget(full, quick):
    """Return `quick` in quick mode, else `full`. Use it for steps, sizes and sample counts."""
    return quick if is_quick() else full


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
        mode = "quick" if is_quick() else "full"
        print(f"device: {device.type} ({name}) | torch {torch.__version__} | budget: {mode}")
    return device


def amp_dtype(device: torch.device | str) -> torch.dtype | None:
    """The mixed-precision dtype worth using on `device`, or None for plain fp32.

    CUDA: bfloat16 where supported (Ampere and newer, no loss scaling needed), else float16.
    CPU: bfloat16 only where the processor computes it natively (AVX-512 BF16 or AMX);
    elsewhere it is emulated and slower than fp32. MPS: None.
    """
    device = torch.device(device)
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
    device = torch.device(device)
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
    for folder in RESULTS_DIRS:
        if (folder / name).is_file():
            return folder / name
    from .checks import DataError  # checks sits above runtime; imported here only for this message
    known = sorted({p.name for folder in RESULTS_DIRS if folder.is_dir() for p in folder.iterdir() if p.is_file()})
    raise DataError(f"no committed results file named {name!r}; the course ships {', '.join(known) or 'none'}. "
                    "The scripts in benchmarks/ (run from a clone with --save) write them to notebooks/results/.")


def load_results(name: str) -> dict:
    """Read a committed results JSON file (see `results_file`) into a dict."""
    import json
    return json.loads(results_file(name).read_text())


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and all GPUs); return a torch.Generator seeded alike."""
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
        return Path(root).expanduser()
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
        from .checks import DataError  # checks sits above runtime; imported here only for this message
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
    path = base / run_name if run_name else base
    path.mkdir(parents=True, exist_ok=True)
    return path


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
    return f"https://colab.research.google.com/github/{REPO_SLUG}/blob/main/{notebook}"
