"""What every check shares: the audit Context, Violation, running the candidate, and the hypothesis search.

A check is a function `check(ctx) -> Outcome` registered with `@register(name, family)`. It draws cases
with hypothesis (`ctx.search`), raises `Violation` from its property when something is wrong, and gets back
the shrunk violation. Candidate failures on valid input (raise, hang, non-tensor, non-0-d reduced result)
become api findings wherever they happen, through `ctx.run`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from hypothesis import HealthCheck, Phase, Verbosity, example, given, seed, settings

from losscheck.binding import Binding
from losscheck.calls import Caller, CallTimeout
from losscheck.candidate import Candidate
from losscheck.cases import DTYPES, Case, describe, to_tensor
from losscheck.findings import Finding
from losscheck.pitfalls import PITFALLS
from losscheck.reproducer import default_snippet, render

CHECKS: list = []
SWEPT_FAMILIES = ("value", "stability", "gradient")  # findings that get a loss/gradient sweep for the plots


def register(name: str, family: str):
    def wrap(fn):
        fn.check_name, fn.family = name, family
        CHECKS.append(fn)
        return fn
    return wrap


class Violation(Exception):
    """Raised by a property: the pitfall code, a message with the numbers, and the case that shows it."""

    def __init__(self, code, message, case, dtype="float32", *, expected=None, snippet=None, setup="",
                 grad=False, data=None, severity=None):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.case, self.dtype = code, message, case, dtype
        self.expected, self.snippet, self.setup, self.grad = expected, snippet, setup, grad
        self.data, self.severity = data or {}, severity


class Skip(Exception):
    """Raised by a check (or its property) when it cannot say anything: not applicable or inconclusive."""


@dataclass
class Outcome:
    examples: int = 0
    violations: list = field(default_factory=list)
    detail: str = ""


def invalid_output(value, reduction: str, what: str) -> tuple[str, str] | None:
    """(code, message) when a loss's output cannot be judged: LC707 not a tensor, LC704 a reduced result
    ('mean', 'sum') that is not 0-d; None when it is a fine output. One process and each ddp rank use it."""
    if not isinstance(value, torch.Tensor):
        return "LC707", f"{what} returned {type(value).__name__} ({str(value)[:60]}), not a tensor"
    if reduction != "none" and value.dim() != 0:
        return "LC704", f"reduction={reduction!r} returned shape {tuple(value.shape)}, expected a 0-d tensor"
    return None


def fmt(x) -> str:
    a = np.asarray(x, dtype=np.float64)
    return np.array2string(a, precision=6, separator=", ") if a.ndim else f"{float(a):.8g}"


@dataclass
class Context:
    spec: object
    candidate: Candidate
    binding: Binding
    caller: Caller
    seed: int = 0
    max_examples: int = 40
    base_spec: object = None   # the spec before conventions were declared
    declared: dict = field(default_factory=dict)   # conventions declared by the user
    detected: dict = field(default_factory=dict)   # conventions the value check found the candidate follows

    @property
    def formats(self) -> tuple:
        """The target formats the candidate accepts (the api.call probe); checks draw only these."""
        return self.binding.formats

    @property
    def layouts(self) -> tuple:
        """The spec's layouts, accepted ones first (the api.call probe)."""
        return self.binding.layout_order()

    def adopt(self, detected: dict) -> None:
        """Audit the remaining checks under conventions the candidate was found to follow (LC103)."""
        from losscheck.conventions import declare

        self.detected = dict(detected)
        self.spec, _ = declare(self.base_spec or self.spec, {**self.detected, **self.declared})
        self.binding.spec = self.spec

    # -- calling the candidate and the reference -------------------------------------------------------
    def tensors(self, case: Case, dtype: str, device="cpu", requires_grad=False):
        ts = [to_tensor(a, dtype, device) for a in self.spec.candidate_inputs(case)]
        if requires_grad:
            for i in self.spec.grad_args:
                ts[i].requires_grad_(True)
        return ts

    def kwargs(self, case: Case, dtype: str, device="cpu") -> dict:
        return self.binding.candidate_kwargs(case.params, lambda a: torch.tensor(a, dtype=DTYPES[dtype], device=device))

    def make(self, case: Case, dtype="float32", device="cpu"):
        made = self.caller.call(self.candidate.make, self.kwargs(case, dtype, device))
        if not made.ok:
            raise self.failure(made, case, dtype, "constructing the loss")
        return made.value

    def call(self, fn, tensors, case: Case, dtype="float32", what="calling the loss"):
        """Call `fn(*tensors)`; raise the api Violation for a raise, hang, non-tensor or non-0-d result."""
        out = self.caller.call(fn, *tensors)
        if not out.ok:
            raise self.failure(out, case, dtype, what)
        invalid = invalid_output(out.value, case.params.get("reduction", "mean"), what)
        if invalid is not None:
            raise Violation(*invalid, case, dtype)
        return out.value

    def run(self, case: Case, dtype="float32", requires_grad=False):
        """(result tensor, input tensors) of the candidate on a case."""
        ts = self.tensors(case, dtype, requires_grad=requires_grad)
        return self.call(self.make(case, dtype), ts, case, dtype), ts

    def failure(self, outcome, case, dtype, what, **extra):
        """The api Violation for a failed call: LC706 when it hung or its worker was lost, else LC705."""
        from losscheck.supervisor import WorkerLost

        if isinstance(outcome.error, CallTimeout):
            return Violation("LC706", f"{what} timed out: {outcome.describe_error()}", case, dtype, **extra)
        if isinstance(outcome.error, WorkerLost):
            return Violation("LC706", f"{what} crashed the process: {outcome.error}", case, dtype, **extra)
        return Violation("LC705", f"{what} raised {outcome.describe_error()} on a valid input", case, dtype, **extra)

    def reference(self, case: Case):
        with np.errstate(all="ignore"):
            return np.asarray(self.spec.reference(*case.inputs, **case.params), dtype=np.float64)

    def catalogue_reference(self, case: Case):
        """The reference under the catalogue's default conventions; None when those are the ones in force (or
        it cannot take the case)."""
        if self.base_spec is None or self.base_spec.reference is self.spec.reference:
            return None
        with np.errstate(all="ignore"):
            try:
                return np.asarray(self.base_spec.reference(*case.inputs, **case.params), dtype=np.float64)
            except (ValueError, TypeError):
                return None

    # -- hypothesis ------------------------------------------------------------------------------------
    def search(self, strategy, prop, *, examples=(), max_examples=None) -> tuple[int, Violation | None]:
        """Run `prop` over `examples` (forced first) and drawn cases; return (count, shrunk violation)."""
        count = [0]

        def test(case):
            count[0] += 1
            prop(case)

        wrapped = given(strategy)(test)
        for ex in reversed(list(examples)):
            wrapped = example(ex)(wrapped)
        wrapped = settings(max_examples=max_examples or self.max_examples, database=None, deadline=None,
                           derandomize=False, suppress_health_check=list(HealthCheck), print_blob=False,
                           report_multiple_bugs=False, verbosity=Verbosity.quiet,
                           phases=(Phase.explicit, Phase.generate, Phase.shrink))(wrapped)
        wrapped = seed(self.seed)(wrapped)
        try:
            wrapped()
        except Violation as v:
            return count[0], v
        except BaseException as e:  # hypothesis wraps flaky failures in exception groups
            inner = [x for x in getattr(e, "exceptions", ()) if isinstance(x, Violation)]
            if inner:
                return count[0], inner[0]
            raise
        return count[0], None

    # -- findings --------------------------------------------------------------------------------------
    def finding(self, check_name: str, v: Violation) -> Finding:
        signature = self.spec.signature
        snippet = v.snippet or default_snippet(signature, v.expected)
        grad_args = self.spec.grad_args if v.grad else ()
        repro = render(code=v.code, seed=self.seed, candidate=self.candidate, binding=self.binding, case=v.case,
                       dtype=v.dtype, snippet=snippet, grad_args=grad_args, setup=v.setup)
        data = dict(v.data)
        if PITFALLS[v.code].family in SWEPT_FAMILIES and self.caller.hung is None:
            from losscheck.sweep import sweep
            data["sweep"] = sweep(self, v.case, v.dtype)
        return Finding(code=v.code, check=check_name, message=v.message,
                       example=describe(v.case, signature, v.dtype, self.spec.candidate_inputs(v.case)),
                       reproducer=repro, data=data,
                       severity_override=v.severity)
