"""The judge-suspect protocol (losscheck.suspect.protocol): the op table is complete, requests and replies cross
the pipe, and a reply decodes into one value or one exception."""
import pickle
import threading
from dataclasses import dataclass, is_dataclass
from multiprocessing import Pipe

import pytest
import torch

from losscheck.errors import UsageError
from losscheck.suspect import protocol, wire, worker
from losscheck.suspect.calls import Caller, CallTimeout
from losscheck.suspect.candidate import wrap
from losscheck.suspect.ops import RUNS
from losscheck.suspect.protocol import (OPS, Attribute, Autocast, Backward, Call, Called, CandidateError, Compile,
                                        Compiled, Done,
                                        EmptyTensor, Failed, FakeCuda, Make, OnFakeCuda, Prepare, Prepared, Resolve,
                                        Resolved, Seed, UnderAutocast, WorkerLost, decode_reply)

REQUESTS = {  # one example of each op's request
    Resolve: Resolve(),
    Prepare: Prepare(2),
    Make: Make(3, {"reduction": "sum", "weight": wire.encode_tensor(torch.ones(2))}),
    Call: Call(3, 4, [wire.encode_tensor(torch.ones(2)) | {"requires_grad": True}, 1.5]),
    Backward: Backward(4, wire.encode_tensor(torch.tensor(1.0))),
    Attribute: Attribute("eps"),
    Seed: Seed(7),
    FakeCuda: FakeCuda({"weight": EmptyTensor((2,), "float32")}, [EmptyTensor((2, 3), "float32"), 1]),
    Autocast: Autocast(({"kwargs": {}, "inputs": [wire.encode_tensor(torch.ones(2, dtype=torch.bfloat16))],
                         "autocast": "bfloat16", "scale": 1.0},), (0,)),
    Compile: Compile({}, [wire.encode_tensor(torch.ones(2)), wire.encode_tensor(torch.zeros(2))], (0,)),
}

REPLIES = {  # one example of each op's reply value
    Resolve: Resolved("m:f", "function", "f", "from m import f", "m", None, ["input", "target"]),
    Prepare: Prepared({"reduction": "mean", "eps": 1e-6}, ["input", "target"]),
    Make: None,
    Call: Called(["careful"], [None, wire.encode_tensor(torch.zeros(2))], tensor=wire.encode_tensor(torch.tensor(2.0))),
    Backward: [wire.encode_tensor(torch.ones(2)), None],
    Attribute: 0.5,
    Seed: None,
    FakeCuda: OnFakeCuda(True, "call", "", "cuda"),
    Autocast: UnderAutocast([{"error": None, "value": wire.encode_tensor(torch.tensor(1.0, dtype=torch.float64)),
                              "grads": [None], "scale": 1.0, "in_half": ["sum"], "first_non_finite": None}]),
    Compile: Compiled({"value": wire.encode_tensor(torch.tensor(1.0, dtype=torch.float64)), "grads": [None]},
                      {"value": wire.encode_tensor(torch.tensor(1.0, dtype=torch.float64)), "grads": [None]}, 1, {},
                      None, 8),
}


def test_every_declared_op_is_served_and_every_served_op_declared():
    assert set(worker.HANDLERS) == set(OPS)
    assert set(REQUESTS) == set(OPS) == set(REPLIES)


def test_each_op_has_a_name_a_reply_type_and_a_docstring():
    names = [op.name for op in OPS.values()]
    assert len(set(names)) == len(names)
    assert {"resolve", "prepare", "make", "call", "backward", "attribute", "seed", "fake_cuda"} <= set(names)
    for request, op in OPS.items():
        assert op.request is request and op.doc.strip(), op.name
        assert isinstance(REPLIES[request], op.reply), op.name


def test_candidate_ops_are_declared_and_can_say_they_failed():
    assert RUNS and set(RUNS) <= set(OPS)
    for request in RUNS:
        reply = OPS[request].reply
        failed = reply.failed("CallTimeout: too slow")
        assert isinstance(failed, reply) and is_dataclass(reply)


@pytest.mark.parametrize("request_type", list(REQUESTS), ids=lambda r: OPS[r].name)
def test_a_request_and_its_reply_cross_the_pipe(request_type):
    request = REQUESTS[request_type]
    assert pickle.loads(wire.dumps(request)) == request  # the worker reads requests with pickle
    reply = Done(REPLIES[request_type])
    back = wire.loads(wire.dumps(reply), classes=protocol.REPLY_TYPES)  # the judge, with its plain unpickler
    assert back == reply and decode_reply(back, request) == REPLIES[request_type]


@dataclass(frozen=True)
class NotAReply:
    text: str


def test_the_judge_refuses_classes_that_are_not_replies():
    with pytest.raises(wire.WireError, match="NotAReply"):
        wire.loads(wire.dumps(Done(NotAReply("x"))), classes=protocol.REPLY_TYPES)
    with pytest.raises(wire.WireError, match="not plain data"):  # without `classes`, none at all
        wire.loads(wire.dumps(Done(None)))


def test_a_failed_reply_decodes_into_its_exception():
    with pytest.raises(CallTimeout, match="too slow"):
        decode_reply(Failed(protocol.TIMEOUT, "CallTimeout", "too slow"), Call(1, 2, []))
    with pytest.raises(UsageError, match="cannot import"):
        decode_reply(Failed(protocol.USAGE, "UsageError", "cannot import m"), Resolve())
    with pytest.raises(CandidateError, match="boom") as raised:
        decode_reply(Failed(protocol.RAISED, "My Error!", "boom"), Call(1, 2, []))
    assert type(raised.value).__name__ == "MyError"


@pytest.mark.parametrize("reply", [("ok", None), Done(Resolved("", "", "", "", "", None, [])), None],
                         ids=["a tuple", "another op's reply", "nothing"])
def test_a_reply_the_protocol_does_not_allow_is_a_lost_worker(reply):
    with pytest.raises(WorkerLost, match="broke the protocol"):
        decode_reply(reply, Call(1, 2, []))


def test_a_foreign_name_is_reduced_to_an_identifier():
    assert type(protocol.under_its_name(CandidateError, "a.b<c>", "x", fallback="Exception")).__name__ == "abc"
    assert type(protocol.under_its_name(CandidateError, "...", "x", fallback="Exception")).__name__ == "Exception"


def loss(input, target, scale=1.0):
    return ((input - target) ** 2).mean() * scale


@pytest.fixture
def served():
    """The worker's Suspect serving a pipe in a thread (no fork); `ask` sends a request and decodes the reply."""
    here, there = Pipe(duplex=True)
    suspect = worker.Suspect(("object", loss, {}), 5.0, ".")
    thread = threading.Thread(target=suspect.serve, args=(there,), daemon=True)
    thread.start()

    def ask(request, raw=False):
        here.send_bytes(wire.dumps(request))
        reply = wire.loads(here.recv_bytes(), classes=protocol.REPLY_TYPES)
        return reply if raw else decode_reply(reply, request)

    yield ask
    here.close()
    thread.join(5)


def test_the_worker_serves_the_table(served):
    assert served(Resolve()).kind == "function"
    assert served(Prepare(2)).parameters == {"scale": 1.0}
    assert served(Make(1, {"scale": 2.0})) is None
    x = wire.encode_tensor(torch.tensor([1.0, 2.0])) | {"requires_grad": True}
    called = served(Call(1, 10, [x, wire.encode_tensor(torch.zeros(2))]))
    assert wire.decode_tensor(called.tensor).item() == pytest.approx(5.0)
    grads = served(Backward(10, wire.encode_tensor(torch.tensor(1.0))))
    assert torch.equal(wire.decode_tensor(grads[0]), torch.tensor([2.0, 4.0]))
    assert served(Seed(3)) is None and served(Attribute("scale")) is None
    with pytest.raises(CandidateError, match="no longer kept"):
        served(Backward(10, wire.encode_tensor(torch.tensor(1.0))))
    reply = served(NotAReply("x"), raw=True)
    assert isinstance(reply, Failed) and "no op takes a NotAReply" in reply.message


def test_a_candidate_op_runs_the_same_in_process_and_in_the_worker(served):
    request = FakeCuda({}, [EmptyTensor((2, 3), "float32"), EmptyTensor((2, 3), "float32")])
    served(Resolve())
    assert served(request) == wrap(loss).perform(Caller(5.0), request) == OnFakeCuda(True, "call", "", "cuda")
