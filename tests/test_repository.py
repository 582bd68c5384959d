"""The repository keeps its promises: clean notebooks, one setup cell, links from one URL, CI = README."""
import json
import re
from pathlib import Path

import coursekit as ck

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:1] == ["00_setup.ipynb"]


def test_notebooks_are_committed_without_outputs():
    for nb in NOTEBOOKS:
        for cell in code_cells(nb):
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"{nb.name} has outputs: clear them"


def test_every_notebook_starts_with_the_same_setup_cell():
    expected = ck.runtime.setup_cell_source()
    for nb in NOTEBOOKS:
        assert "".join(code_cells(nb)[0]["source"]) == expected, f"{nb.name}: setup cell differs"


def test_readme_links_every_notebook_to_colab_from_the_one_repo_url():
    readme = (REPO / "README.md").read_text()
    for nb in NOTEBOOKS:
        assert ck.runtime.colab_url(f"notebooks/{nb.name}") in readme, f"README lacks a Colab link for {nb.name}"
    for url in re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", readme):
        assert url.startswith(ck.runtime.REPO_URL), f"README names another repository: {url}"


def test_ci_runs_exactly_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    command = re.search(r"^TEST_COMMAND='(.+)'$", ci, re.M).group(1)
    assert f"\n{command}\n" in (REPO / "README.md").read_text()


def test_data_folder_commits_only_readme_and_gitignore():
    ignore = (REPO / "data" / ".gitignore").read_text().split()
    assert ignore[ignore.index("*"):] == ["*", "!.gitignore", "!README.md"]
