"""api: the loss as a callable. It leaves its inputs alone, is deterministic, does not depend on earlier
calls, and returns a 0-d tensor for reduced modes (raises, hangs and non-tensors are caught in ctx.run)."""
import torch

from losscheck.judge.cases import cases
from losscheck.checks.registry import register
from losscheck.judge.formatting import number
from losscheck.judge.evidence import Evidence, Violation


def _equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    a, b = a.detach().double(), b.detach().double()
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=1e-6, atol=1e-9, equal_nan=True))


@register("api.purity", "api")
def purity(ctx) -> Evidence:
    arg = ctx.spec.grad_args[0]

    def prop(case):
        case = case.rounded("float32")
        other = list(case.inputs)
        other[arg] = other[arg] * 0.5
        other = case.with_inputs(other)
        fn = ctx.make(case)
        ts = ctx.tensors(case, "float32")
        before = [t.clone() for t in ts]
        first = ctx.call(fn, ts, case)
        for name, t, b in zip(ctx.spec.signature, ts, before):
            if not torch.equal(t, b):
                raise Violation("LC701", f"the loss mutates its input `{name}` in place: before {number(b.double().numpy())}, "
                                f"after {number(t.double().numpy())}", case,
                                snippet=f"before = {name}.clone()\nloss_fn({', '.join(ctx.spec.signature)})\n"
                                        f"print(\"before:\", before)\nprint(\"after: \", {name})")
        again = ctx.call(fn, ctx.tensors(case, "float32"), case)
        ctx.call(fn, ctx.tensors(other, "float32"), other)
        later = ctx.call(fn, ctx.tensors(case, "float32"), case)
        fresh = ctx.call(ctx.make(case), ctx.tensors(case, "float32"), case)
        calls = f"loss_fn({', '.join(ctx.spec.signature)})"
        if not _equal(first, fresh):
            raise Violation("LC702", f"two calls on the same input give {number(first.detach().double().numpy())} and "
                            f"{number(fresh.detach().double().numpy())}", case, snippet=f"print({calls})\nprint({calls})")
        if not _equal(first, later) or not _equal(first, again):
            names = list(ctx.spec.signature)
            names[arg] = f"{names[arg]} * 0.5"
            raise Violation("LC703", f"the result depends on earlier calls: {number(first.detach().double().numpy())} on "
                            f"the first call, {number(again.detach().double().numpy())} on the same input right after, "
                            f"{number(later.detach().double().numpy())} after a call on another input "
                            "(hidden state in the loss; a fresh instance gives the first value again)", case,
                            snippet=f"print({calls})\nprint({calls})\nloss_fn({', '.join(names)})\nprint({calls})")

    n, v = ctx.search(cases(ctx.state, target_formats=ctx.target_formats), prop,
                      max_examples=max(ctx.max_examples // 2, 5))
    return Evidence(n, [v] if v else [])


@register("api.contract", "api")
def contract(ctx) -> Evidence:
    def prop(case):
        out = ctx.run(case.rounded("float32"))[0]
        if not out.is_floating_point():
            raise Violation("LC707", f"the result has dtype {out.dtype}, not a floating tensor", case)

    n, v = ctx.search(cases(ctx.state, target_formats=ctx.target_formats), prop,
                      max_examples=max(ctx.max_examples // 2, 5))
    return Evidence(n, [v] if v else [])
