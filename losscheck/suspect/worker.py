"""The suspect's process: the only place where candidate code is imported, constructed and called.

The judge (losscheck.suspect.supervisor) starts this worker, through its keeper (losscheck.suspect.keeper: the
worker's parent is never the judge), before it has imported any candidate code. The worker moves into its own
session and process group and a working directory of its own, sends the candidate's stdout and stderr to a
log file, takes a memory limit and dies with the keeper, then serves the requests of losscheck.suspect.protocol,
one at a time, each by its handler in HANDLERS (the op table says what each does and gets back). Every
candidate call runs under losscheck.suspect.calls.Caller (a per-call time limit, warnings recorded). After each
request the worker looks for threads and processes the candidate started and did not end
(losscheck.suspect.leftovers); from the first request of a check on (not while the audit is set up: STARTING),
what it finds is the reply instead (protocol.LEFT).
"""
from __future__ import annotations

import collections
import faulthandler
import os
import pickle
import resource
import signal
import sys

import torch

from losscheck.errors import UsageError
from losscheck.suspect import protocol, wire
from losscheck.suspect.calls import Caller, CallTimeout
from losscheck.suspect.candidate import builtin_id, resolve, split_target, wrap
from losscheck.suspect.keeper import WATCHED
from losscheck.suspect.leftovers import Leftovers
from losscheck.suspect.lifeline import die_with_parent
from losscheck.suspect.ops import RUNS
from losscheck.suspect.protocol import Done, Failed

KEPT_GRAPHS = 16  # the last calls whose graphs stay alive for a backward request
# The requests that set the audit up (import, construction, the binding's reads of attributes) must succeed
# for it to run: what they leave running is reported with the next request instead.
STARTING = (protocol.Resolve, protocol.Prepare, protocol.Attribute)


def _confine(keeper: int, workdir: str, log: str, memory_limit: int | None) -> None:
    """Own session and process group, death with the `keeper`, default signal handling (the keeper blocked them
    all), stdio to `log`, cwd `workdir` (the user's stays importable)."""
    os.setsid()
    die_with_parent(parent=keeper)
    faulthandler.disable()  # a native crash is the judge's LC706 to report, not a dump on the user's terminal
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, WATCHED)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.close(null)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    os.chdir(workdir)
    if memory_limit:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        except (ValueError, OSError):
            pass


class Suspect:
    """The worker's state: the candidate, the configurations built from it and the graphs kept alive.

    Each handler takes its request and returns the op's reply value, or a Failed."""

    def __init__(self, source, timeout: float, origin: str):
        self.source, self.origin, self.candidate = source, origin, None
        self.caller = Caller(timeout)
        self.made: dict = {}
        self.graphs: collections.OrderedDict = collections.OrderedDict()

    def resolve(self, request: protocol.Resolve):
        kind, what, init = self.source
        try:
            if kind == "target":
                self.candidate = resolve(absolute(what, self.origin), init)
                self.candidate.target = what
            else:
                self.candidate = wrap(what, init)
        except UsageError as e:
            return Failed.of(protocol.USAGE, e)
        c = self.candidate
        module = getattr(c.obj, "__module__", None) or type(c.obj).__module__
        return protocol.Resolved(target=c.target, kind=c.kind, name=c.name, import_lines=c.import_lines,
                                 module=str(module), builtin_id=builtin_id(c.obj), call_arguments=c.call_arguments(),
                                 guessed=c.guessed(), built=c.built, search_path=tuple(c.search_path))

    def prepare(self, request: protocol.Prepare):
        try:
            self.candidate.prepare(request.n_tensors)
        except UsageError as e:
            return Failed.of(protocol.USAGE, e)
        c = self.candidate
        return protocol.Prepared(parameters={k: wire.plain(v) for k, v in c.parameters.items()},
                                 call_arguments=c.call_arguments())

    def make(self, request: protocol.Make):
        made = self.caller.call(self.candidate.make, wire.decode(request.kwargs))
        if not made.ok:
            return _failed(made)
        self.made[request.handle] = made.value
        return None

    def call(self, request: protocol.Call):
        args = wire.decode(request.args, grad=True)
        tensors = wire.tensors_in(args)  # a list argument's chunks one by one
        grad_inputs = [t for t in tensors if t.requires_grad]
        before = [t.detach().clone() for t in tensors]
        out = self.caller.call(self.made[request.handle], *args)
        if not out.ok:
            return _failed(out)
        value = out.value
        after = [None if torch.equal(t.detach(), b) else wire.encode_tensor(t.detach())
                 for t, b in zip(tensors, before)]
        warned = [str(w.message)[:300] for w in out.warnings]
        if not isinstance(value, torch.Tensor):
            return protocol.Called(warned, after, other=(type(value).__name__, str(value)[:60]))
        if value.requires_grad and grad_inputs:
            self.graphs[request.call_id] = (value, grad_inputs)
            while len(self.graphs) > KEPT_GRAPHS:
                self.graphs.popitem(last=False)
        return protocol.Called(warned, after, tensor=wire.encode_tensor(value))

    def backward(self, request: protocol.Backward):
        if request.call_id not in self.graphs:
            return Failed(protocol.RAISED, "RuntimeError", "the graph of this call is no longer kept")
        value, inputs = self.graphs.pop(request.call_id)
        done = self.caller.call(torch.autograd.grad, value, inputs, wire.decode(request.grad), allow_unused=True)
        if not done.ok:
            return _failed(done)
        return [None if g is None else wire.encode_tensor(g) for g in done.value]

    def seed(self, request: protocol.Seed):
        torch.manual_seed(request.seed)
        return None

    def attribute(self, request: protocol.Attribute):
        return wire.plain(self.candidate.attribute(request.name))

    def perform(self, request):
        """A candidate op (losscheck.suspect.ops), run on the candidate here under this worker's Caller."""
        return self.candidate.perform(self.caller, request)

    def serve(self, conn) -> None:
        """Answer requests until the judge closes the pipe: a handler's value as Done, its Failed as it is, what
        the candidate left running as a Failed of kind LEFT."""
        leftovers = Leftovers()
        while True:
            try:
                request = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                return
            handler = HANDLERS.get(type(request))
            try:
                if handler is None:
                    raise TypeError(f"no op takes a {type(request).__name__}")
                value = handler(self, request)
                reply = value if isinstance(value, Failed) else Done(value)
            except BaseException as e:  # noqa: BLE001 - a defect here is reported, never a hang of the judge
                reply = Failed.of(protocol.RAISED, e)
            left = leftovers.after("import" if isinstance(request, protocol.Resolve)
                                   else getattr(protocol.OPS.get(type(request)), "name", "an unknown request"))
            timed_out = isinstance(reply, Failed) and reply.kind == protocol.TIMEOUT  # the worker goes anyway
            if left and not timed_out and type(request) not in STARTING:
                reply = Failed(protocol.LEFT, "LeftRunning", "the candidate started and did not end: "
                               + "; ".join(left)[:400])
            try:
                data = wire.dumps(reply)
            except Exception as e:  # noqa: BLE001 - a reply that does not pickle (a strange attribute)
                data = wire.dumps(Failed.of(protocol.RAISED, e))
            conn.send_bytes(data)


HANDLERS = {  # the worker's side of protocol.OPS: one handler per request type
    protocol.Resolve: Suspect.resolve,
    protocol.Prepare: Suspect.prepare,
    protocol.Make: Suspect.make,
    protocol.Call: Suspect.call,
    protocol.Backward: Suspect.backward,
    protocol.Attribute: Suspect.attribute,
    protocol.Seed: Suspect.seed,
    **dict.fromkeys(RUNS, Suspect.perform),
}


def _failed(result) -> Failed:
    """The reply for a failed calls.CallResult: TIMEOUT when it ran out of time, else RAISED."""
    return Failed.of(protocol.TIMEOUT if isinstance(result.error, CallTimeout) else protocol.RAISED, result.error)


def absolute(target: str, origin: str) -> str:
    """A file-path target made absolute against the user's directory (the worker runs in one of its own)."""
    where, attr = split_target(target)
    if not (where.endswith(".py") or os.sep in where) or os.path.isabs(where):
        return target
    return os.path.join(origin, where) + (f":{attr}" if attr else "")


def serve_forked(conn, source, timeout: float, workdir: str, log: str, memory_limit: int | None, keeper: int) -> None:
    """The worker's body after the `keeper` forked it: confine, serve, and leave without waiting for the
    candidate's threads."""
    code = 0
    try:
        origin = os.getcwd()
        _confine(keeper, workdir, log, memory_limit)
        Suspect(source, timeout, origin).serve(conn)
    except BaseException:  # noqa: BLE001
        code = 70
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001 - the candidate may have closed them
            pass
        os._exit(code)
