"""value: the candidate against the reference on ordinary valid inputs, every explored parameter value.

Inputs are drawn at the 'normal' scale, rounded to float32, and both sides see the same rounded values;
agreement is judged with the float32 row of losscheck.judge.tolerances (printed in every report).
"""
from losscheck.judge.cases import cases
from losscheck.judge.compare import compare_with_reference
from losscheck.diagnosis import explain as diagnose
from losscheck.checks.registry import register
from losscheck.judge.evidence import Evidence


@register("value.reference", "value")
def reference_values(ctx) -> Evidence:
    strategy = cases(ctx.state, target_formats=ctx.target_formats)
    found = []
    while True:
        n, v = ctx.search(strategy, lambda case: compare_with_reference(ctx, case.rounded("float32")))
        if v is not None and v.code in ("LC101", "LC403"):  # a variant or convention may explain either
            v = diagnose.explain_mismatch(ctx, v)
        found += [v] if v else []
        # The candidate follows undeclared conventions: audit everything after this under them.
        if not (v and ctx.state.adopt(v.data.get("conventions", []))):
            return Evidence(n, found)
