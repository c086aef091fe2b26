"""device.ddp (`--ddp N`), the check: drawn cases (hypothesis, seeded with the audit seed) sharded across the
ranks, the all-reduced loss and the gathered input gradients compared with the single-process loss and input
gradient on the full batch (float64 tolerance; float32 when the candidate computes in float32). A mismatch is
LC606, a rank that crashes or hangs LC706, a process group that cannot be formed a skip with the reason.

Registered to run last and only when the audit asks for it (`ctx.ddp`, the number of ranks); the ranks, the
sharding, one rank's step, the advice and the reproducer are the losscheck.ddp package.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from losscheck.judge.cases import cases
from losscheck.checks.registry import register
from losscheck.judge.formatting import number
from losscheck.judge.evidence import Abort, Evidence, Skip, Violation
from losscheck.ddp.advice import advice
from losscheck.ddp.ranks import RankFailure, Ranks, unavailable
from losscheck.ddp.reproducer import snippet
from losscheck.ddp.sharding import shard
from losscheck.judge.batches import batch_layout, ignore_index_set, joined, loss_and_gradients, tolerance_dtype
from losscheck.judge.tolerances import close, max_error

CHECK_NAME = "device.ddp"


def _kwargs(ctx, case) -> dict:
    """The candidate's keyword arguments with tensor parameters as float64 arrays (pickled to the ranks)."""
    return ctx.binding.candidate_kwargs(case.params, lambda a: np.asarray(a, dtype=np.float64))


def _num(x):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim:
        return [_num(v) for v in x]
    return float(x) if np.isfinite(x) else str(float(x))


@dataclass
class _Search:
    """What device.ddp's searches have seen so far, over the drawn batches of one check."""

    world: int                    # the number of ranks
    ranks: Ranks | None = None    # the gloo group, started on the first batch that can be compared
    compared: int = 0             # batches the ranks computed
    reasons: list = field(default_factory=list)   # why drawn batches could not be compared
    kinds: set = field(default_factory=set)       # the reductions seen: 'mean', 'sum', 'none'
    gradients: bool = False           # the second search: gradients are judged too (no value differed before)
    gradient_mismatch: bool = False   # the first search saw a gradient differ


@register(CHECK_NAME, "device", only_if=lambda ctx: ctx.ddp >= 2)
def parity(ctx) -> Evidence:
    """The candidate under torch.distributed, the batch sharded across `ctx.ddp` ranks (see the module docstring)."""
    world = ctx.ddp
    if world < 2:
        raise Skip(f"--ddp needs at least 2 processes (got {world}): nothing to shard")
    why = unavailable()
    if why:
        raise Skip(f"{why}: distributed parity not run")
    layout = batch_layout(ctx.state.layouts or ctx.spec.layouts)
    if layout is None:
        raise Skip(f"{ctx.spec.id} has no batched layout to shard")
    # Values first: a gradient mismatch is only searched (and shrunk) for when no value differs, so that
    # the finding shows a value difference whenever there is one.
    search = _Search(world)

    def prop(case):
        _compare_sharded(ctx, search, case)

    strategy = cases(ctx.state, layouts=[layout], target_formats=ctx.target_formats or None, explore=False)
    ignored = ignore_index_set(ctx)
    if ignored is not None:
        strategy = _with_ignored(strategy, ctx.spec.target_arg, ignored)
    n = 0
    try:
        try:
            m, v = ctx.search(strategy, prop, max_examples=min(ctx.max_examples, 10))
            n += m
            if v is None and search.gradient_mismatch:
                search.gradients = True
                m, v = ctx.search(strategy, prop, max_examples=min(ctx.max_examples, 10))
                n += m
        except Abort as a:
            if isinstance(a.outcome, Skip):
                raise a.outcome from None
            n, v = max(n, search.compared) + 1, a.outcome
    finally:
        if search.ranks is not None:
            search.ranks.close()
    if v is None and search.compared == 0:
        reasons = "; ".join(dict.fromkeys(search.reasons)) or "no case could be compared"
        raise Skip(f"no drawn batch could be sharded across {world} ranks: {reasons}")
    method = search.ranks.method if search.ranks is not None else "fork"
    kinds = ", ".join(sorted(search.kinds)) or "?"
    targets = (f"; some targets set to ignore_index={ignored} (set by --init)" if ignored is not None else
               "; no target set to ignore_index (name it in --init to draw some)" if ctx.spec.param("ignore_index")
               else "")
    return Evidence(n, [v] if v else [], detail=f"{world} gloo ranks ({method}); batches of the {layout} layout "
                   f"sharded along the batch axis; reduction {kinds}: {_how(search.kinds)}{targets}")


def _with_ignored(strategy, target_arg, value):
    """Cases whose integer targets are partly set to `value` (a drawn mask)."""
    @st.composite
    def draw(draw_):
        case = draw_(strategy)
        t = case.inputs[target_arg]
        if t.dtype.kind not in "iu" or t.size < 2:
            return case
        t = t.copy()
        t[draw_(hnp.arrays(bool, t.shape), label="ignored")] = value
        inputs = list(case.inputs)
        inputs[target_arg] = t
        return case.with_inputs(inputs)

    return draw()


def _how(kinds) -> str:
    parts = {"mean": "'mean' all-reduced as sum / world size", "sum": "'sum' all-reduced as a sum",
             "none": "'none' outputs concatenated"}
    return ", ".join(parts[k] for k in sorted(kinds))


def _single(ctx, case):
    """(value, grads, dtype) of the candidate on the full batch in this process, float64; None if it fails."""
    try:
        value, grads, dtype = loss_and_gradients(ctx, case)
    except Violation:
        if ctx.caller.hung is not None:
            raise Abort(Skip("skipped: the candidate timed out on the full batch")) from None
        return None
    try:
        again = ctx.run(case, "float64")[0].detach().double().numpy()
    except Violation:
        return None
    if again.shape != value.shape or not np.allclose(again, value, rtol=0, atol=0, equal_nan=True):
        raise Abort(Skip("skipped: the candidate gives different results on the same full batch (see api.purity): "
                          "sharded parity cannot be judged"))
    return value, grads, dtype


@dataclass(frozen=True)
class _Batch:
    """One drawn batch as device.ddp judges it: the full case, its shards and each input's batch axis (None:
    replicated), what the candidate gives on the full batch in one process, and the words and reproducer of a
    finding on it."""

    case: object
    shards: list
    axes: list
    grad_args: list        # the floating inputs whose gradients the ranks return
    value: np.ndarray      # the single-process loss on the full batch (float64)
    grads: list            # its input gradients, per spec.grad_args (None where none arrived)
    dtype: str             # the dtype the candidate computed in
    kind: str              # 'mean', 'sum' or 'none': how the ranks reduce
    where: str             # "with the batch of 8 sharded over 2 ranks (4 samples each) under torch.distributed"
    extra: dict            # the Violation keywords of a finding on it: the reproducer, grad=True

    def violation(self, code: str, message: str, **data) -> Violation:
        return Violation(code, message, self.case, "float64", **({"data": data} if data else {}), **self.extra)


def _compare_sharded(ctx, search: _Search, case) -> None:
    """The property of device.ddp's search: raise LC606 when the ranks' loss or gradients on `case` sharded differ
    from the full batch in one process; note why when the case cannot be compared."""
    full_case, shards, axes = shard(ctx.spec, case, search.world)
    if full_case is None:
        search.reasons.append(axes)
        return
    single = _single(ctx, full_case)
    if single is None:
        search.reasons.append("the candidate fails on the full batch (see the other checks)")
        return
    value, grads, dtype = single
    for part in shards:  # every shard must be a valid input on its own, or the comparison says nothing
        if not _works(ctx, full_case.with_inputs(part)):
            search.reasons.append("a shard does not run on its own in one process (a per-rank batch the loss "
                                  "rejects, see target.shapes, or inputs that cannot be split by sample)")
            return
    kind = "none" if value.ndim else ("sum" if full_case.params.get("reduction") == "sum" else "mean")
    search.kinds.add(kind)
    world = search.world
    first = next(i for i, ax in enumerate(axes) if ax is not None)
    k = shards[0][first].shape[axes[first]]
    where = (f"with the batch of {k * world} sharded over {world} ranks ({k} sample{'s' * (k != 1)} each) under "
             "torch.distributed")
    grad_args = [i for i in ctx.spec.grad_args if full_case.inputs[i].dtype.kind == "f"]
    extra = dict(setup="", snippet=snippet(ctx.spec.signature, axes, grad_args, world, kind,
                                            any(g is not None for g in grads)), grad=True)
    batch = _Batch(full_case, shards, axes, grad_args, value, grads, dtype, kind, where, extra)
    replies = _step(ctx, search, batch)
    _judge_values(ctx, search.world, batch, replies)
    _judge_gradients(ctx, search, batch, replies)


def _step(ctx, search: _Search, batch: _Batch) -> list:
    """The ranks' replies for the batch ("ok", local, reduced, grads, dtype) each; ends the search (LC706) when a
    rank dies or hangs, raises LC606 when one fails where the same shard works in one process."""
    world = search.world
    if search.ranks is None:
        try:
            search.ranks = Ranks(ctx.candidate, world, ctx.caller.timeout)
        except RankFailure as e:
            raise Abort(Skip(f"could not start {world} gloo ranks on 127.0.0.1: {e}")) from None
    try:
        replies = search.ranks.step(batch.shards, batch.grad_args, _kwargs(ctx, batch.case), batch.kind, ctx.seed,
                                     batch.case.chunked)
    except RankFailure as e:
        search.ranks.close(grace=0.0)
        raise Abort(batch.violation("LC706", f"{batch.where}, {e}")) from None
    search.compared += 1
    errors = [(r, rep[1]) for r, rep in enumerate(replies) if rep[0] == "error" and rep[1] is not None]
    if errors:
        rank, (how, text) = errors[0]
        if how == "timeout":
            search.ranks.close(grace=0.0)
            raise Abort(batch.violation("LC706", f"{batch.where}, on rank {rank} {text}"))
        raise batch.violation("LC606", f"{batch.where}, on rank {rank} {text} on its shard, although the same shard "
                              "works in one process: the failure is specific to torch.distributed, and training with "
                              "DDP would stop there.")
    return replies


def _judge_values(ctx, world: int, batch: _Batch, replies) -> None:
    """LC606 when the per-rank outputs concatenated ('none'), or the per-rank losses all-reduced, differ from the
    full-batch loss in one process."""
    value, kind, tol = batch.value, batch.kind, tolerance_dtype(batch.dtype)
    if kind == "none":
        parts = [rep[1] for rep in replies]
        try:
            got = np.concatenate([np.atleast_1d(p) for p in parts], axis=0)
        except ValueError:
            got = None
        if got is None or got.shape != value.shape or not close(got, value, tol):
            shapes = ", ".join(str(tuple(np.shape(p))) for p in parts)
            seen = (f"the per-rank outputs (shapes {shapes}) concatenate to {number(got)}" if got is not None and
                    got.shape == value.shape else f"the per-rank outputs have shapes {shapes}")
            raise batch.violation("LC606", f"{batch.where} and reduction='none', {seen} but the full batch gives "
                                  f"{number(value)} (shape {value.shape}) in one process. "
                                  f"{advice(ctx, batch.case, batch.shards, kind, world)}",
                                  world_size=world, single_process=_num(value), per_rank=[_num(p) for p in parts])
        return
    per_rank = [float(rep[1]) for rep in replies]
    reduced = float(replies[0][2])
    how = "sum / world size" if kind == "mean" else "sum"
    if not close(reduced, value, tol):
        raise batch.violation("LC606", f"{batch.where} and the per-rank {kind!r} losses {number(per_rank)} all-reduced "
                              f"as {how} (what DDP users do), the loss is {number(reduced)}, but {number(value)} on "
                              f"the full batch in one process. "
                              f"{advice(ctx, batch.case, batch.shards, kind, world, value, reduced)}",
                              world_size=world, reduction=kind, single_process=_num(value), sharded=_num(reduced),
                              per_rank=_num(per_rank))


def _judge_gradients(ctx, search: _Search, batch: _Batch, replies) -> None:
    """LC606 when the input gradients gathered from the ranks differ from the full-batch gradient; in the first
    search (values only) a difference is noted, not raised, so that a value difference is shown whenever one exists."""
    for j, i in enumerate(batch.grad_args):
        per = [rep[3][j] for rep in replies]
        want = batch.grads[ctx.spec.grad_args.index(i)]
        if want is None and all(p is None for p in per):
            continue
        if want is None or any(p is None for p in per):
            if not search.gradients:
                search.gradient_mismatch = True
                return
            got_text = "no gradient" if want is not None else "a gradient"
            raise batch.violation("LC606", f"{batch.where}, the ranks give {got_text} for {ctx.spec.signature[i]} "
                                  "where the full batch in one process gives the opposite")
        got = joined(per, batch.axes[i])
        if got.shape != want.shape or not close(got, want, tolerance_dtype(batch.dtype)):
            if not search.gradients:
                search.gradient_mismatch = True
                return
            agree = f" ({number(batch.value)})" if batch.kind != "none" else ""
            scale = "1 / world size (DDP's gradient averaging)" if batch.kind == "mean" else "1"
            err = max_error(got, want) if got.shape == want.shape else float("nan")
            raise batch.violation("LC606", f"{batch.where}, the loss values agree{agree} but the gradient of "
                                  f"{ctx.spec.signature[i]} gathered from the ranks (each rank's loss scaled by "
                                  f"{scale}) differs from the full-batch gradient by up to {err:.3g}: the backward "
                                  f"pass uses quantities of the whole batch. "
                                  f"{advice(ctx, batch.case, batch.shards, batch.kind, search.world)}",
                                  world_size=search.world, max_gradient_error=_num(err))


def _works(ctx, case) -> bool:
    try:
        ctx.run(case, "float64")
    except Violation:
        if ctx.caller.hung is not None:
            raise Abort(Skip("skipped: the candidate timed out on a shard in one process")) from None
        return False
    return True
