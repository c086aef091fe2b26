"""The oracle is independent of the thing under test: nothing in references/ imports torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import losscheck.references

REFERENCES_DIR = Path(losscheck.references.__file__).resolve().parent
MODULES = tuple(sorted(p.stem for p in REFERENCES_DIR.glob("*.py") if not p.stem.startswith("_")))


def _is_torch(name):
    return name is not None and name.split(".")[0].startswith("torch")


def test_importing_the_references_does_not_import_torch():
    code = (
        "import sys\n"
        "import losscheck.references\n"
        + "".join(f"import losscheck.references.{m}\n" for m in MODULES)
        + "loaded = sorted(m for m in sys.modules if m.split('.')[0].startswith('torch'))\n"
        "assert not loaded, f'importing losscheck.references loaded {loaded}'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_reference_source_imports_torch():
    sources = sorted(REFERENCES_DIR.rglob("*.py"))
    assert {"regression", "classification", "embedding", "segmentation", "generative", "sequence",
            "regularisation"} <= set(MODULES)
    assert {f"{m}.py" for m in MODULES} <= {path.name for path in sources}
    offenders = []
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module] if node.level == 0 else []
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None))
                in {"__import__", "import_module"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names = [node.args[0].value]  # __import__("torch"), importlib.import_module("torch")
            else:
                continue
            offenders += [f"{path.name}:{node.lineno} imports {name}" for name in names if _is_torch(name)]
    assert not offenders, "references/ must never import torch:\n" + "\n".join(offenders)
