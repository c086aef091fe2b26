"""Sharding a drawn case for device.ddp: the batch tiled to a multiple of N along each input's batch axis
(`LossSpec.batch_axes`), then split into N equal consecutive shards, as a DistributedSampler without shuffling
gives them; inputs without a batch axis (class weights, ...) are replicated (losscheck.judge.batches cuts them)."""
from __future__ import annotations

from losscheck.judge.batches import batch_axes, split, tiled_batch


def shard(spec, case, world: int):
    """(full case, per-rank input lists, batch axis per input) or (None, None, why not).

    The batch is tiled to the next multiple of `world` (samples repeated from the start), then split in
    equal consecutive shards, as a DistributedSampler without shuffling would.
    """
    axes, n = batch_axes(spec, case)
    if isinstance(n, str):
        return None, None, n
    full, sizes = tiled_batch(case, axes, n, world)
    return full, split(full.inputs, axes, sizes), axes
