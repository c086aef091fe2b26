"""value: the candidate against the reference on ordinary valid inputs, every explored parameter value.

Inputs are drawn at the 'normal' scale, rounded to float32, and both sides see the same rounded values;
agreement is judged with the float32 row of losscheck.judge.tolerances (printed in every report).
"""
import numpy as np

from losscheck.judge.cases import cases
from losscheck.diagnosis import explain as diagnose  # used at call time: diagnose itself imports checks.base
from losscheck.diagnosis import explored
from losscheck.checks.base import number, register
from losscheck.judge.evidence import Evidence, Violation
from losscheck.judge.tolerances import TOLERANCES, aligned, close, max_error


def undefined(want) -> np.ndarray:
    """The points where values say nothing: the reference under the candidate's conventions is not finite there
    (0/0 of an unsmoothed Dice on an empty mask and an empty prediction, a cross entropy with every target
    ignored). Where the catalogue's default is not finite either, no correct loss could clear a verdict; where it
    is finite, a candidate that is not is stability.extremes' LC201 (it compares with the catalogue there)."""
    return ~np.isfinite(want)


def compare(ctx, case, dtype="float32", code="LC101", what="", tol=None):
    """Run the candidate and the reference on `case`; raise `code` when they disagree (points where the loss is
    undefined, see `undefined`, are left out)."""
    out, _ = ctx.run(case, dtype)
    want = ctx.reference(case)
    got = aligned(out.detach().double().cpu().numpy(), want)
    if case.params.get("reduction") == "none" and got.shape != want.shape:
        raise Violation("LC403", f"reduction='none' returned shape {got.shape}, the reference {want.shape}",
                        case, dtype, expected=want, data={"candidate": got.tolist(), "reference": want.tolist()})
    keep = ~undefined(want) if got.shape == want.shape else np.ones(np.shape(want), bool)
    if not keep.any():
        return got, want
    if not (close(got[keep], want[keep], dtype, tol) if not keep.all() else close(got, want, dtype, tol)):
        t = tol or TOLERANCES[dtype]
        raise Violation(code, f"{ctx.binding.explored_note(case.params)}{what}candidate {number(got)} but reference {number(want)} "
                        f"(max abs error {max_error(got, want):.3g}; {dtype} rtol={t['rtol']:g} atol={t['atol']:g})",
                        case, dtype, expected=want,
                        data={"candidate": got.tolist(), "reference": want.tolist()})
    return got, want


def _search(ctx, explore=True):
    """(examples, violation, diagnosed) of one search for a value disagreement."""
    n, v = ctx.search(cases(ctx.binding, target_formats=ctx.target_formats, explore=explore),
                      lambda case: compare(ctx, case.rounded("float32")))
    if v is not None and v.code in ("LC101", "LC403"):  # a variant or convention may explain either
        v = diagnose.explain_mismatch(ctx, v)
    return n, v


@register("value.reference", "value")
def reference_values(ctx) -> Evidence:
    found = []
    while True:
        n, v = _search(ctx)
        v = explored.settle(ctx, v) if v is not None else None
        found += [v] if v else []
        new = {name: value for name, value in v.data.get("conventions", []) if name not in ctx.detected} if v else {}
        if v is not None and not new and "explored_only" in v.data:
            # seen only at a value the user did not set: the user's own configuration is searched on its own
            m, own = _search(ctx, explore=False)
            return Evidence(n + m, found + ([own] if own else []))
        if not new:
            return Evidence(n, found)
        # The candidate follows undeclared conventions: audit everything after this under them.
        ctx.adopt({**ctx.detected, **new})
