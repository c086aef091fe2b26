"""stability: extreme but valid inputs (forced edge values first, then drawn at the 'extreme' scale).

The candidate must be finite wherever the reference is finite (LC201) and close to it (LC202, with the
looser EXTREME_FLOAT32 tolerance); in float16/bfloat16 it must not overflow where the true value fits (LC203).
With the precision family on, an LC201/LC202 finding also records the operation at fault (data `operation`, traced
in the worker: losscheck.diagnosis.operations), so that the report groups it with the precision finding of the same
operation as one cause; the default audit does not pay for the trace.
"""
import numpy as np

from losscheck.judge.cases import cases, edge_cases, labelled
from losscheck.judge.compare import within_tolerance
from losscheck.diagnosis import explain as diagnose
from losscheck.diagnosis.operations import at_fault
from losscheck.checks.registry import register
from losscheck.judge.formatting import number
from losscheck.judge.evidence import Evidence, Skip, Violation
from losscheck.judge.tolerances import EXTREME_FLOAT32, aligned

HALF_MAX = {"float16": 65504.0, "bfloat16": 3.0e38}


@register("stability.extremes", "stability")
def extremes(ctx) -> Evidence:
    def prop(case):
        case = case.rounded("float32")
        want = ctx.reference(case)
        finite_only = not np.all(np.isfinite(want))
        if finite_only:  # a convention (no smoothing) may leave a point undefined that the catalogue's loss defines
            want = ctx.catalogue_reference(case)
            if want is None or not np.all(np.isfinite(want)):
                return
        out, _ = ctx.run(case, "float32")
        got = aligned(out.detach().double().numpy(), want)
        if not np.all(np.isfinite(got)):
            bad = "nan" if np.any(np.isnan(got)) else "inf"
            raise Violation("LC201", f"{ctx.binding.explored_note(case.params)}the loss is {bad}, not finite, at extreme inputs{labelled(case)} where the "
                            f"reference is {number(want)}: overflow, underflow or 0/0 in float32",
                            case, expected=want, data={"candidate": got.tolist(), "reference": want.tolist()})
        if not finite_only and not within_tolerance(ctx, case, got, want, "float32", EXTREME_FLOAT32):
            explained = diagnose.explains_case(ctx, case, got)
            if explained:  # the value check's diagnosis holds here too: no remark measured against the reference
                remark, extra = f" (as everywhere: {explained}, see value.reference)", {"explained_by": explained}
            else:
                capped = got.shape == want.shape and np.all(np.abs(got) <= np.abs(want))
                remark, extra = (" (saturation or a clamp caps the loss)", {"capped": True}) if capped else ("", {})
            raise Violation("LC202", f"{ctx.binding.explored_note(case.params)}at extreme inputs{labelled(case)} the "
                            f"candidate gives {number(got)} but the reference {number(want)}{remark}", case, expected=want,
                            data={"candidate": got.tolist(), "reference": want.tolist(), **extra})

    strategy = cases(ctx.state, target_formats=ctx.target_formats, scale="extreme")
    n, v = ctx.search(strategy, prop, examples=edge_cases(ctx.state))
    if v is not None and v.code in ("LC201", "LC202"):
        v = diagnose.locate_region(ctx, v)
        if (ctx.precision or ctx.precision_raw or ctx.precision_screen) and "explained_by" not in v.data:
            operation = at_fault(ctx, v.case, capped=bool(v.data.get("capped")))
            v.data.update({"operation": operation} if operation else {})
    return Evidence(n, [v] if v else [])


@register("stability.half", "stability")
def half_precision(ctx) -> Evidence:
    evidence, unsupported = Evidence(), []
    for dtype in ("float16", "bfloat16"):
        def prop(case, dtype=dtype):
            case = case.rounded(dtype)
            want = ctx.reference(case)
            if not np.all(np.isfinite(want)) or np.any(np.abs(want) > HALF_MAX[dtype] / 4):
                return
            try:
                out, _ = ctx.run(case, dtype)
            except Violation as e:
                if e.code == "LC705":
                    raise Skip(f"{dtype}: {e.message}") from None
                raise
            got = out.detach().double().numpy()
            if not np.all(np.isfinite(got)):
                raise Violation("LC203", f"in {dtype} the loss is {number(got)}, not finite, although the true value "
                                f"{number(want)} is representable (overflow or underflow in half precision)",
                                case, dtype, expected=want)

        try:
            n, v = ctx.search(cases(ctx.state, target_formats=ctx.target_formats), prop,
                              max_examples=max(ctx.max_examples // 2, 5))
        except Skip as s:
            unsupported.append(str(s))
            continue
        evidence.examples += n
        evidence.violations += [v] if v else []
    if len(unsupported) == 2:
        raise Skip("the candidate does not run in half precision: " + "; ".join(unsupported))
    evidence.detail = "; ".join(unsupported)
    return evidence
