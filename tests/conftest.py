"""Test defaults: quick budgets, the shared real data beside the checkout, a cache inside it.

.ci/run sets the same variables explicitly; these defaults make a plain `pytest` behave alike.
Set before any notebook kernel starts, so nbval's kernels inherit them.
"""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("COURSEKIT_QUICK", "1")
os.environ.setdefault("COURSEKIT_CACHE", str(REPO / ".cache"))
if "COURSEKIT_DATA" not in os.environ and SHARED_DATA.is_dir():
    os.environ["COURSEKIT_DATA"] = str(SHARED_DATA)
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = Path(os.environ.get("COURSEKIT_DATA", ""))
    if not (root / "mnist").is_dir():
        pytest.fail(f"real sample data not found at COURSEKIT_DATA={root!s}. The tests do not download: set "
                    "COURSEKIT_DATA to a folder holding mnist/raw/*-ubyte.gz, flowers-102/{jpg/,imagelabels.mat,setid.mat} "
                    "and style/ (the course's sample data; CI uses ../shared/data beside the checkout, found without "
                    "setting anything). See README.md, 'Run the tests'.")
    return root


@pytest.fixture(scope="session")
def flower_photos(data_root) -> list[Path]:
    """Real flower photos from the shared Flowers-102 sample, in a stable order."""
    return sorted((data_root / "flowers-102" / "jpg").glob("image_*.jpg"))


def pytest_terminal_summary(terminalreporter):
    """The bad-input catalogue's table (tests/test_api_catalogue.py), when it ran."""
    import sys
    module = sys.modules.get("test_api_catalogue")
    table = module.catalogue_table() if module is not None else ""
    if table:
        terminalreporter.write_sep("-", "bad-input catalogue (issue 21)")
        terminalreporter.write_line(table)
