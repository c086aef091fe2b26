"""losscheck.options, the one door for audit options: what each option accepts and refuses (one line naming
the option and the value), defaults, and that the CLI, the config and audit() agree on the same fields."""
from __future__ import annotations

import argparse
import inspect
import math
import re
from dataclasses import fields

import pytest

from losscheck.errors import UsageError
from losscheck.options import (AUDIT_FIELDS, MAX_SEED, MIN_MEMORY, SETTINGS, AuditOptions, check, checked,
                               default_memory_limit, format_bytes, given, physical_memory)

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
    ("LC2,LC9", "--select: 'LC9' is no pitfall code and no prefix of one (see `losscheck explain --table`)"),
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
                      "isolate": True, "ddp": 0, "memory_limit": 2 * G}
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
