"""Every check against hand-written defective losses (the corpus's "pitfalls" table, in
losscheck/examples/<family>.py): each fixture must raise its pitfall code, with the right family, a message and a
reproducer that imports the fixture; every correct twin must audit clean (no error or warning finding).

Cases marked xfail(strict=True) are engine gaps found while writing these fixtures: the fixture has the
defect (a plain test below proves it where that is not obvious) but the audit does not report it, or reports
a correct loss. Each reason names the gap; when the engine is fixed the xfail turns into an XPASS failure and
the mark should be removed.
"""
from __future__ import annotations

import pytest
import torch

import helpers
from helpers import SUITE, audited, codes, fresh_audit, summary
from losscheck.examples import embedding, segmentation
from losscheck.examples.registry import examples
from losscheck.pitfalls import PITFALLS

# Engine gaps, by fixture: the audit misses a defect the fixture has (strict xfails; see the module docstring).
XFAIL = {
    "ExpandedTriplet": "engine gap: device.dtype draws only generic inputs, where cdist-style cancellation stays "
                       "inside the float32 tolerance; nearly equal anchor/positive pairs are never tried",
}
FIXTURES = examples(SUITE)
# (fixture, catalogue id, expected code, correct twin): every defect of the table whose checks run here (a
# fixture that `needs` a device is tested below, where one is present)
CASES = [pytest.param(e.name, e.loss_id, e.code, e.twin, id=f"{e.code}-{e.name}",
                      marks=[pytest.mark.xfail(strict=True, reason=XFAIL[e.name])] if e.name in XFAIL else [])
         for e in FIXTURES if not e.clean and e.needs is None]
# Correct twins: (twin, catalogue id).
TWINS = [pytest.param(e.name, e.loss_id, id=e.name) for e in FIXTURES if e.clean]

# Codes whose default severity is below error, checked explicitly.
SEVERITY = {"LC203": "warning", "LC404": "warning", "LC501": "info", "LC603": "warning", "LC904": "info"}


def _finding(result, code):
    return next(f for f in result.findings if f.code == code)


@pytest.mark.parametrize("fixture, loss_id, code, twin", CASES)
def test_fixture_is_caught(fixture, loss_id, code, twin):
    result = audited(fixture, loss_id)
    assert code in codes(result), f"{fixture} as {loss_id}: expected {code}\n{summary(result)}"
    found = [f for f in result.findings if f.code == code]
    family = PITFALLS[code].family
    # api codes (raises, hangs, non-tensors) are emitted by whichever check met them; every other code must
    # come (at least) from a check of its own family.
    own = [f for f in found if f.check.split(".")[0] == family]
    assert own or family == "api", [(f.check, f.code) for f in found]
    f = (own or found)[0]
    assert f.family == family
    assert f.message.strip(), f
    assert f.title == PITFALLS[code].title
    assert fixture in f.reproducer, f.reproducer
    assert helpers.fixture(fixture).module in f.reproducer
    assert f.severity == SEVERITY.get(code, "error"), (code, f.severity)
    if f.severity == "error":
        assert not result.ok and result.exit_code("error") == 1
    if f.severity in ("error", "warning"):
        assert result.exit_code("warning") == 1
    assert not [c.name for c in result.checks if c.status == "error"], summary(result)


@pytest.mark.parametrize("twin, loss_id", TWINS)
def test_correct_twin_is_clean(twin, loss_id):
    result = audited(twin, loss_id)
    bad = [f for f in result.findings if f.severity in ("error", "warning")]
    assert not bad, f"{twin} as {loss_id}:\n{summary(result)}"
    assert result.ok and result.exit_code("warning") == 0
    assert not [c.name for c in result.checks if c.status == "error"], summary(result)
    assert [c.name for c in result.checks if c.status == "pass"], "no check ran"


def test_every_defect_has_a_listed_twin():
    twins = {t.values[0] for t in TWINS}
    for case in CASES:
        assert case.values[3] in twins and helpers.fixture(case.values[0]).obj, case.values
    assert set(XFAIL) <= {case.values[0] for case in CASES}


# -- details the parametrized test does not cover ------------------------------------------------------------
def test_known_variant_is_named():
    f = _finding(audited("HuberAsSmoothL1", "huber"), "LC102")
    assert "SmoothL1 for Huber" in f.message and f.check == "value.reference"


def test_info_only_findings_do_not_fail_the_audit():
    for fixture, loss_id, code in [("naive_mse", "mse", "LC501")]:
        result = audited(fixture, loss_id)
        assert codes(result) == [code], summary(result)
        assert result.ok and result.exit_code("warning") == 0 and result.counts()["info"] == 1


def test_kl_div_default_mean_is_a_warning_with_the_fix():
    """torch warns about KLDivLoss's default reduction='mean' (it divides by every element, not the batch): so does
    the audit, with the fix (issue 20 made LC404 a warning; it was info)."""
    result = audited("kl_div_default_mean", "kl_div")
    assert codes(result) == ["LC404"], summary(result)
    f = _finding(result, "LC404")
    assert f.severity == "warning" and "Fix: pass reduction='batchmean'" in f.message, f.message
    assert result.ok and result.exit_code("warning") == 1


def test_batch_of_one_is_an_error_other_layouts_warnings():
    """A batch of one must work where a batch does (error); a layout the candidate accepts and then fails on is
    a warning; one it rejects outright (here: no batch dim) is its own choice (info)."""
    result = audited("CESqueezeTarget", "cross_entropy")
    findings = [f for f in result.findings if f.code == "LC504"]
    single = [f for f in findings if "batch of one" in f.message]
    assert single and all(f.severity == "error" for f in single), [f.message for f in findings]
    for f in findings:
        if f not in single:
            accepted = any(layout in f.message for layout in ("2-D", "3-D"))
            assert f.severity == ("warning" if accepted else "info"), (f.message, f.severity)
    assert "no_batch" not in result.layouts["accepted"]


def test_hang_is_interrupted_and_reported():
    result = audited("ConvergingMSE", "mse")
    f = _finding(result, "LC706")
    assert f.check == "api.call" and "did not return within 1 s" in f.message
    assert result.seconds < 30


def test_process_exit_is_survived_and_reported():
    for fixture, loss_id, check in [("AbortOnNaNLogCosh", "log_cosh", "stability.extremes"),
                                    ("always_exit_mse", "mse", "api.call")]:
        result = audited(fixture, loss_id)
        lost = [f for f in result.findings if f.code == "LC706"]
        assert check in [f.check for f in lost], summary(result)
        assert all("exit code 3" in f.message for f in lost), summary(result)


def test_ignored_reduction_is_at_least_a_reduction_error():
    """A loss that ignores its reduction argument fails the audit in the reduction family."""
    result = audited("MSEIgnoresReduction", "mse")
    assert [f for f in result.findings if f.family == "reduction" and f.severity == "error"], summary(result)


def test_accelerator_parity_check():
    """LC602: HalfOnGPUMSE takes a float16 path on CUDA. Without an accelerator the check must say so and skip."""
    half = helpers.fixture("HalfOnGPUMSE")
    assert (half.needs, half.code) == ("cuda", "LC602")
    result = audited(half.name, half.loss_id)
    check = next(c for c in result.checks if c.name == "device.accelerator")
    if torch.cuda.is_available():
        assert "LC602" in codes(result), summary(result)
    else:
        assert check.status == "skip", check
        assert "no CUDA or MPS device" in check.detail
        assert "LC602" not in codes(result)


def test_expanded_triplet_really_loses_precision_in_float32():
    """The LC604 cancellation fixture has the defect the audit misses: 0.50276 (float32) vs 0.50033 (float64)."""
    a = torch.tensor([[2.2127089500427246, 2.473583221435547, -0.15907621383666992, 2.761704444885254,
                       -2.709930419921875]])
    p = torch.tensor([[2.2127492427825928, 2.4736461639404297, -0.15895363688468933, 2.7619454860687256,
                       -2.709761381149292]])
    n = a + torch.tensor([[0.5, 0.0, 0.0, 0.0, 0.0]])
    loss = embedding.ExpandedTriplet()
    f32 = loss(a, p, n).item()
    f64 = loss(a.double(), p.double(), n.double()).item()
    correct = embedding.CorrectTriplet()(a.double(), p.double(), n.double()).item()
    assert abs(f64 - correct) < 1e-9
    assert abs(f32 - f64) > 2e-5 + 2e-4 * abs(f64)  # beyond the float32 tolerance of losscheck.judge.tolerances


def test_dice_view_really_fails_on_non_contiguous_input():
    """The LC605 fixture the audit misses does fail on a cropped or transposed prediction."""
    p, g = torch.rand(2, 1, 4, 4), (torch.rand(2, 1, 4, 4) > 0.5).float()
    for crop in (lambda t: t[:, :, 1:, 1:], lambda t: t.transpose(2, 3)):
        with pytest.raises(RuntimeError, match="view"):
            segmentation.DiceView()(crop(p), crop(g))
        torch.testing.assert_close(segmentation.CorrectDice()(crop(p), crop(g)),
                                   segmentation.CorrectDice()(crop(p).contiguous(), crop(g).contiguous()))


def test_indexed_ntxent_twin_is_really_correct():
    z_i, z_j = torch.randn(3, 4, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    for r in ("none", "mean", "sum"):
        torch.testing.assert_close(embedding.CorrectNTXentIndexed(reduction=r)(z_i, z_j),
                                   embedding.CorrectNTXent(reduction=r)(z_i, z_j))


# -- determinism and code filters ----------------------------------------------------------------------------
def _fingerprint(result):
    return [(f.code, f.check, f.message, f.example, f.reproducer) for f in result.findings]


def test_same_seed_same_findings():
    first = audited("ClampedProbabilityBCE", "bce")
    again = fresh_audit("ClampedProbabilityBCE", "bce")
    assert len(first.findings) >= 3
    assert _fingerprint(again) == _fingerprint(first)
    assert [(c.name, c.status, c.examples) for c in again.checks] == [(c.name, c.status, c.examples)
                                                                       for c in first.checks]


def test_select_and_ignore_filter_codes():
    full = audited("DirectLogCosh", "log_cosh")
    full_codes = codes(full)
    assert {"LC201", "LC302", "LC501"} <= set(full_codes), summary(full)

    selected = audited("DirectLogCosh", "log_cosh", select=("LC2",))
    assert codes(selected) == [c for c in full_codes if c.startswith("LC2")]

    ignored = audited("DirectLogCosh", "log_cosh", ignore=("LC501", "LC3"))
    assert codes(ignored) == [c for c in full_codes if c != "LC501" and not c.startswith("LC3")]
    # A check whose every finding was ignored passes, and says so.
    broadcast = next(c for c in ignored.checks if c.name == "target.broadcast")
    assert broadcast.status == "pass" and "ignored" in broadcast.detail
    assert ignored.exit_code("error") == 1  # LC201 is still there
