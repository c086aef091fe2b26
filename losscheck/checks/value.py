"""value: the candidate against the reference on ordinary valid inputs, every explored parameter value.

Inputs are drawn at the 'normal' scale, rounded to float32, and both sides see the same rounded values;
agreement is judged with the float32 row of losscheck.judge.tolerances (printed in every report).
"""
from losscheck.judge.cases import cases
from losscheck.checks.registry import register
from losscheck.diagnosis import explain as diagnose
from losscheck.diagnosis import explored
from losscheck.judge.cases import cases
from losscheck.judge.compare import compare_with_reference
from losscheck.judge.evidence import Evidence


def _search(ctx, explore=True):
    """(examples, violation) of one search for a value disagreement, diagnosed when a variant or a convention may
    explain it."""
    n, v = ctx.search(cases(ctx.state, target_formats=ctx.target_formats, explore=explore),
                      lambda case: compare_with_reference(ctx, case.rounded("float32")))
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
        new = [(name, value) for name, value in v.data.get("conventions", [])
               if name not in ctx.state.detected] if v else []
        if v is not None and not new and "explored_only" in v.data:
            # seen only at a value the user did not set: the user's own configuration is searched on its own, and
            # what it finds there replaces the warning (one finding per disagreement, on the user's values first)
            m, own = _search(ctx, explore=False)
            return Evidence(n + m, found[:-1] + [own] if own else found)
        # The candidate follows undeclared conventions: audit everything after this under them.
        if not (new and ctx.state.adopt(new)):
            return Evidence(n, found)
