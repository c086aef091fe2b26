"""Tests of the jaccard reference (soft IoU on masks), each against an independent computation: on hard masks it is
1 - |P ∩ G| / |P ∪ G| computed with logical and/or; J = D / (2 - D) ties it to the dice reference at s = 0; a loop
over samples and channels for the pooling conventions; MONAI's DiceLoss(jaccard=True) (its Dice formula, the
smoothing halved) where MONAI is installed; and the switches of the known defects against their formulas."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from losscheck.references import segmentation
from reference_checks import REDUCTIONS, finite, reference_settings

SETTINGS = reference_settings(30)


@st.composite
def masks(draw, hard=False):
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=3, max_size=4), label="shape"))
    p = draw(arrays(np.float64, shape, elements=st.integers(0, 1) if hard else finite(0.0, 1.0)), label="input")
    g = draw(arrays(np.float64, shape, elements=st.integers(0, 1)), label="target")
    return p.astype(np.float64), g


@SETTINGS
@given(case=masks(hard=True))
def test_hard_masks_give_one_minus_iou_of_the_sets(case):
    p, g = case
    axes = tuple(range(2, p.ndim))
    inter = np.sum(np.logical_and(p, g), axis=axes)
    union = np.sum(np.logical_or(p, g), axis=axes)
    with np.errstate(invalid="ignore"):
        expected = 1.0 - inter / union
    np.testing.assert_allclose(segmentation.jaccard(p, g, smooth=0.0, reduction="none"), expected)
    np.testing.assert_allclose(segmentation.jaccard(p, g, smooth=0.0, squared_denominator=True, reduction="none"),
                               expected)


@SETTINGS
@given(case=masks())
def test_jaccard_is_dice_over_two_minus_dice_without_smoothing(case):
    p, g = case
    d = 1.0 - segmentation.dice(p, g, smooth=0.0, reduction="none")
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_allclose(segmentation.jaccard(p, g, smooth=0.0, reduction="none"), 1.0 - d / (2.0 - d))


@SETTINGS
@given(case=masks(), smooth=st.sampled_from([1.0, 1e-5, 0.1]), per_sample=st.booleans())
def test_jaccard_matches_a_loop_over_samples_and_channels(case, smooth, per_sample):
    p, g = case
    n, c = p.shape[:2]
    groups = [(p[i, k], g[i, k]) for i in range(n) for k in range(c)] if per_sample else \
        [(p[:, k], g[:, k]) for k in range(c)]
    values = []
    for a, b in groups:
        inter = float(np.sum(a * b))
        values.append(1.0 - (inter + smooth) / (float(np.sum(a) + np.sum(b)) - inter + smooth))
    expected = np.reshape(values, (n, c) if per_sample else (c,))
    for reduction in REDUCTIONS:
        got = segmentation.jaccard(p, g, smooth=smooth, per_sample=per_sample, reduction=reduction)
        want = expected if reduction == "none" else getattr(np, reduction)(expected)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(case=masks(), smooth=st.sampled_from([1.0, 1e-5]))
def test_doubled_form_is_the_smoothing_halved(case, smooth):
    p, g = case
    np.testing.assert_allclose(segmentation.jaccard(p, g, smooth=smooth, doubled_form=True, reduction="none"),
                               segmentation.jaccard(p, g, smooth=smooth / 2, reduction="none"), rtol=1e-12)


def test_empty_pair_is_0_with_smoothing_and_nan_without():
    z = np.zeros((1, 1, 2, 2))
    assert segmentation.jaccard(z, z) == 0.0
    assert np.isnan(segmentation.jaccard(z, z, smooth=0.0))
    assert segmentation.jaccard(z, z, smooth=1.0, smooth_numerator="empty") == 0.0
    assert segmentation.jaccard(z, np.ones_like(z), smooth=1.0, smooth_numerator="empty") == pytest.approx(1 - 0 / 5)


def test_defect_switches_against_their_formulas():
    p = np.array([[[0.2, 0.9, 0.5]]])
    g = np.array([[[0.0, 1.0, 1.0]]])
    inter, total = float(np.sum(p * g)), float(np.sum(p) + np.sum(g))
    assert segmentation.jaccard(p, g, sum_as_union=True) == pytest.approx(1 - (inter + 1) / (total + 1))
    assert segmentation.jaccard(p, g, activation="sigmoid", activation_twice=True) == pytest.approx(
        segmentation.jaccard(1 / (1 + np.exp(-p)), g, activation="sigmoid"))


@pytest.mark.parametrize("init, kwargs", [
    ({"jaccard": True}, {}),
    ({"jaccard": True, "batch": True}, {"per_sample": False}),
    ({"jaccard": True, "squared_pred": True, "sigmoid": True}, {"squared_denominator": True, "activation": "sigmoid"}),
    ({"jaccard": True, "smooth_nr": 0.0, "smooth_dr": 1e-5}, {"smooth_numerator": False, "smooth": 1e-5}),
])
def test_matches_monai_dice_loss_with_jaccard(init, kwargs):
    monai = pytest.importorskip("monai.losses")
    rng = np.random.default_rng(0)
    p = rng.uniform(size=(3, 2, 4, 3))
    g = (rng.uniform(size=p.shape) > 0.6).astype(np.float64)
    g[0, 1] = 0.0  # an empty channel
    want = monai.DiceLoss(**init)(torch.tensor(p), torch.tensor(g)).item()
    options = {"smooth": init.get("smooth_nr", 1e-5), **kwargs}
    assert segmentation.jaccard(p, g, doubled_form=True, **options) == pytest.approx(want, rel=1e-12)
