"""Tests of the multi-label references: asymmetric (ASL).

Checked against torch in float64, written per element as the paper writes it (a positive's -(1-p)^γ+·log p, a
negative's -p_m^γ-·log(1-p_m) with p_m = max(p - clip, 0); no xs_neg algebra), for every reduction and 'batchmean';
and against the losses it generalises: with γ+ = γ- = 0 and no clip it is binary cross-entropy with logits
(BCEWithLogitsLoss, while the eps clamp does not bite), and with γ+ = γ- = γ and no clip it is the sigmoid focal
loss without alpha (references.classification.focal, alpha < 0). Hypothesis draws, derandomized.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from losscheck.references import classification, multilabel
from reference_checks import REDUCTIONS, assert_close, call_repr, finite, reference_settings, tt

SETTINGS = reference_settings()

EXTREME = (np.array([[1e4, -1e4, 0.0, 20.0, -20.0], [3.0, -3.0, 0.5, 0.0, 0.0]]),
           np.array([[1.0, 0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0, 1.0]]))


@st.composite
def logits_and_targets(draw, bound=12.0):
    shape = (draw(st.integers(1, 4), label="N"), draw(st.integers(1, 5), label="C"))
    x = draw(arrays(np.float64, shape, elements=finite(-bound, bound)), label="input")
    return x, draw(arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])), label="target")


def torch_asl(x, y, gamma_neg, gamma_pos, clip, eps, reduction):
    x, y = tt(x), tt(y)
    p = torch.sigmoid(x)
    p_m = (p - clip).clamp(min=0)
    positive = -(1 - p) ** gamma_pos * torch.log(p.clamp(min=eps))
    negative = -p_m ** gamma_neg * torch.log((1 - p_m).clamp(min=eps))
    values = torch.where(y == 1, positive, negative)
    if reduction == "batchmean":
        return values.sum() / x.shape[0]
    return values if reduction == "none" else values.mean() if reduction == "mean" else values.sum()


@SETTINGS
@given(inputs=logits_and_targets(), gamma_neg=st.sampled_from([4.0, 2.0, 0.0]),
       gamma_pos=st.sampled_from([1.0, 0.0, 2.5]), clip=st.sampled_from([0.05, 0.0, 0.2]))
@example(inputs=EXTREME, gamma_neg=4.0, gamma_pos=1.0, clip=0.05)
@example(inputs=EXTREME, gamma_neg=0.0, gamma_pos=0.0, clip=0.0)
def test_asymmetric_matches_the_papers_per_element_terms(inputs, gamma_neg, gamma_pos, clip):
    x, y = inputs
    for reduction in (*REDUCTIONS, "batchmean"):
        assert_close(multilabel.asymmetric(x, y, gamma_neg=gamma_neg, gamma_pos=gamma_pos, clip=clip,
                                           reduction=reduction),
                     torch_asl(x, y, gamma_neg, gamma_pos, clip, 1e-8, reduction),
                     call_repr("asymmetric", gamma_neg=gamma_neg, gamma_pos=gamma_pos, clip=clip, reduction=reduction))


@SETTINGS
@given(inputs=logits_and_targets())
def test_asymmetric_without_focusing_or_clip_is_bce_with_logits(inputs):
    x, y = inputs   # |x| <= 12: p and 1 - p stay above eps = 1e-8, so the clamp does not bite
    for reduction in REDUCTIONS:
        assert_close(multilabel.asymmetric(x, y, gamma_neg=0.0, gamma_pos=0.0, clip=0.0, reduction=reduction),
                     F.binary_cross_entropy_with_logits(tt(x), tt(y), reduction=reduction),
                     call_repr("asymmetric", gamma_neg=0, gamma_pos=0, clip=0, reduction=reduction), rtol=1e-9,
                     atol=1e-12)


@SETTINGS
@given(inputs=logits_and_targets(), gamma=st.sampled_from([0.5, 1.0, 2.0]))
def test_asymmetric_with_equal_gammas_and_no_clip_is_focal_without_alpha(inputs, gamma):
    x, y = inputs
    assert_close(multilabel.asymmetric(x, y, gamma_neg=gamma, gamma_pos=gamma, clip=None, reduction="none"),
                 classification.focal(x, y, alpha=-1.0, gamma=gamma, reduction="none"),
                 call_repr("asymmetric", gamma=gamma), rtol=1e-9, atol=1e-12)


def test_summed_is_the_sum_whatever_the_reduction():
    x, y = EXTREME
    total = multilabel.asymmetric(x, y, reduction="sum")
    for reduction in (*REDUCTIONS, "batchmean"):
        assert multilabel.asymmetric(x, y, reduction=reduction, summed=True) == total


def test_easy_negatives_below_the_clip_cost_nothing():
    """A negative with p <= clip is discarded: p_m = 0, so its loss is 0 (the probability shift)."""
    x = np.log(np.array([[0.01, 0.04, 0.06]]) / (1 - np.array([[0.01, 0.04, 0.06]])))
    values = multilabel.asymmetric(x, np.zeros((1, 3)), clip=0.05, reduction="none")
    assert values[0, 0] == 0.0 and values[0, 1] == 0.0 and values[0, 2] > 0.0


def test_the_reference_rejects_bad_inputs():
    with pytest.raises(ValueError, match="must both be"):
        multilabel.asymmetric(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        multilabel.asymmetric(np.zeros((1, 2)), np.array([[2.0, 0.0]]))
    with pytest.raises(ValueError, match="reduction"):
        multilabel.asymmetric(np.zeros((1, 2)), np.zeros((1, 2)), reduction="batch")
