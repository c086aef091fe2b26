"""target: every admitted target format, ignore_index, edge shapes, silent broadcasting, argument order."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from losscheck.judge.cases import cases
from losscheck.judge.compare import compare_with_reference
from losscheck.checks.registry import register
from losscheck.judge.formatting import number
from losscheck.judge.evidence import Evidence, Skip, Violation
from losscheck.specs.base import LAYOUTS
from losscheck.judge.tolerances import close

FORMAT_NAMES = {"indices": "class-index", "probabilities": "class-probability", "binary": "binary {0,1}",
                "soft": "soft (probability)", "onehot": "one-hot", "index_map": "(N, 1, ...) index-map"}


def _search_each(ctx, choices, strategy_for, prop_for) -> Evidence:
    """One search per choice (a target format, a layout), the audit's examples shared among them (5 at least)."""
    evidence = Evidence()
    budget = max(ctx.max_examples // max(len(choices), 1), 5)
    for choice in choices:
        n, v = ctx.search(strategy_for(choice), prop_for(choice), max_examples=budget)
        evidence.examples += n
        evidence.violations += [v] if v else []
    return evidence


RAISES = ("LC705", "LC707", "LC704")  # the candidate did not return a loss


def outside_contract(ctx, code, label, e, accepted) -> Violation:
    """A failure on a layout or target format, graded by the contract the probe proved (api.call).

    Where the candidate took it in the probe, a failure is a defect (the violation as raised, or `code` for a
    raise). Where the probe saw it raise, it is outside the loss's contract: a raise here is info, and values
    that are wrong instead of a raise are a warning that says so (the draws rule out coincidental shapes).
    """
    if accepted:
        if e.code not in RAISES:
            return e
        return Violation(code, f"{label} fails: {e.message}", e.case, e.dtype)
    if e.code in RAISES:
        return Violation(code, f"{label} is outside the candidate's contract (it raises, which is how a loss should "
                         f"refuse inputs it does not take): {e.message}", e.case, e.dtype, severity="info")
    seen = e.message.removeprefix(f"with {label} the ")
    return Violation(code, f"returns wrong values on {label} instead of raising: {seen}", e.case, e.dtype,
                     expected=e.expected, data=e.data, severity="warning")


@register("target.formats", "target")
def formats(ctx) -> Evidence:
    if len(ctx.spec.target_formats) < 2:
        raise Skip(f"{ctx.spec.id} admits one target format")
    # Where formats are conventions (dice: one-hot or index maps), only the accepted ones are held to account.
    tried = ctx.target_formats if ctx.spec.formats_are_conventions else ctx.spec.target_formats
    if len(tried) < 2:
        raise Skip(f"the candidate takes {FORMAT_NAMES.get(tried[0], tried[0])} targets only; for "
                   f"{ctx.spec.id} the target format is a convention (see api.call)")

    def prop_for(target_format):
        label = f"{FORMAT_NAMES.get(target_format, target_format)} targets"

        def prop(case):
            try:
                compare_with_reference(ctx, case.rounded("float32"), code="LC502", what=f"with {label} the ")
            except Violation as e:
                raise outside_contract(ctx, "LC502", label, e, target_format in ctx.target_formats) from None
        return prop

    return _search_each(ctx, tried, lambda f: cases(ctx.state, target_formats=[f], distinct=f not in ctx.target_formats),
                        prop_for)


@register("target.ignore_index", "target")
def ignore_index(ctx) -> Evidence:
    if ctx.spec.param("ignore_index") is None:
        raise Skip(f"{ctx.spec.id} has no ignore_index")
    if "ignore_index" not in ctx.binding.names:
        raise Skip("the candidate takes no ignore_index argument")
    value = ctx.binding.defaults["ignore_index"]
    base = cases(ctx.state, target_formats=["indices"])

    @st.composite
    def with_ignored(draw):
        case = draw(base)
        t = case.inputs[ctx.spec.target_arg].copy()
        mask = draw(hnp.arrays(bool, t.shape), label="ignored")
        if t.size > 1:
            mask.flat[0] = False
            mask.flat[-1] = True
        else:
            return case
        t[mask] = value
        inputs = list(case.inputs)
        inputs[ctx.spec.target_arg] = t
        return case.with_inputs(inputs)

    def prop(case):
        compare_with_reference(ctx, case.rounded("float32"), code="LC503",
                               what=f"with some targets set to ignore_index={value} the ")

    n, v = ctx.search(with_ignored(), prop)
    return Evidence(n, [v] if v else [])


@register("target.shapes", "target")
def shapes(ctx) -> Evidence:
    declared = set(ctx.state.declared_layouts)  # one the candidate does not take is api.call's error already
    layouts = sorted((layout for layout in ctx.layouts[1:] if layout in ctx.state.layouts or layout not in declared),
                     key=lambda layout: layout != "single")  # a batch of one first: an error
    if not layouts:
        raise Skip("no edge layouts for this loss")

    primary = ctx.spec.layouts[0] in ctx.state.layouts

    def prop_for(layout):
        # a batch of one must work wherever the primary layout does: never outside the loss's contract then
        single = layout == "single" and primary
        held = layout in ctx.state.layouts or single

        def prop(case):
            try:
                compare_with_reference(ctx, case.rounded("float32"), code="LC504", what=f"with {LAYOUTS[layout]} the ")
            except Violation as e:
                v = outside_contract(ctx, "LC504", LAYOUTS[layout], e, held)
                if v.severity is None and not single and layout not in declared:
                    v.severity = "warning"  # a layout the probe saw run, failing on other draws
                raise v from None
        return prop

    def strategy(layout):
        return cases(ctx.state, layouts=[layout], target_formats=ctx.target_formats,
                     distinct=layout not in ctx.state.layouts)

    return _search_each(ctx, layouts, strategy, prop_for)


@register("target.broadcast", "target")
def broadcast(ctx) -> Evidence:
    if not ctx.spec.elementwise:
        raise Skip("only elementwise losses compare same-shaped input and target")

    def prop(case):
        x, t = case.inputs[0][:, :1], case.inputs[1][:, 0]
        bad = case.with_inputs([x, t]).rounded("float32")
        ts = ctx.tensors(bad, "float32")
        out = ctx.caller.call(ctx.make(bad), *ts)
        if out.ok and not out.warnings and isinstance(out.value, type(ts[0])):
            raise Violation("LC501", f"input of shape {x.shape} and target of shape {t.shape} broadcast silently to "
                            f"{tuple(np.broadcast_shapes(x.shape, t.shape))}: no error and no warning "
                            f"(result {number(out.value.detach().double().numpy())})", bad)

    n, v = ctx.search(cases(ctx.state, layouts=["batch"], target_formats=ctx.target_formats, explore=False), prop,
                      max_examples=max(ctx.max_examples // 4, 3))
    return Evidence(n, [v] if v else [])


@register("target.order", "target")
def order(ctx) -> Evidence:
    if ctx.spec.signature[1:] != ("target",):
        raise Skip("only (input, target) losses can have their arguments swapped")

    def prop(case):
        case = case.rounded("float32")
        try:
            compare_with_reference(ctx, case)
            return
        except Violation as e:
            if e.code != "LC101":
                return
        ts = ctx.tensors(case, "float32")
        swapped = ctx.caller.call(ctx.make(case), ts[1], ts[0])
        want = ctx.reference(case)
        if swapped.ok and hasattr(swapped.value, "detach") and close(swapped.value.detach().double().numpy(), want, "float32"):
            raise Violation("LC505", f"the candidate takes (target, input): called as loss(target, input) it gives the "
                            f"reference value {number(want)}; called as loss(input, target) it does not", case,
                            expected=want)

    n, v = ctx.search(cases(ctx.state, target_formats=ctx.target_formats), prop,
                      max_examples=max(ctx.max_examples // 4, 5))
    return Evidence(n, [v] if v else [])
