"""An input the candidate takes as a list of chunks along T (losscheck.judge.chunks, cross_entropy's convention
class_axis=last_chunked): the chunk lengths are torch.split's for every size drawn (a single chunk, chunks of one
token, a shorter last one), a call hands over views whose gradients gather into the whole tensor's, the list
crosses the wire to the worker and each chunk's gradient comes back, a finding's example and reproducer show the
list, and the audit finds the layout by itself or as declared, names the chunked mistakes (headlining the gradient
findings they explain, not the probe's domain finding), and costs nothing more for a loss that is not chunked (no
Chunked on its cases)."""
import math
import threading
from multiprocessing import Pipe

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.flattened_tokens import FlattenedChunksCrossEntropy, FlattenedChunksPaddingCounted
from fixtures.own_chunk_count import OwnChunkCountMeanPerChunk
from losscheck import audit
from losscheck.checks.registry import SENDS_WHOLE_TENSORS, WHOLE_TENSORS_ONLY
from losscheck.diagnosis.conventions import declare
from losscheck.diagnosis.grouping import group_findings
from losscheck.examples.classification import ChunkedCrossEntropy, ChunkMeanCrossEntropy, FloorChunksCrossEntropy
from losscheck.findings import Finding
from losscheck.judge.cases import Case, example_text
from losscheck.judge.chunks import Chunked, as_called, draw_chunks, listed, reproducer_lines, split_lengths
from losscheck.specs import SPECS
from losscheck.specs.classification import CHUNKED
from losscheck.suspect import protocol, wire, worker

LENGTHS = st.integers(0, 40)
SIZES = st.integers(1, 45)


@given(LENGTHS, SIZES)
def test_lengths_are_those_torch_split_gives(length, size):
    lengths = split_lengths(length, size)
    assert lengths == tuple(c.shape[0] for c in torch.zeros(length).split(size))
    assert sum(lengths) == length and len(lengths) == max(math.ceil(length / size), 1)
    assert all(n == size for n in lengths[:-1]) and 0 < lengths[-1] <= size or length == 0


@given(st.data(), st.integers(1, 12))
def test_a_drawn_chunking_covers_t_from_one_chunk_to_chunks_of_one_token(data, length):
    x = np.zeros((2, length, 3))
    drawn = draw_chunks(data.draw, CHUNKED, (x, np.zeros((2, length), dtype=np.int64)))
    assert sum(drawn.lengths) == length and drawn.lengths == drawn.lengths_of(x)
    assert drawn.lengths == split_lengths(length, drawn.lengths[0])


def test_the_draws_reach_a_single_chunk_chunks_of_one_token_and_a_shorter_last_one():
    seen = set()

    @given(st.data())
    def collect(data):
        seen.add(draw_chunks(data.draw, CHUNKED, (np.zeros((1, 5, 2)),)).lengths)

    collect()
    assert {(5,), (1,) * 5, (2, 2, 1)} <= seen


def test_no_chunking_leaves_a_case_alone_and_a_draw_without_t_is_one_chunk():
    x, t = np.zeros((3, 4)), np.zeros(3, dtype=np.int64)
    assert draw_chunks(None, None, (x, t)) is None
    assert as_called(None, (1, 2)) == [1, 2] and listed(None, (x, t))[0] is x
    assert Chunked().lengths_of(x) == () and len(listed(CHUNKED, (x, t))[0]) == 1
    assert reproducer_lines(None, ("input", "target"), (x, t)) == ""


def test_a_check_that_changes_t_gets_two_halves():
    assert Chunked(lengths=(2, 2)).lengths_of(np.zeros((1, 7, 3))) == (4, 3)


def chunked_mean(chunks, labels):
    """The correct chunked language-model cross entropy, as ChunkedCrossEntropy computes it."""
    return ChunkedCrossEntropy()(chunks, labels)


@settings(max_examples=20)  # autograd on each: 20 pairs reach every shape class (one chunk, ones, a shorter last)
@given(st.integers(1, 9), st.integers(1, 10))
def test_every_chunk_gradient_gathers_into_the_whole_tensor(length, size):
    torch.manual_seed(length * 11 + size)
    x = torch.randn(2, length, 4, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(0, 4, (2, length))
    labels[1, -1] = -100
    chunked = Chunked(lengths=split_lengths(length, size))
    args = as_called(chunked, (x, labels))
    assert isinstance(args[0], list) and [c.shape[1] for c in args[0]] == list(chunked.lengths)
    chunked_mean(*args).backward()
    whole = x.detach().clone().requires_grad_(True)
    F.cross_entropy(whole.reshape(-1, 4), labels.reshape(-1), ignore_index=-100).backward()
    assert torch.allclose(x.grad, whole.grad)


def test_the_example_and_the_reproducer_show_the_list():
    x, t = np.arange(12.0).reshape(1, 4, 3), np.zeros((1, 4), dtype=np.int64)
    case = Case((x, t), {}, "batch", "indices", chunked=Chunked(lengths=(3, 1)))
    text = example_text(case, ("input", "target"), "float32", listed(case.chunked, case.inputs))
    assert "input = [  # 2 chunks of shapes (1, 3, 3), (1, 1, 3)" in text
    lines = reproducer_lines(case.chunked, ("input", "target"), case.inputs)
    namespace = {"loss_fn": lambda chunks, target: [c.shape[1] for c in chunks]}
    exec(lines, namespace)
    assert namespace["loss_fn"](torch.zeros(1, 4, 3), None) == [3, 1]


@pytest.fixture
def chunk_worker():
    """The worker's Suspect serving a chunked loss on a pipe in a thread; `ask` sends a request, decodes the reply."""
    here, there = Pipe(duplex=True)
    suspect = worker.Suspect(("object", chunked_mean, {}), 5.0, ".")
    thread = threading.Thread(target=suspect.serve, args=(there,), daemon=True)
    thread.start()

    def ask(request):
        here.send_bytes(wire.dumps(request))
        return protocol.decode_reply(wire.loads(here.recv_bytes(), classes=protocol.REPLY_TYPES), request)

    yield ask
    here.close()
    thread.join(5)


def test_a_list_of_chunks_crosses_the_wire_and_each_chunk_gets_its_gradient(chunk_worker):
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    labels = torch.tensor([[0, 1, 2, 0, 1], [2, 2, 1, -100, -100]])
    chunks = list(x.split(2, dim=1))
    sent = [[wire.encode_tensor(c) | {"requires_grad": True} for c in chunks], wire.encode_tensor(labels)]
    assert [t.shape for t in wire.tensors_in(wire.decode(sent, grad=True))] == [c.shape for c in chunks] + [labels.shape]
    chunk_worker(protocol.Resolve())
    chunk_worker(protocol.Make(1, {}))
    called = chunk_worker(protocol.Call(1, 2, sent))
    want = x.detach().clone().requires_grad_(True)
    value = F.cross_entropy(want.reshape(-1, 3), labels.reshape(-1), ignore_index=-100)
    value.backward()
    assert wire.decode_tensor(called.tensor).item() == pytest.approx(value.item())
    grads = chunk_worker(protocol.Backward(2, wire.encode_tensor(torch.tensor(1.0, dtype=torch.float64))))
    assert len(grads) == len(chunks)
    assert torch.allclose(torch.cat([wire.decode_tensor(g) for g in grads], dim=1), want.grad)


def test_a_chunked_cross_entropy_is_found_and_audited_in_its_layout():
    result = audit(ChunkedCrossEntropy, as_="cross_entropy", max_examples=20)
    assert result.exit_code() == 0 and result.conventions["class_axis"] == "last_chunked"
    assert [f.code for f in result.findings if f.severity != "info"] == ["LC103"]
    declared = audit(ChunkedCrossEntropy, as_="cross_entropy", max_examples=20,
                     conventions={"class_axis": "last_chunked"}, precision=True, compile=True)
    assert [f.code for f in declared.findings if f.severity != "info"] == []
    whole = [c for c in declared.checks if c.family in SENDS_WHOLE_TENSORS]  # their ops cannot carry a list
    assert whole and all(c.status == "skip" and c.detail == WHOLE_TENSORS_ONLY for c in whole)
    builtin = audit("torch.nn.CrossEntropyLoss", max_examples=5, precision=True)
    assert all(c.detail != WHOLE_TENSORS_ONLY for c in builtin.checks)


def test_a_chunked_loss_that_flattens_each_chunk_is_judged_on_class_indices_only():
    """flatten(0, 1) runs on (N, C) probability targets handed over as one chunk, with values that are no cross
    entropy of them: before the class-last domains drew class indices only, the correct loss was red there (LC101,
    LC202, LC303, LC405, LC502, LC504 errors). Now it exits 0, and its twin that counts the padding is still named."""
    result = audit(FlattenedChunksCrossEntropy, as_="cross_entropy", max_examples=20)
    assert result.conventions["class_axis"] == "last_chunked" and result.exit_code() == 0
    assert [f.code for f in result.findings if f.severity != "info"] == ["LC103"]
    broken = audit(FlattenedChunksPaddingCounted, as_="cross_entropy", max_examples=20)
    assert broken.exit_code() == 1
    assert any(f.code == "LC102" and f.data.get("variant") == "ignored targets in the denominator"
               for f in broken.findings)


@pytest.mark.ddp
def test_the_ranks_hand_each_shard_its_chunks():
    result = audit(ChunkedCrossEntropy, as_="cross_entropy", max_examples=5, ddp=2,
                   conventions={"class_axis": "last_chunked"})
    ddp = next(c for c in result.checks if c.name == "device.ddp")
    assert ddp.status in ("pass", "fail") and not any("raised" in f.message for f in ddp.findings), ddp


@pytest.mark.parametrize("candidate, variant", [(ChunkMeanCrossEntropy, "mean per chunk then over chunks"),
                                                (FloorChunksCrossEntropy, "last partial chunk dropped")])
def test_a_chunked_mistake_exits_1_named_with_the_list_in_its_reproducer(candidate, variant):
    result = audit(candidate, as_="cross_entropy", max_examples=20)
    assert result.exit_code() == 1
    named = next(f for f in result.findings if f.code == "LC102" and f.data.get("variant") == variant)
    assert ".split([" in named.reproducer and "chunks of shapes" in named.example


def test_the_probes_domain_finding_does_not_take_the_gradient_findings_of_a_wrong_value():
    def finding(code, check, **data):
        return Finding(code, check, f"{code} message", example="", reproducer="", data=data)

    domain = finding("LC103", "api.call", variant="class_axis=last_chunked")
    wrong = finding("LC102", "value.reference", variant="last partial chunk dropped")
    gradient = finding("LC304", "gradient.reference")
    groups = {g.headline.code: [f.code for f in g.findings] for g in group_findings([domain, wrong, gradient])}
    assert groups["LC102"] == ["LC102", "LC304"] and groups["LC103"] == ["LC103"]


MUTATING = '''
import torch
import torch.nn.functional as F


class MutatingChunks(torch.nn.Module):
    """A chunked cross entropy that stabilises each chunk in place (outside autograd) before the loss."""

    def forward(self, chunks, labels):
        vocab = chunks[0].shape[-1]
        total = 0
        for c, lab in zip(chunks, labels.split([c.shape[1] for c in chunks], dim=1)):
            if not c.requires_grad:
                c.sub_(c.max())
            total = total + F.cross_entropy(c.reshape(-1, vocab), lab.reshape(-1), reduction="sum")
        return total / (labels != -100).sum()
'''


def test_a_chunk_changed_in_place_in_the_worker_changes_the_whole_tensor(tmp_path):
    (tmp_path / "mutating.py").write_text(MUTATING)
    result = audit(f"{tmp_path / 'mutating.py'}:MutatingChunks", as_="cross_entropy", max_examples=10,
                   conventions={"class_axis": "last_chunked"})
    assert [f.code for f in result.findings if f.severity == "error"] == ["LC701"]


def test_a_chunked_loss_that_runs_only_on_one_token_sequences_is_not_passed():
    """(N, 1, V) holds one chunk and no padding: a loss that takes nothing longer is not audited there (before, its
    mean per chunk passed on those alone); the class-last domains require multi-token sequences."""
    assert SPECS["cross_entropy"].required == ("batch", "spatial2d", "spatial3d")
    for value in ("last", "last_chunked"):
        assert declare(SPECS["cross_entropy"], {"class_axis": value})[0].required == ("spatial2d", "spatial3d")
    result = audit(OwnChunkCountMeanPerChunk, as_="cross_entropy", max_examples=10)
    assert result.exit_code() == 2 and result.unusable
