"""The [tool.losscheck] schema (losscheck.gate.config): merging, validation with one-line messages, files; and the
AuditResult.assert_ok() text the plugin shows."""
from __future__ import annotations

import pytest

from losscheck.gate.config import DEFAULT_REPORT_FORMATS, from_table, load
from losscheck.errors import UsageError
from losscheck.findings import AuditResult, CheckResult, Finding
from losscheck.options import AuditOptions, default_memory_limit, physical_memory


def test_defaults_and_merging():
    cfg = from_table({
        "max-examples": 50, "seed": 3, "timeout": 5, "fail-on": "warning", "select": ["lc2", "LC301"],
        "ignore": "LC605", "isolation": False, "formats": ["json", "md"], "report-dir": "out", "jobs": 4,
        "baseline": "accepted.json", "ddp": 2,
        "loss": [{"target": "pkg.mod:Focal", "as": "focal", "init": {"gamma": 2.0},
                  "conventions": {"alpha_form": "positives"}, "ignore": ["LC501"], "max-examples": 7},
                 {"target": "pkg.mod:Focal", "name": "focal-select", "select": ["LC1"], "timeout": 1.5}]})
    o = cfg.options
    assert (o.max_examples, o.seed, o.timeout, o.fail_on, o.select, o.ignore, o.isolate, o.ddp) == (
        50, 3, 5.0, "warning", ("LC2", "LC301"), ("LC605",), False, 2)
    assert (cfg.report_formats, cfg.report_dir, cfg.jobs, cfg.baseline) == (("json", "md"), "out", 4, "accepted.json")
    first, second = cfg.losses
    assert (first.name, first.as_, first.init, first.conventions) == (
        "pkg.mod:Focal", "focal", {"gamma": 2.0}, {"alpha_form": "positives"})
    f = first.options
    assert (f.max_examples, f.ignore, f.select, f.seed, f.fail_on, f.isolate, first.fail_on) == (
        7, ("LC605", "LC501"), ("LC2", "LC301"), 3, "warning", False, "warning")
    assert (second.name, second.options.select, second.options.max_examples, second.options.timeout) == (
        "focal-select", ("LC1",), 50, 1.5)
    kwargs = first.audit_kwargs(max_examples=2, seed=9)
    assert kwargs == {"as_": "focal", "init": {"gamma": 2.0}, "conventions": {"alpha_form": "positives"},
                      "select": ["LC2", "LC301"], "ignore": ["LC605", "LC501"], "max_examples": 2, "timeout": 5.0,
                      "seed": 9, "isolate": False, "ddp": 2, "precision": False, "precision_screen": True,
                      "precision_raw": False, "compile": False,
                      "inductor": False, "fullgraph": False, "memory_limit": default_memory_limit()}
    assert from_table({"loss": [{"target": "a:b"}]}).losses[0].audit_kwargs()["ddp"] == 0  # 0: off
    empty = from_table({})
    assert (empty.losses, empty.report_formats, empty.options.fail_on, empty.report_dir) == (
        (), DEFAULT_REPORT_FORMATS, "error", "losscheck-reports")
    assert empty.options == AuditOptions()


def test_memory_limit_and_ddp_zero():
    cfg = from_table({"memory-limit": "2G", "ddp": 0, "loss": [{"target": "a:b", "memory-limit": "none"},
                                                                {"target": "a:c", "memory-limit": 2**30},
                                                                {"target": "a:d"}]})
    assert cfg.options.memory_limit == 2 * 2**30 and cfg.options.ddp == 0
    assert [loss.audit_kwargs()["memory_limit"] for loss in cfg.losses] == [0, 2**30, 2 * 2**30]
    assert from_table({"memory-limit": 0}).options.memory_limit == 0  # no limit, as audit() takes it
    if physical_memory():
        assert from_table({"memory-limit": "25%"}).options.memory_limit == physical_memory() // 4


@pytest.mark.parametrize("table, message", [
    ({"max_examples": 5}, "[tool.losscheck]: unknown key 'max_examples'; did you mean 'max-examples'?"),
    ({"colour": "red"}, "[tool.losscheck]: unknown key 'colour' (known keys: seed,"),
    ({"max-examples": 0}, "[tool.losscheck]: 'max-examples' must be an integer from 1 to 10000, not 0"),
    ({"max-examples": 1000000000}, "[tool.losscheck]: 'max-examples' must be an integer from 1 to 10000, not 1000000000"),
    ({"seed": "one"}, "[tool.losscheck]: 'seed' must be an integer from 0 to 18446744073709551615 (2**64-1), not 'one'"),
    ({"seed": 10**23}, "[tool.losscheck]: 'seed' must be an integer from 0 to 18446744073709551615"),
    ({"seed": -1}, "[tool.losscheck]: 'seed' must be an integer from 0 to 18446744073709551615 (2**64-1), not -1"),
    ({"seed": True}, "[tool.losscheck]: 'seed' must be an integer from 0"),
    ({"isolation": "no"}, "[tool.losscheck]: 'isolation' must be true or false, not 'no'"),
    ({"ddp": 1}, "[tool.losscheck]: 'ddp' must be 0 (off) or a number of processes from 2 to 64, not 1"),
    ({"ddp": 1000}, "[tool.losscheck]: 'ddp' must be 0 (off) or a number of processes from 2 to 64, not 1000"),
    ({"timeout": -1}, "[tool.losscheck]: 'timeout' must be a finite number of seconds, more than 0 and at most "
                      "86400, not -1"),
    ({"timeout": float("nan")}, "[tool.losscheck]: 'timeout' must be a finite number of seconds, more than 0 and "
                                "at most 86400, not nan"),
    ({"timeout": float("inf")}, "[tool.losscheck]: 'timeout' must be a finite number of seconds"),
    ({"timeout": 0}, "[tool.losscheck]: 'timeout' must be a finite number of seconds"),
    ({"memory-limit": "lots"}, "[tool.losscheck]: 'memory-limit' must be a size such as 4G or 1536M (at least 1G), "
                               "a share of physical memory such as 50%, or none (no limit), not 'lots'"),
    ({"memory-limit": "1K"}, "[tool.losscheck]: 'memory-limit' must be a size such as 4G"),
    ({"memory-limit": "150%"}, "[tool.losscheck]: 'memory-limit' must be a size such as 4G"),
    ({"memory-limit": 1.5}, "[tool.losscheck]: 'memory-limit' must be a size such as 4G"),
    ({"fail-on": "never"}, "[tool.losscheck]: 'fail-on' must be \"error\" or \"warning\", not 'never'"),
    ({"formats": ["pdf"]}, "[tool.losscheck]: 'formats' must be a list of formats from text, md, json, html, junit"),
    ({"ignore": ["LC999"]}, "[tool.losscheck]: 'ignore': 'LC999' is no pitfall code and no prefix of one"),
    ({"select": ["LC1O1"]}, "[tool.losscheck]: 'select': 'LC1O1' is no pitfall code and no prefix of one; did you "
                            "mean LC101?"),
    ({"select": "gradient"}, "[tool.losscheck]: 'select': 'GRADIENT' is no pitfall code"),
    ({"select": [3]}, "[tool.losscheck]: 'select' must be codes or prefixes of codes"),
    ({"loss": {"target": "a:b"}}, "[tool.losscheck]: 'loss' must be an array of tables: [[tool.losscheck.loss]]"),
    ({"loss": [{"as": "mse"}]}, "[[tool.losscheck.loss]] #1: missing required key 'target'"),
    ({"loss": [{"target": "a:b", "gama": 2}]}, "[[tool.losscheck.loss]] #1 (a:b): unknown key 'gama' (known keys:"),
    ({"loss": [{"target": "a:b", "init": 2}]}, "[[tool.losscheck.loss]] #1 (a:b): 'init' must be a table"),
    ({"loss": [{"target": "a:b", "conventions": {"x": 1}}]}, "'conventions' must be a table of names to strings"),
    ({"loss": [{"target": "a:b", "timeout": "inf"}]}, "[[tool.losscheck.loss]] #1 (a:b): 'timeout' must be a "
                                                      "finite number of seconds"),
    ({"loss": [{"target": "a:b", "memory-limit": "-1G"}]}, "[[tool.losscheck.loss]] #1 (a:b): 'memory-limit' must "
                                                           "be a size"),
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
    with pytest.raises(UsageError, match="is a folder"):
        load(tmp_path)


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


# Values of the wrong TOML type: the first four are what the command line's text would give (and its validator
# would read), which a TOML table must not take silently; the others its validator refuses by itself.
WRONG_TYPE = {"seed": ("3", "an integer"), "max-examples": ("3", "an integer"), "timeout": ("10", "a number"),
              "ddp": ("2", "an integer"), "select": (3, "codes or prefixes"), "ignore": (3, "codes or prefixes"),
              "isolation": (1, "true or false"), "precision": (1, "true or false"),
              "precision-screen": (1, "true or false"),
              "precision-raw": (1, "true or false"),
              "compile": (1, "true or false"), "inductor": (1, "true or false"), "fullgraph": (1, "true or false"), "memory-limit": (4.5 * 2**30, "a size"),
              "fail-on": (["error"], '"error" or "warning"')}


def test_every_option_has_a_wrong_type_sample():
    from losscheck.options import SETTINGS

    assert set(WRONG_TYPE) == {s.key for s in SETTINGS.values()}


@pytest.mark.parametrize("key", sorted(WRONG_TYPE))
@pytest.mark.parametrize("where", ["global", "loss"])
def test_a_value_of_the_wrong_type_names_the_key_and_the_type_wanted(key, where):
    value, wanted = WRONG_TYPE[key]
    table = {key: value} if where == "global" else {"loss": [{"target": "a:b", key: value}]}
    with pytest.raises(UsageError) as e:
        from_table(table)
    message = str(e.value)
    assert f"'{key}' must be {wanted}" in message and "\n" not in message
    if isinstance(value, str):
        assert message.endswith(f"not {value!r} (a string)")


def test_only_a_loss_without_isolation_carries_the_trusted_line():
    cfg = from_table({"loss": [{"target": "a:b"}, {"target": "c:d", "isolation": False}]})
    isolated, trusted = cfg.losses
    assert isolated.trusted_notice is None
    assert trusted.trusted_notice.startswith("losscheck: c:d runs in this process, trusted (isolation = false)")
