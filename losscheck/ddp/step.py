"""What one rank computes for one drawn case: the candidate on its shard (float64), the loss all-reduced as DDP
users do (sum / N for 'mean', sum for 'sum'), the backward pass scaled as DDP averages gradients, and the
input gradients. The output is judged by the single-process validator (losscheck.judge.outputs), and the
ranks agree that every call returned before any collective, so one rank's failure leaves none waiting.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist

from losscheck.judge.cases import to_tensor
from losscheck.judge.chunks import as_called
from losscheck.judge.outputs import invalid_output
from losscheck.suspect.calls import CallTimeout


def step(rank, world, candidate, caller, inputs, grad_args, kwargs, kind, seed, chunked=None):
    """One sharded evaluation on this rank: ("ok", local, reduced, grads) or ("error", why or None); an input the
    loss takes in chunks (`chunked`, the case's losscheck.judge.chunks.Chunked) handed over as the audit does."""
    def agree(ok: bool) -> bool:
        flag = torch.tensor([1.0 if ok else 0.0], dtype=torch.float64)
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item() == 1.0)

    def failed(result, what):
        if isinstance(result.error, CallTimeout):
            return ("timeout", f"{what} timed out ({result.error})")
        return ("raise", f"{what} raised {result.describe_error()}")

    torch.manual_seed(seed)
    tensors = [to_tensor(a, "float64") for a in inputs]
    for i in grad_args:
        if tensors[i].is_floating_point():
            tensors[i].requires_grad_(True)
    kwargs = {k: torch.tensor(v, dtype=torch.float64) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    error, value = None, None
    made = caller.call(candidate.make, kwargs)
    if not made.ok:
        error = failed(made, "constructing the loss")
    else:
        out = caller.call(made.value, *as_called(chunked, tensors))
        if not out.ok:
            error = failed(out, "calling the loss")
        elif (invalid := invalid_output(out.value, kind, "calling the loss")) is not None:  # LC707, LC704
            error = ("raise", invalid[1])
        else:
            value = out.value
    if not agree(error is None):
        return ("error", error)
    local = value.detach().to(torch.float64).clone()
    reduced = None
    scale = 1.0
    if kind != "none":
        reduced = local.clone()
        dist.all_reduce(reduced, op=dist.ReduceOp.SUM)  # the all-reduce DDP users write
        if kind == "mean":
            reduced /= world
            scale = 1.0 / world  # DDP averages the gradients over the ranks
    if value.requires_grad:
        back = caller.call(value.backward, torch.full_like(value, scale))
        if not back.ok:
            error = failed(back, "the backward pass")
    if not agree(error is None):
        return ("error", error)
    grads = [None if tensors[i].grad is None else tensors[i].grad.detach().double().numpy() for i in grad_args]
    return ("ok", local.numpy(), None if reduced is None else reduced.numpy(), grads, str(value.dtype))
