"""The settings of an audit and what it audits: each setting declared once, the request typed once.

`_define_setting` declares an audit option with everything every front end needs: its default, its help
text, its validator, its flag on the command line and its key in `[tool.losscheck]`, and which front ends
offer it (the commands `audit`, `ci`, `report`, and `pytest`, the plugin's `--losscheck-<flag>`). From those
declarations come the fields of `AuditOptions`, the argparse arguments and their help (losscheck.cli, the
plugin's options), the keys `[tool.losscheck]` accepts and how it checks them (losscheck.gate.config), and
the keywords of `losscheck.audit()`. Adding an option is its declaration here and its use.

A value is accepted or refused the same way wherever it comes from. A refusal is a UsageError of one line
naming the option as its source spells it and the bad value: `--timeout must be a finite number of seconds,
more than 0 and at most 86400, not 'nan'`.

`AuditRequest` is what to audit (target, catalogue id, constructor arguments, declared conventions, required
layouts); `AuditOptions` how. Every front end (`losscheck audit`, `ci` and the gallery through
losscheck.gate.runner, the pytest plugin, `losscheck.audit()`) builds the two, and the engine
(losscheck.judge.auditor.audit_request) takes them whole. Importing this module is cheap (no torch, no
hypothesis).
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
from losscheck.pitfalls import PITFALLS

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
class Setting:
    """One audit option as it is declared (`_define_setting`): what every front end builds from it."""

    name: str         # the AuditOptions field, and the keyword of losscheck.audit()
    default: Any      # the value, or a function of nothing that gives it (memory_limit: a share of this machine)
    help: str         # the command line's help (the plugin's too): what it does, what it takes, its default
    validator: Callable[[Any, str], Any]  # (value as its source gives it, its name there) -> valid value | UsageError
    metavar: str | None  # the value's name in the help; None: a switch, its flag sets the opposite of the default
    flag: str         # on the command line: `--max-examples`
    key: str          # in [tool.losscheck]: `max-examples`
    offered_by: tuple  # the front ends with a flag for it: "audit", "ci", "report" (commands), "pytest" (plugin)
    config_types: tuple  # the TOML types [tool.losscheck] accepts for it (a command line gives every value as text)
    decides_exit: bool = False  # True: it decides the exit code from the result and leaves the audit as it is

    @property
    def pytest_flag(self) -> str:
        """The plugin's flag: `--losscheck-max-examples`."""
        return "--losscheck-" + self.flag.removeprefix("--")

    def initial(self):
        """The default value."""
        return self.default() if callable(self.default) else self.default

    def argument(self, dest: str, note: str = "") -> dict:
        """The keywords of argparse's add_argument (and pytest's addoption) for its flag: a flag not given is None
        (the configuration or the default applies)."""
        keywords = {"dest": dest, "default": None, "help": (self.help + note).replace("%", "%%")}
        if self.metavar is None:
            return {**keywords, "action": "store_const", "const": not self.initial()}
        return {**keywords, "metavar": self.metavar}

    def from_config(self, value, what: str):
        """The valid form of `value` as [tool.losscheck] gives it: its validator's check, then its TOML type (a
        quoted "3" is not the integer 3 there, as ruff and pytest refuse a wrong type in their tables)."""
        valid = self.validator(value, what)
        if isinstance(value, bool) != (bool in self.config_types) or not isinstance(value, self.config_types):
            types = ("a number",) if set(self.config_types) == {int, float} else \
                [TOML_TYPE_NAMES[t] for t in self.config_types]
            seen = TOML_TYPE_NAMES.get(type(value), type(value).__name__)
            raise UsageError(f"{what} must be {' or '.join(types)}, not {value!r} ({seen})")
        return valid


TOML_TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
                   dict: "a table"}

SETTINGS: dict[str, Setting] = {}  # name -> its declaration, in declaration order (AuditOptions' field order)


def _define_setting(name: str, *, default, help: str, validator, metavar: str | None, offered_by: tuple,
                    config_types: tuple, flag: str | None = None, key: str | None = None,
                    decides_exit: bool = False) -> None:
    """Declare the audit option `name`; its flag is `--name-with-dashes` and its key `name-with-dashes` unless
    given."""
    dashed = name.replace("_", "-")
    SETTINGS[name] = Setting(name, default, help, validator, metavar, flag or f"--{dashed}", key or dashed,
                             tuple(offered_by), tuple(config_types), decides_exit)


_define_setting("seed", default=DEFAULT_SEED, metavar="N", offered_by=("audit", "ci", "report", "pytest"),
                config_types=(int,), validator=_bounded(0, MAX_SEED, f"an integer from 0 to {MAX_SEED} (2**64-1)"),
                help=f"seed of the audit, 0 to 2**64-1 (default {DEFAULT_SEED}): the same seed gives the same "
                     "findings")
_define_setting("max_examples", default=DEFAULT_MAX_EXAMPLES, metavar="N",
                offered_by=("audit", "ci", "report", "pytest"), config_types=(int,),
                validator=_bounded(1, MAX_EXAMPLES, f"an integer from 1 to {MAX_EXAMPLES}"),
                help=f"hypothesis examples per check, 1 to {MAX_EXAMPLES} (default {DEFAULT_MAX_EXAMPLES})")
_define_setting("timeout", default=DEFAULT_TIMEOUT, metavar="SECONDS", offered_by=("audit",), validator=_timeout,
                config_types=(int, float),
                help=f"seconds one call of the loss may take, at most {MAX_TIMEOUT:g} (default {DEFAULT_TIMEOUT:g})")
_define_setting("select", default=(), metavar="CODES", offered_by=("audit",), validator=_codes,
                config_types=(str, list), help="only these codes or prefixes (LC2,LC301)")
_define_setting("ignore", default=(), metavar="CODES", offered_by=("audit",), validator=_codes,
                config_types=(str, list), help="drop these codes or prefixes")
_define_setting("isolate", default=True, metavar=None, offered_by=("audit",), validator=_flag, config_types=(bool,),
                flag="--no-isolation", key="isolation", help="run the candidate in this process (for debugging)")
_define_setting("ddp", default=0, metavar="N", offered_by=("audit",), validator=_ddp, config_types=(int,),
                help=f"also check the loss sharded across N (2 to {MAX_DDP}) torch.distributed (gloo, CPU) "
                     "processes; 0: off")
_define_setting("precision", default=False, metavar=None, offered_by=("audit", "ci", "report", "pytest"),
                validator=_flag, config_types=(bool,),
                help="also run the precision family: the loss in bf16 and fp16 under CPU autocast")
_define_setting("precision_screen", default=True, metavar=None, offered_by=("audit", "ci", "report", "pytest"),
                validator=_flag, config_types=(bool,), flag="--no-precision-screen",
                help="skip the precision screen that runs by default: the loss under bf16 and fp16 CPU autocast on a "
                     "few examples, its findings warnings at most (--precision runs it in full, its findings errors)")
_define_setting("precision_raw", default=False, metavar=None, offered_by=("audit", "ci", "report", "pytest"),
                validator=_flag, config_types=(bool,),
                help="also run the precision family on raw bf16 and fp16 inputs without autocast, as FSDP's mixed "
                     "precision feeds a loss (implies --precision)")
_define_setting("compile", default=False, metavar=None, offered_by=("audit", "ci", "report", "pytest"),
                validator=_flag, config_types=(bool,),
                help="also run the compile family: the loss under torch.compile (aot_eager, dynamic shapes) against "
                     "its eager run")
_define_setting("inductor", default=False, metavar=None, offered_by=("audit", "ci", "report", "pytest"),
                validator=_flag, config_types=(bool,),
                help="with --compile, also compile the loss once with inductor, in float32 and bf16 autocast (a cold "
                     "compile takes about 20 s)")
_define_setting("fullgraph", default=False, metavar=None, offered_by=("audit", "ci", "report", "pytest"),
                validator=_flag, config_types=(bool,),
                help="with --compile, report a graph break as a warning (the loss must compile as one graph)")
_define_setting("memory_limit", default=default_memory_limit, metavar="SIZE", offered_by=("audit", "ci", "report"),
                validator=_memory_limit, config_types=(str, int),
                help="memory the audited loss may use: 4G, 1536M, 50% (of physical memory) or none "
                     f"(default {DEFAULT_MEMORY_SHARE}%)")
_define_setting("fail_on", default="error", metavar="|".join(FAIL_ON), offered_by=("audit", "ci"),
                validator=_fail_on, decides_exit=True, config_types=(str,),
                help="the lowest severity that fails (default error)")

BY_KEY = {s.key: s for s in SETTINGS.values()}
AUDIT_FIELDS = tuple(n for n, s in SETTINGS.items() if not s.decides_exit)  # the option keywords of audit()


def offered_by(front: str) -> list[Setting]:
    """The settings front end `front` ("audit", "ci", "report", "pytest") has a flag for, in declaration order."""
    return [s for s in SETTINGS.values() if front in s.offered_by]


def check(name: str, value, what: str | None = None):
    """The valid form of `value` for the setting `name`, or a UsageError naming it `what`."""
    return SETTINGS[name].validator(value, what or name)


def flag(name: str) -> str:
    """How the command line spells setting `name`: `--max-examples`."""
    return SETTINGS[name].flag


def checked(values: dict, name=flag) -> dict:
    """`values` (setting -> value as its source gives it), each checked; a refusal names the setting `name(setting)`
    (the command line's flag by default)."""
    return {f: check(f, v, name(f)) for f, v in values.items()}


def given(args, dest=lambda name: name) -> dict:
    """The settings set on a command line: those whose argparse destination `dest(name)` is not None."""
    return {n: getattr(args, dest(n)) for n in SETTINGS if getattr(args, dest(n), None) is not None}


def _declared_fields(cls):
    """Give `cls` one field per declared setting, in declaration order, with its default."""
    cls.__annotations__ = dict.fromkeys(SETTINGS, "Any")
    for s in SETTINGS.values():
        setattr(cls, s.name, field(default_factory=s.default) if callable(s.default) else s.default)
    return cls


@dataclass(frozen=True)
@_declared_fields
class AuditOptions:
    """The validated settings of one audit, one field per declared setting. Building one checks every field
    (values may be given as the command line spells them, '30', 'LC2,LC301', '4G'); `update` does the same with
    source-specific names. The engine receives it whole."""

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, check(f.name, getattr(self, f.name)))

    def update(self, values: dict, name=flag) -> AuditOptions:
        """A copy with `values` set, checked as `checked(values, name)` does."""
        return replace(self, **checked(values, name))

    def audit_kwargs(self) -> dict:
        """These options as the keywords of `losscheck.audit()` (select and ignore as lists): the Python form of
        an audit configured elsewhere."""
        return {f: list(getattr(self, f)) if f in ("select", "ignore") else getattr(self, f) for f in AUDIT_FIELDS}


@dataclass(frozen=True)
class AuditRequest:
    """What to audit, as every front end names it; the engine receives it whole. `init` and `conventions` may be
    given as None (none), `layouts` as any sequence."""

    target: Any                 # a target string (pkg.mod:Name, path/file.py:Name) or a class, function or instance
    loss_id: str | None = None  # the catalogue id (--as, `as_`, `as = ...`); None: detected (torch built-ins)
    init: dict = field(default_factory=dict)         # constructor (or keyword) arguments (--init)
    conventions: dict = field(default_factory=dict)  # conventions the user declares (--convention)
    layouts: tuple = ()         # layouts the loss must take, graded as required (--layout)

    def __post_init__(self):
        object.__setattr__(self, "init", dict(self.init or {}))
        object.__setattr__(self, "conventions", dict(self.conventions or {}))
        object.__setattr__(self, "layouts", tuple(self.layouts or ()))
