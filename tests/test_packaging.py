"""What a non-editable install (Colab's `pip install git+...`) carries: every subpackage, the
measuring sticks, the committed results and the quizzes the lessons read."""
import subprocess
import sys
import zipfile
from pathlib import Path

import coursekit as ck

REPO = Path(__file__).resolve().parents[1]


def test_the_wheel_carries_what_the_lessons_read(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
                   check=True, capture_output=True)
    names = set(zipfile.ZipFile(next(tmp_path.glob("coursekit-*.whl"))).namelist())
    subpackages = {p.parent.relative_to(REPO).as_posix() for p in (REPO / "coursekit").rglob("__init__.py")}
    for package in subpackages:  # pyproject.toml lists the packages by hand: none may be forgotten
        assert f"{package}/__init__.py" in names, f"{package} is missing from pyproject.toml's packages list"
    for path in [*(REPO / "notebooks" / "results").iterdir(), *(REPO / "notebooks" / "quizzes").glob("*.json")]:
        packaged = {"results": "lesson_results", "quizzes": "quizzes"}[path.parent.name]
        assert f"coursekit/{packaged}/{path.name}" in names, f"{path.relative_to(REPO)} does not ship with coursekit"
    for weights in (REPO / "coursekit" / "weights").glob("*.pt"):
        assert f"coursekit/weights/{weights.name}" in names


def test_results_are_read_from_the_clone_or_the_package():
    assert ck.runtime.results_file("lesson3_results.json").is_file()
    assert ck.runtime.load_results("lesson3_results.json")["budget"]
    try:
        ck.runtime.results_file("no_such_lesson.json")
    except ck.DataError as err:
        assert "no_such_lesson.json" in str(err) and "lesson3_results.json" in str(err)
    else:
        raise AssertionError("a missing results file must raise DataError")
