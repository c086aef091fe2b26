"""Verdicts that hold on code losscheck has never seen (issue 13): contracts proven by the probe, conventions
found together, no verdict on undefined points. Every correct loss of tests/fixtures/contracts.py audits without an
error (and without any finding once its conventions are declared); every broken twin is still caught."""
from __future__ import annotations

import pytest

from losscheck import audit

FIXTURES = "tests.fixtures.contracts"


def run(name, as_, **kwargs):
    return audit(f"{FIXTURES}:{name}", as_=as_, seed=0, max_examples=10, **kwargs)


def errors(result):
    return [f"{f.code} ({f.check}): {f.message[:160]}" for f in result.findings if f.severity == "error"]


def not_info(result):
    return [f"{f.code} ({f.check}): {f.message[:160]}" for f in result.findings if f.severity != "info"]


def test_a_class_last_cross_entropy_keeps_its_contract():
    """log_softmax over the last axis takes (N, C) only: the probe does not count (N, C, H, W) as accepted."""
    result = run("LabelSmoothingCE", "cross_entropy")
    assert errors(result) == [] and result.exit_code() == 0
    assert "spatial2d" not in result.layouts["accepted"] and "batch" in result.layouts["accepted"]
    assert result.parameters["target_formats"] == ["indices"]


def test_a_soft_target_cross_entropy_keeps_its_contract():
    """Class indices would broadcast against (N, C) when N == C: the probe's sizes rule that out."""
    result = run("SoftTargetCE", "cross_entropy")
    assert errors(result) == [] and result.exit_code() == 0
    assert result.parameters["target_formats"] == ["probabilities"]
    assert "LC502" in {f.code for f in result.findings if f.severity == "info"}
    wrong = [f for f in result.findings if f.code == "LC504" and f.severity == "warning"]
    assert wrong and all("instead of raising" in f.message for f in wrong), not_info(result)


@pytest.mark.parametrize("name, as_", [("LabelSmoothingCEWrongSign", "cross_entropy"),
                                       ("SoftTargetCEOverBatch", "cross_entropy"),
                                       ("SmpStyleDiceSigmoidTwice", "dice"),
                                       ("DetectionFocalNoGamma", "focal")])
def test_broken_twins_are_still_caught(name, as_):
    result = run(name, as_)
    assert any(f.family == "value" for f in result.findings if f.severity == "error"), not_info(result)
    assert result.exit_code() == 1


def test_conventions_combined_are_one_warning_and_declared_are_none():
    result = run("SmpStyleDice", "dice")
    assert errors(result) == []
    lc103 = [f for f in result.findings if f.code == "LC103"]
    assert len(lc103) == 1, not_info(result)
    named = dict(map(tuple, lc103[0].data["conventions"]))
    assert {k: named.get(k) for k in ("per_sample", "empty_channel", "activation")} == \
        {"per_sample": "batch", "empty_channel": "zero", "activation": "sigmoid"}
    assert named["smoothing"] in ("none", "clamp")
    for name, value in named.items():
        assert f"--convention {name}={value}" in lc103[0].message
    declared = run("SmpStyleDice", "dice", conventions=named)
    assert [f.code for f in declared.findings] == [], not_info(declared)


def test_retinanet_normalisation_is_a_convention():
    result = run("DetectionFocal", "focal")
    assert errors(result) == []
    assert [f.data.get("conventions") for f in result.findings if f.code == "LC103"] == [[["normalise", "positives"]]]
    assert run("DetectionFocal", "focal", conventions={"normalise": "positives"}).findings == []


def test_no_verdict_where_the_loss_is_undefined():
    """Unsmoothed Dice is 0/0 on an empty mask with an empty prediction: a loss that calls that 0 is not wrong."""
    result = run("PlainDice", "dice", conventions={"smoothing": "none"})
    assert [f.code for f in result.findings] == [], not_info(result)


def test_nan_where_the_catalogue_is_finite_stays_lc201():
    result = run("NaiveDice", "dice", conventions={"smoothing": "none"})
    assert "LC201" in {f.code for f in result.findings if f.severity == "error"}, not_info(result)


def test_a_loss_that_raises_on_every_batch_fails_the_audit():
    result = run("OneSampleAtATimeMSE", "mse")
    found = [f for f in result.findings if f.code == "LC705" and f.severity == "error"]
    assert found and "every batched input" in found[0].message, not_info(result)
    assert result.exit_code() == 1
    twin = run("PerSampleMSE", "mse")
    assert errors(twin) == [] and twin.exit_code() == 0


def test_a_declared_layout_is_required():
    result = run("LabelSmoothingCE", "cross_entropy", layouts=["spatial2d"])
    found = [f for f in result.findings if f.code == "LC504" and f.severity == "error"]
    assert found and "--layout spatial2d" in found[0].message, not_info(result)
    assert run("LabelSmoothingCE", "cross_entropy", layouts=["batch"]).exit_code() == 0


def test_an_unknown_layout_is_a_usage_error():
    from losscheck.errors import UsageError

    with pytest.raises(UsageError, match="no such layout"):
        run("LabelSmoothingCE", "cross_entropy", layouts=["spatial4d"])


def test_nt_xent_called_with_embeddings_and_labels():
    result = run("PairedNTXent", "info_nce", precision_screen=False)  # exp of cos/τ in fp16: the screen's warning
    assert not_info(result) == [] and result.exit_code() == 0
    assert result.layouts["accepted"] == ["batch", "single"]


def test_the_embeddings_labels_form_reaches_findings_and_reproducers():
    result = run("PairedNTXentTemperatureTimes", "info_nce")
    found = [f for f in result.findings if f.code == "LC102" and "temperature multiplied" in f.message]
    assert found, not_info(result)
    assert "embeddings = torch.tensor(" in found[0].reproducer and "labels = torch.tensor(" in found[0].reproducer
    assert "embeddings = " in found[0].example


def test_a_wrong_id_is_named():
    result = run("SimCLRLoss", "focal")
    first = next(f for f in result.findings if f.check == "value.reference")
    assert "its values match info_nce: audit with `--as info_nce`" in first.message
    saturation = [f.message for f in result.findings if "saturation" in f.message]
    assert saturation == []  # the remark would measure the distance from another loss


def test_stability_remarks_follow_the_diagnosed_defect():
    result = run("MisweightedFocal", "focal")
    assert any(f.code == "LC102" and "alpha on the other class" in f.message for f in result.findings)
    for f in result.findings:
        if f.code == "LC202":
            assert "saturation" not in f.message and "agrees with the reference for" not in f.message, f.message


def test_findings_at_explored_values_say_so():
    result = run("SmoothedDiceNumeratorOnly", "dice")
    value = [f for f in result.findings if f.check == "value.reference"]
    # issue 20: a disagreement seen only at an explored value, where the candidate agrees at the user's own, is a
    # warning naming the parameter and both values (it was an error)
    assert value and value[0].severity == "warning"
    assert "(explored; your configuration uses 0.0)" in value[0].message and value[0].message.startswith("at smooth=")
    assert "(yours: 0.0)" in value[0].message


def test_an_unknown_id_gets_did_you_mean():
    from losscheck.errors import UsageError

    with pytest.raises(UsageError, match="did you mean 'info_nce'"):
        run("SimCLRLoss", "infonce")
