"""The asymmetric id (ASL) audits the official repository's losses clean under their conventions: AsymmetricLoss
returns -loss.sum() (convention summed=yes) and ignores its disable_torch_grad_focal_loss (a warning), and
AsymmetricLossOptimized's disable_torch_grad_focal_loss=True detaches the focusing weight (read as the
parameter detach_focusing: the gradient check holds the weight at the unperturbed input). The corpus lives in
losscheck/examples/multilabel.py.
"""
from __future__ import annotations

from losscheck import audit
from losscheck.examples.registry import find
from audit_checks import loud

MAX_EXAMPLES = 15


# Audited by the default families: the official ASL clamps at eps = 1e-8, which fp16 rounds to 0 (log 0 = -inf), a
# real low-precision finding the precision screen warns about; these tests are about its float32 conventions.


def test_the_official_sum_is_a_convention_and_its_ignored_flag_a_warning():
    """The official AsymmetricLoss takes disable_torch_grad_focal_loss and ignores it (its no_grad lines are
    commented out): at the explored True its gradient is the undetached one, a warning about what the parameter
    means, not an error of the loss as configured."""
    result = audit(find("AsymmetricLoss").obj, as_="asymmetric", conventions={"summed": "yes"},
                   max_examples=MAX_EXAMPLES, precision_screen=False)
    assert result.ok
    assert [(f.code, f.severity) for f in result.findings if f.severity != "info"] == [("LC303", "warning")]
    assert all("detach_focusing=True (explored" in f.message for f in result.findings if f.code == "LC303")


def test_a_detached_focusing_weight_is_clean_when_the_loss_says_so():
    result = audit(find("AsymmetricLossOptimized").obj, as_="asymmetric", conventions={"summed": "yes"},
                   init={"disable_torch_grad_focal_loss": True}, max_examples=MAX_EXAMPLES,
                   precision_screen=False)
    assert loud(result) == []


def test_a_detached_focusing_weight_is_a_gradient_error_when_the_loss_says_otherwise():
    result = audit(find("AsymmetricLossOptimized").obj, as_="asymmetric", conventions={"summed": "yes"},
                   init={"disable_torch_grad_focal_loss": False}, max_examples=MAX_EXAMPLES,
                   precision_screen=False)
    assert loud(result) == []
    detached = audit(find("asl_weight_always_detached").obj, as_="asymmetric", max_examples=MAX_EXAMPLES,
                     precision_screen=False)
    assert [f.code for f in detached.findings if f.severity == "error"] == ["LC303"], loud(detached)
