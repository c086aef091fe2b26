"""`losscheck ci`: audit every configured loss, write the reports, compare with the baseline, annotate.

The baseline (`losscheck-baseline.json`) lists accepted findings, keyed by loss and code, each with a reason:

```json
{"accepted": [{"target": "mypkg.losses:FocalLoss", "code": "LC605", "reason": "channels-last is never used"}]}
```

`target` is the loss's `name` in the configuration (its target string unless a name is given). A failing
finding whose (target, code) is listed passes; any other fails the gate; an entry that matches no finding
any more is reported as stale (and fails with --fail-on-stale). `--update-baseline` rewrites the file with
the current findings, keeping the reasons already written and marking new entries "TODO: say why".

Exit codes as `losscheck audit`: 0 nothing new, 1 new findings, 2 the configuration, the baseline or a
configured loss is unusable. Nothing here imports torch at module level: the plugin imports this module too.
"""
from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from losscheck.errors import UsageError
from losscheck.lifeline import die_with_parent
from losscheck.options import checked, given
from losscheck.report.escape import code_span, fenced, printable
from losscheck.report.files import output_dir, output_file, report_stem, write_atomic

TODO_REASON = "TODO: say why"
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


# -- files ---------------------------------------------------------------------------------------------
def write_reports(result, out_dir: Path, stem: str, formats) -> list[Path]:
    from losscheck.report import EXTENSIONS, render

    paths = []
    for fmt in formats:
        path = Path(out_dir) / f"{stem}.{EXTENSIONS[fmt]}"
        write_atomic(path, render(result, fmt))
        paths.append(path)
    return paths


@contextlib.contextmanager
def working_directory(path: Path):
    """Audit a configured loss from its repository's root: `pkg.mod:Name` imports and relative file targets
    resolve there, wherever the command or the test run was started."""
    previous = os.getcwd()
    os.chdir(path)
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
    try:
        yield
    finally:
        os.chdir(previous)


# -- auditing ------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """The audit of one configured loss: a result, or the one-line reason it could not be audited."""

    loss: object  # losscheck.config.Loss
    result: object = None  # AuditResult
    error: str | None = None
    fail_on: str = "error"

    @property
    def name(self) -> str:
        return self.loss.name

    def failing(self) -> list:
        return self.result.failing(self.fail_on) if self.result is not None else []

    def below(self) -> list:
        """Findings reported but below fail-on (warnings, info)."""
        floor = SEVERITY_RANK[self.fail_on]
        return [f for f in self.result.findings if SEVERITY_RANK[f.severity] < floor] if self.result else []


def audit_loss(root, loss, max_examples=None, seed=None) -> Outcome:
    """Audit one configured loss from `root`; a UsageError becomes the outcome's error, never an exception."""
    from losscheck.auditor import audit

    try:
        with working_directory(Path(root)):
            result = audit(loss.target, **loss.audit_kwargs(max_examples=max_examples, seed=seed))
    except UsageError as e:
        return Outcome(loss, error=str(e), fail_on=loss.fail_on)
    return outcome_of(loss, result)


def outcome_of(loss, result) -> Outcome:
    """The Outcome of a finished audit: unusable (an error) when the candidate accepted no input at all."""
    if result.unusable:
        return Outcome(loss, error=result.unusable, fail_on=loss.fail_on)
    return Outcome(loss, result=result, fail_on=loss.fail_on)


def _audit_in_worker(root, loss, max_examples, seed):
    try:
        return audit_loss(root, loss, max_examples, seed)
    except Exception as e:  # a defect of losscheck: report it for this loss, keep the others
        return Outcome(loss, error=f"internal error: {type(e).__name__}: {e}", fail_on=loss.fail_on)


def _preload() -> None:
    """Import the audit engine (torch, hypothesis, the specs and checks) once, before forking the workers, so
    that N workers do not each spend seconds importing it."""
    import losscheck.auditor
    import losscheck.binding  # noqa: F401
    import losscheck.checks  # noqa: F401
    import losscheck.remote  # noqa: F401
    import losscheck.report.html  # noqa: F401
    import losscheck.report.junit  # noqa: F401
    import losscheck.report.markdown  # noqa: F401
    import losscheck.specs  # noqa: F401

    losscheck.auditor._warm_fake_tensor_mode()


def _pool_process() -> None:
    """A pool process ends with `ci`, and on SIGTERM kills the worker of the audit it is running first."""
    die_with_parent(signal.SIGTERM)

    def stop(signum, frame):
        from losscheck.remote import stop_all

        stop_all()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def audit_all(config, losses, jobs: int = 1, max_examples=None, seed=None) -> list[Outcome]:
    """Audit `losses` (in configuration order), `jobs` at a time in forked pool processes.

    Each audit starts its own worker for the candidate (losscheck.remote), so no loss's code runs in a pool
    process and nothing it does reaches another loss's verdict. A pool process gets SIGTERM when `ci` dies:
    its audit then kills its worker on the way out.
    """
    root = config.root
    if jobs <= 1 or len(losses) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [audit_loss(root, loss, max_examples, seed) for loss in losses]
    _preload()
    with ProcessPoolExecutor(max_workers=min(jobs, len(losses)), mp_context=multiprocessing.get_context("fork"),
                             initializer=_pool_process) as ex:
        futures = [ex.submit(_audit_in_worker, root, loss, max_examples, seed) for loss in losses]
        outcomes = []
        for loss, future in zip(losses, futures):
            try:
                outcomes.append(future.result())
            except Exception as e:  # the worker process died
                outcomes.append(Outcome(loss, error=f"the audit worker failed: {type(e).__name__}: {e}",
                                        fail_on=loss.fail_on))
        return outcomes


# -- baseline ------------------------------------------------------------------------------------------
@dataclass
class Comparison:
    new: dict = field(default_factory=dict)       # name -> {code: [findings]}
    accepted: dict = field(default_factory=dict)  # name -> {code: (reason, [findings])}
    stale: list = field(default_factory=list)     # [(entry, why)]


def load_baseline(path: Path) -> list[dict]:
    """The accepted findings in the baseline at `path` ([] when there is no file); UsageError when it is a
    folder or something else that is not a regular file, cannot be read, or is not a baseline."""
    path = Path(path)
    if not path.exists():
        return []
    if not path.is_file():
        raise UsageError(f"the baseline {path} is {'a folder' if path.is_dir() else 'not a regular file'}; "
                         "name a JSON file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read the baseline {path}: {e}") from None
    entries = data.get("accepted") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise UsageError(f"the baseline {path} must be a JSON object with an \"accepted\" list")
    seen = set()
    for i, e in enumerate(entries, 1):
        if not isinstance(e, dict) or not isinstance(e.get("target"), str) or not isinstance(e.get("code"), str):
            raise UsageError(f"the baseline {path}: entry #{i} needs string \"target\" and \"code\" keys")
        if not isinstance(e.get("reason", ""), str):
            raise UsageError(f"the baseline {path}: entry #{i} has a \"reason\" that is not a string")
        key = (e["target"], e["code"])
        if key in seen:
            raise UsageError(f"the baseline {path} lists {e['target']} {e['code']} twice")
        seen.add(key)
    return entries


def compare(outcomes: list[Outcome], baseline: list[dict], configured: set) -> Comparison:
    """Split failing findings into new and accepted; baseline entries matching nothing are stale.

    Entries for losses that could not be audited are neither used nor stale; entries for losses that are
    configured but not audited in this run (--only) are left alone.
    """
    reasons = {(e["target"], e["code"]): e.get("reason", "") for e in baseline}
    cmp = Comparison()
    audited, matched = set(), set()
    for o in outcomes:
        if o.result is None:
            continue
        audited.add(o.name)
        for f in o.failing():
            key = (o.name, f.code)
            if key in reasons:
                matched.add(key)
                cmp.accepted.setdefault(o.name, {}).setdefault(f.code, (reasons[key], []))[1].append(f)
            else:
                cmp.new.setdefault(o.name, {}).setdefault(f.code, []).append(f)
    for e in baseline:
        key = (e["target"], e["code"])
        if e["target"] in audited and key not in matched:
            cmp.stale.append((e, "no longer found"))
        elif e["target"] not in configured:
            cmp.stale.append((e, "not a configured loss"))
    return cmp


def updated_baseline(outcomes: list[Outcome], baseline: list[dict], configured: set) -> tuple[list[dict], int, int]:
    """The baseline accepting every current failing finding: (entries, added, removed).

    Reasons already written are kept; new entries get TODO_REASON. Entries of configured losses not audited
    in this run (unusable, or left out by --only) are kept as they are; entries of losses no longer
    configured are dropped.
    """
    audited = {o.name for o in outcomes if o.result is not None}
    old = {(e["target"], e["code"]): e for e in baseline}
    entries, keys = [], set()
    for o in outcomes:
        if o.result is None:
            continue
        for f in o.failing():
            key = (o.name, f.code)
            if key in keys:
                continue
            keys.add(key)
            reason = old[key].get("reason", TODO_REASON) if key in old else TODO_REASON
            entries.append({"target": o.name, "code": f.code, "title": f.title, "reason": reason})
    kept = [e for e in baseline if e["target"] not in audited and e["target"] in configured]
    added = sum(k not in old for k in keys)
    removed = len(baseline) - len(kept) - (len(keys) - added)
    return kept + entries, added, removed


def baseline_text(entries: list[dict]) -> str:
    return json.dumps({"comment": "Findings accepted by `losscheck ci`, keyed by target (the loss's name) and code. "
                                  "Say why in each reason; rewrite with `losscheck ci --update-baseline`.",
                       "accepted": entries}, indent=2) + "\n"


# -- output --------------------------------------------------------------------------------------------
def loss_verdict(o: Outcome, cmp: Comparison | None) -> str:
    if o.result is None:
        return "unusable"
    if cmp is None:
        return "fail" if o.failing() else "pass"
    if cmp.new.get(o.name):
        return "new findings"
    return "accepted" if cmp.accepted.get(o.name) else "pass"


def render_summary(outcomes: list[Outcome], cmp: Comparison | None = None, *, formats=(), baseline_name="",
                   title="losscheck") -> str:
    """The markdown summary of a run (for a pull request or a job summary). Text from the losses, the
    configuration or the baseline appears only inside code spans and fences (losscheck.report.escape)."""
    from losscheck.report import EXTENSIONS

    def cell(text) -> str:
        return code_span(text, in_table=True) or "-"

    verdicts = [loss_verdict(o, cmp) for o in outcomes]
    failed = any(v in ("unusable", "new findings", "fail") for v in verdicts)
    seconds = sum(o.result.seconds for o in outcomes if o.result is not None)
    counts = {v: verdicts.count(v) for v in dict.fromkeys(verdicts)}
    line = ", ".join(f"{n} {v}" for v, n in counts.items())
    out = [f"# {title}: {'FAIL' if failed else 'PASS'}", "",
           f"{len(outcomes)} loss(es) audited in {seconds:.1f} s: {line}."
           + (f" {len(cmp.stale)} stale baseline entr{'y' if len(cmp.stale) == 1 else 'ies'}." if cmp and cmp.stale
              else ""), "",
           "| loss | as | verdict | failing | accepted | below fail-on | reports |",
           "|---|---|---|---|---|---|---|"]
    for o, v in zip(outcomes, verdicts):
        loss_id = o.result.parameters.get("loss", "") if o.result else (o.loss.as_ or "")
        new = (cmp.new.get(o.name, {}) if cmp else {f.code: 1 for f in o.failing()})
        accepted = cmp.accepted.get(o.name, {}) if cmp else {}
        below = dict.fromkeys(f.code for f in o.below())
        links = " ".join(f"[{fmt}]({report_stem(o.name)}.{EXTENSIONS[fmt]})" for fmt in formats) if o.result else ""
        out.append(f"| {cell(o.name)} | {cell(loss_id)} | **{v}** | {', '.join(new) or '-'} | "
                   f"{', '.join(accepted) or '-'} | {', '.join(below) or '-'} | {links} |")
    out.append("")
    unusable = [o for o in outcomes if o.result is None]
    if unusable:
        out += ["## Unusable", ""] + [f"- {code_span(o.name)}: {code_span(o.error)}" for o in unusable] + [""]
    new_by_loss = cmp.new if cmp else {o.name: _by_code(o.failing()) for o in outcomes if o.failing()}
    if new_by_loss:
        out += ["## New findings" if cmp else "## Failing findings", ""]
        for name, by_code in new_by_loss.items():
            out += [f"### {code_span(name)}", ""]
            for code, findings in by_code.items():
                f = findings[0]
                out.append(f"- **{code}** {f.family}: {f.title}: {code_span(f.message)}")
            first = next(iter(by_code.values()))[0]
            out += ["", f"<details><summary>reproducer for {first.code}</summary>", "",
                    *fenced(first.reproducer, "python"), "", "</details>", ""]
    if cmp and cmp.accepted:
        out += [f"## Accepted in {code_span(baseline_name) or 'the baseline'}", ""]
        out += [f"- {code_span(name)} **{code}** {findings[0].title}: {code_span(reason) or '(no reason given)'}"
                for name, by_code in cmp.accepted.items() for code, (reason, findings) in by_code.items()]
        out.append("")
    if cmp and cmp.stale:
        out += ["## Stale baseline entries", "",
                "These accepted findings match nothing now: remove them, or run `losscheck ci --update-baseline`.", ""]
        out += [f"- {code_span(e['target'])} {code_span(e['code'])}: {why}" for e, why in cmp.stale] + [""]
    return printable("\n".join(out))


def _by_code(findings) -> dict:
    out = {}
    for f in findings:
        out.setdefault(f.code, []).append(f)
    return out


def _escape_data(text: str) -> str:
    return str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, title: str, message: str, file: str | None = None, line: int | None = None) -> str:
    """A GitHub Actions workflow command: `::error file=F,line=N,title=T::message`."""
    props = []
    if file:
        props.append(f"file={_escape_property(file)}")
        if line:
            props.append(f"line={line}")
    props.append(f"title={_escape_property(title)}")
    return f"::{level} {','.join(props)}::{_escape_data(message)}"


def github_annotations(outcomes, cmp: Comparison, config_file: str, baseline_file: str) -> list[str]:
    out = []
    for o in outcomes:
        if o.result is None:
            out.append(annotation("error", f"losscheck: {o.name} cannot be audited", o.error, config_file,
                                  o.loss.line))
    for name, by_code in cmp.new.items():
        loss = next(o.loss for o in outcomes if o.name == name)
        for code, findings in by_code.items():
            f = findings[0]
            out.append(annotation("error", f"losscheck {code} {f.family}: {f.title}",
                                  f"{name}: {f.message} (accept it in {baseline_file} with a reason, or fix the "
                                  "loss)", config_file, loss.line))
    for e, why in cmp.stale:
        out.append(annotation("warning", f"losscheck: stale baseline entry {e['code']}",
                              f"{e['target']} {e['code']}: {why}; remove it or run losscheck ci --update-baseline",
                              baseline_file))
    return out


def _on_github() -> bool:
    return os.environ.get("GITHUB_ACTIONS", "").strip().lower() not in ("", "0", "false", "no")


def _relative(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


# -- the command ---------------------------------------------------------------------------------------
def _echo(line: str, file=None) -> None:
    """Print one line of the run's log, one line whatever a loss's text in it holds, which cannot act on the
    terminal."""
    print(printable(line).replace("\n", " "), file=file or sys.stdout)


def run(args) -> int:
    """`losscheck ci` (args from the argparse subparser in losscheck.cli)."""
    from losscheck.config import load

    overrides = checked(given(args))  # --fail-on, --max-examples, --seed, --memory-limit: for every loss
    config = load(Path(args.config))
    if not config.losses:
        raise UsageError(f"{args.config} lists no losses: add [[tool.losscheck.loss]] tables with a target")
    jobs = args.jobs if args.jobs is not None else config.jobs
    if jobs < 1:
        raise UsageError(f"-j must be at least 1, not {jobs}")
    out_dir = (output_dir(args.output_dir, "--output-dir") if args.output_dir
               else output_dir(config.resolve(config.report_dir), "[tool.losscheck] 'report-dir'"))
    baseline_path = Path(args.baseline) if args.baseline else config.resolve(config.baseline)
    if args.update_baseline:
        baseline_path = output_file(baseline_path, "--baseline" if args.baseline else "[tool.losscheck] 'baseline'")
    baseline = load_baseline(baseline_path)
    losses = [replace(loss, options=replace(loss.options, **overrides)) for loss in config.losses
              if args.only in loss.name]
    if not losses:
        raise UsageError(f"no configured loss matches --only '{args.only}'")

    t0 = time.perf_counter()
    outcomes = audit_all(config, losses, jobs)
    for o in outcomes:
        if o.result is not None:
            write_reports(o.result, out_dir, report_stem(o.name), config.formats)

    if args.update_baseline:
        entries, added, removed = updated_baseline(outcomes, baseline, {loss.name for loss in config.losses})
        write_atomic(baseline_path, baseline_text(entries))
        _echo(f"losscheck ci: {_relative(baseline_path)} rewritten: {len(entries)} accepted finding(s), {added} added"
              f" (reason '{TODO_REASON}'), {removed} removed")
        baseline = entries
    cmp = compare(outcomes, baseline, {loss.name for loss in config.losses})
    summary = render_summary(outcomes, cmp, formats=config.formats, baseline_name=baseline_path.name,
                             title="losscheck ci")
    write_atomic(out_dir / "summary.md", summary)

    for o in outcomes:
        v = loss_verdict(o, cmp)
        detail = o.error if o.result is None else "; ".join(filter(None, [
            "new: " + ", ".join(cmp.new[o.name]) if o.name in cmp.new else "",
            "accepted: " + ", ".join(cmp.accepted[o.name]) if o.name in cmp.accepted else "",
            "below fail-on: " + ", ".join(dict.fromkeys(f.code for f in o.below())) if o.below() else ""]))
        _echo(f"{v.upper():>12}  {o.name}" + (f"  ({detail})" if detail else ""))
    for e, why in cmp.stale:
        _echo(f"{'STALE':>12}  {e['target']} {e['code']} in {baseline_path.name}: {why}")
    todo = [e for e in baseline if e.get("reason", "").strip() in ("", TODO_REASON)]
    if todo:
        _echo(f"losscheck ci: {len(todo)} accepted finding(s) in {baseline_path.name} still need a reason "
              f"(replace '{TODO_REASON}')")
    if _on_github():
        for line in github_annotations(outcomes, cmp, _relative(config.path), _relative(baseline_path)):
            _echo(line)
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_summary:
            with contextlib.suppress(OSError), open(step_summary, "a", encoding="utf-8") as fh:
                fh.write(summary + "\n")

    unusable = [o for o in outcomes if o.result is None]
    new = sum(len(v) for v in cmp.new.values())
    verdict = "unusable" if unusable else "FAIL" if new or (cmp.stale and args.fail_on_stale) else "PASS"
    _echo(f"losscheck ci: {verdict}: {len(outcomes)} loss(es), {new} new finding code(s), "
          f"{sum(len(v) for v in cmp.accepted.values())} accepted, {len(cmp.stale)} stale baseline entr"
          f"{'y' if len(cmp.stale) == 1 else 'ies'}, {len(unusable)} unusable in {time.perf_counter() - t0:.1f} s; "
          f"reports in {_relative(out_dir)}/")
    for o in unusable:
        _echo(f"losscheck: error: {o.name}: {o.error}", file=sys.stderr)
    if unusable:
        return 2
    return 1 if new or (cmp.stale and args.fail_on_stale) else 0
