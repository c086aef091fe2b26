"""The fake_cuda op: one call of the candidate with every tensor a fake `cuda:0` tensor (torch's FakeTensorMode).

Inputs and tensor parameters are sent as protocol.EmptyTensor (shape and dtype, no values; a list of them for an
input taken in chunks); the module's
registered state becomes fake cuda:0 tensors too (torch.func.functional_call), so a tensor the loss creates on
the CPU meets fake CUDA ones and raises a device mismatch.
"""
from __future__ import annotations

from losscheck.suspect.protocol import EmptyTensor, FakeCuda, OnFakeCuda


def run(candidate, caller, request: FakeCuda) -> OnFakeCuda:
    # torch here, not at module level: losscheck.suspect.candidate (and `losscheck init`) load this module
    # without needing torch
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    def on_fake_cuda(value):
        if isinstance(value, EmptyTensor):
            return torch.empty(value.shape, dtype=getattr(torch, value.dtype), device="cuda:0")
        if isinstance(value, list):  # an input taken as a list of chunks
            return [on_fake_cuda(v) for v in value]
        return value

    with FakeTensorMode(allow_non_fake_inputs=True):
        made = caller.call(candidate.make, {k: on_fake_cuda(v) for k, v in request.kwargs.items()})
        if not made.ok:
            return OnFakeCuda(False, "make", made.describe_error(), None)
        fn = made.value
        if isinstance(fn, torch.nn.Module):
            module = fn
            state = {k: torch.empty_like(v, device="cuda:0")
                     for k, v in [*module.named_parameters(), *module.named_buffers()]}

            def fn(*args):
                return torch.func.functional_call(module, state, args)
        out = caller.call(fn, *[on_fake_cuda(d) for d in request.inputs])
    if not out.ok:
        return OnFakeCuda(False, "call", out.describe_error(), None)
    value = out.value
    return OnFakeCuda(True, "call", "", value.device.type if isinstance(value, torch.Tensor) else None)
