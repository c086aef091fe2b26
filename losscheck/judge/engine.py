"""The audit engine (run_audit, behind losscheck.judge.auditor): resolve the target, pick its spec, begin the
run state, probe it, run every check, collect findings.

This process is the judge: it draws the inputs, runs the references and compares. The candidate is
imported, constructed and called only in a worker process (losscheck.suspect.remote, losscheck.suspect.worker), under a
time limit for import and construction, a time limit per call and a memory limit, so that nothing it does
(exit, crash, hang, patch losscheck or torch, change the working directory, print) reaches the verdict.
A fresh worker serves each audit. `isolate=False` (--no-isolation, for debugging) runs it in this process,
each call under the same time limit (losscheck.suspect.calls).
"""
from __future__ import annotations

import contextlib
import functools
import os
import platform
import signal
import tempfile
import time
from pathlib import Path

import hypothesis
import numpy
import scipy
import torch

from losscheck import __version__
from losscheck.checks import ordered
from losscheck.checks.registry import NOTHING_ACCEPTED, SENDS_WHOLE_TENSORS, WHOLE_TENSORS_ONLY
from losscheck.errors import UsageError
from losscheck.findings import AuditResult, CheckResult
from losscheck.judge.context import Context
from losscheck.judge.evidence import Skip, Violation
from losscheck.judge.source import locate, suppress
from losscheck.judge.state import AuditState
from losscheck.judge.tolerances import TOLERANCES
from losscheck.options import AuditOptions, AuditRequest
from losscheck.specs import SPECS
from losscheck.specs.forms import choose
from losscheck.suspect.calls import Caller
from losscheck.suspect.candidate import resolve, wrap
from losscheck.suspect.remote import open_candidate

START_TIMEOUT = 60.0  # seconds for importing and constructing the candidate (at least 6 x --timeout)


def _versions() -> dict:
    return {"losscheck": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__, "scipy": scipy.__version__, "hypothesis": hypothesis.__version__}


def identify(candidate, loss_id: str | None) -> tuple[str, str]:
    """(the catalogue id to audit against, how it was found when --as did not give it): --as, else the torch
    built-in the candidate is, else the id `losscheck init` would guess from its name or signature
    (losscheck.tables.guessing, run in the worker). No fitting guess is a UsageError (exit 2)."""
    if loss_id is not None:
        return loss_id, ""
    module, builtin = candidate.origin()
    if builtin is not None:
        return builtin, ""
    known = ", ".join(sorted(SPECS))
    if module.startswith("torch.nn"):
        raise UsageError(f"'{candidate.target}' is a torch loss that has no catalogue id in this release "
                         f"(known ids: {known})")
    guessed, why = candidate.guessed()
    if guessed is None:
        raise UsageError(f"cannot tell which loss '{candidate.target}' implements ({why}); name it with --as ID "
                         f"(known ids: {known})")
    return guessed, f"guessed {why} (no --as given; confirm with --as {guessed})"


def pick_spec(candidate, loss_id: str | None):
    """The LossSpec to audit against (see `identify`)."""
    known = ", ".join(sorted(SPECS))
    loss_id = identify(candidate, loss_id)[0]
    if loss_id not in SPECS:
        import difflib

        close = difflib.get_close_matches(loss_id, SPECS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise UsageError(f"unknown loss id '{loss_id}'{hint} (known ids: {known})")
    return SPECS[loss_id]


def run_check(ctx, check):
    """Run one check and turn what it found (Evidence, Violation, Skip, or an internal error) into a CheckResult."""
    name, family = check.check_name, check.family
    t0 = time.perf_counter()
    if ctx.caller.hung is not None:
        return CheckResult(name, family, "skip", detail="skipped: the candidate timed out earlier in the audit")
    torch.manual_seed(ctx.seed)  # the judge's own draws (and an in-process candidate's) are the same each audit
    ctx.candidate.begin_check(ctx.seed)
    try:
        evidence = check(ctx)
    except Skip as s:
        return CheckResult(name, family, "skip", seconds=time.perf_counter() - t0, detail=str(s))
    except Violation as v:
        return CheckResult(name, family, "fail", 1, time.perf_counter() - t0, findings=[ctx.finding(name, v)])
    except Exception as e:  # a defect of losscheck itself: report it, keep auditing
        return CheckResult(name, family, "error", seconds=time.perf_counter() - t0,
                           detail=f"internal error in {name}: {type(e).__name__}: {e}"[:500])
    findings = [ctx.finding(name, v) for v in evidence.violations]
    return CheckResult(name, family, "fail" if findings else "pass", evidence.examples, time.perf_counter() - t0,
                       evidence.detail, findings)


def run_checks(ctx, checks, progress=None) -> list:
    """Run checks in order in this process (the judge), as each one's registration declares
    (checks.registry.register); the candidate's code runs in its worker."""
    results = []
    for n, check in enumerate(checks, 1):
        if progress:
            progress(check.check_name, n, len(checks))
        if check.needs_inputs and not ctx.target_formats:
            results.append(CheckResult(check.check_name, check.family, "skip", detail=NOTHING_ACCEPTED))
            continue
        if ctx.spec.chunked is not None and check.family in SENDS_WHOLE_TENSORS:
            results.append(CheckResult(check.check_name, check.family, "skip", detail=WHOLE_TENSORS_ONLY))
            continue
        result = run_check(ctx, check)
        if result.status == "error" and check.on_error is not None:
            check.on_error(ctx)
        results.append(result)
    return results


@functools.lru_cache(maxsize=1)
def _warm_fake_tensor_mode() -> None:
    """Initialise FakeTensorMode once per process, before workers fork (about 1.4 s each time otherwise)."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode(allow_non_fake_inputs=True):
        x = torch.empty(2, 3, device="cuda:0")
        torch.nn.functional.mse_loss(x, x * 2)


def _keep(code: str, select, ignore) -> bool:
    if select and not any(code.startswith(s) for s in select):
        return False
    return not (ignore and any(code.startswith(s) for s in ignore))


@contextlib.contextmanager
def _stopped_by_sigterm():
    """SIGTERM ends the audit like Ctrl-C: the worker and its process group are killed on the way out (unless
    the process already handles SIGTERM itself, as `ci`'s pool processes do)."""
    import threading

    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _hypothesis_home_outside_cwd():
    """Keep hypothesis's cache out of the user's working directory (unless they chose where it goes).

    With database=None hypothesis still caches source constants under ./.hypothesis; an audit must leave
    nothing behind but the reports the user asked for.
    """
    from hypothesis import configuration

    key = "__hypothesis_home_directory"
    previous = vars(configuration).get(key)
    if previous is not None or os.getenv("HYPOTHESIS_STORAGE_DIRECTORY"):
        yield
        return
    configuration.set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "losscheck-hypothesis")
    try:
        yield
    finally:
        configuration.set_hypothesis_home_dir(previous)


def _audit(request: AuditRequest, options: AuditOptions, progress, t0: float, start_timeout: float):
    _warm_fake_tensor_mode()  # once, before the worker forks
    if options.isolate:
        candidate = open_candidate(request.target, request.init, timeout=options.timeout, start_wait=start_timeout,
                                   memory_limit=options.memory_limit or None)
    else:
        target, init = request.target, request.init
        candidate = resolve(target, init) if isinstance(target, str) else wrap(target, init)
    try:
        return _judge(candidate, request, options, progress, t0)
    finally:
        candidate.close()


def _judge(candidate, request: AuditRequest, options: AuditOptions, progress, t0: float):
    loss_id, guessed = identify(candidate, request.loss_id)
    base_spec = choose(pick_spec(candidate, loss_id), candidate)  # NT-Xent as (embeddings, labels)
    candidate.prepare(len(base_spec.signature))
    state = AuditState.begin(base_spec, candidate, request.conventions, request.layouts)
    ctx = Context(candidate, state, Caller(options.timeout, local=not options.isolate), options.seed,
                  options.max_examples, ddp=options.ddp, precision=options.precision,
                  precision_screen=options.precision_screen,
                  precision_raw=options.precision_raw,
                  compile=options.compile, inductor=options.inductor, fullgraph=options.fullgraph)
    ref = state.spec.reference
    result = AuditResult(target=candidate.target, reference=f"{ref.__module__}.{ref.__name__}", seed=options.seed,
                         max_examples=options.max_examples, versions=_versions(), tolerances=TOLERANCES,
                         parameters={"loss": state.spec.id, **state.binding.describe()},
                         conventions=dict(state.conventions), fail_on=options.fail_on)
    checks = [c for c in ordered() if c.only_if is None or c.only_if(ctx)]
    result.checks = run_checks(ctx, checks, progress)
    result.parameters["target_formats"] = list(state.target_formats)
    if guessed:
        result.parameters["id_guessed"] = guessed
    result.layouts = {"accepted": list(state.layouts), "probed": state.probed}
    result.unusable = state.unusable
    result.conventions = dict(state.conventions)
    result.parameters["detected_conventions"] = dict(state.detected)
    for c in result.checks:
        c.findings = [f for f in c.findings if _keep(f.code, options.select, options.ignore)]
        if c.status == "fail" and not c.findings:
            c.status, c.detail = "pass", (c.detail + " (findings ignored)").strip()
    result.unusable = result.unusable or unjudged(result)
    source = locate(request.target, candidate.name)
    result.source = source.to_dict() if source else None
    suppress(result, source)
    result.seconds = time.perf_counter() - t0
    return result


JUDGING = "value.reference"  # the check that compares the candidate's values with the reference's


def unjudged(result: AuditResult) -> str | None:
    """The one line of exit 2 when the audit found nothing against the candidate but could not compare it with the
    reference either (value.reference ended in an internal error, as when the reference refused a parameter value
    the candidate was given): not a pass, since nothing says the candidate was checked. None otherwise."""
    judge = next((c for c in result.checks if c.name == JUDGING), None)
    if judge is None or judge.status != "error" or result.failing("error"):
        return None
    return (f"{result.target} could not be judged: {judge.detail}; no finding was made against it, and none of its "
            f"values was compared with the reference")


def run_audit(request: AuditRequest, options: AuditOptions, *, progress=None,
              start_timeout: float | None = None) -> AuditResult:
    """The audit behind losscheck.judge.auditor.audit_request: `progress(check, k, n)` is told each check as it
    starts; `start_timeout` bounds importing and constructing the candidate (default START_TIMEOUT, at least
    6 x `options.timeout`)."""
    t0 = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors gain nothing from threads, and OpenMP pools do not survive fork
    try:
        with _hypothesis_home_outside_cwd(), _stopped_by_sigterm():
            return _audit(request, options, progress, t0, start_timeout or max(START_TIMEOUT, 6 * options.timeout))
    finally:
        torch.set_num_threads(threads)
