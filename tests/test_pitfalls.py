"""The pitfall registry: every code explained, the README's table generated from it, `explain` on the CLI."""
import subprocess
import sys
from pathlib import Path

import pytest

from losscheck.pitfalls import EXAMPLES, FAMILIES, PITFALLS, SEVERITIES, explain, table

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("code", sorted(PITFALLS))
def test_every_code_is_complete(code):
    p = PITFALLS[code]
    assert p.family in FAMILIES and p.severity in SEVERITIES
    assert code[2] == str(FAMILIES.index(p.family) + 1)
    page = explain(code)
    for part in ("What it means", "Why it matters", "Example of the bug", "Fix", EXAMPLES[code]):
        assert part in page


def test_readme_carries_the_generated_table():
    assert table() in (ROOT / "README.md").read_text()


def test_explain_cli():
    ok = subprocess.run([sys.executable, "-m", "losscheck", "explain", "lc201"], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("LC201 (stability, error)")
    bad = subprocess.run([sys.executable, "-m", "losscheck", "explain", "LC999"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_readme_catalogue_table_is_generated_from_the_specs():
    from losscheck.tables.catalogue import markdown_table
    assert markdown_table() in (ROOT / "README.md").read_text()


def test_gradient_accumulation_codes_end_the_reduction_family():
    """LC406 (a global count taken and still not the full batch) is an error; LC407 (a plain per-batch mean, correct
    on its own batch) only informs: it never turns a correct built-in red."""
    reduction = [code for code, p in PITFALLS.items() if p.family == "reduction"]
    assert reduction == ["LC401", "LC402", "LC403", "LC404", "LC405", "LC406", "LC407"]
    assert PITFALLS["LC406"].severity == "error" and PITFALLS["LC407"].severity == "info"
    assert "num_items_in_batch" in PITFALLS["LC406"].fix and "reduction='sum'" in PITFALLS["LC407"].fix
