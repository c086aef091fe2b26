"""Tests of the regularisation references: l1_penalty and l2_penalty.

Ground truth is torch computing the textbook formula in float64 (β·Σ|w|, ½α·Σw², and α·Σw² for Keras's
convention) over several tensors at once, with its autograd gradient against the closed forms β·sign(w) and
α·w; closed forms and edges (zeros, one element, huge weights) are forced explicitly.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from losscheck.references import regularisation as ref
from reference_checks import assert_close, call_repr, finite, reference_settings

SETTINGS = reference_settings(40)

tensors = st.lists(arrays(np.float64, array_shapes(min_dims=1, max_dims=4, max_side=4), elements=finite(-1e4, 1e4)),
                   min_size=1, max_size=3)
strengths = finite(0.0, 10.0)


def torch_l1(weights, beta):
    return beta * sum(torch.tensor(w).abs().sum() for w in weights)


def torch_l2(weights, alpha, half=True):
    return (0.5 if half else 1.0) * alpha * sum(torch.tensor(w).pow(2).sum() for w in weights)


@SETTINGS
@given(tensors, strengths)
@example([np.zeros((2, 3))], 1.0)
@example([np.array([1e4, -1e4]), np.array([[0.5]])], 0.01)
def test_l1_penalty_is_beta_times_the_sum_of_absolute_values(weights, beta):
    assert_close(ref.l1_penalty(*weights, beta=beta), torch_l1(weights, beta),
                 call_repr("l1_penalty", beta=beta), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(tensors, strengths, st.booleans())
@example([np.zeros(4)], 1.0, True)
@example([np.array([1e4, -3.0]), np.ones((2, 2))], 0.5, False)
def test_l2_penalty_is_half_alpha_times_the_sum_of_squares(weights, alpha, half):
    assert_close(ref.l2_penalty(*weights, alpha=alpha, half=half), torch_l2(weights, alpha, half),
                 call_repr("l2_penalty", alpha=alpha, half=half), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reference, closed_form", [
    (lambda w: ref.l1_penalty(w, beta=0.3), lambda w: 0.3 * np.sign(w)),
    (lambda w: ref.l2_penalty(w, alpha=0.3), lambda w: 0.3 * w),
    (lambda w: ref.l2_penalty(w, alpha=0.3, half=False), lambda w: 0.6 * w),
], ids=["l1", "l2", "l2-keras"])
def test_the_gradient_is_the_closed_form(reference, closed_form):
    w = np.array([[-2.0, 0.5], [3.0, -0.25]])
    h = 1e-6
    numeric = np.array([(reference(w + h * e) - reference(w - h * e)) / (2 * h)
                        for e in np.eye(w.size).reshape(w.size, *w.shape)]).reshape(w.shape)
    np.testing.assert_allclose(numeric, closed_form(w), rtol=1e-6)


def test_a_penalty_sums_over_every_tensor_given():
    a, b = np.array([1.0, -2.0]), np.array([[3.0]])
    assert ref.l1_penalty(a, b) == ref.l1_penalty(a) + ref.l1_penalty(b) == 6.0
    assert ref.l2_penalty(a, b, alpha=2.0) == 14.0


@pytest.mark.parametrize("penalty", [ref.l1_penalty, ref.l2_penalty])
def test_a_penalty_returns_a_float64_scalar_and_refuses_no_tensor(penalty):
    out = penalty(np.ones((2, 2), dtype=np.float32))
    assert isinstance(out, np.float64) and out.shape == ()
    with pytest.raises(ValueError, match="at least one tensor"):
        penalty()
