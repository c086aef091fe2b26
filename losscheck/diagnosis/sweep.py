"""Sweeps: the candidate and the reference (loss and gradient) along one line through a failing input.

The line is x(t) = t·u, with u the failing example's differentiable inputs divided by their largest
magnitude m, so the example itself sits at t = m. The sweep is centred there, t from -m to 3m (at least -2 to
2): the failing region at the middle and the origin (zero inputs) in view, at the example's own scale; where
the inputs live in [0, 1] (probabilities), t runs from 0 to 1. The HTML report plots it, marking where the
candidate, nearest the example, stops being finite or parts from the reference. A sweep along which the
candidate agrees with the reference everywhere (values and slopes) is not returned: two coinciding curves show
nothing.
"""
from __future__ import annotations

import numpy as np

from losscheck.judge.evidence import Violation
from losscheck.judge.tolerances import EXTREME_FLOAT32, close

POINTS = 81


def _direction(case, args):
    """(u, m): the inputs divided by their largest magnitude m (ones when all are zero, m = 1)."""
    largest = max((float(np.max(np.abs(case.inputs[i]))) if case.inputs[i].size else 0.0) for i in args)
    if largest == 0:
        return [np.ones_like(case.inputs[i]) for i in args], 1.0
    return [case.inputs[i] / largest for i in args], largest


def _at(case, args, direction, t):
    inputs = list(case.inputs)
    for i, u in zip(args, direction):
        inputs[i] = u * t
    return case.with_inputs(inputs)


def _reference(ctx, case) -> float:
    try:
        return float(np.sum(ctx.reference(case)))
    except (ValueError, ZeroDivisionError, IndexError):
        return float("nan")


def _candidate(ctx, case, direction, dtype):
    """(loss, derivative along the line: Σ grad·u) of the candidate; nan where it raises."""
    try:
        out, ts = ctx.run(case.rounded(dtype), dtype, requires_grad=True)
        total = out.sum()
        value = float(total.detach().double())
        grads = ctx.caller.call(lambda: total.backward())
        if not grads.ok:
            return value, float("nan")
        with np.errstate(all="ignore"):  # an inf gradient is what the plot shows, not a warning
            slope = sum(float((ts[i].grad.double().numpy() * u).sum())
                        for i, u in zip(ctx.spec.grad_args, direction) if ts[i].grad is not None)
        return value, slope
    except Violation:
        return float("nan"), float("nan")


def _coincide(candidate, reference, dtype, slope=False) -> bool:
    """Whether two curves coincide where the reference is defined: values within the audit's extreme-input
    tolerance; slopes (autograd against central differences) within 2% of the largest slope."""
    pairs = [(c, r) for c, r in zip(candidate, reference) if np.isfinite(r)]
    if slope:
        scale = max((abs(r) for _, r in pairs), default=0.0)
        return all(np.isfinite(c) and abs(c - r) <= 0.02 * scale + 1e-9 for c, r in pairs)
    return all(np.isfinite(c) and close(c, r, dtype, EXTREME_FLOAT32) for c, r in pairs)


def sweep(ctx, case, dtype="float32") -> dict | None:
    """The sweep through `case` (see the module docstring), or None where the candidate agrees all along it."""
    args = ctx.spec.grad_args
    direction, at = _direction(case, args)
    span = 2 * max(at, 1.0)
    ts = np.linspace(at - span, at + span, POINTS)
    reference = [_reference(ctx, _at(case, args, direction, t)) for t in ts]
    if np.mean(np.isnan(reference)) > 0.4:  # a bounded domain such as probabilities
        ts = np.linspace(0.0, 1.0, POINTS)
        reference = [_reference(ctx, _at(case, args, direction, t)) for t in ts]
    values, cand_slope = zip(*(_candidate(ctx, _at(case, args, direction, t), direction, dtype) for t in ts))
    ref_slope = np.gradient(np.asarray(reference), ts[1] - ts[0])  # d/dt of the reference, central differences
    interior = slice(1, -1)  # central differences are one-sided at the ends
    if _coincide(values, reference, dtype) and _coincide(cand_slope[interior], list(ref_slope[interior]), dtype, True):
        return None
    parted = [float(t) for t, c, r in zip(ts, values, reference)
              if np.isfinite(r) and (not np.isfinite(c) or not close(c, r, dtype, EXTREME_FLOAT32))]
    parts = min(parted, key=lambda t: abs(t - at)) if parted else None  # the parting point nearest the example
    clean = lambda xs: [None if not np.isfinite(x) else float(x) for x in xs]  # noqa: E731
    return {"t": clean(ts), "candidate": clean(values), "reference": clean(reference),
            "candidate_slope": clean(cand_slope), "reference_slope": clean(ref_slope), "parts_at": parts,
            "example_at": float(at),
            "direction": "x(t) = t * example / max|example| for " + "/".join(ctx.spec.signature[i] for i in args)}
