"""The suspect's process: the only place where candidate code is imported, constructed and called.

The judge (losscheck.suspect.remote) forks this worker before it has imported any candidate code. The worker moves
into its own process group and a working directory of its own, sends the candidate's stdout and stderr to a
log file, takes a memory limit and dies with its parent, then serves requests, one at a time:

    ("resolve",)                        import the target and classify it
    ("prepare", n_tensors)              its parameters and call arguments (a class is built once)
    ("make", handle, kwargs)            build one configuration of the loss, kept under `handle`
    ("call", handle, call_id, args)     call it on tensors; the graph is kept for ("backward", ...)
    ("backward", call_id, grad)         gradients of that call's result for the inputs that required grad
    ("attribute", name)                 a plain attribute of a default instance
    ("seed", seed)                      seed torch's RNG (before each check)
    ("fake_cuda", kwargs, inputs)       a call with every tensor a fake cuda:0 tensor (FakeTensorMode)

Each reply is ("ok", payload) or ("error", kind, type name, message) with kind "raised", "timeout" or
"usage". Every candidate call runs under losscheck.suspect.calls.Caller (a per-call time limit, warnings recorded).
"""
from __future__ import annotations

import collections
import faulthandler
import os
import pickle
import resource
import signal
import sys

from losscheck.suspect import wire
from losscheck.suspect.lifeline import die_with_parent

KEPT_GRAPHS = 16  # the last calls whose graphs stay alive for a backward request


def _confine(workdir: str, log: str, memory_limit: int | None) -> None:
    """Own process group, death with the parent, stdio to `log`, cwd `workdir` (the user's stays importable)."""
    os.setpgid(0, 0)
    die_with_parent()
    faulthandler.disable()  # a native crash is the judge's LC706 to report, not a dump on the user's terminal
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
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


def _error(kind: str, error: BaseException) -> tuple:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return ("error", kind, type(error).__name__, text[:500])


class Suspect:
    """The worker's state: the candidate, the configurations built from it and the graphs kept alive."""

    def __init__(self, source, timeout: float, origin: str):
        from losscheck.suspect.calls import Caller

        self.source, self.origin, self.candidate = source, origin, None
        self.caller = Caller(timeout)
        self.made: dict = {}
        self.graphs: collections.OrderedDict = collections.OrderedDict()

    def _failed(self, result):
        """The error reply for a failed calls.CallResult."""
        from losscheck.suspect.calls import CallTimeout

        return _error("timeout" if isinstance(result.error, CallTimeout) else "raised", result.error)

    def resolve(self):
        from losscheck.suspect.candidate import builtin_id, resolve, wrap
        from losscheck.errors import UsageError

        kind, what, init = self.source
        try:
            if kind == "target":
                self.candidate = resolve(absolute(what, self.origin), init)
                self.candidate.target = what
            else:
                self.candidate = wrap(what, init)
        except UsageError as e:
            return _error("usage", e)
        c = self.candidate
        module = getattr(c.obj, "__module__", None) or type(c.obj).__module__
        return ("ok", {"target": c.target, "kind": c.kind, "name": c.name, "import_lines": c.import_lines,
                       "module": str(module), "builtin_id": builtin_id(c.obj), "call_arguments": c.call_arguments()})

    def prepare(self, n_tensors):
        from losscheck.errors import UsageError

        try:
            self.candidate.prepare(n_tensors)
        except UsageError as e:
            return _error("usage", e)
        c = self.candidate
        return ("ok", {"parameters": {k: wire.plain(v) for k, v in c.parameters.items()},
                       "call_arguments": c.call_arguments()})

    def make(self, handle, kwargs):
        made = self.caller.call(self.candidate.make, wire.decode(kwargs))
        if not made.ok:
            return self._failed(made)
        self.made[handle] = made.value
        return ("ok", None)

    def call(self, handle, call_id, args):
        import torch

        tensors = wire.decode(args, grad=True)
        grad_inputs = [t for t in tensors if isinstance(t, torch.Tensor) and t.requires_grad]
        before = [t.detach().clone() for t in tensors]
        out = self.caller.call(self.made[handle], *tensors)
        if not out.ok:
            return self._failed(out)
        value = out.value
        after = [None if torch.equal(t.detach(), b) else wire.encode_tensor(t.detach())
                 for t, b in zip(tensors, before)]
        reply = {"warnings": [str(w.message)[:300] for w in out.warnings], "inputs_after": after}
        if isinstance(value, torch.Tensor):
            reply["tensor"] = wire.encode_tensor(value)
            if value.requires_grad and grad_inputs:
                self.graphs[call_id] = (value, grad_inputs)
                while len(self.graphs) > KEPT_GRAPHS:
                    self.graphs.popitem(last=False)
        else:
            reply["other"] = (type(value).__name__, str(value)[:60])
        return ("ok", reply)

    def backward(self, call_id, grad):
        import torch

        if call_id not in self.graphs:
            return ("error", "raised", "RuntimeError", "the graph of this call is no longer kept")
        value, inputs = self.graphs.pop(call_id)
        done = self.caller.call(torch.autograd.grad, value, inputs, wire.decode(grad), allow_unused=True)
        if not done.ok:
            return self._failed(done)
        return ("ok", [None if g is None else wire.encode_tensor(g) for g in done.value])

    def seed(self, seed):
        import torch

        torch.manual_seed(seed)
        return ("ok", None)

    def attribute(self, name):
        return ("ok", wire.plain(self.candidate.attribute(name)))

    def fake_cuda(self, kwargs, inputs):
        from losscheck.suspect.fake_cuda import call_on_fake_cuda

        return ("ok", call_on_fake_cuda(self.candidate, self.caller, kwargs, inputs))

    def serve(self, conn) -> None:
        while True:
            try:
                request = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                return
            op, args = request[0], request[1:]
            if op == "quit":
                return
            try:
                reply = getattr(self, op)(*args)
            except BaseException as e:  # noqa: BLE001 - a defect here is reported, never a hang of the judge
                reply = _error("raised", e)
            try:
                data = wire.dumps(reply)
            except Exception as e:  # noqa: BLE001 - a reply that does not pickle (a strange attribute)
                data = wire.dumps(_error("raised", e))
            conn.send_bytes(data)


def absolute(target: str, origin: str) -> str:
    """A file-path target made absolute against the user's directory (the worker runs in one of its own)."""
    from losscheck.suspect.candidate import split_target

    where, attr = split_target(target)
    if not (where.endswith(".py") or os.sep in where) or os.path.isabs(where):
        return target
    return os.path.join(origin, where) + (f":{attr}" if attr else "")


def main(conn, source, timeout: float, workdir: str, log: str, memory_limit: int | None) -> None:
    """The worker's body after fork: confine, serve, and leave without waiting for the candidate's threads."""
    code = 0
    try:
        origin = os.getcwd()
        _confine(workdir, log, memory_limit)
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
