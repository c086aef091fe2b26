"""The [tool.losscheck] schema (losscheck.config): merging, validation with one-line messages, files; and the
AuditResult.assert_ok() text the plugin shows."""
from __future__ import annotations

import pytest

from losscheck.config import DEFAULT_FORMATS, from_table, load
from losscheck.errors import UsageError
from losscheck.findings import AuditResult, CheckResult, Finding


def test_defaults_and_merging():
    cfg = from_table({
        "max-examples": 50, "seed": 3, "timeout": 5, "fail-on": "warning", "select": ["lc2", "LC301"],
        "ignore": "LC605", "isolation": False, "formats": ["json", "md"], "report-dir": "out", "jobs": 4,
        "baseline": "accepted.json", "ddp": 2,
        "loss": [{"target": "pkg.mod:Focal", "as": "focal", "init": {"gamma": 2.0},
                  "conventions": {"alpha_form": "positives"}, "ignore": ["LC501"], "max-examples": 7},
                 {"target": "pkg.mod:Focal", "name": "focal-select", "select": ["LC1"], "timeout": 1.5}]})
    assert (cfg.max_examples, cfg.seed, cfg.timeout, cfg.fail_on, cfg.select, cfg.ignore, cfg.isolation) == (
        50, 3, 5.0, "warning", ("LC2", "LC301"), ("LC605",), False)
    assert (cfg.formats, cfg.report_dir, cfg.jobs, cfg.baseline) == (("json", "md"), "out", 4, "accepted.json")
    first, second = cfg.losses
    assert (first.name, first.as_, first.init, first.conventions) == (
        "pkg.mod:Focal", "focal", {"gamma": 2.0}, {"alpha_form": "positives"})
    assert (first.max_examples, first.ignore, first.select, first.seed, first.fail_on, first.isolation) == (
        7, ("LC605", "LC501"), ("LC2", "LC301"), 3, "warning", False)
    assert (second.name, second.select, second.max_examples, second.timeout) == ("focal-select", ("LC1",), 50, 1.5)
    kwargs = first.audit_kwargs(max_examples=2, seed=9)
    assert kwargs == {"as_": "focal", "init": {"gamma": 2.0}, "conventions": {"alpha_form": "positives"},
                      "select": ["LC2", "LC301"], "ignore": ["LC605", "LC501"], "max_examples": 2, "timeout": 5.0,
                      "seed": 9, "isolate": False, "ddp": 2}
    assert "ddp" not in from_table({"loss": [{"target": "a:b"}]}).losses[0].audit_kwargs()
    empty = from_table({})
    assert (empty.losses, empty.formats, empty.fail_on, empty.report_dir) == ((), DEFAULT_FORMATS, "error",
                                                                             "losscheck-reports")


@pytest.mark.parametrize("table, message", [
    ({"max_examples": 5}, "[tool.losscheck]: unknown key 'max_examples'; did you mean 'max-examples'?"),
    ({"colour": "red"}, "[tool.losscheck]: unknown key 'colour' (known keys: max-examples,"),
    ({"max-examples": 0}, "[tool.losscheck]: 'max-examples' must be at least 1, not 0"),
    ({"seed": "1"}, "[tool.losscheck]: 'seed' must be an integer, not '1'"),
    ({"isolation": "no"}, "[tool.losscheck]: 'isolation' must be true or false, not 'no'"),
    ({"ddp": 1}, "[tool.losscheck]: 'ddp' must be 0 (off) or a number of processes >= 2, not 1"),
    ({"timeout": -1}, "[tool.losscheck]: 'timeout' must be a positive number of seconds, not -1"),
    ({"formats": ["pdf"]}, "[tool.losscheck]: 'formats' must be a list of formats from text, md, json, html, junit"),
    ({"ignore": ["LC999"]}, "[tool.losscheck]: 'ignore': 'LC999' matches no pitfall code"),
    ({"loss": {"target": "a:b"}}, "[tool.losscheck]: 'loss' must be an array of tables: [[tool.losscheck.loss]]"),
    ({"loss": [{"as": "mse"}]}, "[[tool.losscheck.loss]] #1: missing required key 'target'"),
    ({"loss": [{"target": "a:b", "gama": 2}]}, "[[tool.losscheck.loss]] #1 (a:b): unknown key 'gama' (known keys:"),
    ({"loss": [{"target": "a:b", "init": 2}]}, "[[tool.losscheck.loss]] #1 (a:b): 'init' must be a table"),
    ({"loss": [{"target": "a:b", "conventions": {"x": 1}}]}, "'conventions' must be a table of names to strings"),
    ({"loss": [{"target": "a:b"}, {"target": "a:b"}]},
     "[[tool.losscheck.loss]] #2 (a:b): the name 'a:b' is already used by loss #1"),
])
def test_validation_messages(table, message):
    with pytest.raises(UsageError) as e:
        from_table(table)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_load_files(tmp_path):
    path = tmp_path / "pyproject.toml"
    assert load(path, required=False).losses == ()
    with pytest.raises(UsageError, match="no such configuration file"):
        load(path)
    path.write_text("[project]\nname = 'x'\n")
    assert load(path).present is False
    path.write_text("[tool.losscheck\n")
    with pytest.raises(UsageError, match="pyproject.toml is not valid TOML"):
        load(path)
    path.write_text('[tool.losscheck]\nseed = 1\n\n[[tool.losscheck.loss]]\ntarget = "losses.py:Dice"\nas = "dice"\n')
    cfg = load(path)
    assert cfg.present and cfg.root == tmp_path and cfg.losses[0].line == 5
    assert cfg.resolve(cfg.baseline) == tmp_path / "losscheck-baseline.json"
    with pytest.raises(UsageError, match=r"^pyproject.toml: \[tool.losscheck\]: unknown key 'sede'"):
        path.write_text("[tool.losscheck]\nsede = 1\n")
        load(path)


def _result(*codes):
    findings = [Finding(code=c, check="reduction.batch", message=f"{c}: x2", reproducer=f"print('{c}')\n")
                for c in codes]
    return AuditResult(target="pkg:SumMSE", reference="ref", seed=0, max_examples=5, versions={}, tolerances={},
                       parameters={"loss": "mse"}, checks=[CheckResult("reduction.batch", "reduction", "fail",
                                                                       findings=findings)])


def test_assert_ok_message():
    _result("LC501").assert_ok()  # info only
    with pytest.raises(AssertionError) as e:
        _result("LC405", "LC402").assert_ok()
    assert str(e.value).splitlines()[:3] == [
        "losscheck LC405, LC402 in pkg:SumMSE (as mse): 2 finding(s) at or above 'error'",
        "LC405 reduction 'mean' depends on batch size",
        "LC402 reduction 'mean' or 'sum' inconsistent with 'none'"]
    assert str(e.value).endswith("Reproducer:\nprint('LC405')")
    with pytest.raises(AssertionError, match="LC603"):
        _result("LC603").assert_ok(fail_on="warning")
    assert repr(_result("LC405")) == "<AuditResult pkg:SumMSE as mse: FAIL LC405>"
