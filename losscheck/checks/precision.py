"""precision: the loss as mixed-precision training runs it: bf16 and fp16, under CPU autocast and on raw half inputs.

Two checks: precision.autocast (in full with --precision, or --precision-raw; otherwise as the default audit's
screen, `screened`: a few examples, warnings at most) rounds the inputs that get a gradient (the model's outputs) to
the low dtype and keeps the others (targets, weights) float32, as a training step feeds them, and runs the candidate
under `torch.autocast("cpu", dtype)`; precision.raw (only with --precision-raw: it doubles the
family's cost) rounds every float input and runs it without autocast, as FSDP's mixed precision feeds a loss. Both run
in the worker (losscheck.suspect.ops.autocast, which runs softmax and log_softmax in float32 as CUDA does) beside the
candidate's float32 and float64 runs on the same rounded values. The float64 reference on those values is the truth,
so the rounding of the inputs is never blamed on the loss.

Verdicts:
  LC801  the loss or its gradient is inf/nan where the reference and the float32 run are finite;
  LC802  the loss is further from the reference than `units` allows; LC803 the same for the gradient (unscaled
         from a GradScaler-style loss scale, against the candidate's float64 gradient).
An error is graded in units of (u·|ref| + S + E32): u is the dtype's unit roundoff; S how far the float64 value
itself moves when the low-precision inputs move by ±u (relative, absolute below 1: the problem's own conditioning,
and a kink within rounding of the input); E32 the candidate's own float32 error on the same inputs (what float32
arithmetic loses is no fault of the low precision). So a loss near zero, at a kink or ill-conditioned by nature is
not blamed for what any implementation would lose. LC203 (stability.half) reports a loss that is inf/nan in float16
where the true value is representable, with every input in half precision.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from losscheck.checks.registry import register
from losscheck.diagnosis.operations import operation_class, wire_run
from losscheck.judge.cases import Case, cases
from losscheck.judge.evidence import Evidence, Skip, Violation
from losscheck.judge.formatting import number
from losscheck.suspect import wire
from losscheck.suspect.protocol import Autocast

DTYPES = ("bfloat16", "float16")
UNIT_ROUNDOFF = {"bfloat16": 2.0 ** -8, "float16": 2.0 ** -11}
LOSS_SCALE = {"bfloat16": 1.0, "float16": 2.0 ** 16}  # fp16 trains under GradScaler (it starts at 2**16)
HALF_MAX = {"bfloat16": 3.0e38, "float16": 65504.0}
WARNING_UNITS, ERROR_UNITS = 8.0, 16.0
"""The grading, in units of (u·|ref| + S + E32), chosen on benchmarks/precision_table.py (torch 2.13 CPU, both modes,
bf16 and fp16): every torch built-in stays at or below 1.6 units (but SoftMarginLoss on raw fp16, inf and its gradient
35 units: ATen computes log1p(exp(-y·x)) in the input's dtype), every correct loss of the corpus at or below 5.6
(BinaryFocal's bf16 gradient), the installed library losses at or below 1.5 but pytorch-metric-learning's NT-Xent,
540 units off in fp16 at τ = 0.05; the corpus's low-precision bugs are inf/nan (LC801) or 1,418 units. Above
WARNING_UNITS a warning, above ERROR_UNITS an error."""
FLOOR = 1e-6        # an absolute error below u·1e-6 is noise for any loss (a loss of exactly 0, say)
LARGE = 2 ** 16     # elements a large-reduction case reaches: an fp16 sum of squares overflows past 65,504/mean²
SCREEN_EXAMPLES = 6  # per dtype in the default audit's screen (the first a large reduction where one is affordable)
PERTURBATIONS = 3   # antithetic pairs of random-sign relative-u perturbations that measure S (a kink between two
                    # inputs is crossed unless every pair moves both the same way: 1 in 2**3)


def rounded_as_trained(case: Case, dtype: str, grad_args, raw: bool = False) -> Case:
    """The case as a mixed-precision step feeds it: the inputs at `grad_args` rounded to `dtype`, the rest of the
    float inputs and tensor parameters to float32; with `raw`, every float input and tensor parameter (a class
    weight) rounded to `dtype`, as FSDP casts a module's buffers. Values are kept as float64 ndarrays."""
    low, f32 = case.rounded(dtype), case.rounded("float32")
    return low if raw else f32.with_inputs(low.inputs[i] if i in grad_args else a for i, a in enumerate(f32.inputs))


def tileable(spec) -> bool:
    """Whether a large-reduction case is affordable for the spec: an elementwise loss, or a ratio pooled over the
    batch (a batch Dice); a pairwise loss (InfoNCE's 2N x 2N similarities) would grow quadratically."""
    return (spec.elementwise or spec.advice.batch_overlap is not None) and spec.batch_axes is None


def tiled(case: Case, grad_args) -> Case:
    """The case repeated along its first axis until the inputs that get a gradient reach LARGE elements (a large
    reduction); the case itself where its inputs do not share a first axis."""
    shapes = [a.shape for a in case.inputs]
    if not shapes or any(len(s) == 0 for s in shapes) or len({s[0] for s in shapes}) != 1:
        return case
    size = sum(case.inputs[i].size for i in grad_args) or 1
    reps = max(1, LARGE // size)
    return case.with_inputs(np.concatenate([a] * reps, axis=0) for a in case.inputs)


def perturbed(case: Case, grad_args, u: float, rng) -> list[Case]:
    """The case with the inputs at `grad_args` moved by ±u·max(|x|, 1), one random sign per element, both ways (an
    antithetic pair): a relative u, and an absolute one below 1, where the loss's intermediates (a softmax of logits
    near 0) round at their own scale. Both ways, so an input within rounding of a kink (a margin just reached, a
    hardest negative tied, a distance of 0) is seen on either side of it."""
    signs = {i: rng.choice([-1.0, 1.0], size=case.inputs[i].shape) for i in grad_args}
    return [case.with_inputs(a + way * u * np.maximum(np.abs(a), 1.0) * signs[i] if i in grad_args else a
                             for i, a in enumerate(case.inputs)) for way in (1.0, -1.0)]


def reproduction(signature, dtype: str, reps: int, grad: bool, raw: bool = False) -> tuple[str, str]:
    """(setup, snippet) of a finding's reproducer: the case repeated `reps` times along its first axis, the
    loss called under autocast (on the raw half inputs, with `raw`), and its gradient taken for a gradient finding."""
    args = ", ".join(signature)
    setup = "\n".join(f"{name} = torch.cat([{name}] * {reps})" for name in signature) if reps > 1 else ""
    lines = [f"out = loss_fn({args})", 'print("on raw half inputs:", out)'] if raw else \
        [f"with torch.autocast('cpu', dtype=torch.{dtype}):", f"    out = loss_fn({args})",
         'print("under autocast:", out)']
    if grad:
        lines += ["out.sum().backward()", f"print(\"gradient:\", [t.grad for t in ({args},) if t.grad is not None])"]
    return setup, "\n".join(lines)


def _wire_array(d):
    return None if d is None else wire.decode_tensor(d).numpy()


FIXES = {
    "exp": "subtract the max before exp (or use logsumexp/log_softmax)",
    "log": "use logsigmoid/log_softmax or binary_cross_entropy_with_logits rather than the log of a probability, "
           "and an eps from torch.finfo(x.dtype) (1e-7 is below the resolution of bf16 and fp16 near 1)",
    "pow": "take pow of a probability in float32 (`.float()` first) or through exp(γ·logsigmoid)",
    "sum": "sum in float32 (`.float()` before the sum)",
    "mean": "reduce in float32 (`.float()` before the reduction)",
}


def fault_hint(ctx_note: str, first: str | None, in_half: list, large: bool, dtype: str) -> str:
    """The operation class at fault (the first to turn finite arguments into inf/nan, or the watched operations
    that ran in `dtype`) and its fix."""
    where = f"{ctx_note}; " if ctx_note else ""
    if first:
        fix = FIXES.get(first, "upcast with `.float()` before it")
        named = f" ({operation_class(first, in_half)})" if operation_class(first, in_half) else ""
        return f"{where}the first operation to give inf/nan is {first} in {dtype}{named}: {fix}"
    ran = [op for op in in_half if op in FIXES] or list(in_half)
    if ran:
        fixes = "; ".join(dict.fromkeys(FIXES[op] for op in ran if op in FIXES)) or "upcast with `.float()`"
        return f"{where}{', '.join(ran)} ran in {dtype}: upcast inside the loss (`.float()`); {fixes}"
    return f"{where}upcast inside the loss (`.float()`) before exp, log, pow and large sums"


def grade(got, want, s, u, float32_error: float = 0.0) -> float:
    """The error of `got` in units of (u·|want| + S + E32), normwise: E32 is the candidate's own float32 run's
    error on the same inputs, what float32 arithmetic of the same code loses (a gradient of 0 that float32 computes
    as 1e-7 through cancelling terms) and so no fault of the low precision (CPU autocast runs the built-in losses in
    float32, where they lose exactly that)."""
    return error(got, want) / (u * float(np.max(np.abs(want), initial=0.0)) + s + float32_error + u * FLOOR)


def _reference_or_none(ctx, case):
    """The reference on a perturbed case, None where the perturbation left its domain (it raises ValueError)."""
    try:
        return ctx.reference(case)
    except ValueError:
        return None


def constant_zero(want, s: float, u: float) -> bool:
    """Whether the float64 value is 0 here and at every perturbed input (below u·FLOOR): 1 - cos of parallel 1-D
    vectors and its gradient. Nothing sets the scale of a rounding error there (u·|ref| and S are 0, while the
    terms that cancel are of order 1), so the value is not graded; a non-finite one still is (LC801)."""
    return max(float(np.max(np.abs(want), initial=0.0)), s) < u * FLOOR


def error(got, want) -> float:
    """The largest absolute difference (0 for empty arrays)."""
    return float(np.max(np.abs(got - want))) if got.size else 0.0


@register("precision.autocast", "precision",
          only_if=lambda ctx: ctx.precision or ctx.precision_raw or ctx.precision_screen)
def under_autocast(ctx) -> Evidence:
    """The loss under bf16 and fp16 CPU autocast (half inputs, softmax and log_softmax upcast as CUDA does): in
    full with --precision, else as the default audit's screen (`screened`)."""
    return mixed_precision(ctx, raw=False)


def screened(ctx) -> bool:
    """Whether the precision family runs as the default audit's screen: without --precision (or --precision-raw),
    precision.autocast runs SCREEN_EXAMPLES examples per dtype at the candidate's own parameter values (none
    explored) and its findings are warnings at most. CPU autocast
    keeps exp, log, pow and sums in the input's dtype where CUDA's runs them in float32, so a loss written for CUDA
    autocast can fail here and train well there: a correct library loss must not turn red for it unless the user
    asks for the family (where every finding says how to see it in full)."""
    return not (ctx.precision or ctx.precision_raw)


@register("precision.raw", "precision", only_if=lambda ctx: ctx.precision_raw)
def on_raw_half(ctx) -> Evidence:
    """The loss on raw bf16 and fp16 inputs (targets too) without autocast, as FSDP's mixed precision (param_dtype)
    feeds it: every operation runs in the inputs' dtype unless the loss upcasts."""
    return mixed_precision(ctx, raw=True)


def mixed_precision(ctx, raw: bool) -> Evidence:
    """Draw cases per dtype, run the candidate as `raw` says, grade loss and gradient (LC801-LC803)."""
    grad_args = tuple(ctx.spec.grad_args)
    mode = "on raw half inputs" if raw else "under autocast"
    screen = screened(ctx)
    cap = "warning" if screen else None  # the screen's findings are warnings at most
    aside = " (the default audit's precision screen: --precision runs the family in full, where this is an error)" \
        if screen else ""
    evidence, unsupported, worst = Evidence(), [], {}
    rng = np.random.default_rng(ctx.seed)
    for dtype in DTYPES:
        u = UNIT_ROUNDOFF[dtype]
        where_run = f"on raw {dtype} inputs (no autocast)" if raw else f"under {dtype} autocast"

        def prop(drawn, dtype=dtype, u=u, where_run=where_run):
            small, large = drawn
            case = rounded_as_trained(tiled(small, grad_args) if large else small, dtype, grad_args, raw)
            reps = case.inputs[0].shape[0] // max(small.inputs[0].shape[0], 1) if large and small.inputs[0].ndim else 1
            shown = rounded_as_trained(small, dtype, grad_args, raw)  # the reproducer repeats it `reps` times

            def violation(code, message, grad=False, severity=None, **extra):
                setup, snippet = reproduction(ctx.spec.signature, dtype, reps, grad, raw)
                return Violation(code, message + aside, shown, dtype, setup=setup, snippet=snippet, grad=grad,
                                 severity=severity or cap, **extra)

            want = ctx.reference(case)
            if not np.all(np.isfinite(want)) or np.any(np.abs(want) > HALF_MAX[dtype] / 4):
                return
            shaken = [c for _ in range(PERTURBATIONS) for c in perturbed(case, grad_args, u, rng)]
            runs = [wire_run(ctx, case, dtype, None if raw else dtype, LOSS_SCALE[dtype], grad_args, raw),
                    wire_run(ctx, case, "float32", None, 1.0, grad_args),
                    wire_run(ctx, case, "float64", None, 1.0, grad_args),
                    *[wire_run(ctx, c, "float64", None, 1.0, grad_args) for c in shaken]]
            reply = ctx.candidate.perform(ctx.caller, Autocast(tuple(runs), grad_args))
            if reply.error or len(reply.outcomes) != len(runs):
                raise Skip(f"{dtype}: the {mode} run failed: {reply.error}")
            low, f32, f64, *moved = reply.outcomes
            if low["error"]:
                raise Skip(f"{dtype}: {low['error']}")
            if f32["error"] or f64["error"] or any(m["error"] for m in moved):
                return  # the candidate fails in full precision here: the other families say so
            got, single = _wire_array(low["value"]), _wire_array(f32["value"])
            got, single = (a.reshape(want.shape) if a.shape != want.shape and a.size == want.size else a
                           for a in (got, single))
            if got.shape != want.shape or single.shape != want.shape or not np.all(np.isfinite(single)):
                return
            where = "a reduction over {:,} elements".format(sum(case.inputs[i].size for i in grad_args)) if large else ""
            note = ctx.binding.explored_note(case.params)

            def hint():
                return fault_hint(where, low.get("first_non_finite"), low.get("in_half", []), large, dtype)

            def graded(units, kind, code, message, **extra):
                """Keep the worst graded case of this dtype; it is reported after the search (an inf/nan, LC801,
                is never hidden behind it)."""
                if units > worst.get((dtype, kind), (0.0, None))[0]:
                    v = violation(code, message, data={"units": units, "autocast": dtype, "raw": raw},
                                  severity=None if units > ERROR_UNITS else "warning", **extra)
                    worst[dtype, kind] = (units, v if units > WARNING_UNITS else None)

            at_fault = operation_class(low.get("first_non_finite"), low.get("in_half", []))
            named = {"operation": at_fault} if at_fault else {}  # one cause with a stability finding of it
            if not np.all(np.isfinite(got)):
                raise violation("LC801", f"{note}{where_run} the loss is {number(got)} where the float64 "
                                f"reference is {number(want)} and float32 gives {number(single)}"
                                f": {hint()}",
                                expected=want, data={"autocast": dtype, "raw": raw, **named})
            moved_refs = [ref for ref in (_reference_or_none(ctx, c) for c in shaken) if ref is not None]
            if not moved_refs:
                return  # every perturbed input leaves the reference's domain (a probability past 1): not graded
            s = max(float(np.max(np.abs(ref - want))) for ref in moved_refs)
            units = 0.0 if constant_zero(want, s, u) else grade(got, want, s, u, error(single, want))
            graded(units, "loss", "LC802", f"{note}{where_run} the loss is {number(got)}, the float64 reference "
                                f"{number(want)} on the same rounded inputs: {units:.1f} units of (u·|ref| + S + E32) "
                                f"(u = {u:g}, S = {s:.3g}, float32's own error E32 = {error(single, want):.3g}; "
                                f"warning above {WARNING_UNITS:g}, error above "
                                f"{ERROR_UNITS:g}): {hint()}", expected=want)
            g_low, g32, g64 = ([_wire_array(g) for g in o["grads"]] for o in (low, f32, f64))
            pairs = [(a, b, c) for a, b, c in zip(g_low, g32, g64) if a is not None and b is not None and c is not None]
            if not pairs or not all(np.all(np.isfinite(c)) and np.all(np.isfinite(b)) for _, b, c in pairs):
                return
            if any(np.any(np.abs(c) > HALF_MAX[dtype] / 4) for _, _, c in pairs):
                return  # the true gradient does not fit the dtype (BCE's -y/p at p = 1e-6 in fp16): no loss could
            if not all(np.all(np.isfinite(a)) for a, _, _ in pairs):
                raise violation("LC801", f"{note}{where_run} the gradient is not finite (loss scale "
                                f"{low['scale']:g}) where the float64 gradient is: {hint()}",
                                grad=True, data={"autocast": dtype, "raw": raw, **named})
            g_moved = [[_wire_array(g) for g in m["grads"]] for m in moved]
            s_grad = max((float(np.max(np.abs(gm - c))) for grads in g_moved
                          for gm, (_, _, c) in zip([g for g in grads if g is not None], pairs)), default=0.0)
            want_g, got_g, g_single = (np.concatenate([t[k].ravel() for t in pairs]) for k in (2, 0, 1))
            if constant_zero(want_g, s_grad, u):
                return
            g_units = grade(got_g, want_g, s_grad, u, error(g_single, want_g))
            graded(g_units, "gradient", "LC803", f"{note}{where_run} the gradient is {g_units:.1f} units of "
                                f"(u·|grad| + S + E32) from the float64 gradient (max abs error "
                                f"{error(got_g, want_g):.3g}, u = {u:g}, S = {s_grad:.3g}, float32's own error E32 = "
                                f"{error(g_single, want_g):.3g}, loss "
                                f"scale {low['scale']:g}; warning above {WARNING_UNITS:g}, error above {ERROR_UNITS:g})"
                                f": {hint()}", grad=True)

        strategy = st.tuples(cases(ctx.state, target_formats=ctx.target_formats, confident=True, explore=not screen),
                             st.sampled_from((True, False)) if tileable(ctx.spec) else st.just(False))
        # (True first: hypothesis's first, simplest draw is a large reduction, so a few examples always try one)
        try:
            n, v = ctx.search(strategy, prop, max_examples=SCREEN_EXAMPLES if screen else max(ctx.max_examples // 4, 12))
        except Skip as s:
            unsupported.append(str(s))
            continue
        evidence.examples += n
        imprecise = [worst[key][1] for key in ((dtype, "loss"), (dtype, "gradient")) if key in worst and worst[key][1]]
        evidence.violations += [v] if v else imprecise[:1]
    if len(unsupported) == len(DTYPES):
        raise Skip(f"the candidate does not run {mode}: " + "; ".join(unsupported))
    seen = ", ".join(f"{d} {what} {w[0]:.1f}" for (d, what), w in sorted(worst.items()))
    evidence.detail = "; ".join([f"worst units of (u·|ref| + S + E32): {seen or 'none graded'} (warning above "
                                 f"{WARNING_UNITS:g}, error above {ERROR_UNITS:g})", *unsupported])
    return evidence
