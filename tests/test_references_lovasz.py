"""Tests of the Lovasz references (lovasz_hinge, lovasz_softmax), each against an independent computation:

- the Lovasz extension against its definition, Σ m_π(i) (Δ(first i) - Δ(first i - 1)) with Δ(M) = |M| / |G ∪ M|
  computed on Python sets, and on 0/1 vectors equal to Δ itself (the extension interpolates the set function);
- the hinge at errors that are 0 or 1 (logits ±1 on correct pixels, 0 on wrong ones) equal to the Jaccard loss
  1 - IoU of the prediction; closed forms on one and two pixels; invariance to the order of the pixels (ties);
- its gradient against finite differences in float64 where the errors are distinct (it is differentiable there),
  from the sort: d/ds_i = -y_i · lovasz_grad_rank(i) where the error is positive;
- per image, over the batch and the ignored pixels against loops over the images and the kept pixels;
- the official code (segmentation_models_pytorch's copy, tests/fixtures/smp_lovasz.py) in float32.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fixtures import smp_lovasz
from losscheck.references import lovasz
from reference_checks import finite, reference_settings

SETTINGS = reference_settings()


def jaccard_set_loss(mispredicted: set, foreground: set) -> float:
    """Δ(M) = |M| / |G ∪ M| (0 for M empty), on Python sets of pixel indices."""
    return len(mispredicted) / len(foreground | mispredicted) if mispredicted else 0.0


def extension_by_definition(errors, gt) -> float:
    """Σ_i m_π(i) (Δ({π_1..π_i}) - Δ({π_1..π_{i-1}})), π sorting the errors decreasing, Δ on sets."""
    foreground = {i for i, g in enumerate(gt) if g}
    order = sorted(range(len(errors)), key=lambda i: -errors[i])
    total, previous = 0.0, 0.0
    for k in range(len(order)):
        current = jaccard_set_loss(set(order[:k + 1]), foreground)
        total += errors[order[k]] * (current - previous)
        previous = current
    return total


@st.composite
def errors_and_labels(draw, max_size=9):
    n = draw(st.integers(1, max_size), label="pixels")
    errors = draw(arrays(np.float64, n, elements=finite(0.0, 3.0)), label="errors")
    gt = draw(arrays(np.int64, n, elements=st.integers(0, 1)), label="labels")
    return errors, gt


@SETTINGS
@given(case=errors_and_labels())
@example(case=(np.ones(4), np.array([1, 0, 1, 0])))
@example(case=(np.array([0.5, 2.0]), np.zeros(2, dtype=np.int64)))
def test_extension_matches_its_definition_on_sets(case):
    errors, gt = case
    assert lovasz.lovasz_extension(errors, gt) == pytest.approx(extension_by_definition(errors, gt), abs=1e-12)


@SETTINGS
@given(gt=arrays(np.int64, st.integers(1, 9), elements=st.integers(0, 1)), data=st.data())
def test_extension_of_a_0_1_vector_is_the_jaccard_loss_of_that_set(gt, data):
    mask = data.draw(arrays(np.int64, gt.shape, elements=st.integers(0, 1)), label="mispredicted")
    expected = jaccard_set_loss({i for i in range(gt.size) if mask[i]}, {i for i in range(gt.size) if gt[i]})
    assert lovasz.lovasz_extension(mask.astype(np.float64), gt) == pytest.approx(expected, abs=1e-12)


@SETTINGS
@given(labels=arrays(np.int64, st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
                     elements=st.integers(0, 1)), data=st.data())
def test_hinge_at_hard_errors_is_one_minus_iou_per_image(labels, data):
    """Logits ±1 on correct pixels (error 0) and 0 on wrong ones (error 1): the loss of each image is 1 - IoU of
    the foreground it predicts (1 - TP/(TP + FP + FN); 0 for an image with no foreground predicted or present)."""
    wrong = data.draw(arrays(np.int64, labels.shape, elements=st.integers(0, 1)), label="wrong")
    logits = np.where(wrong == 1, 0.0, 2.0 * labels - 1.0)
    predicted = np.where(wrong == 1, 1 - labels, labels)
    axes = (1, 2)
    tp = np.sum(predicted * labels, axis=axes)
    union = np.sum(np.maximum(predicted, labels), axis=axes)
    expected = np.mean(np.where(union > 0, 1.0 - tp / np.maximum(union, 1), 0.0))
    assert lovasz.lovasz_hinge(logits, labels, per_image=True) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("s", [-2.0, -0.5, 0.0, 0.3, 1.0, 4.0])
def test_hinge_closed_forms_on_one_and_two_pixels(s):
    """One foreground pixel: Δ({it}) = 1, so the loss is relu(1 - s). Two pixels, labels (1, 0), logits (a, b):
    errors e1 = 1 - a, e2 = 1 + b; the loss is max(e1, (e1 + e2)/2) where both errors are positive."""
    assert lovasz.lovasz_hinge(np.array([[s]]), np.array([[1]])) == pytest.approx(max(1.0 - s, 0.0), abs=1e-15)
    a, b = s, 0.25
    e1, e2 = 1.0 - a, 1.0 + b
    want = max(e1, (e1 + e2) / 2) if e1 > 0 else e2 / 2
    assert lovasz.lovasz_hinge(np.array([[a, b]]), np.array([[1, 0]])) == pytest.approx(want, abs=1e-15)


@SETTINGS
@given(case=errors_and_labels(), seed=st.integers(0, 2 ** 16))
@example(case=(np.ones(5), np.array([1, 1, 0, 0, 1])), seed=3)
def test_hinge_is_independent_of_the_order_of_the_pixels(case, seed):
    logits, labels = case
    perm = np.random.default_rng(seed).permutation(logits.size)
    assert lovasz.lovasz_hinge(logits[None], labels[None]) == pytest.approx(
        lovasz.lovasz_hinge(logits[perm][None], labels[perm][None]), abs=1e-12)


@SETTINGS
@given(labels=arrays(np.int64, st.integers(1, 8), elements=st.integers(0, 1)), data=st.data())
def test_hinge_gradient_matches_finite_differences_where_the_errors_are_distinct(labels, data):
    logits = data.draw(arrays(np.float64, labels.shape, elements=finite(-3.0, 3.0), unique=True), label="logits")
    signs = 2.0 * labels - 1.0
    errors = 1.0 - logits * signs
    gaps = np.diff(np.sort(errors))
    if (gaps.size and gaps.min() < 1e-3) or np.min(np.abs(errors)) < 1e-3:
        return  # a tie or a hinge at its margin: not differentiable there
    order = np.argsort(-errors)
    weights = np.empty_like(errors)
    weights[order] = lovasz.lovasz_grad(labels[order])
    analytic = -signs * weights * (errors > 0)
    h = 1e-6
    numeric = np.array([(lovasz.lovasz_hinge((logits + h * e)[None], labels[None])
                         - lovasz.lovasz_hinge((logits - h * e)[None], labels[None])) / (2 * h)
                        for e in np.eye(logits.size)])
    np.testing.assert_allclose(numeric, analytic, atol=1e-7)


@st.composite
def batches(draw, classes=None):
    n, h, w = (draw(st.integers(1, 3), label=k) for k in "nhw")
    if classes is None:
        scores = draw(arrays(np.float64, (n, h, w), elements=finite(-3.0, 3.0)), label="logits")
        labels = draw(arrays(np.int64, (n, h, w), elements=st.integers(0, 1)), label="labels")
    else:
        x = draw(arrays(np.float64, (n, classes, h, w), elements=finite(-3.0, 3.0)), label="logits")
        scores = np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)
        labels = draw(arrays(np.int64, (n, h, w), elements=st.integers(0, classes - 1)), label="labels")
    void = draw(arrays(np.bool_, (n, h, w)), label="ignored")
    return scores, np.where(void, 255, labels)


@SETTINGS
@given(case=batches())
def test_hinge_per_image_over_the_batch_and_ignore_against_loops(case):
    logits, labels = case

    def flat(s, y):
        keep = y != 255
        s, y = s[keep], y[keep]
        return lovasz.lovasz_extension(np.maximum(1.0 - s * (2.0 * y - 1.0), 0.0), y) if y.size else 0.0

    per_image = np.mean([flat(s.ravel(), y.ravel()) for s, y in zip(logits, labels)])
    assert lovasz.lovasz_hinge(logits, labels, ignore=255) == pytest.approx(per_image, abs=1e-12)
    assert lovasz.lovasz_hinge(logits, labels, per_image=False, ignore=255) == pytest.approx(
        flat(logits.ravel(), labels.ravel()), abs=1e-12)


@SETTINGS
@given(case=batches(classes=3), classes=st.sampled_from(["present", "all"]), per_image=st.booleans())
def test_softmax_is_the_mean_over_classes_of_each_class_extension(case, classes, per_image):
    probas, labels = case

    def flat(p, y):
        keep = y != 255
        p, y = p[:, keep], y[keep]
        losses = [lovasz.lovasz_extension(np.abs((y == c) - p[c]), y == c) for c in range(p.shape[0])
                  if y.size and (classes == "all" or np.any(y == c))]
        return np.mean(losses) if losses else 0.0

    groups = [(p.reshape(3, -1), y.ravel()) for p, y in zip(probas, labels)] if per_image else \
        [(np.moveaxis(probas, 1, 0).reshape(3, -1), labels.ravel())]
    expected = np.mean([flat(p, y) for p, y in groups])
    got = lovasz.lovasz_softmax(probas, labels, classes=classes, per_image=per_image, ignore=255)
    assert got == pytest.approx(expected, abs=1e-12)


def test_softmax_activation_takes_logits_and_a_perfect_prediction_scores_0():
    labels = np.array([[[0, 1], [2, 2]]])
    onehot = np.moveaxis(np.eye(3)[labels], -1, 1)
    assert lovasz.lovasz_softmax(onehot, labels) == 0.0
    x = np.random.default_rng(0).normal(size=(1, 3, 2, 2))
    p = np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)
    assert lovasz.lovasz_softmax(x, labels, activation="softmax") == pytest.approx(lovasz.lovasz_softmax(p, labels))


def test_defect_switches_differ_from_the_reference_where_they_should():
    logits = np.array([[0.5, -1.0, 2.0, 0.1]])
    labels = np.array([[1, 0, 0, 1]])
    right = lovasz.lovasz_hinge(logits, labels)
    assert lovasz.lovasz_hinge(logits, labels, labels_sorted=False) != pytest.approx(right)
    assert lovasz.lovasz_hinge(logits, labels, hinge="elu+1") > right
    # elu + 1 never reaches 0: a prediction beyond the margin still costs
    assert lovasz.lovasz_hinge(np.array([[3.0, -3.0]]), np.array([[1, 0]])) == 0.0
    assert lovasz.lovasz_hinge(np.array([[3.0, -3.0]]), np.array([[1, 0]]), hinge="elu+1") > 0.0


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="one shape"):
        lovasz.lovasz_hinge(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="0 or 1"):
        lovasz.lovasz_hinge(np.zeros((1, 2)), np.array([[0, 2]]))
    with pytest.raises(ValueError, match="classes"):
        lovasz.lovasz_softmax(np.full((1, 2, 1), 0.5), np.zeros((1, 1), dtype=int), classes="some")
    with pytest.raises(ValueError, match="do not match"):
        lovasz.lovasz_softmax(np.full((1, 2, 3), 0.5), np.zeros((1, 2), dtype=int))


@SETTINGS
@given(case=batches(), per_image=st.booleans())
def test_hinge_matches_the_official_code_in_float32(case, per_image):
    logits, labels = case
    got = smp_lovasz._lovasz_hinge(torch.tensor(logits, dtype=torch.float32), torch.tensor(labels),
                                   per_image=per_image, ignore=255)
    assert lovasz.lovasz_hinge(logits, labels, per_image=per_image, ignore=255) == pytest.approx(
        float(got), rel=1e-5, abs=1e-5)


@SETTINGS
@given(case=batches(classes=3), classes=st.sampled_from(["present", "all"]), per_image=st.booleans())
def test_softmax_matches_the_official_code_in_float32(case, classes, per_image):
    probas, labels = case
    if np.any(np.all(labels == 255, axis=(1, 2) if per_image else None)):
        return  # the official code returns a (0, C) tensor for an image (or batch) with every pixel ignored
    got = smp_lovasz._lovasz_softmax(torch.tensor(probas, dtype=torch.float32), torch.tensor(labels), classes=classes,
                                     per_image=per_image, ignore=255)
    assert lovasz.lovasz_softmax(probas, labels, classes=classes, per_image=per_image, ignore=255) == pytest.approx(
        float(got), rel=1e-5, abs=1e-5)
