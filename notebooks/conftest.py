"""When pytest runs only the notebooks (`pytest notebooks/`), give their kernels the same
defaults as the unit tests: quick budget, the shared real data, a cache inside the checkout."""
import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parents[1] / "tests" / "conftest.py"))
