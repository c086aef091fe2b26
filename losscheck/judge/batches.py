"""A drawn batch cut along its batch axis, and the candidate's loss and input gradients on each part: what the
checks that compare a split batch with the whole one share (device.ddp's shards across ranks,
reduction.accumulation's micro-batches).

Each input has its batch axis (`LossSpec.batch_axes`, default axis 0); an input without one (class weights, ...)
is the same for every part. Parts are consecutive slices along that axis, as a sampler without shuffling gives
them to ranks or to the steps of a gradient-accumulation loop.
"""
from __future__ import annotations

import numpy as np
import torch


def batch_layout(layouts) -> str | None:
    """The layout to split: 'batch', else the first spatial one; None when the loss has no batch."""
    if "batch" in layouts:
        return "batch"
    return next((layout for layout in layouts if layout.startswith("spatial")), None)


def batch_axes(spec, case) -> tuple[tuple, int | str]:
    """(each input's batch axis or None, the batch size), or (axes, why the case has no batch to split)."""
    axes = tuple(spec.batch_axes or (0,) * len(case.inputs))
    axes = tuple(ax if ax is not None and a.ndim > ax else None for a, ax in zip(case.inputs, axes))
    sizes = {case.inputs[i].shape[ax] for i, ax in enumerate(axes) if ax is not None}
    if not sizes:
        return axes, "no input has a batch axis"
    if len(sizes) > 1:
        return axes, "the inputs do not share one batch size (e.g. concatenated targets)"
    n = sizes.pop()
    return axes, (n if n else "empty batch")


def tiled_batch(case, axes, n: int, parts: int):
    """(the case with its batch of `n` tiled to the next multiple of `parts`, samples repeated from the start; the
    sizes of `parts` equal consecutive parts of it)."""
    total = -(-n // parts) * parts
    idx = np.arange(total) % n
    return (case.with_inputs(a if ax is None else np.take(a, idx, axis=ax) for a, ax in zip(case.inputs, axes)),
            [total // parts] * parts)


def ignore_index_set(ctx):
    """The ignore_index the user trains with, to put into the targets of a split batch: only when the user set it
    (--init). Without that, a cross-entropy is audited as used without ignored targets (where its mean
    decomposes over equal parts)."""
    if ctx.spec.param("ignore_index") is None or ctx.spec.target_arg is None:
        return None
    if not any(name in ctx.candidate.init for name in ctx.spec.param("ignore_index").names):
        return None
    return ctx.binding.defaults.get("ignore_index")


def split(inputs, axes, sizes) -> list[list]:
    """The inputs cut into consecutive parts of `sizes` samples along their batch axes (an input without one is
    given whole to every part)."""
    bounds = np.cumsum([0, *sizes])
    return [[a if ax is None else np.take(a, np.arange(lo, hi), axis=ax) for a, ax in zip(inputs, axes)]
            for lo, hi in zip(bounds[:-1], bounds[1:])]


def joined(parts, axis):
    """Per-part arrays (gradients) put back together: concatenated along the batch axis, summed where the input has
    none (every part saw it whole); None when a part has none."""
    if any(p is None for p in parts):
        return None
    return sum(parts) if axis is None else np.concatenate(parts, axis=axis)


def tolerance_dtype(dtype: str) -> str:
    """The tolerance row for a candidate that computed in `dtype` from float64 inputs: float64, else float32."""
    return "float64" if dtype == "torch.float64" else "float32"


def loss_and_gradients(ctx, case, scale: float = 1.0):
    """(value, input gradients per spec.grad_args (None where none arrived), result dtype) of the candidate on
    `case` in float64, its result back-propagated with `scale` (a gradient-accumulation step's 1 / steps); raises
    the api Violation when a call or the backward pass fails."""
    out, ts = ctx.run(case, "float64", requires_grad=True)
    if out.requires_grad:
        back = ctx.caller.call(out.backward, torch.full_like(out, scale))
        if not back.ok:
            raise ctx.failure(back, case, "float64", "the backward pass")
    grads = [None if ts[i].grad is None else ts[i].grad.detach().double().numpy() for i in ctx.spec.grad_args]
    return out.detach().double().numpy(), grads, str(out.dtype)

