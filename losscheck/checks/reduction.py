"""reduction: 'none' has the right shape, 'sum' and 'mean' reduce it correctly, the argument is honoured,
and 'mean' does not grow with the batch size."""
import numpy as np

from losscheck.diagnosis import explain as diagnose
from losscheck.judge.cases import cases, edge_cases
from losscheck.judge.compare import within_tolerance
from losscheck.checks.registry import register
from losscheck.judge.formatting import number
from losscheck.judge.evidence import Evidence, Skip, Violation
from losscheck.judge.tolerances import aligned, close


def candidate_reductions(ctx):
    """The reductions the candidate takes: the spec's, less those it refuses (AuditState.refused); a Skip where
    it takes no reduction argument or refuses 'none', against which the others are judged."""
    if "reduction" not in ctx.binding.explorable:
        raise Skip("the candidate takes no reduction argument (or --init fixes it)")
    refused = ctx.state.refused.get("reduction", ())
    if "none" in refused:
        raise Skip("the candidate refuses reduction='none' (see api.call), against which the others are judged")
    return tuple(r for r in ctx.spec.reductions if r not in refused)


def _explained(ctx, *seen) -> dict:
    """{"explained_by": variant} when the value check's diagnosed variant gives every (case, candidate value) seen:
    the reduction finding is that wrong value's (a sum for a mean), one cause (losscheck.diagnosis.grouping)."""
    names = {diagnose.explains_case(ctx, case, got) for case, got in seen}
    return {"explained_by": names.pop()} if len(names) == 1 and None not in names else {}


@register("reduction.modes", "reduction")
def modes(ctx) -> Evidence:
    reductions = candidate_reductions(ctx)

    def prop(case):
        case = case.rounded("float32")
        got, want = {}, {}
        for r in reductions:
            c = case.with_params(reduction=r)
            want[r] = ctx.reference(c)
            got[r] = aligned(ctx.run(c)[0].detach().double().numpy(), want[r])
        same = all(got[r].shape == got["none"].shape and close(got[r], got["none"], "float32") for r in reductions)
        differ = any(want[r].shape != want["none"].shape or not close(want[r], want["none"], "float32")
                     for r in reductions)
        if same and differ:
            raise Violation("LC401", f"the reduction argument is ignored: {', '.join(map(repr, reductions))} all give "
                            f"{number(got['none'])}; the reference gives " +
                            ", ".join(f"{r}={number(want[r])}" for r in reductions), case, expected=want["none"])
        if got["none"].shape != want["none"].shape:
            raise Violation("LC403", f"reduction='none' returned shape {got['none'].shape}, the reference "
                            f"{want['none'].shape}", case.with_params(reduction="none"), expected=want["none"])
        if not close(got["none"], want["none"], "float32"):
            return  # the per-element values themselves differ: value.reference reports that
        for r in reductions:
            c = case.with_params(reduction=r)
            if r != "none" and not within_tolerance(ctx, c, got[r], want[r]):
                raise Violation("LC402", f"reduction={r!r} gives {number(got[r])} but the 'none' output reduces to "
                                f"{number(want[r])} (sum of 'none' = {number(np.sum(got['none']))})",
                                c, expected=want[r], data=_explained(ctx, (c, got[r])))

    n, v = ctx.search(cases(ctx.state, target_formats=ctx.target_formats), prop)
    return Evidence(n, [v] if v else [])


@register("reduction.batch", "reduction")
def batch_invariance(ctx) -> Evidence:
    if "batch" not in ctx.state.layouts:
        raise Skip("the loss has no batch layout the candidate accepts")
    if ctx.binding.defaults.get("reduction") not in ("mean", "batchmean"):
        raise Skip(f"the candidate's default reduction is {ctx.binding.defaults.get('reduction')!r}, not a mean")

    def prop(case):
        case = case.rounded("float32")
        axes = ctx.spec.batch_axes or (0,) * len(case.inputs)
        dup = case.with_inputs(a if axis is None else np.concatenate([a, a], axis=axis)
                               for a, axis in zip(case.inputs, axes))
        try:
            if not close(ctx.reference(dup), ctx.reference(case), "float32"):
                return  # this loss itself depends on the batch (e.g. in-batch negatives)
        except ValueError:
            return  # the doubled batch is not an input of this call form (NT-Xent's labels arange(N) twice)
        one = ctx.run(case)[0].detach().double().numpy()
        two = ctx.run(dup)[0].detach().double().numpy()
        if not close(two, one, "float32"):
            ratio = float(np.mean(two) / np.mean(one)) if np.all(one != 0) else float("nan")
            sums = " (it sums over the batch instead of averaging)" if abs(ratio - 2) < 1e-3 else ""
            raise Violation("LC405", f"'mean' depends on batch size: the same examples twice give {number(two)} "
                            f"instead of {number(one)} (x{ratio:.3g}){sums}; check the reduction", case,
                            expected=ctx.reference(case), data=_explained(ctx, (case, one), (dup, two)))

    n, v = ctx.search(cases(ctx.state, target_formats=ctx.target_formats, explore=False), prop)
    return Evidence(n, [v] if v else [])


@register("reduction.default", "reduction")
def default_reduction(ctx) -> Evidence:
    default = ctx.binding.defaults.get("reduction")
    if not ctx.spec.reductions:
        raise Skip(f"{ctx.spec.id} has no reduction argument")
    code = ctx.spec.advice.reduction_notes.get(default)
    if code is None:
        raise Skip(f"the default reduction {default!r} is sound for {ctx.spec.id}")

    def prop(case):
        batchmean = number(ctx.reference(case.with_params(reduction='batchmean')))
        raise Violation(code, f"the default reduction={default!r} of {ctx.spec.id} divides by every element "
                        f"(value {number(ctx.reference(case))}); the KL divergence is reduction='batchmean' "
                        f"({batchmean}), as torch's own warning says. Fix: pass reduction='batchmean'", case)

    n, v = ctx.search(cases(ctx.state, explore=False), prop, examples=edge_cases(ctx.state)[:1], max_examples=1)
    return Evidence(n, [v] if v else [])
