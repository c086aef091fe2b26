"""device.ddp (`--ddp N`): the candidate under torch.distributed, with the batch sharded across N ranks.

DistributedDataParallel gives every rank one shard of the global batch; each rank computes the loss on its
shard, and training behaves as if the per-rank losses were averaged (DDP averages the gradients). That is
the global loss only when the loss decomposes over shards: an elementwise or per-sample 'mean' over equal
shards does; a batch Dice, a mean over the targets kept by ignore_index, a class-weighted mean or in-batch
negatives do not. This check measures it on the real thing:

* N local CPU processes (forked from the audit worker where fork exists, spawned otherwise) form a gloo
  process group on 127.0.0.1; rank 0 hosts the TCPStore on a free port (port 0) and the others learn it
  through the audit, so there is no port race. The ranks stay up for the whole check and receive one shard
  per drawn case (hypothesis, seeded with the audit seed).
* Drawn batches are tiled to a multiple of N along each input's batch axis (`LossSpec.batch_axes`),
  then split into N equal shards. Inputs without a batch axis (class weights, ...) are replicated.
* Each rank computes the candidate's loss (float64, the candidate's own reduction) on its shard. For
  'mean' the ranks all-reduce the losses with SUM and divide by the world size, for 'sum' they all-reduce
  the SUM, as DDP users do; each rank back-propagates its loss scaled the same way (1/N for 'mean': the
  gradient averaging of DDP), and the input gradients are gathered. With reduction='none' the per-rank
  outputs are concatenated. The audit compares both with the single-process loss and input gradient on the
  full batch (float64 tolerance; float32 when the candidate computes in float32).
* A mismatch is LC606, with advice on how to reduce across ranks (all-reduce sums and counts separately,
  numerator and denominator of a batch Dice, all-gather embeddings for in-batch negatives).

Robustness: the ranks first agree (an all-reduce of an ok flag) that every rank's call returned, so a
candidate that raises on one rank does not leave the others waiting in a collective. Every candidate call
has the audit's per-call time limit (SIGALRM in each rank), the process group has a timeout, and the audit
waits for each step with a deadline: a rank that hangs where no signal reaches it, or dies (os._exit, a
native crash), ends the check with an LC706 finding and every rank is killed (ranks also die with their
parent, by PR_SET_PDEATHSIG on Linux). A process group that cannot be formed is a skip with the reason.
"""
from __future__ import annotations

import contextlib
import datetime
import os
import re
import signal
import socket
import sys
import time

import numpy as np

from losscheck.lifeline import die_with_parent, how_it_ended

CHECK_NAME = "device.ddp"
START_METHOD = None   # "fork" or "spawn"; None: fork where the platform has it (tests may override)
STARTUP_SECONDS = 45.0  # forming the group (spawned ranks import torch first); under the worker's 60 s


def check(world_size: int):
    """The device.ddp check for `world_size` ranks, in the form auditor.run_check expects."""
    def ddp(ctx):
        return parity(ctx, world_size)

    ddp.check_name, ddp.family = CHECK_NAME, "device"
    return ddp


def unavailable() -> str | None:
    """Why torch.distributed with gloo cannot run here, or None."""
    try:
        import torch.distributed as dist
    except ImportError as e:  # pragma: no cover - torch always ships it on the supported platforms
        return f"torch.distributed cannot be imported ({e})"
    if not dist.is_available():
        return "this torch build has no torch.distributed"
    if not dist.is_gloo_available():
        return "this torch build has no gloo backend"
    return None


# -- the ranks ------------------------------------------------------------------------------------------------

class _Abort(BaseException):
    """Ends the hypothesis search at once (no shrinking): carries a Violation (LC706) or a Skip."""

    def __init__(self, outcome):
        super().__init__(str(outcome))
        self.outcome = outcome


class _Dead(Exception):
    """A rank died or did not answer in time; the message says which and how."""


def _loopback() -> str | None:
    with contextlib.suppress(Exception):
        names = [name for _, name in socket.if_nameindex()]
        return next((n for n in ("lo", "lo0") if n in names), None)
    return None


def _rank_main(rank, world, conn, payload, timeout, pg_timeout):
    """One rank: form the group, then answer ("step", ...) messages until ("stop",) or EOF."""
    die_with_parent()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        import torch
        import torch.distributed as dist

        from losscheck.calls import Caller

        torch.set_num_threads(1)
        if isinstance(payload, tuple):  # spawned: import the candidate again
            from losscheck.candidate import resolve
            payload = resolve(payload[1], payload[2])
        candidate, caller = payload, Caller(timeout)
        if "GLOO_SOCKET_IFNAME" not in os.environ and _loopback():
            os.environ["GLOO_SOCKET_IFNAME"] = _loopback()
        td = datetime.timedelta(seconds=pg_timeout)
        if rank == 0:
            store = dist.TCPStore("127.0.0.1", 0, world, True, timeout=td, wait_for_workers=False)
            port = store.port
            conn.send(("port", port))
        else:
            port = conn.recv()
            store = dist.TCPStore("127.0.0.1", port, world, False, timeout=td)
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                          LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world))
        dist.init_process_group("gloo", store=store, rank=rank, world_size=world, timeout=td)
    except BaseException as e:  # noqa: BLE001
        with contextlib.suppress(Exception):
            conn.send(("fatal", f"{type(e).__name__}: {e}"))
        os._exit(1)
    conn.send(("ready",))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            break
        if msg[0] != "step":
            break
        try:
            reply = _step(rank, world, candidate, caller, *msg[1:])
        except BaseException as e:  # noqa: BLE001 - a collective failed: the group is unusable
            text = re.sub(r"^\[[^\]]*\]\s*", "", " ".join(str(e).split()))  # gloo's "[file.cc:78] " prefix
            reply = ("fatal", f"{type(e).__name__}: {text[:300]}")
        try:
            conn.send(reply)
        except (EOFError, OSError):
            break
        if reply[0] == "fatal":
            break
    with contextlib.suppress(BaseException):
        dist.destroy_process_group()
    os._exit(0)


def _step(rank, world, candidate, caller, inputs, grad_args, kwargs, kind, seed):
    """One sharded evaluation on this rank: ("ok", local, reduced, grads) or ("error", why or None)."""
    import torch
    import torch.distributed as dist

    from losscheck.calls import CallTimeout
    from losscheck.cases import to_tensor

    def agree(ok: bool) -> bool:
        flag = torch.tensor([1.0 if ok else 0.0], dtype=torch.float64)
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item() == 1.0)

    def failed(outcome, what):
        if isinstance(outcome.error, CallTimeout):
            return ("timeout", f"{what} timed out ({outcome.error})")
        return ("raise", f"{what} raised {outcome.describe_error()}")

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
        out = caller.call(made.value, *tensors)
        if not out.ok:
            error = failed(out, "calling the loss")
        elif not isinstance(out.value, torch.Tensor):
            error = ("raise", f"calling the loss returned {type(out.value).__name__}, not a tensor")
        elif kind != "none" and out.value.dim() != 0:
            error = ("raise", f"calling the loss returned shape {tuple(out.value.shape)}, not a 0-d tensor")
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


class _Forked:
    """A forked rank with the Process methods Ranks uses (multiprocessing refuses children of the daemonic
    audit worker, and a forked rank needs nothing pickled)."""

    def __init__(self, target, args, keep):
        self.exitcode = None
        self.pid = os.fork()
        if self.pid == 0:  # the rank
            try:
                for conn in keep:  # the other ranks' pipe ends: their EOF must reach the audit when they die
                    conn.close()
                target(*args)
            finally:
                os._exit(1)

    def _reap(self, flags) -> None:
        if self.exitcode is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self.pid, flags)
                if pid:
                    self.exitcode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)

    def is_alive(self) -> bool:
        self._reap(os.WNOHANG)
        return self.exitcode is None

    def join(self, timeout=None) -> None:
        end = time.monotonic() + (timeout or 0.0)
        while self.is_alive() and time.monotonic() < end:
            time.sleep(0.01)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


class Ranks:
    """N rank processes in one gloo group, kept for the whole check."""

    def __init__(self, candidate, world: int, timeout: float):
        import multiprocessing as mp

        self.world, self.timeout = world, timeout
        self.method = START_METHOD or ("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self.step_seconds = 2 * timeout + 5.0
        self.conns, self.procs = [], []
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            for rank in range(world):
                parent, child = mp.Pipe()
                args = (rank, world, child, candidate.for_ranks(), timeout, timeout + 3.0)
                if self.method == "fork":
                    proc = _Forked(_rank_main, args, keep=[*self.conns, parent])
                else:
                    import torch.multiprocessing as tmp
                    args = (*args[:3], ("resolve", candidate.target, dict(candidate.init)), *args[4:])
                    proc = tmp.get_context(self.method).Process(target=_rank_main, args=args,
                                                                name=f"losscheck-rank{rank}")
                    proc.start()
                child.close()
                self.conns.append(parent)
                self.procs.append(proc)
            deadline = time.monotonic() + STARTUP_SECONDS
            first = self._collect([0], deadline, "forming the process group", STARTUP_SECONDS)[0]
            if first[0] != "port":
                raise _Dead(f"rank 0 could not host the store: {first[-1]}")
            for conn in self.conns[1:]:
                conn.send(first[1])
            replies = self._collect(range(world), deadline, "forming the process group", STARTUP_SECONDS)
            for rank, reply in enumerate(replies):
                if reply[0] != "ready":
                    raise _Dead(f"rank {rank} could not join the gloo group: {reply[-1]}")
        except BaseException:
            self.close()
            raise

    def _collect(self, ranks, deadline, doing, seconds):
        """One reply from each of `ranks`; _Dead when one dies, or when some stay silent past the deadline.

        A rank whose collective failed (it answers "fatal") usually waits for a peer that hangs or died: the
        others get one more second, then the silent ones are named.
        """
        from multiprocessing.connection import wait

        ranks = list(ranks)
        replies, dead, pending, cut = {}, [], set(ranks), False
        while pending:
            for rank in sorted(pending):
                conn, proc = self.conns[rank], self.procs[rank]
                if conn.poll(0):
                    try:
                        replies[rank] = conn.recv()
                        if replies[rank][0] == "fatal" and time.monotonic() + 1.0 < deadline:
                            deadline, cut = time.monotonic() + 1.0, True
                    except (EOFError, OSError):
                        dead.append(self._death(rank, doing))
                    pending.discard(rank)
                elif not proc.is_alive() and not conn.poll(0):
                    dead.append(self._death(rank, doing))
                    pending.discard(rank)
            if dead:
                raise _Dead("; ".join(dead))
            if pending and time.monotonic() > deadline:
                silent = sorted(pending)
                within = "" if cut else f" within {seconds:g} s"
                fatal = [f"rank {r} gave up waiting: {replies[r][1]}" for r in ranks if r in replies and
                         replies[r][0] == "fatal"]
                raise _Dead("; ".join([f"rank{'s' * (len(silent) > 1)} {', '.join(map(str, silent))} did not answer"
                                       f"{within} while {doing} (a call that no signal interrupts, or a collective "
                                       "that not every rank reaches)", *fatal]))
            if pending:
                wait([self.conns[r] for r in pending], timeout=0.05)
        fatal = [f"rank {r} failed while {doing}: {replies[r][1]}" for r in ranks if replies[r][0] == "fatal"]
        if fatal:
            raise _Dead("; ".join(fatal))
        return [replies[r] for r in ranks]

    def _death(self, rank, doing) -> str:
        proc = self.procs[rank]
        proc.join(1.0)
        code = proc.exitcode
        how = "closed its connection" if code is None else f"ended ({how_it_ended(exitcode=code)})"
        return f"rank {rank} {how} while {doing}"

    def step(self, shards, grad_args, kwargs, kind, seed):
        for rank, conn in enumerate(self.conns):
            try:
                conn.send(("step", shards[rank], tuple(grad_args), kwargs, kind, seed))
            except (OSError, EOFError):
                raise _Dead(self._death(rank, "receiving its shard")) from None
        deadline = time.monotonic() + self.step_seconds
        return self._collect(range(self.world), deadline, "computing the loss on its shard", self.step_seconds)

    def close(self, grace: float = 2.0):
        """Stop the ranks: ask, wait up to `grace` seconds, then kill."""
        for conn in self.conns:
            with contextlib.suppress(Exception):
                conn.send(("stop",))
        end = time.monotonic() + grace
        for proc in self.procs:
            proc.join(max(0.0, end - time.monotonic()))
        for proc in self.procs:
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)
        for conn in self.conns:
            with contextlib.suppress(Exception):
                conn.close()
        self.conns, self.procs = [], []


# -- sharding -------------------------------------------------------------------------------------------------

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


# -- the check ------------------------------------------------------------------------------------------------

def _kwargs(ctx, case) -> dict:
    """The candidate's keyword arguments with tensor parameters as float64 arrays (pickled to the ranks)."""
    return ctx.binding.candidate_kwargs(case.params, lambda a: np.asarray(a, dtype=np.float64))


def _num(x):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim:
        return [_num(v) for v in x]
    return float(x) if np.isfinite(x) else str(float(x))


def _tol_dtype(dtype: str) -> str:
    return "float64" if dtype == "torch.float64" else "float32"


def parity(ctx, world: int):
    from losscheck.cases import cases
    from losscheck.checks.base import Outcome, Skip

    if world < 2:
        raise Skip(f"--ddp needs at least 2 processes (got {world}): nothing to shard")
    why = unavailable()
    if why:
        raise Skip(f"{why}: distributed parity not run")
    layout = batch_layout(ctx.binding.layouts or ctx.spec.layouts)
    if layout is None:
        raise Skip(f"{ctx.spec.id} has no batched layout to shard")
    # Values first: a gradient mismatch is only searched (and shrunk) for when no value differs, so that
    # the finding shows a value difference whenever there is one.
    state = {"ranks": None, "compared": 0, "reasons": [], "kinds": set(), "gradients": False,
             "gradient_mismatch": False}

    def prop(case):
        _compare(ctx, world, case, state)

    strategy = cases(ctx.binding, layouts=[layout], formats=ctx.formats or None, explore=False)
    ignored = _ignored_value(ctx)
    if ignored is not None:
        strategy = _with_ignored(strategy, ctx.spec.target_arg, ignored)
    n = 0
    try:
        try:
            m, v = ctx.search(strategy, prop, max_examples=min(ctx.max_examples, 10))
            n += m
            if v is None and state["gradient_mismatch"]:
                state["gradients"] = True
                m, v = ctx.search(strategy, prop, max_examples=min(ctx.max_examples, 10))
                n += m
        except _Abort as a:
            if isinstance(a.outcome, Skip):
                raise a.outcome from None
            n, v = max(n, state["compared"]) + 1, a.outcome
    finally:
        if state["ranks"] is not None:
            state["ranks"].close()
    if v is None and state["compared"] == 0:
        reasons = "; ".join(dict.fromkeys(state["reasons"])) or "no case could be compared"
        raise Skip(f"no drawn batch could be sharded across {world} ranks: {reasons}")
    method = state["ranks"].method if state["ranks"] is not None else "fork"
    kinds = ", ".join(sorted(state["kinds"])) or "?"
    targets = (f"; some targets set to ignore_index={ignored} (set by --init)" if ignored is not None else
               "; no target set to ignore_index (name it in --init to draw some)" if ctx.spec.param("ignore_index")
               else "")
    return Outcome(n, [v] if v else [], detail=f"{world} gloo ranks ({method}); batches of the {layout} layout "
                   f"sharded along the batch axis; reduction {kinds}: {_how(state['kinds'])}{targets}")


def _ignored_value(ctx):
    """The ignore_index to draw into the targets: only when the user set it (--init), i.e. trains with it.

    Without that, a cross-entropy is audited as used without ignored targets (where its mean decomposes).
    """
    if ctx.spec.param("ignore_index") is None or ctx.spec.target_arg is None:
        return None
    if not any(name in ctx.candidate.init for name in ctx.spec.param("ignore_index").names):
        return None
    return ctx.binding.defaults.get("ignore_index")


def _with_ignored(strategy, target_arg, value):
    """Cases whose integer targets are partly set to `value` (a drawn mask)."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

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
    import torch

    from losscheck.checks.base import Skip, Violation

    try:
        out, ts = ctx.run(case, "float64", requires_grad=True)
    except Violation:
        if ctx.caller.hung is not None:
            raise _Abort(Skip("skipped: the candidate timed out on the full batch")) from None
        return None
    value = out.detach().double().numpy()
    if out.requires_grad:
        back = ctx.caller.call(out.backward, torch.ones_like(out))
        if not back.ok:
            return None
    grads = [None if ts[i].grad is None else ts[i].grad.detach().double().numpy() for i in ctx.spec.grad_args]
    try:
        again = ctx.run(case, "float64")[0].detach().double().numpy()
    except Violation:
        return None
    if again.shape != value.shape or not np.allclose(again, value, rtol=0, atol=0, equal_nan=True):
        raise _Abort(Skip("skipped: the candidate gives different results on the same full batch (see api.purity): "
                          "sharded parity cannot be judged"))
    return value, grads, str(out.dtype)


def _compare(ctx, world, case, state):
    from losscheck.checks.base import Violation, fmt
    from losscheck.tolerances import close, max_error

    full_case, shards, axes = shard(ctx.spec, case, world)
    if full_case is None:
        state["reasons"].append(axes)
        return
    single = _single(ctx, full_case)
    if single is None:
        state["reasons"].append("the candidate fails on the full batch (see the other checks)")
        return
    value, grads, dtype = single
    for part in shards:  # every shard must be a valid input on its own, or the comparison says nothing
        if not _works(ctx, full_case.with_inputs(part)):
            state["reasons"].append("a shard does not run on its own in one process (a per-rank batch the loss "
                                    "rejects, see target.shapes, or inputs that cannot be split by sample)")
            return
    kind = "none" if value.ndim else ("sum" if full_case.params.get("reduction") == "sum" else "mean")
    state["kinds"].add(kind)
    if state["ranks"] is None:
        from losscheck.checks.base import Skip
        try:
            state["ranks"] = Ranks(ctx.candidate, world, ctx.caller.timeout)
        except _Dead as e:
            raise _Abort(Skip(f"could not start {world} gloo ranks on 127.0.0.1: {e}")) from None
    first = next(i for i, ax in enumerate(axes) if ax is not None)
    k = shards[0][first].shape[axes[first]]
    where = (f"with the batch of {k * world} sharded over {world} ranks ({k} sample{'s' * (k != 1)} each) under "
             "torch.distributed")
    grad_args = [i for i in ctx.spec.grad_args if full_case.inputs[i].dtype.kind == "f"]
    extra = dict(setup="", snippet=_snippet(ctx.spec.signature, axes, grad_args, world, kind,
                                            any(g is not None for g in grads)), grad=True)
    try:
        replies = state["ranks"].step(shards, grad_args, _kwargs(ctx, full_case), kind, ctx.seed)
    except _Dead as e:
        state["ranks"].close(grace=0.0)
        raise _Abort(Violation("LC706", f"{where}, {e}", full_case, "float64", **extra)) from None
    state["compared"] += 1
    errors = [(r, rep[1]) for r, rep in enumerate(replies) if rep[0] == "error" and rep[1] is not None]
    if errors:
        rank, (how, text) = errors[0]
        if how == "timeout":
            state["ranks"].close(grace=0.0)
            raise _Abort(Violation("LC706", f"{where}, on rank {rank} {text}", full_case, "float64", **extra))
        raise Violation("LC606", f"{where}, on rank {rank} {text} on its shard, although the same shard works in "
                        "one process: the failure is specific to torch.distributed, and training with DDP would "
                        "stop there.", full_case, "float64", **extra)
    tol = _tol_dtype(dtype)
    if kind == "none":
        parts = [rep[1] for rep in replies]
        try:
            got = np.concatenate([np.atleast_1d(p) for p in parts], axis=0)
        except ValueError:
            got = None
        if got is None or got.shape != value.shape or not close(got, value, tol):
            shapes = ", ".join(str(tuple(np.shape(p))) for p in parts)
            seen = (f"the per-rank outputs (shapes {shapes}) concatenate to {fmt(got)}" if got is not None and
                    got.shape == value.shape else f"the per-rank outputs have shapes {shapes}")
            raise Violation("LC606", f"{where} and reduction='none', {seen} but the full batch gives {fmt(value)} "
                            f"(shape {value.shape}) in one process. {_advice(ctx, full_case, shards, kind, world)}",
                            full_case, "float64", data={"world_size": world, "single_process": _num(value),
                                                        "per_rank": [_num(p) for p in parts]}, **extra)
    else:
        per_rank = [float(rep[1]) for rep in replies]
        reduced = float(replies[0][2])
        how = "sum / world size" if kind == "mean" else "sum"
        if not close(reduced, value, tol):
            raise Violation("LC606", f"{where} and the per-rank {kind!r} losses {fmt(per_rank)} all-reduced as {how} "
                            f"(what DDP users do), the loss is {fmt(reduced)}, but {fmt(value)} on the full batch in "
                            f"one process. {_advice(ctx, full_case, shards, kind, world, value, reduced)}",
                            full_case, "float64", data={"world_size": world, "reduction": kind,
                                                        "single_process": _num(value), "sharded": _num(reduced),
                                                        "per_rank": _num(per_rank)}, **extra)
    for j, i in enumerate(grad_args):
        per = [rep[3][j] for rep in replies]
        want = grads[ctx.spec.grad_args.index(i)]
        if want is None and all(p is None for p in per):
            continue
        if want is None or any(p is None for p in per):
            if not state["gradients"]:
                state["gradient_mismatch"] = True
                return
            got_text = "no gradient" if want is not None else "a gradient"
            raise Violation("LC606", f"{where}, the ranks give {got_text} for {ctx.spec.signature[i]} where the full "
                            "batch in one process gives the opposite", full_case, "float64", **extra)
        got = sum(per) if axes[i] is None else np.concatenate(per, axis=axes[i])
        if got.shape != want.shape or not close(got, want, tol):
            if not state["gradients"]:
                state["gradient_mismatch"] = True
                return
            agree = f" ({fmt(value)})" if kind != "none" else ""
            scale = "1 / world size (DDP's gradient averaging)" if kind == "mean" else "1"
            err = max_error(got, want) if got.shape == want.shape else float("nan")
            raise Violation("LC606", f"{where}, the loss values agree{agree} but the gradient of "
                            f"{ctx.spec.signature[i]} gathered from the ranks (each rank's loss scaled by {scale}) "
                            f"differs from the full-batch gradient by up to {err:.3g}: the backward pass uses "
                            f"quantities of the whole batch. {_advice(ctx, full_case, shards, kind, world)}",
                            full_case, "float64", data={"world_size": world, "max_gradient_error": _num(err)},
                            **extra)


def _works(ctx, case) -> bool:
    from losscheck.checks.base import Skip, Violation

    try:
        ctx.run(case, "float64")
    except Violation:
        if ctx.caller.hung is not None:
            raise _Abort(Skip("skipped: the candidate timed out on a shard in one process")) from None
        return False
    return True


# -- advice ---------------------------------------------------------------------------------------------------

OVERLAPS = {
    "dice": ("batch Dice", "numerator and denominator sums (Σp·g and Σp + Σg per channel)"),
    "tversky": ("batch Tversky", "TP, FP and FN sums per channel"),
    "generalized_dice": ("batch generalized Dice", "weighted numerator and denominator sums (and Σg for the "
                         "class weights)"),
}


def _advice(ctx, case, shards, kind, world, value=None, reduced=None) -> str:
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
    if spec.id in OVERLAPS:
        name, sums = OVERLAPS[spec.id]
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
    from losscheck.checks.base import Violation
    from losscheck.tolerances import close

    if "reduction" not in ctx.binding.explorable or "sum" not in ctx.spec.reductions:
        return False
    summed = case.with_params(reduction="sum")
    try:
        full = ctx.run(summed, "float64")[0].detach().double().numpy()
        parts = [ctx.run(summed.with_inputs(s), "float64")[0].detach().double().numpy() for s in shards]
    except Violation:
        return False
    return bool(close(np.sum(parts), full, "float64"))


# -- the reproducer -------------------------------------------------------------------------------------------

def _snippet(signature, axes, grad_args, world, kind, with_grads) -> str:
    """Standalone code that computes what the ranks compute, in one process, next to the full-batch loss."""
    names = ", ".join(signature)
    lines = [f"world_size = {world}  # each rank gets one shard of the batch, as DistributedSampler gives it",
             f"full = loss_fn({names})"]
    if with_grads:
        lines.append("full.backward(torch.ones_like(full))")
    parts = []
    for i, (name, ax) in enumerate(zip(signature, axes)):
        src = f"{name}.detach()" if ax is None else f"torch.tensor_split({name}.detach(), world_size, dim={ax})[r]"
        if with_grads and i in grad_args:
            src = f"{src}.clone().requires_grad_(True)"
        parts.append(src)
    scale = "1 / world_size" if kind == "mean" else "1.0"
    lines += ["per_rank, grads = [], []", "for r in range(world_size):",
              f"    shard = [{', '.join(parts)}]",
              "    loss_r = loss_fn(*shard)"]
    if with_grads:
        comment = "  # DDP averages the gradients over the ranks" if kind == "mean" else ""
        lines.append(f"    loss_r.backward(torch.full_like(loss_r, {scale})){comment}")
        lines.append(f"    grads.append([shard[i].grad for i in {list(grad_args)}])")
    lines.append("    per_rank.append(loss_r.detach())")
    if kind == "none":
        lines.append("sharded = torch.cat(per_rank, dim=0)  # the per-rank outputs, gathered")
        lines.append('print("single process:", full.detach())\nprint("sharded:       ", sharded)')
    else:
        reduce = "torch.stack(per_rank).sum() / world_size  # all_reduce(SUM) / world_size" if kind == "mean" else \
            "torch.stack(per_rank).sum()  # all_reduce(SUM)"
        lines.append(f"sharded = {reduce}")
        lines.append('print("single process:", full.item(), " sharded:", sharded.item(), " per rank:", '
                     '[v.item() for v in per_rank])')
    if with_grads:
        for j, i in enumerate(grad_args):
            name, ax = signature[i], axes[i]
            gathered = (f"sum(g[{j}] for g in grads)" if ax is None else
                        f"torch.cat([g[{j}] for g in grads], dim={ax})")
            lines.append(f'print("{name}.grad differs by", ({gathered} - {name}.grad).abs().max().item())')
    return "\n".join(lines)
