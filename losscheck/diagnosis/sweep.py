"""Sweeps: the candidate and the reference (loss and gradient) along one line through a failing input.

The line is x(t) = t·u, with u the failing example's differentiable inputs divided by their largest
magnitude, and t from -200 to 200 (or from 0 to 1 when the inputs live in [0, 1], e.g. probabilities). The
HTML report plots it, marking where the candidate stops being finite or parts from the reference.
"""
from __future__ import annotations

import numpy as np

from losscheck.judge.evidence import Violation
from losscheck.judge.tolerances import EXTREME_FLOAT32, close

POINTS = 81


def _direction(case, args):
    largest = max((float(np.max(np.abs(case.inputs[i]))) if case.inputs[i].size else 0.0) for i in args)
    if largest == 0:
        return [np.ones_like(case.inputs[i]) for i in args]
    return [case.inputs[i] / largest for i in args]


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


def _candidate(ctx, case, dtype):
    """(loss, derivative along t) of the candidate; nan where it raises."""
    try:
        out, ts = ctx.run(case.rounded(dtype), dtype, requires_grad=True)
        total = out.sum()
        value = float(total.detach().double())
        grads = ctx.caller.call(lambda: total.backward())
        if not grads.ok:
            return value, float("nan")
        slope = sum(float((ts[i].grad.double() * ts[i].detach().double()).sum()) for i in ctx.spec.grad_args
                    if ts[i].grad is not None)
        return value, slope
    except Violation:
        return float("nan"), float("nan")


def sweep(ctx, case, dtype="float32") -> dict | None:
    args = ctx.spec.grad_args
    direction = _direction(case, args)
    ts = np.linspace(-200.0, 200.0, POINTS)
    reference = [_reference(ctx, _at(case, args, direction, t)) for t in ts]
    if np.mean(np.isnan(reference)) > 0.4:  # a bounded domain such as probabilities
        ts = np.linspace(0.0, 1.0, POINTS)
        reference = [_reference(ctx, _at(case, args, direction, t)) for t in ts]
    values, slopes = zip(*(_candidate(ctx, _at(case, args, direction, t), dtype) for t in ts))
    # d/dt of the reference by central differences; the candidate's slope is Σ grad·x / t along the line
    step = ts[1] - ts[0]
    ref_slope = np.gradient(np.asarray(reference), step)
    cand_slope = [s / t if t != 0 else float("nan") for s, t in zip(slopes, ts)]
    parted = [float(t) for t, c, r in zip(ts, values, reference)
              if np.isfinite(r) and (not np.isfinite(c) or not close(c, r, dtype, EXTREME_FLOAT32))]
    parts = min(parted, key=abs) if parted else None  # the parting point nearest the origin
    clean = lambda xs: [None if not np.isfinite(x) else float(x) for x in xs]  # noqa: E731
    return {"t": clean(ts), "candidate": clean(values), "reference": clean(reference),
            "candidate_slope": clean(cand_slope), "reference_slope": clean(ref_slope), "parts_at": parts,
            "direction": "x(t) = t * example / max|example| for " + "/".join(ctx.spec.signature[i] for i in args)}
