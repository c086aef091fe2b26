"""The oracle's own tests: every reference in ``losscheck.references`` against torch's built-in in
float64 (torch is the ground truth there), or, for losses without a built-in, against an
independent straightforward computation written here, closed forms and edge cases.

Discrete options are ``pytest.mark.parametrize``d; array values come from hypothesis (derandomized,
no example database), with explicit ``@example``s for the edges. Each hypothesis example checks
every reduction.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from losscheck.references import classification, embedding, regression, segmentation
from losscheck.references._reduce import reduce
from reference_checks import (ATOL, MASK_EDGES, REDUCTIONS, RTOL, assert_close, assert_float64_outputs,  # noqa: F401
                              call_repr, check_reductions, f64, finite, mask_cases, reference_settings, tt,
                              with_examples)


# One tolerance for every comparison: both sides compute in float64, so they agree to a few ulps
# of the magnitudes involved (logits reach 1e4, where an ulp is ~2e-12).

SETTINGS = reference_settings(30)

BIG = 1e4  # the extreme logit magnitude every classification reference must survive


# --------------------------------------------------------------------------------------------
# helpers


@st.composite
def same_shape_arrays(draw, count, elements, shapes=array_shapes(min_dims=0, max_dims=3, max_side=4)):
    shape = draw(shapes)
    return tuple(draw(arrays(np.float64, shape, elements=elements)) for _ in range(count))


# --------------------------------------------------------------------------------------------
# the shared reduction helper


def test_reduce_none_sum_mean():
    values = np.array([[1.0, 2.0], [3.0, 6.0]])
    assert np.array_equal(reduce(values, "none"), values)
    assert reduce(values, "sum") == 12.0 and isinstance(reduce(values, "sum"), np.float64)
    assert reduce(values, "mean") == 3.0 and isinstance(reduce(values, "mean"), np.float64)
    assert reduce(values, "mean", weights=np.array([1.0, 2.0, 0.0, 3.0])) == 2.0


def test_reduce_mean_of_nothing_is_nan():
    assert math.isnan(reduce(np.zeros(0), "mean"))
    assert math.isnan(reduce(np.zeros(3), "mean", weights=np.zeros(3)))
    assert reduce(np.zeros(0), "sum") == 0.0


@pytest.mark.parametrize("bad", ["avg", "Mean", "batchmean", None, ""])
def test_reduce_rejects_unknown_reduction(bad):
    with pytest.raises(ValueError, match="reduction"):
        reduce(np.ones(2), bad)


_V = np.array([[0.2, 0.7], [0.9, 0.4]])
_Y = np.array([[0.0, 1.0], [1.0, 0.0]])
_CALLS = {
    "mse": lambda r: regression.mse(_V, _Y, reduction=r),
    "l1": lambda r: regression.l1(_V, _Y, reduction=r),
    "smooth_l1": lambda r: regression.smooth_l1(_V, _Y, reduction=r),
    "huber": lambda r: regression.huber(_V, _Y, reduction=r),
    "log_cosh": lambda r: regression.log_cosh(_V, _Y, reduction=r),
    "bce": lambda r: classification.bce(_V, _Y, reduction=r),
    "bce_with_logits": lambda r: classification.bce_with_logits(_V, _Y, reduction=r),
    "cross_entropy": lambda r: classification.cross_entropy(_V, np.array([0, 1]), reduction=r),
    "nll": lambda r: classification.nll(_V, np.array([0, 1]), reduction=r),
    "kl_div": lambda r: classification.kl_div(np.log(_V), _Y, reduction=r),
    "focal": lambda r: classification.focal(_V, _Y, reduction=r),
    "triplet_margin": lambda r: embedding.triplet_margin(_V, _Y, _V[::-1], reduction=r),
    "contrastive": lambda r: embedding.contrastive(_V, _Y, np.array([1, 0]), reduction=r),
    "info_nce": lambda r: embedding.info_nce(_V, _Y, reduction=r),
    "dice": lambda r: segmentation.dice(_V[None], _Y[None], reduction=r),
}


@pytest.mark.parametrize("name", sorted(_CALLS))
def test_every_reference_rejects_an_unknown_reduction(name):
    bad = "elementwise_mean" if name == "kl_div" else "batchmean"
    with pytest.raises(ValueError, match="reduction"):
        _CALLS[name](bad)


@pytest.mark.parametrize("name", sorted(_CALLS))
def test_every_reference_returns_float64_scalars_and_arrays(name):
    assert_float64_outputs(_CALLS[name])


# --------------------------------------------------------------------------------------------
# regression

REGRESSION_BUILTINS = [
    ("mse", regression.mse, F.mse_loss, {}, {}),
    ("l1", regression.l1, F.l1_loss, {}, {}),
    ("smooth_l1", regression.smooth_l1, F.smooth_l1_loss, {"beta": 1.0}, {"beta": 1.0}),
    ("smooth_l1", regression.smooth_l1, F.smooth_l1_loss, {"beta": 0.0}, {"beta": 0.0}),
    ("smooth_l1", regression.smooth_l1, F.smooth_l1_loss, {"beta": 0.5}, {"beta": 0.5}),
    ("huber", regression.huber, F.huber_loss, {"delta": 1.0}, {"delta": 1.0}),
    ("huber", regression.huber, F.huber_loss, {"delta": 0.5}, {"delta": 0.5}),
    ("huber", regression.huber, F.huber_loss, {"delta": 3.0}, {"delta": 3.0}),
]


@pytest.mark.filterwarnings("ignore:Using a target size")
@pytest.mark.parametrize(
    "name, reference, builtin, options, builtin_options",
    REGRESSION_BUILTINS,
    ids=[f"{n}-{o}" for n, _, _, o, _ in REGRESSION_BUILTINS],
)
@SETTINGS
@given(pair=same_shape_arrays(2, finite(-100, 100)))
@example(pair=(np.zeros(3), np.zeros(3)))  # d = 0
@example(pair=(np.array([1.5, -0.5, 3.0, -1.0]), np.array([1.0, 0.0, 0.0, 0.0])))  # |d| = beta, delta
@example(pair=(np.array([BIG, -BIG, 1e-12]), np.array([-BIG, BIG, 0.0])))  # huge and tiny d
@example(pair=(np.arange(3.0).reshape(3, 1), np.array([0.5, 1.0, 4.0])))  # (N,1) vs (N,) broadcasts
@example(pair=(np.array(2.0), np.array(-1.0)))  # 0-d
def test_regression_matches_torch(name, reference, builtin, options, builtin_options, pair):
    x, y = pair
    check_reductions(name, reference, (x, y), builtin, (tt(x), tt(y)), options, builtin_options)


@SETTINGS
@given(pair=same_shape_arrays(2, finite(-50, 50)), delta=finite(0.01, 10))
def test_huber_is_delta_times_smooth_l1(pair, delta):
    x, y = pair
    for reduction in REDUCTIONS:
        assert_close(
            regression.huber(x, y, delta=delta, reduction=reduction),
            delta * regression.smooth_l1(x, y, beta=delta, reduction=reduction),
            call_repr("huber", delta=delta, reduction=reduction),
        )


def test_smooth_l1_and_huber_reject_bad_parameters():
    with pytest.raises(ValueError, match="beta"):
        regression.smooth_l1(np.ones(2), np.zeros(2), beta=-1.0)
    with pytest.raises(ValueError, match="delta"):
        regression.huber(np.ones(2), np.zeros(2), delta=0.0)


@SETTINGS
@given(pair=same_shape_arrays(2, finite(-10, 10)))
@example(pair=(np.zeros(2), np.zeros(2)))
@example(pair=(np.array([0.999999, 1.0, 1.000001]), np.zeros(3)))  # the switch between forms
def test_log_cosh_matches_naive_formula_for_moderate_d(pair):
    x, y = pair
    d = x - y
    for reduction in REDUCTIONS:
        expected = reduce(np.log(np.cosh(d)), reduction)
        assert_close(
            regression.log_cosh(x, y, reduction=reduction), expected,
            call_repr("log_cosh", reduction=reduction), rtol=1e-12, atol=1e-15,
        )


@SETTINGS
@given(d=arrays(np.float64, st.integers(1, 6), elements=finite(40, 1e300) | finite(-1e300, -40)))
@example(d=np.array([710.0, -1000.0, 1e4, -1e300]))  # naive log(cosh(d)) overflows here
def test_log_cosh_is_abs_d_minus_log2_for_huge_d(d):
    out = regression.log_cosh(d, np.zeros_like(d), reduction="none")
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, np.abs(d) - np.log(2.0), rtol=1e-15, atol=0)


@pytest.mark.parametrize("d", [1e-300, 1e-12, 1e-8, 1e-4, -1e-6])
def test_log_cosh_keeps_relative_precision_near_zero(d):
    out = regression.log_cosh(np.array([d]), np.zeros(1), reduction="none")[0]
    expected = d * d / 2 - d**4 / 12  # Taylor series of log cosh
    assert out == pytest.approx(expected, rel=1e-12, abs=0)


# --------------------------------------------------------------------------------------------
# classification: bce and bce_with_logits


@st.composite
def binary_cases(draw, input_elements):
    shape = draw(array_shapes(min_dims=0, max_dims=3, max_side=4), label="shape")
    return {
        "input": draw(arrays(np.float64, shape, elements=input_elements), label="input"),
        "target": draw(arrays(np.float64, shape, elements=finite(0, 1)), label="target"),
        "weight": draw(arrays(np.float64, shape[-1:], elements=finite(0, 3)), label="weight"),
        "pos_weight": draw(arrays(np.float64, shape[-1:], elements=finite(0, 5)), label="pos_weight"),
    }


def binary_case(input, target, weight=None, pos_weight=None):
    input, target = np.asarray(input, dtype=np.float64), np.asarray(target, dtype=np.float64)
    tail = input.shape[-1:]
    size = int(np.prod(tail))
    weight = np.linspace(0.5, 2.0, size).reshape(tail) if weight is None else weight
    pos_weight = np.linspace(3.0, 0.25, size).reshape(tail) if pos_weight is None else pos_weight
    return {"input": input, "target": target, "weight": np.asarray(weight, dtype=np.float64),
            "pos_weight": np.asarray(pos_weight, dtype=np.float64)}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weight"])
@SETTINGS
@given(case=binary_cases(finite(0, 1)))
@example(case=binary_case([0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0]))  # log 0 clamped at -100
@example(case=binary_case([[1e-10, 1 - 1e-10], [1e-300, 0.5]], [[0.0, 1.0], [1.0, 0.3]]))
@example(case=binary_case(0.0, 1.0))  # 0-d
def test_bce_matches_torch(weighted, case):
    x, y, w = case["input"], case["target"], case["weight"] if weighted else None
    check_reductions(
        "bce", classification.bce, (x, y), F.binary_cross_entropy, (tt(x), tt(y)),
        {"weight": w}, {"weight": None if w is None else tt(w)},
    )


def test_bce_rejects_non_probabilities():
    with pytest.raises(ValueError, match="probabilit"):
        classification.bce(np.array([1.5]), np.array([1.0]))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weight"])
@pytest.mark.parametrize("pos_weighted", [False, True], ids=["", "pos_weight"])
@SETTINGS
@given(case=binary_cases(finite(-50, 50)))
@example(case=binary_case([[BIG, -BIG], [-BIG, BIG]], [[1.0, 0.0], [1.0, 0.0]]))  # ±1e4
@example(case=binary_case([[BIG, -BIG, 0.0]], [[0.5, 0.25, 1.0]]))  # soft targets at ±1e4
@example(case=binary_case([[0.0, 3.0, -3.0]] * 2, [[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]))  # pos_weight per class
@example(case=binary_case(-7.0, 1.0))  # 0-d
def test_bce_with_logits_matches_torch(weighted, pos_weighted, case):
    x, y = case["input"], case["target"]
    w = case["weight"] if weighted else None
    pw = case["pos_weight"] if pos_weighted else None
    check_reductions(
        "bce_with_logits", classification.bce_with_logits, (x, y),
        F.binary_cross_entropy_with_logits, (tt(x), tt(y)),
        {"weight": w, "pos_weight": pw},
        {"weight": None if w is None else tt(w), "pos_weight": None if pw is None else tt(pw)},
    )


def test_bce_with_logits_is_finite_and_exact_at_extreme_logits():
    x = np.array([BIG, -BIG, BIG, -BIG])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    out = classification.bce_with_logits(x, y, reduction="none")
    np.testing.assert_array_equal(out, [0.0, 0.0, BIG, BIG])


# --------------------------------------------------------------------------------------------
# classification: cross_entropy and nll

LAYOUTS = ("C", "NC", "NCd", "NCHW")


@st.composite
def class_cases(draw):
    layout = draw(st.sampled_from(LAYOUTS), label="layout")
    c = draw(st.integers(1, 5), label="classes")
    n = draw(st.integers(1, 4), label="batch")
    spatial = ()
    if layout == "NCd":
        spatial = (draw(st.integers(1, 3), label="d1"),)
    elif layout == "NCHW":
        spatial = (draw(st.integers(1, 3), label="H"), draw(st.integers(1, 3), label="W"))
    shape = (c,) if layout == "C" else (n, c, *spatial)
    target_shape = () if layout == "C" else (n, *spatial)
    ignore_index = draw(st.sampled_from([-100, 0]), label="ignore_index")
    classes = st.sampled_from(sorted({*range(c), ignore_index}))
    return {
        "input": draw(arrays(np.float64, shape, elements=finite(-30, 30)), label="input"),
        "target": draw(arrays(np.int64, target_shape, elements=classes), label="target"),
        "weight": draw(arrays(np.float64, (c,), elements=finite(0.1, 3)), label="weight"),
        "ignore_index": ignore_index,
        "probs": draw(arrays(np.float64, shape, elements=finite(0, 1)), label="probs"),
    }


def class_case(input, target, *, ignore_index=-100, weight=None, probs=None):
    input = np.asarray(input, dtype=np.float64)
    c = input.shape[0 if input.ndim == 1 else 1]
    if probs is None:  # a soft target that sums to one along the class dimension
        along_classes = [1] * input.ndim
        along_classes[0 if input.ndim == 1 else 1] = c
        ramp = np.linspace(1.0, 2.0, c)
        probs = np.broadcast_to((ramp / ramp.sum()).reshape(along_classes), input.shape).copy()
    return {
        "input": input,
        "target": np.asarray(target, dtype=np.int64),
        "weight": np.linspace(0.25, 2.0, c) if weight is None else np.asarray(weight, dtype=np.float64),
        "ignore_index": ignore_index,
        "probs": np.asarray(probs, dtype=np.float64),
    }


_RNG = np.random.default_rng(1234)
CLASS_EDGES = [
    class_case([[BIG, -BIG, 0.0], [-BIG, BIG, BIG]], [1, 0]),  # logits ±1e4, wrong classes
    class_case([[BIG, -BIG, 0.0], [-BIG, BIG, BIG]], [0, 2]),  # logits ±1e4, right classes
    class_case([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]], [-100, -100]),  # every target ignored
    class_case([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0], [2.0, 2.0, 2.0]], [1, 2, 1], ignore_index=1),
    class_case([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]], [-100, 2]),  # ignore_index present
    class_case(_RNG.normal(size=(2, 4, 3, 2)), _RNG.integers(0, 4, size=(2, 3, 2))),  # (N,C,H,W)
    class_case([0.5, -1.0, 2.0, 0.0], 2),  # no batch: (C,) with a 0-d target
    class_case([0.5, -1.0, 2.0, 0.0], -100),  # no batch, ignored
    class_case([[3.0], [-2.0]], [0, 0]),  # a single class
    class_case([[BIG, -BIG, 0.0]], [0], probs=[[0.0, 1.0, 0.0]]),  # one-hot probabilities
]


def _ce_index_builtin(weighted, label_smoothing, case):
    def builtin(input, target, reduction):
        return F.cross_entropy(
            input, target, weight=tt(case["weight"]) if weighted else None,
            ignore_index=case["ignore_index"], label_smoothing=label_smoothing, reduction=reduction,
        )
    return builtin


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weight"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2, 1.0], ids=lambda e: f"eps={e}")
@SETTINGS
@given(case=class_cases())
@with_examples(CLASS_EDGES)
def test_cross_entropy_index_targets_match_torch(weighted, label_smoothing, case):
    x, t = case["input"], case["target"]
    options = {
        "weight": case["weight"] if weighted else None,
        "ignore_index": case["ignore_index"],
        "label_smoothing": label_smoothing,
    }
    check_reductions(
        "cross_entropy", classification.cross_entropy, (x, t),
        _ce_index_builtin(weighted, label_smoothing, case), (tt(x), tt(t)), options, {},
    )


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weight"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2, 1.0], ids=lambda e: f"eps={e}")
@SETTINGS
@given(case=class_cases())
@with_examples(CLASS_EDGES)
def test_cross_entropy_probability_targets_match_torch(weighted, label_smoothing, case):
    x, p = case["input"], case["probs"]
    w = case["weight"] if weighted else None
    check_reductions(
        "cross_entropy", classification.cross_entropy, (x, p), F.cross_entropy, (tt(x), tt(p)),
        {"weight": w, "label_smoothing": label_smoothing},
        {"weight": None if w is None else tt(w), "label_smoothing": label_smoothing},
    )


def test_cross_entropy_all_ignored_mean_is_nan_and_sum_is_zero():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = np.array([-100, -100])
    for kwargs in ({}, {"weight": np.array([1.0, 2.0])}, {"label_smoothing": 0.1}):
        assert math.isnan(classification.cross_entropy(x, t, **kwargs))
        assert classification.cross_entropy(x, t, reduction="sum", **kwargs) == 0.0
        np.testing.assert_array_equal(classification.cross_entropy(x, t, reduction="none", **kwargs), [0, 0])


def test_cross_entropy_weighted_smoothed_mean_by_hand():
    """Torch's weighted label-smoothed mean, written out for one small case."""
    x = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [2.0, 2.0, 2.0]])
    t = np.array([1, -100, 0])
    w = np.array([0.5, 2.0, 1.0])
    eps, c = 0.3, 3
    log_p = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    kept = [0, 2]
    nll_sum = sum(-w[t[i]] * log_p[i, t[i]] for i in kept)
    smooth_sum = sum(-(w * log_p[i]).sum() for i in kept)
    expected = ((1 - eps) * nll_sum + eps / c * smooth_sum) / sum(w[t[i]] for i in kept)
    out = classification.cross_entropy(x, t, weight=w, label_smoothing=eps)
    assert out == pytest.approx(expected, rel=1e-13)


def test_cross_entropy_is_finite_at_extreme_logits():
    x = np.array([[BIG, -BIG, 0.0], [-BIG, BIG, BIG]])
    for t in (np.array([1, 0]), np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])):
        for eps in (0.0, 0.1):
            out = classification.cross_entropy(x, t, label_smoothing=eps, reduction="none")
            assert np.all(np.isfinite(out))


def test_cross_entropy_rejects_bad_targets_and_weights():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match="range"):
        classification.cross_entropy(x, np.array([0, 3]))
    with pytest.raises(ValueError, match="shape"):
        classification.cross_entropy(x, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="weight"):
        classification.cross_entropy(x, np.array([0, 1]), weight=np.ones(2))
    with pytest.raises(ValueError, match="label_smoothing"):
        classification.cross_entropy(x, np.array([0, 1]), label_smoothing=1.5)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weight"])
@SETTINGS
@given(case=class_cases())
@with_examples(CLASS_EDGES)
def test_nll_matches_torch(weighted, case):
    x, t = case["input"], case["target"]
    for input in (x, _log_softmax(x)):  # raw scores, and proper log-probabilities
        w = case["weight"] if weighted else None
        check_reductions(
            "nll", classification.nll, (input, t), F.nll_loss, (tt(input), tt(t)),
            {"weight": w, "ignore_index": case["ignore_index"]},
            {"weight": None if w is None else tt(w), "ignore_index": case["ignore_index"]},
        )


def _log_softmax(x):
    return torch.log_softmax(tt(x), dim=0 if x.ndim == 1 else 1).numpy()


# --------------------------------------------------------------------------------------------
# classification: kl_div


@st.composite
def kl_cases(draw):
    shape = draw(array_shapes(min_dims=0, max_dims=3, max_side=4), label="shape")
    return {
        "input": draw(arrays(np.float64, shape, elements=finite(-50, 5)), label="input"),
        "target": draw(arrays(np.float64, shape, elements=finite(0, 1)), label="target"),
        "log_target": draw(arrays(np.float64, shape, elements=finite(-50, 2)), label="log_target"),
    }


def kl_case(input, target, log_target=None):
    input = np.asarray(input, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_target = np.maximum(np.log(target), -BIG) if log_target is None else log_target
    return {"input": input, "target": target, "log_target": np.asarray(log_target, dtype=np.float64)}


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("log_target", [False, True], ids=["p", "log_p"])
@SETTINGS
@given(case=kl_cases())
@example(case=kl_case([[-1.0, -0.5], [-2.0, -0.1]], [[0.0, 1.0], [0.3, 0.7]]))  # 0 log 0 = 0
@example(case=kl_case(-1.0, 0.5))  # 0-d input: batchmean is the sum
@example(case=kl_case([[-BIG, 0.0]], [[0.0, 1.0]]))  # extreme log q where p = 0
@example(case=kl_case(np.log(np.full((2, 3, 2), 1 / 6)), np.full((2, 3, 2), 1 / 6)))  # p = q
def test_kl_div_matches_torch(log_target, case):
    x = case["input"]
    t = case["log_target"] if log_target else case["target"]
    check_reductions(
        "kl_div", classification.kl_div, (x, t), F.kl_div, (tt(x), tt(t)),
        {"log_target": log_target}, reductions=REDUCTIONS + ("batchmean",),
    )


def test_kl_div_batchmean_is_the_kl_divergence_per_sample():
    p = np.array([[0.2, 0.8, 0.0], [0.5, 0.25, 0.25]])
    q = np.array([[0.4, 0.4, 0.2], [0.25, 0.5, 0.25]])
    expected = sum(
        sum(pi * math.log(pi / qi) for pi, qi in zip(prow, qrow) if pi > 0)
        for prow, qrow in zip(p, q)
    ) / 2
    assert classification.kl_div(np.log(q), p, reduction="batchmean") == pytest.approx(expected, rel=1e-13)
    assert classification.kl_div(np.log(q), np.log(np.maximum(p, 1e-300)), reduction="batchmean",
                                 log_target=True) == pytest.approx(expected, rel=1e-13)


# --------------------------------------------------------------------------------------------
# classification: focal


def torchvision_sigmoid_focal_loss(inputs, targets, alpha, gamma, reduction):
    """torchvision.ops.sigmoid_focal_loss, written out (torchvision is not installed here)."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "none":
        return loss
    return loss.mean() if reduction == "mean" else loss.sum()


@pytest.mark.parametrize("alpha", [0.25, 0.9, -1.0], ids=lambda a: f"alpha={a}")
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0], ids=lambda g: f"gamma={g}")
@SETTINGS
@given(case=binary_cases(finite(-30, 30)))
@example(case=binary_case([[BIG, -BIG], [-BIG, BIG]], [[1.0, 0.0], [1.0, 0.0]]))
@example(case=binary_case([[BIG, -BIG, 0.0]], [[0.5, 0.25, 1.0]]))
@example(case=binary_case(0.0, 1.0))
def test_focal_matches_torchvision_formula(alpha, gamma, case):
    x, y = case["input"], case["target"]
    options = {"alpha": alpha, "gamma": gamma}
    check_reductions(
        "focal", classification.focal, (x, y), torchvision_sigmoid_focal_loss, (tt(x), tt(y)), options,
    )


@SETTINGS
@given(case=binary_cases(finite(-50, 50)))
@example(case=binary_case([[BIG, -BIG], [-BIG, BIG]], [[1.0, 0.0], [1.0, 0.0]]))
def test_focal_with_gamma_0_and_no_alpha_is_bce_with_logits(case):
    x, y = case["input"], case["target"]
    for reduction in REDUCTIONS:
        assert_close(
            classification.focal(x, y, alpha=-1.0, gamma=0.0, reduction=reduction),
            classification.bce_with_logits(x, y, reduction=reduction),
            call_repr("focal", alpha=-1.0, gamma=0.0, reduction=reduction), rtol=1e-15, atol=0,
        )


@pytest.mark.parametrize("alpha", [0.25, -1.0])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_focal_is_finite_at_extreme_logits(alpha, gamma):
    x = np.array([BIG, -BIG, BIG, -BIG, BIG, -BIG])
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5, 0.5])
    out = classification.focal(x, y, alpha=alpha, gamma=gamma, reduction="none")
    assert np.all(np.isfinite(out))
    a = 1.0 if alpha < 0 else alpha
    # confidently wrong: ce = 1e4 and (1 - p_t) = 1
    assert out[2] == pytest.approx((1.0 if alpha < 0 else 1 - a) * BIG, rel=1e-15)
    assert out[3] == pytest.approx(a * BIG, rel=1e-15)


# --------------------------------------------------------------------------------------------
# embedding: triplet_margin


@st.composite
def triplet_cases(draw):
    batched = draw(st.booleans(), label="batched")
    d = draw(st.integers(1, 5), label="D")
    shape = (draw(st.integers(1, 4), label="N"), d) if batched else (d,)
    vectors = arrays(np.float64, shape, elements=finite(-10, 10))
    return {
        "anchor": draw(vectors, label="anchor"),
        "positive": draw(vectors, label="positive"),
        "negative": draw(vectors, label="negative"),
        # F.triplet_margin_loss rejects margin <= 0 (the reference accepts margin = 0)
        "margin": draw(st.floats(0, 3, exclude_min=True), label="margin"),
        "eps": draw(st.sampled_from([1e-6, 0.0, 1e-3]), label="eps"),
    }


def triplet_case(anchor, positive, negative, margin=1.0, eps=1e-6):
    f = lambda v: np.asarray(v, dtype=np.float64)  # noqa: E731
    return {"anchor": f(anchor), "positive": f(positive), "negative": f(negative),
            "margin": margin, "eps": eps}


@pytest.mark.parametrize("swap", [False, True], ids=["", "swap"])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, 0.5, math.inf], ids=lambda p: f"p={p}")
@SETTINGS
@given(case=triplet_cases())  # the first example: anchor == positive, d = 0 (up to eps)
@example(case=triplet_case([[1.0, 2.0], [0.0, 0.0]], [[1.0, 2.0], [0.0, 0.0]], [[3.0, 1.0], [0.0, 0.0]]))
@example(case=triplet_case([[1.0, 2.0]], [[1.0, 2.0]], [[1.0, 2.0]], eps=0.0))  # all identical, no eps
@example(case=triplet_case([0.0, 1.0, 2.0], [0.5, 1.0, 2.0], [0.0, -1.0, 5.0]))  # (D,)
@example(case=triplet_case([[0.0, 0.0]], [[5.0, 0.0]], [[0.1, 0.0]], margin=0.5))  # swap matters
@example(case=triplet_case([[BIG, -BIG]], [[-BIG, BIG]], [[BIG, BIG]]))
def test_triplet_margin_matches_torch(swap, p, case):
    a, pos, neg = case["anchor"], case["positive"], case["negative"]
    options = {"margin": case["margin"], "p": p, "eps": case["eps"], "swap": swap}
    check_reductions(
        "triplet_margin", embedding.triplet_margin, (a, pos, neg),
        F.triplet_margin_loss, (tt(a), tt(pos), tt(neg)), options,
    )


def test_triplet_margin_distance_is_not_squared():
    a, pos, neg = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]), np.array([[0.0, 1.0]])
    out = embedding.triplet_margin(a, pos, neg, margin=0.0, eps=0.0, reduction="none")
    np.testing.assert_allclose(out, [5.0 - 1.0], rtol=1e-15)


# --------------------------------------------------------------------------------------------
# embedding: contrastive


def contrastive_loop(x1, x2, label, margin, similar_label, scale):
    """Hadsell et al. 2006, one pair at a time, in plain Python floats."""
    x1, x2 = np.atleast_2d(x1), np.atleast_2d(x2)
    labels = np.atleast_1d(label)
    losses = []
    for a, b, y in zip(x1, x2, labels):
        d = math.sqrt(sum((float(u) - float(v)) ** 2 for u, v in zip(a, b)))
        if y == similar_label:
            losses.append(scale * d * d)
        else:
            losses.append(scale * max(0.0, margin - d) ** 2)
    return np.array(losses)


@st.composite
def pair_cases(draw):
    n = draw(st.integers(1, 5), label="N")
    d = draw(st.integers(1, 4), label="D")
    vectors = arrays(np.float64, (n, d), elements=finite(-3, 3))
    return {
        "x1": draw(vectors, label="x1"),
        "x2": draw(vectors, label="x2"),
        "label": draw(arrays(np.int64, (n,), elements=st.integers(0, 1)), label="label"),
        "margin": draw(finite(0, 4), label="margin"),
    }


@pytest.mark.parametrize("similar_label", [1, 0], ids=lambda s: f"similar={s}")
@pytest.mark.parametrize("scale", [0.5, 1.0], ids=lambda s: f"scale={s}")
@SETTINGS
@given(case=pair_cases())
@example(case={"x1": np.ones((3, 2)), "x2": np.ones((3, 2)), "label": np.array([1, 0, 1]), "margin": 1.0})
@example(case={"x1": np.zeros((2, 3)), "x2": np.array([[3.0, 4.0, 0.0], [0.3, 0.4, 0.0]]),
               "label": np.array([0, 0]), "margin": 2.0})
def test_contrastive_matches_loop(similar_label, scale, case):
    x1, x2, label, margin = case["x1"], case["x2"], case["label"], case["margin"]
    expected = contrastive_loop(x1, x2, label, margin, similar_label, scale)
    options = {"margin": margin, "similar_label": similar_label, "scale": scale}
    for reduction in REDUCTIONS:
        assert_close(
            embedding.contrastive(x1, x2, label, **options, reduction=reduction),
            reduce(expected, reduction), call_repr("contrastive", **options, reduction=reduction),
            rtol=1e-12, atol=1e-14,
        )


def test_contrastive_identical_pairs_are_finite():
    x = np.array([[1.0, -2.0, 3.0], [0.0, 0.0, 0.0]])
    out = embedding.contrastive(x, x.copy(), np.array([1, 0]), margin=1.5, reduction="none")
    np.testing.assert_array_equal(out, [0.0, 0.5 * 1.5**2])


def test_contrastive_closed_form():
    x1 = np.array([[0.0, 0.0], [0.0, 0.0]])
    x2 = np.array([[3.0, 4.0], [0.3, 0.4]])
    out = embedding.contrastive(x1, x2, np.array([1, 0]), margin=1.0, reduction="none")
    np.testing.assert_allclose(out, [0.5 * 25.0, 0.5 * 0.25], rtol=1e-14)
    assert embedding.contrastive(x1[0], x2[0], 1, reduction="none").shape == ()


# --------------------------------------------------------------------------------------------
# embedding: info_nce


def nt_xent_torch(z_i, z_j, temperature, reduction):
    """SimCLR's NT-Xent as commonly written in torch: cross-entropy over masked similarities."""
    z = F.normalize(torch.cat([z_i, z_j]), dim=1)
    sim = z @ z.T / temperature
    two_n = sim.shape[0]
    sim = sim.masked_fill(torch.eye(two_n, dtype=torch.bool), float("-inf"))
    targets = (torch.arange(two_n) + two_n // 2) % two_n
    return F.cross_entropy(sim, targets, reduction=reduction)


def nt_xent_loop(z_i, z_j, temperature):
    """NT-Xent one anchor at a time, with plain exp and log (moderate temperatures only)."""
    z = [np.asarray(v, dtype=float) for v in [*z_i, *z_j]]
    z = [v / max(math.sqrt(float(v @ v)), 1e-12) for v in z]
    n2 = len(z)
    losses = []
    for k in range(n2):
        positive = (k + n2 // 2) % n2
        num = math.exp(float(z[k] @ z[positive]) / temperature)
        den = sum(math.exp(float(z[k] @ z[m]) / temperature) for m in range(n2) if m != k)
        losses.append(-math.log(num / den))
    return np.array(losses)


@st.composite
def view_cases(draw):
    n = draw(st.integers(1, 5), label="N")
    d = draw(st.integers(1, 4), label="D")
    views = arrays(np.float64, (n, d), elements=finite(-5, 5))
    return {"z_i": draw(views, label="z_i"), "z_j": draw(views, label="z_j")}


@pytest.mark.parametrize("temperature", [0.01, 0.1, 0.5, 2.0], ids=lambda t: f"tau={t}")
@SETTINGS
@given(case=view_cases())
@example(case={"z_i": np.eye(3), "z_j": np.eye(3)})  # views agree, samples orthogonal
@example(case={"z_i": np.zeros((2, 3)), "z_j": np.ones((2, 3))})  # zero vectors
@example(case={"z_i": np.array([[1e-100, 0.0]]), "z_j": np.array([[0.0, 1e100]])})  # N = 1, extreme norms
def test_info_nce_matches_torch_nt_xent(temperature, case):
    z_i, z_j = case["z_i"], case["z_j"]
    check_reductions(
        "info_nce", embedding.info_nce, (z_i, z_j), nt_xent_torch, (tt(z_i), tt(z_j)),
        {"temperature": temperature},
    )
    assert np.all(np.isfinite(embedding.info_nce(z_i, z_j, temperature=temperature, reduction="none")))


@pytest.mark.parametrize("temperature", [0.2, 0.5, 1.0])
@SETTINGS
@given(case=view_cases())
def test_info_nce_matches_loop(temperature, case):
    expected = nt_xent_loop(case["z_i"], case["z_j"], temperature)
    for reduction in REDUCTIONS:
        assert_close(
            embedding.info_nce(case["z_i"], case["z_j"], temperature=temperature, reduction=reduction),
            reduce(expected, reduction),
            call_repr("info_nce", temperature=temperature, reduction=reduction),
            rtol=1e-12, atol=1e-13,
        )


@pytest.mark.parametrize("n", [1, 2, 4])
@pytest.mark.parametrize("temperature", [0.01, 0.5, 1.0])
def test_info_nce_closed_forms(n, temperature):
    # all 2N embeddings mutually orthogonal: every logit is 0, so the loss is log(2N - 1)
    eye = np.eye(2 * n)
    out = embedding.info_nce(eye[:n], eye[n:], temperature=temperature, reduction="none")
    np.testing.assert_allclose(out, np.full(2 * n, math.log(2 * n - 1)), rtol=1e-14, atol=1e-15)
    # both views equal, samples orthogonal: -1/τ + log(e^{1/τ} + 2N - 2)
    out = embedding.info_nce(np.eye(n), np.eye(n) * 3.0, temperature=temperature, reduction="mean")
    expected = -1 / temperature + (1 / temperature + math.log1p((2 * n - 2) * math.exp(-1 / temperature)))
    assert out == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_info_nce_is_scale_invariant_even_where_squares_overflow():
    z_i = np.array([[3.0, 4.0], [1.0, -2.0]])
    z_j = np.array([[0.5, 0.0], [-1.0, -1.0]])
    expected = embedding.info_nce(z_i, z_j, reduction="none")
    for scale in (1e100, 1e200, 1e300):  # (below norm 1e-12 the clamp applies, by design)
        out = embedding.info_nce(z_i * scale, z_j * scale, reduction="none")
        np.testing.assert_allclose(out, expected, rtol=1e-14)


def test_info_nce_rejects_bad_temperature_and_shapes():
    with pytest.raises(ValueError, match="temperature"):
        embedding.info_nce(np.eye(2), np.eye(2), temperature=0.0)
    with pytest.raises(ValueError, match="z_i"):
        embedding.info_nce(np.eye(2), np.eye(3))


# --------------------------------------------------------------------------------------------
# segmentation: dice


def dice_loop(p, g, *, smooth, per_sample, smooth_numerator, smooth_denominator,
              squared_denominator):
    """Dice loss one (sample, channel) or one channel at a time, from flattened lists."""
    s_n = smooth if smooth_numerator else 0.0
    s_d = smooth if smooth_denominator else 0.0

    def loss(ps, gs):
        inter = sum(a * b for a, b in zip(ps, gs))
        if squared_denominator:
            den = sum(a * a for a in ps) + sum(b * b for b in gs)
        else:
            den = sum(ps) + sum(gs)
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 - np.float64(2.0 * inter + s_n) / np.float64(den + s_d)

    n, c = p.shape[:2]
    if per_sample:
        return np.array([[loss(list(p[i, j].ravel()), list(g[i, j].ravel())) for j in range(c)]
                         for i in range(n)])
    return np.array([loss(list(p[:, j].ravel()), list(g[:, j].ravel())) for j in range(c)])


@pytest.mark.parametrize("per_sample", [True, False], ids=["per_sample", "batch"])
@pytest.mark.parametrize("squared_denominator", [False, True], ids=["", "squared"])
@pytest.mark.parametrize(
    "smooth_numerator, smooth_denominator",
    [(True, True), (False, True), (True, False), (False, False)],
    ids=["smooth_nr_dr", "smooth_dr", "smooth_nr", "no_smooth"],
)
@SETTINGS
@given(case=mask_cases())
@example(case=MASK_EDGES[0])  # empty masks
@example(case=MASK_EDGES[1])  # 3-D spatial, identical
@example(case=MASK_EDGES[2])  # (N, C): no spatial dims
def test_dice_matches_loop(per_sample, squared_denominator, smooth_numerator, smooth_denominator, case):
    options = {
        "smooth": case["smooth"], "per_sample": per_sample, "smooth_numerator": smooth_numerator,
        "smooth_denominator": smooth_denominator, "squared_denominator": squared_denominator,
    }
    expected = dice_loop(case["input"], case["target"], **options)
    for reduction in REDUCTIONS:
        assert_close(
            segmentation.dice(case["input"], case["target"], **options, reduction=reduction),
            reduce(expected, reduction), call_repr("dice", **options, reduction=reduction),
            rtol=1e-12, atol=1e-14,
        )


@pytest.mark.parametrize("spatial", [(), (4,), (3, 3), (2, 3, 2)], ids=lambda s: f"{len(s)}d")
def test_dice_of_identical_binary_masks_is_zero(spatial):
    rng = np.random.default_rng(0)
    mask = (rng.random((2, 3, *spatial)) > 0.5).astype(float)
    mask[0, 0] = 0.0  # an empty channel too: smooth-only, 1 - s/s = 0
    for per_sample in (True, False):
        out = segmentation.dice(mask, mask, per_sample=per_sample, reduction="none")
        np.testing.assert_allclose(out, 0.0, atol=1e-15)
        assert out.shape == ((2, 3) if per_sample else (3,))


def test_dice_empty_masks_are_finite():
    empty = np.zeros((2, 3, 4, 4))
    assert segmentation.dice(empty, empty) == 0.0
    assert segmentation.dice(empty, empty, per_sample=False) == 0.0
    assert segmentation.dice(empty, empty, smooth=1e-7) == 0.0
    assert segmentation.dice(empty, empty, smooth_numerator=False) == 1.0


def test_dice_closed_form():
    # one channel, p = [1, 1, 0, 0], g = [1, 0, 0, 0]: 1 - (2*1 + 1)/(2 + 1 + 1) = 0.25
    p = np.array([1.0, 1.0, 0.0, 0.0]).reshape(1, 1, 2, 2)
    g = np.array([1.0, 0.0, 0.0, 0.0]).reshape(1, 1, 2, 2)
    assert segmentation.dice(p, g) == pytest.approx(0.25, rel=1e-15)
    assert segmentation.dice(p, g, smooth=0.0) == pytest.approx(1 - 2 / 3, rel=1e-15)
    # disjoint masks without smoothing: 1
    assert segmentation.dice(p, 1.0 - p, smooth=0.0) == 1.0
    # squared denominator differs for soft predictions: 1 - (2*0.5)/(0.5 + 1) vs 1 - 1/(0.25 + 1)
    soft = np.full((1, 1, 1), 0.5)
    one = np.ones((1, 1, 1))
    assert segmentation.dice(soft, one, smooth=0.0) == pytest.approx(1 - 1 / 1.5, rel=1e-15)
    squared = segmentation.dice(soft, one, smooth=0.0, squared_denominator=True)
    assert squared == pytest.approx(1 - 1 / 1.25, rel=1e-15)


def test_dice_per_sample_vs_batch_differ():
    p = np.zeros((2, 1, 2))
    g = np.zeros((2, 1, 2))
    p[0, 0] = g[0, 0] = 1.0  # sample 0 perfect, sample 1 empty but predicted
    p[1, 0, 0] = 1.0
    per_sample = segmentation.dice(p, g, smooth=0.0, smooth_denominator=False, reduction="none")
    np.testing.assert_allclose(per_sample, [[0.0], [1.0]])
    batch = segmentation.dice(p, g, smooth=0.0, per_sample=False, reduction="none")
    np.testing.assert_allclose(batch, [1 - 4 / 5])


def test_dice_rejects_bad_shapes():
    with pytest.raises(ValueError, match="shape"):
        segmentation.dice(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        segmentation.dice(np.zeros(3), np.zeros(3))
