"""Tests of the image-text and in-batch contrastive references: clip, siglip, supcon and multiple_negatives_ranking.

Each is checked against an independent computation: clip against two torch cross-entropies over the similarity
matrix (and 0 at batch 1, a closed form on orthonormal features); siglip against a direct double loop over the
pairs in plain Python; supcon against a per-anchor loop of Khosla et al.'s eqs. 2 and 3 and against
pytorch-metric-learning's SupConLoss; multiple_negatives_ranking against torch's cross-entropy over normalised
embeddings with the hard negatives appended as columns. Arrays come from hypothesis (derandomized, no example
database), with the edges as explicit examples.
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

from losscheck.references import imagetext
from reference_checks import REDUCTIONS, assert_close, call_repr, finite, reference_settings, torch_reduce, tt

SETTINGS = reference_settings()


def unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


@st.composite
def feature_pairs(draw, min_n=1):
    n, d = draw(st.integers(min_n, 5), label="N"), draw(st.integers(1, 4), label="D")
    return tuple(draw(arrays(np.float64, (n, d), elements=finite(-3, 3)), label=name) for name in ("x", "y"))


ORTHONORMAL = (np.eye(3), np.eye(3))


# -- the logit scale ------------------------------------------------------------------------------------------------
def test_the_logit_multiplier_in_each_form():
    assert imagetext.logit_multiplier(14.0, "scale") == 14.0
    assert imagetext.logit_multiplier(math.log(20.0), "log") == pytest.approx(20.0, rel=1e-15)
    assert imagetext.logit_multiplier(math.log(20.0), "log_clamped") == pytest.approx(20.0, rel=1e-15)
    assert imagetext.logit_multiplier(10.0, "log") == pytest.approx(math.exp(10.0), rel=1e-15)
    assert imagetext.logit_multiplier(10.0, "log_clamped") == 100.0
    with pytest.raises(ValueError, match="logit_scale_form"):
        imagetext.logit_multiplier(1.0, "exp")


# -- clip -----------------------------------------------------------------------------------------------------------
@SETTINGS
@given(pair=feature_pairs(), scale=st.sampled_from([1.0, 1 / 0.07, 100.0]))
@example(pair=ORTHONORMAL, scale=100.0)
def test_clip_equals_the_mean_of_two_cross_entropies_over_the_similarity_matrix(pair, scale):
    x, y = pair
    logits = scale * tt(x) @ tt(y).T
    labels = torch.arange(len(x))
    expected = (F.cross_entropy(logits, labels, reduction="none")
                + F.cross_entropy(logits.T, labels, reduction="none")) / 2
    for reduction in REDUCTIONS:
        assert_close(imagetext.clip(x, y, logit_scale=scale, reduction=reduction), torch_reduce(expected, reduction),
                     call_repr("clip", logit_scale=scale, reduction=reduction), rtol=1e-12, atol=1e-12)
    for form in ("log", "log_clamped"):
        t = imagetext.logit_multiplier(math.log(scale), form)
        assert imagetext.clip(x, y, logit_scale=math.log(scale), logit_scale_form=form) == \
            pytest.approx(imagetext.clip(x, y, logit_scale=t), rel=1e-12, abs=1e-12)


@SETTINGS
@given(pair=feature_pairs(), scale=st.sampled_from([1.0, 14.0, 1e3]))
def test_clip_at_batch_one_is_zero(pair, scale):
    x, y = pair
    assert imagetext.clip(x[:1], y[:1], logit_scale=scale) == 0.0


@pytest.mark.parametrize("n, t", [(2, 1.0), (3, 14.0), (5, 100.0)])
def test_clip_on_orthonormal_matching_features_is_log_one_plus_n_minus_one_exp_minus_t(n, t):
    """X = Y = I: each row's logits are t on the match and 0 elsewhere, so each CE is log(1 + (N - 1)e^(-t))."""
    expected = math.log1p((n - 1) * math.exp(-t))
    assert imagetext.clip(np.eye(n), np.eye(n), logit_scale=t) == pytest.approx(expected, rel=1e-12)


def test_clip_on_equal_features_is_log_n():
    x = np.tile(unit(np.array([[1.0, 2.0, 3.0]])), (4, 1))
    assert imagetext.clip(x, x, logit_scale=50.0) == pytest.approx(math.log(4), rel=1e-12)


def test_clip_rejects_mismatched_features():
    with pytest.raises(ValueError, match="image and text"):
        imagetext.clip(np.zeros((2, 3)), np.zeros((3, 3)))


# -- siglip ---------------------------------------------------------------------------------------------------------
def siglip_double_loop(x, y, t, b):
    """-Σ_i Σ_j log σ(z_ij (t x_i·y_j + b)) / N, one pair at a time, in plain Python floats."""
    total, n = 0.0, len(x)
    for i in range(n):
        for j in range(n):
            z = 1.0 if i == j else -1.0
            u = z * (t * sum(a * c for a, c in zip(x[i], y[j])) + b)
            total += math.log1p(math.exp(-u)) if u > -30 else -u + math.log1p(math.exp(u))
    return total / n


@SETTINGS
@given(pair=feature_pairs(), scale=st.sampled_from([1.0, 10.0]), bias=st.sampled_from([-10.0, 0.0, 2.5]))
@example(pair=ORTHONORMAL, scale=10.0, bias=-10.0)
def test_siglip_matches_a_direct_double_loop(pair, scale, bias):
    x, y = pair
    expected = siglip_double_loop(x.tolist(), y.tolist(), scale, bias)
    assert imagetext.siglip(x, y, logit_scale=scale, logit_bias=bias) == pytest.approx(expected, rel=1e-10,
                                                                                          abs=1e-12)


@SETTINGS
@given(pair=feature_pairs(), bias=st.sampled_from([-10.0, 0.0]))
def test_siglip_reductions_match_torch_logsigmoid(pair, bias):
    x, y = pair
    logits = 10.0 * tt(x) @ tt(y).T + bias
    z = 2 * torch.eye(len(x), dtype=torch.float64) - 1
    rows = -F.logsigmoid(z * logits).sum(dim=1)
    for reduction in REDUCTIONS:
        assert_close(imagetext.siglip(x, y, logit_bias=bias, reduction=reduction), torch_reduce(rows, reduction),
                     call_repr("siglip", logit_bias=bias, reduction=reduction), rtol=1e-12, atol=1e-12)


def test_siglip_stays_finite_at_huge_margins():
    x = np.eye(2)
    assert np.isfinite(imagetext.siglip(x, -x, logit_scale=1e6, logit_bias=0.0))


# -- supcon ---------------------------------------------------------------------------------------------------------
def supcon_loop(e, labels, tau, base, inside=False):
    """Khosla et al. eqs. 2 (L_out) and 3 (L_in), anchor by anchor, in plain Python floats."""
    n, losses = len(e), []
    for i in range(n):
        sims = {a: sum(p * q for p, q in zip(e[i], e[a])) / tau for a in range(n) if a != i}
        denominator = sum(math.exp(s) for s in sims.values())
        positives = [p for p in sims if labels[p] == labels[i]]
        if not positives:
            losses.append(0.0)
            continue
        if inside:
            value = -math.log(sum(math.exp(sims[p]) / denominator for p in positives) / len(positives))
        else:
            value = -sum(math.log(math.exp(sims[p]) / denominator) for p in positives) / len(positives)
        losses.append(tau / base * value)
    return losses


@st.composite
def labelled_embeddings(draw):
    n, d = draw(st.integers(2, 6), label="N"), draw(st.integers(1, 4), label="D")
    e = unit(draw(arrays(np.float64, (n, d), elements=finite(-3, 3)), label="embeddings") + 1e-3)
    return e, draw(arrays(np.int64, (n,), elements=st.integers(0, 2)), label="labels")


@SETTINGS
@given(data=labelled_embeddings(), tau=st.sampled_from([0.07, 0.1, 0.5]), inside=st.booleans())
@example(data=(np.eye(3)[[0, 0, 1, 1]], np.array([0, 0, 1, 1])), tau=0.07, inside=False)
def test_supcon_matches_the_per_anchor_formulas(data, tau, inside):
    e, labels = data
    expected = np.array(supcon_loop(e.tolist(), labels.tolist(), tau, 0.07, inside))
    positives = "inside" if inside else "outside"
    for reduction in REDUCTIONS:
        got = imagetext.supcon(e, labels, temperature=tau, base_temperature=0.07, positives=positives,
                               reduction=reduction)
        want = expected if reduction == "none" else expected.mean() if reduction == "mean" else expected.sum()
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(data=labelled_embeddings(), tau=st.sampled_from([0.07, 0.1, 0.5]))
def test_supcon_matches_pytorch_metric_learning_where_every_anchor_has_a_positive(data, tau):
    losses = pytest.importorskip("pytorch_metric_learning.losses")
    e, labels = data
    counts = np.bincount(labels)
    if np.any(counts[labels] < 2) or len(set(labels.tolist())) < 2:
        return  # pml leaves anchors without positives out of the mean (AvgNonZeroReducer); SupContrast counts 0
    expected = losses.SupConLoss(temperature=tau)(tt(e), torch.as_tensor(labels)).item()
    assert imagetext.supcon(e, labels, temperature=tau) == pytest.approx(expected, rel=1e-9)


def test_supcon_base_temperature_scales_by_tau_over_base():
    e, labels = unit(np.array([[1.0, 0.2], [0.9, 0.1], [-1.0, 0.3], [-0.8, -0.5]])), np.array([0, 0, 1, 1])
    plain = imagetext.supcon(e, labels, temperature=0.1)
    assert imagetext.supcon(e, labels, temperature=0.1, base_temperature=0.07) == pytest.approx(plain * 0.1 / 0.07)


def test_supcon_anchor_without_positives_scores_zero_and_counts():
    e, labels = np.eye(3), np.array([0, 0, 1])
    none = imagetext.supcon(e, labels, temperature=1.0, reduction="none")
    assert none[2] == 0.0 and none[0] > 0
    assert imagetext.supcon(e, labels, temperature=1.0) == pytest.approx(none.sum() / 3)


def test_supcon_rejects_bad_options():
    with pytest.raises(ValueError, match="positives"):
        imagetext.supcon(np.eye(2), np.array([0, 0]), positives="both")
    with pytest.raises(ValueError, match="temperature"):
        imagetext.supcon(np.eye(2), np.array([0, 0]), temperature=0.0)


# -- multiple_negatives_ranking -------------------------------------------------------------------------------------
@SETTINGS
@given(pair=feature_pairs(), scale=st.sampled_from([1.0, 20.0]), hard=st.integers(0, 2),
       similarity=st.sampled_from(["cos", "dot"]), data=st.data())
def test_multiple_negatives_ranking_is_cross_entropy_over_scaled_similarities_with_negatives_appended(
        pair, scale, hard, similarity, data):
    a, p = (x + 0.5 for x in pair)
    negatives = data.draw(arrays(np.float64, (hard * len(a), a.shape[1]), elements=finite(-3, 3)), label="negatives")
    candidates = torch.cat([tt(p), tt(negatives)])
    ta = tt(a)
    if similarity == "cos":
        ta, candidates = F.normalize(ta, dim=1, eps=1e-12), F.normalize(candidates, dim=1, eps=1e-12)
    expected = F.cross_entropy(ta @ candidates.T * scale, torch.arange(len(a)), reduction="none")
    for reduction in REDUCTIONS:
        got = imagetext.multiple_negatives_ranking(a, p, negatives if hard else None, scale=scale,
                                                   similarity=similarity, reduction=reduction)
        assert_close(got, torch_reduce(expected, reduction),
                     call_repr("multiple_negatives_ranking", scale=scale, similarity=similarity, reduction=reduction),
                     rtol=1e-12, atol=1e-12)


def test_multiple_negatives_ranking_is_invariant_to_the_embeddings_norms():
    a, p = np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([[0.3, 1.0], [2.0, -1.0]])
    assert imagetext.multiple_negatives_ranking(a * 7.0, p * 0.1) == \
        pytest.approx(imagetext.multiple_negatives_ranking(a, p), rel=1e-12)
