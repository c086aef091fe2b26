"""Tests of the distance-aware box references: diou and ciou (Zheng et al. 2020).

Each is checked against torch in float64, written from the paper's equations (centre distance over the enclosing
box's squared diagonal; v from the arctangents of the aspect ratios; α = v / (1 - IoU + v)), for every reduction;
and against cross-checks that need no torch: ciou equals diou for boxes of one aspect ratio (v = 0), diou of
concentric boxes is the IoU loss (ρ = 0), and ciou with α held at its own value is ciou (the stop-gradient form).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from losscheck.references import boxes, segmentation
from reference_checks import REDUCTIONS, assert_close, call_repr, finite, reference_settings, torch_reduce, tt

SETTINGS = reference_settings(40)

PAIR = np.array([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 5.0]]), np.array([[0.5, 0.2, 2.5, 3.0], [4.0, 6.0, 5.0, 9.0]])


@st.composite
def box_pairs(draw, n=3):
    corners = draw(arrays(np.float64, (2, n, 2), elements=finite(-10.0, 10.0)), label="corners")
    sizes = draw(arrays(np.float64, (2, n, 2), elements=finite(0.01, 10.0)), label="sizes")
    b = np.concatenate([corners, corners + sizes], axis=-1)
    return b[0], b[1]


def paper_terms(b1, b2, eps):
    """(DIoU loss, IoU, v) of torch float64 boxes, written from Zheng et al.'s equations 6, 9 and 10."""
    w = (torch.minimum(b1[:, 2], b2[:, 2]) - torch.maximum(b1[:, 0], b2[:, 0])).clamp(min=0)
    h = (torch.minimum(b1[:, 3], b2[:, 3]) - torch.maximum(b1[:, 1], b2[:, 1])).clamp(min=0)
    area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
    inter = w * h
    iou = inter / (area(b1) + area(b2) - inter + eps)
    centre = lambda b: torch.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], -1)  # noqa: E731
    rho2 = ((centre(b1) - centre(b2)) ** 2).sum(-1)
    hull = torch.cat([torch.minimum(b1[:, :2], b2[:, :2]), torch.maximum(b1[:, 2:], b2[:, 2:])], -1)
    c2 = ((hull[:, 2:] - hull[:, :2]) ** 2).sum(-1) + eps
    aspect = lambda b: torch.atan((b[:, 2] - b[:, 0]) / (b[:, 3] - b[:, 1]))  # noqa: E731
    v = 4 / math.pi ** 2 * (aspect(b2) - aspect(b1)) ** 2
    return 1 - iou + rho2 / c2, iou, v


@SETTINGS
@given(pair=box_pairs())
@example(pair=PAIR)
def test_diou_and_ciou_match_the_papers_equations_in_torch(pair):
    b1, b2 = tt(pair[0]), tt(pair[1])
    distance, iou, v = paper_terms(b1, b2, 1e-7)
    alpha = v / (1 - iou + v + 1e-7)
    for reduction in REDUCTIONS:
        assert_close(boxes.diou(*pair, reduction=reduction), torch_reduce(distance, reduction),
                     call_repr("diou", reduction=reduction), rtol=1e-12, atol=1e-12)
        assert_close(boxes.ciou(*pair, reduction=reduction), torch_reduce(distance + alpha * v, reduction),
                     call_repr("ciou", reduction=reduction), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(pair=box_pairs(), scale=st.floats(0.1, 10.0), shift=st.floats(-5.0, 5.0))
def test_ciou_equals_diou_for_boxes_of_one_aspect_ratio(pair, scale, shift):
    """v = 0 when the target is the input scaled and shifted: the aspect-ratio term vanishes."""
    b1 = pair[0]
    b2 = b1 * scale + shift
    np.testing.assert_allclose(boxes.ciou(b1, b2, reduction="none"), boxes.diou(b1, b2, reduction="none"),
                               rtol=1e-12, atol=1e-12)


@SETTINGS
@given(pair=box_pairs())
def test_diou_of_concentric_boxes_is_the_iou_loss(pair):
    b1, b2 = pair
    centre_shift = (b1[:, :2] + b1[:, 2:]) / 2 - (b2[:, :2] + b2[:, 2:]) / 2
    b2 = b2 + np.concatenate([centre_shift, centre_shift], axis=-1)
    np.testing.assert_allclose(boxes.diou(b1, b2, reduction="none"), segmentation.iou(b1, b2, reduction="none"),
                               rtol=1e-9, atol=1e-12)


def test_diou_closed_form_for_two_unit_squares_side_by_side():
    """Touching unit squares: IoU 0, ρ² = 1, c² = 2² + 1² = 5: loss 1 + 1/5."""
    b1, b2 = np.array([[0.0, 0.0, 1.0, 1.0]]), np.array([[1.0, 0.0, 2.0, 1.0]])
    assert boxes.diou(b1, b2, eps=0.0) == pytest.approx(1.2, rel=1e-15)


@SETTINGS
@given(pair=box_pairs())
def test_ciou_with_alpha_held_at_its_value_is_ciou(pair):
    alpha = boxes.ciou_alpha(*pair)
    np.testing.assert_allclose(boxes.ciou(*pair, alpha=alpha, reduction="none"), boxes.ciou(*pair, reduction="none"),
                               rtol=1e-14, atol=1e-14)
    assert np.all((alpha >= 0) & (alpha <= 1))


def test_identical_boxes_give_zero_and_bad_boxes_raise():
    b = PAIR[0]
    assert boxes.diou(b, b) == pytest.approx(0.0, abs=1e-6)
    assert boxes.ciou(b, b) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="x1 <= x2"):
        boxes.ciou(b[:, [2, 1, 0, 3]], b)
    with pytest.raises(ValueError, match="reduction"):
        boxes.diou(b, b, reduction="batchmean")


def test_ciou_gated_by_iou_is_diou_below_half_and_ciou_above():
    pred = np.array([[0.0, 0.0, 2.0, 1.0], [0.0, 0.0, 2.0, 2.0]])
    target = np.array([[5.0, 5.0, 6.0, 8.0], [0.0, 0.0, 2.0, 2.2]])  # IoU 0 and about 0.91
    gated = boxes.ciou(pred, target, reduction="none", alpha_gate="iou")
    assert gated[0] == pytest.approx(boxes.diou(pred, target, reduction="none")[0], rel=1e-12)
    assert gated[1] == pytest.approx(boxes.ciou(pred, target, reduction="none")[1], rel=1e-12)
    fixed = boxes.ciou_alpha(pred, target)
    np.testing.assert_allclose(boxes.ciou(pred, target, reduction="none", alpha=fixed, alpha_gate="iou"), gated,
                               rtol=1e-12)
    with pytest.raises(ValueError, match="alpha_gate must be one of"):
        boxes.ciou(pred, target, alpha_gate="always")
