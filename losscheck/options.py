"""AuditOptions: the settings of an audit, their defaults and their validation, in one place.

The command line (`losscheck audit`, `ci`, `report`), `[tool.losscheck]`, the pytest plugin and the gallery
all build their settings here, so a value is accepted or refused the same way wherever it comes from. A
refusal is a UsageError of one line naming the option as its source spells it and the bad value:
`--timeout must be a finite number of seconds, more than 0 and at most 86400, not 'nan'`.

| field        | flag           | config key   | accepted                                                       |
|--------------|----------------|--------------|----------------------------------------------------------------|
| seed         | --seed         | seed         | an integer 0 .. 2**64-1 (torch.manual_seed's range); default 0 |
| max_examples | --max-examples | max-examples | an integer 1 .. 10000; default 30                              |
| timeout      | --timeout      | timeout      | seconds per call, finite, > 0 and <= 86400; default 10         |
| select       | --select       | select       | codes or prefixes of codes (LC2, LC30, LC301); default all     |
| ignore       | --ignore       | ignore       | the same; default none                                         |
| isolate      | --no-isolation | isolation    | true or false; default true                                    |
| ddp          | --ddp          | ddp          | 0 (off, the default) or 2 .. 64 processes                      |
| memory_limit | --memory-limit | memory-limit | 4G, 1536M, 1.5GiB, 50% (of physical memory), none or 0 (no     |
|              |                |              | limit: 0 bytes); at least 1G; default 50% of physical memory   |
| fail_on      | --fail-on      | fail-on      | "error" (the default) or "warning"                             |

Every field but fail_on is a keyword argument of losscheck.judge.auditor.audit() (`audit_kwargs()`); fail_on
decides the exit code. Importing this module is cheap (no torch, no hypothesis).
"""
from __future__ import annotations

import difflib
import functools
import math
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable

from losscheck.errors import UsageError

DEFAULT_SEED = 0
DEFAULT_MAX_EXAMPLES = 30
DEFAULT_TIMEOUT = 10.0
DEFAULT_MEMORY_SHARE = 50  # percent of physical memory
MAX_SEED = 2**64 - 1
MAX_EXAMPLES = 10_000
MAX_TIMEOUT = 86_400.0
MAX_DDP = 64
MIN_MEMORY = 2**30  # the worker imports torch under an address-space limit: less cannot start it
FAIL_ON = ("error", "warning")

_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_SIZE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(?:i?b)?")
_SHARE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*%")
_CODE = re.compile(r"LC\d{0,3}")


@functools.lru_cache(maxsize=1)
def physical_memory() -> int | None:
    """Bytes of memory this process may use: the machine's, or its cgroup's limit when lower; None if unknown."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            limit = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if limit.isdigit():
            total = min(total, int(limit))
    return total


def default_memory_limit() -> int:
    """DEFAULT_MEMORY_SHARE percent of physical memory in bytes (0, no limit, where that is unknown)."""
    total = physical_memory()
    return 0 if total is None else max(MIN_MEMORY, total * DEFAULT_MEMORY_SHARE // 100)


def format_bytes(n: int) -> str:
    """`4G`, `1.5G`, `512M`: the short form of a byte count (`none` for 0, no limit)."""
    if not n:
        return "none"
    for unit in "TGMK":
        if n >= _UNITS[unit.lower()]:
            return f"{n / _UNITS[unit.lower()]:.3g}{unit}"
    return str(n)


# -- one checker per option: (value as the source gave it, the option's name there) -> the valid value -------
def _refuse(what: str, expected: str, value) -> UsageError:
    return UsageError(f"{what} must be {expected}, not {value!r}")


def _integer(value, what: str, expected: str) -> int:
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise _refuse(what, expected, value) from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refuse(what, expected, value)
    return value


def _bounded(low: int, high: int, expected: str):
    def check(value, what: str) -> int:
        n = _integer(value, what, expected)
        if not low <= n <= high:
            raise _refuse(what, expected, value)
        return n
    return check


def _timeout(value, what: str) -> float:
    expected = f"a finite number of seconds, more than 0 and at most {MAX_TIMEOUT:g}"
    try:
        seconds = float(value.strip()) if isinstance(value, str) else value
    except ValueError:
        raise _refuse(what, expected, value) from None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not (
            math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT):
        raise _refuse(what, expected, value)
    return float(seconds)


def _ddp(value, what: str) -> int:
    expected = f"0 (off) or a number of processes from 2 to {MAX_DDP}"
    n = _integer(value, what, expected)
    if n != 0 and not 2 <= n <= MAX_DDP:
        raise _refuse(what, expected, value)
    return n


def _flag(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise _refuse(what, "true or false", value)
    return value


def _fail_on(value, what: str) -> str:
    if value not in FAIL_ON:
        raise _refuse(what, '"error" or "warning"', value)
    return value


def _codes(value, what: str) -> tuple[str, ...]:
    from losscheck.pitfalls import PITFALLS

    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or any(not isinstance(v, str) for v in items):
        raise _refuse(what, 'codes or prefixes of codes, e.g. "LC2,LC301" or ["LC2", "LC301"]', value)
    codes = tuple(dict.fromkeys(v.strip().upper() for v in items if v.strip()))
    for code in codes:
        if not (_CODE.fullmatch(code) and any(known.startswith(code) for known in PITFALLS)):
            close = difflib.get_close_matches(code, list(PITFALLS), n=1)
            hint = f"; did you mean {close[0]}?" if close else " (see `losscheck explain --table`)"
            raise UsageError(f"{what}: {code!r} is no pitfall code and no prefix of one{hint}")
    return codes


def _memory_limit(value, what: str) -> int:
    """Bytes, or 0 for no limit (as audit() takes it)."""
    expected = (f"a size such as 4G or 1536M (at least {format_bytes(MIN_MEMORY)}), a share of physical memory "
                "such as 50%, or none (no limit)")
    if value is None:
        return 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("none", "0"):
            return 0
        size, share = _SIZE.fullmatch(text), _SHARE.fullmatch(text)
        if share:
            total = physical_memory()
            if total is None:
                raise UsageError(f"{what} {value!r}: the physical memory of this machine is unknown; give a size")
            if not 0 < float(share.group(1)) <= 100:
                raise _refuse(what, expected, value)
            nbytes = int(total * float(share.group(1)) / 100)
        elif size:
            nbytes = int(float(size.group(1)) * _UNITS[size.group(2)])
        else:
            raise _refuse(what, expected, value)
    elif isinstance(value, bool) or not isinstance(value, int):
        raise _refuse(what, expected, value)
    elif value == 0:
        return 0
    else:
        nbytes = value
    if nbytes < MIN_MEMORY:
        raise _refuse(what, expected, value)
    return nbytes


@dataclass(frozen=True)
class Option:
    """One audit option: its field, its names on the command line and in [tool.losscheck], its checker."""

    field: str
    flag: str
    key: str
    check: Callable[[Any, str], Any]  # (value, what) -> valid value, or UsageError


OPTIONS = {o.field: o for o in (
    Option("seed", "--seed", "seed", _bounded(0, MAX_SEED, f"an integer from 0 to {MAX_SEED} (2**64-1)")),
    Option("max_examples", "--max-examples", "max-examples",
           _bounded(1, MAX_EXAMPLES, f"an integer from 1 to {MAX_EXAMPLES}")),
    Option("timeout", "--timeout", "timeout", _timeout),
    Option("select", "--select", "select", _codes),
    Option("ignore", "--ignore", "ignore", _codes),
    Option("isolate", "--no-isolation", "isolation", _flag),
    Option("ddp", "--ddp", "ddp", _ddp),
    Option("memory_limit", "--memory-limit", "memory-limit", _memory_limit),
    Option("fail_on", "--fail-on", "fail-on", _fail_on),
)}
BY_KEY = {o.key: o for o in OPTIONS.values()}
AUDIT_FIELDS = tuple(f for f in OPTIONS if f != "fail_on")  # the keyword arguments of audit() they set


def check(name: str, value, what: str | None = None):
    """The valid form of `value` for the option `name` (a field), or a UsageError naming it `what`."""
    return OPTIONS[name].check(value, what or name)


def flag(name: str) -> str:
    """How the command line spells option `name`: `--max-examples`."""
    return OPTIONS[name].flag


def checked(values: dict, name=flag) -> dict:
    """`values` (field -> value as its source gives it), each checked; a refusal names the option `name(field)`
    (the command line's flag by default)."""
    return {f: check(f, v, name(f)) for f, v in values.items()}


def given(args) -> dict:
    """The options set on a command line: the fields of an argparse namespace that are not None."""
    return {f: getattr(args, f) for f in OPTIONS if getattr(args, f, None) is not None}


@dataclass(frozen=True)
class AuditOptions:
    """The validated settings of one audit. Building one checks every field (values may be given as the
    command line spells them, '30', 'LC2,LC301', '4G'); `update` does the same with source-specific names."""

    seed: int = DEFAULT_SEED
    max_examples: int = DEFAULT_MAX_EXAMPLES
    timeout: float = DEFAULT_TIMEOUT
    select: tuple = ()
    ignore: tuple = ()
    isolate: bool = True
    ddp: int = 0
    memory_limit: int = field(default_factory=default_memory_limit)  # bytes; 0: no limit
    fail_on: str = "error"

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, check(f.name, getattr(self, f.name)))

    def update(self, values: dict, name=flag) -> AuditOptions:
        """A copy with `values` set, checked as `checked(values, name)` does."""
        return replace(self, **checked(values, name))

    def audit_kwargs(self) -> dict:
        """The keyword arguments of losscheck.judge.auditor.audit() these options set."""
        return {f: list(getattr(self, f)) if f in ("select", "ignore") else getattr(self, f) for f in AUDIT_FIELDS}
