"""losscheck.judge.source: the loss's file and definition line, and its inline suppressions, found by reading
the source (ast, tokenize), never by importing it."""
from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

from losscheck.findings import AuditResult, CheckResult, Finding
from losscheck.report import render
from losscheck.judge.source import Definition, locate, suppress, suppressions

LOSSES = '''\
import functools
from pathlib import Path

Path("imported.flag").write_text("the judge ran this module")  # must never happen


class FocalLoss:
    def forward(self, input, target):
        return input


# losscheck: ignore[LC504, lc202] the trainer always passes (N, C) targets
@functools.lru_cache
def dice_loss(input, target):
    return input


class Outer:
    class Inner:  # losscheck: ignore[LC4] reductions are done by the caller
        pass


focal = FocalLoss()
text = "# losscheck: ignore[LC101] only a string"
'''


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("raise SystemExit('never imported')\n")
    (tmp_path / "pkg" / "losses.py").write_text(LOSSES)
    return tmp_path


def line_of(text: str, start: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start))


@pytest.mark.parametrize("target, name, start", [
    ("pkg.losses:FocalLoss", "", "class FocalLoss"),
    ("pkg.losses.FocalLoss", "", "class FocalLoss"),
    ("pkg/losses.py:FocalLoss", "", "class FocalLoss"),
    ("pkg/losses.py", "dice_loss", "def dice_loss"),  # the single loss of a file target: the worker's name
    ("pkg.losses:Outer.Inner", "", "    class Inner"),
    ("pkg.losses.Outer.Inner", "", "    class Inner"),
    ("pkg.losses:focal", "", "focal = "),
])
def test_definition_found_without_importing(repo, target, name, start):
    source = locate(target, name)
    assert source is not None and source.file == "pkg/losses.py"
    assert source.line == line_of(LOSSES, start)
    assert not (repo / "imported.flag").exists()


def test_suppressions_on_the_definition_or_the_line_above_decorators(repo):
    assert locate("pkg.losses:dice_loss").suppressions == {"LC504": "the trainer always passes (N, C) targets",
                                                          "LC202": "the trainer always passes (N, C) targets"}
    assert locate("pkg.losses:Outer.Inner").suppressions == {"LC4": "reductions are done by the caller"}
    assert locate("pkg.losses:FocalLoss").suppressions == {}
    assert locate("pkg.losses:focal").suppressions == {}
    assert suppressions(LOSSES, range(1, 100)).get("LC101") is None  # a string is not a comment


def test_paths_are_relative_to_the_github_workspace(repo, monkeypatch):
    monkeypatch.setenv("GITHUB_WORKSPACE", str(repo.parent))
    assert locate("pkg.losses:FocalLoss").file == f"{repo.name}/pkg/losses.py"


def test_no_source_outside_the_root_or_when_not_defined_there(repo, monkeypatch):
    assert locate("pkg.losses:Missing") is None
    assert locate("nowhere.mod:Loss") is None
    assert locate("torch.nn.MSELoss") is None  # defined in an installed package
    monkeypatch.setenv("GITHUB_WORKSPACE", str(repo / "pkg" / "sub"))
    assert locate("pkg.losses:FocalLoss") is None


def test_an_object_passed_directly_is_located_by_its_file(repo, monkeypatch):
    (repo / "source_objs.py").write_text(textwrap.dedent('''\
        class MSE:  # losscheck: ignore[LC405] known
            def __call__(self, input, target):
                return ((input - target) ** 2).sum()
        '''))
    monkeypatch.syspath_prepend(str(repo))
    monkeypatch.delitem(sys.modules, "source_objs", raising=False)
    module = importlib.import_module("source_objs")  # the caller's own import, as in a test using the fixture
    for obj in (module.MSE, module.MSE()):
        assert locate(obj) == Definition("source_objs.py", 1, {"LC405": "known"})


def test_suppress_moves_findings_out_with_their_reason():
    findings = [Finding(code="LC504", check="target.shapes", message="m", layout="single"),
                Finding(code="LC405", check="reduction.batch", message="m")]
    result = AuditResult(target="t", reference="r", seed=0, max_examples=5, versions={}, tolerances={},
                         parameters={"loss": "mse"}, checks=[CheckResult("target.shapes", "target", "fail",
                                                                         findings=findings[:1]),
                                                             CheckResult("reduction.batch", "reduction", "fail",
                                                                         findings=findings[1:])])
    result.source = {"file": "a.py", "line": 3}
    suppress(result, Definition("a.py", 3, {"LC5": "known"}))
    assert [f.code for f in result.findings] == ["LC405"] and result.exit_code() == 1
    assert [(f.code, f.suppressed) for f in result.suppressed] == [("LC504", "known")]
    assert result.checks[0].status == "pass" and "suppressed in the source" in result.checks[0].detail
    for report_format in ("text", "md", "html"):
        assert "LC504 error [target.shapes, single]" in render(result, report_format)
        assert "suppressed at a.py:3 (known)" in render(result, report_format)
    suppress(result, Definition("a.py", 3, {"LC405": ""}))
    assert result.findings == [] and result.exit_code() == 0
    assert result.to_dict()["suppressed"][1]["suppressed"] == ""
