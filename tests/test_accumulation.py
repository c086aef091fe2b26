"""reduction.accumulation: the batch cut into micro-batches as a gradient-accumulation loop cuts it, the candidate's
micro-batch losses accumulated as its reduction implies, compared with the full batch (LC406, LC407).

The fixtures are the losses the check is about: a causal LM loss that takes num_items_in_batch and ignores it (the
2024 trainer bug: an error, named), the same loss dividing by it (clean, also in the labels-already-shifted form),
one whose value follows the count but whose gradient does not (an error), and the plain per-batch means of torch
(cross_entropy and nll trained with ignore_index: an info finding saying how to accumulate exactly, exit 0). Where
the per-micro-batch mean is exact (MSE; a cross-entropy that masks nothing) the check says nothing.
"""
from __future__ import annotations

import functools
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from losscheck import audit
from losscheck.checks.accumulation import CHECK_NAME, GLOBAL_COUNT, accumulation
from losscheck.checks.probe import probe
from losscheck.examples.language import MicroBatchMeanLMLoss, correct_causal_lm, lm_loss
from losscheck.judge.batches import batch_axes, joined, split, tiled_batch
from losscheck.judge.cases import Case
from losscheck.judge.context import Context
from losscheck.judge.engine import pick_spec, run_check
from losscheck.judge.state import AuditState
from losscheck.specs import SPECS
from losscheck.specs.forms import choose
from losscheck.suspect.calls import Caller
from losscheck.suspect.candidate import wrap


# -- fixtures ------------------------------------------------------------------------------------------------------

def lm_loss_with_count(logits, shift_labels, num_items_in_batch=None, ignore_index=-100):
    """Correct: transformers' ForCausalLMLoss given shift_labels, 'sum' / num_items_in_batch when it is given."""
    reduction = "sum" if num_items_in_batch is not None else "mean"
    loss = F.cross_entropy(logits.flatten(0, 1), shift_labels.flatten(), ignore_index=ignore_index,
                           reduction=reduction)
    return loss / num_items_in_batch if num_items_in_batch is not None else loss


def lm_loss_count_in_value_only(logits, labels, num_items_in_batch=None, ignore_index=-100):
    """Defect: the value is 'sum' / num_items_in_batch, but the gradient is the per-micro-batch mean's (the global
    normalisation applied to a detached copy)."""
    losses = F.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(), ignore_index=ignore_index,
                             reduction="none")
    mean = losses.sum() / (labels[:, 1:] != ignore_index).sum()
    if num_items_in_batch is None:
        return mean
    return mean + (losses.sum() / num_items_in_batch - mean).detach()


def cross_entropy_without_ignore_index(input, target):
    """Correct: a cross-entropy that masks nothing (its mean is over every sample: exact over equal micro-batches)."""
    return F.cross_entropy(input, target)


# -- helpers -------------------------------------------------------------------------------------------------------

def run_accumulation(obj, as_=None, *, init=None, max_examples=10, seed=0):
    """Only reduction.accumulation (after the probe, as in a full audit), in this process."""
    candidate = wrap(obj, init)
    spec = choose(pick_spec(candidate, as_), candidate)  # a call form, as the engine picks it
    candidate.prepare(len(spec.signature))
    ctx = Context(candidate, AuditState.begin(spec, candidate), Caller(10.0), seed, max_examples)
    run_check(ctx, probe)
    return run_check(ctx, accumulation)


@functools.cache
def micro_batch_mean():
    """The check on MicroBatchMeanLMLoss, run once for the tests that read it (the audit seed makes it the same)."""
    return run_accumulation(MicroBatchMeanLMLoss, "causal_lm")


def only(result):
    (finding,) = result.findings
    return finding


# -- the check -----------------------------------------------------------------------------------------------------

def test_a_count_taken_and_ignored_is_an_error_named_per_micro_batch_mean():
    result = micro_batch_mean()
    finding = only(result)
    assert result.status == "fail" and finding.code == "LC406" and finding.severity == "error"
    assert "per-micro-batch mean" in finding.message and f"{GLOBAL_COUNT}=" in finding.message
    assert "but one set to ignore_index=-100" in finding.message  # the padding concentrated in one micro-batch
    assert finding.data["accumulated"] != pytest.approx(finding.data["full_batch"])


def test_the_reproducer_shows_the_accumulated_loss_apart_from_the_full_batch(tmp_path):
    finding = only(micro_batch_mean())
    script = tmp_path / "repro.py"
    script.write_text(finding.reproducer)
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    line = next(x for x in run.stdout.splitlines() if x.startswith("full batch:"))
    full, accumulated = float(line.split()[2]), float(line.split()[-1])
    assert full == pytest.approx(finding.data["full_batch"])
    assert accumulated == pytest.approx(finding.data["accumulated"])


@pytest.mark.parametrize("obj", [correct_causal_lm, lm_loss_with_count], ids=["labels", "shift_labels"])
def test_num_items_in_batch_normalisation_passes_on_equal_and_unequal_micro_batches(obj):
    result = run_accumulation(obj, "causal_lm")
    assert result.status == "pass" and result.findings == [], [f.message for f in result.findings]
    assert "equal and unequal sizes" in result.detail and "ignored targets concentrated" in result.detail


def test_a_gradient_that_ignores_the_count_is_an_error():
    finding = only(run_accumulation(lm_loss_count_in_value_only, "causal_lm"))
    assert finding.code == "LC406" and "gradient of logits" in finding.message


TRAINS_WITH_IGNORE_INDEX = {"ignore_index": -100}  # --init: a cross-entropy used with padding, as device.ddp asks


@pytest.mark.parametrize("obj, as_, init", [(lm_loss, "causal_lm", None),
                                            (torch.nn.CrossEntropyLoss, None, TRAINS_WITH_IGNORE_INDEX),
                                            (torch.nn.NLLLoss, None, TRAINS_WITH_IGNORE_INDEX)],
                         ids=["lm_loss", "CrossEntropyLoss", "NLLLoss"])
def test_a_plain_mean_over_kept_items_gets_the_advice_as_info(obj, as_, init):
    finding = only(run_accumulation(obj, as_, init=init))
    assert finding.code == "LC407" and finding.severity == "info"
    assert "reduction='sum'" in finding.message and "global count" in finding.message
    assert "but one set to ignore_index=-100" in finding.message  # the padding concentrated in one micro-batch


@pytest.mark.parametrize("obj, as_, status", [(torch.nn.MSELoss, None, "skip"),
                                              (torch.nn.BCEWithLogitsLoss, None, "skip"),
                                              (torch.nn.CrossEntropyLoss, None, "pass"),
                                              (cross_entropy_without_ignore_index, "cross_entropy", "pass")],
                         ids=["MSELoss", "BCEWithLogitsLoss", "CrossEntropyLoss without ignore_index set",
                              "cross_entropy masking nothing"])
def test_silent_where_the_per_micro_batch_mean_is_exact(obj, as_, status):
    result = run_accumulation(obj, as_)
    assert result.status == status and result.findings == []
    if status == "skip":
        assert "fixed number of elements per sample" in result.detail


def test_a_correct_builtin_trained_with_ignore_index_exits_0_with_the_info_alone():
    result = audit("torch.nn.CrossEntropyLoss", init=TRAINS_WITH_IGNORE_INDEX, max_examples=10)
    assert result.ok
    assert [f.code for f in result.findings if f.check == CHECK_NAME] == ["LC407"]
    assert [f.code for f in result.findings if f.severity != "info"] == []


# -- the spec fact it reads, and the cutting it shares with device.ddp -----------------------------------------------

MASKED = sorted(i for i, spec in SPECS.items() if spec.mean_items is not None)


def test_every_loss_with_ignore_index_declares_its_mean_items():
    assert MASKED == sorted(i for i, spec in SPECS.items() if spec.param("ignore_index") is not None)
    assert "causal_lm" in MASKED and "mse" not in MASKED


@pytest.mark.parametrize("loss_id", MASKED)
@settings(max_examples=25, deadline=None, database=None)
@given(data=st.data())
def test_mean_items_add_up_to_the_denominator_of_the_reference_mean(loss_id, data):
    """The fact agrees with the reference it describes: Σ mean_items = sum / mean, with ignored targets drawn."""
    spec = SPECS[loss_id]
    params = {p.name: p.default for p in spec.params if p.follows is None and p.name != "reduction"}
    inputs = list(spec.draw_inputs(data.draw, layout="batch", target_format=spec.target_formats[0], scale="normal",
                                   params=params))
    t = inputs[spec.target_arg]
    t[data.draw(st.lists(st.booleans(), min_size=t.size, max_size=t.size).map(np.array)).reshape(t.shape)] = -100
    if spec.param("weight") is not None and data.draw(st.booleans(), label="weighted"):
        params["weight"] = np.linspace(0.5, 2.0, inputs[0].shape[1])
    total = float(np.sum(spec.mean_items(inputs, params)))
    mean = float(spec.reference(*inputs, **params, reduction="mean"))
    summed = float(spec.reference(*inputs, **params, reduction="sum"))
    if total == 0:
        assert np.isnan(mean)
    elif mean != 0:
        assert summed / mean == pytest.approx(total, rel=1e-9)


def test_micro_batches_cut_and_join_along_each_inputs_batch_axis():
    x, y, w = np.arange(10.0).reshape(5, 2), np.arange(5), np.ones(2)
    spec = SPECS["cross_entropy"]
    case = Case((x, y, w), {})
    axes, n = batch_axes(type("S", (), {"batch_axes": (0, 0, None)})(), case)
    assert axes == (0, 0, None) and n == 5
    full, sizes = tiled_batch(case, axes, n, 2)
    assert sizes == [3, 3] and full.inputs[1].tolist() == [0, 1, 2, 3, 4, 0]
    parts = split(case.inputs, axes, [4, 1])
    assert [p[1].tolist() for p in parts] == [[0, 1, 2, 3], [4]] and all(p[2] is w for p in parts)
    assert joined([p[0] for p in parts], 0).tolist() == x.tolist()
    assert joined([p[2] for p in parts], None).tolist() == [2.0, 2.0] and joined([None, w], 0) is None
    assert batch_axes(spec, Case((x, np.arange(4)), {}))[1].startswith("the inputs do not share")
