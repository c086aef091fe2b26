"""The shape of the package: no import circles in losscheck/, and the report writers load without torch.

The import graph is read from the sources (ast), not by importing: an edge is a module-level import (also
inside a module-level `if` or `try`, never under `if TYPE_CHECKING`); imports inside functions are the way a
module defers a dependency and do not count. Importing `a.b.c` also runs `a/__init__` and `a/b/__init__`, so
an import of a submodule is an edge to each package above it too.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import losscheck

PACKAGE = Path(losscheck.__file__).resolve().parent
REPORT_MODULES = ("escape", "files", "summary", "run_summary", "text", "markdown", "jsonreport", "junit", "html",
                  "plots")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("losscheck", *path.relative_to(PACKAGE).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _top_level_imports(body, package: str):
    """The dotted names imported by the statements of `body` that run at import time."""
    for node in body:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.If):
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                yield from _top_level_imports(node.body + node.orelse, package)
        elif isinstance(node, ast.Try):
            yield from _top_level_imports(node.body + node.orelse + node.finalbody
                                          + [s for h in node.handlers for s in h.body], package)


def import_graph() -> dict[str, set[str]]:
    """module -> the losscheck modules it imports at module level (and the packages above those)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for imported in _top_level_imports(ast.parse(path.read_text(encoding="utf-8")).body, package):
            parts = imported.split(".")
            for i in range(1, len(parts) + 1):
                target = ".".join(parts[:i])
                if target in modules and target != name and not name.startswith(target + "."):
                    edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_the_graph_sees_the_package():
    graph = import_graph()
    assert {"losscheck.cli", "losscheck.gate.runner", "losscheck.checks.registry", "losscheck.report"} <= set(graph)
    assert "losscheck.options" in graph["losscheck.cli"]
    assert "losscheck.checks.registry" in graph["losscheck.checks"]
    # sweep imports losscheck.judge.evidence, which runs losscheck/judge/__init__ first
    assert {"losscheck.judge.evidence", "losscheck.judge"} <= graph["losscheck.diagnosis.sweep"]
    # imports inside functions do not count: cli defers each command's module
    assert not any(name.startswith("losscheck.commands") for name in graph["losscheck.cli"])


@pytest.mark.parametrize("edges, expected", [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": set()}, []),
])
def test_cycles_finds_circles(edges, expected):
    assert cycles(edges) == expected


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import circles in losscheck/: " + "; ".join(" <-> ".join(c) for c in found)


MAX_DEFERRED_IMPORTS = 15  # imports of losscheck modules inside functions, package-wide


def deferred_imports() -> list[tuple[str, int, str]]:
    """(module path, line, source) of every import of a losscheck module inside a function."""
    found = []
    for name, path in _modules().items():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for fn in ast.walk(ast.parse(source)):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = ["losscheck" if node.level else node.module or ""]
                else:
                    continue
                if any(n == "losscheck" or n.startswith("losscheck.") for n in names):
                    found.append((str(path.relative_to(PACKAGE.parent)), node.lineno, lines[node.lineno - 1]))
    return sorted(set(found))


def _commented(path: str, line: int) -> bool:
    """Whether the import at `line` says why it is deferred: a comment on it or on the line above."""
    lines = (PACKAGE.parent / path).read_text(encoding="utf-8").splitlines()
    return "#" in lines[line - 1] or lines[line - 2].strip().startswith("#")


def test_deferred_imports_are_counted_in_functions_only():
    found = deferred_imports()
    assert any(path == "losscheck/__init__.py" for path, _, _ in found)  # `import losscheck` defers the engine
    assert not any(path.endswith(("judge/cases.py", "judge/state.py")) for path, _, _ in found)


def test_few_imports_of_losscheck_modules_inside_functions():
    found = deferred_imports()
    assert len(found) <= MAX_DEFERRED_IMPORTS, (
        f"{len(found)} imports of losscheck modules inside functions (at most {MAX_DEFERRED_IMPORTS}; import at "
        "module level, or give the reason in a comment):\n" + "\n".join(f"{p}:{n}: {s.strip()}" for p, n, s in found))


def test_every_import_inside_a_function_says_why():
    bare = [(p, n, s) for p, n, s in deferred_imports() if not _commented(p, n)]
    assert not bare, "imports inside functions without a comment giving the reason:\n" + "\n".join(
        f"{p}:{n}: {s.strip()}" for p, n, s in bare)


def test_importing_the_report_writers_does_not_import_torch():
    code = ("import sys\nimport losscheck.report\n"
            + "".join(f"import losscheck.report.{m}\n" for m in REPORT_MODULES)
            + "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'hypothesis'))\n"
            "assert not loaded, f'importing losscheck.report loaded {loaded}'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# Names a module defines because it implements an interface that its package dispatches to by module:
# report writers (`render(result)`, chosen by losscheck.report.render), commands (`run(args)`, chosen by cli.main)
# and candidate ops (`run(candidate, caller, request)`, chosen by losscheck.suspect.ops.RUNS).
INTERFACES = {"render": ("losscheck.report",), "run": ("losscheck.commands", "losscheck.suspect.ops")}


def test_no_two_modules_define_the_same_name_unless_it_implements_an_interface():
    where: dict[str, list[str]] = {}
    for name, path in _modules().items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                where.setdefault(node.name, []).append(name)
    clashes = {n: mods for n, mods in where.items() if len(mods) > 1
               and not all(m.startswith(INTERFACES.get(n, ("-",))) for m in mods)}
    assert not clashes, "names defined in more than one module: " + "; ".join(
        f"{n}: {', '.join(mods)}" for n, mods in sorted(clashes.items()))


def test_at_most_ten_modules_at_the_top_of_the_package():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 10, f"{len(top)} modules at the top of losscheck/ (a folder per role): {top}"
