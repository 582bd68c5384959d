"""The rehearsal: every lesson top to bottom with COURSEKIT_BUDGET=rehearsal (full sizes, every loop cut
to a few steps), each in its own kernel. Prints per lesson its peak memory, the seconds per step of each
training phase and the full budget's projected time on this machine, and writes the table to
$COURSEKIT_CACHE/rehearsal_<cpu kind>.json (`python tests/test_rehearsal.py` writes the committed
notebooks/results/rehearsal_<cpu kind>.json).

Projected full time = the rehearsal's wall time, minus the time its timed steps took, plus each timed
phase's seconds per step x its full step count (a loop whose length is the same in every budget, e.g.
lesson 1's 20-step check, runs whole in the rehearsal and counts as measured). So everything that does not scale with a loop's length
(data loading, evaluation at full size, figures) is counted once, as measured; callbacks that fire
every N steps (samples, FD during training) are counted as often as they fired in the rehearsal, and
hand-written loops in the notebooks (not run through coursekit's training loops) at their rehearsal length.

"full, CPU" is the same projection from the kernel's CPU time (one thread): what an idle machine would
take; "full, wall" is this run's wall clock, which other jobs on a shared machine stretch.

Lessons run WORKERS (2) at a time, each kernel on one thread (OMP_NUM_THREADS=1), so a 2-core CI
machine is busy on both cores.

Run alone: python tests/test_rehearsal.py [notebooks/0X_....ipynb ...]  (same table, same JSON).
"""
from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("0[0-6]_*.ipynb"))
RESULTS = REPO / "notebooks" / "results"
MARK = "REHEARSAL_PEAKS "
# Appended by this harness (not part of the lesson): the kernel's own peaks and the phases it timed.
PEAKS_CELL = f"""import json, resource, torch, coursekit as ck
usage = resource.getrusage(resource.RUSAGE_SELF)
print({MARK!r} + json.dumps({{"peak_rss_mib": usage.ru_maxrss / 1024, "kernel_cpu_seconds": usage.ru_utime + usage.ru_stime,
    "cuda_peak_mib": torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None,
    "phases": ck.runtime.REHEARSAL_PHASES}}))"""


def rehearse(notebook: Path, checkpoints: Path, timeout: int = 3600) -> dict:
    """Run `notebook` in the rehearsal budget in a fresh kernel (nbclient, in a subprocess); return its row."""
    env = {**os.environ, "COURSEKIT_BUDGET": "rehearsal", "COURSEKIT_CHECKPOINTS": str(checkpoints),
           "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",   # one core per kernel: WORKERS run at once
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    env.pop("COURSEKIT_QUICK", None)             # the test suite's default; the rehearsal is its own budget
    env.pop("COURSEKIT_REHEARSAL_REPORT", None)
    runner = f"""
import json, sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read({str(notebook)!r}, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell({PEAKS_CELL!r}))
NotebookClient(nb, timeout={timeout}, kernel_name="python3", resources={{"metadata": {{"path": {str(notebook.parent)!r}}}}}).execute()
out = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
print(out)
"""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", runner], env=env, capture_output=True, text=True, timeout=timeout + 120)
    wall = time.perf_counter() - start
    if done.returncode:
        raise AssertionError(f"{notebook.name} failed in the rehearsal budget:\n{done.stderr[-6000:]}")
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith(MARK))
    peaks = json.loads(line[len(MARK):])
    phases = peaks.pop("phases")
    # a phase whose length did not come from ck.runtime.steps runs as long in every budget: already in `wall`
    scaled = [p for p in phases if p["full_steps"] is not None]
    timed = sum(p["seconds_per_step"] * p["timed_steps"] for p in scaled)
    full = sum(p["projected_seconds"] for p in scaled)
    # the same with the kernel's CPU time: what an idle machine would take (one thread: OMP_NUM_THREADS=1)
    timed_cpu = sum(p["cpu_seconds_per_step"] * p["timed_steps"] for p in scaled)
    full_cpu = sum(p["cpu_seconds_per_step"] * p["full_steps"] for p in scaled)
    return {"lesson": notebook.stem, "wall_seconds": round(wall, 1), **{k: v and round(v, 1) for k, v in peaks.items()},
            "phases": phases, "projected_full_seconds": round(wall - timed + full, 1),
            "projected_full_cpu_seconds": round(peaks["kernel_cpu_seconds"] - timed_cpu + full_cpu, 1)}


WORKERS = max(1, min(2, os.cpu_count() or 1))   # lessons rehearsed at once, each kernel on one thread


def rehearse_all(notebooks: list[Path], folder: Path, workers: int = WORKERS) -> dict:
    """{notebook stem: its row, or the exception it raised}: `workers` lessons at once, the longest first."""
    from concurrent.futures import ThreadPoolExecutor
    try:  # the committed run's CPU seconds order the queue, so the long lessons do not end up last
        known = {r["lesson"]: r["kernel_cpu_seconds"] for r in json.loads(next(RESULTS.glob("rehearsal_*.json")).read_text())["lessons"]}
    except (StopIteration, KeyError, ValueError):
        known = {}
    queue = sorted(notebooks, key=lambda nb: -known.get(nb.stem, 0))

    def one(nb):
        try:
            return nb.stem, rehearse(nb, folder / nb.stem / "checkpoints")
        except Exception as err:  # reported by that lesson's test
            return nb.stem, err
    with ThreadPoolExecutor(workers) as pool:
        return dict(pool.map(one, queue))


def cpu_kind() -> str:
    """e.g. 'amx-bf16', 'avx512-bf16', 'avx2-fp32' (the precision the course trains in there), or 'cuda'."""
    import torch
    import coursekit as ck
    if torch.cuda.is_available():
        return "cuda"
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if "amx_bf16" in flags:
        return "amx-bf16"
    return "avx512-bf16" if ck.runtime.amp_dtype("cpu") is not None else "avx2-fp32"


def table(rows: list[dict]) -> str:
    lines = [f"{'lesson':22s} {'wall s':>7s} {'CPU s':>6s} {'peak RSS MiB':>12s} {'full, wall':>11s} {'full, CPU':>10s}  "
             "phases: s/step (wall) x full steps"]
    for r in rows:
        phases = "; ".join(f"{p['phase'].split(':')[0]} {p['seconds_per_step']:.3f} x {p['full_steps'] or 'as run'}"
                           for p in r["phases"])
        lines.append(f"{r['lesson']:22s} {r['wall_seconds']:7.0f} {r['kernel_cpu_seconds']:6.0f} {r['peak_rss_mib']:12.0f} "
                     f"{r['projected_full_seconds'] / 3600:9.1f} h {r['projected_full_cpu_seconds'] / 3600:8.1f} h  {phases or '-'}")
    return "\n".join(lines)


def save(rows: list[dict], folder: Path) -> Path:
    import torch
    import coursekit as ck
    path = folder / f"rehearsal_{cpu_kind()}.json"
    path.write_text(json.dumps({
        "what": "each lesson run top to bottom with COURSEKIT_BUDGET=rehearsal (full sizes, loops cut to "
                f"{ck.runtime.REHEARSAL_STEPS} steps); projected full time = wall - timed steps + "
                "seconds per step x full steps, per training phase (tests/test_rehearsal.py)",
        "machine": ck.runtime.machine_summary("cuda" if torch.cuda.is_available() else "cpu"),
        "cpu": ck.runtime.cpu_name(), "torch": torch.__version__,
        "threads": 1, "workers": WORKERS,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "date": datetime.date.today().isoformat(), "lessons": rows}, indent=1) + "\n")
    return path


@pytest.fixture(scope="module")
def rehearsals(tmp_path_factory) -> dict:
    return rehearse_all(NOTEBOOKS, tmp_path_factory.mktemp("rehearsal"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_every_lesson_runs_in_the_rehearsal_budget(notebook, rehearsals):
    row = rehearsals[notebook.stem]
    if isinstance(row, BaseException):
        raise row
    assert row["peak_rss_mib"] > 0 and row["projected_full_seconds"] >= row["wall_seconds"] - 1
    trains = notebook.stem != "00_setup"
    assert not trains or row["phases"], f"{notebook.name} timed no training phase"
    assert any(p["full_steps"] for p in row["phases"]) or not trains, f"{notebook.name}: no loop length from ck.runtime.steps"
    assert all(p["timed_steps"] >= 1 for p in row["phases"]), row["phases"]


def test_rehearsal_table_is_printed_and_saved(rehearsals):
    failed = [stem for stem, row in rehearsals.items() if isinstance(row, BaseException)]
    assert not failed, f"not saved: {', '.join(failed)} failed in the rehearsal (see their tests)"
    rows = [rehearsals[nb.stem] for nb in NOTEBOOKS]
    print("\n" + table(rows))
    import coursekit as ck   # the suite writes to the cache; `python tests/test_rehearsal.py` updates the committed copy
    saved = json.loads(save(rows, ck.runtime.cache_dir()).read_text())
    assert [r["lesson"] for r in saved["lessons"]] == [nb.stem for nb in NOTEBOOKS]


if __name__ == "__main__":
    import tempfile
    chosen = [Path(a).resolve() for a in sys.argv[1:]] or NOTEBOOKS
    done = rehearse_all(chosen, Path(tempfile.mkdtemp()))
    for stem, row in done.items():
        if isinstance(row, BaseException):
            raise SystemExit(f"{stem}: {row}")
    rows = [done[nb.stem] for nb in chosen]
    print(table(rows))
    if chosen == NOTEBOOKS:
        print("saved", save(rows, RESULTS))
    else:
        print(json.dumps(rows, indent=1))
