"""The advice of an LC606 finding: how to reduce this loss correctly across ranks, from what the case shows
(a sum posing as a mean, a mean over kept targets, a class-weighted mean, a batch overlap ratio (the spec's
`batch_overlap` says which sums), in-batch negatives, or a batch statistic)."""
from __future__ import annotations

import numpy as np

from losscheck.judge.evidence import Violation
from losscheck.judge.tolerances import close


def advice(ctx, case, shards, kind, world, value=None, reduced=None) -> str:
    """How to reduce this loss correctly across ranks, from what the case shows."""
    spec, params = ctx.spec, case.params
    if kind == "mean" and value is not None and np.isfinite(value) and value != 0 and \
            abs(reduced * world - value) <= 1e-7 * abs(value):
        return ("The per-rank values add up to the full-batch value: the loss sums over the batch although its "
                "reduction is 'mean'; make it a mean (LC405), or all-reduce with SUM and no division.")
    t = spec.target_arg
    ignore = params.get("ignore_index") if spec.param("ignore_index") is not None else None
    if kind == "mean" and ignore is not None and t is not None and case.inputs[t].dtype.kind in "iu":
        kept = [int(np.sum(np.asarray(s[t]) != ignore)) for s in shards]
        if len(set(kept)) > 1 or 0 in kept:
            counts = ", ".join(f"rank {r} keeps {k} of {np.asarray(s[t]).size}"
                               for r, (k, s) in enumerate(zip(kept, shards)))
            return (f"'mean' over kept targets is not decomposable ({counts} targets; ignore_index={ignore}): "
                    "the per-rank means have different denominators. All-reduce the sum and the count separately: "
                    "loss_sum = loss_fn(..., reduction='sum'), count = (target != ignore_index).sum(), "
                    "all_reduce both, then divide (or return loss_sum * world_size / global_count from each rank).")
    if kind == "mean" and params.get("weight") is not None and t is not None and case.inputs[t].dtype.kind in "iu":
        return ("A class-weighted 'mean' divides by the sum of the weights of the targets, which differs per rank: "
                "all-reduce the weighted sum (reduction='sum') and weight[target].sum() separately, then divide.")
    if spec.advice.batch_overlap:
        name, sums = spec.advice.batch_overlap
        return (f"{name}: the overlap is one ratio over the whole batch, so the mean of per-rank ratios is not "
                f"the global one. All-reduce the {sums} across ranks (torch.distributed.nn.functional.all_reduce "
                "keeps the gradient) before dividing, or compute the ratio per sample and average.")
    if kind == "mean" and _sum_decomposes(ctx, case, shards):
        return ("The 'sum' adds up across ranks but the 'mean' does not: it divides by a count (or weight total) "
                "that differs per rank. Reduce with 'sum' on each rank, all-reduce the sum and the count "
                "separately, then divide.")
    if spec.family == "embedding":
        return ("The loss compares each sample with the rest of the batch (in-batch negatives, pairs or mining): "
                "all-gather the embeddings with their gradients (torch.distributed.nn.functional.all_gather) so "
                "every rank sees the global batch, or accept that each rank only sees its own shard.")
    return ("The loss couples the samples of the batch (a batch statistic or a batch-dependent normaliser): "
            "all-reduce the sums that make up that statistic across ranks before combining them, or compute "
            "the loss per sample and all-reduce its sum and count.")


def _sum_decomposes(ctx, case, shards) -> bool:
    """With reduction='sum' (when the candidate takes it) do the per-shard sums add up to the full sum?"""
    if "reduction" not in ctx.binding.explorable or "sum" not in ctx.spec.reductions \
            or "sum" in ctx.state.refused.get("reduction", ()):
        return False
    summed = case.with_params(reduction="sum")
    try:
        full = ctx.run(summed, "float64")[0].detach().double().numpy()
        parts = [ctx.run(summed.with_inputs(s), "float64")[0].detach().double().numpy() for s in shards]
    except Violation:
        return False
    return bool(close(np.sum(parts), full, "float64"))
