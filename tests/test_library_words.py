"""A loss in its library's words (a reduction spelled "elementwise_mean", as torchmetrics spells it) is handed its
own word for every value the audit sets, and an audit that could not compare any value with the reference is no
pass (exit 2, `engine.unjudged`)."""
from fixtures.library_words import batchmean_kd, batchmean_kd_swapped, worded_mae_as_mse, worded_mse
from losscheck import audit
from losscheck.findings import AuditResult, CheckResult, Finding
from losscheck.judge.engine import unjudged
from losscheck.specs import SPECS


def test_a_library_word_for_a_reduction_is_the_reference_s_and_the_candidate_gets_its_own():
    assert ("elementwise_mean", "mean") in SPECS["mse"].param("reduction").spellings
    result = audit(worded_mse, as_="mse", max_examples=10)
    assert result.exit_code() == 0 and not [c for c in result.checks if c.status == "error"]
    assert result.parameters["defaults"]["reduction"] == "mean"
    broken = audit(worded_mae_as_mse, as_="mse", max_examples=10)
    assert broken.exit_code() == 1 and any(f.code == "LC101" for f in broken.findings)


def test_a_distillation_loss_s_batchmean_is_kd_s_mean():
    """kd's 'mean' is the KL per sample, torch's 'batchmean': a distillation loss that says 'batchmean' was handed to
    the reference as it is, every value check ended in an internal error, and one with the KL swapped passed."""
    assert audit(batchmean_kd, as_="kd", max_examples=10).exit_code() == 0
    swapped = audit(batchmean_kd_swapped, as_="kd", max_examples=10)
    assert swapped.exit_code() == 1 and any(f.code == "LC102" for f in swapped.findings)


def _result(status, findings=()):
    return AuditResult(target="t:f", reference="r", seed=0, max_examples=1, versions={}, tolerances={},
                       parameters={"loss": "mse"},
                       checks=[CheckResult("value.reference", "value", status, findings=list(findings),
                                           detail="internal error in value.reference: ValueError: no such reduction")])


def test_an_audit_that_compared_nothing_is_no_pass():
    line = unjudged(_result("error"))
    assert line and "could not be judged" in line and "no such reduction" in line
    assert unjudged(_result("pass")) is None
    found = Finding("LC101", "value.reference", "differs", example="", reproducer="")
    assert unjudged(_result("error", [found])) is None  # red already: the finding says so
