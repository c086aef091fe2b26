"""compile: the loss under torch.compile, its value and gradient compared with its own eager run (opt-in: --compile).

Two checks, both run in the worker by losscheck.suspect.ops.compiled (which clears dynamo's caches per request,
counts every execution of a compiled graph, fails on the recompile limit and counts graph breaks):

compile.aot_eager (--compile)  per drawn example, the loss compiled with backend="aot_eager" and dynamic=True (the
    graphs dynamo and AOTAutograd build, run without inductor's code generation: about 0.2 s a compile once warm).
    The first example calls the compiled loss recompile_limit + 1 times, so a loss that recompiles on every call
    reaches dynamo's limit; dynamo raises there (fail_on_recompile_limit_hit) instead of silently running eagerly.
compile.inductor (--compile --inductor)  once per loss, on the most confident of DRAWS drawn cases: backend="inductor"
    in float32 (its fused kernels against eager) and under bf16 CPU autocast, where inductor computes fused bf16 code in
    float32: both sides are graded against the float64 reference on the same rounded inputs, so a difference says
    which side is right ("compile hides the bug" when eager is the one that is wrong). A cold inductor compile
    takes about 20 s on this machine (2.7 s with a warm cache), hence its own option.

Verdicts:
  LC901  the compiled loss's value differs from the eager value (or it raises where eager does not);
  LC902  the compiled gradient differs from the eager gradient;
  LC903  torch.compile does not run the loss: the recompile limit is reached, or no compiled graph ever ran (the
         comparison would be eager against eager, so it is not made);
  LC904  dynamo breaks the graph (each reason and its count): info, a warning with --fullgraph;
  LC905  in bf16, compiled and eager results differ by more than the dtype's rounding explains (both against float64).
Random numbers are drawn alike on both sides (the RNG seeded per run, inductor's fallback_random).
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from losscheck.checks.registry import register
from losscheck.judge.cases import Case, cases, to_tensor
from losscheck.judge.evidence import Abort, Evidence, Skip, Violation
from losscheck.judge.formatting import number
from losscheck.judge.tolerances import TOLERANCES, close, max_error
from losscheck.suspect import wire
from losscheck.suspect.protocol import Compile

RECOMPILE_CALLS = 9  # torch._dynamo.config.recompile_limit (8 on torch 2.13) + 1: a loss that recompiles on every
                     # call reaches the limit within them
WAIT = {"aot_eager": 60.0, "inductor": 180.0}  # seconds one request may take: 8 recompiles, a cold inductor compile
LOW = "bfloat16"
UNIT_ROUNDOFF = 2.0 ** -8  # bf16's
DIFFERENT_UNITS = 16.0  # compiled and eager bf16 results further apart than this many u·max|ref| differ (LC905)
FLOOR = 1e-6  # an absolute difference below u·1e-6 is noise for any loss
DRAWS = 10  # cases drawn (no candidate call) to pick inductor's one: the most confident of them


def compile_request(ctx, case: Case, backend: str, grad_args, calls: int = 1, autocast: str | None = None) -> Compile:
    """The Compile request of `case`: its inputs in float32 (those at `grad_args` in `autocast`'s dtype when set)."""
    inputs = [to_tensor(a, autocast if autocast and i in grad_args else "float32")
              for i, a in enumerate(ctx.spec.candidate_inputs(case))]
    return Compile(wire.encode(ctx.kwargs(case, "float32")), [wire.encode_tensor(t) for t in inputs], grad_args,
                   backend, autocast, calls, WAIT[backend])


def _arrays(side: dict):
    """(value, [gradients]) of one side of a Compiled reply as ndarrays (None where a gradient is unused)."""
    value = wire.decode_tensor(side["value"]).numpy()
    return value, [None if g is None else wire.decode_tensor(g).numpy() for g in side.get("grads", [])]


def compile_snippet(signature, backend: str, autocast: str | None = None) -> str:
    """A finding's snippet: the loss called eagerly and compiled (under CPU autocast to `autocast` where set),
    values and gradients printed side by side."""
    args = ", ".join(signature)
    dynamic = ", dynamic=True" if backend == "aot_eager" else ""
    call = f"    with torch.autocast('cpu', dtype=torch.{autocast}):\n        out = fn(*grads)" if autocast else \
        "    out = fn(*grads)"
    return "\n".join([
        "import torch._dynamo",
        "torch._dynamo.config.fail_on_recompile_limit_hit = True",
        f"compiled = torch.compile(loss_fn, backend={backend!r}{dynamic})",
        "for name, fn in ((\"eager\", loss_fn), (\"compiled\", compiled)):",
        f"    grads = [t.detach().clone().requires_grad_(t.is_floating_point()) for t in ({args},)]",
        call,
        "    out.float().sum().backward()",
        "    print(name, out, [g.grad for g in grads if g.grad is not None])",
    ])


def against_eager(ctx, reply, case: Case, backend: str, dtype: str = "float32"):
    """Raise LC901/LC902 where the compiled value or gradient of `reply` is not the eager one within the dtype's
    tolerance (nan agrees with nan: a loss that is nan eagerly is the other families' finding)."""
    snippet = compile_snippet(ctx.spec.signature, backend)
    if reply.compiled.get("error"):
        raise Violation("LC901", f"under torch.compile ({backend}) {reply.compiled['error']}, where eagerly the loss "
                        f"returns {number(_arrays(reply.eager)[0])}", case, dtype, snippet=snippet)
    (want, want_g), (got, got_g) = _arrays(reply.eager), _arrays(reply.compiled)
    if not close(got, want, dtype):
        raise Violation("LC901", f"under torch.compile ({backend}) the loss is {number(got)} where eagerly it is "
                        f"{number(want)} (max abs difference {max_error(got, want):.3g}; tolerance "
                        f"{TOLERANCES[dtype]})", case, dtype, expected=want, snippet=snippet)
    for i, (g, w) in enumerate(zip(got_g, want_g)):
        if (g is None) != (w is None) or (g is not None and not close(g, w, dtype)):
            raise Violation("LC902", f"under torch.compile ({backend}) the gradient of "
                            f"{ctx.spec.signature[ctx.spec.grad_args[i]]} is "
                            f"{'unused' if g is None else number(g)} where eagerly it is "
                            f"{'unused' if w is None else number(w)} (max abs difference "
                            f"{max_error(g, w) if g is not None and w is not None else float('inf'):.3g}; tolerance "
                            f"{TOLERANCES[dtype]})", case, dtype, grad=True, snippet=snippet)


def not_compiled(reply, case: Case, backend: str) -> Violation | None:
    """LC903 when torch.compile did not run the loss: the recompile limit was reached, or no compiled graph ran
    and dynamo names no graph break for it (a loss whose every op is behind a break is LC904's: `graph_breaks`)."""
    if reply.recompile_limit:
        return Violation("LC903", f"the loss recompiles on every call: under torch.compile ({backend}) dynamo "
                         f"reached its recompile limit ({reply.limit}) within {RECOMPILE_CALLS} calls on the same "
                         "inputs, and in training it would then run the loss eagerly from there on (recompile "
                         "reasons: TORCH_LOGS=recompiles); the compiled result is not compared", case)
    if reply.graphs_run == 0 and not reply.graph_breaks:
        return Violation("LC903", f"under torch.compile ({backend}) no compiled graph of the loss ever ran (dynamo "
                         "skipped it or fell back to eager): the compiled result would be the eager one, so it is "
                         "not compared", case)
    return None


def graph_breaks(ctx, breaks: dict, case: Case, eager: bool) -> Violation:
    """LC904: each graph break's reason (its first line) and count, and whether no compiled graph ran at all
    (`eager`: the loss runs eagerly under torch.compile, so nothing was compared); info, a warning with --fullgraph."""
    reasons = "; ".join(f"{reason.strip().splitlines()[0]} (x{n})" for reason, n in breaks.items())
    ran = ("; no compiled graph of the loss ran, so under torch.compile it runs eagerly (values and gradients were "
           "not compared)") if eager else ""
    return Violation("LC904", f"dynamo breaks the loss's graph: {reasons}{ran}", case,
                     snippet=compile_snippet(ctx.spec.signature, "aot_eager"),
                     severity="warning" if ctx.fullgraph else "info", data={"graph_breaks": breaks})


@register("compile.aot_eager", "compile", only_if=lambda ctx: ctx.compile)
def under_aot_eager(ctx) -> Evidence:
    """The loss compiled (aot_eager, dynamic shapes) per drawn example: value and gradient against eager."""
    grad_args = tuple(ctx.spec.grad_args)
    breaks, served, compiled = {}, [], []  # served: the cases the loss ran on (the first: RECOMPILE_CALLS calls)

    def prop(case):
        calls = 1 if served else RECOMPILE_CALLS
        reply = ctx.candidate.perform(ctx.caller, compile_request(ctx, case, "aot_eager", grad_args, calls))
        if reply.error:
            return  # the loss fails eagerly here (or cannot be built): the other families say so
        served.append(case)
        stopped = not_compiled(reply, case, "aot_eager")
        if stopped:
            raise Abort(stopped)
        for reason, n in reply.graph_breaks.items():
            breaks[reason] = max(breaks.get(reason, 0), n)
        if reply.graphs_run:  # else every op is behind a graph break: the loss ran eagerly, nothing to compare
            compiled.append(case)
            against_eager(ctx, reply, case, "aot_eager")

    try:
        n, v = ctx.search(cases(ctx.state, target_formats=ctx.target_formats), prop,
                          max_examples=max(ctx.max_examples // 6, 4))
    except Abort as stop:
        if isinstance(stop.outcome, Skip):
            raise stop.outcome
        return Evidence(len(served), [stop.outcome], "torch.compile does not run the loss")
    evidence = Evidence(n, [v] if v else [])
    if breaks and served:
        evidence.violations.append(graph_breaks(ctx, breaks, served[0], eager=not compiled))
    evidence.detail = f"{sum(breaks.values())} graph break(s)" if breaks else "no graph breaks"
    return evidence


def rounded(case: Case, dtype: str, grad_args) -> Case:
    """The case as a mixed-precision step feeds it: the inputs at `grad_args` rounded to `dtype`, the rest to
    float32 (values kept as float64 ndarrays, for the reference)."""
    low, f32 = case.rounded(dtype), case.rounded("float32")
    return f32.with_inputs(low.inputs[i] if i in grad_args else a for i, a in enumerate(f32.inputs))


def low_precision(ctx, case: Case, grad_args):
    """LC905: the case under bf16 autocast, eager and inductor, each graded against the float64 reference on the
    rounded inputs in units of u·max|ref|; a difference between them beyond DIFFERENT_UNITS names the side that
    is right."""
    case = rounded(case, LOW, grad_args)
    reply = ctx.candidate.perform(ctx.caller, compile_request(ctx, case, "inductor", grad_args, autocast=LOW))
    if reply.error or reply.compiled.get("error") or not_compiled(reply, case, "inductor"):
        return
    want = ctx.reference(case)
    (eager, _), (got, _) = _arrays(reply.eager), _arrays(reply.compiled)
    if eager.size != want.size or got.size != want.size or not np.all(np.isfinite(want)):
        return
    eager, got = eager.reshape(want.shape), got.reshape(want.shape)
    scale = UNIT_ROUNDOFF * (float(np.max(np.abs(want), initial=0.0)) + FLOOR)

    def units(a):
        return float(np.max(np.abs(a - want))) / scale if np.all(np.isfinite(a)) else float("inf")

    finite = np.all(np.isfinite(eager)), np.all(np.isfinite(got))
    if all(finite) and float(np.max(np.abs(got - eager))) / scale <= DIFFERENT_UNITS or not any(finite):
        return
    e_units, c_units = units(eager), units(got)
    verdict = "compile hides the bug: the eager loss is the wrong one" if c_units < e_units else \
        "compile makes the loss worse"
    raise Violation("LC905", f"compile changes the result under {LOW} autocast: eagerly {number(eager)} "
                    f"({e_units:.1f} units of u·max|ref| from the float64 reference {number(want)}), compiled "
                    f"(inductor) {number(got)} ({c_units:.1f} units); {verdict} (inductor computes fused {LOW} "
                    "code in float32; torch._inductor.config.emulate_precision_casts=True gives eager's rounding)",
                    case, LOW, expected=want, snippet=compile_snippet(ctx.spec.signature, "inductor", LOW),
                    severity="warning", data={"eager_units": e_units, "compiled_units": c_units})


@register("compile.inductor", "compile", only_if=lambda ctx: ctx.compile and ctx.inductor)
def under_inductor(ctx) -> Evidence:
    """The loss compiled with inductor once, on fixed inputs: the most confident of DRAWS drawn cases (the largest
    input that gets a gradient: where bf16 loses most), float32 against eager, and bf16 autocast against float64 on
    both sides."""
    grad_args = tuple(ctx.spec.grad_args)
    drawn = []
    ctx.search(cases(ctx.state, target_formats=ctx.target_formats, confident=True), drawn.append, max_examples=DRAWS)
    if not drawn:
        raise Skip("no case could be drawn")
    case = max(drawn, key=lambda c: max((float(np.max(np.abs(c.inputs[i]))) for i in grad_args
                                         if c.inputs[i].size), default=0.0))
    reply = ctx.candidate.perform(ctx.caller, compile_request(ctx, case, "inductor", grad_args))
    if reply.error:
        raise Skip(f"the loss does not run here: {reply.error}")
    stopped = not_compiled(reply, case, "inductor")
    if stopped:
        return Evidence(1, [stopped])
    if not reply.graphs_run:
        raise Skip("no compiled graph of the loss ran (every operation is behind a graph break: see compile.aot_eager)")
    try:
        against_eager(ctx, reply, case, "inductor")
        low_precision(ctx, case, grad_args)
    except Violation as v:
        return Evidence(1, [v])
    return Evidence(1, [], "one case, float32 and bf16 autocast")
