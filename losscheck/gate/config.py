"""The `[tool.losscheck]` table of a pyproject.toml: one schema for the pytest plugin and `losscheck ci`.

```toml
[tool.losscheck]
max-examples = 30          # hypothesis examples per check, 1 to 10000 (--max-examples)
seed = 0                   # 0 to 2**64-1 (--seed)
timeout = 10.0             # seconds one call of a loss may take, at most 86400 (--timeout)
memory-limit = "50%"       # of physical memory, or "4G", "1536M", "none" (--memory-limit)
fail-on = "error"          # or "warning" (--fail-on)
select = ["LC2", "LC301"]  # only these codes or prefixes (--select)
ignore = ["LC605"]         # drop these codes or prefixes (--ignore)
isolation = true           # false: run losses in the test process (--no-isolation)
ddp = 0                    # 0 off; 2 to 64: also check the loss sharded across that many processes (--ddp)
formats = ["md", "html", "json", "junit"]   # report formats written per loss (--format)
report-dir = "losscheck-reports"            # where `losscheck ci` writes (--output-dir)
baseline = "losscheck-baseline.json"        # accepted findings (`losscheck ci --baseline`)
jobs = 1                   # losses audited in parallel by `losscheck ci` (-j)

[[tool.losscheck.loss]]
target = "mypkg.losses:FocalLoss"           # required (the audit's TARGET)
name = "focal"             # optional: the loss's id in node ids, reports and the baseline (default: target)
as = "focal"               # --as
init = { gamma = 2.0 }     # --init
conventions = { alpha_form = "positives" }  # --convention
ignore = ["LC605"]         # added to the global ignore
select = ["LC1"]           # replaces the global select
max-examples = 50          # and every other option above: override the global value
```

The option keys are the settings losscheck.options declares, each checked by its declared validator, the
same door as the command line's. Relative paths (`report-dir`, `baseline`,
`path/to/file.py:Name` targets) are relative to the directory of the pyproject.toml. Every problem is a
`UsageError` with one line that names the file, the table and the key. Importing this module is cheap (no
torch, no hypothesis).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from losscheck.errors import UsageError
from losscheck.options import BY_KEY, AuditOptions, AuditRequest
from losscheck.report import FORMATS

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

DEFAULT_REPORT_FORMATS = ("md", "html", "json", "junit")
DEFAULT_REPORT_DIR = "losscheck-reports"
DEFAULT_BASELINE = "losscheck-baseline.json"

_TARGET_LINE = re.compile(r"""\s*target\s*=\s*(["'])(.*?)\1""")
# key -> kind ("option": a declared setting, checked by its validator)
_OPTION_KEYS = dict.fromkeys(BY_KEY, "option")
GLOBAL_KEYS = {**_OPTION_KEYS, "formats": "report_formats", "report-dir": "str", "baseline": "str", "jobs": "int>=1",
               "loss": "losses"}
LOSS_KEYS = {"target": "str", "name": "str", "as": "str", "init": "table", "conventions": "conventions",
             "layouts": "layouts", **_OPTION_KEYS}


@dataclass(frozen=True)
class Loss:
    """One configured loss, with the global options already merged into its own."""

    target: str
    name: str
    as_: str | None = None
    init: dict = field(default_factory=dict)
    conventions: dict = field(default_factory=dict)
    options: AuditOptions = field(default_factory=AuditOptions)
    layouts: tuple = ()      # layouts the loss must take (--layout)
    line: int | None = None  # where its `target = ...` is in the file (for annotations)

    @property
    def fail_on(self) -> str:
        return self.options.fail_on

    @property
    def request(self) -> AuditRequest:
        """What this loss's audit audits."""
        return AuditRequest(self.target, self.as_, self.init, self.conventions, self.layouts)

    @property
    def trusted_notice(self) -> str | None:
        """The line `ci` and the plugin print for a loss configured with `isolation = false`: it runs in their own
        process, so what it does there (an exit, a signal, a thread it leaves running) is not contained."""
        if self.options.isolate:
            return None
        return (f"losscheck: {self.name} runs in this process, trusted (isolation = false): an exit, a signal or a "
                "thread it leaves running ends or holds the whole run")

    def overridden(self, values: dict) -> Loss:
        """This loss with the checked settings `values` (a command line's flags) set over its own options."""
        return replace(self, options=replace(self.options, **values))

    def audit_kwargs(self, *, max_examples: int | None = None, seed: int | None = None) -> dict:
        """The keywords of losscheck.audit() that audit this loss as configured (the Python form of its audit);
        max_examples and seed override the configuration."""
        overrides = {k: v for k, v in (("max_examples", max_examples), ("seed", seed)) if v is not None}
        kwargs = {"as_": self.as_, "init": dict(self.init), "conventions": dict(self.conventions),
                  **self.options.update(overrides).audit_kwargs()}
        if self.layouts:
            kwargs["layouts"] = list(self.layouts)
        return kwargs


@dataclass(frozen=True)
class Config:
    path: Path | None = None       # the pyproject.toml it came from (None: no file)
    present: bool = False          # the file has a [tool.losscheck] table
    options: AuditOptions = field(default_factory=AuditOptions)  # the global options
    report_formats: tuple = DEFAULT_REPORT_FORMATS   # `formats` in [tool.losscheck]
    report_dir: str = DEFAULT_REPORT_DIR
    baseline: str = DEFAULT_BASELINE
    jobs: int = 1
    losses: tuple = ()

    @property
    def root(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def resolve(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else self.root / p


def load(path, *, required: bool = True) -> Config:
    """Read `[tool.losscheck]` from the pyproject.toml at `path`.

    A missing file is a UsageError when `required`, else an empty Config; a file without the table gives
    the defaults (present=False).
    """
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"the configuration file {path} is a folder; name the pyproject.toml")
    if not path.is_file():
        if required:
            raise UsageError(f"no such configuration file: {path}")
        return Config()
    try:
        with open(path, "rb") as fh:
            text = fh.read()
        data = tomllib.loads(text.decode("utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read {path}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path.name} is not valid TOML: {e}") from None
    table = data.get("tool", {}).get("losscheck")
    if table is None:
        return Config(path=path.resolve())
    return from_table(table, path=path.resolve(), text=text.decode("utf-8"))


def from_table(table, *, path: Path | None = None, text: str = "") -> Config:
    """Validate a `[tool.losscheck]` table (a dict, as tomllib reads it) and build the Config."""
    where = f"{path.name}: " if path else ""
    if not isinstance(table, dict):
        raise UsageError(f"{where}[tool.losscheck] must be a table")
    g = _validate(table, GLOBAL_KEYS, f"{where}[tool.losscheck]")
    options = AuditOptions(**_options_of(g))
    losses, names = [], {}
    for i, entry in enumerate(g.get("loss", []), 1):
        if not isinstance(entry, dict):
            raise UsageError(f"{where}[[tool.losscheck.loss]] #{i} must be a table")
        label = f"{where}[[tool.losscheck.loss]] #{i}" + (f" ({entry['target']})" if isinstance(
            entry.get("target"), str) else "")
        e = _validate(entry, LOSS_KEYS, label)
        if "target" not in e:
            raise UsageError(f"{label}: missing required key 'target'")
        name = e.get("name", e["target"])
        if name in names:
            raise UsageError(f"{label}: the name '{name}' is already used by loss #{names[name]}; give one of them "
                             "a distinct `name = \"...\"`")
        names[name] = i
        own = _options_of(e)
        if "ignore" in own:  # added to the global ignore; every other option replaces the global value
            own["ignore"] = tuple(dict.fromkeys([*options.ignore, *own["ignore"]]))
        losses.append(Loss(target=e["target"], name=name, as_=e.get("as"), init=e.get("init", {}),
                           conventions=e.get("conventions", {}), options=replace(options, **own),
                           layouts=tuple(e.get("layouts", ())),
                           line=_line_of(text, e["target"], sum(loss.target == e["target"] for loss in losses))))
    return Config(path=path, present=True, options=options,
                  report_formats=tuple(g.get("formats", DEFAULT_REPORT_FORMATS)),
                  report_dir=g.get("report-dir", DEFAULT_REPORT_DIR), baseline=g.get("baseline", DEFAULT_BASELINE),
                  jobs=g.get("jobs", 1), losses=tuple(losses))


def _options_of(table: dict) -> dict:
    """The audit options of a validated table, by field name."""
    return {BY_KEY[k].name: v for k, v in table.items() if k in BY_KEY}


def _validate(table: dict, schema: dict, label: str) -> dict:
    out = {}
    for key, value in table.items():
        if key not in schema:
            close = difflib.get_close_matches(key, list(schema), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (known keys: {', '.join(schema)})"
            raise UsageError(f"{label}: unknown key '{key}'{hint}")
        what = f"{label}: '{key}'"
        out[key] = BY_KEY[key].from_config(value, what) if schema[key] == "option" else _check(schema[key], value, what)
    return out


def _check(kind: str, value, what: str):
    def bad(expected):
        return UsageError(f"{what} must be {expected}, not {value!r}")

    if kind == "int>=1":
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad("an integer")
        if value < 1:
            raise bad("at least 1")
        return value
    if kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise bad("a non-empty string")
        return value.strip()
    if kind == "report_formats":
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not value or any(v not in FORMATS for v in value):
            raise bad(f"a list of formats from {', '.join(FORMATS)}")
        return tuple(dict.fromkeys(value))
    if kind == "table":
        if not isinstance(value, dict):
            raise bad("a table, e.g. { gamma = 2.0 }")
        return dict(value)
    if kind == "conventions":
        if not isinstance(value, dict) or any(not isinstance(v, str) for v in value.values()):
            raise bad('a table of names to strings, e.g. { alpha_form = "positives" }')
        return dict(value)
    if kind == "layouts":
        from losscheck.specs.base import LAYOUTS  # heavy (numpy, scipy, hypothesis): the plugin loads this module

        if not isinstance(value, list) or any(v not in LAYOUTS for v in value):
            raise bad(f"a list of layouts from {', '.join(LAYOUTS)}")
        return tuple(value)
    if kind == "losses":
        if not isinstance(value, list):
            raise bad("an array of tables: [[tool.losscheck.loss]]")
        return value
    raise AssertionError(kind)


def _line_of(text: str, target: str, before: int = 0) -> int | None:
    """The line of the `target = "..."` key of a loss entry: the one after `before` entries of the same target."""
    for n, line in enumerate(text.splitlines(), 1):
        m = _TARGET_LINE.match(line)
        if m and m.group(2) == target:
            if not before:
                return n
            before -= 1
    return None
