"""reduction.accumulation: gradient accumulation over micro-batches, compared with the full batch.

A training loop that accumulates gradients cuts the batch it means into K micro-batches, calls the loss on each,
back-propagates each result and steps once. Trainers scale each micro-batch loss by 1/K (the number of
accumulation steps), so the accumulated loss is the mean of the micro-batch means; transformers' Trainer (4.46 and
later) instead passes the loss `num_items_in_batch`, the count of items kept in the whole accumulated batch, and
adds the micro-batch losses, each the micro-batch's sum divided by that global count.

When a per-micro-batch mean is exact. The mean of K micro-batch means equals the full batch's mean, whatever the
inputs, when every micro-batch's denominator is the same: micro-batches of equal size (as a loop with a fixed
per-step batch cuts them) of a loss whose 'mean' divides by a fixed number of elements per sample (MSE, L1, BCE,
a cross-entropy without ignored targets or class weights). A loss whose 'mean' divides by the items a batch keeps
(targets kept by ignore_index, the class weights of its targets, a language model's kept tokens) is not exact
once padding falls unevenly between micro-batches. Unequal micro-batches (the short last one of an epoch) break
the mean of means of every loss: that is the loop's choice (drop_last, or weighting by size), not the loss's, so
a plain mean is never judged on them; a loss that takes the global count must be exact on any split, since
Σ_k sum_k / N = sum / N.

What runs. The check runs for the specs that declare their mean's items (`LossSpec.mean_items`: cross_entropy,
nll, focal_multiclass, causal_lm), on the candidate's own configuration with reduction 'mean'; every other spec's
mean is exact under equal splits (kd's 'batchmean' too: it averages over samples, none masked), and the check
skips it with that reason. Drawn cases (hypothesis, seeded with the audit seed) of the 'batch' layout are cut into
micro-batches along the batch axis (losscheck.judge.batches, as device.ddp cuts shards): STEPS equal ones (the
batch tiled to a multiple, as device.ddp tiles it) and, for a loss that takes the global count, unequal ones too
(the last sample alone). Where the loss is used with ignored targets (the user set ignore_index with --init, as
device.ddp asks, or its inputs are padded by definition: `LossSpec.padded`, causal_lm) every target of the first
micro-batch but one is set to ignore_index: the padding concentrated in one micro-batch. (A cross-entropy audited
without ignore_index set masks nothing, and its mean is exact.) The candidate runs on each micro-batch in
float64, a loss that takes the global count given it (the spec parameter GLOBAL_COUNT, the sum of the batch's
`mean_items`) and its results added, a plain mean's added and divided by STEPS. For the former, each backward
pass is scaled the same way and the input gradients are put back together (a plain mean is judged on its value
alone). Loss and gradients are compared with the full batch's (float64 tolerance; float32 when the candidate
computes in float32).

Grading. A loss that takes the global count and still disagrees with the full batch is LC406 (error: the 2024
trainer bug, a per-micro-batch mean behind a num_items_in_batch argument). A plain mean, correct on its own batch,
whose accumulation differs is LC407 (info): how to accumulate it exactly (reduction='sum' divided by the global
count), never a red verdict on a correct built-in.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

from losscheck.checks.registry import register
from losscheck.judge.batches import (batch_axes, batch_layout, ignore_index_set, joined, loss_and_gradients, split,
                                     tiled_batch, tolerance_dtype)
from losscheck.judge.cases import cases
from losscheck.judge.evidence import Abort, Evidence, Skip, Violation
from losscheck.judge.formatting import number
from losscheck.judge.reproducer import tensor_source
from losscheck.judge.tolerances import close, max_error

CHECK_NAME = "reduction.accumulation"
STEPS = 2  # micro-batches per accumulated batch (gradient_accumulation_steps)
GLOBAL_COUNT = "num_items_in_batch"  # the spec parameter that carries the whole batch's item count (transformers)


@dataclass
class _Seen:
    """What the search has seen: the batches compared, and why the others could not be."""

    compared: int = 0
    padded: bool = False    # ignored targets were concentrated in a micro-batch
    reasons: list = field(default_factory=list)


@dataclass(frozen=True)
class _Accumulated:
    """One drawn batch as the check judges it: the full case (padding applied), its micro-batches, what the
    candidate gives on each and on the whole, and the words of a finding on it."""

    case: object
    parts: list
    sizes: list             # their sizes along the batch axis
    axes: tuple
    counts: list            # the items each micro-batch keeps (the sum of its mean_items)
    total: float            # the items the whole batch keeps: the global count
    takes_count: bool       # the candidate takes GLOBAL_COUNT (given the global count, results added)
    value: np.ndarray       # the full batch's loss
    grads: list             # the full batch's input gradients, per spec.grad_args
    dtype: str
    steps: list             # the micro-batch losses
    accumulated: float      # their sum (global count) or their sum / STEPS (a plain mean)
    where: str              # "with the batch of 4 cut into 2 micro-batches of 2 and 2 samples (...)"


@register(CHECK_NAME, "reduction")
def accumulation(ctx) -> Evidence:
    """The candidate's micro-batch losses accumulated as a trainer does, against the full batch (module docstring)."""
    spec = ctx.spec
    if spec.mean_items is None:
        raise Skip(f"{spec.id}'s 'mean' divides by a fixed number of elements per sample: the mean of equal "
                   "micro-batches' means is the batch's mean")
    reduction = ctx.binding.defaults.get("reduction")
    if reduction != "mean":
        raise Skip(f"the candidate's default reduction is {reduction!r}, not a mean: its micro-batch results add up "
                   "without a count")
    layout = batch_layout(ctx.state.layouts or spec.layouts)
    if layout is None:
        raise Skip(f"{spec.id} has no batched layout to cut into micro-batches")
    takes_count = spec.param(GLOBAL_COUNT) is not None and GLOBAL_COUNT in ctx.binding.explorable
    splits = ("equal", "unequal") if takes_count else ("equal",)
    seen = _Seen()

    @st.composite
    def drawn(draw):
        return (draw(cases(ctx.state, layouts=[layout], target_formats=ctx.target_formats or None, explore=False)),
                draw(st.sampled_from(splits), label="micro-batches"),
                draw(st.integers(0, 2 ** 16), label="the target kept in the padded micro-batch"))

    try:
        n, v = ctx.search(drawn(), lambda d: _compare(ctx, seen, takes_count, *d),
                          max_examples=min(ctx.max_examples, 10))
    except Abort as a:  # LC407, an info: the first batch that shows it is enough (no shrinking)
        n, v = seen.compared, a.outcome
    if v is None and seen.compared == 0:
        reasons = "; ".join(dict.fromkeys(seen.reasons)) or "no case could be compared"
        raise Skip(f"no drawn batch could be cut into micro-batches: {reasons}")
    how = (f"each given {GLOBAL_COUNT} (the whole batch's kept items) and added" if takes_count else
           f"each a mean over its own items, added and divided by {STEPS} as trainers do")
    targets = ("; ignored targets concentrated in the first micro-batch" if seen.padded else
               "; no target set to ignore_index (name it in --init to train with one)" if spec.param("ignore_index")
               else "")
    return Evidence(n, [v] if v else [], detail=f"batches of the {layout} layout cut into {STEPS} micro-batches "
                    f"({' and '.join(splits)} sizes); micro-batch losses {how}{targets}")


def _padded(ctx, case, axes, size: int, keep: int):
    """(the case with every target of its first `size` samples set to ignore_index but one (`keep`-th of them),
    what was done) when the loss is used with ignored targets (the user set ignore_index, or its inputs are padded
    by definition: `LossSpec.padded`, causal_lm); (the case, "") otherwise."""
    spec, t = ctx.spec, ctx.spec.target_arg
    ignore = case.params.get("ignore_index")
    if t is None or ignore is None or spec.param("ignore_index") is None or case.inputs[t].dtype.kind not in "iu":
        return case, ""
    if ignore_index_set(ctx) is None and not spec.padded:
        return case, ""
    target = case.inputs[t]
    first = np.zeros(target.shape, dtype=bool)
    first[(slice(None),) * axes[t] + (slice(0, size),)] = True
    positions = np.flatnonzero(first)
    first.flat[positions[keep % positions.size]] = False
    inputs = list(case.inputs)
    inputs[t] = np.where(first, ignore, target)
    said = f", every target of the first ({spec.signature[t]}) but one set to ignore_index={ignore}"
    return case.with_inputs(inputs), said


def _compare(ctx, seen: _Seen, takes_count: bool, case, how: str, keep: int) -> None:
    """The property: raise LC406 or LC407 when the candidate's micro-batch losses on `case`, accumulated, differ
    from its loss on the full batch; note why when the case cannot be compared."""
    spec = ctx.spec
    axes, n = batch_axes(spec, case)
    if isinstance(n, str) or (how == "unequal" and n < 2):
        seen.reasons.append(n if isinstance(n, str) else "a batch of one sample has no unequal split")
        return
    case, sizes = tiled_batch(case, axes, n, STEPS) if how == "equal" else (case, [n - 1, 1])
    case, padding = _padded(ctx, case, axes, sizes[0], keep)
    seen.padded = seen.padded or bool(padding)
    parts = split(case.inputs, axes, sizes)
    counts = [float(np.sum(spec.mean_items(p, case.params))) for p in parts]
    if min(counts) <= 0:
        seen.reasons.append("a micro-batch keeps no item (its mean is 0/0)")
        return
    total = float(np.sum(spec.mean_items(case.inputs, case.params)))
    try:
        value, grads, dtype = _evaluate(ctx, case, takes_count)
    except Violation:
        seen.reasons.append("the candidate fails on the full batch (see the other checks)")
        return
    scale = 1.0 if takes_count else 1.0 / STEPS
    count = {GLOBAL_COUNT: int(total) if total.is_integer() else total} if takes_count else {}
    results = []
    for part in parts:
        try:
            results.append(_evaluate(ctx, case.with_inputs(part).with_params(**count), takes_count, scale))
        except Violation:
            seen.reasons.append("a micro-batch does not run on its own (see the other checks)")
            return
    steps = [float(r[0]) for r in results]
    kept = " and ".join(f"{c:g}" for c in counts)
    where = (f"with the batch of {sum(sizes)} cut into {STEPS} micro-batches of {' and '.join(map(str, sizes))} "
             f"samples{padding} (they keep {kept} items; the whole batch {total:g})")
    batch = _Accumulated(case, parts, sizes, axes, counts, total, takes_count, value, grads, dtype, steps,
                         float(np.sum(steps) * scale), where)
    seen.compared += 1
    _judge_accumulated_value(ctx, batch)
    if takes_count:
        _judge_accumulated_gradients(ctx, batch, [r[1] for r in results])


def _evaluate(ctx, case, gradients: bool, scale: float = 1.0):
    """(value, input gradients or None, result dtype) of the candidate on `case` in float64; the gradients (its
    result back-propagated with `scale`) only where they are judged: for a loss that takes the global count."""
    if gradients:
        return loss_and_gradients(ctx, case, scale)
    out = ctx.run(case, "float64")[0]
    return out.detach().double().numpy(), None, str(out.dtype)


def _judge_accumulated_value(ctx, batch: _Accumulated) -> None:
    """LC406 (the loss takes the global count) or LC407 (a plain mean) when the accumulated loss is not the full
    batch's."""
    if close(batch.accumulated, batch.value, tolerance_dtype(batch.dtype)):
        return
    steps, acc, full = number(batch.steps), number(batch.accumulated), number(batch.value)
    if not batch.takes_count:
        raise Abort(_violation(ctx, batch, "LC407", f"{batch.where}, the per-micro-batch means {steps} accumulated as "
                         f"trainers do (their sum / {STEPS}, the accumulation steps) give {acc}, the full batch "
                         f"{full}: each micro-batch is averaged over its own kept items. The loss is correct on its "
                         "own batch; to accumulate exactly, compute each micro-batch with reduction='sum' and divide "
                         f"by the global count (the {batch.total:g} items kept in the whole accumulated batch), as "
                         f"transformers' {GLOBAL_COUNT} does"))
    means = float(np.sum([ctx.reference(batch.case.with_inputs(p)) for p in batch.parts]))
    cause = ("it divides each micro-batch by its own kept items and ignores the count it is given: a per-micro-batch "
             f"mean (the micro-batch means add up to {number(means)})" if close(means, batch.accumulated, "float32")
             else "it does not divide each micro-batch's sum by the count it is given")
    raise _violation(ctx, batch, "LC406", f"{batch.where}, each micro-batch given {GLOBAL_COUNT}={batch.total:g} (the "
                     f"items kept in the whole batch), the micro-batch losses {steps} add up to {acc} but the full "
                     f"batch gives {full}: {cause}. Sum the micro-batch's per-item losses and divide by "
                     f"{GLOBAL_COUNT} whenever it is given")


def _judge_accumulated_gradients(ctx, batch: _Accumulated, step_grads) -> None:
    """LC406 when the values agree but the input gradients accumulated over the micro-batches are not the full
    batch's."""
    for j, i in enumerate(ctx.spec.grad_args):
        if batch.case.inputs[i].dtype.kind != "f":
            continue
        got, want = joined([g[j] for g in step_grads], batch.axes[i]), batch.grads[j]
        if got is None and want is None:
            continue
        if got is None or want is None or got.shape != want.shape or \
                not close(got, want, tolerance_dtype(batch.dtype)):
            err = max_error(got, want) if got is not None and want is not None and got.shape == want.shape \
                else float("nan")
            raise _violation(ctx, batch, "LC406", f"{batch.where}, each micro-batch given {GLOBAL_COUNT}="
                             f"{batch.total:g}, the losses add up to the full batch's ({number(batch.value)}) but the "
                             f"gradient of {ctx.spec.signature[i]} accumulated over the micro-batches differs from the "
                             f"full batch's by up to {err:.3g}: the backward pass does not follow the count it is "
                             "given")


def _violation(ctx, batch: _Accumulated, code: str, message: str) -> Violation:
    """The finding on `batch`: its numbers as data, and a reproducer that accumulates its micro-batches."""
    data = {"micro_batches": batch.sizes, "kept_items": batch.counts, "global_count": batch.total,
            "micro_batch_losses": batch.steps, "accumulated": batch.accumulated, "full_batch": float(batch.value)}
    return Violation(code, message, batch.case, "float64", snippet=_snippet(ctx, batch), grad=True, data=data)


def _snippet(ctx, batch: _Accumulated) -> str:
    """Standalone code that accumulates the micro-batches as the check did, next to the full batch."""
    spec = ctx.spec
    grad_args = [i for i in spec.grad_args if batch.case.inputs[i].dtype.kind == "f"]
    parts = []
    for i, (name, ax) in enumerate(zip(spec.signature, batch.axes)):
        src = f"{name}.detach()" if ax is None else f"torch.split({name}.detach(), sizes, dim={ax})[k]"
        parts.append(f"{src}.clone().requires_grad_(True)" if i in grad_args else src)
    lines = [f"sizes = {batch.sizes}  # the micro-batches, cut along the batch axis",
             f"full = loss_fn({', '.join(spec.signature)})", "full.backward()"]
    if batch.takes_count:
        name = ctx.binding.names[GLOBAL_COUNT]
        kwargs = ctx.binding.candidate_kwargs(batch.case.params, lambda a: tensor_source(np.asarray(a), "float64"))
        count = int(batch.total) if float(batch.total).is_integer() else batch.total
        construction = ctx.candidate.construction({**kwargs, name: count}, as_="step_fn")
        # the candidate built as audited, with the whole batch's kept-item count (what the Trainer passes)
        lines.append(construction + "  # given the whole batch's kept items")
        call, scale = "step_fn(*part)", ""
    else:
        call, scale = "loss_fn(*part)", f" / {STEPS}  # a trainer's loss / gradient_accumulation_steps"
    lines += ["accumulated, grads = 0.0, []", f"for k in range({len(batch.sizes)}):",
              f"    part = [{', '.join(parts)}]",
              f"    loss = {call}{scale}", "    loss.backward()", "    accumulated += loss.item()",
              f"    grads.append([part[i].grad for i in {grad_args}])",
              'print("full batch:", full.item(), " accumulated:", accumulated)']
    for j, i in enumerate(grad_args):
        ax = batch.axes[i]
        got = f"sum(g[{j}] for g in grads)" if ax is None else f"torch.cat([g[{j}] for g in grads], dim={ax})"
        name = spec.signature[i]
        lines.append(f'print("{name}.grad differs by", ({got} - {name}.grad).abs().max().item())')
    return "\n".join(lines)
