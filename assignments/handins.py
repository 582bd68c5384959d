"""Checks on hand-ins before and after grading: pasted cells (duplicate grade_ids) and suspicious code.

- `repair_duplicates(nb, order)`: copy and paste in Jupyter keeps a cell's nbgrader metadata, so a
  pasted cell repeats a grade_id and nbgrader cannot grade the notebook. The copy that sits where
  the instructor's notebook has that cell is kept; the others become ordinary cells (their
  nbgrader metadata removed, their code kept). Used by the grader (nbgrader_config.py), and by
  grade.py to tell the instructor which hand-ins were repaired.
- `suspicion(nb, instructor_sources)`: a static scan of the code a student wrote for what a hand-in
  needs no access to: rebinding builtins or attributes of torch/numpy/..., sys.modules edits, file
  and process access, get_ipython() and introspection. It flags, for the instructor to read; it
  never changes a score.
"""
from __future__ import annotations

import ast
import builtins
import csv
from pathlib import Path

import nbformat

BUILTINS = set(dir(builtins))
MODULE_NAMES = {"torch", "nn", "F", "np", "numpy", "math", "ck", "coursekit", "builtins", "sys", "os", "plt",
                "random", "matplotlib", "torchvision", "IPython", "functools", "operator", "types", "nbgrader"}
FILE_MODULES = {"os", "pathlib", "shutil", "glob", "io", "tempfile", "sqlite3", "fnmatch", "zipfile", "tarfile"}
PROCESS_MODULES = {"subprocess", "multiprocessing", "signal", "ctypes", "pty", "socket", "threading", "asyncio",
                   "concurrent", "resource", "urllib", "http", "requests"}
INTROSPECTION_MODULES = {"IPython", "ipykernel", "inspect", "gc", "importlib", "builtins", "traceback", "nbgrader"}
FILE_CALLS = {"open", "Path", "listdir", "walk", "scandir", "remove", "unlink", "rename", "replace", "chdir",
              "rmtree", "copy", "copyfile", "makedirs", "mkdir", "glob", "rglob", "read_text", "write_text",
              "read_bytes", "write_bytes", "connect"}
PROCESS_CALLS = {"system", "popen", "Popen", "run", "fork", "kill", "killpg", "spawnv", "execv", "execvp",
                 "setsid", "daemon", "_exit", "check_output", "call"}
INTROSPECTION_CALLS = {"get_ipython", "exec", "eval", "compile", "__import__", "globals", "locals", "vars",
                       "setattr", "delattr", "_getframe", "getattr"}
CATEGORIES = ("rebinds a builtin", "rebinds a module attribute", "rebinds a name the tests use", "edits sys.modules",
              "file access", "process access", "get_ipython() / introspection", "does not parse")


# ---------------------------------------------------------------- pasted cells
def grade_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader") or {}
    if meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task"):
        return meta.get("grade_id")
    return None


def duplicates(nb) -> dict[str, list[int]]:
    """grade_id -> indices of its cells, for every grade_id that appears more than once."""
    where: dict[str, list[int]] = {}
    for i, cell in enumerate(nb.cells):
        gid = grade_id(cell)
        if gid is not None:
            where.setdefault(gid, []).append(i)
    return {gid: cells for gid, cells in where.items() if len(cells) > 1}


def repair_duplicates(nb, order: list[str]) -> list[str]:
    """Keep one cell per grade_id, the others become ordinary cells; returns what was done (in place).

    `order` is the instructor's sequence of grade_ids. Of the copies of one id, the one kept agrees
    best with that order: the most cells with a unique id before it that come before it in `order`,
    and after it that come after it (ties: the first copy).
    """
    dups = duplicates(nb)
    if not dups:
        return []
    rank = {gid: r for r, gid in enumerate(order)}
    unique = [(i, rank[grade_id(c)]) for i, c in enumerate(nb.cells)
              if grade_id(c) in rank and grade_id(c) not in dups]
    done = []
    for gid, cells in dups.items():
        r = rank.get(gid)

        def agreement(i: int) -> int:
            if r is None:
                return 0
            return sum(1 for j, rj in unique if (j < i and rj < r) or (j > i and rj > r))
        keep = max(cells, key=lambda i: (agreement(i), -i))
        for i in cells:
            if i != keep:
                del nb.cells[i].metadata["nbgrader"]
        copies = ", ".join(str(i) for i in cells if i != keep)
        done.append(f"grade_id {gid!r} appears {len(cells)} times: kept cell {keep}, "
                    f"cell{'s' if len(cells) > 2 else ''} {copies} made ordinary")
    return done


def instructor_order(nb) -> list[str]:
    return [gid for gid in (grade_id(c) for c in nb.cells) if gid is not None]


# ---------------------------------------------------------------- suspicious code
def _python(source: str) -> str:
    """Cell source as Python: IPython's `%magic` and `!shell` lines become get_ipython() calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:
        return source


def _root(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _imported(node) -> list[tuple[str, str]]:
    """(name bound, module or object it stands for) for each alias of an import statement."""
    if isinstance(node, ast.ImportFrom):
        return [(a.asname or a.name, f"{node.module}.{a.name}") for a in node.names]
    return [(a.asname, a.name) if a.asname else (a.name.split(".")[0], a.name.split(".")[0]) for a in node.names]


def bound_names(source: str) -> tuple[set[str], set[tuple[str, str]]]:
    """The names a cell binds at its top level, and what its imports bind them to."""
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return set(), set()
    names, imports = set(), set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.update(_imported(node))
            names.update(name for name, _ in _imported(node))
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
    return names, imports


def scan_code(source: str, protected: frozenset[str] = frozenset(), imports: frozenset[tuple[str, str]] = frozenset()
              ) -> list[tuple[int, str, str]]:
    """(line, category, code) for each suspicious construct in one cell's code. `protected`: names the
    instructor's locked cells bound before this cell (the tests rely on them); `imports`: (name,
    module) as the instructor's imports bind them (importing the same again is harmless)."""
    code = _python(source)
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        return [(err.lineno or 0, "does not parse", (err.text or "").strip())]
    lines = code.splitlines()
    found: list[tuple[int, str, str]] = []

    def flag(node, category: str) -> None:
        line = getattr(node, "lineno", 0)
        found.append((line, category, lines[line - 1].strip()[:120] if 0 < line <= len(lines) else ""))

    def stores(target):
        for node in ast.walk(target):
            if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)):
                yield node

    def visit(node, in_function: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if not in_function and node.name in BUILTINS:
                flag(node, "rebinds a builtin")
            if not in_function and node.name in protected:
                flag(node, "rebinds a name the tests use")
            for child in ast.iter_child_nodes(node):
                visit(child, True)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for mod in mods:
                top = mod.split(".")[0]
                if top in FILE_MODULES:
                    flag(node, "file access")
                if top in PROCESS_MODULES:
                    flag(node, "process access")
                if top in INTROSPECTION_MODULES:
                    flag(node, "get_ipython() / introspection")
            for name, target in _imported(node):
                if not in_function and name in BUILTINS:
                    flag(node, "rebinds a builtin")
                if not in_function and name in protected and (name, target) not in imports:
                    flag(node, "rebinds a name the tests use")
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete, ast.For, ast.With,
                             ast.NamedExpr)):
            targets = (node.targets if isinstance(node, (ast.Assign, ast.Delete)) else
                       [i.optional_vars for i in node.items if i.optional_vars] if isinstance(node, ast.With) else
                       [node.target])
            for target in targets:
                for t in stores(target):
                    if isinstance(t, ast.Name) and t.id in BUILTINS and not in_function:
                        flag(node, "rebinds a builtin")
                    elif isinstance(t, ast.Name) and t.id in protected and not in_function:
                        flag(node, "rebinds a name the tests use")
                    elif isinstance(t, (ast.Attribute, ast.Subscript)):
                        root = _root(t)
                        if _dotted(t.value if isinstance(t, ast.Subscript) else t).startswith("sys.modules") or \
                                (isinstance(t, ast.Subscript) and _dotted(t.value) == "sys.modules"):
                            flag(node, "edits sys.modules")
                        elif root in MODULE_NAMES or root == "__builtins__" or root in BUILTINS:
                            flag(node, "rebinds a module attribute")
        if isinstance(node, ast.Global) and any(n in BUILTINS for n in node.names):
            flag(node, "rebinds a builtin")
        if isinstance(node, ast.Global) and any(n in protected for n in node.names):
            flag(node, "rebinds a name the tests use")
        if isinstance(node, ast.Attribute) and _dotted(node) == "sys.modules":
            flag(node, "edits sys.modules")
        if isinstance(node, ast.Name) and node.id in ("__builtins__", "In", "Out", "_ih", "_oh"):
            flag(node, "get_ipython() / introspection")
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else \
                node.func.attr if isinstance(node.func, ast.Attribute) else None
            root = _root(node.func)
            if name in FILE_CALLS and (name == "open" or root in FILE_MODULES or name in {"Path", "rglob", "glob",
                                                                                          "read_text", "write_text",
                                                                                          "rmtree", "connect"}):
                flag(node, "file access")
            if name in PROCESS_CALLS and root in (PROCESS_MODULES | {"os"}):
                flag(node, "process access")
            if name in INTROSPECTION_CALLS:
                flag(node, "get_ipython() / introspection")
        for child in ast.iter_child_nodes(node):
            visit(child, in_function)

    visit(tree, False)
    seen, unique = set(), []
    for item in found:            # one row per line and category
        if item[:2] not in seen:
            seen.add(item[:2])
            unique.append(item)
    return sorted(unique)


def suspicion(nb, instructor) -> list[tuple[int, int, str, str]]:
    """(cell index, line, category, code) for the student's code in hand-in `nb`: the cells that differ
    from every cell of the instructor's notebook `instructor` (test and locked cells are replaced by
    the originals when graded, and are not scanned)."""
    sources = {c.source for c in instructor.cells}
    answers, imports = set(), set()          # names the answers must define may be defined
    for cell in instructor.cells:
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        names, lines = bound_names(cell.source) if cell.cell_type == "code" else (set(), set())
        imports |= lines
        if meta.get("solution"):
            answers |= names
    rows, protected = [], set()
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        if cell.cell_type != "code":
            continue
        if meta.get("locked") and not meta.get("grade"):    # setup, imports, helpers: the tests use these names
            protected |= bound_names(cell.source)[0] - answers
        if cell.source in sources or meta.get("grade") or meta.get("locked"):
            continue
        rows += [(i, line, category, code)
                 for line, category, code in scan_code(cell.source, frozenset(protected), frozenset(imports))]
    return rows


def write_report(course: Path, out: Path) -> dict[str, list[tuple]]:
    """Scan every hand-in in submitted/ and write one CSV row per flag (and one `-` row for a hand-in
    with nothing flagged) to `out`. Returns "student/assignment/notebook" -> its flags."""
    report: dict[str, list[tuple]] = {}
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "assignment", "notebook", "cell", "line", "category", "code"])
        for path in sorted((course / "submitted").glob("*/*/*.ipynb")):
            student, assignment, notebook = path.parent.parent.name, path.parent.name, path.stem
            source = course / "source" / assignment / path.name
            instructor = nbformat.read(source, as_version=4) if source.exists() else nbformat.v4.new_notebook()
            try:
                nb = nbformat.read(path, as_version=4)
                flags = suspicion(nb, instructor)
            except Exception as err:        # not a notebook: nbgrader reports it too
                flags = [(-1, 0, "does not parse", f"not a notebook file ({type(err).__name__})")]
            report[f"{student}/{assignment}/{notebook}"] = flags
            for cell, line, category, code in flags or [("", "", "-", "nothing flagged")]:
                writer.writerow([student, assignment, notebook, cell, line, category, code])
    return report


def summary(flags: list[tuple]) -> str:
    """'file access 2, process access 1' (or 'nothing flagged')."""
    counts: dict[str, int] = {}
    for _, _, category, _ in flags:
        counts[category] = counts.get(category, 0) + 1
    return ", ".join(f"{c} {n}" for c, n in counts.items()) or "nothing flagged"
