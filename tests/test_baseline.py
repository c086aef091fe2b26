"""The baseline keyed by target, code, check and layout (losscheck.gate.baseline), files of the first format
(target and code), the lines annotations point at (the loss's definition, a stale entry, a configuration
entry), on synthetic results."""
from __future__ import annotations

import json

import pytest

from external_repo import BUGGY, GOOD, make_repo
from losscheck.cli import main
from losscheck.commands import ci as ci_command
from losscheck.errors import UsageError
from losscheck.findings import AuditResult, CheckResult, Finding
from losscheck.gate.baseline import (TODO_REASON, Accepted, baseline_text, compare, entry_lines, legacy_note,
                                     load_baseline, updated_baseline)
from losscheck.gate.config import Loss, from_table
from losscheck.gate.github import github_annotations
from losscheck.gate.runner import LossOutcome


def outcome(name, *findings, source=None):
    """A finished audit of the loss `name` with `findings`, each (code, check, layout)."""
    made = [Finding(code=c, check=check, message=f"{c} seen", layout=layout) for c, check, layout in findings]
    result = AuditResult(target=name, reference="ref", seed=0, max_examples=5, versions={}, tolerances={},
                         parameters={"loss": "mse"}, source=source,
                         checks=[CheckResult("x.y", "target", "fail", findings=made)])
    return LossOutcome(Loss(target=name, name=name, line=7), result=result)


LC504 = ("LC504", "target.shapes", "single")


def test_a_code_on_another_layout_or_check_is_new():
    base = [{"target": "a", "code": "LC504", "check": "target.shapes", "layout": "single", "reason": "known"}]
    cmp = compare([outcome("a", LC504, ("LC504", "target.shapes", "spatial2d"), ("LC504", "target.formats", "single"))],
                  base, configured={"a"})
    assert [f.layout for f in cmp.accepted["a"]["LC504"][1]] == ["single"]
    assert [(f.check, f.layout) for f in cmp.new["a"]["LC504"]] == [("target.shapes", "spatial2d"),
                                                                   ("target.formats", "single")]
    assert cmp.stale == []
    fixed = compare([outcome("a", ("LC504", "target.shapes", "spatial2d"))], base, configured={"a"})
    assert [(e["layout"], why) for e, why in fixed.stale] == [("single", "no longer found")]


def test_an_entry_of_the_first_format_accepts_its_code_anywhere_with_a_note(tmp_path):
    path = tmp_path / "losscheck-baseline.json"
    path.write_text(json.dumps({"accepted": [{"target": "a", "code": "LC504", "reason": "old"}]}))
    base = load_baseline(path)
    cmp = compare([outcome("a", LC504, ("LC504", "target.formats", "batch"))], base, configured={"a"})
    assert "a" not in cmp.new and len(cmp.accepted["a"]["LC504"][1]) == 2
    note = legacy_note(base, path)
    assert len(note.splitlines()) == 1 and "--update-baseline" in note and "1 entry" in note
    assert legacy_note([], path) is None

    entries, added, removed = updated_baseline([outcome("a", LC504, ("LC504", "target.formats", "batch"))], base,
                                               configured={"a"})
    assert [(e["check"], e["layout"], e["reason"]) for e in entries] == [("target.shapes", "single", "old"),
                                                                         ("target.formats", "batch", "old")]
    assert (added, removed) == (0, 0)
    path.write_text(baseline_text(entries))
    assert legacy_note(load_baseline(path), path) is None


def test_update_adds_each_check_and_layout_once():
    entries, added, removed = updated_baseline([outcome("a", LC504, LC504, ("LC504", "target.shapes", "batch"))], [],
                                               configured={"a"})
    assert [(e["code"], e["layout"], e["reason"]) for e in entries] == [("LC504", "single", TODO_REASON),
                                                                        ("LC504", "batch", TODO_REASON)]
    assert (added, removed) == (2, 0)


def test_the_same_key_twice_is_refused(tmp_path):
    path = tmp_path / "b.json"
    entry = {"target": "a", "code": "LC504", "check": "target.shapes", "layout": "single"}
    path.write_text(json.dumps({"accepted": [entry, {**entry, "layout": "batch"}]}))
    assert len(load_baseline(path)) == 2
    path.write_text(json.dumps({"accepted": [entry, entry]}))
    with pytest.raises(UsageError, match="lists a LC504 target.shapes single twice"):
        load_baseline(path)


def test_accepted_is_what_the_plugin_asks():
    accepted = Accepted([{"target": "a", "code": "LC504", "check": "target.shapes", "layout": "single",
                          "reason": "known"}])
    single, batch = outcome("a", LC504, ("LC504", "target.shapes", "batch")).result.findings
    assert accepted.reason("a", single) == "known" and accepted.reason("a", batch) is None
    assert accepted.reason("b", single) is None


def test_annotations_sit_on_the_loss_definition_and_the_stale_entry_line(tmp_path):
    path = tmp_path / "losscheck-baseline.json"
    stale = {"target": "a", "code": "LC202", "check": "stability.extremes", "layout": "batch", "reason": "fixed"}
    path.write_text(baseline_text([{"target": "a", "code": "LC504", "check": "target.shapes", "layout": "single",
                                    "reason": "known"}, stale]))
    outcomes = [outcome("a", LC504, ("LC101", "value.reference", "batch"), source={"file": "pkg/losses.py",
                                                                                  "line": 42}),
                outcome("b", ("LC101", "value.reference", "batch"))]
    base = load_baseline(path)
    cmp = compare(outcomes, base, configured={"a", "b"})
    lines = github_annotations(outcomes, cmp, "pyproject.toml", "losscheck-baseline.json", entry_lines(path))
    text = path.read_text().splitlines()
    stale_line = next(n for n, line in enumerate(text, 1) if '"LC202"' in line) - 2  # the entry's opening brace
    assert text[stale_line - 1].strip() == "{"
    assert [line.split("::")[1] for line in lines] == [
        "error file=pkg/losses.py,line=42,title=losscheck LC101 value%3A value differs from the reference",
        "error file=pyproject.toml,line=7,title=losscheck LC101 value%3A value differs from the reference",
        f"warning file=losscheck-baseline.json,line={stale_line},title=losscheck%3A stale baseline entry LC202"]
    assert "losscheck: ignore[LC101]" in lines[0]


def test_a_second_entry_of_the_same_target_has_its_own_line():
    text = ('[tool.losscheck]\n\n[[tool.losscheck.loss]]\ntarget = "m:FocalLossX"\n\n[[tool.losscheck.loss]]\n'
            'target = "m:FocalLoss"\nname = "one"\n\n[[tool.losscheck.loss]]\ntarget = "m:FocalLoss"\nname = "two"\n')
    table = {"loss": [{"target": "m:FocalLossX"}, {"target": "m:FocalLoss", "name": "one"},
                      {"target": "m:FocalLoss", "name": "two"}]}
    assert [loss.line for loss in from_table(table, text=text).losses] == [4, 7, 11]


def test_ci_notes_a_first_format_baseline_and_annotates_the_definition(tmp_path, monkeypatch, capsys):
    """`losscheck ci` (its audits replaced by synthetic outcomes) under GitHub Actions: one line about the old
    baseline format, the accepted finding passes, the new one is annotated on the loss's definition."""
    root = make_repo(tmp_path)
    (root / "losscheck-baseline.json").write_text(json.dumps({"accepted": [
        {"target": BUGGY, "code": "LC504", "reason": "old format"}]}))
    source = {"file": "mypkg/losses.py", "line": 21}

    def fake_audit_all(config_root, losses, jobs=1):
        return [outcome(GOOD, source=source), outcome(BUGGY, LC504, ("LC405", "reduction.batch", "batch"),
                                                       source=source)]

    monkeypatch.setattr(ci_command, "audit_all", fake_audit_all)
    monkeypatch.chdir(root)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    capsys.readouterr()
    assert main(["ci"]) == 1
    out, err = capsys.readouterr()
    assert [line for line in err.splitlines() if "--update-baseline" in line] == [
        "losscheck: losscheck-baseline.json: 1 entry keyed by target and code only accept that code from any check "
        "and layout; run `losscheck ci --update-baseline` to key them by check and layout too (their reasons are "
        "kept)"]
    assert "::error file=mypkg/losses.py,line=21,title=losscheck LC405 reduction" in out
    assert "LC504" not in "".join(line for line in out.splitlines() if line.startswith("::error"))
