"""The judge's side of the worker: a Candidate whose code lives in another process (losscheck.worker).

`RemoteCandidate` has the interface of losscheck.candidate.Candidate, so every check runs unchanged in the
audit process while the candidate is imported, constructed and called only in the worker. A call sends
the input tensors and gets back the result as data (losscheck.wire); when the result carries a graph, it
is wrapped in an autograd Function whose backward asks the worker for the input gradients, so
`out.sum().backward()` fills `x.grad` here as it would in-process. Inputs the candidate changed in place
are changed here too (api.purity sees LC701), and its warnings are raised again here.

What the worker does wrong becomes an exception of the call, never a crash or a hang of the judge:
CallTimeout when it does not answer within the time limit (it is killed), WorkerLost when it dies, exits
(with any code, 0 included), closes its pipe or sends something that is not plain data. Within a check,
the calls after a lost worker fail at once with the same error (hypothesis shrinks without restarting it);
the next check gets a fresh worker (import and construction again), at most MAX_RESTARTS times an audit.
"""
from __future__ import annotations

import itertools
import multiprocessing
import os
import shutil
import signal
import tempfile
import warnings
from dataclasses import dataclass, field

import torch

from losscheck import wire
from losscheck.calls import CallTimeout
from losscheck.candidate import Candidate
from losscheck.errors import UsageError
from losscheck.lifeline import how_it_ended

MAX_RESTARTS = 30  # fresh workers per audit: one per check is enough for a candidate that crashes on every call
LOG_TAIL = 300  # characters of the candidate's own output quoted when its worker dies


class WorkerLost(Exception):
    """The worker died, exited or broke the protocol during a request."""


class CandidateError(Exception):
    """An exception raised by candidate code in the worker, under the name of its own type."""


def _raised(type_name: str, message: str) -> CandidateError:
    name = "".join(ch for ch in str(type_name) if ch.isalnum() or ch == "_")[:60] or "Exception"
    return type(name, (CandidateError,), {})(message)


class Foreign:
    """What a call returned that is not a tensor with values (a float, a list, a meta-device tensor)."""

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text


def _foreign(type_name: str, text: str) -> Foreign:
    name = "".join(ch for ch in str(type_name) if ch.isalnum() or ch == "_")[:60] or "object"
    return type(name, (Foreign,), {})(text)


class Worker:
    """One worker process: started by fork, spoken to over a pipe, killed with its whole process group."""

    def __init__(self, source, timeout: float, memory_limit: int | None):
        self.source, self.timeout, self.memory_limit = source, timeout, memory_limit
        self.dir = tempfile.mkdtemp(prefix="losscheck-worker-")
        self.log = os.path.join(self.dir, "candidate-output.log")
        self.pid = self.conn = None

    def start(self) -> None:
        from losscheck import worker

        here, there = multiprocessing.Pipe(duplex=True)
        workdir = tempfile.mkdtemp(dir=self.dir, prefix="cwd-")
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            here.close()
            worker.main(there, self.source, self.timeout, workdir, self.log, self.memory_limit)
        there.close()
        self.pid, self.conn = pid, here
        LIVE.add(self)

    def request(self, *message, wait: float):
        """The payload of the worker's reply; raises what the candidate raised, CallTimeout or WorkerLost."""
        if self.pid is None:
            self.start()
        try:
            self.conn.send_bytes(wire.dumps(message))
        except (OSError, ValueError):
            raise WorkerLost(self._death()) from None
        if not self.conn.poll(wait):
            self.kill()
            raise CallTimeout(f"the call did not return within {wait:g} s and the worker had to be killed")
        try:
            reply = wire.loads(self.conn.recv_bytes())
        except (EOFError, OSError):
            raise WorkerLost(self._death()) from None
        except wire.WireError as e:
            self.kill()
            raise WorkerLost(f"the worker broke the protocol: {e}") from None
        if not isinstance(reply, tuple) or not reply or reply[0] not in ("ok", "error"):
            self.kill()
            raise WorkerLost("the worker broke the protocol: an unexpected reply")
        if reply[0] == "ok":
            return reply[1] if len(reply) > 1 else None
        kind, type_name, text = (tuple(reply[1:]) + ("", "", ""))[:3]
        if kind == "timeout":
            raise CallTimeout(str(text))
        if kind == "usage":
            raise UsageError(str(text))
        raise _raised(type_name, str(text))

    def _death(self) -> str:
        status = self._reap(wait=2.0)
        self.kill()
        said = self._log_tail()
        return (f"the worker running the candidate ended ({how_it_ended(status=status)}): the candidate crashed, exited "
                f"the interpreter or closed its channel" + (f"; its last output: {said}" if said else ""))

    def _log_tail(self) -> str:
        try:
            with open(self.log, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log) - LOG_TAIL))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return " ".join(text.split())[-LOG_TAIL:]

    def _reap(self, wait: float) -> int | None:
        import time

        deadline = time.monotonic() + wait
        while self.pid is not None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if pid:
                return status
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)
        return None

    def kill(self) -> None:
        """Kill the worker, its threads and every process in its group; forget them."""
        if self.pid is None:
            return
        for target in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
            try:
                target()
            except (ProcessLookupError, PermissionError, OSError):
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        try:
            self.conn.close()
        except OSError:
            pass
        self.pid = self.conn = None
        LIVE.discard(self)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


LIVE: set = set()  # workers to kill if the judge is told to stop (see stop_all)


def stop_all() -> None:
    for w in list(LIVE):
        w.kill()


class _RemoteGraph(torch.autograd.Function):
    """Joins a result computed in the worker to the judge's graph; backward asks the worker for gradients."""

    @staticmethod
    def forward(fctx, loss, call_id, value, *inputs):
        fctx.loss, fctx.call_id, fctx.shapes = loss, call_id, [(t.dtype, t.device) for t in inputs]
        return value.clone()

    @staticmethod
    def backward(fctx, grad):
        grads = fctx.loss.owner.request("backward", fctx.call_id, wire.encode_tensor(grad.detach()))
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
        self.owner.request("make", handle, self.kwargs, wait=self.owner.start_wait)
        self.handle, self.generation = handle, self.owner.generation

    def __call__(self, *args):
        if self.generation != self.owner.generation:
            self._build()  # the worker was replaced: build this configuration again
        call_id = next(self.owner.ids)
        sent = [wire.encode_tensor(a.detach()) | {"requires_grad": a.requires_grad} if isinstance(a, torch.Tensor)
                else a for a in args]
        reply = self.owner.request("call", self.handle, call_id, sent)
        for a, after in zip(args, reply.get("inputs_after", [])):
            if after is not None and isinstance(a, torch.Tensor):
                with torch.no_grad():
                    try:
                        a.copy_(wire.decode_tensor(after, str(a.device)))
                    except (RuntimeError, wire.WireError):
                        a.fill_(float("nan") if a.is_floating_point() else 0)
        for text in reply.get("warnings", []):
            warnings.warn(str(text), UserWarning, stacklevel=2)
        if "other" in reply:
            return _foreign(*reply["other"])
        d = reply["tensor"]
        if d.get("data") is None:
            return _foreign("Tensor", f"a tensor on {d.get('device')} with no values (shape "
                            f"{tuple(d.get('size', ()))})")
        value = wire.decode_tensor(d)
        needs = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
        if d.get("requires_grad") and needs:
            return _RemoteGraph.apply(self, call_id, value, *needs)
        return value


@dataclass
class RemoteCandidate(Candidate):
    """A Candidate whose object lives in the worker (see the module docstring)."""

    timeout: float = 10.0
    start_wait: float = 60.0
    memory_limit: int | None = None
    source: tuple = ()
    module: str = ""
    builtin: str | None = None
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
            self.request("seed", seed)
        except (WorkerLost, CallTimeout, CandidateError):
            pass  # the check's first call meets the same trouble and reports it

    def request(self, *message, wait: float | None = None):
        if self.lost is not None:
            raise self.lost
        try:
            if self.worker.pid is None:
                self._restart()
            return self.worker.request(*message, wait=wait or self.call_wait)
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
        self.worker.request("resolve", wait=self.start_wait)
        if self.n_tensors is not None:
            self.worker.request("prepare", self.n_tensors, wait=self.start_wait)
        self.generation += 1

    def prepare(self, n_tensors: int) -> None:
        info = _starting(self, "constructing", lambda: self.worker.request("prepare", n_tensors, wait=self.start_wait))
        self.n_tensors = n_tensors
        self.parameters, self.arguments = dict(info["parameters"]), list(info["call_arguments"])

    def make(self, kwargs: dict | None = None):
        return RemoteLoss(self, dict(kwargs or {}))

    def attribute(self, name: str):
        try:
            return self.request("attribute", name)
        except (CandidateError, CallTimeout, WorkerLost):
            return None

    def call_arguments(self) -> list[str]:
        return list(self.arguments)

    def origin(self) -> tuple[str, str | None]:
        return self.module, self.builtin

    def on_fake_cuda(self, caller, kwargs: dict, inputs: list) -> dict:
        try:
            return self.request("fake_cuda", kwargs, inputs)
        except CallTimeout as e:
            caller.hung = e
            return {"ok": False, "stage": "call", "error": f"CallTimeout: {e}", "device": None}
        except (WorkerLost, CandidateError) as e:
            return {"ok": False, "stage": "call", "error": f"{type(e).__name__}: {e}", "device": None}

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
    try:
        worker.start()
        info = _starting(shell, "importing", lambda: worker.request("resolve", wait=start_wait))
    except BaseException:
        worker.close()
        raise
    shell.target, shell.kind, shell.name = info["target"], info["kind"], info["name"]
    shell.import_lines, shell.module, shell.builtin = info["import_lines"], info["module"], info["builtin_id"]
    shell.arguments = list(info["call_arguments"])
    return shell
