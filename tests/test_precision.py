"""The precision family (losscheck.checks.precision) and its worker op (losscheck.suspect.ops.autocast): the grading (S
from antithetic perturbations, the float32 run's own error, values 0 all around), the cases as a mixed-precision step
feeds them, the op in process (softmax and log_softmax in float32 as on CUDA), an audit that grades a loss which
loses precision only under autocast, one that fails only on raw half inputs (precision.raw, with --precision-raw
only) and its twin, and the correct losses the first grading flagged, now clean. The corpus's low-precision fixtures
are audited in test_checks.py; benchmarks/precision_table.py measures every built-in, correct loss and library loss."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from losscheck import audit
from losscheck.checks.precision import (ERROR_UNITS, LARGE, WARNING_UNITS, grade, on_raw_half, perturbed,
                                        rounded_as_trained, tiled, tileable, under_autocast)
from losscheck.examples.classification import CorrectFocal, NaiveFocal
from losscheck.examples.regression import CorrectMSE, HalfSumSquares
from losscheck.examples.registry import Example
from losscheck.judge.cases import Case
from losscheck.specs import SPECS
from losscheck.suspect import wire
from losscheck.suspect.calls import Caller
from losscheck.suspect.candidate import wrap
from losscheck.suspect.protocol import Autocast


def test_grade_is_in_units_of_rounding_and_conditioning():
    u = 2.0 ** -8
    assert grade(np.array([1.0 + u]), np.array([1.0]), 0.0, u) == pytest.approx(1.0, rel=1e-5)
    # the problem's own conditioning S forgives what any implementation would lose
    assert grade(np.array([1.0 + 10 * u]), np.array([1.0]), 9 * u, u) == pytest.approx(1.0, rel=1e-5)
    assert WARNING_UNITS < ERROR_UNITS


def test_inputs_with_a_gradient_are_rounded_the_others_stay_float32():
    x, y = np.array([0.1234567]), np.array([0.1234567])
    case = rounded_as_trained(Case((x, y)), "bfloat16", (0,))
    assert case.inputs[0][0] == float(torch.tensor(0.1234567).bfloat16())
    assert case.inputs[1][0] == float(np.float32(0.1234567))


def test_large_reductions_tile_the_batch_of_elementwise_losses_only():
    case = Case((np.ones((4, 3)), np.zeros((4, 3))))
    big = tiled(case, (0,))
    assert big.inputs[0].size >= LARGE // 2 and big.inputs[0].shape[1:] == (3,)
    assert tileable(SPECS["mse"]) and not tileable(SPECS["info_nce"])


def _runs(obj, dtype, x=((9.0, -2.0, 0.5),), raw=False):
    x = torch.tensor(x, dtype=getattr(torch, dtype))
    y = torch.tensor([[1.0, 0.0, 1.0]])
    run = {"kwargs": {}, "inputs": [wire.encode_tensor(x), wire.encode_tensor(y)], "autocast": None if raw else dtype,
           "scale": 2.0 ** 16}
    return wrap(obj).perform(Caller(10.0), Autocast((run,), (0,))).outcomes[0]


def test_the_op_names_the_first_operation_to_give_inf_or_nan():
    bad = _runs(NaiveFocal, "bfloat16")
    assert bad["error"] is None and bad["first_non_finite"] == "log"
    assert not np.isfinite(wire.decode_tensor(bad["value"]).numpy()).all()
    good = _runs(CorrectFocal, "float16")
    assert good["first_non_finite"] is None and np.isfinite(wire.decode_tensor(good["value"]).numpy()).all()
    assert good["scale"] == 2.0 ** 16 and all(np.isfinite(wire.decode_tensor(g).numpy()).all() for g in good["grads"])


class QuantisedMSE(torch.nn.Module):
    """A mean squared error that loses ~5% in bf16 only (a stand-in for a quantised accumulation)."""

    def forward(self, input, target):
        loss = ((input.float() - target) ** 2).mean()
        return loss * 1.05 if input.dtype == torch.bfloat16 else loss


@pytest.mark.slow
def test_a_loss_imprecise_under_autocast_is_graded():
    result = audit(QuantisedMSE, as_="mse", max_examples=8, precision=True)
    found = [f for f in result.findings if f.code == "LC802"]
    assert found and "bfloat16" in found[0].message and "units" in found[0].message
    assert "torch.autocast('cpu', dtype=torch.bfloat16)" in found[0].reproducer
    check = next(c for c in result.checks if c.name == "precision.autocast")
    assert f"error above {ERROR_UNITS:g}" in check.detail


def test_the_float32_run_s_own_error_is_not_blamed_on_the_low_precision():
    u = 2.0 ** -8
    # a gradient of 0 that float32 computes as 1.2e-7 through cancelling terms (CosineEmbeddingLoss, 1-D vectors)
    assert grade(np.array([1.2e-7]), np.array([0.0]), 0.0, u) > ERROR_UNITS
    assert grade(np.array([1.2e-7]), np.array([0.0]), 0.0, u, float32_error=1.2e-7) < 1.0


def test_perturbations_come_in_antithetic_pairs_so_a_kink_is_seen_from_both_sides():
    case = Case((np.array([0.5, -3.0]), np.array([1.0, 1.0])))
    up, down = perturbed(case, (0,), 2.0 ** -8, np.random.default_rng(0))
    assert np.allclose(up.inputs[0] - case.inputs[0], case.inputs[0] - down.inputs[0])
    assert np.allclose(np.abs(up.inputs[0] - case.inputs[0]), 2.0 ** -8 * np.array([1.0, 3.0]))
    assert (up.inputs[1] == case.inputs[1]).all()  # a target is not moved


class LogSoftmaxOf(torch.nn.Module):
    """The log-probability of class 0 (a stand-in for any loss built on log_softmax)."""

    def forward(self, input, target):
        return -torch.log_softmax(input, dim=1)[:, 0].sum()


@pytest.mark.parametrize("raw", [False, True], ids=["autocast", "raw half"])
def test_log_softmax_runs_in_float32_as_cuda_runs_it(raw):
    """CPU bf16 log_softmax returns 0 for a class at -1.4e-4 (torch's CPU kernel); CUDA's autocast runs it in
    float32, and CUDA's half kernel accumulates in float32: the worker does the same, so no loss is blamed for it."""
    x = ((10.0, 1.0, 1.0),)
    cpu = float(-torch.log_softmax(torch.tensor(x, dtype=torch.bfloat16), dim=1)[0, 0])
    got = float(wire.decode_tensor(_runs(LogSoftmaxOf, "bfloat16", x, raw)["value"]))
    want = float(-torch.log_softmax(torch.tensor(x, dtype=torch.float64), dim=1)[0, 0])
    assert cpu == 0.0 and want == pytest.approx(2.47e-4, rel=0.01)
    assert got == pytest.approx(want, rel=2.0 ** -8)


@pytest.mark.slow
@pytest.mark.parametrize("target, as_", [
    ("torch.nn.CosineEmbeddingLoss", "cosine_embedding"),  # gradients of 0 computed as 1e-7 (1-D vectors)
    ("losscheck.examples.embedding:correct_cosine_embedding", "cosine_embedding"),
    ("losscheck.examples.language:correct_kd", "kd"),  # a KL of 0 (equal logits) through a bf16 log_softmax
    ("losscheck.examples.embedding:CorrectBatchHard", "triplet_batch_hard"),  # hardest negatives tied within u
])
def test_correct_losses_that_the_first_grading_flagged_are_clean_under_autocast(target, as_):
    result = audit(target, as_=as_, max_examples=8, precision=True)
    check = next(c for c in result.checks if c.name == "precision.autocast")
    assert check.status == "pass" and not check.findings, [f.message for f in check.findings]


class SumOverCount(torch.nn.Module):
    """Mean squared error as Σd² / n in the inputs' dtype: right under autocast (a float32 target promotes d to
    float32), inf on raw fp16 inputs once Σd² passes 65,504 over a large reduction (FSDP's mixed precision)."""

    def forward(self, input, target):
        squares = (input - target) ** 2
        return squares.sum() / squares.numel()


class UpcastSumOverCount(SumOverCount):
    """The twin: the same sum in float32 (`.float()` first)."""

    def forward(self, input, target):
        return super().forward(input.float(), target.float())


@pytest.mark.slow
def test_raw_half_inputs_catch_a_sum_that_only_autocast_keeps_in_float32():
    result = audit(SumOverCount, as_="mse", max_examples=8, precision_raw=True)
    raw = next(c for c in result.checks if c.name == "precision.raw")
    autocast = next(c for c in result.checks if c.name == "precision.autocast")
    assert [f.code for f in raw.findings] == ["LC801"] and "on raw float16 inputs" in raw.findings[0].message
    assert "torch.autocast" not in raw.findings[0].reproducer
    assert autocast.status == "pass"
    twin = audit(UpcastSumOverCount, as_="mse", max_examples=8, precision_raw=True)
    assert [c.status for c in twin.checks if c.family == "precision"] == ["pass", "pass"]


def test_precision_alone_runs_autocast_only_and_leaves_a_loss_wrong_only_on_raw_half_unflagged():
    result = audit(SumOverCount, as_="mse", max_examples=8, precision=True)
    assert [c.name for c in result.checks if c.family == "precision"] == ["precision.autocast"]
    assert [f.code for f in result.findings if f.family == "precision"] == []
    unscreened = audit(SumOverCount, as_="mse", max_examples=8, precision_screen=False)
    assert not [c for c in unscreened.checks if c.family == "precision"]


@pytest.mark.slow
@pytest.mark.parametrize("candidate, loss_id", [(NaiveFocal, "focal"), (HalfSumSquares, "mse")])
def test_the_default_audit_screens_precision_and_warns_where_precision_errs(candidate, loss_id):
    """Without --precision, precision.autocast runs a few examples and its findings are warnings: a loss wrong only
    in low precision (an fp16 sum of squares that overflows, correct in float32) is seen by the default audit
    without turning a loss that CUDA's wider autocast may run well red; --precision makes the same finding an
    error."""
    screened = audit(candidate, as_=loss_id, max_examples=8)
    found = [f for f in screened.findings if f.family == "precision"]
    assert found and all(f.severity == "warning" and "--precision runs the family in full" in f.message
                         for f in found)
    full = audit(candidate, as_=loss_id, max_examples=8, precision=True)
    assert any(f.family == "precision" and f.severity == "error" for f in full.findings)
    twin = audit(CorrectMSE, as_="mse", max_examples=8)
    assert [c.status for c in twin.checks if c.family == "precision"] == ["pass"]


@pytest.mark.parametrize("precision, precision_raw, screen, runs", [
    (False, False, False, []), (False, False, True, ["autocast"]), (True, False, False, ["autocast"]),
    (False, True, False, ["autocast", "raw"]), (True, True, True, ["autocast", "raw"])])
def test_raw_half_inputs_are_their_own_option_that_implies_autocast(precision, precision_raw, screen, runs):
    ctx = SimpleNamespace(precision=precision, precision_raw=precision_raw, precision_screen=screen)
    ran = [name for name, check in (("autocast", under_autocast), ("raw", on_raw_half)) if check.only_if(ctx)]
    assert ran == runs


def test_an_example_expecting_a_raw_run_s_words_gets_raw_half_inputs():
    raw = Example(SumOverCount, "mse", "wild", {"LC801": "on raw float16"})
    assert raw.opt_in == {"precision": True, "precision_raw": True}
    assert Example(SumOverCount, "mse", "wild", {"LC801": "sum in float16"}).opt_in == {"precision": True}
