"""The compile op: the candidate under `torch.compile` beside its eager run on the same inputs.

One request is one configuration and one set of inputs. The loss is built, run eagerly (value and the gradient of
its sum), then dynamo's caches are cleared (`torch._dynamo.reset()`, so no example inherits another's guards) and
the loss is compiled with the requested backend and called `calls` times on the same inputs, the first call's value
and gradient kept. Three things make the comparison honest:

* the compiled path provably ran: the backend is wrapped so that every execution of a compiled graph is counted
  (`graphs_run`); a loss that dynamo skipped or fell back on runs eagerly and counts 0, and the check says so rather
  than comparing eager with eager;
* the recompile limit is a hard failure: `fail_on_recompile_limit_hit` makes dynamo raise where it would silently
  run the loss eagerly from then on (after torch._dynamo.config.recompile_limit, 8, recompiles of one frame), and
  a loss that recompiles on every call reaches it within `calls`;
* graph breaks are counted from `torch._dynamo.utils.counters["graph_break"]` (reason -> count), which counts a
  `.item()` break that `torch._dynamo.explain` reports as 0 breaks (measured on torch 2.13).

Random numbers are drawn alike on both sides: torch's RNG is seeded before each run and inductor runs with
`fallback_random=True` (its own RNG differs from eager's). With `autocast`, both sides run under
`torch.autocast("cpu", dtype)`: inductor computes fused bf16 code in float32, so a loss that is wrong in bf16
eagerly may be right compiled (the check grades both sides against float64).
"""
from __future__ import annotations

from losscheck.suspect import wire
from losscheck.suspect.calls import Caller
from losscheck.suspect.protocol import Compile, Compiled

RNG_SEED = 0  # torch's RNG before each run, so a loss that draws random numbers draws the same ones on both sides


def run(candidate, caller, request: Compile) -> Compiled:
    # torch here, not at module level: losscheck.suspect.candidate loads the ops without needing torch
    import torch
    import torch._dynamo
    import torch._inductor.config
    from torch._dynamo.backends.registry import lookup_backend
    from torch._dynamo.utils import counters

    made = caller.call(candidate.make, wire.decode(request.kwargs))
    if not made.ok:
        return Compiled.failed(f"constructing the loss raised {made.describe_error()}")
    loss = made.value
    eager = _side(caller, loss, request)
    if eager.get("error"):
        return Compiled.failed(eager["error"])
    graphs_run = [0]

    def counting_backend(graph, example_inputs):
        inner = lookup_backend(request.backend)(graph, example_inputs)

        def counted(*args):
            graphs_run[0] += 1
            return inner(*args)
        return counted

    def whole(*inputs):  # a plain function, so a module and a function compile alike
        return loss(*inputs)

    _quiet_helpers()
    torch._dynamo.reset()
    counters.clear()
    compiled = torch.compile(whole, backend=counting_backend, dynamic=request.backend == "aot_eager")
    # the first compiled call compiles: it may take `wait` where that is longer than the call limit (a hang there
    # is the audit's hang, so it is recorded in the audit's Caller)
    slow = Caller(request.wait, local=caller.local) if request.wait > caller.timeout else caller
    with torch._dynamo.config.patch(fail_on_recompile_limit_hit=True), \
            torch._inductor.config.patch(fallback_random=True, compile_threads=1):
        first = _side(slow, compiled, request)
        caller.hung = caller.hung or slow.hung
        recompile_limit = None
        for _ in range(request.calls - 1):
            again = _side(caller, compiled, request, grad=False)
            if again.get("error"):
                recompile_limit = again["error"] if "recompile" in again["error"].lower() else None
                break
    if first.get("error") and "recompile" in first["error"].lower():
        recompile_limit, first = first["error"], {}
    breaks = {str(reason)[:600]: int(n) for reason, n in counters["graph_break"].items()}
    return Compiled(eager=eager, compiled=first, graphs_run=graphs_run[0], graph_breaks=breaks,
                    recompile_limit=recompile_limit, limit=int(torch._dynamo.config.recompile_limit))


def _quiet_helpers() -> None:
    """Keep torch.compile's own helpers from looking like the candidate's leftovers (losscheck.suspect.leftovers):
    tqdm's monitor thread, which its progress bars start (inductor's compile workers are kept in this process by
    compile_threads=1)."""
    try:
        import tqdm  # optional: only where torch's progress bars would use it
    except ImportError:
        return
    tqdm.tqdm.monitor_interval = 0


def _side(caller, fn, request: Compile, grad: bool = True) -> dict:
    """One run of `fn` on fresh copies of the request's inputs (under autocast where asked): {"value", "grads"} as
    float64 wire dicts, or {"error": text}."""
    import torch

    inputs = list(wire.decode(request.inputs))
    for i in request.grad_args:
        inputs[i].requires_grad_(True)
    torch.manual_seed(RNG_SEED)
    dtype = request.autocast
    with torch.autocast("cpu", dtype=getattr(torch, dtype or "bfloat16"), enabled=dtype is not None):
        out = caller.call(fn, *inputs)
    if not out.ok:
        return {"error": f"calling the loss raised {out.describe_error()}"}
    value = out.value
    if not isinstance(value, torch.Tensor):
        return {"error": f"the loss returned a {type(value).__name__}, not a tensor"}
    side = {"value": wire.encode_tensor(value.detach().double()), "grads": []}
    wanted = [inputs[i] for i in request.grad_args]
    if not grad or not value.requires_grad or not wanted:
        return side
    done = caller.call(torch.autograd.grad, value.float().sum(), wanted, allow_unused=True)
    if not done.ok:
        return {"error": f"the backward pass raised {done.describe_error()}"}
    side["grads"] = [None if g is None else wire.encode_tensor(g.double()) for g in done.value]
    return side
