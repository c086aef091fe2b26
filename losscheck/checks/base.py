"""What every check shares: the registry, the audit Context, calling the candidate, the search (what a check
finds, Evidence, Violation and Skip, is losscheck.judge.evidence).

A check is a function `check(ctx) -> Evidence` registered with `@register(name, family, ...)`. It draws cases
with hypothesis (`ctx.search`), raises `Violation` from its property when something is wrong, and gets back
the shrunk violation. Candidate failures on valid input (raise, hang, non-tensor, non-0-d reduced result)
become api findings wherever they happen, through `ctx.run`. What the audit needs to know of a check (it runs
first or last, it needs accepted inputs, it is opt-in, it repairs the audit's state when it breaks) is declared
where it is registered; auditor.run_checks reads those declarations and knows no check by name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch
from hypothesis import HealthCheck, Phase, Verbosity, example, given, seed, settings

from losscheck.judge.binding import Binding
from losscheck.suspect.calls import Caller, CallResult, CallTimeout
from losscheck.suspect.candidate import Candidate
from losscheck.judge.cases import DTYPES, Case, describe, to_tensor
from losscheck.judge.evidence import Violation
from losscheck.diagnosis.explored import settle
from losscheck.findings import Finding
from losscheck.pitfalls import PITFALLS
from losscheck.judge.reproducer import default_snippet, render

if TYPE_CHECKING:
    from losscheck.specs.base import LossSpec

CHECKS: list = []  # every registered check, in registration order (checks.ordered() sorts them)
SWEPT_FAMILIES = ("value", "stability", "gradient")  # findings that get a loss/gradient sweep for the plots
NOTHING_ACCEPTED = "skipped: the candidate accepts none of the loss's layouts and target formats (see api.call)"


def register(name: str, family: str, *, runs_first: bool = False, runs_last: bool = False,
             needs_inputs: bool = True, only_if: Callable[[Context], bool] | None = None,
             on_error: Callable[[Context], None] | None = None):
    """Register the check `fn(ctx) -> Evidence` as `name`, of `family`, with what the audit needs to know of it:

    runs_first   it runs before every family (the api.call probe: the others draw from what it accepts);
    runs_last    it runs after every family (device.ddp);
    needs_inputs it is skipped (NOTHING_ACCEPTED) when the probe found no layout and target format that runs;
    only_if      ctx -> whether this audit runs it at all (device.ddp: only with --ddp N);
    on_error     ctx -> None, called when the check fails with an internal error (the probe: draw from every
                 layout rather than none).
    """
    def wrap(fn):
        fn.check_name, fn.family = name, family
        fn.runs_first, fn.runs_last, fn.needs_inputs = runs_first, runs_last, needs_inputs
        fn.only_if, fn.on_error = only_if, on_error
        CHECKS.append(fn)
        return fn
    return wrap


def invalid_output(value, reduction: str, what: str) -> tuple[str, str] | None:
    """(code, message) when a loss's output cannot be judged: LC707 not a tensor, LC704 a reduced result
    ('mean', 'sum') that is not 0-d; None when it is a fine output. One process and each ddp rank use it."""
    if not isinstance(value, torch.Tensor):
        return "LC707", f"{what} returned {type(value).__name__} ({str(value)[:60]}), not a tensor"
    if reduction != "none" and value.dim() != 0:
        return "LC704", f"reduction={reduction!r} returned shape {tuple(value.shape)}, expected a 0-d tensor"
    return None


def number(x) -> str:
    """A number or an array as a message shows it: 8 significant digits, arrays with at most 6 decimals."""
    a = np.asarray(x, dtype=np.float64)
    return np.array2string(a, precision=6, separator=", ") if a.ndim else f"{float(a):.8g}"


@dataclass
class Context:
    """One audit's state, kept in this process (the judge): the candidate (its calls go to the worker), the
    binding (the spec in force, the probe's record, the diagnosed variant) and the audit's settings."""

    candidate: Candidate
    binding: Binding
    caller: Caller
    seed: int = 0
    max_examples: int = 40
    base_spec: LossSpec | None = None   # the spec before conventions were declared
    declared: dict = field(default_factory=dict)   # conventions declared by the user
    detected: dict = field(default_factory=dict)   # conventions the value check found the candidate follows
    ddp: int = 0   # --ddp: the ranks device.ddp shards across (0: off)

    @property
    def spec(self) -> LossSpec:
        """The spec in force (conventions declared, then adopted); the binding holds its one copy."""
        return self.binding.spec

    @property
    def target_formats(self) -> tuple:
        """The target formats the candidate accepts (the api.call probe); checks draw only these."""
        return self.binding.target_formats

    @property
    def layouts(self) -> tuple:
        """The spec's layouts, accepted ones first (the api.call probe)."""
        return self.binding.layout_order()

    def adopt(self, detected: dict) -> None:
        """Audit the remaining checks under conventions the candidate was found to follow (LC103)."""
        from losscheck.diagnosis.conventions import declare

        self.detected = dict(detected)
        self.binding.spec, _ = declare(self.base_spec or self.spec, {**self.detected, **self.declared})

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

    def failure(self, result: CallResult, case, dtype, what, **extra):
        """The api Violation for a failed call: LC706 when it hung or its worker was lost, else LC705."""
        from losscheck.suspect.supervisor import WorkerLost

        if isinstance(result.error, CallTimeout):
            return Violation("LC706", f"{what} timed out: {result.describe_error()}", case, dtype, **extra)
        if isinstance(result.error, WorkerLost):
            return Violation("LC706", f"{what} crashed the process: {result.error}", case, dtype, **extra)
        return Violation("LC705", f"{what} raised {result.describe_error()} on a valid input", case, dtype, **extra)

    def reference(self, case: Case):
        with np.errstate(all="ignore"):
            return np.asarray(self.spec.reference(*case.inputs, **case.params), dtype=np.float64)

    def catalogue_reference(self, case: Case):
        """The reference under the catalogue's default conventions; None when those are the ones in force, when
        the inputs are drawn in another domain (probabilities where the catalogue takes logits: its values say
        nothing there), or when it cannot take the case."""
        if self.base_spec is None or self.base_spec.reference is self.spec.reference or \
                self.base_spec.draw_inputs is not self.spec.draw_inputs:
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
        v = settle(self, v)  # an error seen only at a parameter value the user did not set
        signature = self.spec.signature
        snippet = v.snippet or default_snippet(signature, v.expected)
        grad_args = self.spec.grad_args if v.grad else ()
        repro = render(code=v.code, seed=self.seed, candidate=self.candidate, binding=self.binding, case=v.case,
                       dtype=v.dtype, snippet=snippet, grad_args=grad_args, setup=v.setup)
        data = dict(v.data)
        if PITFALLS[v.code].family in SWEPT_FAMILIES and self.caller.hung is None:
            from losscheck.diagnosis.sweep import sweep
            data["sweep"] = sweep(self, v.case, v.dtype)
        return Finding(code=v.code, check=check_name, message=v.message,
                       example=describe(v.case, signature, v.dtype, self.spec.candidate_inputs(v.case)),
                       reproducer=repro, data=data,
                       severity_override=v.severity)
