"""The instructor's grading flow, one short command per step; each step is one nbgrader command.

    python assignments/grade.py release  [ASSIGNMENT ...]    student versions -> release/  (nbgrader generate_assignment)
    python assignments/grade.py collect  ASSIGNMENT HAND_INS  a zip or folder of <student>/<notebook>.ipynb
                                                             -> submitted/  (nbgrader zip_collect)
    python assignments/grade.py autograde ASSIGNMENT         run and score every hand-in, each in a sandbox
                                                             -> autograded/, gradebook.db, suspicion.csv
    python assignments/grade.py export                       all scores -> grades.csv  (nbgrader export), suspicion.csv
    python assignments/grade.py feedback ASSIGNMENT          one HTML report per student -> feedback/  (nbgrader generate_feedback)

Hand-ins are untrusted code: `autograde` runs each one's kernel in a bubblewrap sandbox (sandbox.py)
and refuses when bubblewrap cannot run here, unless `--unsandboxed` is given. Before grading it says
which hand-ins have pasted cells (repeated grade_ids, repaired by the grader); after grading it
writes suspicion.csv, a scan of every hand-in's code for what an answer needs no access to.

Options: `--course DIR` grades another copy of the course folder (default: this file's folder);
anything after `--` goes to nbgrader unchanged, e.g. `-- --Execute.timeout=30`. Settings live in
nbgrader_config.py beside this file. Set COURSEKIT_DATA first if the data sets are not in data/.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import handins  # noqa: E402
import sandbox  # noqa: E402

UNSANDBOXED = """--unsandboxed: student code runs as a plain process with your rights, on this machine:
  it can read source/ (the solutions and hidden tests) and gradebook.db, change any score in it,
  change other students' hand-ins and any file you can write, use the network, and leave
  processes running after grading. Use it only for hand-ins you trust."""


def nbgrader(course: Path, *args: str) -> int:
    """Run `nbgrader ARGS` in the course folder with this Python; return its exit status."""
    env = dict(os.environ)
    # nbgrader creates the gradebook by running the `alembic` executable that came with it:
    # put this Python's bin/ folder first on PATH, so it is found even without an activated venv.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("COURSEKIT_QUICK", "1")
    cmd = [sys.executable, "-m", "nbgrader", *args]
    print("+ nbgrader", " ".join(args), flush=True)
    start = time.perf_counter()
    status = subprocess.run(cmd, cwd=course, env=env).returncode
    print(f"  nbgrader {args[0]} took {time.perf_counter() - start:.1f} s (exit status {status})", flush=True)
    return status


def assignments(course: Path) -> list[str]:
    """The assignments in source/: folders that hold a notebook of the same name."""
    return sorted(p.parent.name for p in (course / "source").glob("*/*.ipynb") if p.stem == p.parent.name)


def release(course: Path, names: list[str], extra: list[str]) -> int:
    status = 0
    for name in names or assignments(course):
        status |= nbgrader(course, "generate_assignment", name, "--force", *extra)
    return status


def collect(course: Path, name: str, hand_ins: Path, extra: list[str]) -> int:
    """Copy a downloaded zip or folder of hand-ins into downloaded/NAME/archive/, then let nbgrader collect it."""
    hand_ins = hand_ins.expanduser().resolve()
    if not hand_ins.exists():
        sys.exit(f"collect: {hand_ins} does not exist. Give a .zip or a folder holding <student>/<notebook>.ipynb.")
    archive = course / "downloaded" / name / "archive"
    shutil.rmtree(archive, ignore_errors=True)
    archive.mkdir(parents=True)
    if hand_ins.is_dir():
        shutil.copytree(hand_ins, archive / hand_ins.name)
    else:
        shutil.copy2(hand_ins, archive)
    return nbgrader(course, "zip_collect", name, "--force", *extra)


def report_pasted_cells(course: Path, name: str) -> None:
    """Say which hand-ins repeat a grade_id (pasted cells); the grader repairs its own copy of them."""
    source = course / "source" / name / f"{name}.ipynb"
    if not source.exists():
        return
    order = handins.instructor_order(handins.nbformat.read(source, as_version=4))
    for path in sorted((course / "submitted").glob(f"*/{name}/{name}.ipynb")):
        try:
            nb = handins.nbformat.read(path, as_version=4)
        except Exception:
            continue            # not a notebook: nbgrader names it
        for line in handins.repair_duplicates(nb, order):   # a copy in memory: submitted/ stays as handed in
            print(f"  repaired pasted cell in {path.parent.parent.name}'s hand-in: {line}", flush=True)


def report_suspicion(course: Path) -> None:
    """Write suspicion.csv (beside grades.csv) and print one line per hand-in with flags."""
    out = course / "suspicion.csv"
    report = handins.write_report(course, out)
    flagged = {k: v for k, v in report.items() if v}
    print(f"suspicion report: {out} ({len(flagged)} of {len(report)} hand-ins flagged; flags are for you "
          "to read, scores are not changed)", flush=True)
    for key, flags in sorted(flagged.items()):
        print(f"  {key}: {handins.summary(flags)}", flush=True)


def autograde(course: Path, name: str, unsandboxed: bool, extra: list[str]) -> int:
    if unsandboxed:
        print(UNSANDBOXED, flush=True)
        os.environ["GRADING_UNSANDBOXED"] = "1"
    else:
        reason = sandbox.problem()
        if reason:
            sys.exit(f"autograde refuses to run student code outside a sandbox: {reason}.\n"
                     "To grade anyway, pass --unsandboxed (read what it exposes first: grade.py autograde --help).")
        os.environ.pop("GRADING_UNSANDBOXED", None)
        print("each hand-in's kernel runs in its own bubblewrap sandbox", flush=True)
    report_pasted_cells(course, name)
    status = nbgrader(course, "autograde", name, "--force", *extra)
    report_suspicion(course)
    return status


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--course", type=Path, default=HERE, help="the course folder (default: %(default)s)")
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("release").add_argument("assignment", nargs="*")
    p = steps.add_parser("collect")
    p.add_argument("assignment")
    p.add_argument("hand_ins", type=Path)
    p = steps.add_parser("autograde", description=UNSANDBOXED.splitlines()[0],
                         formatter_class=argparse.RawDescriptionHelpFormatter, epilog=UNSANDBOXED)
    p.add_argument("assignment")
    p.add_argument("--unsandboxed", action="store_true", help="run hand-ins without the sandbox (see below)")
    steps.add_parser("export")
    steps.add_parser("feedback").add_argument("assignment")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    if not (course / "nbgrader_config.py").exists():
        sys.exit(f"{course} is not a course folder: it has no nbgrader_config.py")

    if args.step == "release":
        return release(course, args.assignment, extra)
    if args.step == "collect":
        return collect(course, args.assignment, args.hand_ins, extra)
    if args.step == "autograde":
        return autograde(course, args.assignment, args.unsandboxed, extra)
    if args.step == "export":
        status = nbgrader(course, "export", "--to", str(course / "grades.csv"), *extra)
        report_suspicion(course)
        return status
    return nbgrader(course, "generate_feedback", args.assignment, "--force", *extra)


if __name__ == "__main__":
    sys.exit(main())
