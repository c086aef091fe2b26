"""gradient: autograd of the candidate (float64) against the gradient of the float64 reference.

The reference gradient is taken by finite differences: central (x±h) and one-sided (x+h, x-h) with
h = 1e-6·max(1, |x|). Where the one-sided derivatives disagree the reference has a kink (|d| at 0, a hinge at
its margin) and any value between them is a valid subgradient, as torch's choices are. Where a one-sided
change does not shrink with the step the reference jumps (no derivative) and the element is not compared.
"""
import numpy as np

from losscheck.judge.cases import cases, edge_cases, labelled
from losscheck.checks.registry import register
from losscheck.judge.formatting import number
from losscheck.judge.evidence import Evidence, Violation
from losscheck.judge.reproducer import gradient_snippet

RTOL, ATOL = 1e-4, 1e-5
FINE_STEP = 1e-9  # the second try, before a disagreement is reported: tiny inputs need a tiny step


def reference_gradient(ctx, case, arg, step=1e-6, loss=None):
    """(central, left, right) derivative arrays of sum(reference) with respect to input `arg`, with the terms the
    spec holds constant (`stop_gradient`) fixed at the case's inputs; of sum(loss(case)) when `loss` is given."""
    if loss is None:
        fixed = ctx.spec.stop_gradient(case) if ctx.spec.stop_gradient else {}
        loss = lambda c: ctx.reference(c.with_params(**fixed))  # noqa: E731

    def f(x):
        inputs = list(case.inputs)
        inputs[arg] = x
        try:
            with np.errstate(all="ignore"):
                return float(np.sum(loss(case.with_inputs(inputs))))
        except ValueError:  # the step left the domain (a probability below 0): no derivative there
            return float("nan")

    x = case.inputs[arg].astype(np.float64)
    f0 = f(x)
    central, left, right = (np.zeros_like(x) for _ in range(3))
    for i in np.ndindex(x.shape):
        h = step * max(1.0, abs(x[i]))
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        fp, fm = f(xp), f(xm)
        central[i], left[i], right[i] = (fp - fm) / (2 * h), (f0 - fm) / h, (fp - f0) / h
        if _jumps(f, x, i, h, f0, fp, fm):
            central[i] = left[i] = right[i] = np.nan  # no derivative at a discontinuity: nothing to compare
    return central, left, right, f0


def _jumps(f, x, i, h, f0, fp, fm) -> bool:
    """Whether the reference is discontinuous at x[i]: a one-sided change that does not shrink with the step
    (halving h leaves more than 3/4 of it), as where a zero embedding is L2-normalised."""
    scale = 1e-3 * max(1.0, abs(f0))
    for sign, full in ((1, fp - f0), (-1, fm - f0)):
        if abs(full) > scale:
            xh = x.copy()
            xh[i] += sign * h / 2
            if abs(f(xh) - f0) > 0.75 * abs(full):
                return True
    return False


def backward_snippet(ctx, case, known=None) -> str:
    """The reproducer's lines: the candidate's gradient of each differentiable input beside the reference's
    (`known`: input index -> the reference gradient the check already has), both projected where the spec
    compares a projection (grad_projection)."""
    refs = {i: (known or {}).get(i) for i in ctx.spec.grad_args}
    refs = {i: reference_gradient(ctx, case, i)[0] if r is None else r for i, r in refs.items()}
    projections = ctx.spec.grad_projection
    refs = {i: projections[i](r, case) if i in projections else r for i, r in refs.items()}
    return gradient_snippet(ctx.spec.signature, ctx.spec.grad_args, refs,
                            {i: p.source for i, p in projections.items()})


def candidate_gradients(ctx, case):
    """Autograd gradients of sum(candidate) for each differentiable input (None where none arrived)."""
    out, ts = ctx.run(case, "float64", requires_grad=True)
    if not out.requires_grad:
        raise Violation("LC301", "no gradient reaches the inputs: the result does not require grad "
                        "(the graph is cut by detach, .item() or a NumPy round trip)", case, "float64",
                        snippet=backward_snippet(ctx, case), grad=True)
    done = ctx.caller.call(lambda: out.sum().backward())
    if not done.ok:
        raise ctx.failure(done, case, "float64", "backward", snippet=backward_snippet(ctx, case), grad=True)
    return {i: (None if ts[i].grad is None else ts[i].grad.double().numpy()) for i in ctx.spec.grad_args}


def flow_property(ctx):
    def prop(case):
        grads = candidate_gradients(ctx, case)
        for i, g in grads.items():
            name = ctx.spec.signature[i]
            if g is None:
                raise Violation("LC301", f"no gradient reaches `{name}`: its .grad is None after backward "
                                f"(the input is detached, or the loss is rebuilt from numbers)", case, "float64",
                                snippet=backward_snippet(ctx, case), grad=True)
        if all(np.all(g == 0) for g in grads.values()):
            refs = {i: reference_gradient(ctx, case, i)[0] for i in grads}
            along = {i: ctx.spec.grad_projection[i](r, case) if i in ctx.spec.grad_projection else r
                     for i, r in refs.items()}  # inputs on a manifold: only the components along it must flow
            if max(float(np.max(np.abs(r))) for r in along.values()) > 1e-3:
                raise Violation("LC301", "the gradient is exactly zero for every input although the reference "
                                f"gradient is not (max |grad| {max(float(np.max(np.abs(r))) for r in refs.values()):.3g})",
                                case, "float64", snippet=backward_snippet(ctx, case, refs), grad=True)
    return prop


def compare_property(ctx, finite_only: bool):
    def prop(case):
        if not np.all(np.isfinite(ctx.reference(case))):
            return
        grads = candidate_gradients(ctx, case)
        for i, g in grads.items():
            if g is None:
                continue  # gradient.flow reports it
            name = ctx.spec.signature[i]
            central, left, right, f0 = reference_gradient(ctx, case, i)
            full = central
            if g.shape != central.shape and g.size == central.size:  # a view added a channel of one (lovasz_hinge)
                g = g.reshape(central.shape)
            project = ctx.spec.grad_projection.get(i)
            if project is not None:  # inputs on a manifold: compare the components along it
                g, central, left, right = (project(a, case) for a in (g, central, left, right))
            ref_finite = np.isfinite(central) | (np.isfinite(left) & np.isfinite(right))
            bad = ~np.isfinite(g) & ref_finite
            if np.any(bad):
                raise Violation("LC302", f"{ctx.binding.explored_note(case.params)}the gradient of `{name}` is {number(g)}, not finite{labelled(case)}, where the "
                                f"reference gradient is finite ({number(central)})", case, "float64",
                                snippet=backward_snippet(ctx, case, {i: full}), grad=True,
                                data={"candidate": g.tolist(), "reference": central.tolist()})
            if finite_only:
                continue
            ok = agrees(g, central, left, right, f0)
            if not np.all(ok) and project is None:  # tiny inputs (1e-6) need a finer step than 1e-6
                ok = ok | agrees(g, *reference_gradient(ctx, case, i, step=FINE_STEP))
            if not np.all(ok):
                _name_gradient_variant(ctx, case, i, g, full)
                zeroed = np.any(~ok & (g == 0))
                code = "LC304" if zeroed else "LC303"
                what = "is zero where the reference's is not (a clamp kills it)" if zeroed else "differs from the reference"
                raise Violation(code, f"{ctx.binding.explored_note(case.params)}the gradient of `{name}` {what}: candidate {number(g)}, reference {number(central)}",
                                case, "float64", snippet=backward_snippet(ctx, case, {i: full}), grad=True,
                                data={"candidate": g.tolist(), "reference": central.tolist()})
    return prop


def _name_gradient_variant(ctx, case, i, g, full):
    """Raise the LC303 naming the spec's gradient variant (Variant.gradient: a mistake that leaves the value
    alone, such as CIoU's α not detached) whose derivative is the candidate's gradient `g` of input i."""
    for variant in ctx.spec.variants:
        if not variant.gradient:
            continue
        wrong = reference_gradient(ctx, case, i, loss=lambda c, v=variant: v.compute(ctx.spec.reference, c))
        if np.all(agrees(g, *wrong)):
            name = ctx.spec.signature[i]
            raise Violation(variant.code, f"{ctx.binding.explored_note(case.params)}{variant.name}: the candidate "
                            f"{variant.says}. Fix: {variant.fix}. The gradient of `{name}` is {number(g)}, the "
                            f"reference's {number(full)}", case, "float64",
                            snippet=backward_snippet(ctx, case, {i: full}), grad=True,
                            data={"candidate": g.tolist(), "reference": full.tolist(), "variant": variant.name})


def agrees(g, central, left, right, f0):
    """Elementwise: the candidate's gradient matches the central difference, or lies between the one-sided
    derivatives where the reference has a kink; no finite reference derivative agrees with anything."""
    atol = ATOL * max(1.0, abs(f0))
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    kink = np.abs(left - right) > atol + RTOL * np.abs(central)
    return ~np.isfinite(central) | (np.abs(g - central) <= atol + RTOL * np.abs(central)) | \
        (kink & (g >= lo - atol) & (g <= hi + atol))


@register("gradient.flow", "gradient")
def flow(ctx) -> Evidence:
    n, v = ctx.search(cases(ctx.state, target_formats=ctx.target_formats), flow_property(ctx))
    return Evidence(n, [v] if v else [])


@register("gradient.finite", "gradient")
def finite(ctx) -> Evidence:
    strategy = cases(ctx.state, target_formats=ctx.target_formats, scale="extreme", explore=False)
    n, v = ctx.search(strategy, compare_property(ctx, finite_only=True), examples=edge_cases(ctx.state),
                      max_examples=max(ctx.max_examples // 2, 5))
    return Evidence(n, [v] if v else [])


@register("gradient.reference", "gradient")
def reference(ctx) -> Evidence:
    n, v = ctx.search(cases(ctx.state, target_formats=ctx.target_formats), compare_property(ctx, finite_only=False))
    return Evidence(n, [v] if v else [])
