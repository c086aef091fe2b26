"""Diagnosis: turn "values differ" into the name of the mistake, or say where the candidate parts.

`explain_mismatch` tries every variant of the spec (its own, then the common ones) on the shrunk failing
case and then on freshly drawn cases; a variant that reproduces the candidate on all of them names the
defect (LC102) or the convention (LC103). It runs only after a disagreement, so a clean audit pays nothing.

`locate_region` bisects along the ray from zero to the failing input (scaling the differentiable inputs)
to find where the candidate stops being finite or parts from the reference.
"""
from __future__ import annotations

import numpy as np

from losscheck.cases import cases
from losscheck.checks.base import Violation, fmt
from losscheck.tolerances import EXTREME_FLOAT32, close
from losscheck.variants import COMMON

CONFIRMING_EXAMPLES = 12


def _matches(ctx, variant, case, got, dtype) -> bool:
    try:
        with np.errstate(all="ignore"):
            value = variant.compute(ctx.spec.reference, case)
    except (ValueError, IndexError, ZeroDivisionError, TypeError):
        return False
    return value.shape == got.shape and close(got, value, dtype)


def explain_mismatch(ctx, v: Violation) -> Violation:
    if "candidate" not in v.data:
        return v
    got = np.asarray(v.data["candidate"], dtype=np.float64)
    alive = [var for var in (*ctx.spec.variants, *COMMON) if _matches(ctx, var, v.case, got, v.dtype)]
    if not alive:
        return v

    def confirm(case):
        case = case.rounded(v.dtype)
        try:
            out = ctx.run(case, v.dtype)[0].detach().double().numpy()
        except Violation:
            return
        alive[:] = [var for var in alive if _matches(ctx, var, case, out, v.dtype)]

    formats = [v.case.fmt] if v.case.fmt else ctx.formats
    ctx.search(cases(ctx.binding, layouts=[v.case.layout or ctx.spec.layouts[0]], formats=formats), confirm,
               max_examples=CONFIRMING_EXAMPLES)
    if not alive:
        return v
    var = alive[0]
    convention = f" (a documented convention, followed by {var.libraries})" if var.libraries else ""
    message = (f"{var.name}: the candidate {var.says}{convention}. Fix: {var.fix}. "
               f"Seen on every one of {CONFIRMING_EXAMPLES + 1} examples; on this one {v.message}")
    return Violation(var.code, message, v.case, v.dtype, expected=v.expected, snippet=v.snippet, setup=v.setup,
                     data={**v.data, "variant": var.name})


def locate_region(ctx, v: Violation, steps: int = 40) -> Violation:
    """Add "agrees for |x| < a, parts beyond" to a stability violation, by bisection on a scale factor."""
    case = v.case

    def scaled(t):
        inputs = list(case.inputs)
        for i in ctx.spec.grad_args:
            inputs[i] = inputs[i] * t
        return case.with_inputs(inputs)

    def agrees(t):
        c = scaled(t)
        want = ctx.reference(c)
        try:
            got = ctx.run(c, v.dtype)[0].detach().double().numpy()
        except Violation:
            return False
        return bool(np.all(np.isfinite(got))) and close(got, want, v.dtype, EXTREME_FLOAT32)

    if not agrees(0.0) or agrees(1.0):
        return v
    lo, hi = 0.0, 1.0
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if agrees(mid) else (lo, mid)
    edge = max(float(np.max(np.abs(case.inputs[i]))) for i in ctx.spec.grad_args) * hi
    names = "/".join(ctx.spec.signature[i] for i in ctx.spec.grad_args)
    region = f"agrees with the reference for |{names}| < {edge:.4g} on this input and parts beyond it"
    return Violation(v.code, f"{v.message}; {region}", case, v.dtype, expected=v.expected, snippet=v.snippet,
                     setup=v.setup, data={**v.data, "region": {"parts_at": edge, "inputs": names}})
