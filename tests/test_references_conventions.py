"""Tests of the references' convention keywords: the maths of every catalogue convention (a spec's Option only
names reference keyword arguments), each option against torch or an independent straightforward computation
written here, with hypothesis (derandomized) and explicit ``@example``s for the edges, as in
tests/test_references.py; and the specs' side: every option's keywords exist on its reference, and the
conventions of one spec never set the same keyword (their products merge)."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from losscheck.references import classification, embedding, generative, segmentation
from losscheck.references._reduce import reduce
from losscheck.specs import SPECS
from reference_checks import (REDUCTIONS, assert_close, call_repr, class_rows, f64, finite, logsumexp_loop,
                              reference_settings, torch_reduce, tt)

SETTINGS = reference_settings()
BIG = 1e4


def each_reduction(name, reference, args, options, expected, rtol=1e-11, atol=1e-12):
    """reference(*args, **options, reduction=r) against expected[r] (a dict, or one callable of r)."""
    __tracebackhide__ = True
    for r in REDUCTIONS:
        assert_close(reference(*args, **options, reduction=r), expected(r) if callable(expected) else expected[r],
                     call_repr(name, **options, reduction=r), rtol=rtol, atol=atol)


# -- the specs' side ---------------------------------------------------------------------------

@pytest.mark.parametrize("loss_id", sorted(i for i, s in SPECS.items() if s.conventions))
def test_every_option_names_keywords_of_its_reference_and_no_two_conventions_share_one(loss_id):
    spec = SPECS[loss_id]
    keywords = set(inspect.signature(spec.reference).parameters)
    owner = {}
    for convention in spec.conventions:
        for value, option in convention.options.items():
            assert set(option.kwargs) <= keywords, f"{loss_id} {convention.name}={value}: {sorted(option.kwargs)}"
            for keyword in option.kwargs:
                assert owner.setdefault(keyword, convention.name) == convention.name, \
                    f"{loss_id}: {keyword} is set by {owner[keyword]} and {convention.name}"


# -- bce_with_logits and focal: normalise="positives" ------------------------------------------

BINARY = st.tuples(array_shapes(min_dims=1, max_dims=3, max_side=4)).flatmap(
    lambda s: st.tuples(arrays(np.float64, s[0], elements=finite(-30, 30)),
                        arrays(np.float64, s[0], elements=st.sampled_from([0.0, 1.0]) | finite(0, 1))))
BINARY_EDGES = [
    (f64([[-BIG, BIG, 0.0]]), f64([[0.0, 0.0, 0.0]])),  # no positive: divided by 1
    (f64([[0.5, -0.5, 2.0]]), f64([[0.3, 0.0, 0.1]])),  # soft targets, Σy < 1: divided by 1
    (f64([[-BIG, BIG, 3.0], [1.0, 2.0, -3.0]]), f64([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])),
]


def by_positives(none, y):
    """'none' and 'sum' as they are, 'mean' = sum / max(Σy, 1): RetinaNet's normalisation, in torch."""
    return lambda r: none.sum() / max(float(y.sum()), 1.0) if r == "mean" else torch_reduce(none, r)


@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight+pos_weight"])
@SETTINGS
@given(case=BINARY)
@example(case=BINARY_EDGES[0])
@example(case=BINARY_EDGES[1])
@example(case=BINARY_EDGES[2])
def test_bce_with_logits_normalised_by_positives_matches_torch(weighted, case):
    x, y = case
    w = np.linspace(0.5, 2.0, x.shape[-1]) if weighted else None
    options = {"weight": w, "pos_weight": None if w is None else w[::-1].copy()}
    none = F.binary_cross_entropy_with_logits(tt(x), tt(y), reduction="none", **{
        k: None if v is None else tt(v) for k, v in options.items()})
    each_reduction("bce_with_logits", classification.bce_with_logits, (x, y), {**options, "normalise": "positives"},
                   by_positives(none, tt(y)))
    assert classification.bce_with_logits(x, y, normalise="elements") == classification.bce_with_logits(x, y)


def torch_sigmoid_focal(x, y, alpha, gamma):
    """torchvision.ops.sigmoid_focal_loss(reduction='none'), written out (torchvision is not installed here)."""
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    loss = ce * (1 - (p * y + (1 - p) * (1 - y))) ** gamma
    return (alpha * y + (1 - alpha) * (1 - y)) * loss if alpha >= 0 else loss


@pytest.mark.parametrize("alpha, gamma", [(0.25, 2.0), (-1.0, 0.0), (0.75, 0.5)])
@SETTINGS
@given(case=BINARY)
@example(case=BINARY_EDGES[0])
@example(case=(f64([[-3.0, 3.0, 0.0]]), f64([[1.0, 1.0, 0.0]])))
def test_focal_normalised_by_positives_matches_torch(alpha, gamma, case):
    x, y = case
    y = np.round(y)  # focal takes binary targets
    none = torch_sigmoid_focal(tt(x), tt(y), alpha, gamma)
    each_reduction("focal", classification.focal, (x, y), {"alpha": alpha, "gamma": gamma, "normalise": "positives"},
                   by_positives(none, tt(y)), rtol=1e-9)
    with pytest.raises(ValueError, match="normalise"):
        classification.focal(x, y, normalise="anchors")


# -- cross_entropy: label_smoothing_form="other_classes" ----------------------------------------

@st.composite
def index_cases(draw, ignore=True):
    c = draw(st.integers(2, 5), label="C")
    shape = draw(st.sampled_from([(c,), (3, c), (2, c, 2)]), label="shape")
    target_shape = () if len(shape) == 1 else (shape[0], *shape[2:])
    ignore_index = draw(st.sampled_from([-100, 0] if ignore else [-100]), label="ignore_index")
    return {"input": draw(arrays(np.float64, shape, elements=finite(-30, 30)), label="input"),
            "target": draw(arrays(np.int64, target_shape, elements=st.integers(0, c - 1)), label="target"),
            "ignore_index": ignore_index}


def smoothed_loop(x, t, eps, weight, ignore_index):
    """Per target: -Σ_c w_c q_c log p_c with q = 1 - ε on the true class and ε/(C-1) elsewhere (plain floats)."""
    c = x.shape[0 if x.ndim == 1 else 1]
    out, keep = np.zeros(t.shape), t != ignore_index
    for index, y, logits in class_rows(x, t, ignore_index):
        lse = logsumexp_loop(logits)
        w = [1.0] * c if weight is None else list(weight)
        q = [1 - eps if k == y else eps / (c - 1) for k in range(c)]
        out[index] = -sum(w[k] * q[k] * (logits[k] - lse) for k in range(c))
    return out, keep


@pytest.mark.parametrize("eps", [0.1, 0.4, 1.0])
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@SETTINGS
@given(case=index_cases())
@example(case={"input": f64([[BIG, -BIG, 0.0], [0.0, 0.0, 0.0]]), "target": np.array([1, 2]), "ignore_index": -100})
@example(case={"input": f64([[1.0, 2.0], [3.0, -1.0]]), "target": np.array([0, 1]), "ignore_index": 0})
def test_cross_entropy_other_classes_smoothing_matches_loop(eps, weighted, case):
    x, t, ii = case["input"], case["target"], case["ignore_index"]
    c = x.shape[0 if x.ndim == 1 else 1]
    w = np.linspace(0.5, 2.0, c) if weighted else None
    expected, keep = smoothed_loop(x, t, eps, w, ii)
    options = {"weight": w, "ignore_index": ii, "label_smoothing": eps, "label_smoothing_form": "other_classes"}
    each_reduction("cross_entropy", classification.cross_entropy, (x, t), options,
                   lambda r: reduce(expected, r, weights=keep))


@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@SETTINGS
@given(case=index_cases(ignore=False))
def test_cross_entropy_other_classes_is_torch_on_the_soft_target_and_plain_at_eps_0(weighted, case):
    x, t = case["input"], case["target"]
    axis = 0 if x.ndim == 1 else 1
    c = x.shape[axis]
    w = tt(np.linspace(0.5, 2.0, c)) if weighted else None
    soft = torch.full(x.shape, 0.1 / (c - 1), dtype=torch.float64)
    soft.scatter_(axis, tt(t).unsqueeze(axis), 0.9)
    each_reduction("cross_entropy", classification.cross_entropy, (x, t),
                   {"weight": None if w is None else w.numpy(), "label_smoothing": 0.1,
                    "label_smoothing_form": "other_classes"},
                   lambda r: F.cross_entropy(tt(x), soft, weight=w, reduction=r))
    each_reduction("cross_entropy", classification.cross_entropy, (x, t),
                   {"weight": None if w is None else w.numpy(), "label_smoothing_form": "other_classes"},
                   lambda r: F.cross_entropy(tt(x), tt(t), weight=w, reduction=r))


def test_cross_entropy_other_classes_needs_indices_and_two_classes():
    x = f64([[1.0, 2.0, 0.5]])
    with pytest.raises(ValueError, match="class-index"):
        classification.cross_entropy(x, f64([[0.2, 0.3, 0.5]]), label_smoothing=0.1, label_smoothing_form="other_classes")
    with pytest.raises(ValueError, match="C >= 2"):
        classification.cross_entropy(f64([[1.0]]), np.array([0]), label_smoothing=0.1,
                                     label_smoothing_form="other_classes")
    with pytest.raises(ValueError, match="label_smoothing_form"):
        classification.cross_entropy(x, np.array([0]), label_smoothing_form="others")
    # probability targets without smoothing are the plain cross-entropy under either form
    p = f64([[0.2, 0.3, 0.5]])
    assert classification.cross_entropy(x, p, label_smoothing_form="other_classes") == classification.cross_entropy(x, p)


# -- focal_multiclass: alpha_form="kornia", mean_over="classes" ---------------------------------

def per_class_loop(x, t, alpha, gamma, ignore_index):
    """kornia >= 0.8 'none': input's shape, -α_c (1 - p_c)^γ log p_c at c = the target, 0 elsewhere and where
    ignored; a scalar α read as [1 - α, α, α, ...]."""
    axis = 0 if x.ndim == 1 else 1
    moved = np.moveaxis(x, axis, -1)
    c = moved.shape[-1]
    a = [1.0] * c if alpha is None else [1.0 - alpha] + [alpha] * (c - 1)
    out = np.zeros(moved.shape)
    for index, y, logits in class_rows(x, t, ignore_index):
        log_p = logits[y] - logsumexp_loop(logits)
        out[index + (y,)] = -a[y] * (-math.expm1(log_p)) ** gamma * log_p
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("alpha", [None, 0.25, 0.8])
@pytest.mark.parametrize("gamma", [0.0, 2.0])
@SETTINGS
@given(case=index_cases())
@example(case={"input": f64([[BIG, -BIG, 0.0], [-BIG, BIG, BIG]]), "target": np.array([1, 0]), "ignore_index": -100})
@example(case={"input": f64([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]]), "target": np.array([0, 0]), "ignore_index": 0})
@example(case={"input": f64([0.5, -1.0, 2.0]), "target": np.array(2), "ignore_index": -100})
def test_focal_multiclass_kornia_conventions_match_loop(alpha, gamma, case):
    x, t, ii = case["input"], case["target"], case["ignore_index"]
    per_class = per_class_loop(x, t, alpha, gamma, ii)
    options = {"alpha": alpha, "gamma": gamma, "ignore_index": ii, "alpha_form": "kornia"}
    each_reduction("focal_multiclass", classification.focal_multiclass, (x, t), {**options, "mean_over": "classes"},
                   lambda r: reduce(per_class, r), rtol=1e-10)
    axis = 0 if x.ndim == 1 else 1
    keep = t != ii
    each_reduction("focal_multiclass", classification.focal_multiclass, (x, t), options,
                   lambda r: reduce(per_class.sum(axis=axis), r, weights=keep), rtol=1e-10)


def test_focal_multiclass_alpha_form_leaves_arrays_and_none_alone():
    x, t = f64([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]]), np.array([2, 0])
    weights = f64([0.1, 0.5, 0.9])
    for alpha in (None, weights):
        assert classification.focal_multiclass(x, t, alpha=alpha, alpha_form="kornia") == \
            classification.focal_multiclass(x, t, alpha=alpha)
    with pytest.raises(ValueError, match="alpha_form"):
        classification.focal_multiclass(x, t, alpha_form="monai")
    with pytest.raises(ValueError, match="mean_over"):
        classification.focal_multiclass(x, t, mean_over="pixels")


# -- triplet_margin: squared; info_nce: direction; triplet_batch_hard: normalise -----------------

def embedding_rows(n_max=4, d_max=3, lo=-3.0, hi=3.0, count=3):
    return st.tuples(st.integers(1, n_max), st.integers(1, d_max)).flatmap(
        lambda nd: st.tuples(*(arrays(np.float64, nd, elements=finite(lo, hi)) for _ in range(count))))


@pytest.mark.parametrize("swap", [False, True], ids=["", "swap"])
@pytest.mark.parametrize("margin", [1.0, 0.0])
@SETTINGS
@given(case=embedding_rows())
@example(case=(np.zeros((2, 3)), np.zeros((2, 3)), np.ones((2, 3))))  # anchor = positive
@example(case=(f64([[BIG, 0.0]]), f64([[-BIG, 0.0]]), f64([[0.0, BIG]])))
def test_triplet_margin_squared_matches_torch(swap, margin, case):
    a, p, n = (tt(x) for x in case)
    d_p, d_n = F.pairwise_distance(a, p) ** 2, F.pairwise_distance(a, n) ** 2
    if swap:
        d_n = torch.minimum(d_n, F.pairwise_distance(p, n) ** 2)
    none = torch.relu(d_p - d_n + margin)
    each_reduction("triplet_margin", embedding.triplet_margin, case, {"margin": margin, "swap": swap, "squared": True},
                   lambda r: torch_reduce(none, r), rtol=1e-10, atol=1e-8)
    with pytest.raises(ValueError, match="p = 2"):
        embedding.triplet_margin(*case, p=1.0, squared=True)


@pytest.mark.parametrize("temperature", [0.05, 0.5, 1.0])
@SETTINGS
@given(case=embedding_rows(n_max=5, d_max=4, count=2))
@example(case=(np.eye(3), np.eye(3)))  # identical views
@example(case=(np.eye(2) * BIG, np.roll(np.eye(2), 1, axis=0) * BIG))
@example(case=(np.zeros((2, 3)), np.ones((2, 3))))  # zero rows stay zero
def test_info_nce_directional_matches_torch_cross_entropy(temperature, case):
    q, k = (F.normalize(tt(x), dim=1) for x in case)
    logits = q @ k.T / temperature
    each_reduction("info_nce", embedding.info_nce, case, {"temperature": temperature, "direction": "directional"},
                   lambda r: F.cross_entropy(logits, torch.arange(len(q)), reduction=r), rtol=1e-10)
    with pytest.raises(ValueError, match="direction"):
        embedding.info_nce(*case, direction="both")


@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("mining", ["hard", "all"])
@SETTINGS
@given(e=st.integers(2, 6).flatmap(lambda n: arrays(np.float64, (n, 3), elements=finite(-3, 3))))
@example(e=np.zeros((4, 3)))  # zero rows: normalised to zero
@example(e=f64([[BIG, 0, 0], [1e-3, 0, 0], [0, 1, 0], [0, 0, 5]]))  # same directions, very different norms
def test_triplet_batch_hard_normalised_is_the_loss_of_the_unit_embeddings(squared, mining, e):
    labels = np.arange(len(e)) % 2
    unit = F.normalize(tt(e), dim=1).numpy()
    options = {"squared": squared, "mining": mining, "margin": 0.3}  # margin 1 ties the unit distances 0 and 1
    each_reduction("triplet_batch_hard", embedding.triplet_batch_hard, (e, labels), {**options, "normalise": True},
                   lambda r: embedding.triplet_batch_hard(unit, labels, **options, reduction=r), rtol=1e-10)


# -- gaussian_kl: latent_reduction; gan_discriminator: scale; uncertainty_weighting: form --------

@SETTINGS
@given(case=array_shapes(min_dims=1, max_dims=3, max_side=4).flatmap(
    lambda s: st.tuples(arrays(np.float64, s, elements=finite(-10, 10)), arrays(np.float64, s, elements=finite(-10, 10)))))
@example(case=(np.zeros((3, 4)), np.zeros((3, 4))))  # the prior: 0
@example(case=(f64([1e-9, -2.0]), f64([1e-12, -1e-9])))  # tiny logvar, one sample
def test_gaussian_kl_mean_over_every_element_matches_torch_distributions(case):
    mu, logvar = case
    kl = torch.distributions.kl_divergence(
        torch.distributions.Normal(tt(mu), torch.exp(0.5 * tt(logvar))),
        torch.distributions.Normal(torch.zeros(mu.shape, dtype=torch.float64), 1.0))
    each_reduction("gaussian_kl", generative.gaussian_kl, case, {"latent_reduction": "mean"},
                   lambda r: torch_reduce(kl, r), rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="latent_reduction"):
        generative.gaussian_kl(mu, logvar, latent_reduction="batch")


@SETTINGS
@given(real=arrays(np.float64, 4, elements=finite(-50, 50)), fake=arrays(np.float64, 4, elements=finite(-50, 50)))
@example(real=f64([BIG, -BIG, 0.0, 1.0]), fake=f64([-BIG, BIG, 0.0, -1.0]))
def test_gan_discriminator_scale_matches_torch(real, fake):
    r, f = tt(real), tt(fake)
    for scale in (0.5, 1.0):
        each_reduction("gan_discriminator", generative.gan_discriminator, (real, fake), {"scale": scale},
                       lambda red: scale * (F.binary_cross_entropy_with_logits(r, torch.ones_like(r), reduction=red)
                                            + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f), reduction=red)))


@SETTINGS
@given(losses=arrays(np.float64, 3, elements=finite(0, 100)), log_vars=arrays(np.float64, 3, elements=finite(-5, 5)))
@example(losses=f64([1.0, 2.0, 3.0]), log_vars=np.zeros(3))  # s = 0: half the plain sum
def test_uncertainty_weighting_paper_form_matches_torch(losses, log_vars):
    s, L = tt(log_vars), tt(losses)
    terms = 1 / (2 * torch.exp(s)) * L + torch.log(torch.exp(0.5 * s))  # 1/(2σ²)·L + log σ, σ² = e^s
    each_reduction("uncertainty_weighting", generative.uncertainty_weighting, (losses, log_vars), {"form": "paper"},
                   lambda r: torch_reduce(terms, r))
    with pytest.raises(ValueError, match="form"):
        generative.uncertainty_weighting(losses, log_vars, form="kendall")


# -- dice, tversky and generalized_dice: activation and average ---------------------------------

@st.composite
def logit_masks(draw):
    shape = (draw(st.integers(1, 3), label="N"), draw(st.integers(1, 3), label="C"))
    shape += tuple(draw(st.lists(st.integers(1, 3), max_size=2), label="spatial"))
    return (draw(arrays(np.float64, shape, elements=finite(-8, 8)), label="input"),
            draw(arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])), label="target"))


MASK_EDGES = [
    (np.full((2, 2, 2, 2), -BIG), np.zeros((2, 2, 2, 2))),  # empty target, (nearly) empty prediction
    (f64([[[BIG, -BIG], [-BIG, BIG]]]), f64([[[1, 0], [0, 0]]])),  # channel 1 absent from the target
    (f64([[0.5, -0.5], [2.0, 1.0]]), f64([[1, 0], [0, 0]])),  # (N, C): no spatial dims; sample 1 all empty
]


def overlap_loop(p, g, loss, per_sample, average):
    """One ratio per (sample, channel) group, in plain floats: `loss(p values, g values)`; then the channels
    averaged (macro), pooled before the ratio (micro), or averaged over the ones with a target (present)."""
    n, c = p.shape[:2]
    samples = [[i] for i in range(n)] if per_sample else [list(range(n))]
    out = []
    for members in samples:
        def values(a, channels):
            return [float(v) for i in members for j in channels for v in a[i, j].ravel()]
        if average == "micro":
            out.append([loss(values(p, range(c)), values(g, range(c)))])
            continue
        ratios = [loss(values(p, [j]), values(g, [j])) for j in range(c)]
        if average == "present":
            kept = [r for j, r in enumerate(ratios) if sum(values(g, [j])) > 0]
            out.append(1.0 - sum(1.0 - r for r in kept) / max(len(kept), 1))
        else:
            out.append(ratios)
    out = np.array(out, dtype=np.float64)
    return out if per_sample else out[0]


def dice_of(smooth):
    return lambda p, g: 1.0 - (2 * sum(a * b for a, b in zip(p, g)) + smooth) / (sum(p) + sum(g) + smooth)


def tversky_of(alpha, beta, smooth):
    def loss(p, g):
        tp = sum(a * b for a, b in zip(p, g))
        fp, fn = sum(a * (1 - b) for a, b in zip(p, g)), sum((1 - a) * b for a, b in zip(p, g))
        return 1.0 - (tp + smooth) / (tp + alpha * fp + beta * fn + smooth)
    return loss


ACTIVATE = {"none": lambda x: x, "sigmoid": torch.sigmoid, "softmax": lambda x: torch.softmax(x, dim=1)}


@pytest.mark.parametrize("activation", ["none", "sigmoid", "softmax"])
@pytest.mark.parametrize("average", ["macro", "micro", "present"])
@pytest.mark.parametrize("per_sample", [True, False], ids=["sample", "batch"])
@SETTINGS
@given(case=logit_masks())
@example(case=MASK_EDGES[0])
@example(case=MASK_EDGES[1])
@example(case=MASK_EDGES[2])
def test_dice_and_tversky_activation_and_average_match_loop(activation, average, per_sample, case):
    x, g = case
    p = ACTIVATE[activation](tt(x)).numpy()
    options = {"per_sample": per_sample, "average": average, "activation": activation}
    dice = overlap_loop(p, g, dice_of(1.0), per_sample, average)
    each_reduction("dice", segmentation.dice, (x, g), options, lambda r: reduce(dice, r), rtol=1e-10)
    tversky = overlap_loop(p, g, tversky_of(0.3, 0.7, 0.5), per_sample, average)
    each_reduction("tversky", segmentation.tversky, (x, g), {**options, "alpha": 0.3, "beta": 0.7, "smooth": 0.5},
                   lambda r: reduce(tversky, r), rtol=1e-10)


@SETTINGS
@given(case=logit_masks())
@example(case=MASK_EDGES[0])
@example(case=MASK_EDGES[1])
def test_a_product_of_dice_conventions_is_smp_style_dice(case):
    """per_sample=batch × activation=sigmoid × smoothing=clamp × empty_channel=zero, written as smp's DiceLoss
    (mode='multilabel', from_logits=True, smooth=0, eps=1e-7) computes it."""
    x, g = tt(case[0]), tt(case[1])
    dims = (0, *range(2, x.ndim))
    p = torch.sigmoid(x)
    score = 2 * (p * g).sum(dims) / (p.sum(dims) + g.sum(dims)).clamp_min(1e-7)
    loss = (1 - score) * (g.sum(dims) > 0)
    options = {"per_sample": False, "activation": "sigmoid", "smooth": 1e-7, "smooth_numerator": False,
               "smooth_denominator": False, "clamp_denominator": True, "empty_channel": "zero"}
    each_reduction("dice", segmentation.dice, case, options, lambda r: torch_reduce(loss, r), rtol=1e-10)


@pytest.mark.parametrize("activation", ["sigmoid", "softmax"])
@pytest.mark.parametrize("batch", [False, True])
@SETTINGS
@given(case=logit_masks())
@example(case=MASK_EDGES[1])
def test_generalized_dice_activation_is_the_loss_of_the_activated_input(activation, batch, case):
    x, g = case
    if x.shape[1] < 2:
        x, g = np.concatenate([x, -x], axis=1), np.concatenate([g, 1 - g], axis=1)
    p = ACTIVATE[activation](tt(x)).numpy()
    each_reduction("generalized_dice", segmentation.generalized_dice, (x, g), {"batch": batch, "activation": activation},
                   lambda r: segmentation.generalized_dice(p, g, batch=batch, reduction=r), rtol=1e-10)


def test_mask_conventions_reject_unknown_values():
    p = np.zeros((1, 2, 2))
    with pytest.raises(ValueError, match="activation"):
        segmentation.dice(p, p, activation="relu")
    with pytest.raises(ValueError, match="average"):
        segmentation.tversky(p, p, average="weighted")
    with pytest.raises(ValueError, match="activation"):
        segmentation.generalized_dice(p, p, activation="tanh")


def summed(x, dims):
    """x summed over `dims` (none: x itself; torch sums everything over an empty tuple)."""
    return x.sum(dims) if dims else x


@pytest.mark.parametrize("per_sample", [True, False])
@pytest.mark.parametrize("smooth", [0.0, 1e-5, 1.0])
@SETTINGS
@given(case=logit_masks())
@example(case=MASK_EDGES[1])
@example(case=(np.full((2, 1, 2), -np.inf), np.zeros((2, 1, 2))))  # an empty prediction and an empty target
def test_dice_tversky_form_is_the_tversky_index_at_one_half(per_sample, smooth, case):
    """smoothing=tversky: (I + s)/(I + FP/2 + FN/2 + s), written out in torch, is dice(tversky_form=True)."""
    p, g = torch.sigmoid(tt(case[0])), tt(case[1])
    dims = tuple(range(2, p.ndim)) if per_sample else (0, *range(2, p.ndim))
    tp, fp, fn = (summed(p * g, dims), summed(p * (1 - g), dims), summed((1 - p) * g, dims))
    loss = 1 - (tp + smooth) / (tp + fp / 2 + fn / 2 + smooth)
    each_reduction("dice", segmentation.dice, (p.numpy(), case[1]),
                   {"smooth": smooth, "per_sample": per_sample, "tversky_form": True},
                   lambda r: torch_reduce(loss, r).numpy(), rtol=1e-10)


@pytest.mark.parametrize("per_sample", [True, False])
@SETTINGS
@given(case=logit_masks())
@example(case=MASK_EDGES[1])
@example(case=(np.full((2, 1, 2), -np.inf), np.zeros((2, 1, 2))))  # an empty prediction and an empty target
def test_dice_denominator_smoothing_with_the_empty_union_apart(per_sample, case):
    """smoothing=denominator_empty: (2TP + eps·[union = 0])/(2TP + FP + FN + eps), written out in torch: two empty
    masks score a Dice of 1 (loss 0), an empty target under a non-empty prediction a loss of 1."""
    eps = 1e-7
    p, g = torch.sigmoid(tt(case[0])), tt(case[1])
    dims = tuple(range(2, p.ndim)) if per_sample else (0, *range(2, p.ndim))
    tp, fp, fn = (summed(p * g, dims), summed(p * (1 - g), dims), summed((1 - p) * g, dims))
    union = 2 * tp + fp + fn
    loss = 1 - (2 * tp + eps * (union == 0).double()) / (union + eps)
    each_reduction("dice", segmentation.dice, (p.numpy(), case[1]),
                   {"smooth": eps, "per_sample": per_sample, "smooth_numerator": "empty"},
                   lambda r: torch_reduce(loss, r).numpy(), rtol=1e-10)
    assert segmentation.dice(np.zeros((1, 1, 2)), np.zeros((1, 1, 2)), smooth=eps, smooth_numerator="empty") == 0.0
    with pytest.raises(ValueError, match="smooth_numerator"):
        segmentation.dice(p.numpy(), case[1], smooth_numerator="sometimes")


@SETTINGS
@given(case=logit_masks())
def test_focal_multiclass_input_domains_are_the_same_loss(case):
    """input_domain: the loss of softmax(x) read as probabilities, and of log_softmax(x) read as log-probabilities,
    is the loss of the logits x."""
    x = case[0].reshape(case[0].shape[0], -1)  # (N, C): the class axis, with the spatial values as classes
    if x.shape[1] < 2:
        x = np.concatenate([x, -x], axis=1)
    t = np.argmax(x, axis=1) if x.shape[0] % 2 else np.zeros(x.shape[0], dtype=np.int64)
    p = torch.softmax(tt(x), dim=1).numpy()
    each_reduction("focal_multiclass", classification.focal_multiclass, (p, t), {"input_domain": "probabilities"},
                   lambda r: classification.focal_multiclass(x, t, reduction=r), rtol=1e-9, atol=1e-10)
    each_reduction("focal_multiclass", classification.focal_multiclass, (np.log(p), t),
                   {"input_domain": "log_probabilities"},
                   lambda r: classification.focal_multiclass(x, t, reduction=r), rtol=1e-9, atol=1e-10)
    with pytest.raises(ValueError, match="input_domain"):
        classification.focal_multiclass(x, t, input_domain="odds")


def test_an_input_domain_maps_the_draws_and_edges_and_is_left_to_the_probe():
    """A declared input domain draws (and forces edges) in it; the value search never tries it (conventions.domains
    lists it for the api.call probe instead)."""
    from hypothesis import strategies as st

    from losscheck.diagnosis.conventions import combinations, declare, domains

    base = SPECS["focal_multiclass"]
    spec, chosen = declare(base, {"input_domain": "probabilities"})
    assert chosen["input_domain"] == "probabilities"

    @SETTINGS
    @given(st.data())
    def drawn(data):
        x, _ = data.draw(st.composite(lambda draw: spec.draw_inputs(draw, layout="batch", target_format="indices",
                                                                    scale="extreme", params={}))())
        assert np.all((x >= 0) & (x <= 1)) and np.allclose(x.sum(axis=1), 1.0)

    drawn()
    assert all(np.all((x >= 0) & (x <= 1)) for _, (x, _) in spec.edge_cases())
    assert domains(base, {}) == [("input_domain", "probabilities"), ("input_domain", "log_probabilities")]
    assert domains(base, {"input_domain": "logits"}) == []
    searched = {c for v in combinations(base, {}, lambda ref: False, sizes=(1,)) for c in v.convention}
    assert searched and not any(name == "input_domain" for name, _ in searched)
