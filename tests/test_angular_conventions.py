"""The angular-margin ids audit correct library-style losses clean in each of their conventions and call forms:
pytorch-metric-learning's ArcFace (angles through acos), arcface-pytorch's ArcMarginProduct with easy_margin (its
own parameter declares the convention fallback=easy), a loss that takes embeddings and class weights (the call
form its argument names ask for) with a broken twin in the same form, and pytorch-metric-learning's ArcFaceLoss and
CosFaceLoss with the class weights they own set to the weights passed. The corpus lives in
losscheck/examples/angular.py; tests/test_catalogue.py and tests/test_variants.py audit its other tables.
"""
from __future__ import annotations

import importlib.util

import pytest

from losscheck import audit
from losscheck.examples.registry import find
from audit_checks import loud

MAX_EXAMPLES = 15
PML = pytest.mark.skipif(importlib.util.find_spec("pytorch_metric_learning") is None,
                         reason="pytorch-metric-learning is not installed")


def test_pml_style_arcface_through_acos_is_clean():
    assert loud(audit(find("pml_arcface").obj, as_="arcface", max_examples=MAX_EXAMPLES)) == []


def test_easy_margin_declares_the_fallback_convention():
    result = audit(find("ArcMarginProduct").obj, as_="arcface", init={"easy_margin": True},
                   max_examples=MAX_EXAMPLES)
    assert result.conventions["fallback"] == "easy"
    assert loud(result) == []


def test_embeddings_and_class_weights_are_a_call_form():
    """Audited as (cosine, labels) the loss would be unusable: clean means the form was used; its unguarded twin
    in the same form is still named."""
    assert loud(audit(find("arcface_loss").obj, as_="arcface", max_examples=MAX_EXAMPLES)) == []
    broken = audit(find("arcface_loss_unguarded").obj, as_="arcface", max_examples=MAX_EXAMPLES)
    assert any(f.data.get("variant") == "no fallback past π - m" for f in broken.findings), loud(broken)


@PML
@pytest.mark.parametrize("name, loss_id", [("PMLArcFaceLoss", "arcface"), ("PMLCosFaceLoss", "cosface")])
def test_pytorch_metric_learning_with_its_weights_set_is_clean(name, loss_id):
    from losscheck.examples import angular

    assert loud(audit(getattr(angular, name), as_=loss_id, max_examples=MAX_EXAMPLES)) == []
