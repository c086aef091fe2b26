"""The autocast op: the candidate as mixed-precision training runs it, and its float32/float64 runs beside it.

Each run builds the loss, calls it on its inputs under `torch.autocast("cpu", dtype)` (CPU autocast casts matmul,
linear and the built-in loss functions as CUDA's does, but keeps exp, log, pow, softmax, sum and mean in the
input's dtype) and takes the gradient of the result's sum at a loss scale: the fp16 gradient a training loop sees
is the one GradScaler unscales, so the scale starts high and is halved while a gradient is not finite.

softmax and log_softmax of a half tensor (UPCAST) run in float32 as on CUDA: under autocast their result is float32
(they are in CUDA's autocast float32 list, not in CPU's), and on raw half inputs (no autocast, as FSDP's mixed
precision feeds a loss) it is rounded back to the input's dtype (CUDA's kernels accumulate in float32; torch's CPU
bf16/fp16 log_softmax returns exactly 0 for a class at -1.4e-4). A loss is not blamed for the CPU policy or kernel:
knowledge distillation's CPU-autocast bf16 log_softmax of two equal distributions gives a KL of -0.007 where it is 0.
"""
from __future__ import annotations

from losscheck.suspect import wire
from losscheck.suspect.protocol import Autocast, UnderAutocast

MAX_HALVINGS = 16  # GradScaler's 2**16 down to 1
WATCHED = ("exp", "log", "pow", "sigmoid", "softmax", "log_softmax", "sum", "mean", "clamp", "div", "logsumexp",
           "matmul", "bmm", "mm", "einsum")  # the operation classes a low-precision fault is named by
UPCAST = ("softmax", "log_softmax")  # in CUDA's autocast float32 list, not in CPU's


def _watch(autocast: bool):
    """A torch function mode that records which watched operations ran (`ran`) and which in half precision
    (`low`), and the first operation whose result is inf/nan while its tensor arguments are finite (the operation at
    fault): `first` among the half results, `first_any` in any dtype (a float32 run at extreme inputs); it runs the
    UPCAST operations of a half tensor in float32 (their result float32 under `autocast`, else rounded back)."""
    import torch
    from torch.overrides import TorchFunctionMode

    class Watch(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.low, self.ran, self.first, self.first_any = [], [], None, None

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", str(func)).strip("_")
            low = args[0].dtype if args and isinstance(args[0], torch.Tensor) else None
            if name in UPCAST and low in (torch.float16, torch.bfloat16):
                out = func(args[0].float(), *args[1:], **(kwargs or {}))
                return out if autocast or not isinstance(out, torch.Tensor) else out.to(low)
            out = func(*args, **(kwargs or {}))
            if not isinstance(out, torch.Tensor) or not out.is_floating_point():
                return out
            half = out.dtype in (torch.float16, torch.bfloat16)
            for seen, counts in ((self.ran, True), (self.low, half)):
                if counts and name in WATCHED and name not in seen:
                    seen.append(name)
            if self.first is None or self.first_any is None:
                if not bool(torch.isfinite(out).all()) and all(
                        bool(torch.isfinite(a).all()) for a in args if isinstance(a, torch.Tensor)):
                    self.first_any = self.first_any or name
                    self.first = self.first or (name if half else None)
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
    watch = _watch(autocast=dtype is not None)
    with torch.autocast("cpu", dtype=getattr(torch, dtype or "bfloat16"), enabled=dtype is not None), watch:
        out = caller.call(made.value, *inputs)
    if not out.ok:
        return {"error": f"calling the loss raised {out.describe_error()}"}
    value = out.value
    if not isinstance(value, torch.Tensor):
        return {"error": f"the loss returned a {type(value).__name__}, not a tensor"}
    outcome = {"error": None, "value": wire.encode_tensor(value.detach().double()), "grads": [], "scale": None,
               "in_half": watch.low, "first_non_finite": watch.first, "ran": watch.ran,
               "first_non_finite_any": watch.first_any}
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
