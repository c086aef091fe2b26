"""Tests of the catalogue's remaining references: poisson_nll, gaussian_nll, asymmetric_mse,
focal_multiclass, the margin losses, the ranking/embedding losses, tversky, generalized_dice,
iou/giou, the generative losses and ctc.

Where torch has a built-in it is the ground truth (compared in float64, every reduction);
otherwise the reference is checked against an independent straightforward computation written
here, closed forms and edge cases. Discrete options are ``pytest.mark.parametrize``d; array
values come from hypothesis (derandomized, no example database), with explicit ``@example``s for
the edges.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from scipy.special import log_softmax

from losscheck.references import (
    classification,
    embedding,
    generative,
    regression,
    segmentation,
    sequence,
)
from losscheck.references._reduce import reduce
from reference_checks import (ATOL, MASK_EDGES, REDUCTIONS, RTOL, assert_close, assert_float64_outputs,  # noqa: F401
                              call_repr, check_reductions, class_rows, f64, finite, logsumexp_loop, mask_cases, masks,
                              reference_settings, tt, with_examples)


SETTINGS = reference_settings()

BIG = 1e4


# --------------------------------------------------------------------------------------------
# helpers (the same contract as tests/test_references.py)


def check_against(name, reference, args, options, expected_none, rtol=1e-12, atol=1e-12,
                  reductions=REDUCTIONS, weights=None):
    """Compare reference(..., reduction=r) with reduce(expected_none, r) for every r."""
    __tracebackhide__ = True
    for reduction in reductions:
        assert_close(
            reference(*args, **options, reduction=reduction),
            reduce(expected_none, reduction, weights=weights),
            call_repr(name, **options, reduction=reduction), rtol=rtol, atol=atol,
        )


SHAPES = array_shapes(min_dims=0, max_dims=3, max_side=4)


@st.composite
def shaped(draw, *element_strategies, shapes=SHAPES):
    shape = draw(shapes, label="shape")
    return tuple(draw(arrays(np.float64, shape, elements=e)) for e in element_strategies)


def pm_one(shape):
    return arrays(np.float64, shape, elements=st.sampled_from([-1.0, 1.0]))


# --------------------------------------------------------------------------------------------
# every new reference: reduction contract

_X = np.array([[0.2, -0.7, 1.5], [0.9, 0.4, -2.0]])
_Y = np.array([[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]])
_P = np.array([[0.2, 0.7, 0.1], [0.9, 0.4, 0.0]])
_G = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
_BOXES = np.array([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 4.0]])
_CTC_LP = log_softmax(np.arange(24.0).reshape(4, 2, 3) % 5, axis=-1)
_CALLS = {
    "poisson_nll": lambda r: regression.poisson_nll(_X, np.abs(_Y) * 2, reduction=r),
    "gaussian_nll": lambda r: regression.gaussian_nll(_X, _Y, np.abs(_X), reduction=r),
    "asymmetric_mse": lambda r: regression.asymmetric_mse(_X, _Y, reduction=r),
    "focal_multiclass": lambda r: classification.focal_multiclass(_X, np.array([0, 2]), reduction=r),
    "soft_margin": lambda r: classification.soft_margin(_X, _Y, reduction=r),
    "multilabel_soft_margin": lambda r: classification.multilabel_soft_margin(_X, _G, reduction=r),
    "multi_margin": lambda r: classification.multi_margin(_X, np.array([0, 2]), reduction=r),
    "hinge": lambda r: classification.hinge(_X, _Y, reduction=r),
    "multilabel_margin": lambda r: classification.multilabel_margin(
        _X, np.array([[0, -1, 0], [2, 1, -1]]), reduction=r),
    "hinge_embedding": lambda r: embedding.hinge_embedding(_X, _Y, reduction=r),
    "cosine_embedding": lambda r: embedding.cosine_embedding(_X, _P, np.array([1, -1]), reduction=r),
    "margin_ranking": lambda r: embedding.margin_ranking(_X[0], _X[1], _Y[0], reduction=r),
    "triplet_batch_hard": lambda r: embedding.triplet_batch_hard(
        np.vstack([_X, _P]), np.array([0, 1, 0, 1]), reduction=r),
    "tversky": lambda r: segmentation.tversky(_P[None], _G[None], reduction=r),
    "generalized_dice": lambda r: segmentation.generalized_dice(_P[None], _G[None], reduction=r),
    "iou": lambda r: segmentation.iou(_BOXES, _BOXES[::-1], reduction=r),
    "giou": lambda r: segmentation.giou(_BOXES, _BOXES[::-1], reduction=r),
    "gaussian_kl": lambda r: generative.gaussian_kl(_X, _P, reduction=r),
    "gan_discriminator": lambda r: generative.gan_discriminator(_X[0], _X[1], reduction=r),
    "gan_generator": lambda r: generative.gan_generator(_X, reduction=r),
    "wasserstein_critic": lambda r: generative.wasserstein_critic(_X[0], _X[1], reduction=r),
    "uncertainty_weighting": lambda r: generative.uncertainty_weighting(_P[0], _X[0], reduction=r),
    "ctc": lambda r: sequence.ctc(_CTC_LP, np.array([[1, 2], [2, 0]]), [4, 3], [2, 1], reduction=r),
}


@pytest.mark.parametrize("name", sorted(_CALLS))
def test_every_new_reference_rejects_an_unknown_reduction(name):
    with pytest.raises(ValueError, match="reduction"):
        _CALLS[name]("batchmean")


@pytest.mark.parametrize("name", sorted(_CALLS))
def test_every_new_reference_returns_float64_scalars_and_arrays(name):
    assert_float64_outputs(_CALLS[name])


def test_importing_the_new_modules_does_not_import_torch():
    code = (
        "import sys\n"
        "import losscheck.references.generative, losscheck.references.sequence\n"
        "import losscheck.references.segmentation, losscheck.references.classification\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0].startswith('torch'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# regression: poisson_nll


counts = st.integers(0, 20).map(float) | finite(0, 20)


@pytest.mark.parametrize("log_input", [True, False], ids=["log_input", "rate_input"])
@pytest.mark.parametrize("full", [False, True], ids=["", "full"])
@pytest.mark.parametrize("eps", [1e-8, 0.5], ids=lambda e: f"eps={e}")
@SETTINGS
@given(case=shaped(finite(-20, 20), finite(0, 50), counts))
# y around the Stirling threshold (full adds the term only where y > 1)
@example(case=(f64([0.0, -3.0, 2.0, 0.5]), f64([0.0, 1e-12, 3.0, 0.0]), f64([0.0, 1.0, 1.5, 2.0])))
@example(case=(f64([[1.0], [-1.0]]), f64([[0.0], [7.0]]), f64([0.0, 1.0, 20.0])))  # broadcast (2,1) vs (3,)
@example(case=(f64(2.0), f64(3.0), f64(4.0)))  # 0-d
def test_poisson_nll_matches_torch(log_input, full, eps, case):
    log_rate, rate, y = case
    x = log_rate if log_input else rate
    options = {"log_input": log_input, "full": full, "eps": eps}
    check_reductions("poisson_nll", regression.poisson_nll, (x, y), F.poisson_nll_loss,
                     (tt(x), tt(y)), options)


def test_poisson_nll_closed_forms():
    # log_input: e^x - y x; rate: x - y log(x + eps); full adds y log y - y + ½ log(2π y) for y > 1
    assert regression.poisson_nll(np.array([0.0]), np.array([0.0])) == 1.0
    assert regression.poisson_nll(np.array([2.0]), np.array([3.0]), log_input=False, eps=0.0) == \
        pytest.approx(2.0 - 3.0 * math.log(2.0), rel=1e-15)
    stirling = 3.0 * math.log(3.0) - 3.0 + 0.5 * math.log(2 * math.pi * 3.0)
    out = regression.poisson_nll(np.array([0.0, 0.0]), np.array([1.0, 3.0]), full=True, reduction="none")
    np.testing.assert_allclose(out, [1.0, 1.0 + stirling], rtol=1e-15)


# --------------------------------------------------------------------------------------------
# regression: gaussian_nll

VAR_LAYOUTS = {
    # name: (input shape, var shape or "float")
    "same": ((3, 4), (3, 4)),
    "one_fewer_dim": ((3, 4), (3,)),
    "last_dim_1": ((3, 4), (3, 1)),
    "middle_dim_1": ((2, 3, 4), (2, 1, 4)),
    "1d_one_fewer": ((5,), ()),
    "float": ((3, 2), "float"),
}


@st.composite
def gaussian_cases(draw):
    layout = draw(st.sampled_from(sorted(VAR_LAYOUTS)), label="layout")
    input_shape, var_shape = VAR_LAYOUTS[layout]
    values = finite(-100, 100)
    x = draw(arrays(np.float64, input_shape, elements=values), label="input")
    y = draw(arrays(np.float64, input_shape, elements=values), label="target")
    variances = st.sampled_from([0.0, 1e-6, 1e-7]) | finite(0, 10)
    if var_shape == "float":
        var = draw(variances, label="var")
    else:
        var = draw(arrays(np.float64, var_shape, elements=variances), label="var")
    return x, y, var


_GX = np.array([[0.5, -1.0, 2.0, 0.0], [3.0, 0.25, -0.5, 1.0], [0.0, 0.0, 0.0, 0.0]])
_GY = np.array([[0.0, 0.0, 1.999, 0.0], [-3.0, 0.25, 0.5, 1.0], [1.0, -1.0, 0.0, 0.0]])
GAUSSIAN_EDGES = [
    (_GX, _GY, np.array([[1e-6, 0.0, 5e-7, 2.0], [1e-6, 1.0, 0.0, 1e-7], [1e-6, 1e-6, 0.0, 3.0]])),  # var at eps
    (_GX, _GY, np.array([1e-6, 0.0, 0.5])),  # one fewer dim
    (_GX, _GY, np.array([[1e-6], [0.0], [4.0]])),  # last dim of 1
    (_GX.reshape(1, 3, 4), _GY.reshape(1, 3, 4), np.array([[[1e-6, 2.0, 0.0, 1.0]]])),  # a middle dim of 1
    (_GX[0], _GY[0], np.array(1e-6)),  # (D,) with a 0-d var: one fewer dim
    (_GX, _GY, 1e-6),  # a Python float
    (_GX, _GY, 0.0),
]


@pytest.mark.parametrize("full", [False, True], ids=["", "full"])
@pytest.mark.parametrize("eps", [1e-6, 0.1], ids=lambda e: f"eps={e}")
@SETTINGS
@given(case=gaussian_cases())
@with_examples(GAUSSIAN_EDGES)
def test_gaussian_nll_matches_torch(full, eps, case):
    x, y, var = case
    torch_var = var if isinstance(var, float) else tt(var)
    check_reductions("gaussian_nll", regression.gaussian_nll, (x, y, var), F.gaussian_nll_loss,
                     (tt(x), tt(y), torch_var), {"full": full, "eps": eps})


@pytest.mark.parametrize("full", [False, True], ids=["", "full"])
@pytest.mark.parametrize("var", [0.0, 1e-6, 5e-7, 1e-6 * (1 + 1e-12)], ids=["0", "eps", "below", "above"])
def test_gaussian_nll_at_the_eps_clamp_matches_torch(full, var):
    x = np.array([[0.5, -1.0], [2.0, 0.0]])
    y = np.array([[0.0, 0.0], [1.999, 0.0]])
    v = np.full((2, 1), var)
    check_reductions("gaussian_nll", regression.gaussian_nll, (x, y, v), F.gaussian_nll_loss,
                     (tt(x), tt(y), tt(v)), {"full": full, "eps": 1e-6})
    out = regression.gaussian_nll(x, y, v, reduction="none")
    expected = 0.5 * (math.log(max(var, 1e-6)) + (x - y) ** 2 / max(var, 1e-6))
    np.testing.assert_allclose(out, expected, rtol=1e-14)


@pytest.mark.parametrize("var_shape", [(3, 3), (2, 4), (4,), (3, 1, 1), (1, 1)])
def test_gaussian_nll_rejects_var_shapes_that_torch_rejects(var_shape):
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match="incorrect size"):
        F.gaussian_nll_loss(tt(x), tt(x), torch.ones(var_shape, dtype=torch.float64))
    with pytest.raises(ValueError, match="var"):
        regression.gaussian_nll(x, x, np.ones(var_shape))


def test_gaussian_nll_rejects_negative_var():
    with pytest.raises(ValueError, match="negative"):
        regression.gaussian_nll(np.zeros(2), np.zeros(2), np.array([1.0, -1e-9]))


# --------------------------------------------------------------------------------------------
# regression: asymmetric_mse


@pytest.mark.parametrize("over_penalty", [2.0, 1.0, 0.5, 10.0])
@SETTINGS
@given(case=shaped(finite(-100, 100), finite(-100, 100)))
@example(case=(f64([1.0, -1.0, 0.0, 3.0]), f64([0.0, 0.0, 0.0, 3.0])))
def test_asymmetric_mse_matches_loop(over_penalty, case):
    x, y = case
    flat = [(a - b) ** 2 * (over_penalty if a - b > 0 else 1.0) for a, b in zip(x.ravel(), y.ravel())]
    expected = np.array(flat, dtype=np.float64).reshape(x.shape)
    check_against("asymmetric_mse", regression.asymmetric_mse, (x, y), {"over_penalty": over_penalty},
                  expected)
    if over_penalty == 1.0:
        for reduction in REDUCTIONS:
            assert_close(regression.asymmetric_mse(x, y, over_penalty=1.0, reduction=reduction),
                         regression.mse(x, y, reduction=reduction), "asymmetric_mse == mse")


def test_asymmetric_mse_by_hand():
    out = regression.asymmetric_mse(np.array([3.0, -1.0]), np.array([1.0, 1.0]), reduction="none")
    np.testing.assert_array_equal(out, [2.0 * 4.0, 4.0])


# --------------------------------------------------------------------------------------------
# classification: focal_multiclass


@st.composite
def class_cases(draw, lo=-30.0, hi=30.0):
    layout = draw(st.sampled_from(["C", "NC", "NCd", "NCHW"]), label="layout")
    c = draw(st.integers(1, 5), label="C")
    n = draw(st.integers(1, 4), label="N")
    spatial = {"C": (), "NC": (), "NCd": (draw(st.integers(1, 3)),),
               "NCHW": (draw(st.integers(1, 3)), draw(st.integers(1, 3)))}[layout]
    shape = (c,) if layout == "C" else (n, c, *spatial)
    target_shape = () if layout == "C" else (n, *spatial)
    ignore_index = draw(st.sampled_from([-100, 0]), label="ignore_index")
    classes = st.sampled_from(sorted({*range(c), ignore_index}))
    return {
        "input": draw(arrays(np.float64, shape, elements=finite(lo, hi)), label="input"),
        "target": draw(arrays(np.int64, target_shape, elements=classes), label="target"),
        "alpha": draw(arrays(np.float64, (c,), elements=finite(0, 1)), label="alpha"),
        "ignore_index": ignore_index,
    }


def class_case(input, target, ignore_index=-100, alpha=None):
    input = f64(input)
    c = input.shape[0 if input.ndim == 1 else 1]
    return {"input": input, "target": np.asarray(target, dtype=np.int64), "ignore_index": ignore_index,
            "alpha": np.linspace(0.25, 1.0, c) if alpha is None else f64(alpha)}


CLASS_EDGES = [
    class_case([[BIG, -BIG, 0.0], [-BIG, BIG, BIG]], [1, 0]),  # confidently wrong at ±1e4
    class_case([[BIG, -BIG, 0.0], [-BIG, BIG, -BIG]], [0, 1]),  # confidently right: p_y = 1
    class_case([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]], [-100, -100]),  # every target ignored
    class_case([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]], [0, 2], ignore_index=0),
    class_case([0.5, -1.0, 2.0], 2),  # (C,) with a 0-d target
    class_case([[3.0], [-2.0]], [0, 0]),  # one class: p = 1
]


def focal_multiclass_loop(x, target, alpha, gamma, ignore_index):
    """Softmax focal loss one target at a time: log p by a shifted log-sum-exp in plain floats."""
    losses = np.zeros(target.shape)
    for index, y, logits in class_rows(x, target, ignore_index):
        log_p = logits[y] - logsumexp_loop(logits)
        a = 1.0 if alpha is None else (alpha if np.ndim(alpha) == 0 else float(alpha[y]))
        losses[index] = -a * (-math.expm1(log_p)) ** gamma * log_p
    return losses, target != ignore_index


@SETTINGS
@given(case=class_cases(-50, 50))
@with_examples(CLASS_EDGES)
def test_focal_multiclass_with_gamma_0_and_no_alpha_is_cross_entropy(case):
    x, t, ii = case["input"], case["target"], case["ignore_index"]
    for reduction in REDUCTIONS:
        assert_close(
            classification.focal_multiclass(x, t, alpha=None, gamma=0.0, ignore_index=ii,
                                            reduction=reduction),
            classification.cross_entropy(x, t, ignore_index=ii, reduction=reduction),
            call_repr("focal_multiclass", gamma=0.0, ignore_index=ii, reduction=reduction),
            rtol=1e-14, atol=0,
        )
    torch_ce = F.cross_entropy(tt(x), tt(t), ignore_index=ii, reduction="sum")
    assert_close(classification.focal_multiclass(x, t, gamma=0.0, ignore_index=ii, reduction="sum"),
                 torch_ce, "focal_multiclass(gamma=0) == F.cross_entropy")


@pytest.mark.parametrize("alpha_kind", ["none", "scalar", "per_class"])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0], ids=lambda g: f"gamma={g}")
@SETTINGS
@given(case=class_cases())
@with_examples(CLASS_EDGES)
def test_focal_multiclass_matches_loop(alpha_kind, gamma, case):
    x, t, ii = case["input"], case["target"], case["ignore_index"]
    alpha = {"none": None, "scalar": 0.25, "per_class": case["alpha"]}[alpha_kind]
    expected, keep = focal_multiclass_loop(x, t, alpha, gamma, ii)
    options = {"alpha": alpha, "gamma": gamma, "ignore_index": ii}
    check_against("focal_multiclass", classification.focal_multiclass, (x, t), options, expected,
                  rtol=1e-11, atol=1e-12, weights=keep)


def test_focal_multiclass_scalar_alpha_is_a_plain_factor_and_finite_at_extremes():
    x = np.array([[BIG, -BIG, 0.0], [-BIG, BIG, BIG], [0.3, 0.1, -0.2]])
    t = np.array([1, 0, 2])
    plain = classification.focal_multiclass(x, t, reduction="none")
    scaled = classification.focal_multiclass(x, t, alpha=0.25, reduction="none")
    assert np.all(np.isfinite(plain))
    np.testing.assert_allclose(scaled, 0.25 * plain, rtol=1e-15)
    # confidently wrong: (1 - p)^γ = 1 and -log p = 2e4 (+ log 2 where two logits tie at the top)
    np.testing.assert_allclose(plain[:2], [2 * BIG, 2 * BIG + math.log(2.0)], rtol=1e-15)
    assert math.isnan(classification.focal_multiclass(x, np.full(3, -100)))
    with pytest.raises(ValueError, match="alpha"):
        classification.focal_multiclass(x, t, alpha=np.ones(2))
    with pytest.raises(ValueError, match="range"):
        classification.focal_multiclass(x, np.array([0, 1, 3]))


# --------------------------------------------------------------------------------------------
# classification: soft_margin, multilabel_soft_margin, multi_margin, hinge, multilabel_margin


@SETTINGS
@given(case=shaped(finite(-300, 300), st.sampled_from([-1.0, 1.0])))
@example(case=(f64([0.0, 700.0, -700.0, 1e-12]), f64([1.0, 1.0, 1.0, -1.0])))
@example(case=(f64([[2.0, -3.0]]), f64([[-1.0, -1.0]])))
@example(case=(f64(0.5), f64(-1.0)))
def test_soft_margin_matches_torch(case):
    x, y = case
    check_reductions("soft_margin", classification.soft_margin, (x, y), F.soft_margin_loss,
                     (tt(x), tt(y)), {})


def test_soft_margin_is_finite_where_torch_overflows():
    x = np.array([800.0, -800.0, BIG, -1e300])
    y = np.array([-1.0, 1.0, -1.0, 1.0])
    out = classification.soft_margin(x, y, reduction="none")
    np.testing.assert_allclose(out, [800.0, 800.0, BIG, 1e300], rtol=1e-15)
    assert np.all(np.isinf(F.soft_margin_loss(tt(x), tt(y), reduction="none").numpy()))  # torch overflows


@st.composite
def multilabel_cases(draw):
    batched = draw(st.booleans(), label="batched")
    c = draw(st.integers(1, 5), label="C")
    shape = (draw(st.integers(1, 4), label="N"), c) if batched else (c,)
    return {
        "input": draw(arrays(np.float64, shape, elements=finite(-50, 50)), label="input"),
        "target": draw(arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0]) | finite(0, 1)),
                       label="target"),
        "weight": draw(arrays(np.float64, (c,), elements=finite(0, 3)), label="weight"),
    }


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weight"])
@SETTINGS
@given(case=multilabel_cases())
@example(case={"input": f64([[BIG, -BIG, 0.0], [-BIG, BIG, 1.0]]), "target": f64([[1, 0, 1], [1, 0, 0]]),
               "weight": f64([1.0, 2.0, 0.5])})
@example(case={"input": f64([0.3, -0.2]), "target": f64([1.0, 0.0]), "weight": f64([1.0, 3.0])})
def test_multilabel_soft_margin_matches_torch(weighted, case):
    x, y = case["input"], case["target"]
    w = case["weight"] if weighted else None
    check_reductions("multilabel_soft_margin", classification.multilabel_soft_margin, (x, y),
                     F.multilabel_soft_margin_loss, (tt(x), tt(y)), {"weight": w},
                     {"weight": None if w is None else tt(w)})


@st.composite
def multi_margin_cases(draw):
    layout = draw(st.sampled_from(["NC", "C", "C1"]), label="layout")
    c = draw(st.integers(1, 5), label="C")
    n = draw(st.integers(1, 4), label="N")
    shape = (n, c) if layout == "NC" else (c,)
    target_shape = {"NC": (n,), "C": (), "C1": (1,)}[layout]
    return {
        "input": draw(arrays(np.float64, shape, elements=finite(-5, 5)), label="input"),
        "target": draw(arrays(np.int64, target_shape, elements=st.integers(0, c - 1)), label="target"),
        "weight": draw(arrays(np.float64, (c,), elements=finite(0, 3)), label="weight"),
    }


@pytest.mark.parametrize("p", [1, 2], ids=lambda p: f"p={p}")
@pytest.mark.parametrize("margin", [1.0, 0.3, 0.0], ids=lambda m: f"margin={m}")
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weight"])
@SETTINGS
@given(case=multi_margin_cases())
@example(case={"input": f64([[1.0, 1.0, 1.0], [0.0, 2.0, -1.0]]), "target": np.array([0, 1]),
               "weight": f64([0.5, 2.0, 1.0])})  # ties: z = margin exactly
@example(case={"input": f64([[3.0]]), "target": np.array([0]), "weight": f64([2.0])})  # C = 1
def test_multi_margin_matches_torch(p, margin, weighted, case):
    x, t = case["input"], case["target"]
    w = case["weight"] if weighted else None
    check_reductions("multi_margin", classification.multi_margin, (x, t), F.multi_margin_loss,
                     (tt(x), tt(t)), {"p": p, "margin": margin, "weight": w},
                     {"p": p, "margin": margin, "weight": None if w is None else tt(w)})


def test_multi_margin_weight_is_that_of_the_target_class_by_hand():
    x = np.array([[0.0, 0.5, -0.5]])
    t = np.array([0])
    w = np.array([3.0, 100.0, 100.0])
    # z_1 = 1 - 0 + 0.5 = 1.5, z_2 = 1 - 0 - 0.5 = 0.5; w[y] = 3; / C = 3
    assert classification.multi_margin(x, t, weight=w) == pytest.approx(3.0 * 2.0 / 3, rel=1e-15)
    assert classification.multi_margin(x, t, p=2) == pytest.approx((2.25 + 0.25) / 3, rel=1e-15)
    with pytest.raises(ValueError, match="p = 1"):
        classification.multi_margin(x, t, p=3)
    with pytest.raises(ValueError, match="range"):
        classification.multi_margin(x, np.array([3]))


@pytest.mark.parametrize("margin", [1.0, 0.0, 2.5], ids=lambda m: f"margin={m}")
@SETTINGS
@given(case=shaped(finite(-10, 10), st.sampled_from([-1.0, 1.0])))
@example(case=(f64([1.0, -1.0, 0.0, 2.0]), f64([1.0, -1.0, 1.0, -1.0])))  # on the margin
def test_hinge_by_hand(margin, case):
    x, y = case
    expected = np.array([max(0.0, margin - b * a) for a, b in zip(x.ravel(), y.ravel())]).reshape(x.shape)
    check_against("hinge", classification.hinge, (x, y), {"margin": margin}, expected, rtol=0, atol=1e-15)


def test_hinge_closed_form_and_labels():
    out = classification.hinge(np.array([2.0, 0.5, -0.5, 0.5]), np.array([1, 1, 1, -1]), reduction="none")
    np.testing.assert_array_equal(out, [0.0, 0.5, 1.5, 1.5])
    with pytest.raises(ValueError, match="-1 or 1"):
        classification.hinge(np.array([1.0]), np.array([0.0]))


@st.composite
def multilabel_margin_cases(draw):
    batched = draw(st.booleans(), label="batched")
    c = draw(st.integers(1, 5), label="C")
    n = draw(st.integers(1, 4), label="N") if batched else 1
    rows = []
    for _ in range(n):
        listed = draw(st.lists(st.integers(0, c - 1), max_size=c), label="listed")  # duplicates allowed
        junk = draw(st.lists(st.integers(-1, c - 1), min_size=c, max_size=c), label="after -1")
        rows.append((listed + [-1] + junk)[:c])
    target = np.array(rows, dtype=np.int64)
    shape = (n, c) if batched else (c,)
    return {
        "input": draw(arrays(np.float64, shape, elements=finite(-5, 5)), label="input"),
        "target": target.reshape(shape),
    }


@SETTINGS
@given(case=multilabel_margin_cases())
@example(case={"input": f64([[0.1, 0.2, 0.4, 0.8]]), "target": np.array([[3, 0, -1, 1]])})  # torch's doc
@example(case={"input": f64([[0.1, 0.2, 0.4], [1.0, -1.0, 0.0]]),
               "target": np.array([[1, 1, -1], [-1, 0, 1]])})  # a duplicate; an empty target list
@example(case={"input": f64([0.5, -0.5, 2.0]), "target": np.array([0, 1, 2])})  # every class a target
def test_multilabel_margin_matches_torch(case):
    x, t = case["input"], case["target"]
    check_reductions("multilabel_margin", classification.multilabel_margin, (x, t),
                     F.multilabel_margin_loss, (tt(x), tt(t)), {})


def test_multilabel_margin_torch_doc_example_and_bad_targets():
    x = np.array([[0.1, 0.2, 0.4, 0.8]])
    out = classification.multilabel_margin(x, np.array([[3, 0, -1, 1]]))
    assert out == pytest.approx(0.85, rel=1e-14)
    with pytest.raises(ValueError, match="range"):
        classification.multilabel_margin(x, np.array([[3, 0, -1, 4]]))
    with pytest.raises(ValueError, match="shape"):
        classification.multilabel_margin(x, np.array([3, 0]))


# --------------------------------------------------------------------------------------------
# embedding: hinge_embedding, cosine_embedding, margin_ranking


@pytest.mark.parametrize("margin", [1.0, 0.0, 2.5], ids=lambda m: f"margin={m}")
@SETTINGS
@given(case=shaped(finite(-10, 10), st.sampled_from([-1.0, 1.0])))
@example(case=(f64([0.0, 1.0, 3.0, -2.0]), f64([-1.0, -1.0, -1.0, 1.0])))
@example(case=(f64(0.5), f64(-1.0)))
def test_hinge_embedding_matches_torch(margin, case):
    x, y = case
    check_reductions("hinge_embedding", embedding.hinge_embedding, (x, y), F.hinge_embedding_loss,
                     (tt(x), tt(y)), {"margin": margin})


@st.composite
def cosine_cases(draw):
    batched = draw(st.booleans(), label="batched")
    d = draw(st.integers(1, 5), label="D")
    n = draw(st.integers(1, 4), label="N")
    shape = (n, d) if batched else (d,)
    vectors = st.sampled_from([0.0]) | finite(-10, 10)
    return {
        "x1": draw(arrays(np.float64, shape, elements=vectors), label="x1"),
        "x2": draw(arrays(np.float64, shape, elements=vectors), label="x2"),
        "y": draw(pm_one((n,) if batched else ()), label="y"),
    }


@pytest.mark.parametrize("margin", [0.0, 0.5, -0.5], ids=lambda m: f"margin={m}")
@SETTINGS
@given(case=cosine_cases())
@example(case={"x1": np.zeros((2, 3)), "x2": np.zeros((2, 3)), "y": f64([1, -1])})  # zero vectors
@example(case={"x1": np.zeros((2, 3)), "x2": np.ones((2, 3)), "y": f64([1, -1])})
@example(case={"x1": f64([[1e-7, 0.0]]), "x2": f64([[1e-7, 0.0]]), "y": f64([1])})  # norm² ~ EPS
@example(case={"x1": f64([1.0, 2.0]), "x2": f64([-2.0, -4.0]), "y": f64(-1)})  # (D,), cos = -1
def test_cosine_embedding_matches_torch(margin, case):
    x1, x2, y = case["x1"], case["x2"], case["y"]
    check_reductions("cosine_embedding", embedding.cosine_embedding, (x1, x2, y),
                     F.cosine_embedding_loss, (tt(x1), tt(x2), tt(y)), {"margin": margin})


def test_cosine_embedding_zero_vectors_are_finite():
    z = np.zeros((2, 3))
    out = embedding.cosine_embedding(z, z, np.array([1, -1]), reduction="none")
    np.testing.assert_array_equal(out, [1.0, 0.0])
    with pytest.raises(ValueError, match="shape"):
        embedding.cosine_embedding(z, z, np.array(1))


@pytest.mark.parametrize("margin", [0.0, 0.5, 2.0], ids=lambda m: f"margin={m}")
@SETTINGS
@given(case=shaped(finite(-10, 10), finite(-10, 10), st.sampled_from([-1.0, 1.0])))
@example(case=(f64([1.0, 1.0, 0.0]), f64([1.0, 0.0, 1.0]), f64([1.0, -1.0, 1.0])))
def test_margin_ranking_matches_torch(margin, case):
    x1, x2, y = case
    check_reductions("margin_ranking", embedding.margin_ranking, (x1, x2, y), F.margin_ranking_loss,
                     (tt(x1), tt(x2), tt(y)), {"margin": margin})


# --------------------------------------------------------------------------------------------
# embedding: triplet_batch_hard


def batch_hard_loop(e, labels, margin, squared):
    """Batch-hard triplet loss anchor by anchor, in plain Python floats."""
    n = len(labels)

    def dist(i, j):
        sq = sum((float(a) - float(b)) ** 2 for a, b in zip(e[i], e[j]))
        return sq if squared else math.sqrt(sq)

    losses, valid = [], []
    for i in range(n):
        pos = [dist(i, j) for j in range(n) if j != i and labels[j] == labels[i]]
        neg = [dist(i, j) for j in range(n) if labels[j] != labels[i]]
        if pos and neg:
            losses.append(max(max(pos) - min(neg) + margin, 0.0))
            valid.append(True)
        else:
            losses.append(0.0)
            valid.append(False)
    return np.array(losses), np.array(valid)


@st.composite
def batch_hard_cases(draw):
    n = draw(st.integers(1, 7), label="N")
    d = draw(st.integers(1, 4), label="D")
    return {
        "embeddings": draw(arrays(np.float64, (n, d), elements=finite(-3, 3)), label="embeddings"),
        "labels": draw(arrays(np.int64, (n,), elements=st.integers(0, 2)), label="labels"),
    }


@pytest.mark.parametrize("squared", [False, True], ids=["plain", "squared"])
@pytest.mark.parametrize("margin", [1.0, 0.2], ids=lambda m: f"margin={m}")
@SETTINGS
@given(case=batch_hard_cases())
@example(case={"embeddings": np.eye(4), "labels": np.array([0, 0, 1, 1])})
@example(case={"embeddings": np.zeros((3, 2)), "labels": np.array([0, 0, 1])})  # identical points
@example(case={"embeddings": np.eye(3), "labels": np.array([0, 1, 2])})  # no positives: mean is nan
@example(case={"embeddings": np.eye(3), "labels": np.array([5, 5, 5])})  # no negatives
def test_triplet_batch_hard_matches_loop(squared, margin, case):
    e, labels = case["embeddings"], case["labels"]
    expected, valid = batch_hard_loop(e, labels, margin, squared)
    check_against("triplet_batch_hard", embedding.triplet_batch_hard, (e, labels),
                  {"margin": margin, "squared": squared}, expected, weights=valid)


def test_triplet_batch_hard_closed_form():
    # points on a line: 0, 1 (label a), 3, 6 (label b)
    e = np.array([[0.0], [1.0], [3.0], [6.0]])
    labels = np.array(["a", "a", "b", "b"])
    out = embedding.triplet_batch_hard(e, labels, margin=1.0, reduction="none")
    # anchor 0: d_p = 1, d_n = 3 -> 0; anchor 1: 1 - 2 + 1 = 0; anchor 2: 3 - 2 + 1 = 2;
    # anchor 3: 3 - 5 + 1 = 0
    np.testing.assert_array_equal(out, [0.0, 0.0, 2.0, 0.0])
    out = embedding.triplet_batch_hard(e, labels, margin=1.0, squared=True, reduction="none")
    np.testing.assert_array_equal(out, [0.0, 0.0, 9.0 - 4.0 + 1.0, 0.0])
    assert math.isnan(embedding.triplet_batch_hard(np.eye(2), np.array([0, 1])))


# --------------------------------------------------------------------------------------------
# segmentation: tversky and generalized_dice


@SETTINGS
@given(case=mask_cases(max_channels=4))
@with_examples(MASK_EDGES)
def test_tversky_at_half_half_is_dice_with_twice_the_smooth(case):
    p, g, s = case["input"], case["target"], case["smooth"]
    for reduction in REDUCTIONS:
        assert_close(
            segmentation.tversky(p, g, alpha=0.5, beta=0.5, smooth=s, reduction=reduction),
            segmentation.dice(p, g, smooth=2 * s, reduction=reduction),
            call_repr("tversky", smooth=s, reduction=reduction), rtol=1e-13, atol=1e-15,
        )


def tversky_loop(p, g, alpha, beta, smooth):
    n, c = p.shape[:2]
    out = np.zeros((n, c))
    for i in range(n):
        for j in range(c):
            ps, gs = [float(v) for v in p[i, j].ravel()], [float(v) for v in g[i, j].ravel()]
            tp = sum(a * b for a, b in zip(ps, gs))
            fp = sum(a * (1 - b) for a, b in zip(ps, gs))
            fn = sum((1 - a) * b for a, b in zip(ps, gs))
            with np.errstate(divide="ignore", invalid="ignore"):
                out[i, j] = 1.0 - np.float64(tp + smooth) / np.float64(tp + alpha * fp + beta * fn + smooth)
    return out


@pytest.mark.parametrize("alpha, beta", [(0.5, 0.5), (0.3, 0.7), (0.7, 0.3), (1.0, 1.0)])
@SETTINGS
@given(case=mask_cases(max_channels=4))
@with_examples(MASK_EDGES)
def test_tversky_matches_loop(alpha, beta, case):
    p, g, s = case["input"], case["target"], case["smooth"]
    expected = tversky_loop(p, g, alpha, beta, s)
    check_against("tversky", segmentation.tversky, (p, g), {"alpha": alpha, "beta": beta, "smooth": s},
                  expected, rtol=1e-12, atol=1e-14)


def test_tversky_weights_fp_with_alpha_and_fn_with_beta():
    # one channel: p = [1, 1, 0], g = [1, 0, 1]: TP = 1, FP = 1, FN = 1
    p = np.array([1.0, 1.0, 0.0]).reshape(1, 1, 3)
    g = np.array([1.0, 0.0, 1.0]).reshape(1, 1, 3)
    assert segmentation.tversky(p, g, alpha=0.2, beta=0.8, smooth=0.0) == pytest.approx(1 - 1 / 2.0)
    p_fp = np.array([1.0, 1.0, 1.0]).reshape(1, 1, 3)  # against g = [1, 0, 1]: TP = 2, FP = 1, FN = 0
    assert segmentation.tversky(p_fp, g, alpha=0.2, beta=0.8, smooth=0.0) == pytest.approx(1 - 2 / 2.2)
    assert segmentation.tversky(np.zeros((1, 1, 2)), np.zeros((1, 1, 2))) == 0.0  # empty: s/s


def generalized_dice_straightforward(p, g, w_type, smooth_nr, smooth_dr, batch):
    """Sudre et al. 2017 with MONAI's infinite-weight replacement, one sample (or the batch) at a time."""
    n, c = p.shape[:2]
    groups = [list(range(n))] if batch else [[i] for i in range(n)]
    out = []
    for members in groups:
        inter, ground, pred = [], [], []
        for j in range(c):
            ps = np.concatenate([p[i, j].ravel() for i in members])
            gs = np.concatenate([g[i, j].ravel() for i in members])
            inter.append(float(np.dot(ps, gs)))
            ground.append(float(gs.sum()))
            pred.append(float(ps.sum()))
        weights = []
        for gc in ground:
            if w_type == "uniform":
                weights.append(1.0)
            elif gc == 0.0:
                weights.append(math.inf)
            else:
                weights.append(1.0 / gc**2 if w_type == "square" else 1.0 / gc)
        finite_weights = [w for w in weights if math.isfinite(w)]
        largest = max(finite_weights) if finite_weights else 0.0
        weights = [w if math.isfinite(w) else largest for w in weights]
        num = 2.0 * sum(w * i for w, i in zip(weights, inter)) + smooth_nr
        den = sum(w * (gc + pc) for w, gc, pc in zip(weights, ground, pred)) + smooth_dr
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(1.0 - np.float64(num) / np.float64(den))
    return np.array(out[0] if batch else out, dtype=np.float64)


@pytest.mark.parametrize("w_type", ["square", "simple", "uniform"])
@pytest.mark.parametrize("batch", [False, True], ids=["per_sample", "batch"])
@pytest.mark.parametrize("smooth", [(1e-5, 1e-5), (0.0, 1.0), (1.0, 1.0)],
                         ids=lambda s: f"nr={s[0]},dr={s[1]}")
@SETTINGS
@given(case=mask_cases(max_channels=4))
@with_examples(MASK_EDGES + [
    # class 1 absent from the target: its infinite weight becomes the largest finite one
    masks(np.full((2, 3, 4), 0.5), np.array([[[1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1]]] * 2)),
])
def test_generalized_dice_matches_straightforward(w_type, batch, smooth, case):
    p, g = case["input"], case["target"]
    smooth_nr, smooth_dr = smooth
    expected = generalized_dice_straightforward(p, g, w_type, smooth_nr, smooth_dr, batch)
    options = {"w_type": w_type, "smooth_nr": smooth_nr, "smooth_dr": smooth_dr, "batch": batch}
    check_against("generalized_dice", segmentation.generalized_dice, (p, g), options, expected,
                  rtol=1e-11, atol=1e-13)


def test_generalized_dice_closed_forms():
    # perfect prediction: 0 (up to smoothing); the weights do not cancel across classes
    g = np.zeros((1, 2, 4))
    g[0, 0, :3] = 1.0
    g[0, 1, 3] = 1.0
    assert segmentation.generalized_dice(g, g, smooth_nr=0, smooth_dr=0) == pytest.approx(0.0, abs=1e-15)
    # class 0: G = 3, Σp = 3, I = 3 ; class 1: G = 1, Σp = 0, I = 0 ; w = (1/9, 1)
    p = g.copy()
    p[0, 1] = 0.0
    expected = 1 - 2 * (3 / 9) / (6 / 9 + 1)
    assert segmentation.generalized_dice(p, g, smooth_nr=0, smooth_dr=0) == pytest.approx(expected, rel=1e-14)
    # every class absent and nothing predicted: weights 0 -> smooth_nr / smooth_dr = 1 -> 0
    empty = np.zeros((2, 3, 2, 2))
    np.testing.assert_array_equal(segmentation.generalized_dice(empty, empty, reduction="none"), [0.0, 0.0])
    assert segmentation.generalized_dice(empty, empty, batch=True, reduction="none").shape == ()
    with pytest.raises(ValueError, match="w_type"):
        segmentation.generalized_dice(empty, empty, w_type="log")


# --------------------------------------------------------------------------------------------
# segmentation: iou and giou on boxes


def torchvision_giou_loss(boxes1, boxes2, reduction, eps):
    """torchvision.ops.generalized_box_iou_loss, written out (torchvision is not installed here)."""
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xkis1, ykis1 = torch.max(x1, x1g), torch.max(y1, y1g)
    xkis2, ykis2 = torch.min(x2, x2g), torch.min(y2, y2g)
    intsctk = torch.zeros_like(x1)
    mask = (ykis2 > ykis1) & (xkis2 > xkis1)
    intsctk[mask] = (xkis2[mask] - xkis1[mask]) * (ykis2[mask] - ykis1[mask])
    unionk = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsctk
    iouk = intsctk / (unionk + eps)
    xc1, yc1 = torch.min(x1, x1g), torch.min(y1, y1g)
    xc2, yc2 = torch.max(x2, x2g), torch.max(y2, y2g)
    area_c = (xc2 - xc1) * (yc2 - yc1)
    miouk = iouk - ((area_c - unionk) / (area_c + eps))
    loss = 1 - miouk
    if reduction == "none":
        return loss
    return loss.mean() if reduction == "mean" else loss.sum()


@st.composite
def box_cases(draw):
    n = draw(st.integers(1, 5), label="N")

    def boxes(label):
        corner = draw(arrays(np.float64, (n, 2), elements=finite(-10, 10)), label=f"{label} corner")
        size = draw(arrays(np.float64, (n, 2), elements=st.sampled_from([0.0]) | finite(0, 10)),
                    label=f"{label} size")
        return np.concatenate([corner, corner + size], axis=1)

    return {"input": boxes("input"), "target": boxes("target")}


BOX_EDGES = [
    {"input": f64([[0, 0, 2, 2], [1, 1, 3, 3]]), "target": f64([[0, 0, 2, 2], [1, 1, 3, 3]])},  # identical
    {"input": f64([[0, 0, 1, 1]]), "target": f64([[2, 0, 3, 1]])},  # disjoint
    {"input": f64([[0, 0, 1, 1]]), "target": f64([[1, 0, 2, 1]])},  # touching
    {"input": f64([[1, 1, 1, 1], [0, 0, 0, 5]]), "target": f64([[1, 1, 1, 1], [0, 0, 2, 2]])},  # degenerate
]


@pytest.mark.parametrize("eps", [1e-7, 0.0, 0.1], ids=lambda e: f"eps={e}")
@SETTINGS
@given(case=box_cases())
@with_examples(BOX_EDGES[:2] + BOX_EDGES[2:3])
def test_giou_matches_torchvision_formula(eps, case):
    b1, b2 = case["input"], case["target"]
    check_reductions("giou", segmentation.giou, (b1, b2), torchvision_giou_loss, (tt(b1), tt(b2)),
                     {"eps": eps})


@pytest.mark.parametrize("eps", [1e-7, 0.1], ids=lambda e: f"eps={e}")
@SETTINGS
@given(case=box_cases())
@with_examples(BOX_EDGES)
def test_iou_matches_loop_and_bounds_giou(eps, case):
    b1, b2 = case["input"], case["target"]
    expected = []
    for a, b in zip(b1, b2):
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        inter = w * h if w > 0 and h > 0 else 0.0
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        expected.append(1.0 - inter / (union + eps))
    check_against("iou", segmentation.iou, (b1, b2), {"eps": eps}, np.array(expected))
    iou = segmentation.iou(b1, b2, eps=eps, reduction="none")
    giou = segmentation.giou(b1, b2, eps=eps, reduction="none")
    assert np.all(np.isfinite(iou)) and np.all(np.isfinite(giou))
    assert np.all(giou >= iou - 1e-12) and np.all(giou <= 2.0 + 1e-12)


def test_box_losses_closed_forms():
    same = f64([[0, 0, 2, 2], [-1, 3, 5, 4]])
    np.testing.assert_allclose(segmentation.iou(same, same, reduction="none"), 0.0, atol=1e-7)
    np.testing.assert_allclose(segmentation.giou(same, same, reduction="none"), 0.0, atol=1e-7)
    np.testing.assert_allclose(segmentation.giou(same, same, eps=0.0, reduction="none"), 0.0, atol=1e-15)
    # disjoint unit boxes 1 apart: I = 0, U = 2, enclosure 3 -> iou loss 1, giou loss 1 + 1/3
    a, b = f64([[0, 0, 1, 1]]), f64([[2, 0, 3, 1]])
    assert segmentation.iou(a, b) == 1.0
    assert segmentation.giou(a, b, eps=0.0) == pytest.approx(1 + 1 / 3, rel=1e-15)
    assert segmentation.giou(a, b) == pytest.approx(1 + 1 / (3 + 1e-7), rel=1e-15)
    # half overlap: I = 1, U = 3, enclosure 3 -> 1 - 1/3
    c, d = f64([[0, 0, 2, 1]]), f64([[1, 0, 3, 1]])
    assert segmentation.giou(c, d, eps=0.0) == pytest.approx(2 / 3, rel=1e-15)
    assert segmentation.iou(c, d, eps=0.0) == pytest.approx(2 / 3, rel=1e-15)
    # degenerate: a point on itself, and a zero-width box against a box
    point = f64([[1, 1, 1, 1]])
    assert segmentation.giou(point, point) == 1.0 and segmentation.iou(point, point) == 1.0
    assert np.isfinite(segmentation.giou(f64([[0, 0, 0, 5]]), f64([[0, 0, 2, 2]]), eps=0.0))
    with pytest.raises(ValueError, match="x1 <= x2"):
        segmentation.giou(f64([[2, 0, 1, 1]]), a)
    with pytest.raises(ValueError, match="4"):
        segmentation.iou(np.zeros((2, 3)), np.zeros((2, 3)))


# --------------------------------------------------------------------------------------------
# generative


@st.composite
def latent_cases(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=4), label="shape")
    return (draw(arrays(np.float64, shape, elements=finite(-10, 10)), label="mu"),
            draw(arrays(np.float64, shape, elements=finite(-10, 10)), label="logvar"))


@SETTINGS
@given(case=latent_cases())
@example(case=(np.zeros((3, 4)), np.zeros((3, 4))))  # the prior itself: 0
@example(case=(f64([1e-9, -2.0]), f64([1e-12, -1e-9])))  # tiny logvar
@example(case=(f64([0.5, 1.0, -1.0]), f64([2.0, -3.0, 0.0])))  # (Z,): one sample
def test_gaussian_kl_matches_torch_distributions(case):
    mu, logvar = case
    kl = torch.distributions.kl_divergence(
        torch.distributions.Normal(tt(mu), torch.exp(0.5 * tt(logvar))),
        torch.distributions.Normal(torch.zeros(mu.shape, dtype=torch.float64), 1.0),
    ).sum(-1)
    expected = kl.numpy()
    closed = -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=-1)
    for reduction in REDUCTIONS:
        assert_close(generative.gaussian_kl(mu, logvar, reduction=reduction), reduce(expected, reduction),
                     call_repr("gaussian_kl", reduction=reduction), rtol=1e-10, atol=1e-12)
        assert_close(generative.gaussian_kl(mu, logvar, reduction=reduction), reduce(closed, reduction),
                     call_repr("gaussian_kl", reduction=reduction), rtol=1e-10, atol=1e-12)


def test_gaussian_kl_closed_forms():
    assert generative.gaussian_kl(np.zeros((4, 8)), np.zeros((4, 8))) == 0.0
    zeros = np.zeros((2, 3))
    np.testing.assert_array_equal(generative.gaussian_kl(zeros, zeros, reduction="none"), [0.0, 0.0])
    # mu = 1, logvar = 0 per latent: ½ each; 3 latents -> 1.5 per sample
    assert generative.gaussian_kl(np.ones((2, 3)), np.zeros(3)) == 1.5
    assert generative.gaussian_kl(np.ones((2, 3)), np.zeros(3), reduction="sum") == 3.0
    # small logvar keeps relative precision: ½(e^s - 1 - s) = s²/4 + s³/12 + ... (naive: cancels)
    for s in (1e-4, 1e-6, 1e-8):
        out = generative.gaussian_kl(np.zeros(1), np.array([s]))
        assert out == pytest.approx(s * s / 4 + s**3 / 12, rel=1e-7, abs=0)
    with pytest.raises(ValueError, match="1-D"):
        generative.gaussian_kl(0.0, 0.0)


@SETTINGS
@given(real=arrays(np.float64, st.integers(1, 5), elements=finite(-50, 50)),
       fake=arrays(np.float64, st.integers(1, 5), elements=finite(-50, 50)))
@example(real=f64([BIG, -BIG]), fake=f64([-BIG, BIG, 0.0]))
def test_gan_losses_match_bce_with_logits(real, fake):
    r, f = tt(real), tt(fake)
    for reduction in ("mean", "sum"):
        expected_d = (F.binary_cross_entropy_with_logits(r, torch.ones_like(r), reduction=reduction)
                      + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f), reduction=reduction))
        assert_close(generative.gan_discriminator(real, fake, reduction=reduction), expected_d,
                     call_repr("gan_discriminator", reduction=reduction))
        wc = f.mean() - r.mean() if reduction == "mean" else f.sum() - r.sum()
        assert_close(generative.wasserstein_critic(real, fake, reduction=reduction), wc,
                     call_repr("wasserstein_critic", reduction=reduction))
    for reduction in REDUCTIONS:
        expected_g = F.binary_cross_entropy_with_logits(f, torch.ones_like(f), reduction=reduction)
        assert_close(generative.gan_generator(fake, reduction=reduction), expected_g,
                     call_repr("gan_generator", reduction=reduction))
    if real.shape == fake.shape:
        none = (F.binary_cross_entropy_with_logits(r, torch.ones_like(r), reduction="none")
                + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f), reduction="none"))
        assert_close(generative.gan_discriminator(real, fake, reduction="none"), none, "gan_discriminator")
        assert_close(generative.wasserstein_critic(real, fake, reduction="none"), f - r, "wasserstein_critic")


def test_gan_losses_closed_forms():
    log2 = math.log(2.0)
    assert generative.gan_discriminator(np.zeros(3), np.zeros(5)) == pytest.approx(2 * log2, rel=1e-15)
    assert generative.gan_generator(np.zeros(4)) == pytest.approx(log2, rel=1e-15)
    assert generative.wasserstein_critic(f64([1.0, 3.0]), f64([0.0, 0.0, 3.0])) == 1.0 - 2.0
    with pytest.raises(ValueError, match="broadcast"):
        generative.gan_discriminator(np.zeros(3), np.zeros(5), reduction="none")
    with pytest.raises(ValueError, match="broadcast"):
        generative.wasserstein_critic(np.zeros(3), np.zeros(5), reduction="none")


@SETTINGS
@given(losses=arrays(np.float64, 3, elements=finite(0, 100)),
       log_vars=arrays(np.float64, 3, elements=finite(-5, 5)))
@example(losses=f64([1.0, 2.0, 3.0]), log_vars=np.zeros(3))  # s = 0: the plain sum
def test_uncertainty_weighting_matches_torch_formula(losses, log_vars):
    s, L = tt(log_vars), tt(losses)
    terms = torch.exp(-s) * L + s
    for reduction in REDUCTIONS:
        expected = {"none": terms, "mean": terms.mean(), "sum": terms.sum()}[reduction]
        assert_close(generative.uncertainty_weighting(losses, log_vars, reduction=reduction), expected,
                     call_repr("uncertainty_weighting", reduction=reduction))


def test_uncertainty_weighting_closed_form():
    assert generative.uncertainty_weighting(f64([1.0, 2.0]), np.zeros(2)) == 3.0
    s = math.log(2.0)
    assert generative.uncertainty_weighting(f64([4.0]), f64([s])) == pytest.approx(2.0 + s, rel=1e-15)


# --------------------------------------------------------------------------------------------
# sequence: ctc


@st.composite
def ctc_cases(draw):
    t_max = draw(st.integers(1, 6), label="T")
    n = draw(st.integers(1, 3), label="N")
    c = draw(st.integers(2, 5), label="C")
    blank = draw(st.sampled_from([0, c - 1, c // 2]), label="blank")
    raw = draw(arrays(np.float64, (t_max, n, c), elements=finite(-5, 5)), label="logits")
    normalised = draw(st.booleans(), label="normalised")
    log_probs = log_softmax(raw, axis=-1) if normalised else raw
    labels = st.sampled_from([k for k in range(c) if k != blank])
    input_lengths = np.array(draw(st.lists(st.integers(0, t_max), min_size=n, max_size=n)), dtype=np.int64)
    sequences = [draw(st.lists(labels, max_size=4), label="target") for _ in range(n)]
    target_lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    pad = draw(st.integers(0, 2), label="padding")
    width = int(target_lengths.max(initial=0)) + pad
    padded = np.full((n, width), blank, dtype=np.int64)  # the padding value is never read
    for i, s in enumerate(sequences):
        padded[i, : len(s)] = s
    concatenated = np.array([k for s in sequences for k in s], dtype=np.int64)
    return {"log_probs": log_probs, "padded": padded, "concatenated": concatenated,
            "input_lengths": input_lengths, "target_lengths": target_lengths, "blank": blank}


def ctc_case(log_probs, sequences, input_lengths, blank=0):
    log_probs = f64(log_probs)
    n = log_probs.shape[1]
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    padded = np.full((n, max(1, int(lengths.max(initial=0)))), 1 if blank == 0 else 0, dtype=np.int64)
    for i, s in enumerate(sequences):
        padded[i, : len(s)] = s
    return {"log_probs": log_probs, "padded": padded,
            "concatenated": np.array([k for s in sequences for k in s], dtype=np.int64),
            "input_lengths": np.asarray(input_lengths, dtype=np.int64), "target_lengths": lengths,
            "blank": blank}


_CTC_RNG = np.random.default_rng(7)
_LP = log_softmax(_CTC_RNG.normal(size=(5, 3, 4)), axis=-1)
CTC_EDGES = [
    ctc_case(_LP, [[], [], []], [5, 2, 0]),  # targets of length 0 (and an empty input)
    ctc_case(_LP, [[1, 2], [3, 3, 3], [1]], [1, 5, 0]),  # impossible alignments: T too short, repeats
    ctc_case(_LP, [[1, 1], [2], [3, 1, 2]], [3, 1, 5]),  # repeat needing a blank; one-frame alignment
    ctc_case(_LP[:, :1], [[1, 2, 3, 1, 2]], [5]),  # 5 labels in 5 frames: a single alignment
    ctc_case(_LP, [[0, 0], [2, 1, 0], []], [2, 3, 4], blank=3),  # blank = C - 1; [0, 0] needs 3 frames
]


@pytest.mark.parametrize("zero_infinity", [False, True], ids=["", "zero_infinity"])
@pytest.mark.parametrize("target_format", ["padded", "concatenated"])
@SETTINGS
@given(case=ctc_cases())
@with_examples(CTC_EDGES)
def test_ctc_matches_torch(zero_infinity, target_format, case):
    _check_ctc(case, target_format, zero_infinity)
    if zero_infinity:
        losses = sequence.ctc(case["log_probs"], case[target_format], case["input_lengths"], case["target_lengths"],
                              blank=case["blank"], zero_infinity=True, reduction="none")
        assert np.all(np.isfinite(losses))


def _check_ctc(case, target_format, zero_infinity):
    __tracebackhide__ = True
    lp, targets = case["log_probs"], case[target_format]
    il, tl, blank = case["input_lengths"], case["target_lengths"], case["blank"]
    check_reductions(
        "ctc", sequence.ctc, (lp, targets, il, tl), F.ctc_loss, (tt(lp), tt(targets), tt(il), tt(tl)),
        {"blank": blank, "zero_infinity": zero_infinity}, rtol=1e-9, atol=1e-10,
    )


@pytest.mark.parametrize("zero_infinity", [False, True], ids=["", "zero_infinity"])
@pytest.mark.parametrize("sequence_, length", [([1, 2], 4), ([2, 2], 4), ([], 3), ([1, 2, 1], 2)])
def test_ctc_unbatched_matches_torch(zero_infinity, sequence_, length):
    lp = _LP[:, 0]
    targets = np.array(sequence_, dtype=np.int64)
    check_reductions(
        "ctc", sequence.ctc, (lp, targets, length, len(sequence_)), F.ctc_loss,
        (tt(lp), tt(targets), torch.tensor(length), torch.tensor(len(sequence_))),
        {"zero_infinity": zero_infinity}, rtol=1e-9, atol=1e-10,
    )
    assert sequence.ctc(lp, targets, length, len(sequence_), reduction="none").shape == ()


def test_ctc_one_frame_alignment_is_minus_log_p_of_that_frame():
    lp = _LP  # (T=5, N=3, C=4)
    # one frame, one label: the only alignment is that label
    out = sequence.ctc(lp, np.array([[2], [3], [1]]), [1, 1, 1], [1, 1, 1], reduction="none")
    np.testing.assert_allclose(out, [-lp[0, 0, 2], -lp[0, 1, 3], -lp[0, 2, 1]], rtol=1e-15)
    # one frame, empty target: the only alignment is the blank
    out = sequence.ctc(lp, np.zeros((3, 0), dtype=np.int64), [1, 1, 1], [0, 0, 0], blank=2, reduction="none")
    np.testing.assert_allclose(out, -lp[0, :, 2], rtol=1e-15)
    # every frame used, as many labels as frames, no repeats: a single alignment, the sum over frames
    out = sequence.ctc(lp[:3, :1], np.array([[1, 2, 3]]), [3], [3], reduction="none")
    np.testing.assert_allclose(out, [-(lp[0, 0, 1] + lp[1, 0, 2] + lp[2, 0, 3])], rtol=1e-14)


def test_ctc_two_frame_closed_form_and_mean_divides_by_target_length():
    p = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3]])  # (T=2, C=3), blank = 0
    lp = np.log(p)[:, None, :]
    # target [1]: alignments (1,1), (1,b), (b,1)
    expected = -math.log(p[0, 1] * p[1, 1] + p[0, 1] * p[1, 0] + p[0, 0] * p[1, 1])
    assert sequence.ctc(lp, np.array([[1]]), [2], [1], reduction="sum") == pytest.approx(expected, rel=1e-14)
    # target [1, 2]: only (1, 2); 'mean' divides by the target length 2
    expected = -math.log(p[0, 1] * p[1, 2])
    assert sequence.ctc(lp, np.array([[1, 2]]), [2], [2]) == pytest.approx(expected / 2, rel=1e-14)
    # target [1, 1] needs 3 frames: impossible, inf (0 with zero_infinity)
    assert sequence.ctc(lp, np.array([[1, 1]]), [2], [2]) == math.inf
    assert sequence.ctc(lp, np.array([[1, 1]]), [2], [2], zero_infinity=True) == 0.0


def test_ctc_rejects_bad_input():
    lp = _LP
    with pytest.raises(ValueError, match="blank"):
        sequence.ctc(lp, np.array([[0, 1]] * 3), [5, 5, 5], [2, 2, 2])  # a blank inside a target
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        sequence.ctc(lp, np.array([[4, 1]] * 3), [5, 5, 5], [2, 2, 2])
    with pytest.raises(ValueError, match="input_lengths"):
        sequence.ctc(lp, np.array([[1, 1]] * 3), [6, 5, 5], [1, 1, 1])
    with pytest.raises(ValueError, match="padded"):
        sequence.ctc(lp, np.array([[1, 1]] * 3), [5, 5, 5], [3, 1, 1])
    with pytest.raises(ValueError, match="sum"):
        sequence.ctc(lp, np.array([1, 2, 3]), [5, 5, 5], [1, 1, 2])
    with pytest.raises(ValueError, match="blank"):
        sequence.ctc(lp, np.array([[1]] * 3), [5, 5, 5], [1, 1, 1], blank=4)
