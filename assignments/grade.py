"""The instructor's grading flow, one short command per step; each step is one nbgrader command.

    python assignments/grade.py release  [ASSIGNMENT ...]    student versions -> release/  (nbgrader generate_assignment)
    python assignments/grade.py collect  ASSIGNMENT HAND_INS  a zip or folder of <student>/<notebook>.ipynb
                                                             -> submitted/  (nbgrader zip_collect)
    python assignments/grade.py autograde ASSIGNMENT         run and score every hand-in -> autograded/, gradebook.db
    python assignments/grade.py export                       all scores -> grades.csv  (nbgrader export)
    python assignments/grade.py feedback ASSIGNMENT          one HTML report per student -> feedback/  (nbgrader generate_feedback)

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
    steps.add_parser("autograde").add_argument("assignment")
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
        return nbgrader(course, "autograde", args.assignment, "--force", *extra)
    if args.step == "export":
        return nbgrader(course, "export", "--to", str(course / "grades.csv"), *extra)
    return nbgrader(course, "generate_feedback", args.assignment, "--force", *extra)


if __name__ == "__main__":
    sys.exit(main())
