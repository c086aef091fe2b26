"""losscheck.options, the one door for audit options: what each option accepts and refuses (one line naming
the option and the value), defaults, and that the CLI, the config and audit() agree on the same fields."""
from __future__ import annotations

import argparse
import inspect
import math
import re
import types
from dataclasses import fields
from pathlib import Path

import pytest

from losscheck import pytest_plugin
from losscheck.cli import build_parser, main
from losscheck.errors import UsageError
from losscheck.gate.config import Loss, from_table
from losscheck.options import (AUDIT_FIELDS, MAX_SEED, MIN_MEMORY, SETTINGS, AuditOptions, AuditRequest, check,
                               checked, default_memory_limit, format_bytes, given, physical_memory)

G = 2**30


@pytest.mark.parametrize("name, value, expected", [
    ("seed", "0", 0), ("seed", str(MAX_SEED), MAX_SEED), ("seed", 7, 7),
    ("max_examples", "1", 1), ("max_examples", 10000, 10000),
    ("timeout", "0.5", 0.5), ("timeout", 3, 3.0), ("timeout", "86400", 86400.0),
    ("select", "lc2, LC301", ("LC2", "LC301")), ("select", ["LC30"], ("LC30",)), ("select", "", ()),
    ("ignore", "LC1,LC1", ("LC1",)), ("ignore", ("LC706",), ("LC706",)),
    ("isolate", False, False),
    ("ddp", "0", 0), ("ddp", 0, 0), ("ddp", "2", 2), ("ddp", 64, 64),
    ("memory_limit", "4G", 4 * G), ("memory_limit", "1536M", 1536 * 2**20), ("memory_limit", "1.5GiB", 3 * G // 2),
    ("memory_limit", "2gb", 2 * G), ("memory_limit", "1G", MIN_MEMORY), ("memory_limit", "none", 0),
    ("memory_limit", "0", 0), ("memory_limit", 0, 0), ("memory_limit", None, 0),  # 0: no limit
    ("memory_limit", 2 * G, 2 * G),
    ("fail_on", "warning", "warning"),
])
def test_accepted(name, value, expected):
    assert check(name, value) == expected


def test_every_option_has_a_flag_and_a_key():
    assert set(SETTINGS) == {*AUDIT_FIELDS, "fail_on"} == {f.name for f in fields(AuditOptions)}
    assert all(o.flag.startswith("--") and o.key and not o.key.startswith("-") for o in SETTINGS.values())


def test_share_of_physical_memory():
    total = physical_memory()
    if total is None:
        with pytest.raises(UsageError, match="physical memory of this machine is unknown"):
            check("memory_limit", "50%", "--memory-limit")
        return
    assert check("memory_limit", "50%") == total // 2
    assert check("memory_limit", "100%") == total
    assert default_memory_limit() == max(MIN_MEMORY, total // 2)
    assert AuditOptions().memory_limit == default_memory_limit()


# (option, value as the command line gives it, what the one line must say after "--flag must be ")
REFUSED = [
    ("timeout", "nan", "a finite number of seconds, more than 0 and at most 86400, not 'nan'"),
    ("timeout", "inf", "a finite number of seconds, more than 0 and at most 86400, not 'inf'"),
    ("timeout", "1e400", "a finite number of seconds"),
    ("timeout", "0", "a finite number of seconds"),
    ("timeout", "-1", "a finite number of seconds"),
    ("timeout", "86401", "a finite number of seconds"),
    ("timeout", "ten", "a finite number of seconds"),
    ("seed", "100000000000000000000000", "an integer from 0 to 18446744073709551615 (2**64-1), "
                                         "not '100000000000000000000000'"),
    ("seed", str(MAX_SEED + 1), "an integer from 0 to 18446744073709551615"),
    ("seed", "-1", "an integer from 0 to 18446744073709551615 (2**64-1), not '-1'"),
    ("seed", "1.5", "an integer from 0"),
    ("max_examples", "0", "an integer from 1 to 10000, not '0'"),
    ("max_examples", "1000000000", "an integer from 1 to 10000, not '1000000000'"),
    ("max_examples", "many", "an integer from 1 to 10000, not 'many'"),
    ("ddp", "1", "0 (off) or a number of processes from 2 to 64, not '1'"),
    ("ddp", "-2", "0 (off) or a number of processes from 2 to 64"),
    ("ddp", "65", "0 (off) or a number of processes from 2 to 64"),
    ("memory_limit", "512", "a size such as 4G or 1536M (at least 1G), a share of physical memory such as 50%, "
                            "or none (no limit), not '512'"),
    ("memory_limit", "1023M", "a size such as 4G"), ("memory_limit", "512M", "a size such as 4G"),
    ("memory_limit", "4X", "a size such as 4G"),
    ("memory_limit", "-4G", "a size such as 4G"),
    ("memory_limit", "0%", "a size such as 4G"),
    ("memory_limit", "101%", "a size such as 4G"),
    ("fail_on", "never", "\"error\" or \"warning\", not 'never'"),
]


@pytest.mark.parametrize("name, value, message", REFUSED)
def test_refused_with_one_line_naming_the_flag_and_value(name, value, message):
    flag = SETTINGS[name].flag
    with pytest.raises(UsageError) as e:
        check(name, value, flag)
    assert str(e.value).startswith(f"{flag} must be {message}")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("value, message", [
    ("LC1O1", "--select: 'LC1O1' is no pitfall code and no prefix of one; did you mean LC101?"),
    ("LC2,LCZ", "--select: 'LCZ' is no pitfall code and no prefix of one (see `losscheck explain --table`)"),  # LC9 is compile's
    ("LC999", "--select: 'LC999' is no pitfall code and no prefix of one"),
    ("LC1011", "--select: 'LC1011' is no pitfall code and no prefix of one; did you mean LC101?"),
    ("L", "--select: 'L' is no pitfall code"),
    ("101", "--select: '101' is no pitfall code"),
])
def test_codes_must_exist(value, message):
    with pytest.raises(UsageError) as e:
        check("select", value, "--select")
    assert str(e.value).startswith(message)


@pytest.mark.parametrize("name, value", [
    ("seed", True), ("seed", 1.0), ("max_examples", None), ("timeout", True), ("timeout", float("nan")),
    ("timeout", math.inf), ("isolate", "false"), ("isolate", 0), ("ddp", 2.0), ("memory_limit", True),
    ("memory_limit", 2.5 * G), ("select", 5), ("select", [1]), ("fail_on", None),
])
def test_python_values_of_the_wrong_type_are_refused(name, value):
    with pytest.raises(UsageError, match=f"^{name} must be .*, not {re.escape(repr(value))}$"):
        AuditOptions(**{name: value})


def test_building_checks_and_normalises():
    opts = AuditOptions(seed="3", timeout="2", select="lc2", memory_limit="1G", ddp="0")
    assert (opts.seed, opts.timeout, opts.select, opts.memory_limit, opts.ddp) == (3, 2.0, ("LC2",), G, 0)
    assert opts == AuditOptions(seed=3, timeout=2.0, select=("LC2",), memory_limit=G)  # idempotent
    assert opts.update({"max_examples": "9"}).max_examples == 9
    with pytest.raises(UsageError, match=r"^max-examples \(config\) must be an integer from 1"):
        opts.update({"max_examples": 0}, lambda name: f"{name.replace('_', '-')} (config)")


def test_audit_kwargs_are_the_keywords_of_audit():
    from losscheck.judge.auditor import audit

    kwargs = AuditOptions(select="LC2", memory_limit="2G").audit_kwargs()
    assert kwargs == {"seed": 0, "max_examples": 30, "timeout": 10.0, "select": ["LC2"], "ignore": [],
                      "isolate": True, "ddp": 0, "precision": False, "precision_screen": True,
                      "precision_raw": False, "compile": False, "inductor": False, "fullgraph": False,
                      "memory_limit": 2 * G}
    params = inspect.signature(audit).parameters.values()
    assert any(p.kind == p.VAR_KEYWORD for p in params)  # audit(**options) builds AuditOptions from them


@pytest.mark.parametrize("options, words", [({"timeout": float("nan")}, "timeout"), ({"seed": -1}, "seed"),
                                            ({"select": ["LC1O1"]}, "did you mean LC101"),
                                            ({"max_examples": 10**9}, "max_examples")])
def test_audit_from_python_checks_its_options_at_the_door(options, words):
    from losscheck.judge.auditor import audit

    with pytest.raises(UsageError, match=words):
        audit("torch.nn.MSELoss", **options)


def test_given_reads_a_namespace_and_checked_names_the_flag():
    args = argparse.Namespace(seed="4", timeout=None, memory_limit="none", target="x", fail_on="warning")
    assert given(args) == {"seed": "4", "memory_limit": "none", "fail_on": "warning"}
    assert checked(given(args)) == {"seed": 4, "memory_limit": 0, "fail_on": "warning"}
    with pytest.raises(UsageError, match=r"^--timeout must be"):
        checked({"timeout": "nan"})


def test_format_bytes():
    assert [format_bytes(n) for n in (0, 512, 2**20, 3 * G // 2, 4 * 2**40)] == ["none", "512", "1M", "1.5G",
                                                                                   "4T"]


# -- every declared setting reaches every front end -----------------------------------------------------------
# setting -> (its value on a command line, None for a switch; its value in [tool.losscheck]; the valid value)
SAMPLES = {
    "seed": ("7", 7, 7),
    "max_examples": ("9", 9, 9),
    "timeout": ("2.5", 2.5, 2.5),
    "select": ("LC2,LC301", ["LC2", "LC301"], ("LC2", "LC301")),
    "ignore": ("LC605", ["LC605"], ("LC605",)),
    "isolate": (None, False, False),
    "ddp": ("2", 2, 2),
    "precision": (None, True, True),
    "precision_screen": (None, False, False),
    "precision_raw": (None, True, True),
    "compile": (None, True, True),
    "inductor": (None, True, True),
    "fullgraph": (None, True, True),
    "memory_limit": ("1234M", "1234M", 1234 * 2**20),
    "fail_on": ("warning", "warning", "warning"),
}
COMMANDS = ("audit", "ci", "report")
README = Path(__file__).resolve().parents[1] / "README.md"


def _section(text: str, heading: str) -> str:
    """The README's section under `heading`, up to the next heading of any level."""
    start = text.index(f"\n{heading}\n")
    end = re.compile(r"^#", re.M).search(text, start + len(heading) + 2)
    return text[start:end.start() if end else len(text)]


def test_every_setting_has_a_sample_and_none_its_default():
    assert set(SAMPLES) == set(SETTINGS), "add the new option to SAMPLES"
    defaults = AuditOptions()
    assert all(getattr(defaults, name) != valid for name, (_, _, valid) in SAMPLES.items())


@pytest.mark.parametrize("name", SETTINGS)
def test_every_setting_is_in_the_help_of_the_commands_that_offer_it(name, capsys):
    setting = SETTINGS[name]
    assert set(setting.offered_by) <= {*COMMANDS, "pytest"} and setting.offered_by
    for command in COMMANDS:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        shown = " ".join(capsys.readouterr().out.split())
        if command in setting.offered_by:
            assert f"{setting.flag} " in shown and " ".join(setting.help.split()) in shown, command
        else:
            assert f"{setting.flag} " not in shown, command


@pytest.mark.parametrize("name", SETTINGS)
def test_every_setting_is_taken_by_the_commands_that_offer_it(name):
    setting, (text, _, valid) = SETTINGS[name], SAMPLES[name]
    for command in setting.offered_by:
        if command == "pytest":
            continue
        argv = [command, *(["torch.nn.MSELoss"] if command == "audit" else []), setting.flag,
                *([] if text is None else [text])]
        args = build_parser().parse_args(argv)
        assert given(args) == {name: valid if text is None else text}
        assert getattr(AuditOptions().update(given(args)), name) == valid


@pytest.mark.parametrize("name", SETTINGS)
def test_every_setting_is_a_config_key_globally_and_per_loss(name):
    setting, (_, value, valid) = SETTINGS[name], SAMPLES[name]
    config = from_table({setting.key: value, "loss": [{"target": "a:b"}, {"target": "a:c", setting.key: value}]})
    assert getattr(config.options, name) == valid
    assert [getattr(loss.options, name) for loss in config.losses] == [valid, valid]
    assert getattr(from_table({"loss": [{"target": "a:b", setting.key: value}]}).losses[0].options, name) == valid
    with pytest.raises(UsageError, match=f"'{setting.key}'"):
        from_table({setting.key: object()})


@pytest.mark.parametrize("name", SETTINGS)
def test_every_setting_is_in_the_readme(name):
    setting, text = SETTINGS[name], README.read_text(encoding="utf-8")
    configuration = _section(text, "### The configuration")
    assert re.search(rf"^{re.escape(setting.key)} = ", configuration, re.M), f"{setting.key} in the config block"
    usage = _section(text, "## Options and exit codes")
    assert setting.flag in usage, f"{setting.flag} in the Options section"
    adding = _section(text, "## Adding an option")
    assert "losscheck/options.py" in adding and "_define_setting" in adding


def test_the_plugin_flags_are_the_settings_offered_to_pytest():
    parser = argparse.ArgumentParser()

    class Group:
        def addoption(self, *names, **keywords):
            parser.add_argument(*names, **keywords)

    pytest_plugin.pytest_addoption(types.SimpleNamespace(getgroup=lambda *a: Group()))
    offered = [s for s in SETTINGS.values() if "pytest" in s.offered_by]
    assert offered, "the plugin offers no setting"
    argv = [arg for s in offered for arg in [s.pytest_flag, *([] if SAMPLES[s.name][0] is None
                                                               else [SAMPLES[s.name][0]])]]
    assert pytest_plugin.overrides(parser.parse_args(argv)) == {s.name: SAMPLES[s.name][2] for s in offered}
    assert pytest_plugin.overrides(parser.parse_args([])) == {}
    with pytest.raises(UsageError, match=f"^{offered[0].pytest_flag} must be"):
        pytest_plugin.overrides(parser.parse_args([offered[0].pytest_flag, "nan"]))


@pytest.mark.parametrize("name", AUDIT_FIELDS)
def test_the_fixture_takes_every_audit_setting(name, loss_audit, monkeypatch):
    seen = []
    monkeypatch.setattr(pytest_plugin, "_fixture_outcome",
                        lambda state, request, options: seen.append((request, options)) or types.SimpleNamespace(
                            result="audited"))
    key = next(s.key for s in SETTINGS.values() if s.name == name)
    _, value, valid = SAMPLES[name]
    assert loss_audit("torch.nn.MSELoss", as_="mse", **{name: value}) == "audited"
    if key.isidentifier():  # `isolation=` as [tool.losscheck] spells it
        loss_audit("torch.nn.MSELoss", as_="mse", **{key: value})
    assert all(getattr(options, name) == valid for _, options in seen)
    assert all(request == AuditRequest("torch.nn.MSELoss", "mse") for request, _ in seen)


@pytest.mark.losscheck(seed=7, isolation=False, init={"reduction": "sum"})
def test_the_marker_takes_settings_and_the_request(loss_audit, monkeypatch):
    seen = []
    monkeypatch.setattr(pytest_plugin, "_fixture_outcome",
                        lambda state, request, options: seen.append((request, options)) or types.SimpleNamespace(
                            result="audited"))
    loss_audit("torch.nn.MSELoss")
    (request, options), = seen
    assert (options.seed, options.isolate, request.init) == (7, False, {"reduction": "sum"})


def test_the_request_normalises_what_it_is_given():
    request = AuditRequest("pkg:Loss", "focal", None, None, ["batch"])
    assert (request.init, request.conventions, request.layouts) == ({}, {}, ("batch",))
    assert Loss(target="pkg:Loss", name="x", as_="focal", layouts=("batch",)).request == request
