"""The tiers of tests/tiers.py name real tests, and the marks reach the items (`-m "not slow"` is the fast tier)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tiers import ALL, DDP_MODULES, SHARED_FIXTURE_MODULES, SLOW, is_slow

TESTS = Path(__file__).resolve().parent


def _test_functions(module: str) -> set[str]:
    tree = ast.parse((TESTS / module).read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.name.startswith("test_")}


def test_every_slow_name_is_a_test():
    missing = [f"{module}::{name}" for module, names in SLOW.items() if names != ALL
               for name in sorted(set(names) - _test_functions(module))]
    assert not missing, f"tests/tiers.py lists tests that do not exist: {missing}"
    assert all((TESTS / module).is_file() for module in [*SLOW, *DDP_MODULES])


def test_is_slow():
    assert is_slow("test_gate.py", "test_ci_baseline_flow")
    assert not is_slow("test_gate.py", "test_compare_new_accepted_stale")
    assert is_slow("test_reproducers.py", "test_anything")  # a module listed as ALL
    assert not is_slow("test_options.py", "test_anything")


def test_the_marks_select_the_tiers():
    """Collected with -m: the slow baseline flow is out of the fast tier, a unit test of the gate is in, and
    the ddp mark selects the distributed tests."""
    def collected(*args) -> set[str]:
        out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", *args],
                             cwd=TESTS.parent, capture_output=True, text=True, timeout=300).stdout
        return {line.split("[")[0] for line in out.splitlines() if "::" in line}

    fast = collected("-m", "not slow", "tests/test_gate.py")
    assert "tests/test_gate.py::test_ci_baseline_flow" not in fast
    assert "tests/test_gate.py::test_compare_new_accepted_stale" in fast
    ddp = collected("-m", "ddp", "tests/test_distributed.py", "tests/test_gate.py")
    assert ddp and all(name.startswith("tests/test_distributed.py::") for name in ddp)


def test_shared_fixture_modules_go_to_one_worker():
    """Each module of SHARED_FIXTURE_MODULES has a module-scoped fixture, and the xdist scheduler of
    tests/conftest.py keeps its tests together while it spreads the others one by one."""
    import pytest

    conftest = pytest.importorskip("conftest")
    if conftest.LoadScopeScheduling is None:
        pytest.skip("pytest-xdist is not installed")
    for module in SHARED_FIXTURE_MODULES:
        assert 'scope="module"' in (TESTS / module).read_text(encoding="utf-8"), module
    split = conftest.SharedFixtureScheduling._split_scope
    assert split(None, "tests/test_cli.py::test_json_report[a]") == split(None, "tests/test_cli.py::test_fail_on_warning")
    assert split(None, "tests/test_gate.py::test_a") != split(None, "tests/test_gate.py::test_b")
