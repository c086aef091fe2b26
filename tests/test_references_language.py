"""Tests of the language-model references: z_loss, kd, dpo, simpo, orpo and causal_lm, and cross_entropy with the
classes last (class_axis=-1), as language-model code calls it.

Each is checked against torch in float64, composed from the built-ins its formula names (logsumexp, kl_div,
logsigmoid, cross_entropy), for every reduction; and against closed forms that need no torch: z_loss on uniform
logits is coef·log²V, kd at T = 1 is the KL divergence (kl_div 'batchmean'), dpo at policy = reference is log 2,
simpo at equal answers is softplus(γ), orpo at equal answers is β log 2.
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

from losscheck.references import classification, language
from losscheck.references._reduce import reduce
from reference_checks import REDUCTIONS, assert_close, call_repr, finite, reference_settings, torch_reduce, tt

SETTINGS = reference_settings()

EXTREME = np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0], [-1e4, -1e4, -1e4]])


@st.composite
def logit_arrays(draw, min_dims=1, max_dims=3, bound=30.0):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=min_dims, max_size=max_dims), label="shape"))
    return draw(arrays(np.float64, shape, elements=finite(-bound, bound)), label="logits")


# -- z_loss ---------------------------------------------------------------------------------------------------------
@SETTINGS
@given(x=logit_arrays(), coef=st.sampled_from([1e-4, 1.0, 0.5]))
@example(x=EXTREME, coef=1e-4)
@example(x=np.zeros(1), coef=1.0)
def test_z_loss_matches_torch_logsumexp_squared(x, coef):
    expected = coef * torch.logsumexp(tt(x), dim=-1) ** 2
    for reduction in REDUCTIONS:
        assert_close(language.z_loss(x, coef=coef, reduction=reduction), torch_reduce(expected, reduction),
                     call_repr("z_loss", coef=coef, reduction=reduction), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("v", [1, 2, 7, 50_000])
def test_z_loss_on_uniform_logits_is_coef_log_squared_v(v):
    """Uniform logits c: log Z = c + log V; at c = 0 the loss is coef·log²V."""
    assert language.z_loss(np.zeros((3, v)), coef=1e-4) == pytest.approx(1e-4 * math.log(v) ** 2, rel=1e-14)
    assert language.z_loss(np.full((2, v), 3.0), coef=2.0) == pytest.approx(2.0 * (3.0 + math.log(v)) ** 2, rel=1e-14)


def test_z_loss_rejects_a_scalar_and_an_unknown_reduction():
    with pytest.raises(ValueError, match="class axis"):
        language.z_loss(np.float64(1.0))
    with pytest.raises(ValueError, match="reduction"):
        language.z_loss(np.zeros((2, 3)), reduction="batchmean")


# -- kd -------------------------------------------------------------------------------------------------------------
@st.composite
def logit_pairs(draw):
    n, c = draw(st.integers(1, 4), label="N"), draw(st.integers(1, 5), label="C")
    pair = [draw(arrays(np.float64, (n, c), elements=finite(-20, 20)), label=name) for name in ("student", "teacher")]
    return tuple(pair)


def torch_kd(s, t, temperature, labels=None, alpha=None):
    log_q = F.log_softmax(tt(s) / temperature, dim=-1)
    p = F.softmax(tt(t) / temperature, dim=-1)
    values = F.kl_div(log_q, p, reduction="none").sum(-1) * temperature ** 2
    if labels is not None:
        values = alpha * values + (1 - alpha) * F.cross_entropy(tt(s), tt(labels), reduction="none")
    return values


@SETTINGS
@given(pair=logit_pairs(), temperature=st.sampled_from([1.0, 2.0, 4.0, 0.5]))
@example(pair=(EXTREME[::-1].copy(), EXTREME), temperature=1.0)
@example(pair=(EXTREME, EXTREME), temperature=4.0)
def test_kd_matches_torch_kl_div_times_t_squared(pair, temperature):
    s, t = pair
    expected = torch_kd(s, t, temperature)
    for reduction in REDUCTIONS:
        assert_close(language.kd(s, t, temperature=temperature, reduction=reduction),
                     torch_reduce(expected, reduction), call_repr("kd", temperature=temperature, reduction=reduction))
    batchmean = F.kl_div(F.log_softmax(tt(s) / temperature, -1), F.softmax(tt(t) / temperature, -1),
                         reduction="batchmean") * temperature ** 2
    assert_close(language.kd(s, t, temperature=temperature), batchmean, "kd is kl_div 'batchmean' · T²")
    with pytest.warns(UserWarning, match="batchmean"):  # torch's own advice against 'mean'
        elementwise = F.kl_div(F.log_softmax(tt(s) / temperature, -1), F.softmax(tt(t) / temperature, -1),
                               reduction="mean") * temperature ** 2
    assert_close(language.kd(s, t, temperature=temperature, normalise="elements"), elementwise,
                 "kd(normalise='elements') is kl_div 'mean' · T²")


@SETTINGS
@given(pair=logit_pairs())
def test_kd_at_temperature_one_is_the_kl_divergence(pair):
    """Independent of torch: at T = 1 kd is KL(softmax(t) ‖ softmax(s)) per sample, kl_div's 'batchmean'."""
    s, t = pair
    p = np.exp(t - np.logaddexp.reduce(t, axis=-1, keepdims=True))
    log_q = s - np.logaddexp.reduce(s, axis=-1, keepdims=True)
    assert_close(language.kd(s, t, temperature=1.0), classification.kl_div(log_q, p, reduction="batchmean"),
                 "kd(T=1) == kl_div(batchmean)")


@SETTINGS
@given(pair=logit_pairs(), alpha=st.sampled_from([0.0, 0.5, 0.9, 1.0]), data=st.data())
def test_kd_mixed_with_hard_labels_matches_torch(pair, alpha, data):
    s, t = pair
    labels = data.draw(arrays(np.int64, s.shape[:1], elements=st.integers(0, s.shape[1] - 1)), label="labels")
    expected = torch_kd(s, t, 2.0, labels, alpha)
    for reduction in REDUCTIONS:
        assert_close(language.kd(s, t, labels, temperature=2.0, mix="alpha", alpha=alpha, reduction=reduction),
                     torch_reduce(expected, reduction), call_repr("kd", mix="alpha", alpha=alpha, reduction=reduction))


def test_kd_is_zero_for_a_student_equal_to_its_teacher_and_rejects_bad_options():
    x = np.array([[1.0, -2.0, 0.5], [3.0, 3.0, 3.0]])
    assert language.kd(x, x, temperature=3.0) == pytest.approx(0.0, abs=1e-15)
    assert language.kd(x[0], x[0] + 1.0, reduction="none").shape == ()
    for bad in ({"temperature": 0.0}, {"normalise": "tokens"}, {"mix": "beta"}, {"mix": "alpha"}):
        with pytest.raises(ValueError):
            language.kd(x, x, **bad)
    with pytest.raises(ValueError, match="must both be"):
        language.kd(x, x[:, :2])


# -- dpo ------------------------------------------------------------------------------------------------------------
@st.composite
def log_prob_quads(draw, bound=60.0):
    n = draw(st.integers(1, 5), label="N")
    return tuple(draw(arrays(np.float64, (n,), elements=finite(-bound, 0.0)), label=name)
                 for name in ("policy_chosen", "policy_rejected", "reference_chosen", "reference_rejected"))


def torch_dpo(quad, beta, label_smoothing=0.0, loss_type="sigmoid", reference_free=False):
    pc, pr, rc, rr = (tt(a) for a in quad)
    h = (pc - pr) - (0.0 if reference_free else (rc - rr))
    if loss_type == "ipo":
        return (h - 1 / (2 * beta)) ** 2
    if loss_type == "hinge":
        return torch.relu(1 - beta * h)
    if loss_type == "robust":  # TRL's DPOTrainer, loss_type='robust'
        return (-F.logsigmoid(beta * h) * (1 - label_smoothing) + F.logsigmoid(-beta * h) * label_smoothing) \
            / (1 - 2 * label_smoothing)
    return -F.logsigmoid(beta * h) * (1 - label_smoothing) - F.logsigmoid(-beta * h) * label_smoothing


LARGE_MARGINS = (np.array([0.0, -1e4]), np.array([-1e4, 0.0]), np.array([-1e4, 0.0]), np.array([0.0, -1e4]))


@SETTINGS
@given(quad=log_prob_quads(), beta=st.sampled_from([0.1, 0.5, 2.0]),
       label_smoothing=st.sampled_from([0.0, 0.1, 0.5]), loss_type=st.sampled_from(language.DPO_LOSS_TYPES),
       reference_free=st.booleans())
@example(quad=LARGE_MARGINS, beta=0.1, label_smoothing=0.0, loss_type="sigmoid", reference_free=False)
@example(quad=LARGE_MARGINS, beta=2.0, label_smoothing=0.1, loss_type="sigmoid", reference_free=True)
def test_dpo_matches_torch_logsigmoid(quad, beta, label_smoothing, loss_type, reference_free):
    if loss_type == "robust" and label_smoothing == 0.5:
        label_smoothing = 0.25  # robust DPO divides by 1 - 2ε
    options = dict(beta=beta, label_smoothing=label_smoothing, loss_type=loss_type, reference_free=reference_free)
    expected = torch_dpo(quad, **options)
    for reduction in REDUCTIONS:
        assert_close(language.dpo(*quad, **options, reduction=reduction), torch_reduce(expected, reduction),
                     call_repr("dpo", **options, reduction=reduction))


@SETTINGS
@given(quad=log_prob_quads(), beta=st.sampled_from([0.1, 1.0, 5.0]), label_smoothing=st.sampled_from([0.0, 0.2]))
def test_dpo_at_policy_equal_to_reference_is_log_2(quad, beta, label_smoothing):
    pc, pr, _, _ = quad
    assert language.dpo(pc, pr, pc, pr, beta=beta, label_smoothing=label_smoothing) == pytest.approx(
        math.log(2), rel=1e-14)


def test_dpo_stays_finite_at_large_margins_and_rejects_bad_options():
    out = language.dpo(*LARGE_MARGINS, beta=0.1, reduction="none")
    assert np.all(np.isfinite(out)) and out[1] == pytest.approx(2000.0, rel=1e-12)  # -log σ(-2000) = 2000
    x = np.zeros(2)
    for bad in ({"beta": 0.0}, {"label_smoothing": 0.7}, {"loss_type": "kto"}):
        with pytest.raises(ValueError):
            language.dpo(x, x, x, x, **bad)
    with pytest.raises(ValueError, match="one shape"):
        language.dpo(x, x, x, np.zeros(3))


# -- simpo, orpo ----------------------------------------------------------------------------------------------------
@st.composite
def log_prob_pairs(draw, bound=20.0):
    n = draw(st.integers(1, 5), label="N")
    return tuple(draw(arrays(np.float64, (n,), elements=finite(-bound, -1e-6)), label=name)
                 for name in ("policy_chosen", "policy_rejected"))


@SETTINGS
@given(pair=log_prob_pairs(), beta=st.sampled_from([0.5, 2.0, 10.0]), ratio=st.sampled_from([0.0, 0.5, 1.5]),
       label_smoothing=st.sampled_from([0.0, 0.2]))
@example(pair=(np.array([-1e-6, -20.0]), np.array([-20.0, -1e-6])), beta=10.0, ratio=0.5, label_smoothing=0.0)
def test_simpo_matches_the_simpo_trainer_in_torch(pair, beta, ratio, label_smoothing):
    pc, pr = (tt(a) for a in pair)
    logits = (pc - pr) - ratio  # princeton-nlp/SimPO simpo_loss: pi_logratios - gamma_beta_ratio
    expected = -F.logsigmoid(beta * logits) * (1 - label_smoothing) - F.logsigmoid(-beta * logits) * label_smoothing
    options = dict(beta=beta, gamma_beta_ratio=ratio, label_smoothing=label_smoothing)
    for reduction in REDUCTIONS:
        assert_close(language.simpo(*pair, **options, reduction=reduction), torch_reduce(expected, reduction),
                     call_repr("simpo", **options, reduction=reduction))


def test_simpo_at_equal_answers_is_softplus_of_the_margin_and_rejects_bad_options():
    x = np.array([-3.0, -0.5])
    assert language.simpo(x, x, beta=2.0, gamma_beta_ratio=0.5) == pytest.approx(math.log1p(math.e), rel=1e-14)
    for bad in ({"beta": 0.0}, {"label_smoothing": 0.7}):
        with pytest.raises(ValueError):
            language.simpo(x, x, **bad)
    with pytest.raises(ValueError, match="one shape"):
        language.simpo(x, np.zeros(3))


@SETTINGS
@given(pair=log_prob_pairs(), beta=st.sampled_from([0.1, 1.0]))
@example(pair=(np.array([-1e-9, -0.7, -30.0]), np.array([-30.0, -0.69, -1e-9])), beta=0.1)
def test_orpo_matches_the_odds_written_out_in_torch(pair, beta):
    pc, pr = (tt(a) for a in pair)
    log_odds = (pc - torch.log(-torch.expm1(pc))) - (pr - torch.log(-torch.expm1(pr)))  # log p - log(1 - p)
    expected = -beta * F.logsigmoid(log_odds)
    for reduction in REDUCTIONS:
        assert_close(language.orpo(*pair, beta=beta, reduction=reduction), torch_reduce(expected, reduction),
                     call_repr("orpo", beta=beta, reduction=reduction))


def test_orpo_at_equal_answers_is_beta_log_2_and_rejects_a_probability_above_one():
    x = np.array([-3.0, -1e-8, -40.0])
    assert language.orpo(x, x, beta=0.25) == pytest.approx(0.25 * math.log(2), rel=1e-14)
    with pytest.raises(ValueError, match="<= 0"):
        language.orpo(np.array([0.1]), np.array([-1.0]))
    with pytest.raises(ValueError):
        language.orpo(x, x, beta=0.0)


# -- cross_entropy with the classes last ----------------------------------------------------------------------------
@SETTINGS
@given(x=arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(2, 5)),
                elements=finite(-30.0, 30.0)), data=st.data())
def test_cross_entropy_with_the_classes_last_is_torch_on_the_flattened_tokens(x, data):
    b, t, v = x.shape
    labels = data.draw(arrays(np.int64, (b, t), elements=st.sampled_from([-100, *range(v)])), label="labels")
    labels[0, 0] = 0
    probabilities = data.draw(arrays(np.float64, x.shape, elements=finite(0.0, 1.0)), label="p") + 1e-3
    probabilities /= probabilities.sum(-1, keepdims=True)
    for target, flat in ((labels, tt(labels).reshape(-1)), (probabilities, tt(probabilities).reshape(-1, v))):
        for reduction in REDUCTIONS:
            expected = F.cross_entropy(tt(x).reshape(-1, v), flat, reduction=reduction)
            got = classification.cross_entropy(x, target, class_axis=-1, reduction=reduction)
            assert_close(np.reshape(got, -1) if reduction == "none" else got, expected,
                         call_repr("cross_entropy", class_axis=-1, reduction=reduction))
    with pytest.raises(ValueError, match="class_axis"):
        classification.cross_entropy(x, labels, class_axis=2)


# -- causal_lm ------------------------------------------------------------------------------------------------------
@st.composite
def lm_batches(draw):
    b, t, v = (draw(st.integers(lo, 4), label=name) for lo, name in ((1, "B"), (2, "T"), (2, "V")))
    x = draw(arrays(np.float64, (b, t, v), elements=finite(-30, 30)), label="logits")
    labels = draw(arrays(np.int64, (b, t), elements=st.integers(0, v - 1)), label="labels")
    padded = draw(arrays(np.bool_, (b, t)), label="padding")
    labels[padded] = -100
    return x, labels


def torch_causal_lm(x, labels, shift=True):
    logits, y = (tt(x)[:, :-1], tt(labels)[:, 1:]) if shift else (tt(x), tt(labels))
    return F.cross_entropy(logits.transpose(1, 2), y, reduction="none")


ALL_PADDING = (np.zeros((2, 3, 2)), np.array([[1, -100, -100], [0, -100, -100]]))
EXTREME_LM = (np.stack([EXTREME, EXTREME[::-1]]), np.array([[0, 1, 2], [2, -100, 0]]))


@SETTINGS
@given(batch=lm_batches(), shift=st.booleans())
@example(batch=EXTREME_LM, shift=True)
@example(batch=ALL_PADDING, shift=True)
def test_causal_lm_matches_torch_cross_entropy_on_the_shifted_tokens(batch, shift):
    x, labels = batch
    per_token = torch_causal_lm(x, labels, shift)
    kept = (labels[:, 1:] if shift else labels) != -100
    assert_close(language.causal_lm(x, labels, shift=shift, reduction="none"), per_token, "causal_lm(none)")
    assert_close(language.causal_lm(x, labels, shift=shift, reduction="sum"), per_token.sum(), "causal_lm(sum)")
    mean = F.cross_entropy((tt(x)[:, :-1] if shift else tt(x)).transpose(1, 2),
                           tt(labels)[:, 1:] if shift else tt(labels))
    assert_close(language.causal_lm(x, labels, shift=shift), mean, "causal_lm(mean)")  # nan with nothing kept
    assert_close(language.causal_lm(x, labels, shift=shift, num_items_in_batch=kept.sum() + 5),
                 per_token.sum() / (kept.sum() + 5), "causal_lm(num_items_in_batch)")


def test_causal_lm_micro_batches_with_num_items_add_up_to_the_large_batch():
    """The purpose of num_items_in_batch: the micro-batches' losses, each divided by the whole batch's kept-token
    count, add up to the large batch's mean, however the padding falls."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 6, 5))
    labels = rng.integers(0, 5, size=(4, 6))
    labels[0, 2:] = -100
    labels[3, 4:] = -100
    count = int(np.sum(labels[:, 1:] != -100))
    parts = [language.causal_lm(x[i:i + 2], labels[i:i + 2], num_items_in_batch=count) for i in (0, 2)]
    assert sum(parts) == pytest.approx(language.causal_lm(x, labels), rel=1e-13)
    plain = [language.causal_lm(x[i:i + 2], labels[i:i + 2]) for i in (0, 2)]
    assert np.mean(plain) != pytest.approx(language.causal_lm(x, labels), rel=1e-3)


def test_causal_lm_rejects_bad_shapes_and_labels():
    with pytest.raises(ValueError, match="B, T, V"):
        language.causal_lm(np.zeros((3, 4)), np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="labels"):
        language.causal_lm(np.zeros((1, 3, 2)), np.array([[0, 2, 1]]))
    with pytest.raises(ValueError, match="reduction"):
        language.causal_lm(np.zeros((1, 3, 2)), np.array([[0, 1, 1]]), reduction="batchmean")
    with pytest.raises(ValueError, match="vocab_size"):
        language.causal_lm(np.zeros((1, 3, 2)), np.array([[0, 1, 1]]), vocab_size=3)
    assert language.causal_lm(np.zeros((1, 3, 2)), np.array([[0, 1, 1]]), vocab_size=2) == pytest.approx(math.log(2))
    assert language.causal_lm(np.zeros((1, 3, 2)), np.array([[0, 1, 1]]), reduction="none").shape == (1, 2)
    assert reduce(language.causal_lm(np.zeros((1, 3, 2)), np.array([[5, 1, 1]]), reduction="none"), "mean") \
        == pytest.approx(math.log(2))  # the first label is never a target


def test_kd_as_the_soft_target_cross_entropy_is_the_kl_plus_the_teacher_entropy():
    rng = np.random.default_rng(3)
    s, t, temperature = rng.normal(size=(4, 5)), rng.normal(size=(4, 5)) * 3, 2.0
    p = np.exp(t / temperature) / np.exp(t / temperature).sum(-1, keepdims=True)
    entropy = -np.sum(p * np.log(p), axis=-1)
    kl = language.kd(s, t, temperature=temperature, reduction="none")
    ce = language.kd(s, t, temperature=temperature, reduction="none", form="cross_entropy")
    np.testing.assert_allclose(ce, kl + temperature ** 2 * entropy, rtol=1e-12)
    with pytest.raises(ValueError, match="form must be one of"):
        language.kd(s, t, form="reverse")


def test_robust_dpo_is_dpo_at_no_smoothing_and_unbiased_under_flipped_labels():
    rng = np.random.default_rng(5)
    pc, pr, rc, rr = (rng.normal(size=6) - 3 for _ in range(4))
    plain = language.dpo(pc, pr, rc, rr, reduction="none")
    np.testing.assert_allclose(language.dpo(pc, pr, rc, rr, loss_type="robust", reduction="none"), plain, rtol=1e-12)
    eps = 0.2  # the expected robust loss over labels flipped with probability eps is the clean DPO loss
    robust = language.dpo(pc, pr, rc, rr, loss_type="robust", label_smoothing=eps, reduction="none")
    flipped = language.dpo(pr, pc, rr, rc, loss_type="robust", label_smoothing=eps, reduction="none")
    np.testing.assert_allclose((1 - eps) * robust + eps * flipped, plain, rtol=1e-10)
    with pytest.raises(ValueError, match="label_smoothing < 0.5"):
        language.dpo(pc, pr, rc, rr, loss_type="robust", label_smoothing=0.5)
