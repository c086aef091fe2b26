"""The operation at fault (losscheck.diagnosis.operations) and the grouping it feeds: the class read from a trace,
the worker's trace of a float32 run, one cause for a stability and a precision finding of the same operation (the
precision finding leads, the cause names the operation and both regimes) and two causes for two operations. The
slow tests audit: the stability finding records its operation only with --precision (the default audit does not pay
for the trace), and a loss with two unrelated faults keeps two headlines."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from losscheck import audit
from losscheck.diagnosis.grouping import group_findings
from losscheck.diagnosis.operations import CLAMPED_LOG, operation_class
from losscheck.examples.classification import CorrectFocal, NaiveFocal, UnshiftedSoftmaxCE
from losscheck.findings import Finding
from losscheck.suspect import wire
from losscheck.suspect.calls import Caller
from losscheck.suspect.candidate import wrap
from losscheck.suspect.protocol import Autocast


@pytest.mark.parametrize("first, ran, capped, named", [
    ("exp", ["exp", "sum", "div", "log"], False, "exp without a max shift"),
    ("log", ["sigmoid", "log", "pow"], False, "log of a probability"),
    ("log", ["sigmoid", "clamp", "log"], False, CLAMPED_LOG),
    (None, ["sigmoid", "clamp", "log"], True, CLAMPED_LOG),  # float32 at extreme inputs: the clamp caps the loss
    ("sum", ["pow", "sum"], False, "a sum in low precision"),
    (None, ["sigmoid", "log"], True, None),  # capped, but not by a clamp before the log: no operation named
    (None, ["sigmoid", "clamp", "log"], False, None),  # finite and not capped: nothing at fault
    ("mul", ["sigmoid", "log"], False, None),  # not a class the trace can name
    ("log", ["sigmoid", "log", "clamp"], False, "log of a probability"),  # a clamp after the log does not cap it
])
def test_the_operation_class_is_read_from_the_trace(first, ran, capped, named):
    assert operation_class(first, ran, capped) == named


def _float32_run(obj, x):
    run = {"kwargs": {}, "inputs": [wire.encode_tensor(torch.tensor(x)), wire.encode_tensor(torch.tensor(
        [[1.0, 0.0, 1.0]]))], "autocast": None, "scale": 1.0}
    return wrap(obj).perform(Caller(10.0), Autocast((run,), ())).outcomes[0]


def test_the_worker_traces_the_first_non_finite_operation_of_a_float32_run():
    bad = _float32_run(NaiveFocal, ((100.0, -100.0, 100.0),))  # sigmoid(-100) is 0 in float32: log(0)
    assert bad["error"] is None and bad["first_non_finite_any"] == "log" and bad["first_non_finite"] is None
    assert bad["ran"][:2] == ["sigmoid", "log"] and bad["in_half"] == []
    good = _float32_run(CorrectFocal, ((100.0, -100.0, 100.0),))
    assert good["first_non_finite_any"] is None and np.isfinite(wire.decode_tensor(good["value"]).numpy()).all()


def finding(code, check, message, **data):
    return Finding(code, check, message, example="input = [0.0]", reproducer="", data=data)


STABILITY_LOG = finding("LC201", "stability.extremes", "the loss is nan, not finite, at extreme inputs (extreme "
                        "logits) where the reference is 361.43", candidate=float("nan"), reference=361.43,
                        operation="log of a probability", capped=False)
PRECISION_LOG = finding("LC801", "precision.autocast", "under bfloat16 autocast the loss is inf where the float64 "
                        "reference is 9.0: the first operation to give inf/nan is log in bfloat16 (log of a "
                        "probability): use logsigmoid", autocast="bfloat16", operation="log of a probability")
PRECISION_EXP = finding("LC802", "precision.autocast", "under float16 autocast the loss is 0.62, the float64 "
                        "reference 0.69: the first operation to give inf/nan is exp in float16 (exp without a max "
                        "shift)", autocast="float16", operation="exp without a max shift")


def test_a_stability_and_a_precision_finding_of_one_operation_are_one_cause_led_by_the_precision_finding():
    (group,) = group_findings([STABILITY_LOG, PRECISION_LOG])
    assert group.headline is PRECISION_LOG and group.others == (STABILITY_LOG,)
    assert group.cause == "log of a probability: bf16/fp16 and float32 at extreme inputs"


def test_findings_of_different_operations_stay_two_causes():
    stability_exp = finding("LC201", "stability.extremes", "the loss is inf at extreme inputs where the reference "
                            "is 10050.4", candidate=float("inf"), reference=10050.448,
                            operation="exp without a max shift")
    groups = group_findings([stability_exp, PRECISION_LOG])
    assert [[f.code for f in g.findings] for g in groups] == [["LC801"], ["LC201"]]
    assert [g.cause for g in groups] == ["log of a probability: bf16/fp16", "exp without a max shift: float32 at "
                                         "extreme inputs"]
    # and a stability finding joins only the precision finding of its own operation
    groups = group_findings([STABILITY_LOG, PRECISION_LOG, PRECISION_EXP])
    assert [[f.code for f in g.findings] for g in groups] == [["LC801", "LC201"], ["LC802"]]


@pytest.mark.parametrize("options", [{"precision_screen": False}, {}, {"precision": True}],
                         ids=["unscreened", "default", "precision"])
def test_a_stability_finding_records_its_operation_only_with_the_precision_family(options):
    """With the precision family on, in full or as the default audit's screen, the stability finding is traced to
    its operation and joins the precision finding of it, which leads (as an error in full, a warning screened)."""
    result = audit(NaiveFocal, as_="focal", max_examples=10, **options)
    traced = options != {"precision_screen": False}
    extremes = next(f for f in result.findings if f.check == "stability.extremes")
    assert extremes.data.get("operation") == ("log of a probability" if traced else None)
    assert [g.headline.code for g in result.groups][:1] == (["LC801"] if traced else ["LC201"])
    assert result.exit_code() == 1  # the float32 error still fails the audit when the headline is a warning


class UnshiftedSoftmaxCEIgnoredCounted(UnshiftedSoftmaxCE):
    """Two unrelated faults: exp without a max shift (inf in float32 past |x| ~ 88, nan under fp16 autocast) and a
    mean that counts the ignored targets in its denominator."""

    def forward(self, input, target):
        loss = super().forward(input, target)
        if self.reduction != "mean" or target.is_floating_point():
            return loss
        return loss * (target != self.ignore_index).sum() / target.numel()


def test_a_loss_with_two_unrelated_faults_keeps_two_headlines():
    result = audit(UnshiftedSoftmaxCEIgnoredCounted, as_="cross_entropy", precision=True)
    exp, ignored = result.groups
    assert exp.cause == "exp without a max shift: bf16/fp16 and float32 at extreme inputs"
    assert [f.code for f in exp.findings][:2] == ["LC801", "LC201"]
    assert [f.code for f in ignored.findings] == ["LC503"] and ignored.cause == "ignore_index not honoured"
