"""The README's generated tables (losscheck.tables.readme): each equal to its source, and the command that
regenerates them refusing what it cannot regenerate."""
from pathlib import Path

import pytest

import losscheck
from losscheck.checks import CHECKS
from losscheck.pitfalls import FAMILIES
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


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 3)
    return text[start:] if end == -1 else text[start:end]


def test_every_registered_family_has_its_row_and_every_check_module_is_in_the_layout():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = _section(text, "What an audit checks")
    rows = {line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ") and "---" not in line}
    families = {check.family for check in CHECKS}
    assert families <= set(FAMILIES), f"families registered without codes: {families - set(FAMILIES)}"
    assert families <= rows, f"families with no row in 'What an audit checks': {families - rows}"
    layout = _section(text, "Layout")
    modules = {p.stem for p in (Path(losscheck.__file__).parent / "checks").glob("*.py") if p.stem != "__init__"}
    missing = {m for m in modules if m not in layout and f"{m}.py" not in layout}
    assert not missing, f"check modules the README's Layout does not name: {missing}"


def test_the_adding_lists_name_the_files_they_touch():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for title, files in {"Adding a loss": ("references/", "losscheck/specs/", "losscheck/examples/"),
                         "Adding an option": ("losscheck/options.py",),
                         "Adding a check family": ("losscheck/checks/", "losscheck/pitfalls.py",
                                                   "losscheck/checks/__init__.py")}.items():
        section = _section(text, title)
        for f in files:
            assert f in section, f"README '{title}' does not name {f}"
