"""target: every admitted target format, ignore_index, edge shapes, silent broadcasting, argument order."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from losscheck.cases import cases
from losscheck.checks.base import Outcome, Skip, Violation, fmt, register
from losscheck.checks.value import compare
from losscheck.specs.base import LAYOUTS
from losscheck.tolerances import close

FORMAT_NAMES = {"indices": "class-index", "probabilities": "class-probability", "binary": "binary {0,1}",
                "soft": "soft (probability)", "onehot": "one-hot", "index_map": "(N, 1, ...) index-map"}


def _per_variant(ctx, variants, strategy_for, prop_for) -> Outcome:
    outcome = Outcome()
    budget = max(ctx.max_examples // max(len(variants), 1), 5)
    for variant in variants:
        n, v = ctx.search(strategy_for(variant), prop_for(variant), max_examples=budget)
        outcome.examples += n
        outcome.violations += [v] if v else []
    return outcome


def rejection_severity(ctx, fmt_name):
    """How bad it is that the candidate rejects a format outright (the probe saw it fail).

    A format the candidate accepted elsewhere and then fails on is an error; rejecting the loss's primary
    format is an error; rejecting a secondary one is a warning.
    """
    if fmt_name in (ctx.formats or ()):
        return None
    return None if fmt_name == ctx.spec.target_formats[0] else "warning"


@register("target.formats", "target")
def formats(ctx) -> Outcome:
    if len(ctx.spec.target_formats) < 2:
        raise Skip(f"{ctx.spec.id} admits one target format")
    # Where formats are conventions (dice: one-hot or index maps), only the accepted ones are held to account.
    tried = ctx.formats if ctx.spec.formats_are_conventions else ctx.spec.target_formats
    if len(tried) < 2:
        raise Skip(f"the candidate takes {FORMAT_NAMES.get(tried[0], tried[0])} targets only; for "
                   f"{ctx.spec.id} the target format is a convention (see api.call)")

    def prop_for(fmt_name):
        label = FORMAT_NAMES.get(fmt_name, fmt_name)

        def prop(case):
            try:
                compare(ctx, case.rounded("float32"), code="LC502", what=f"with {label} targets the ")
            except Violation as e:
                if e.code in ("LC705", "LC707", "LC704"):
                    raise Violation("LC502", f"{label} targets are admitted by {ctx.spec.id} but the candidate fails "
                                    f"on them: {e.message}", e.case, severity=rejection_severity(ctx, fmt_name)) from None
                raise
        return prop

    return _per_variant(ctx, tried, lambda f: cases(ctx.binding, formats=[f]), prop_for)


@register("target.ignore_index", "target")
def ignore_index(ctx) -> Outcome:
    if ctx.spec.param("ignore_index") is None:
        raise Skip(f"{ctx.spec.id} has no ignore_index")
    if "ignore_index" not in ctx.binding.names:
        raise Skip("the candidate takes no ignore_index argument")
    value = ctx.binding.defaults["ignore_index"]
    base = cases(ctx.binding, formats=["indices"])

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
        compare(ctx, case.rounded("float32"), code="LC503",
                what=f"with some targets set to ignore_index={value} the ")

    n, v = ctx.search(with_ignored(), prop)
    return Outcome(n, [v] if v else [])


def layout_severity(ctx, layout):
    """How bad a failure on `layout` is: a batch of one must work wherever a batch does (error); a layout the
    probe saw the candidate reject outright is the loss's own choice (info: a 3-D-only Dice); a layout it
    accepted and then fails on is a warning."""
    if layout == "single" and ctx.spec.layouts[0] in ctx.binding.layouts:
        return None
    return "warning" if layout in ctx.binding.layouts else "info"


@register("target.shapes", "target")
def shapes(ctx) -> Outcome:
    layouts = sorted(ctx.layouts[1:], key=lambda layout: layout != "single")  # a batch of one first: an error
    if not layouts:
        raise Skip("no edge layouts for this loss")

    def prop_for(layout):
        def prop(case):
            try:
                compare(ctx, case.rounded("float32"), code="LC504", what=f"with {LAYOUTS[layout]} the ")
            except Violation as e:
                if e.code in ("LC705", "LC704", "LC707"):
                    raise Violation("LC504", f"{LAYOUTS[layout]} fails: {e.message}", e.case,
                                    severity=layout_severity(ctx, layout)) from None
                raise
        return prop

    return _per_variant(ctx, layouts, lambda layout: cases(ctx.binding, layouts=[layout], formats=ctx.formats), prop_for)


@register("target.broadcast", "target")
def broadcast(ctx) -> Outcome:
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
                            f"(result {fmt(out.value.detach().double().numpy())})", bad)

    n, v = ctx.search(cases(ctx.binding, layouts=["batch"], formats=ctx.formats, explore=False), prop,
                      max_examples=max(ctx.max_examples // 4, 3))
    return Outcome(n, [v] if v else [])


@register("target.order", "target")
def order(ctx) -> Outcome:
    if ctx.spec.signature[1:] != ("target",):
        raise Skip("only (input, target) losses can have their arguments swapped")

    def prop(case):
        case = case.rounded("float32")
        try:
            compare(ctx, case)
            return
        except Violation as e:
            if e.code != "LC101":
                return
        ts = ctx.tensors(case, "float32")
        swapped = ctx.caller.call(ctx.make(case), ts[1], ts[0])
        want = ctx.reference(case)
        if swapped.ok and hasattr(swapped.value, "detach") and close(swapped.value.detach().double().numpy(), want, "float32"):
            raise Violation("LC505", f"the candidate takes (target, input): called as loss(target, input) it gives the "
                            f"reference value {fmt(want)}; called as loss(input, target) it does not", case,
                            expected=want)

    n, v = ctx.search(cases(ctx.binding, formats=ctx.formats), prop, max_examples=max(ctx.max_examples // 4, 5))
    return Outcome(n, [v] if v else [])
