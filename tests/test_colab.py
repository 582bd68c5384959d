"""Colab as a student meets it: the first cell installs coursekit from git, non-editable, into a
runtime that already holds Colab's own package versions, and each lesson runs alone.

`test_floors_admit_colab_versions` is instant. `test_every_lesson_runs_alone_on_colab_versions`
rehearses the whole thing offline (marked `colab`; `pytest -m "not colab"` skips it):

1. a venv with Colab's versions (tests/colab_packages.txt: IPython 7.34, ipywidgets 7.7.1, numpy 2.1.3,
   ...; torch and torchvision are this machine's, as Colab's CUDA build is not on disk here), plus a
   stub `google.colab` imported at start-up as Colab does, so the notebooks' first cell installs;
2. a snapshot of this working tree as a git repository, which git serves in place of the course's
   GitHub address (`url.<snapshot>.insteadOf`), so the unchanged first cell installs it;
3. each notebook copied alone into an empty folder and run top to bottom in the quick budget, from
   an empty cache, with checkpoints redirected away from Google Drive;
4. then: `pip freeze` differs from before by coursekit alone, every notebook passed, and every
   committed results table printed.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from importlib.metadata import distribution, requires
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from packaging.requirements import Requirement
from packaging.version import Version

import coursekit as ck

REPO = Path(__file__).resolve().parents[1]
COLAB_PACKAGES = Path(__file__).with_name("colab_packages.txt")
# Not installed into the rehearsal venv: torch/torchvision (this machine's builds stand in for Colab's
# CUDA ones), setuptools (torch 2.14 asks for a newer one), notebook (the classic server, not used by a kernel).
NOT_MIRRORED = {"torch", "torchvision", "setuptools", "notebook"}
# What a lesson prints when it shows committed results (the tables read through ck.runtime.load_results).
RESULTS_PRINTED = {"02_dcgan_flowers": "budget '", "03_gan_pitfalls": "budget '", "04_vae_vs_pixelcnn": "budget '",
                   "05_style_transfer": "budget '",
                   "06_diffusion": "budget '"}


def colab_versions() -> dict[str, str]:
    """{package: version} from tests/colab_packages.txt, local version labels (+cu128) dropped."""
    pins = {}
    for line in COLAB_PACKAGES.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower().replace("_", "-")] = version.split("+")[0].strip()
    return pins


def test_floors_admit_colab_versions():
    """Every dependency of coursekit accepts the version Colab already has: the first cell upgrades nothing."""
    pins = colab_versions()
    checked = []
    for spec in requires("coursekit"):
        req = Requirement(spec)
        if req.marker is not None:  # an extra (instructor tools), not installed by the first cell
            continue
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"{req.name} is a dependency but not in Colab's list (tests/colab_packages.txt): is it needed?"
        assert req.specifier.contains(Version(pins[name])), f"{spec} rejects Colab's {name}=={pins[name]}"
        checked.append(name)
    assert {"torch", "ipython", "ipywidgets", "numpy", "matplotlib"} <= set(checked)


def _freeze(python: Path) -> set[str]:
    out = subprocess.run([str(python), "-m", "pip", "freeze", "--all"], capture_output=True, text=True, check=True)
    return {line.strip() for line in out.stdout.splitlines() if line.strip()}


def _torch_and_its_dependencies() -> set[str]:
    """Names of torch, torchvision and everything they need, as installed in this environment."""
    seen, todo = set(), [("torch", ""), ("torchvision", "")]  # (name, extra asked for: cuda-toolkit[cufft])
    while todo:
        name, extra = todo.pop()
        name = name.lower().replace("_", "-")
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        for spec in distribution(name).requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": extra}):
                todo += [(req.name, "")] + [(req.name, e) for e in req.extras]
    return {name for name, _ in seen}


def _link_distributions(names: set[str], site: Path) -> None:
    """Hard-link these installed distributions' files into `site` (copy where the disk can't link).

    torch's CUDA build is 5.5 GB; a second copy of it filled a CI machine's disk. pip then finds
    these versions installed and leaves them as they are.
    """
    for name in sorted(names):
        dist = distribution(name)
        for file in dist.files or []:
            source, target = Path(dist.locate_file(file)), site / file
            if ".." in file.parts or not source.is_file():  # scripts in bin/ and the like: not needed
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)


def _colab_venv(folder: Path) -> Path:
    """A venv holding Colab's versions (reused while tests/colab_packages.txt and torch stay the same).

    torch, torchvision and what they need but Colab's list does not pin are this environment's own
    files, hard-linked in; the rest pip installs at Colab's versions.
    """
    import torch
    import torchvision
    pins = [f"{n}=={v}" for n, v in colab_versions().items() if n not in NOT_MIRRORED]
    pins += [f"torch=={torch.__version__.split('+')[0]}", f"torchvision=={torchvision.__version__.split('+')[0]}"]
    stamp = "\n".join(sorted(pins)) + f"\n{sys.version}\n"
    python = folder / "bin" / "python"
    if python.exists() and (folder / "colab-stamp.txt").is_file() and (folder / "colab-stamp.txt").read_text() == stamp:
        return python
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    pinned_by_colab = set(colab_versions()) - {"torch", "torchvision"}
    _link_distributions(_torch_and_its_dependencies() - pinned_by_colab - {"setuptools", "pip"}, site)
    pip = subprocess.run([str(python), "-m", "pip", "install", "-q", *pins], capture_output=True, text=True)
    assert pip.returncode == 0, f"could not build the Colab-like venv:\n{pip.stdout[-3000:]}\n{pip.stderr[-3000:]}"
    # Colab imports google.colab when the kernel starts; the notebooks' first cell looks for it.
    (site / "google" / "colab").mkdir(parents=True, exist_ok=True)
    (site / "google" / "colab" / "__init__.py").write_text('"""Stand-in for Colab\'s own package (tests/test_colab.py)."""\n')
    (site / "sitecustomize.py").write_text("import google.colab  # as on Colab: imported before any notebook code runs\n")
    (folder / "colab-stamp.txt").write_text(stamp)
    return python


def _snapshot_repository(dest: Path) -> Path:
    """This working tree as it is (tracked and untracked, not ignored files) committed into a bare repo."""
    env = dict(os.environ, GIT_INDEX_FILE=str(dest / "index"))
    git = lambda *args: subprocess.run(["git", *args], cwd=REPO, env=env, capture_output=True, text=True, check=True).stdout.strip()
    git("read-tree", "HEAD")
    git("add", "-A")
    tree = git("write-tree")
    commit = git("-c", "user.name=rehearsal", "-c", "user.email=rehearsal@localhost", "commit-tree", tree, "-p", "HEAD",
                 "-m", "snapshot for the Colab rehearsal")
    bare = dest / "course.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    subprocess.run(["git", "push", "-q", str(bare), f"{commit}:refs/heads/main"], cwd=REPO, check=True, capture_output=True)
    subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/main"], cwd=bare, check=True)
    return bare


@pytest.fixture(scope="module")
def colab_python() -> Path:
    return _colab_venv(ck.runtime.cache_dir("colab-venv"))


@pytest.mark.colab
def test_every_lesson_runs_alone_on_colab_versions(colab_python, tmp_path, monkeypatch):
    python = colab_python
    subprocess.run([str(python), "-m", "pip", "uninstall", "-q", "-y", "coursekit"], capture_output=True)  # a reused venv
    before = _freeze(python)
    bare = _snapshot_repository(tmp_path)
    kernels = tmp_path / "jupyter" / "kernels" / "colab"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    # The first cell's `pip install git+https://github.com/<course>` reaches the snapshot instead.
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", f"url.file://{bare}.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", ck.runtime.REPO_URL)
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path / "cold-cache"))          # a student's first run
    monkeypatch.setenv("COURSEKIT_CHECKPOINTS", str(tmp_path / "checkpoints"))  # instead of Google Drive
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "MPLBACKEND"):  # Colab's kernel has none of these
        monkeypatch.delenv(name, raising=False)

    report = []
    for source in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        alone = tmp_path / "runs" / source.stem
        alone.mkdir(parents=True)
        shutil.copy(source, alone)
        nb = nbformat.read(alone / source.name, as_version=4)
        start = time.perf_counter()
        client = NotebookClient(nb, kernel_name="colab", timeout=900, resources={"metadata": {"path": str(alone)}})
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):   # cell by cell, so a stall names its cell in the log
                if cell.cell_type == "code":
                    cell_start = time.perf_counter()
                    client.execute_cell(cell, index)
                    print(f"  {source.stem} cell {index}: {time.perf_counter() - cell_start:.1f} s", flush=True)
        seconds = time.perf_counter() - start
        printed = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)
        if source.stem in RESULTS_PRINTED:
            assert RESULTS_PRINTED[source.stem] in printed, f"{source.name}: the committed results table did not print"
        report.append(f"{source.name}: passed in {seconds:.1f} s")
        print(report[-1], flush=True)
        if len(report) == 1:
            added = sorted(_freeze(python) - before)
            removed = sorted(before - _freeze(python))
            print(f"after the first cell: added {added}, removed {removed}", flush=True)
            assert removed == [] and [p.split(" @ ")[0].split("==")[0] for p in added] == ["coursekit"], (
                f"the first cell changed more than coursekit: added {added}, removed {removed}")
    assert len(report) >= 6, report
    (tmp_path / "report.txt").write_text("\n".join(report))


@pytest.mark.colab
def test_widgets_work_with_colabs_ipywidgets(colab_python, tmp_path):
    """The widget tests (style app with its uploads, live plots, quizzes) again, under ipywidgets 7.7.1
    and IPython 7.34, against coursekit installed from a wheel, as on Colab."""
    python = colab_python
    for args in (["pytest"], ["--no-deps", "--force-reinstall", str(REPO)]):  # coursekit as a wheel, Colab's packages kept
        pip = subprocess.run([str(python), "-m", "pip", "install", "-q", *args], capture_output=True, text=True)
        assert pip.returncode == 0, pip.stderr[-2000:]
    version = subprocess.run([str(python), "-c", "import ipywidgets; print(ipywidgets.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version.startswith("7."), f"the Colab-like venv has ipywidgets {version}"
    tests = [str(REPO / "tests" / name) for name in ("test_style_app.py", "test_live_plot.py", "test_quiz.py")
             if (REPO / "tests" / name).exists()]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", str(tmp_path),
                          "-k", "not in_the_clone", *tests],   # that quiz test expects the clone's copy; here it is the wheel's
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    print(run.stdout[-1500:])
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    where = subprocess.run([str(python), "-c", "import coursekit; print(coursekit.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout
    assert "site-packages" in where, f"the widget tests imported coursekit from {where}, not from the installed wheel"
