"""Diagnosis: turn "values differ" into the name of the mistake, or say where the candidate parts.

`explain_mismatch` tries every variant of the spec (its own, then the common ones) on the shrunk failing
case and then on freshly drawn cases; a variant that reproduces the candidate on all of them names the
defect (LC102) or the convention (LC103). It runs only after a disagreement, so a clean audit pays nothing.

`locate_region` bisects along the ray from zero to the failing input (scaling the differentiable inputs)
to find where the candidate stops being finite or parts from the reference.
"""
from __future__ import annotations

from dataclasses import replace

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
    except (ValueError, IndexError, ZeroDivisionError, TypeError, KeyError):
        return False
    return value.shape == got.shape and close(got, value, dtype)


def _fit(ctx, variant, examples):
    """Fit a variant's free parameters on the first example that allows it; {} when it has none, else None."""
    if variant.fit is None:
        return {}
    for case, got in examples:
        try:
            with np.errstate(all="ignore"):
                return variant.fit(ctx.spec.reference, case, got)
        except (ValueError, IndexError, ZeroDivisionError, TypeError, KeyError):
            continue
    return None


def _explains(ctx, variant, examples, dtype):
    """The fitted parameters when the variant reproduces the candidate on every example, else None."""
    params = _fit(ctx, variant, examples)
    if params is None:
        return None
    fitted = replace(variant, compute=lambda ref, c: variant.compute(ref, c.with_params(**params)))
    return params if all(_matches(ctx, fitted, case, got, dtype) for case, got in examples) else None


def explain_mismatch(ctx, v: Violation) -> Violation:
    """LC101 -> LC102/LC103 when a known variant reproduces the candidate on every drawn example."""
    if "candidate" not in v.data:
        return v
    examples = [(v.case, np.asarray(v.data["candidate"], dtype=np.float64))]
    from losscheck.conventions import combined

    singles = [var for var in ctx.spec.variants if var.convention]
    pairs = combined(ctx.base_spec or ctx.spec, {**ctx.detected, **ctx.declared}, singles)
    variants = (*ctx.spec.variants, *COMMON, *pairs)
    # Only variants that reproduce the shrunk case (or still have parameters to fit) are worth more draws.
    hopeful = [var for var in variants if _explains(ctx, var, examples, v.dtype) is not None
               or (var.fit is not None and _fit(ctx, var, examples) is None)]
    if not hopeful:
        return v

    scalars = {k: val for k, val in v.case.params.items() if not isinstance(val, np.ndarray)}

    def collect(case):
        case = case.with_params(**scalars).rounded(v.dtype)  # other inputs, the failing case's parameters
        try:
            examples.append((case, ctx.run(case, v.dtype)[0].detach().double().numpy()))
        except Violation:
            pass

    formats = [v.case.fmt] if v.case.fmt else ctx.formats
    ctx.search(cases(ctx.binding, layouts=[v.case.layout or ctx.layouts[0]], formats=formats), collect,
               max_examples=CONFIRMING_EXAMPLES)
    for var in hopeful:
        params = _explains(ctx, var, examples, v.dtype)
        if params is None:
            continue
        convention = f" (a documented convention, followed by {var.libraries})" if var.libraries else ""
        fitted = f" with {', '.join(f'{k}={val:.4g}' for k, val in params.items())}" if params else ""
        message = (f"{var.name}{fitted}: the candidate {var.says}{convention}. Fix: {var.fix}. "
                   f"Seen on every one of {len(examples)} examples; on this one {v.message}")
        return Violation(var.code, message, v.case, v.dtype, expected=v.expected, snippet=v.snippet, setup=v.setup,
                         data={**v.data, "variant": var.name, "fitted": params,
                               **({"conventions": [list(c) for c in var.convention]} if var.convention else {})})
    return v


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
