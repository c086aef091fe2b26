"""One call of the candidate with every tensor a fake `cuda:0` tensor (torch's FakeTensorMode).

Inputs and tensor parameters are described, not sent: `("empty", shape, dtype)`; the module's registered
state becomes fake cuda:0 tensors too (torch.func.functional_call), so a tensor the loss creates on the CPU
meets fake CUDA ones and raises a device mismatch. Runs wherever the candidate lives (the worker, or this
process under --no-isolation); returns plain data: {"ok", "error", "device"}.
"""
from __future__ import annotations

EMPTY = "empty"


def describe(shape, dtype: str) -> tuple:
    return (EMPTY, tuple(int(s) for s in shape), dtype)


def call_on_fake_cuda(candidate, caller, kwargs: dict, inputs: list) -> dict:
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    def empty(d):
        if isinstance(d, tuple) and len(d) == 3 and d[0] == EMPTY:
            return torch.empty(d[1], dtype=getattr(torch, d[2]), device="cuda:0")
        return d

    with FakeTensorMode(allow_non_fake_inputs=True):
        made = caller.call(candidate.make, {k: empty(v) for k, v in kwargs.items()})
        if not made.ok:
            return {"ok": False, "stage": "make", "error": made.describe_error(), "device": None}
        fn = made.value
        if isinstance(fn, torch.nn.Module):
            module = fn
            state = {k: torch.empty_like(v, device="cuda:0")
                     for k, v in [*module.named_parameters(), *module.named_buffers()]}

            def fn(*args):
                return torch.func.functional_call(module, state, args)
        out = caller.call(fn, *[empty(d) for d in inputs])
    if not out.ok:
        return {"ok": False, "stage": "call", "error": out.describe_error(), "device": None}
    value = out.value
    return {"ok": True, "stage": "call", "error": "",
            "device": value.device.type if isinstance(value, torch.Tensor) else None}
