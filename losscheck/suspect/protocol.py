"""The protocol between the judge and the suspect, declared once: what the judge may ask of the process that
runs the candidate (losscheck.suspect.worker), what each request gets back, and what a reply means here.

The op table
    `OPS` maps each request type to its `Op`: its name, its request fields (the dataclass below that the
    `op` decorator declares), the type of its reply, and its docstring. Nothing else may be sent: the worker
    serves exactly these ops (worker.HANDLERS; tests/test_protocol.py checks that the two agree). Requests
    are pickled as they are (the worker trusts the judge); tensors in them are `losscheck.suspect.wire`
    dicts. The worker serves one request at a time.

Replies
    `Done(value)`, where `value` is of the op's reply type, or `Failed(kind, type_name, message)` with kind
    RAISED (the candidate, or the op itself, raised), TIMEOUT (a call ran out of time), USAGE (the target
    cannot be used) or LEFT (the candidate left threads or processes running: losscheck.suspect.leftovers;
    the worker is replaced). The judge unpickles replies with wire.loads, which refuses every class but plain
    data and `REPLY_TYPES`, so nothing the candidate returns can run code in the judge. `decode_reply` is the
    one place a reply becomes a value or one of the exceptions: CallTimeout, WorkerLost (LeftRunning among them),
    CandidateError (under the name of the candidate's own type) or UsageError. losscheck.suspect.supervisor
    adds the failures only the judge sees (no reply in time: CallTimeout; the worker ended or broke the
    protocol: WorkerLost).

The hang flag
    One record says the candidate hung: `Caller.hung` of the audit's Caller (losscheck.suspect.calls), and
    only `Caller.call` sets it, whether the time limit was a SIGALRM in this process (--no-isolation) or a
    TIMEOUT decoded from the worker: every request a check makes goes through that Caller (calls of the loss
    directly, the candidate ops below through `Candidate.perform`). After a hang every later call fails at
    once and the remaining checks are skipped. The worker's own Caller bounds each call there; a worker that
    timed out is killed, so its flag dies with it. (RemoteCandidate.lost is not a hang: it is a worker lost
    within the current check, replaced at the next one.)

Adding an op
    Core ops (resolve to seed below) are the interface of losscheck.suspect.candidate.Candidate spoken over
    the pipe. A new check that must run the candidate in a special mode (fake CUDA today; torch.compile or
    autocast next) adds a candidate op, which runs wherever the candidate lives, in the worker or in this
    process under --no-isolation:
    1. here: a frozen dataclass for the request under `@op("name", reply=Reply)` with a docstring saying what
       it does, and the reply dataclass, whose classmethod `failed(error)` is the reply when the request could
       not be served (the worker hung, died or raised);
    2. losscheck/suspect/ops/<name>.py: `run(candidate, caller, request) -> Reply`, calling candidate code
       only through `caller.call` (its time limit, every exception caught);
    3. losscheck/suspect/ops/__init__.py: map the request type to that `run` in RUNS;
    4. in the check: `ctx.candidate.perform(ctx.caller, Request(...))`.
    tests/test_protocol.py then checks that the table, RUNS and the worker agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field, is_dataclass
from typing import Any

from losscheck.errors import UsageError
from losscheck.suspect.calls import CallTimeout

RAISED, TIMEOUT, USAGE, LEFT = "raised", "timeout", "usage", "left"  # Failed.kind


class WorkerLost(Exception):
    """The worker died, exited or broke the protocol during a request."""


class LeftRunning(WorkerLost):
    """The candidate started threads or processes and did not end them (named in the message); the worker that
    holds them is replaced."""


class CandidateError(Exception):
    """An exception raised by candidate code in the worker, under the name of its own type."""


def under_its_name(base: type, type_name: str, *args, fallback: str):
    """An instance of a fresh subclass of `base` named after one of the candidate's types: how the judge shows
    a foreign exception or result without holding the object (the name is reduced to an identifier)."""
    name = "".join(ch for ch in str(type_name) if ch.isalnum() or ch == "_")[:60] or fallback
    return type(name, (base,), {})(*args)


# -- the op table ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Op:
    """One request the judge may send: its name, request type (whose fields are its arguments) and reply type."""

    name: str
    request: type
    reply: type | tuple

    @property
    def doc(self) -> str:
        return self.request.__doc__ or ""


OPS: dict[type, Op] = {}


def op(name: str, *, reply: type | tuple):
    """Declare the decorated request dataclass as the op `name`, answered by a value of type `reply`."""
    def declare(request: type) -> type:
        OPS[request] = Op(name, request, reply)
        return request
    return declare


# -- reply types -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Done:
    """The request was served; `value` is of its op's reply type."""

    value: Any = None


@dataclass(frozen=True)
class Failed:
    """The request failed in the worker: `kind` is RAISED, TIMEOUT, USAGE or LEFT; the error's type name and
    the first line of its message."""

    kind: str
    type_name: str
    message: str

    @classmethod
    def of(cls, kind: str, error: BaseException) -> "Failed":
        text = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return cls(kind, type(error).__name__, text[:500])


@dataclass(frozen=True)
class Resolved:
    """What the judge knows of the candidate once the worker imported it (losscheck.suspect.candidate)."""

    target: str
    kind: str
    name: str
    import_lines: str
    module: str
    builtin_id: str | None
    call_arguments: list
    guessed: tuple = (None, "")  # (the id losscheck.tables.guessing finds, or None; why, or why none fits)
    built: str | None = None  # Candidate.built: how the reproducer builds an object passed directly
    search_path: tuple = ()   # Candidate.search_path: the folders the reproducer puts on sys.path


@dataclass(frozen=True)
class Prepared:
    """The candidate's own parameters (plain defaults) and the names of the arguments it is called with."""

    parameters: dict
    call_arguments: list


@dataclass(frozen=True)
class Called:
    """One call's outcome: the warnings it emitted, each input as it was after the call where the candidate
    changed it (else None), and the result: `tensor` (a wire dict) or `other` (its type name and text)."""

    warnings: list
    inputs_after: list
    tensor: dict | None = None
    other: tuple | None = None


@dataclass(frozen=True)
class OnFakeCuda:
    """A call on fake CUDA: whether it ran, the stage that failed ("make" or "call"), that failure's text, and
    the device type of the result (None when it is not a tensor or there is none)."""

    ok: bool
    stage: str
    error: str
    device: str | None

    @classmethod
    def failed(cls, error: str) -> "OnFakeCuda":
        return cls(False, "call", error, None)


@dataclass(frozen=True)
class UnderAutocast:
    """The outcomes of an Autocast request's runs, in its order: each a dict with `error` (the failure's text, or
    None), `value` (the result as float64, a wire dict) and `grads` (the gradients of the inputs at grad_args as
    float64 wire dicts, unscaled; None where unused), `scale` (the loss scale the gradients were taken at), `in_half` (the watched operations that ran in bf16/fp16)
    and `first_non_finite` (the first operation whose result was inf/nan from finite arguments, or None), and the
    same in any dtype: `ran` (the watched operations that ran) and `first_non_finite_any` (a float32 run's too)."""

    outcomes: list
    error: str = ""

    @classmethod
    def failed(cls, error: str) -> "UnderAutocast":
        return cls([], error)


@dataclass(frozen=True)
class Compiled:
    """A Compile request's outcome: `eager` and `compiled` (dicts: `value` and `grads` as float64 wire dicts, or
    `error`; `compiled` empty when the recompile limit stopped its first call), `graphs_run` (executions of a
    compiled graph: 0 means the loss ran eagerly), `graph_breaks` (reason -> count), `recompile_limit` (the error
    dynamo raised on reaching its limit, or None), `limit` (that limit) and `error` (the request could not run)."""

    eager: dict = field(default_factory=dict)
    compiled: dict = field(default_factory=dict)
    graphs_run: int = 0
    graph_breaks: dict = field(default_factory=dict)
    recompile_limit: str | None = None
    limit: int = 0
    error: str = ""

    @classmethod
    def failed(cls, error: str) -> "Compiled":
        return cls(error=error)


# -- request types: the ops --------------------------------------------------------------------------------

@dataclass(frozen=True)
class EmptyTensor:
    """A tensor sent as its shape and dtype only; the suspect makes it itself (empty, on a fake device)."""

    shape: tuple
    dtype: str

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))


@op("resolve", reply=Resolved)
@dataclass(frozen=True)
class Resolve:
    """Import the target (or take the object passed directly) and classify it."""


@op("prepare", reply=Prepared)
@dataclass(frozen=True)
class Prepare:
    """Read the parameters the candidate takes after its `n_tensors` tensor arguments (a class is built once,
    with its defaults and --init, to check that it can be)."""

    n_tensors: int


@op("make", reply=type(None))
@dataclass(frozen=True)
class Make:
    """Build one configuration of the loss from `kwargs` (wire-encoded) and keep it under `handle`."""

    handle: int
    kwargs: dict


@op("call", reply=Called)
@dataclass(frozen=True)
class Call:
    """Call the configuration kept under `handle` on `args` (wire-encoded, an argument a list of tensors where the
    loss takes an input in chunks; inputs that required grad require it again); the graph of the result is kept
    under `call_id` for a Backward, whose gradients (and Called.inputs_after) follow wire.tensors_in's order."""

    handle: int
    call_id: int
    args: list


@op("backward", reply=list)
@dataclass(frozen=True)
class Backward:
    """The gradients (wire dicts, None where unused) of call `call_id`'s result, weighted by `grad`, for the
    inputs that required grad."""

    call_id: int
    grad: dict


@op("attribute", reply=object)
@dataclass(frozen=True)
class Attribute:
    """A plain attribute of a default instance (losscheck.suspect.wire.plain of it, else None)."""

    name: str


@op("seed", reply=type(None))
@dataclass(frozen=True)
class Seed:
    """Seed torch's RNG in the worker (before each check)."""

    seed: int


@op("fake_cuda", reply=OnFakeCuda)
@dataclass(frozen=True)
class FakeCuda:
    """A candidate op: build the loss from `kwargs` and call it on `inputs`, every tensor (EmptyTensor, the
    module's parameters and buffers) a fake cuda:0 tensor under torch's FakeTensorMode (losscheck.suspect.ops.
    fake_cuda)."""

    kwargs: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)


@op("autocast", reply=UnderAutocast)
@dataclass(frozen=True)
class Autocast:
    """A candidate op: for each of `runs` (dicts: `kwargs` and `inputs` as wire dicts, `autocast` a dtype name or
    None, `scale` a loss scale), build the loss, call it on the inputs (the ones at `grad_args` requiring grad)
    under torch.autocast("cpu", dtype) when `autocast` is set, and take the gradient of its sum as a training
    step would: scaled by `scale`, halved until finite as GradScaler does (losscheck.suspect.ops.autocast)."""

    runs: tuple = ()
    grad_args: tuple = ()


@op("compile", reply=Compiled)
@dataclass(frozen=True)
class Compile:
    """A candidate op: build the loss from `kwargs`, run it eagerly on `inputs` (the ones at `grad_args` requiring
    grad), then under torch.compile with `backend` ("aot_eager" with dynamic shapes, or "inductor"), called `calls`
    times with dynamo failing on its recompile limit; under torch.autocast("cpu", `autocast`) when that is set
    (losscheck.suspect.ops.compiled). `wait`: the seconds a compiled call may take where that is more than the
    call limit (an inductor cold compile), and the judge waits for the reply accordingly."""

    kwargs: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)
    grad_args: tuple = ()
    backend: str = "aot_eager"
    autocast: str | None = None
    calls: int = 1
    wait: float = 0.0


REPLY_TYPES = frozenset({Done, Failed, *(o.reply for o in OPS.values() if is_dataclass(o.reply))})


def decode_reply(reply, request):
    """The value a reply to `request` carries, or the exception it stands for (WorkerLost for a reply that is
    not one the protocol allows)."""
    expected = OPS[type(request)].reply
    if isinstance(reply, Done) and isinstance(reply.value, expected):
        return reply.value
    if isinstance(reply, Failed):
        if reply.kind == TIMEOUT:
            raise CallTimeout(str(reply.message))
        if reply.kind == USAGE:
            raise UsageError(str(reply.message))
        if reply.kind == LEFT:
            raise LeftRunning(str(reply.message))
        raise under_its_name(CandidateError, reply.type_name, str(reply.message), fallback="Exception")
    raise WorkerLost("the worker broke the protocol: an unexpected reply")
