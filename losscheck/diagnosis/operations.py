"""The operation at fault: one name for the class of operation that makes a loss inf, nan or capped, whichever the
regime, so that a stability finding (float32 at extreme inputs) and a precision finding (bf16/fp16 at confident
inputs) of the same operation are grouped as one cause (losscheck.diagnosis.grouping, data `operation`).

The worker's autocast op (losscheck.suspect.ops.autocast) traces a run: the watched operations that ran and the
first whose result is inf/nan from finite arguments. The class is read from that trace:
  exp first                         "exp without a max shift": exp(x) overflows (float32 past 88, fp16 past 11;
                                    log_softmax and logsumexp subtract the max first);
  log first, after a clamp          "log of a clamped probability": an eps below the dtype's resolution (1 - 1e-7
                                    is 1 in bf16 and fp16) leaves log(0); in float32 the same clamp caps the loss
                                    (LC202, capped), so a capped run through clamp and log names it too;
  log first                         "log of a probability": sigmoid or softmax rounds to 0 or 1 (float32 past
                                    |x| ~ 16.6 for sigmoid, bf16 past 7), then log(0);
  pow first                         "pow of a probability";
  sum or mean first                 "a sum in low precision" (the reduction overflows the dtype).
Anything else is not named: two findings are one cause only where the trace says so.
"""
from __future__ import annotations

from losscheck.judge.cases import Case, to_tensor
from losscheck.suspect import wire
from losscheck.suspect.protocol import Autocast

CLASSES = {"exp": "exp without a max shift", "log": "log of a probability", "pow": "pow of a probability",
           "sum": "a sum in low precision", "mean": "a sum in low precision"}
CLAMPED_LOG = "log of a clamped probability"


def operation_class(first: str | None, ran, capped: bool = False) -> str | None:
    """The class of the operation at fault, from a trace: `first`, the first operation to give inf/nan from finite
    arguments (None: none did); `ran`, the watched operations that ran, in order; `capped`, the loss is finite but
    capped (a float32 run at extreme inputs)."""
    ran = list(ran)
    clamped = "clamp" in ran and "log" in ran and ran.index("clamp") < ran.index("log")
    if clamped and (first == "log" or (first is None and capped)):
        return CLAMPED_LOG
    return CLASSES.get(first)


def wire_run(ctx, case: Case, input_dtype: str, autocast: str | None, scale: float, grad_args,
             every_input: bool = False) -> dict:
    """One run of an Autocast request: the inputs at `grad_args` (every float input and tensor parameter, with
    `every_input` or in float64) in `input_dtype`, the others float32."""
    inputs = [to_tensor(a, input_dtype if every_input or i in grad_args or input_dtype == "float64" else "float32")
              for i, a in enumerate(ctx.spec.candidate_inputs(case))]
    kwargs_dtype = input_dtype if every_input or input_dtype == "float64" else "float32"
    return {"kwargs": wire.encode(ctx.kwargs(case, kwargs_dtype)), "inputs": [wire.encode_tensor(t) for t in inputs],
            "autocast": autocast, "scale": scale}


def at_fault(ctx, case: Case, capped: bool = False) -> str | None:
    """The class of the operation at fault when the candidate runs `case` in float32 (a stability finding's case),
    traced in the worker; None where the trace names none or the run fails."""
    run = wire_run(ctx, case, "float32", None, 1.0, tuple(ctx.spec.grad_args))
    reply = ctx.candidate.perform(ctx.caller, Autocast((run,), ()))  # no gradient: the value's trace is enough
    if reply.error or len(reply.outcomes) != 1 or reply.outcomes[0]["error"]:
        return None
    run = reply.outcomes[0]
    return operation_class(run.get("first_non_finite_any"), run.get("ran", []), capped)
