"""Tests of the angular-margin references: arcface and cosface.

Each is checked against torch in float64, written as the papers write them (θ = acos(cos), cos(θ + m) through
torch.cos, cross_entropy of the scaled logits; no th/mm algebra), for every reduction; and against closed forms:
at m = 0 both are the cross-entropy of s·cosine; cosface with every cosine equal is log C plus a known shift;
arcface's fallback is continuous in m·sin m with CosFace, monotone in θ, and 'easy' leaves cos θ ≤ 0 alone.
Array values come from hypothesis (derandomized, no example database), with the edges as explicit examples.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from losscheck.references import angular
from reference_checks import REDUCTIONS, assert_close, call_repr, finite, reference_settings, tt

SETTINGS = reference_settings()

EDGE = (np.array([[-0.95, 0.3, 0.1], [0.99, -0.99, 0.0], [0.0, 0.0, 0.0], [-1.0, 1.0, -0.9]]), np.array([0, 0, 2, 0]))


@st.composite
def cosines_and_labels(draw):
    n, c = draw(st.integers(1, 4), label="N"), draw(st.integers(1, 5), label="C")
    cosine = draw(arrays(np.float64, (n, c), elements=finite(-1.0, 1.0)), label="cosine")
    return cosine, draw(arrays(np.int64, (n,), elements=st.integers(0, c - 1)), label="labels")


def torch_margin_loss(cosine, labels, target, scale, reduction):
    """cross_entropy of scale · cosine with each row's target cosine replaced by `target` (N,)."""
    one_hot = F.one_hot(labels, cosine.shape[1]).to(cosine.dtype)
    logits = cosine * (1 - one_hot) + one_hot * target[:, None]
    return F.cross_entropy(scale * logits, labels, reduction=reduction)


def torch_arcface(cosine, labels, scale, margin, fallback, reduction):
    c, y = tt(cosine), tt(labels)
    cos_t = c[torch.arange(len(y)), y]
    theta = torch.acos(cos_t.clamp(-1, 1))
    with_margin = torch.cos(theta + margin)
    if fallback == "easy":
        target = torch.where(cos_t > 0, with_margin, cos_t)
    elif fallback == "linear":   # pytorch-metric-learning's test of the angle, not insightface's test of the cosine
        target = torch.where(theta < math.pi - margin, with_margin, cos_t - margin * math.sin(margin))
    else:
        target = with_margin
    return torch_margin_loss(c, y, target, scale, reduction)


@SETTINGS
@given(inputs=cosines_and_labels(), scale=st.sampled_from([64.0, 30.0, 1.0]), margin=st.sampled_from([0.5, 0.2, 0.0]),
       fallback=st.sampled_from(angular.ARCFACE_FALLBACKS))
@example(inputs=EDGE, scale=64.0, margin=0.5, fallback="linear")
@example(inputs=EDGE, scale=64.0, margin=0.5, fallback="none")
def test_arcface_matches_torch_cos_of_angle_plus_margin(inputs, scale, margin, fallback):
    cosine, labels = inputs
    for reduction in REDUCTIONS:
        assert_close(angular.arcface(cosine, labels, scale=scale, margin=margin, fallback=fallback,
                                     reduction=reduction),
                     torch_arcface(cosine, labels, scale, margin, fallback, reduction),
                     call_repr("arcface", scale=scale, margin=margin, fallback=fallback, reduction=reduction),
                     rtol=1e-9, atol=1e-9)


@SETTINGS
@given(inputs=cosines_and_labels(), scale=st.sampled_from([64.0, 30.0, 1.0]), margin=st.sampled_from([0.35, 0.4, 0.0]))
@example(inputs=EDGE, scale=64.0, margin=0.35)
def test_cosface_matches_torch_cross_entropy_of_the_shifted_target(inputs, scale, margin):
    cosine, labels = inputs
    c, y = tt(cosine), tt(labels)
    for reduction in REDUCTIONS:
        assert_close(angular.cosface(cosine, labels, scale=scale, margin=margin, reduction=reduction),
                     torch_margin_loss(c, y, c[torch.arange(len(y)), y] - margin, scale, reduction),
                     call_repr("cosface", scale=scale, margin=margin, reduction=reduction))


@pytest.mark.parametrize("loss", [angular.arcface, angular.cosface])
def test_no_margin_is_cross_entropy_of_scaled_cosines(loss):
    cosine, labels = EDGE
    expected = F.cross_entropy(30.0 * tt(cosine), tt(labels))
    assert loss(cosine, labels, scale=30.0, margin=0.0) == pytest.approx(expected.item(), rel=1e-12)


def test_cosface_on_equal_cosines_is_a_closed_form():
    """Every cosine c: the target logit is s(c - m), the others s·c, so the loss is log(1 + (C-1)·e^{s·m})."""
    s, m, c = 64.0, 0.35, 4
    expected = math.log(1 + (c - 1) * math.exp(s * m))
    assert angular.cosface(np.full((2, c), 0.3), np.array([0, 3]), scale=s, margin=m) == pytest.approx(expected,
                                                                                                       rel=1e-12)


@pytest.mark.parametrize("margin", [0.5, 0.3, 0.1])
def test_arcface_target_logit_is_monotone_with_the_fallback_and_not_without(margin):
    """cos θ from 1 to -1: with the linear fallback the target logit never rises; cos(θ + m) alone rises past
    θ = π - m (the defect the fallback exists for). The linear fallback is CosFace's margin m·sin m."""
    cosine = np.linspace(1.0, -1.0, 2001)
    guarded = angular.angular_margin(cosine, margin, "linear")
    assert np.all(np.diff(guarded) <= 1e-15)
    assert np.any(np.diff(angular.angular_margin(cosine, margin, "none")) > 1e-6)
    past = cosine <= math.cos(math.pi - margin)
    assert np.allclose(guarded[past], cosine[past] - margin * math.sin(margin), rtol=0, atol=1e-15)


def test_easy_margin_leaves_non_positive_cosines_alone():
    cosine = np.array([-0.9, -0.1, 0.0, 0.1, 0.9])
    easy = angular.angular_margin(cosine, 0.5, "easy")
    assert np.array_equal(easy[:3], cosine[:3])
    assert np.allclose(easy[3:], np.cos(np.arccos(cosine[3:]) + 0.5), rtol=0, atol=1e-15)


def test_the_references_reject_bad_inputs():
    with pytest.raises(ValueError, match="cosine must be"):
        angular.arcface(np.zeros(3), np.array([0]))
    with pytest.raises(ValueError, match="labels must be"):
        angular.cosface(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="fallback must be"):
        angular.arcface(np.zeros((2, 3)), np.array([0, 1]), fallback="th")
    with pytest.raises(ValueError, match="reduction"):
        angular.cosface(np.zeros((2, 3)), np.array([0, 1]), reduction="batchmean")
