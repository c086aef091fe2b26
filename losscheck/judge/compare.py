"""The candidate against the reference on one case: the comparison every family that judges values uses
(value.reference, target.formats, target.shapes, ...), written once here rather than imported from a sibling
family. Agreement is judged with losscheck.judge.tolerances (printed in every report). A disagreement that the
value check's diagnosis also gives (the diagnosed variant's value on this case) says so in its data
(`explained_by`), so that reports group it under that variant's headline (losscheck.diagnosis.grouping)."""
import numpy as np

from losscheck.diagnosis.explain import explains_case
from losscheck.judge.evidence import Violation
from losscheck.judge.formatting import number
from losscheck.judge.tolerances import TOLERANCES, aligned, close, max_error, summed


def undefined(want) -> np.ndarray:
    """The points where values say nothing: the reference under the candidate's conventions is not finite there
    (0/0 of an unsmoothed Dice on an empty mask and an empty prediction, a cross entropy with every target
    ignored). Where the catalogue's default is not finite either, no correct loss could clear a verdict; where it
    is finite, a candidate that is not is stability.extremes' LC201 (it compares with the catalogue there)."""
    return ~np.isfinite(want)


def tolerance(ctx, case, dtype="float32", tol=None) -> dict:
    """The tolerance `case`'s value is judged with: `tol` or the dtype's row; for reduction='sum', summed over the
    terms of the reference's 'none' output (losscheck.judge.tolerances.summed), as the terms themselves are judged."""
    t = tol or TOLERANCES[dtype]
    if case.params.get("reduction") == "sum" and "none" in ctx.spec.reductions:
        return summed(t, np.size(ctx.reference(case.with_params(reduction="none"))))
    return t


def within_tolerance(ctx, case, got, want, dtype="float32", tol=None) -> bool:
    """`got` agrees with `want` (the values of `case`) within `tolerance`; the summed tolerance is computed only
    when the plain one fails (it costs a reference call)."""
    return close(got, want, dtype, tol) or close(got, want, dtype, tolerance(ctx, case, dtype, tol))


def compare_with_reference(ctx, case, dtype="float32", code="LC101", what="", tol=None):
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
    if not (within_tolerance(ctx, case, got[keep], want[keep], dtype, tol) if not keep.all() else
            within_tolerance(ctx, case, got, want, dtype, tol)):
        t = tolerance(ctx, case, dtype, tol)
        explained = explains_case(ctx, case, got)  # the value check's diagnosis gives this value too: one cause
        raise Violation(code, f"{ctx.binding.explored_note(case.params)}{what}candidate {number(got)} but reference {number(want)} "
                        f"(max abs error {max_error(got, want):.3g}; {dtype} rtol={t['rtol']:g} atol={t['atol']:g})",
                        case, dtype, expected=want,
                        data={"candidate": got.tolist(), "reference": want.tolist(),
                              **({"explained_by": explained} if explained else {})})
    return got, want
