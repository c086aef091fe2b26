"""The Context a check works through: the candidate (its calls go to the worker), the audit's state, calling the
candidate and the reference on a case, the hypothesis search, and turning a Violation into a Finding.

One Context serves one audit. Its search settings are made once, when it is made (a search that asks for another
number of examples gets a child of them, made once per number, as hypothesis's settings(parent) intends).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from hypothesis import HealthCheck, Phase, Verbosity, example, given, seed, settings

from losscheck.diagnosis.explored import settle
from losscheck.diagnosis.sweep import sweep
from losscheck.findings import Finding
from losscheck.judge.chunks import as_called, listed
from losscheck.judge.cases import DTYPES, Case, example_text, to_tensor
from losscheck.judge import none_forms
from losscheck.judge.evidence import Violation
from losscheck.judge.outputs import invalid_output
from losscheck.judge.reproducer import default_snippet, reproducer_source
from losscheck.judge.state import AuditState
from losscheck.pitfalls import PITFALLS
from losscheck.specs.base import LossSpec
from losscheck.suspect.calls import Caller, CallResult, CallTimeout
from losscheck.suspect.candidate import Candidate
from losscheck.suspect.protocol import LeftRunning, WorkerLost

SWEPT_FAMILIES = ("value", "stability", "gradient")  # findings that get a loss/gradient sweep for the plots


def search_settings(max_examples: int) -> settings:
    """The hypothesis settings of every search of an audit: no example database (an audit leaves nothing behind),
    no deadline (the worker's time limit is the candidate's), quiet, no health checks, the first failure only."""
    return settings(max_examples=max_examples, database=None, deadline=None, derandomize=False,
                    suppress_health_check=list(HealthCheck), print_blob=False, report_multiple_bugs=False,
                    verbosity=Verbosity.quiet, phases=(Phase.explicit, Phase.generate, Phase.shrink))


@dataclass
class Context:
    """One audit as its checks see it, kept in this process (the judge): the candidate, the audit's state (the spec
    in force, the probe's record, the diagnosis: losscheck.judge.state), how to call the candidate, and the
    audit's seed, number of examples per search and --ddp ranks."""

    candidate: Candidate
    state: AuditState
    caller: Caller
    seed: int           # the audit's (losscheck.options declares the defaults)
    max_examples: int
    ddp: int = 0   # --ddp: the ranks device.ddp shards across (0: off)
    precision: bool = False   # --precision: the precision family runs in full, its findings errors
    precision_screen: bool = True  # without --precision: precision.autocast on a few examples, warnings at most
    precision_raw: bool = False  # --precision-raw: the precision family with its raw half inputs (autocast too)
    compile: bool = False     # --compile: the compile family runs (aot_eager per example)
    inductor: bool = False    # --inductor: with --compile, inductor once per loss (a cold compile: about 20 s)
    fullgraph: bool = False   # --fullgraph: a graph break is a warning, not info
    _settings: dict = field(init=False, repr=False)   # max_examples -> the search settings

    def __post_init__(self):
        self._settings = {self.max_examples: search_settings(self.max_examples)}

    @property
    def binding(self):
        """The parameter map (losscheck.judge.binding)."""
        return self.state.binding

    @property
    def spec(self) -> LossSpec:
        """The spec in force (conventions declared, then adopted)."""
        return self.state.spec

    @property
    def target_formats(self) -> tuple:
        """The target formats the candidate accepts (the api.call probe); checks draw only these."""
        return self.state.target_formats

    @property
    def layouts(self) -> tuple:
        """The spec's layouts, accepted ones first (the api.call probe)."""
        return self.state.layout_order()

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
        """Call `fn(*tensors)` (an input the candidate takes in chunks as a list of views: losscheck.judge.chunks);
        raise the api Violation for a raise, hang, non-tensor or non-0-d result."""
        out = self.caller.call(fn, *as_called(case.chunked, tensors))
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
        """The api Violation for a failed call: LC706 when it hung or its worker was lost, LC708 when it left
        threads or processes running, else LC705."""
        if isinstance(result.error, LeftRunning):
            return Violation("LC708", f"after {what}, {result.error}", case, dtype, **extra)
        if isinstance(result.error, CallTimeout):
            return Violation("LC706", f"{what} timed out: {result.describe_error()}", case, dtype, **extra)
        if isinstance(result.error, WorkerLost):
            return Violation("LC706", f"{what} crashed the process: {result.error}", case, dtype, **extra)
        return Violation("LC705", f"{what} raised {result.describe_error()} on a valid input", case, dtype, **extra)

    def reference(self, case: Case):
        """The reference's value of a case, in the form the candidate gives its 'none' (AuditState.none_form)."""
        with np.errstate(all="ignore"):
            value = np.asarray(self.spec.reference(*case.inputs, **case.params), dtype=np.float64)
            return none_forms.apply(self.state.none_form, value, case.params.get("reduction"),
                                    lambda: self.spec.reference(*case.inputs, **{**case.params, "reduction": "none"}))

    def catalogue_reference(self, case: Case):
        """The reference under the catalogue's default conventions; None when those are the ones in force, when
        the inputs are drawn in another domain (probabilities where the catalogue takes logits: its values say
        nothing there), or when it cannot take the case."""
        base_spec = self.state.base_spec
        if base_spec.reference is self.spec.reference or base_spec.draw_inputs is not self.spec.draw_inputs:
            return None
        with np.errstate(all="ignore"):
            try:
                return np.asarray(base_spec.reference(*case.inputs, **case.params), dtype=np.float64)
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
        wrapped = seed(self.seed)(self._search_settings(max_examples or self.max_examples)(wrapped))
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

    def _search_settings(self, max_examples: int) -> settings:
        if max_examples not in self._settings:
            self._settings[max_examples] = settings(self._settings[self.max_examples], max_examples=max_examples)
        return self._settings[max_examples]

    # -- findings --------------------------------------------------------------------------------------
    def finding(self, check_name: str, v: Violation) -> Finding:
        v = settle(self, v)  # an error seen only at a parameter value the user did not set
        signature = self.spec.signature
        snippet = v.snippet or default_snippet(signature, v.expected)
        grad_args = self.spec.grad_args if v.grad else ()
        repro = reproducer_source(code=v.code, seed=self.seed, candidate=self.candidate, binding=self.binding,
                                  case=v.case, dtype=v.dtype, snippet=snippet, grad_args=grad_args, setup=v.setup)
        data = dict(v.data)
        if PITFALLS[v.code].family in SWEPT_FAMILIES and self.caller.hung is None:
            line = sweep(self, v.case, v.dtype)
            if line is not None:
                data["sweep"] = line
        return Finding(code=v.code, check=check_name, message=v.message,
                       example=example_text(v.case, signature, v.dtype,
                                            listed(v.case.chunked, self.spec.candidate_inputs(v.case)),
                                            self.binding.taken(v.case.params)),
                       reproducer=repro, data=data,
                       severity_override=v.severity, layout=v.case.layout)
