"""The autocast op: the candidate as mixed-precision training runs it, and its float32/float64 runs beside it.

Each run builds the loss, calls it on its inputs under `torch.autocast("cpu", dtype)` (CPU autocast casts matmul,
linear and the built-in loss functions as CUDA's does, but keeps exp, log, pow, softmax, sum and mean in the
input's dtype) and takes the gradient of the result's sum at a loss scale: the fp16 gradient a training loop sees
is the one GradScaler unscales, so the scale starts high and is halved while a gradient is not finite.
"""
from __future__ import annotations

from losscheck.suspect import wire
from losscheck.suspect.protocol import Autocast, UnderAutocast

MAX_HALVINGS = 16  # GradScaler's 2**16 down to 1
WATCHED = ("exp", "log", "pow", "sigmoid", "softmax", "log_softmax", "sum", "mean", "clamp", "div", "logsumexp",
           "matmul", "bmm", "mm", "einsum")  # the operation classes a low-precision fault is named by


def _watch():
    """A torch function mode that records which watched operations ran in half precision, and the first
    operation whose result is inf/nan while its tensor arguments are finite (the operation at fault)."""
    import torch
    from torch.overrides import TorchFunctionMode

    class Watch(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.low, self.first = [], None

        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            name = getattr(func, "__name__", str(func)).strip("_")
            if isinstance(out, torch.Tensor) and out.dtype in (torch.float16, torch.bfloat16):
                if name in WATCHED and name not in self.low:
                    self.low.append(name)
                if self.first is None and not bool(torch.isfinite(out).all()) and all(
                        bool(torch.isfinite(a).all()) for a in args if isinstance(a, torch.Tensor)):
                    self.first = name
            return out

    return Watch()


def run(candidate, caller, request: Autocast) -> UnderAutocast:
    return UnderAutocast([_one(candidate, caller, r, request.grad_args) for r in request.runs])


def _one(candidate, caller, spec: dict, grad_args: tuple) -> dict:
    # torch here, not at module level: losscheck.suspect.candidate loads the ops without needing torch
    import torch

    made = caller.call(candidate.make, wire.decode(spec["kwargs"]))
    if not made.ok:
        return {"error": f"constructing the loss raised {made.describe_error()}"}
    inputs = list(wire.decode(spec["inputs"]))
    for i in grad_args:
        inputs[i].requires_grad_(True)
    dtype = spec.get("autocast")
    watch = _watch()
    with torch.autocast("cpu", dtype=getattr(torch, dtype or "bfloat16"), enabled=dtype is not None), watch:
        out = caller.call(made.value, *inputs)
    if not out.ok:
        return {"error": f"calling the loss raised {out.describe_error()}"}
    value = out.value
    if not isinstance(value, torch.Tensor):
        return {"error": f"the loss returned a {type(value).__name__}, not a tensor"}
    outcome = {"error": None, "value": wire.encode_tensor(value.detach().double()), "grads": [], "scale": None,
               "in_half": watch.low, "first_non_finite": watch.first}
    wanted = [inputs[i] for i in grad_args]
    if not value.requires_grad or not wanted:
        return outcome
    scale = float(spec.get("scale", 1.0))
    for _ in range(MAX_HALVINGS + 1):
        scaled = value.float().sum() * scale  # as GradScaler.scale: in float32 (2**16 is not an fp16 number)
        done = caller.call(torch.autograd.grad, scaled, wanted, allow_unused=True, retain_graph=True)
        if not done.ok:
            return {**outcome, "error": f"the backward pass raised {done.describe_error()}"}
        finite = all(g is None or bool(torch.isfinite(g).all()) for g in done.value)
        if finite or scale <= 1.0:
            break
        scale /= 2.0
    outcome["grads"] = [None if g is None else wire.encode_tensor((g.double() / scale)) for g in done.value]
    outcome["scale"] = scale
    return outcome
