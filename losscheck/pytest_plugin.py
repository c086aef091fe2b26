"""losscheck's pytest plugin (entry point `pytest11: losscheck`): audits inside your own test suite.

- `[[tool.losscheck.loss]]` in the rootdir's pyproject.toml: one test item per loss and family, with node
  ids like `losscheck::mypkg.losses:FocalLoss::gradient`; each loss is audited once per session and each
  family item fails with that family's findings, less those the baseline accepts (`baseline` in
  [tool.losscheck], as `losscheck ci` reads it). Collected when pytest runs a directory (or no arguments);
  `--losscheck-no-collect` leaves them out, `--losscheck-collect` forces them in.
- the `loss_audit` fixture: `loss_audit(target_or_object, as_=None, init=None, conventions=None, **options)`
  returns the AuditResult; `result.assert_ok()` fails with one line per finding and the first reproducer.
- the `losscheck` marker: `@pytest.mark.losscheck(*targets, as_=..., ignore=[...], ...)` gives the fixture
  its defaults; positional targets parametrize a test argument named `loss_target`.
- `--losscheck-max-examples N`, `--losscheck-seed N` (override the configuration; built from the settings
  losscheck.options offers to "pytest"), `--losscheck-report DIR` (md/html/json/junit per audited loss and a
  summary.md).
- pytest-xdist: the workers share one cache of audits (a file lock per loss), so each loss is audited once
  whichever worker its items land on; items carry `xdist_group` marks for `--dist loadgroup`.

Loading the plugin is cheap: torch and hypothesis are imported only when a loss is audited.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pytest

from losscheck.gate.baseline import Accepted, compare, legacy_note, load_baseline
from losscheck.gate.config import Config, Loss, load
from losscheck.gate.runner import LossOutcome, audit_loss, judged, outcome_of
from losscheck.errors import UsageError
from losscheck.options import AUDIT_FIELDS, SETTINGS, AuditOptions, AuditRequest, checked, given, offered_by
from losscheck.pitfalls import FAMILIES
from losscheck.report.escape import printable
from losscheck.report.files import output_dir, report_stems, write_atomic, write_reports
from losscheck.report.run_summary import render_summary

try:
    import fcntl
except ImportError:  # Windows: each xdist worker audits on its own
    fcntl = None

SHARED_KEY = "losscheck_shared"
# config keys that are Python names but not the setting's (isolation = ...): the marker and the fixture take both
KEY_ALIASES = {s.key: s.name for s in SETTINGS.values() if s.key.isidentifier() and s.key != s.name}


@dataclass
class _State:
    config: Config
    overrides: dict = field(default_factory=dict)  # the settings given on pytest's command line, checked
    report_dir: Path | None = None
    cache: dict = field(default_factory=dict)   # key -> runner.LossOutcome
    shared: str | None = None                   # directory shared by the xdist workers of this run
    owns_shared: bool = False
    objects: int = 0                            # audits of objects (not target strings) so far
    baseline: list = field(default_factory=list)  # the accepted findings of the configured losses

    @property
    def options(self) -> AuditOptions:
        """The configuration's global options with the command line's (--losscheck-seed N ...) set over them."""
        return replace(self.config.options, **self.overrides)


STATE = pytest.StashKey[_State]()


# -- configuration -------------------------------------------------------------------------------------
def pytest_addoption(parser):
    group = parser.getgroup("losscheck", "losscheck: audit loss functions against float64 references")
    for setting in offered_by("pytest"):
        group.addoption(setting.pytest_flag,
                        **setting.argument(_dest(setting.name), "; overrides [tool.losscheck] for every audit"))
    group.addoption("--losscheck-report", default=None, metavar="DIR",
                    help="write md/html/json/junit reports of every audited loss, and summary.md, to DIR")
    group.addoption("--losscheck-no-collect", action="store_true",
                    help="do not collect the losses listed in [[tool.losscheck.loss]]")
    group.addoption("--losscheck-collect", action="store_true",
                    help="collect the configured losses even when pytest is given only files or node ids")


def _dest(name: str) -> str:
    """Where pytest keeps the value of the setting `name`'s flag."""
    return f"losscheck_{name}"


def overrides(namespace) -> dict:
    """The settings given on pytest's command line (`namespace`: pytest's parsed options), checked; a refusal
    names the plugin's flag."""
    return checked(given(namespace, _dest), lambda name: SETTINGS[name].pytest_flag)


def _pyproject(config) -> Path:
    inipath = getattr(config, "inipath", None)
    if inipath is not None and Path(inipath).name == "pyproject.toml":
        return Path(inipath)
    return Path(config.rootpath) / "pyproject.toml"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "losscheck(*targets, as_=None, init=None, conventions=None, **options): settings for the "
        "loss_audit fixture; positional targets parametrize a `loss_target` argument")
    try:
        cfg = load(_pyproject(config), required=False)
        given_settings, report = overrides(config.option), config.getoption("losscheck_report")
        report_dir = output_dir(Path(config.invocation_params.dir, report), "--losscheck-report") if report else None
        state = _State(cfg, given_settings, report_dir,
                       baseline=load_baseline(cfg.resolve(cfg.baseline)) if cfg.present else [])
    except UsageError as e:
        raise pytest.UsageError(f"losscheck: {printable(e)}") from None
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        state.shared = workerinput.get(SHARED_KEY)
    config.stash[STATE] = state


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist (controller): give every worker the same directory for the audit cache."""
    state = node.config.stash[STATE]
    if state.shared is None:
        state.shared, state.owns_shared = tempfile.mkdtemp(prefix="losscheck-xdist-"), True
    node.workerinput[SHARED_KEY] = state.shared


def pytest_unconfigure(config):
    state = config.stash.get(STATE, None)
    if state is not None and state.owns_shared and state.shared:
        shutil.rmtree(state.shared, ignore_errors=True)


def pytest_report_header(config):
    state = config.stash.get(STATE, None)
    if state is None or not state.config.losses:
        return None
    options = state.options
    return [f"losscheck: {len(state.config.losses)} configured loss(es) in {state.config.path.name}, "
            f"max-examples {options.max_examples}, seed {options.seed}, {len(state.baseline)} accepted in "
            f"{state.config.baseline}",
            *(loss.trusted_notice for loss in state.config.losses if loss.trusted_notice),
            *filter(None, [legacy_note(state.baseline, state.config.baseline)])]


# -- audits, cached per session and shared between xdist workers ----------------------------------------
def _obtain(state: _State, key: str, compute):
    """The LossOutcome for `key`: from this process's cache, from the xdist workers' shared cache, or computed
    here (its reports are written at the end of the session, under names that tell its audits apart)."""
    if key in state.cache:
        return state.cache[key]
    if state.shared and fcntl is not None and os.path.isdir(state.shared):
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        data, lock = Path(state.shared, f"{digest}.pickle"), Path(state.shared, f"{digest}.lock")
        with open(lock, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                if data.is_file():
                    outcome = pickle.loads(data.read_bytes())
                else:
                    outcome = compute()
                    try:
                        write_atomic(data, pickle.dumps(outcome))
                    except Exception:  # an unpicklable result: the other workers audit it themselves
                        pass
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
    else:
        outcome = compute()
    state.cache[key] = outcome
    return outcome


def _configured_outcome(config, loss: Loss):
    state = config.stash[STATE]
    key = json.dumps(["loss", loss.name, state.overrides], sort_keys=True)

    def compute():
        return audit_loss(state.config.root, loss.overridden(state.overrides))

    return _obtain(state, key, compute)


# -- collection of the configured losses ----------------------------------------------------------------
class LosscheckFailure(Exception):
    """A family item's findings (or why the loss could not be audited), shown as they are."""


class LosscheckRoot(pytest.Collector):
    def collect(self):
        return list(self._children)


class LossCollector(pytest.Collector):
    def collect(self):
        return list(self._children)

    def outcome(self):
        return _configured_outcome(self.config, self.loss)


class LossFamilyItem(pytest.Item):
    def runtest(self):
        loss, outcome = self.parent.loss, self.parent.outcome()
        if outcome.result is None:
            raise LosscheckFailure(f"losscheck: {loss.name} cannot be audited: {outcome.error}")
        result, accepted = outcome.result, Accepted(self.config.stash[STATE].baseline)
        failing = [f for f in result.failing(loss.fail_on)
                   if f.family == self.family and accepted.reason(loss.name, f) is None]
        if failing:
            raise LosscheckFailure(result.failure_text(loss.fail_on, failing))
        for f in result.findings + result.suppressed:
            if f.family == self.family:
                reason = accepted.reason(loss.name, f)
                why = (f" (suppressed in the source: {f.suppressed})" if f.suppressed is not None
                       else f" (accepted in the baseline: {reason})" if reason is not None else "")
                self.user_properties.append(("losscheck", f"{f.code} {f.severity} {f.title}{why}"))
        checks = [c for c in result.checks if c.family == self.family]
        if checks and all(c.status == "skip" for c in checks):
            pytest.skip("; ".join(dict.fromkeys(c.detail for c in checks)) or "every check skipped")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, LosscheckFailure):
            return printable(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        line = self.parent.loss.line
        return self.path, (line - 1 if line else None), f"losscheck {self.parent.loss.name} [{self.family}]"


def _collect_wanted(config) -> bool:
    if config.getoption("losscheck_no_collect"):
        return False
    if config.getoption("losscheck_collect"):
        return True
    if getattr(config, "args_source", None) != pytest.Config.ArgsSource.ARGS:
        return True
    for arg in config.args:  # a run of named files or node ids leaves the losses out
        if "::" not in arg and Path(config.invocation_params.dir, arg).is_dir():
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    state = config.stash[STATE]
    if not state.config.losses or not _collect_wanted(config):
        return
    xdist = config.pluginmanager.hasplugin("xdist")
    root = LosscheckRoot.from_parent(session, name="losscheck", nodeid="losscheck", path=state.config.path)
    root._children = []
    for loss in state.config.losses:
        node = LossCollector.from_parent(root, name=loss.name, path=state.config.path)
        node.loss, node._children = loss, []
        for family in FAMILIES:
            item = LossFamilyItem.from_parent(node, name=family, path=state.config.path)
            item.family = family
            item.add_marker("losscheck")
            if xdist:
                item.add_marker(pytest.mark.xdist_group(f"losscheck:{loss.name}"))
            node._children.append(item)
        root._children.append(node)
        items.extend(node._children)
        config.hook.pytest_collectreport(report=pytest.CollectReport(node.nodeid, "passed", None, node._children))


# -- the fixture and the marker ------------------------------------------------------------------------
def _marker_settings(node) -> tuple[tuple, dict]:
    """(targets, settings) of the losscheck markers on `node`, the closest winning key by key."""
    targets, settings = (), {}
    for mark in reversed(list(node.iter_markers("losscheck"))):
        settings.update(mark.kwargs)
        targets = mark.args or targets
    if "as" in settings:
        settings["as_"] = settings.pop("as")
    return targets, _by_name(settings)


def _by_name(settings: dict) -> dict:
    """`settings` with each setting under its name (`isolation=` as `isolate`)."""
    return {KEY_ALIASES.get(k, k): v for k, v in settings.items()}


def pytest_generate_tests(metafunc):
    if "loss_target" not in metafunc.fixturenames:
        return
    targets, _ = _marker_settings(metafunc.definition)
    if targets:
        metafunc.parametrize("loss_target", targets,
                             ids=[t if isinstance(t, str) else getattr(t, "__name__", repr(t)) for t in targets])


@pytest.fixture
def loss_audit(request):
    """Audit a loss from a test: `loss_audit(target_or_object, as_=None, init=None, conventions=None, **options)`.

    `target_or_object` is a target string (`pkg.mod:Name`, `path/file.py:Name`) or a class, function or
    instance; options are those of losscheck.audit (seed, max_examples, timeout, select, ignore, isolate, ddp,
    memory_limit), checked by losscheck.options (a bad value fails the test with one line).
    Returns the AuditResult; call `.assert_ok()` on it. Settings come from, in order of precedence: the
    call, `@pytest.mark.losscheck(...)`, --losscheck-max-examples/--losscheck-seed, [tool.losscheck].
    String targets are audited once per session for the same settings.
    """
    state = request.config.stash[STATE]
    _, marked = _marker_settings(request.node)

    def run(target_or_object=None, as_=None, init=None, conventions=None, **options):
        __tracebackhide__ = True
        options = _by_name(options)
        unknown = sorted(set(options) - set(AUDIT_FIELDS))
        if unknown:
            raise TypeError(f"loss_audit() got unknown option(s) {', '.join(unknown)} "
                            f"(takes {', '.join(AUDIT_FIELDS)})")
        if target_or_object is None:
            callspec = getattr(request.node, "callspec", None)
            target_or_object = callspec.params.get("loss_target") if callspec else None
            if target_or_object is None:
                raise TypeError("loss_audit() needs a target (or a test parametrized over `loss_target`)")
        try:
            settings = state.options.update({k: v for k, v in marked.items() if k in AUDIT_FIELDS},
                                            lambda name: f"@pytest.mark.losscheck({name}=...)")
            settings = settings.update(options, lambda name: f"loss_audit({name}=...)")
        except UsageError as e:
            pytest.fail(f"losscheck: error: {printable(e)}", pytrace=False)
        request = AuditRequest(target_or_object, as_ if as_ is not None else marked.get("as_"),
                               init if init is not None else marked.get("init"),
                               conventions if conventions is not None else marked.get("conventions"))
        outcome = _fixture_outcome(state, request, settings)
        if outcome.result is None:
            pytest.fail(printable(f"losscheck: cannot audit {_label(target_or_object)}: {outcome.error}"),
                        pytrace=False)
        return outcome.result

    return run


def _label(target) -> str:
    return target if isinstance(target, str) else getattr(target, "__qualname__", type(target).__qualname__)


def _fixture_outcome(state: _State, request: AuditRequest, options: AuditOptions):
    name = _label(request.target)
    loss = Loss(target=name, name=name, as_=request.loss_id)

    def compute():
        try:
            return outcome_of(loss, judged(request, options))
        except UsageError as e:
            return LossOutcome(loss, error=str(e))

    if not isinstance(request.target, str):  # objects cannot be keyed across calls or processes: never reused
        state.objects += 1
        return _obtain(state, f"object:{os.getpid()}:{state.objects}", compute)
    key = json.dumps(["fixture", asdict(request), asdict(options)], sort_keys=True, default=repr)
    return _obtain(state, key, compute)


# -- the summary ---------------------------------------------------------------------------------------
def pytest_sessionfinish(session):
    config = session.config
    state = config.stash.get(STATE, None)
    if state is None or state.report_dir is None or hasattr(config, "workerinput"):
        return
    outcomes = dict(state.cache)
    if state.shared and os.path.isdir(state.shared):
        for path in sorted(Path(state.shared).glob("*.pickle")):
            try:
                outcomes.setdefault(path.stem, pickle.loads(path.read_bytes()))
            except Exception:
                continue
    if not outcomes:
        return
    ordered = sorted(outcomes.values(), key=lambda o: o.name)
    for o, stem in zip(ordered, report_stems(ordered)):  # one name per distinct audit, as summary.md links them
        if o.result is not None:
            write_reports(o.result, state.report_dir, stem, state.config.report_formats)
    cmp = compare(ordered, state.baseline, {loss.name for loss in state.config.losses}) if state.baseline else None
    write_atomic(state.report_dir / "summary.md",
                 render_summary(ordered, cmp, report_formats=state.config.report_formats,
                                baseline_name=Path(state.config.baseline).name, title="losscheck (pytest)"))


def pytest_terminal_summary(terminalreporter, config):
    state = config.stash.get(STATE, None)
    if state is not None and state.report_dir is not None and (state.report_dir / "summary.md").is_file():
        terminalreporter.write_line(f"losscheck: reports in {state.report_dir}")
