"""Sharding a drawn case for device.ddp: the batch tiled to a multiple of N along each input's batch axis
(`LossSpec.batch_axes`), then split into N equal consecutive shards, as a DistributedSampler without shuffling
gives them; inputs without a batch axis (class weights, ...) are replicated."""
from __future__ import annotations

import numpy as np


def batch_layout(layouts) -> str | None:
    """The layout to shard: 'batch', else the first spatial one; None when the loss has no batch."""
    if "batch" in layouts:
        return "batch"
    return next((layout for layout in layouts if layout.startswith("spatial")), None)


def shard(spec, case, world: int):
    """(full case, per-rank input lists, batch axis per input) or (None, None, why not).

    The batch is tiled to the next multiple of `world` (samples repeated from the start), then split in
    equal consecutive shards, as a DistributedSampler without shuffling would.
    """
    axes = tuple(spec.batch_axes or (0,) * len(case.inputs))
    axes = tuple(ax if ax is not None and a.ndim > ax else None for a, ax in zip(case.inputs, axes))
    sizes = {case.inputs[i].shape[ax] for i, ax in enumerate(axes) if ax is not None}
    if not sizes:
        return None, None, "no input has a batch axis"
    if len(sizes) > 1:
        return None, None, "the inputs do not share one batch size (e.g. concatenated targets)"
    n = sizes.pop()
    if n == 0:
        return None, None, "empty batch"
    total = -(-n // world) * world
    idx = np.arange(total) % n
    inputs = [a if ax is None else np.take(a, idx, axis=ax) for a, ax in zip(case.inputs, axes)]
    k = total // world
    shards = [[a if ax is None else np.take(a, np.arange(r * k, (r + 1) * k), axis=ax)
               for a, ax in zip(inputs, axes)] for r in range(world)]
    return case.with_inputs(inputs), shards, axes
