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
        raise UsageError(f"unknown loss id '{loss_id}' (known ids: {known})")
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


PROBE_EXAMPLES = 3
PARTLY = "partly: "  # some probe calls returned, others raised this
DISAGREES = "runs, but disagrees with the reference"  # a target view that may be broadcast, not understood
UNUSABLE = "skipped: the candidate accepts none of the loss's layouts and target formats (see api.call)"


def probe(ctx):
    """api.call: find the layouts and target formats the candidate accepts, a few small valid calls per pair.

    Every layout the spec admits (batch, a batch of one, no batch dim, 2-D or 3-D spatial) is tried with every
    target format (class indices, (N, 1, ...) index maps, one-hot, probabilities, {0,1}, {-1,1}, ...) on
    PROBE_EXAMPLES drawn cases with sizes of 2 and more where the layout allows. A pair is accepted when every
    call returns, partly accepted when some do: its failures there are defects (a Dice that raises on an empty
    mask), so the checks after it draw from both (`Binding.layouts`, `Binding.formats`); target.shapes and
    target.formats say what a rejection means. A target view (an index map standing for a one-hot target) that runs is kept only when it also gives the
    reference value or nothing else runs: a loss that broadcasts a (N, 1, H, W) map against (N, C, H, W)
    probabilities does not take index maps. When nothing runs at all the audit is unusable (exit 2).
    """
    from hypothesis.errors import Unsatisfiable

    from losscheck.cases import cases
    from losscheck.checks.base import Outcome, Violation

    spec, probed, failures, calls = ctx.spec, {}, [], 0
    for layout in spec.layouts:
        probed[layout] = {}
        for fmt in spec.target_formats:
            strategy = cases(ctx.binding, layouts=[layout], formats=[fmt], explore=False)
            errors = []

            def call(case):
                try:
                    ctx.run(case.rounded("float32"))
                except Violation as v:
                    errors.append(v)

            try:  # sizes of 2 and more: a one-channel input hides what a loss does with channels
                n, _ = ctx.search(strategy.filter(_every_size_above_one), call, max_examples=PROBE_EXAMPLES)
            except Unsatisfiable:  # the layout fixes a size at 1 (no batch dim, a (N, 1) variance)
                n, _ = ctx.search(strategy, call, max_examples=PROBE_EXAMPLES)
            calls += n
            if not errors:
                probed[layout][fmt] = "accepted" if fmt not in spec.target_views or _agrees(ctx, strategy) \
                    else DISAGREES
            else:
                probed[layout][fmt] = (PARTLY if len(errors) < n else "") + errors[0].message
                failures.append(errors[0])
            if ctx.caller.hung is not None:
                break
        if ctx.caller.hung is not None:
            break
    accept(ctx.binding, probed)
    ctx.binding.probed = probed
    if ctx.binding.formats:
        return Outcome(calls, detail=f"accepts layouts: {', '.join(ctx.binding.layouts)}; "
                                     f"target formats: {', '.join(ctx.binding.formats)}")
    return Outcome(calls, failures[:1], detail="the candidate fails on every valid input")


def _every_size_above_one(case) -> bool:
    """Whether every input of two or more dims has all its sizes after the first (the batch) above one."""
    shaped = [a for a in case.inputs if a.ndim >= 2]
    return bool(shaped) and all(min(a.shape[1:]) >= 2 for a in shaped)


def _agrees(ctx, strategy, examples=8) -> bool:
    """Whether the candidate gives the reference value on a few drawn cases (a call that raises disagrees)."""
    from losscheck.checks.base import Violation
    from losscheck.tolerances import close

    def prop(case):
        case = case.rounded("float32")
        out, _ = ctx.run(case)
        if not close(out.detach().double().numpy(), ctx.reference(case), "float32"):
            raise Violation("LC101", "disagrees", case)

    return ctx.search(strategy, prop, max_examples=examples)[1] is None


def unusable(ctx, result) -> str | None:
    """One line when the candidate raised for every layout and format (exit 2), quoting the first error."""
    from losscheck.specs.base import LAYOUTS

    probed = ctx.binding.probed
    if ctx.binding.formats or not probed or ctx.caller.hung is not None:
        return None
    layout = ctx.spec.layouts[0]
    fmt, error = next(iter(probed[layout].items()))
    if not any(f.code == "LC705" for c in result.checks if c.name == probe.check_name for f in c.findings):
        return None  # it crashed or exited rather than raising: an LC706 finding, not unusable input
    line = (f"{ctx.candidate.target} accepts none of the inputs of '{ctx.spec.id}': on {LAYOUTS[layout]} "
            f"with {fmt} targets, {error}")
    takes = ctx.candidate.call_arguments()
    if takes and takes[:len(ctx.spec.signature)] != list(ctx.spec.signature):
        line += (f" (the audit calls it as loss({', '.join(ctx.spec.signature)}); it takes ({', '.join(takes)}): "
                 f"is '{ctx.spec.id}' the right --as?)")
    return line


def accept(binding, probed: dict) -> None:
    """Set the binding's accepted layouts and formats from the probe's {layout: {format: outcome}}."""
    spec = binding.spec

    def formats_of(layout):
        outcomes = probed.get(layout, {})
        runs = [f for f, outcome in outcomes.items() if outcome == "accepted" or outcome.startswith(PARTLY)]
        return runs or [f for f, outcome in outcomes.items() if outcome == DISAGREES]

    def runs(layout, fmt):
        outcome = probed.get(layout, {}).get(fmt, "")
        return outcome in ("accepted", DISAGREES) or outcome.startswith(PARTLY)

    first = next((layout for layout in spec.layouts if formats_of(layout)), None)
    binding.formats = tuple(formats_of(first)) if first else ()
    binding.layouts = tuple(layout for layout in spec.layouts if first and runs(layout, binding.formats[0]))


probe.check_name, probe.family = "api.call", "api"


def run_sequence(ctx, checks, emit):
    """Run checks in order, reporting ("start", name), ("done", result), ("probed", ...), ("hung", ...)."""
    from losscheck.findings import CheckResult

    for check in checks:
        emit("start", check.check_name)
        if check is not probe and not ctx.binding.formats:
            emit("done", CheckResult(check.check_name, check.family, "skip", detail=UNUSABLE))
            continue
        emit("done", run_check(ctx, check))
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
          ddp: int = 0):
    """Audit `target` (a target string, or a class, function or instance) and return an AuditResult.

    With `ddp` >= 2 the device.ddp check (losscheck.distributed) runs last: the candidate under
    torch.distributed with the batch sharded across that many local gloo processes.
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
                          progress, t0, ddp)
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
           ddp=0):
    from losscheck.binding import bind
    from losscheck.calls import Caller
    from losscheck.candidate import resolve, wrap
    from losscheck.checks import ordered
    from losscheck.checks.base import Context
    from losscheck.conventions import declare, implied
    from losscheck.findings import AuditResult
    from losscheck.tolerances import TOLERANCES

    candidate = resolve(target, init) if isinstance(target, str) else wrap(target, init)
    base_spec = pick_spec(candidate, as_)
    candidate.prepare(len(base_spec.signature))
    by_params = implied(base_spec, candidate)  # MONAI's softmax=True declares activation=softmax
    conventions = {**{conv: option for conv, option in by_params.values()}, **conventions}
    spec, chosen = declare(base_spec, conventions)
    binding = bind(spec, candidate)
    binding.unmapped = [p for p in binding.unmapped if p not in by_params]
    binding.conventions_from = {p: f"{conv}={option}" for p, (conv, option) in by_params.items()}
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
