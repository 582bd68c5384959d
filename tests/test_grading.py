"""The instructor flow of assignments/README.md, run offline in a temporary copy of the course folder.

One assignment (1, the GAN step) is graded for a class of hand-ins: the reference solution, the
unmodified release, and five that misbehave (raise, never finish, tamper with the tests, print
megabytes, do not parse). Every other assignment's solution notebook is executed once, and its
release once, to check that no test passes without the student's code.
"""
from __future__ import annotations

import csv
import html
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest


REPO = Path(__file__).resolve().parents[1]
COURSE = REPO / "assignments"
ASSIGNMENTS = sorted(p.parent.name for p in (COURSE / "source").glob("*/*.ipynb") if p.stem == p.parent.name)
GRADED = "a1_gan_training"          # the assignment graded for a whole class below
TIMEOUT = 25                        # per-cell limit in the test run (reference cells: at most 14 s on 2 busy cores)
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def grade(course: Path, *args: str) -> subprocess.CompletedProcess:
    """One step of the README's flow: `python grade.py --course COURSE ARGS`, output captured."""
    proc = subprocess.run([sys.executable, str(course / "grade.py"), "--course", str(course), *args],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"grade.py {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A fresh copy of the course folder (sources, config, script) with every assignment released."""
    assert ASSIGNMENTS, "no assignments found in assignments/source/"
    if importlib.util.find_spec("nbgrader") is None:
        pytest.fail("nbgrader is not installed: the grading tests need the instructor extra, "
                    "pip install -e '.[instructor]' (the README's test command installs it)", pytrace=False)
    root = tmp_path_factory.mktemp("course")
    for name in ("source", "nbgrader_config.py", "grade.py"):
        src = COURSE / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / name)
    grade(root, "release")
    return root


# ---------------------------------------------------------------- what the instructor wrote
def marked_blocks(nb, begin: str, end: str) -> list[str]:
    """The text between `begin` and `end` markers in every cell (the lines students must not see)."""
    blocks = []
    for cell in nb.cells:
        blocks += re.findall(rf"{re.escape(begin)}\n(.*?)\n\s*{re.escape(end)}", cell.source, flags=re.S)
    return blocks


def secret_lines(name: str) -> list[str]:
    """The lines of a source notebook's solutions and hidden tests that appear nowhere else in it."""
    nb = nbformat.read(COURSE / "source" / name / f"{name}.ipynb", as_version=4)
    blocks = marked_blocks(nb, *MARKERS[:2]) + marked_blocks(nb, *MARKERS[2:])
    assert blocks, f"{name}: no solution or hidden-test blocks found"
    # answers marked by hand: the whole cell is the instructor's model answer
    blocks += [c.source for c in nb.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")]
    public = "\n".join(c.source for c in nb.cells)
    for block in blocks:
        public = public.replace(block, "")
    lines = {line.strip() for block in blocks for line in block.splitlines()}
    return sorted(line for line in lines if len(line) > 12 and not line.startswith("#") and line not in public)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_has_no_solution_and_no_hidden_test(course, name):
    released = [p for p in (course / "release" / name).rglob("*") if p.is_file()]
    assert any(p.suffix == ".ipynb" for p in released), f"nothing released for {name}"
    secrets = secret_lines(name)
    for path in released:
        text = path.read_text(errors="replace")
        if path.suffix == ".ipynb":  # the JSON escapes quotes: scan the cells' text too
            text += "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
        for marker in MARKERS:
            assert marker not in text, f"{path.name} contains {marker!r}"
        leaked = [line for line in secrets if line in text]
        assert not leaked, f"{path.name} contains solution or hidden-test text: {leaked[:3]}"
    # the visible tests stay: every graded cell keeps its first line
    source = nbformat.read(COURSE / "source" / name / f"{name}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    tests = [c.source.splitlines()[0] for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")
             and c.cell_type == "code"]
    assert tests and all(any(c.source.startswith(t) for c in release.cells) for t in tests)
    assert all(not c.get("outputs") for c in release.cells), "the release must have no outputs"


# ---------------------------------------------------------------- executing the notebooks
def execute(path: Path, tmp_path: Path) -> nbformat.NotebookNode:
    """Run a notebook top to bottom like the grader (errors recorded, not raised)."""
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def errors(nb) -> dict[str, str]:
    """grade_id (or cell id) -> the error a cell raised."""
    found = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                found[cell.metadata.get("nbgrader", {}).get("grade_id", cell.get("id"))] = f"{out.ename}: {out.evalue}"
    return found


def test_solution_notebooks_pass_every_test(tmp_path, monkeypatch):
    """The reference solution of every other assignment runs clean in the quick budget (the graded
    one's is scored with full marks below)."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # as in grading (nbgrader_config.py)
    for name in [a for a in ASSIGNMENTS if a != GRADED]:
        start = time.perf_counter()
        nb = execute(COURSE / "source" / name / f"{name}.ipynb", tmp_path)
        assert not errors(nb), f"{name}: the solution notebook raised {errors(nb)}"
        print(f"{name}: solution notebook ran in {time.perf_counter() - start:.1f} s")


def test_release_fails_every_test_without_the_students_code(course, tmp_path, monkeypatch):
    """No point comes for free: in the unmodified release every graded cell raises (the graded
    assignment's release is scored 0 below)."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    for name in [a for a in ASSIGNMENTS if a != GRADED]:
        nb = execute(course / "release" / name / f"{name}.ipynb", tmp_path)
        graded = [c.metadata.nbgrader["grade_id"] for c in nb.cells
                  if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
        passing = [g for g in graded if g not in errors(nb)]
        assert not passing, f"{name}: these tests pass on the unmodified release: {passing}"


# ---------------------------------------------------------------- a class of hand-ins
def edit_cell(nb, grade_id: str, change) -> None:
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    new = change(cell.source)
    assert new != cell.source, f"the edit of {grade_id} changed nothing"
    cell.source = new


def after_docstring(code: str):
    """An edit that puts `code` first in the body of the cell's first function (after its docstring)."""
    def change(source: str) -> str:
        return re.sub(r'^(    """.*?"""\n)', lambda m: m.group(1) + code, source, count=1, flags=re.M | re.S)
    return change


def strip_markers(source: str) -> str:
    """A solution cell as a student who solved it would hand it in (no markers, no hidden tests)."""
    source = re.sub(r"\n\s*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", source, flags=re.S)
    return "\n".join(line for line in source.splitlines() if line.strip() not in MARKERS)


def hand_ins(course: Path) -> dict[str, nbformat.NotebookNode]:
    """student id -> hand-in notebook of assignment 1, built from the reference solution."""
    source = nbformat.read(course / "source" / GRADED / f"{GRADED}.ipynb", as_version=4)
    for cell in source.cells:
        cell.source = strip_markers(cell.source)

    def variant(change=None):
        nb = nbformat.from_dict(json.loads(json.dumps(source)))
        if change:
            change(nb)
        return nb

    def raises(nb):
        edit_cell(nb, "g_loss", after_docstring('    raise RuntimeError("student bug")\n'))

    def never_finishes(nb):
        edit_cell(nb, "train_step", after_docstring("    while True:  # waits for a loss that never comes\n        pass\n"))

    def tampered(nb):
        # deletes D's loss test, empties G's loss test and hands in a wrong (saturating) G loss
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_d_loss"]
        edit_cell(nb, "test_g_loss", lambda s: "pass  # all good")
        edit_cell(nb, "g_loss", lambda s: s.replace("torch.ones_like(logits))", "torch.zeros_like(logits)).neg()"))

    def prints_megabytes(nb):
        edit_cell(nb, "train_step", lambda s: s + '\n\nprint(list(range(500_000)))  # one line of 3.9 MB'
                                                  '\nfor i in range(150_000):\n    print(f"debug line {i}: still here")')

    def syntax_error(nb):
        edit_cell(nb, "d_loss", lambda s: s.replace("real_label=0.9):", "real_label=0.9)", 1))

    release = nbformat.read(course / "release" / GRADED / f"{GRADED}.ipynb", as_version=4)
    return {"s0_reference": variant(), "s1_unchanged_release": release, "s2_raises": variant(raises),
            "s3_never_finishes": variant(never_finishes), "s4_tampered_tests": variant(tampered),
            "s5_prints_megabytes": variant(prints_megabytes), "s6_syntax_error": variant(syntax_error)}


# points of the four parts of assignment 1: discriminator 2, D loss 3, G loss 1, train step 3
EXPECTED = {
    "s0_reference": 9,          # full marks
    "s1_unchanged_release": 0,  # NotImplementedError everywhere
    "s2_raises": 5,             # G loss raises: its test and the training step's test fail
    "s3_never_finishes": 6,     # the training step loops forever: interrupted after TIMEOUT s, 0 for it
    "s4_tampered_tests": 8,     # deleted D-loss test restored (passes: 3), emptied G-loss test restored (fails: 0)
    "s5_prints_megabytes": 9,   # correct, very chatty
    "s6_syntax_error": 3,       # D loss does not parse: its test and the training step's test fail
}


def test_a_class_is_graded_and_every_hand_in_scored(course, tmp_path):
    hand_in_dir = tmp_path / "hand-ins"
    for student, nb in hand_ins(course).items():
        (hand_in_dir / student).mkdir(parents=True)
        nbformat.write(nb, hand_in_dir / student / f"{GRADED}.ipynb")
    archive = shutil.make_archive(str(tmp_path / "hand-ins"), "zip", hand_in_dir)  # as downloaded from an LMS
    grade(course, "collect", GRADED, archive)
    for student in EXPECTED:
        assert (course / "submitted" / student / GRADED / f"{GRADED}.ipynb").exists(), f"{student} was not collected"

    start = time.perf_counter()
    grade(course, "autograde", GRADED, "--", f"--Execute.timeout={TIMEOUT}")
    seconds = time.perf_counter() - start
    grade(course, "export")
    grade(course, "feedback", GRADED)

    with open(course / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f) if r["assignment"] == GRADED}
    table = "\n".join(f"{s:22s} {float(r['score']):4.1f} / {float(r['max_score']):.0f}" for s, r in sorted(rows.items()))
    print(f"\nautograde of {len(rows)} hand-ins took {seconds:.1f} s\n{table}")
    scores = {s: float(r["score"]) for s, r in rows.items()}
    assert scores == {s: float(v) for s, v in EXPECTED.items()}, f"scores differ from the expected ones:\n{table}"
    assert all(float(r["max_score"]) == EXPECTED["s0_reference"] for r in rows.values())
    # five misbehaving hand-ins plus the reference and the release, on 2 shared cores
    assert seconds < 300, f"grading {len(rows)} hand-ins took {seconds:.0f} s (limit 300 s)"

    graded = {s: course / "autograded" / s / GRADED / f"{GRADED}.ipynb" for s in EXPECTED}
    chatty = graded["s5_prints_megabytes"]
    assert chatty.stat().st_size < 1_000_000, f"the chatty hand-in's graded notebook is {chatty.stat().st_size:,} bytes"
    looping = nbformat.read(graded["s3_never_finishes"], as_version=4)
    assert "CellTimeoutError" in json.dumps(looping.cells), "the endless training step must be cut off by the timeout"
    tampered = nbformat.read(graded["s4_tampered_tests"], as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in tampered.cells]
    assert "test_d_loss" in ids, "the deleted test cell must be restored"
    assert "pass  # all good" not in json.dumps(tampered.cells), "the edited test cell must be replaced by the original"
    released = (course / "release" / GRADED / f"{GRADED}.ipynb").read_text()
    hidden = [line.strip() for block in marked_blocks(nbformat.read(COURSE / "source" / GRADED / f"{GRADED}.ipynb",
                                                                    as_version=4), *MARKERS[2:])
              for line in block.splitlines() if len(line.strip()) > 12 and json.dumps(line.strip())[1:-1] not in released]
    for student in EXPECTED:
        report = course / "feedback" / student / GRADED / f"{GRADED}.html"
        assert report.exists(), f"no feedback for {student}"
        text = report.read_text()
        assert f"Score: {scores[student]:.1f} / {EXPECTED['s0_reference']:.1f}" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)), \
            f"{student}'s feedback does not show the score"
        assert "BEGIN HIDDEN TESTS" not in text
    # a hand-in that passes sees none of the hidden tests' code in its feedback
    reference = (course / "feedback" / "s0_reference" / GRADED / f"{GRADED}.html").read_text()
    assert hidden and not [line for line in hidden if line in html.unescape(re.sub(r"<[^>]+>", "", reference))]
