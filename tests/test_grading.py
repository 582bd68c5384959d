"""The instructor flow of assignments/README.md, run offline in a temporary copy of the course folder.

One assignment (1, the GAN step) is graded for two classes of hand-ins, each kernel in its sandbox:
- one that misbehaves by accident: the reference solution, the unmodified release, and five that
  raise, never finish, tamper with the tests, print megabytes, do not parse;
- one you cannot trust: a solution-stealer, a gradebook forger, a tamperer with another student's
  hand-in and the instructor's files, a background-process starter, a stub that is "equal to
  everything", an honest student with pasted cells, and two other honest students.
Every other assignment's solution notebook is executed once, and its release once, to check that
no test passes without the student's code.
"""
from __future__ import annotations

import csv
import hashlib
import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest


REPO = Path(__file__).resolve().parents[1]
COURSE = REPO / "assignments"
ASSIGNMENTS = sorted(p.parent.name for p in (COURSE / "source").glob("*/*.ipynb") if p.stem == p.parent.name)
GRADED = "a1_gan_training"          # the assignment graded for a whole class below
TIMEOUT = 25                        # per-cell limit in the test run (reference cells: at most 14 s on 2 busy cores)
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
COURSE_FILES = ("source", "nbgrader_config.py", "grade.py", "sandbox.py", "handins.py")
sys.path.insert(0, str(COURSE))
import handins  # noqa: E402  (assignments/handins.py)
import sandbox  # noqa: E402  (assignments/sandbox.py)


def grade(course: Path, *args: str, ok: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """One step of the README's flow: `python grade.py --course COURSE ARGS`, output captured."""
    proc = subprocess.run([sys.executable, str(course / "grade.py"), "--course", str(course), *args],
                          capture_output=True, text=True, timeout=900, env=env)
    if ok:
        assert proc.returncode == 0, f"grade.py {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def new_course(tmp_path_factory, names=None) -> Path:
    """A fresh copy of the course folder (sources, config, scripts) with the assignments released."""
    assert ASSIGNMENTS, "no assignments found in assignments/source/"
    if importlib.util.find_spec("nbgrader") is None:
        pytest.fail("nbgrader is not installed: the grading tests need the instructor extra, "
                    "pip install -e '.[instructor]' (the README's test command installs it)", pytrace=False)
    reason = sandbox.problem()
    if reason:
        pytest.fail(f"the grading sandbox cannot run here: {reason} (CI installs it in .ci/run)", pytrace=False)
    root = tmp_path_factory.mktemp("course")
    for name in COURSE_FILES:
        src = COURSE / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / name)
    grade(root, "release", *(names or []))
    return root


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return new_course(tmp_path_factory)


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
    # (lines that the release or the reference hand-in itself holds, e.g. `loss_d.backward()`, do not count)
    public = (course / "release" / GRADED / f"{GRADED}.ipynb").read_text() + \
        (course / "submitted" / "s0_reference" / GRADED / f"{GRADED}.ipynb").read_text()
    hidden = [line.strip() for block in marked_blocks(nbformat.read(COURSE / "source" / GRADED / f"{GRADED}.ipynb",
                                                                    as_version=4), *MARKERS[2:])
              for line in block.splitlines() if len(line.strip()) > 12 and json.dumps(line.strip())[1:-1] not in public]
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


# ---------------------------------------------------------------- a class you cannot trust
# Each hostile hand-in is the release (or the reference solution) plus one ordinary cell of its own,
# run right after the imports. It prints what it found (lines starting with SAW), which the test
# reads back from its graded notebook. {course} is the real course folder and {marker} a string
# that every process it starts carries in its command line, so survivors can be found afterwards.
STEALER = r'''
import json, os
course, saw, found = {course!r}, [], None
d = os.getcwd()
while True:                                              # walk up from where the kernel runs
    try:
        entries = sorted(os.listdir(d))
    except OSError as err:
        entries = [type(err).__name__]
    saw.append(f"{{d}}: {{entries[:6]}}")
    if "source" in entries or "gradebook.db" in entries:
        found = d
        break
    if d == "/":
        break
    d = os.path.dirname(d)
for path in (course, os.path.join(course, "source"), os.path.join(course, "gradebook.db")):
    saw.append(f"{{path}}: exists={{os.path.exists(path)}}")
    if os.path.isdir(os.path.join(path, "source")):
        found = path
print("SAW", "; ".join(saw))
if found:                                                # run the instructor's solution cells
    nb = json.load(open(os.path.join(found, "source", "a1_gan_training", "a1_gan_training.ipynb")))
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {{}}).get("solution"):
            exec("".join(cell["source"]), globals())
    print("SAW solutions taken from", found)
'''

FORGER = r'''
import os, subprocess, sys
db = os.path.join({course!r}, "gradebook.db")
forge = """
import sqlite3, sys, time
for _ in range(240):    # keeps rewriting its own rows to full marks, after its kernel has ended
    try:
        con = sqlite3.connect(sys.argv[1])
        con.execute("update grade set auto_score = (select max_score from grade_cells where grade_cells.id = grade.cell_id), "
                    "needs_manual_grade = 0 where notebook_id in (select sn.id from submitted_notebook sn join "
                    "submitted_assignment sa on sn.assignment_id = sa.id where sa.student_id = 'h2_forger')")
        con.commit(); con.close()
    except Exception:
        pass
    time.sleep(0.25)
"""
proc = subprocess.Popen([sys.executable, "-c", forge, db, {marker!r}], start_new_session=True,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("SAW", f"gradebook {{db}} exists={{os.path.exists(db)}}; forger started as pid {{proc.pid}}")
'''

TAMPERER = r'''
import glob, os
course, saw = {course!r}, []
pattern = os.path.join(course, "submitted", "*", "a1_gan_training", "a1_gan_training.ipynb")
others = {{os.path.realpath(p) for p in glob.glob(pattern) + glob.glob("../../../submitted/*/*/*.ipynb")
          if "h3_tamperer" not in p}}
for path in sorted(others):                              # every other student's G loss made wrong
    try:
        text = open(path).read()
        open(path, "w").write(text.replace("torch.ones_like(logits))", "torch.zeros_like(logits))"))
        saw.append(f"rewrote {{path}}")
    except OSError as err:
        saw.append(f"{{path}}: {{type(err).__name__}}")
for path in (os.path.join(course, "source", "a1_gan_training", "a1_gan_training.ipynb"), os.path.join(course, "grade.py")):
    try:
        with open(path, "a") as f:
            f.write("\n")
        saw.append(f"appended to {{path}}")
    except OSError as err:
        saw.append(f"{{path}}: {{type(err).__name__}}")
print("SAW", f"{{len(others)}} other hand-ins found;", "; ".join(saw) or "nothing to write")
'''

BACKGROUND = r'''
import subprocess, sys
proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(900)", {marker!r}], start_new_session=True)
open("survivor.pid", "w").write(str(proc.pid))
print("SAW", f"started a sleeper, pid {{proc.pid}} in its PID namespace; my uid {{__import__('os').getuid()}}")
'''

STUB = r'''
class Anything:
    """Equal to everything, every attribute and call is itself again."""
    shape = ()
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    __le__ = __gt__ = __ge__ = __lt__
    def __getattr__(self, name): return self
    def __call__(self, *args, **kwargs): return self
    def __add__(self, other): return self
    __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __add__
    def __neg__(self): return self
    __abs__ = __neg__
    def __bool__(self): return True
    def __float__(self): return 0.0
    def __format__(self, spec): return "0.000"
    def __iter__(self): return iter(())
    __hash__ = object.__hash__


class Discriminator(nn.Module):
    def __init__(self, hidden=(1024, 512, 256)):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1_460_225))

    def forward(self, x):
        return Anything()


def discriminator_loss(D, real, fake, real_label=0.9):
    return Anything()


def generator_loss(D, fake):
    return Anything()


def train_step(G, D, opt_g, opt_d, real, z, real_label=0.9):
    G(z)                                                 # G called once, as the spy wants
    for p in list(G.parameters()) + list(D.parameters()):
        p.data.add_(1e-3)                                # every parameter "updated"
    return Anything(), Anything()
print("SAW", "stub answers in place")
'''

HOSTILE_EXPECTED = {
    "h0_honest": 9,           # the reference solution
    "h1_stealer": 0,          # empty answers, its first one looks for the solutions: found none to take
    "h2_forger": 0,           # empty answers; its forger could not reach the gradebook and died with its kernel
    "h3_tamperer": 9,         # a correct solution; its writes to others' hand-ins and source/ failed
    "h4_background": 9,       # a correct solution; its sleeper died with its kernel
    "h5_stub": 0,             # objects equal to everything, a train step that calls G once
    "h6_pasted": 9,           # the reference with a pasted test cell and a pasted answer cell
    "h7_honest_later": 9,     # graded after the tamperer
}


def hostile_hand_ins(course: Path, marker: str) -> dict[str, nbformat.NotebookNode]:
    source = nbformat.read(course / "source" / GRADED / f"{GRADED}.ipynb", as_version=4)
    for cell in source.cells:
        cell.source = strip_markers(cell.source)
    release = nbformat.read(course / "release" / GRADED / f"{GRADED}.ipynb", as_version=4)

    def copy(nb):
        return nbformat.from_dict(json.loads(json.dumps(nb)))

    def with_cell(nb, code: str, after: str = "a1-imports"):
        nb = copy(nb)
        at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == after)
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(code.format(course=str(course), marker=marker).strip()))
        return nb

    def pasted(nb):
        nb = copy(nb)
        by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
        ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
        # a copy of G's loss test pasted above the discriminator, a copy of D's loss answer at the end
        pasted_cells = [copy(by_id["test_g_loss"]), copy(by_id["d_loss"])]
        for cell in pasted_cells:
            cell.id = uuid.uuid4().hex[:8]       # Jupyter gives a pasted cell a new id, but keeps its metadata
        nb.cells.insert(ids.index("discriminator"), pasted_cells[0])
        nb.cells.append(pasted_cells[1])
        assert handins.duplicates(nb), "the pasted hand-in must repeat grade_ids"
        return nb

    def stealer(nb):
        nb = copy(nb)       # empty answers; the first one runs the stealing code, so nothing overrides what it took
        answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]
        for cell in answers:
            cell.source = "# I did not write this part"
        answers[0].source = STEALER.format(course=str(course), marker=marker).strip()
        return nb

    return {"h0_honest": copy(source), "h1_stealer": stealer(release),
            "h2_forger": with_cell(release, FORGER), "h3_tamperer": with_cell(source, TAMPERER),
            "h4_background": with_cell(source, BACKGROUND), "h5_stub": with_cell(release, STUB, after="train_step"),
            "h6_pasted": pasted(source), "h7_honest_later": copy(source)}


GRADER_OUTPUTS = {"autograded", "feedback", "gradebook.db", "grades.csv", "suspicion.csv", ".nbgrader.log", "__pycache__"}


def tree_hashes(course: Path) -> dict[str, str]:
    """relative path -> sha256 of every file in the course folder outside the grader's own outputs."""
    return {str(p.relative_to(course)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(course.rglob("*"))
            if p.is_file() and not GRADER_OUTPUTS & set(p.relative_to(course).parts)}


def processes_with(marker: str) -> list[str]:
    """The command lines of running processes that carry `marker` (a scan of /proc, no psutil)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and proc.name != str(os.getpid()):
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline:
                found.append(f"{proc.name}: {cmdline[:120]}")
    return found


def saw(path: Path) -> list[str]:
    """The SAW lines a hand-in printed while it was graded."""
    nb = nbformat.read(path, as_version=4)
    return [line for cell in nb.cells for out in cell.get("outputs", []) if out.output_type == "stream"
            for line in out.text.splitlines() if line.startswith("SAW")]


@pytest.fixture(scope="module")
def hostile_course(tmp_path_factory) -> Path:
    return new_course(tmp_path_factory, [GRADED])


def test_a_hostile_class_gets_what_its_own_code_earns_and_leaves_nothing_behind(hostile_course, tmp_path):
    course, marker = hostile_course, f"hostile-hand-in-{uuid.uuid4().hex}"
    hand_in_dir = tmp_path / "hand-ins"
    for student, nb in hostile_hand_ins(course, marker).items():
        (hand_in_dir / student).mkdir(parents=True)
        nbformat.write(nb, hand_in_dir / student / f"{GRADED}.ipynb")
    grade(course, "collect", GRADED, str(hand_in_dir))
    before = tree_hashes(course)
    assert any(k.startswith("submitted/") for k in before) and any(k.startswith("source/") for k in before)

    start = time.perf_counter()
    out = grade(course, "autograde", GRADED, "--", f"--Execute.timeout={TIMEOUT}").stdout
    seconds = time.perf_counter() - start
    time.sleep(3)                  # a forger that survived would have rewritten its rows by now
    grade(course, "export")
    grade(course, "feedback", GRADED)

    with open(course / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f) if r["assignment"] == GRADED}
    scores = {s: float(r["score"]) for s, r in rows.items()}
    graded = {s: course / "autograded" / s / GRADED / f"{GRADED}.ipynb" for s in HOSTILE_EXPECTED}
    seen = {s: saw(graded[s]) for s in HOSTILE_EXPECTED if graded[s].exists()}
    table = "\n".join(f"{s:18s} {scores.get(s, float('nan')):4.1f} / 9   {' | '.join(seen.get(s, []))[:400]}"
                      for s in HOSTILE_EXPECTED)
    print(f"\nsandboxed autograde of {len(rows)} hand-ins took {seconds:.1f} s ({seconds / len(rows):.1f} s each)\n{table}")
    assert scores == {s: float(v) for s, v in HOSTILE_EXPECTED.items()}, f"scores differ from the expected ones:\n{table}"
    assert seconds < 300, f"grading {len(rows)} hand-ins took {seconds:.0f} s (limit 300 s)"

    # nothing outside the grader's outputs changed: source/, release/, submitted/, the scripts
    after = tree_hashes(course)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"files changed by grading: {changed}"
    # nothing a hand-in started is still running
    assert not processes_with(marker), f"processes of hand-ins survived grading: {processes_with(marker)}"
    # the score in the gradebook is the one the graded notebook shows: the forger's tests all failed
    forged = nbformat.read(graded["h2_forger"], as_version=4)
    failed = [c.metadata.nbgrader["grade_id"] for c in forged.cells if c.metadata.get("nbgrader", {}).get("grade")
              and any(o.output_type == "error" for o in c.get("outputs", []))]
    assert len(failed) == 4, f"the forger's graded notebook should show 4 failing tests, shows {failed}"
    # what the hostile hand-ins saw: none of the course folder
    assert "exists=False" in " ".join(seen["h1_stealer"]) and "exists=True" not in " ".join(seen["h1_stealer"])
    assert "solutions taken" not in " ".join(seen["h1_stealer"])
    assert "exists=False" in " ".join(seen["h2_forger"])
    assert "0 other hand-ins found" in " ".join(seen["h3_tamperer"]), seen["h3_tamperer"]
    # the pasted cells were repaired and reported; the suspicion report flags the hostile code only
    assert "repaired pasted cell in h6_pasted's hand-in" in out, out[-2000:]
    with open(course / "suspicion.csv", newline="") as f:
        flags: dict[str, set[str]] = {}
        for r in csv.DictReader(f):
            flags.setdefault(r["student_id"], set()).add(r["category"])
    print("suspicion report:", {s: sorted(c) for s, c in sorted(flags.items())})
    for honest in ("h0_honest", "h6_pasted", "h7_honest_later"):
        assert flags[honest] == {"-"}, f"{honest} should have nothing flagged, has {flags[honest]}"
    assert "file access" in flags["h1_stealer"] and "get_ipython() / introspection" in flags["h1_stealer"]
    assert {"process access", "file access"} <= flags["h2_forger"]
    assert "file access" in flags["h3_tamperer"]
    assert "process access" in flags["h4_background"]


def test_autograde_refuses_without_a_sandbox_unless_told(hostile_course):
    env = dict(os.environ, GRADING_BWRAP="/nonexistent/bwrap")
    proc = grade(hostile_course, "autograde", GRADED, ok=False, env=env)
    assert proc.returncode != 0 and "bubblewrap" in proc.stderr and "apt-get install bubblewrap" in proc.stderr, proc.stderr
    assert "--unsandboxed" in proc.stderr
    assert "gradebook.db" in grade(hostile_course, "autograde", "--help").stdout   # what --unsandboxed exposes


def test_pasted_cells_keep_the_original_and_the_scan_flags_what_a_hand_in_needs_no_access_to():
    nb = nbformat.v4.new_notebook()
    meta = [{"grade_id": g, "grade": g.startswith("test"), "solution": not g.startswith("test"), "locked": False}
            for g in ("a", "test_a", "b", "test_b")]
    nb.cells = [nbformat.v4.new_code_cell(f"# {m['grade_id']}", metadata={"nbgrader": dict(m)}) for m in meta]
    nb.cells.insert(0, nbformat.v4.new_code_cell("# pasted", metadata={"nbgrader": dict(meta[3])}))  # test_b above a
    nb.cells.append(nbformat.v4.new_code_cell("# pasted", metadata={"nbgrader": dict(meta[0])}))     # a at the end
    done = handins.repair_duplicates(nb, ["a", "test_a", "b", "test_b"])
    assert len(done) == 2 and not handins.duplicates(nb)
    assert [c.source for c in nb.cells if "nbgrader" in c.metadata] == ["# a", "# test_a", "# b", "# test_b"]

    def categories(code):
        return {category for _, category, _ in handins.scan_code(code)}
    assert categories("import torch\nx = torch.zeros(3).sum()\ndef f(sum=0):\n    sum = 1\n    return sum") == set()
    assert categories("torch.equal = lambda a, b: True") == {"rebinds a module attribute"}
    assert categories("isinstance = lambda *a: True") == {"rebinds a builtin"}
    assert categories("import sys\nsys.modules['torch'] = None") >= {"edits sys.modules"}
    assert categories("print(open('/etc/passwd').read())") == {"file access"}
    assert categories("import subprocess\nsubprocess.Popen(['sleep', '9'])") == {"process access"}
    assert categories("get_ipython().showtraceback = print") >= {"get_ipython() / introspection"}
    assert categories("!ls ..") == {"get_ipython() / introspection"}
    assert categories("def f(:") == {"does not parse"}
    protected, imports = frozenset({"real", "torch", "sys", "F"}), frozenset({("torch", "torch"), ("sys", "sys"),
                                                                             ("F", "torch.nn.functional")})
    assert not handins.scan_code("import torch, sys\nimport torch.nn.functional as F", protected, imports)
    assert {c for _, c, _ in handins.scan_code("real = torch.zeros(3)", protected, imports)} == {"rebinds a name the tests use"}
    assert {c for _, c, _ in handins.scan_code("import numpy as torch", protected, imports)} == {"rebinds a name the tests use"}
