"""The README's generated tables (losscheck.tables.readme): each equal to its source, and the command that
regenerates them refusing what it cannot regenerate."""
from pathlib import Path

import pytest

from losscheck.tables import readme

ROOT = Path(__file__).resolve().parent.parent


def test_every_generated_table_is_current():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.regenerate(text) == text, "run python -m losscheck.tables.readme"


def test_a_stale_table_is_rewritten_and_check_fails(tmp_path):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    stale = text.replace("| LC101 | value | error |", "| LC101 | value | warning |")
    assert stale != text
    path = tmp_path / "README.md"
    path.write_text(stale, encoding="utf-8")
    assert readme.regenerate_readme([str(path), "--check"]) == 1
    assert path.read_text(encoding="utf-8") == stale
    assert readme.regenerate_readme([str(path)]) == 0
    assert path.read_text(encoding="utf-8") == text
    assert readme.regenerate_readme([str(path), "--check"]) == 0


@pytest.mark.parametrize("text, says", [
    ("<!-- generated: nosuch -->\nx\n<!-- end: nosuch -->\n", "no source"),
    ("<!-- generated: pitfalls -->\n<!-- end: pitfalls -->\n", "no block for: catalogue, libraries"),
])
def test_blocks_without_source_or_sources_without_block_are_refused(tmp_path, capsys, text, says):
    path = tmp_path / "README.md"
    path.write_text(text, encoding="utf-8")
    assert readme.regenerate_readme([str(path)]) == 2
    assert says in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == text
