"""audit(): resolve the target, pick its spec, bind parameters, probe it, run every check, collect findings.

Checks run in a forked worker process that streams each result back, so a candidate that kills its
process (os._exit, a native crash) or hangs where no signal reaches it costs one check, not the audit.
Inside the worker every call has a time limit (losscheck.calls). Where fork is unavailable, checks run
in-process with the same per-call limit.
"""
from __future__ import annotations

import contextlib
import faulthandler
import functools
import multiprocessing
import os
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path

from losscheck.errors import UsageError
from losscheck.probe import UNUSABLE, accept, probe, unusable

DEFAULT_MAX_EXAMPLES = 30
DEFAULT_TIMEOUT = 10.0


def _versions() -> dict:
    import hypothesis
    import numpy
    import scipy
    import torch

    from losscheck import __version__
    return {"losscheck": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": numpy.__version__, "scipy": scipy.__version__, "hypothesis": hypothesis.__version__}


def pick_spec(candidate, loss_id: str | None):
    from losscheck.candidate import builtin_id
    from losscheck.specs import SPECS

    known = ", ".join(sorted(SPECS))
    if loss_id is None:
        loss_id = builtin_id(candidate.obj)
        module = getattr(candidate.obj, "__module__", None) or type(candidate.obj).__module__
        if loss_id is None and module.startswith("torch.nn"):
            raise UsageError(f"'{candidate.target}' is a torch loss that has no catalogue id in this release "
                             f"(known ids: {known})")
        if loss_id is None:
            raise UsageError(f"cannot tell which loss '{candidate.target}' implements; name it with --as ID "
                             f"(known ids: {known})")
    if loss_id not in SPECS:
        import difflib

        close = difflib.get_close_matches(loss_id, SPECS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise UsageError(f"unknown loss id '{loss_id}'{hint} (known ids: {known})")
    return SPECS[loss_id]


def run_check(ctx, check):
    from losscheck.checks.base import Skip, Violation
    from losscheck.findings import CheckResult

    name, family = check.check_name, check.family
    t0 = time.perf_counter()
    if ctx.caller.hung is not None:
        return CheckResult(name, family, "skip", detail="skipped: the candidate timed out earlier in the audit")
    import torch

    torch.manual_seed(ctx.seed)  # a loss that draws random numbers behaves the same in every audit
    try:
        outcome = check(ctx)
    except Skip as s:
        return CheckResult(name, family, "skip", seconds=time.perf_counter() - t0, detail=str(s))
    except Violation as v:
        return CheckResult(name, family, "fail", 1, time.perf_counter() - t0, findings=[ctx.finding(name, v)])
    except Exception as e:  # a defect of losscheck itself: report it, keep auditing
        return CheckResult(name, family, "error", seconds=time.perf_counter() - t0,
                           detail=f"internal error in {name}: {type(e).__name__}: {e}"[:500])
    findings = [ctx.finding(name, v) for v in outcome.violations]
    return CheckResult(name, family, "fail" if findings else "pass", outcome.examples, time.perf_counter() - t0,
                       outcome.detail, findings)


def run_sequence(ctx, checks, emit):
    """Run checks in order, reporting ("start", name), ("done", result), ("probed", ...), ("hung", ...)."""
    from losscheck.findings import CheckResult

    for check in checks:
        emit("start", check.check_name)
        if check is not probe and not ctx.formats:
            emit("done", CheckResult(check.check_name, check.family, "skip", detail=UNUSABLE))
            continue
        result = run_check(ctx, check)
        if check is probe and result.status == "error":  # a defect of the probe: audit every layout, not none
            ctx.binding.probed = {}
            accept(ctx.binding, {})
        emit("done", result)
        if ctx.detected:
            emit("detected", ctx.detected)
        if check is probe:
            emit("probed", ctx.binding.probed)
        if ctx.caller.hung is not None:
            emit("hung", str(ctx.caller.hung))


def _worker(ctx, checks, conn):
    faulthandler.disable()  # a candidate's native crash is reported as LC706, not dumped on the terminal
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    ctx.on_case = lambda case, dtype: conn.send(("case", (case, dtype)))
    run_sequence(ctx, checks, lambda kind, payload: conn.send((kind, payload)))
    conn.close()
    os._exit(0)


def _how_it_ended(exitcode) -> str:
    """'exit code 3', or the signal that killed the worker (SIGSEGV: a native crash; SIGKILL: often memory)."""
    if exitcode is None or exitcode >= 0:
        return f"exit code {exitcode}"
    try:
        name = signal.Signals(-exitcode).name
    except ValueError:
        name = f"signal {-exitcode}"
    hint = {"SIGSEGV": ", a native crash", "SIGKILL": ", possibly out of memory", "SIGABRT": ", an abort"}
    return f"killed by {name}{hint.get(name, '')}"


def _lost(ctx, check, detail, seconds, last):
    """The result of a check whose worker died or hung, with the input it was running as its example."""
    from hypothesis import find, settings

    from losscheck.cases import cases
    from losscheck.checks.base import Violation
    from losscheck.findings import CheckResult

    if last is None:
        last = (find(cases(ctx.binding, formats=ctx.binding.formats or None, explore=False), lambda _: True,
                     settings=settings(database=None, max_examples=1)).rounded("float32"), "float32")
    finding = ctx.finding(check.check_name, Violation("LC706", detail, *last))
    return CheckResult(check.check_name, check.family, "fail", 0, seconds, detail, [finding])


def run_in_process(ctx, checks, progress=None):
    results = []

    def emit(kind, payload):
        if kind == "done":
            results.append(payload)
        elif kind == "start" and progress:
            progress(payload, len(results) + 1, len(checks))

    run_sequence(ctx, checks, emit)
    return results


def run_isolated(ctx, checks, budget: float, progress=None):
    """Run checks in forked workers; a worker that dies or stays silent for `budget` s loses one check."""
    from losscheck.findings import CheckResult

    mp = multiprocessing.get_context("fork")
    results, remaining, hung = {}, list(checks), False
    while remaining and not hung:
        reader, writer = mp.Pipe(duplex=False)
        proc = mp.Process(target=_worker, args=(ctx, remaining, writer), daemon=True)
        sys.stdout.flush()
        sys.stderr.flush()
        proc.start()
        writer.close()
        current, started, last = None, time.perf_counter(), None
        while True:
            if not reader.poll(budget):
                proc.kill()
                hung = True
                break
            try:
                kind, payload = reader.recv()
            except (EOFError, OSError):
                break
            if kind == "case":
                last = payload
            elif kind == "start":
                current, started = next(c for c in remaining if c.check_name == payload), time.perf_counter()
                if progress:
                    progress(payload, len(results) + 1, len(checks))
            elif kind == "done":
                results[payload.name] = payload
                remaining.remove(current)
                current = None
            elif kind == "probed":
                ctx.binding.probed = payload
                accept(ctx.binding, payload)
            elif kind == "detected" and payload != ctx.detected:
                ctx.adopt(payload)
            elif kind == "hung":
                hung = True
        proc.join(5)
        reader.close()
        if current is not None:
            why = (f"the candidate did not return within {budget:g} s and could not be interrupted" if hung
                   else f"the audit worker died during this check ({_how_it_ended(proc.exitcode)}): the candidate "
                        "crashed or exited the interpreter")
            results[current.check_name] = _lost(ctx, current, why, time.perf_counter() - started, last)
            remaining.remove(current)
    for c in remaining:
        results[c.check_name] = CheckResult(c.check_name, c.family, "skip",
                                            detail="skipped: the candidate timed out earlier in the audit")
    return [results[c.check_name] for c in checks]


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


def audit(target: str, *, as_: str | None = None, init: dict | None = None, seed: int = 0,
          max_examples: int = DEFAULT_MAX_EXAMPLES, timeout: float = DEFAULT_TIMEOUT,
          select=(), ignore=(), isolate: bool = True, conventions: dict | None = None, progress=None,
          ddp: int = 0, layouts=()):
    """Audit `target` (a target string, or a class, function or instance) and return an AuditResult.

    With `ddp` >= 2 the device.ddp check (losscheck.distributed) runs last: the candidate under
    torch.distributed with the batch sharded across that many local gloo processes. `layouts` are layouts the
    user relies on (`--layout`): each one is then graded as required.
    """
    if max_examples < 1:
        raise UsageError(f"--max-examples must be at least 1, not {max_examples}")
    if timeout <= 0:
        raise UsageError(f"--timeout must be positive, not {timeout}")
    if ddp < 0 or ddp == 1:
        raise UsageError(f"--ddp needs at least 2 processes, not {ddp}")
    t0 = time.perf_counter()
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors gain nothing from threads, and OpenMP pools do not survive fork
    try:
        with _hypothesis_home_outside_cwd():
            return _audit(target, as_, init, seed, max_examples, timeout, select, ignore, isolate, conventions or {},
                          progress, t0, ddp, tuple(layouts))
    finally:
        torch.set_num_threads(threads)


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


def _audit(target, as_, init, seed, max_examples, timeout, select, ignore, isolate, conventions, progress, t0,
           ddp=0, layouts=()):
    from losscheck.binding import bind
    from losscheck.calls import Caller
    from losscheck.candidate import resolve, wrap
    from losscheck.checks import ordered
    from losscheck.checks.base import Context
    from losscheck.conventions import declare, implied
    from losscheck.findings import AuditResult
    from losscheck.specs.forms import choose
    from losscheck.tolerances import TOLERANCES

    candidate = resolve(target, init) if isinstance(target, str) else wrap(target, init)
    base_spec = choose(pick_spec(candidate, as_), candidate)  # NT-Xent as (embeddings, labels): its call form
    candidate.prepare(len(base_spec.signature))
    by_params = implied(base_spec, candidate)  # MONAI's softmax=True declares activation=softmax
    conventions = {**{conv: option for conv, option in by_params.values()}, **conventions}
    spec, chosen = declare(base_spec, conventions)
    binding = bind(spec, candidate, by_params, layouts)
    ctx = Context(spec, candidate, binding, Caller(timeout), seed, max_examples, base_spec=base_spec,
                  declared=dict(conventions))
    ref = spec.reference
    result = AuditResult(target=candidate.target, reference=f"{ref.__module__}.{ref.__name__}", seed=seed,
                         max_examples=max_examples, versions=_versions(), tolerances=TOLERANCES,
                         parameters={"loss": spec.id, **binding.describe()}, conventions=chosen)
    checks = [probe, *ordered()]
    if ddp >= 2:
        from losscheck.distributed import check as ddp_check
        checks.append(ddp_check(ddp))
    _warm_fake_tensor_mode()
    if isolate and "fork" in multiprocessing.get_all_start_methods():
        result.checks = run_isolated(ctx, checks, budget=max(60.0, 6 * timeout), progress=progress)
    else:
        result.checks = run_in_process(ctx, checks, progress)
    result.parameters["target_formats"] = list(ctx.binding.formats)
    result.layouts = {"accepted": list(ctx.binding.layouts), "probed": ctx.binding.probed}
    result.unusable = unusable(ctx, result)
    result.conventions = {**chosen, **ctx.detected, **ctx.declared}
    result.parameters["detected_conventions"] = dict(ctx.detected)
    for c in result.checks:
        c.findings = [f for f in c.findings if _keep(f.code, select, ignore)]
        if c.status == "fail" and not c.findings:
            c.status, c.detail = "pass", (c.detail + " (findings ignored)").strip()
    result.seconds = time.perf_counter() - t0
    return result
