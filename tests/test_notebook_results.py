"""The committed results a notebook quotes (notebooks/results/*.json) stay in step with the notebook.

1. Every key a notebook reads from a results file exists in it. The keys are found in the notebook's
   code: `x = ck.runtime.load_results("name.json")`, then constant subscript chains on `x` and on
   names bound to a part of it (`c, m = x["collapse"], x["mnist"]`, `for r in x["rows"]`), and the
   constant arguments of one-line lambdas that subscript such a name with their parameter
   (`modes = lambda k: c[k]["modes"]` ... `modes("ring of 8: plain GAN")`).
2. No number measured in a results file is typed into a notebook's prose: the prose says what the
   numbers show, and code prints them from the file (or from the cell's own run).

Static, so it runs in a second: no notebook is executed.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
RESULTS = NOTEBOOKS / "results"
ELEMENT = "[]"   # a path step meaning "every element of this list"


def cells(notebook: Path, kind: str) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == kind]


def code_tree(notebook: Path) -> ast.Module:
    """All code cells as one module (IPython magics and shell lines dropped)."""
    lines = [line for cell in cells(notebook, "code") for line in cell.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return ast.parse("\n".join(lines))


def constant_chain(node: ast.AST, bound: dict[str, tuple[str, list]]) -> tuple[str, list] | None:
    """(results file, key path) of `name["a"]["b"]...` when `name` is bound to a part of a results file."""
    keys = []
    while isinstance(node, ast.Subscript):
        if not (isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
            return None
        keys.append(node.slice.value)
        node = node.value
    if isinstance(node, ast.Name) and node.id in bound:
        file, path = bound[node.id]
        return file, path + keys[::-1]
    return None


def names_in(target: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


class KeyReads(ast.NodeVisitor):
    """Walks the notebook's code in order, tracking which names hold (a part of) a results file."""

    def __init__(self):
        self.bound: dict[str, tuple[str, list]] = {}     # name -> (results file, key path)
        self.lambdas: dict[str, list] = {}               # lambda name -> [(parameter position, chain)]
        self.reads: list[tuple[str, list]] = []

    def bind(self, target: ast.AST, value: ast.AST | None) -> None:
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
            for t, v in zip(target.elts, value.elts):
                self.bind(t, v)
            return
        for name in names_in(target):
            self.bound.pop(name, None)
            self.lambdas.pop(name, None)
        if not isinstance(target, ast.Name) or value is None:
            return
        if (isinstance(value, ast.Call) and getattr(value.func, "attr", "") == "load_results" and value.args
                and isinstance(value.args[0], ast.Constant)):
            self.bound[target.id] = (value.args[0].value, [])
        elif (chain := constant_chain(value, self.bound)) is not None:
            self.bound[target.id] = chain
        elif isinstance(value, ast.Lambda):
            params = [a.arg for a in value.args.args]
            for sub in ast.walk(value.body):
                if (isinstance(sub, ast.Subscript) and isinstance(sub.slice, ast.Name) and sub.slice.id in params
                        and (chain := constant_chain(sub.value, self.bound)) is not None):
                    self.lambdas.setdefault(target.id, []).append((params.index(sub.slice.id), chain))

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.bind(target, node.value)

    def loop(self, target: ast.AST, iterable: ast.AST, body: list[ast.AST]) -> None:
        """Visit `body` with `target` bound to the elements of `iterable` (when it is a constant chain)."""
        saved = {name: self.bound.get(name) for name in names_in(target)}
        self.bind(target, None)
        if isinstance(target, ast.Name) and (chain := constant_chain(iterable, self.bound)) is not None:
            self.bound[target.id] = (chain[0], chain[1] + [ELEMENT])
        for node in body:
            self.visit(node)
        for name, value in saved.items():
            self.bound.pop(name, None)
            if value is not None:
                self.bound[name] = value

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self.loop(node.target, node.iter, node.body + node.orelse)

    def visit_comprehension_like(self, node, parts: list[ast.AST]) -> None:
        generator, *rest = node.generators
        self.visit(generator.iter)
        inner = type(node)(**{**{f: getattr(node, f) for f in node._fields}, "generators": rest}) if rest else None
        self.loop(generator.target, generator.iter, [*generator.ifs, *([inner] if inner else parts)])

    def visit_ListComp(self, node):
        self.visit_comprehension_like(node, [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node):
        self.visit_comprehension_like(node, [node.key, node.value])

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if (chain := constant_chain(node, self.bound)) is not None and chain[1]:
            self.reads.append(chain)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in self.lambdas:
            for position, (file, path) in self.lambdas[node.func.id]:
                arg = node.args[position] if position < len(node.args) else None
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    self.reads.append((file, path + [arg.value]))
        self.generic_visit(node)


def keys_read(notebook: Path) -> list[tuple[str, list]]:
    """Every (results file, key path) the notebook's code reads with constant keys."""
    visitor = KeyReads()
    visitor.visit(code_tree(notebook))
    return visitor.reads


def missing(data, path: list) -> str | None:
    """None if `path` exists in `data` (for every element where the path says so), else where it breaks."""
    for i, key in enumerate(path):
        if key == ELEMENT:
            if not isinstance(data, list) or not data:
                return "/".join(map(str, path[:i])) + " is not a non-empty list"
            for element in data:
                if (broken := missing(element, path[i + 1:])) is not None:
                    return broken
            return None
        if not isinstance(data, dict) or key not in data:
            return "/".join(map(str, path[: i + 1]))
        data = data[key]
    return None


def quoting_notebooks() -> list[Path]:
    return [nb for nb in sorted(NOTEBOOKS.glob("*.ipynb")) if "load_results" in nb.read_text()]


@pytest.mark.parametrize("notebook", quoting_notebooks(), ids=lambda p: p.name)
def test_every_results_key_a_notebook_reads_exists(notebook):
    reads = keys_read(notebook)
    assert reads, f"{notebook.name} calls load_results but no constant key read was found: is the parser out of date?"
    broken = []
    for file, path in reads:
        data = json.loads((RESULTS / file).read_text())
        if (where := missing(data, path)) is not None:
            broken.append(f"{file}: {where}")
    assert broken == [], f"{notebook.name} reads keys its results file lacks (re-run the benchmark or fix the notebook): {broken}"


# Keys that hold settings or bookkeeping, not measurements: their numbers may appear in prose.
NOT_MEASURED = {"settings", "budgets", "toy", "size", "width", "epochs", "seeds", "seed", "steps", "batch", "photos",
                "of_modes", "threads", "torch_threads", "lr", "beta1", "batch_size", "d_steps", "load_average_1min",
                "stage_steps", "fade", "eval_points", "eval_digits", "history"}


def measured_numbers(data, key: str = "") -> set[float]:
    if key in NOT_MEASURED:
        return set()
    if isinstance(data, dict):
        return set().union(*(measured_numbers(v, k) for k, v in data.items())) if data else set()
    if isinstance(data, list):
        return set().union(*(measured_numbers(v, key) for v in data)) if data else set()
    if isinstance(data, float) and data != int(data):
        return {data}
    return set()


def spellings(value: float) -> set[str]:
    """The ways prose would quote a measured value, keeping only those with 3+ significant digits."""
    out = set()
    for decimals in (0, 1, 2, 3):
        text = f"{abs(value):.{decimals}f}"
        if len(text.replace(".", "").lstrip("0")) >= 3 and float(text) != 0:
            out.add(text)
    return out


# A whole number followed by one of these words is a count or a setting ("128 digits"), not a quoted result.
COUNTS = r"\s+(?:digits|images|photos|steps|samples|epochs|px|pixels|channels|classes|modes|seeds|runs|layers)\b"


def test_measured_results_are_not_typed_into_prose():
    quoted = []
    for notebook in quoting_notebooks():
        files = {file for file, _ in keys_read(notebook)}
        numbers = set().union(*(measured_numbers(json.loads((RESULTS / f).read_text())) for f in files))
        prose = "\n".join(cells(notebook, "markdown"))
        for value in numbers:
            for text in spellings(value):
                after = rf"(?!{COUNTS})" if "." not in text else ""
                if re.search(rf"(?<![\d.,]){re.escape(text)}(?![\d]){after}", prose):
                    quoted.append(f"{notebook.name}: {text} (measured {value})")
    assert quoted == [], f"measured numbers typed into prose (print them from the results file instead): {sorted(set(quoted))}"
