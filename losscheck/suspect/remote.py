"""The judge's side of the worker: a Candidate whose code lives in another process (losscheck.suspect.worker).

`RemoteCandidate` has the interface of losscheck.suspect.candidate.Candidate, so every check runs unchanged in the
audit process while the candidate is imported, constructed and called only in the worker. A call sends
the input tensors and gets back the result as data (losscheck.suspect.wire); when the result carries a graph, it
is wrapped in an autograd Function whose backward asks the worker for the input gradients, so
`out.sum().backward()` fills `x.grad` here as it would in-process. Inputs the candidate changed in place
are changed here too (api.purity sees LC701), and its warnings are raised again here.

Every request is one of losscheck.suspect.protocol's. What the worker does wrong becomes an exception of the call,
never a crash or a hang of the judge (protocol.decode_reply and losscheck.suspect.supervisor: CallTimeout, WorkerLost,
CandidateError); a hang is recorded only by the audit's Caller (see the protocol's "The hang flag"). Within a check,
the calls after a lost worker fail at once with the same error (hypothesis shrinks without restarting it);
the next check gets a fresh worker (import and construction again), at most MAX_RESTARTS times an audit.
"""
from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field

import torch

from losscheck.errors import UsageError
from losscheck.suspect import protocol, wire
from losscheck.suspect.calls import CallTimeout
from losscheck.suspect.candidate import Candidate
from losscheck.suspect.protocol import CandidateError, WorkerLost, under_its_name
from losscheck.suspect.supervisor import Worker

MAX_RESTARTS = 30  # fresh workers per audit: one per check is enough for a candidate that crashes on every call


class Foreign:
    """What a call returned that is not a tensor with values (a float, a list, a meta-device tensor)."""

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text


class _RemoteGraph(torch.autograd.Function):
    """Joins a result computed in the worker to the judge's graph; backward asks the worker for gradients."""

    @staticmethod
    def forward(fctx, loss, call_id, value, *inputs):
        fctx.loss, fctx.call_id, fctx.shapes = loss, call_id, [(t.dtype, t.device) for t in inputs]
        return value.clone()

    @staticmethod
    def backward(fctx, grad):
        grads = fctx.loss.owner.request(protocol.Backward(fctx.call_id, wire.encode_tensor(grad.detach())))
        out = [None if g is None else wire.decode_tensor(g).to(dtype=dt, device=dev)
               for g, (dt, dev) in zip(grads, fctx.shapes)]
        return (None, None, None, *out)


class RemoteLoss:
    """One configuration of the candidate, built in the worker; calling it runs the candidate there."""

    def __init__(self, owner: "RemoteCandidate", kwargs: dict):
        self.owner, self.kwargs = owner, wire.encode(kwargs)
        self.handle, self.generation = None, None
        self._build()

    def _build(self) -> None:
        handle = next(self.owner.ids)
        self.owner.request(protocol.Make(handle, self.kwargs), wait=self.owner.start_wait)
        self.handle, self.generation = handle, self.owner.generation

    def __call__(self, *args):
        if self.generation != self.owner.generation:
            self._build()  # the worker was replaced: build this configuration again
        call_id = next(self.owner.ids)
        sent = [[_sent(t) for t in a] if isinstance(a, (list, tuple)) else _sent(a) for a in args]
        reply = self.owner.request(protocol.Call(self.handle, call_id, sent))
        tensors = wire.tensors_in(args)  # a list argument's chunks one by one, as the worker counts them
        for a, after in zip(tensors, reply.inputs_after):
            if after is not None:
                with torch.no_grad():
                    try:
                        a.copy_(wire.decode_tensor(after, str(a.device)))
                    except (RuntimeError, wire.WireError):
                        a.fill_(float("nan") if a.is_floating_point() else 0)
        for text in reply.warnings:
            warnings.warn(str(text), UserWarning, stacklevel=2)
        if reply.other is not None:
            type_name, text = reply.other
            return under_its_name(Foreign, type_name, text, fallback="object")
        d = reply.tensor
        if d.get("data") is None:
            return under_its_name(Foreign, "Tensor", f"a tensor on {d.get('device')} with no values (shape "
                                  f"{tuple(d.get('size', ()))})", fallback="object")
        value = wire.decode_tensor(d)
        needs = [a for a in tensors if a.requires_grad]
        if d.get("requires_grad") and needs:
            return _RemoteGraph.apply(self, call_id, value, *needs)
        return value


def _sent(a):
    """One argument (or one chunk of a list argument) as the Call request carries it: a tensor as a wire dict that
    says whether it requires grad (a chunk is a view of a tensor that does), anything else as it is."""
    if isinstance(a, torch.Tensor):
        return wire.encode_tensor(a.detach()) | {"requires_grad": a.requires_grad}
    return a


@dataclass
class RemoteCandidate(Candidate):
    """A Candidate whose object lives in the worker (see the module docstring)."""

    timeout: float = 10.0
    start_wait: float = 60.0
    memory_limit: int | None = None
    source: tuple = ()
    module: str = ""
    builtin: str | None = None
    guess: tuple = (None, "")
    arguments: list = field(default_factory=list)
    generation: int = 0
    restarts: int = 0
    lost: WorkerLost | None = None  # set when the worker is lost; the calls after it in the same check fail at once
    worker: Worker | None = None
    n_tensors: int | None = None

    def __post_init__(self):
        self.ids = itertools.count()

    @property
    def call_wait(self) -> float:
        return self.timeout + max(2.0, self.timeout / 2)

    def begin_check(self, seed: int) -> None:
        """A new check starts: a worker lost in the previous one is replaced, and torch's RNG is seeded there."""
        self.lost = None
        try:
            self.request(protocol.Seed(seed))
        except (WorkerLost, CallTimeout, CandidateError):
            pass  # the check's first call meets the same trouble and reports it

    def request(self, request, wait: float | None = None):
        """The value of the worker's reply to `request` (a fresh worker first if the last one was killed)."""
        if self.lost is not None:
            raise self.lost
        try:
            if self.worker.pid is None:
                self._restart()
            return self.worker.request(request, wait=wait or self.call_wait)
        except WorkerLost as e:
            self.worker.kill()
            self.lost = e
            raise
        except CallTimeout:
            self.worker.kill()
            raise

    def _restart(self) -> None:
        """A fresh worker with the candidate imported and prepared again (after a crash or a hang)."""
        if self.restarts >= MAX_RESTARTS:
            raise WorkerLost(f"the worker running the candidate was lost {self.restarts + 1} times; "
                             "no further calls are made")
        self.restarts += 1
        self.worker.kill()
        self.worker.start()
        self.worker.request(protocol.Resolve(), wait=self.start_wait)
        if self.n_tensors is not None:
            self.worker.request(protocol.Prepare(self.n_tensors), wait=self.start_wait)
        self.generation += 1

    def prepare(self, n_tensors: int) -> None:
        info = _starting(self, "constructing",
                         lambda: self.worker.request(protocol.Prepare(n_tensors), wait=self.start_wait))
        self.n_tensors = n_tensors
        self.parameters, self.arguments = dict(info.parameters), list(info.call_arguments)

    def make(self, kwargs: dict | None = None):
        return RemoteLoss(self, dict(kwargs or {}))

    def attribute(self, name: str):
        try:
            return self.request(protocol.Attribute(name))
        except (CandidateError, CallTimeout, WorkerLost):
            return None

    def call_arguments(self) -> list[str]:
        return list(self.arguments)

    def origin(self) -> tuple[str, str | None]:
        return self.module, self.builtin

    def guessed(self) -> tuple[str | None, str]:
        return self.guess

    def perform(self, caller, request):
        """Run a candidate op (losscheck.suspect.ops) in the worker; through `caller`, so that a hang is recorded
        where every other one is. A request that fails is the op's `failed` reply; one that carries a `wait` longer
        than the call limit (a compile) is waited for that much longer."""
        wait = getattr(request, "wait", 0.0)
        done = caller.call(self.request, request, wait=self.call_wait + wait if wait > self.timeout else None)
        if done.ok:
            return done.value
        return protocol.OPS[type(request)].reply.failed(f"{type(done.error).__name__}: {done.error}")

    def for_ranks(self):
        """What a torch.distributed rank needs to build the candidate itself (it never gets this object)."""
        kind, what, init = self.source
        return ("resolve", what, dict(init)) if kind == "target" else Candidate(
            target=self.target, obj=what, kind=self.kind, import_lines=self.import_lines, name=self.name,
            init=dict(init), parameters=dict(self.parameters))

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()


def _starting(candidate: RemoteCandidate, doing: str, step):
    """Run an import or construction step; what goes wrong there makes the target unusable (exit 2)."""
    try:
        return step()
    except CallTimeout:
        candidate.worker.kill()
        raise UsageError(f"{doing} {candidate.target} did not finish within {candidate.start_wait:g} s") from None
    except WorkerLost as e:
        raise UsageError(f"{doing} {candidate.target} failed: {e}") from None
    except CandidateError as e:
        raise UsageError(f"{doing} {candidate.target} failed: {type(e).__name__}: {e}") from None


def open_candidate(target, init: dict | None, *, timeout: float, start_wait: float,
                   memory_limit: int | None) -> RemoteCandidate:
    """Start a worker, import `target` there (a target string, or an object passed directly) and describe it."""
    source = ("target", target, dict(init or {})) if isinstance(target, str) else ("object", target, dict(init or {}))
    worker = Worker(source, timeout, memory_limit)
    shell = RemoteCandidate(target=str(target), obj=None, kind="", import_lines="", name="", init=dict(init or {}),
                            timeout=timeout, start_wait=start_wait, memory_limit=memory_limit, source=source,
                            worker=worker)
    try:  # the request starts the worker
        info = _starting(shell, "importing", lambda: worker.request(protocol.Resolve(), wait=start_wait))
    except BaseException:
        worker.close()
        raise
    shell.target, shell.kind, shell.name = info.target, info.kind, info.name
    shell.import_lines, shell.module, shell.builtin = info.import_lines, info.module, info.builtin_id
    shell.guess = tuple(info.guessed)
    shell.built, shell.search_path = info.built, list(info.search_path)
    shell.arguments = list(info.call_arguments)
    return shell
