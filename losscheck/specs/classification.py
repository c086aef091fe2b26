"""Specs for the classification losses: bce, bce_with_logits, cross_entropy, nll, kl_div, focal."""
import numpy as np
from scipy.special import log_softmax, softmax

from losscheck.references import classification as ref
from losscheck.specs.base import REDUCTIONS, LossSpec, Param
from losscheck.specs.regression import ELEMENTWISE_LAYOUTS, REDUCTION, elementwise_shape
from losscheck.conventions import Convention, Option
from losscheck.strategies import (batch_size, binary, class_indices, class_probabilities, floats, logits,
                                  positive_weights, probabilities, size, spatial)
from losscheck.variants import Variant, call, on_input, replace_input, sigmoid, softmax_classes, with_params

WEIGHT = Param("weight", None, tensor=True)
BINARY_FORMATS = ("binary", "soft")
EXTREME_LOGITS = (-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4)


def last_dim_weight(draw, inputs):
    return positive_weights(draw, inputs[0].shape[-1] if inputs[0].ndim else 1)


def class_weight(draw, inputs):
    return positive_weights(draw, inputs[0].shape[0 if inputs[0].ndim == 1 else 1])


def binary_target(draw, shape, fmt):
    return binary(draw, shape) if fmt == "binary" else probabilities(draw, shape, label="target")


def draw_probability_pair(draw, *, layout, fmt, scale, params):
    shape = elementwise_shape(draw, layout)
    return probabilities(draw, shape, saturate=scale == "extreme"), binary_target(draw, shape, fmt)


def draw_logit_pair(draw, *, layout, fmt, scale, params):
    shape = elementwise_shape(draw, layout)
    return logits(draw, shape, scale), binary_target(draw, shape, fmt)


def binary_logit_edges():
    x = np.array([EXTREME_LOGITS])
    return [("extreme logits, positives", (x, np.ones_like(x))),
            ("extreme logits, negatives", (x, np.zeros_like(x)))]


def probability_edges():
    p = np.array([[0.0, 1.0, 0.0, 1.0, 0.5, 1e-12]])
    return [("probabilities at 0 and 1", (p, np.array([[0.0, 1.0, 1.0, 0.0, 1.0, 1.0]])))]


def class_shapes(draw, layout):
    """(input shape, index-target shape) for a class-axis-1 loss in a layout."""
    c = size(draw, "C", 2, 5)
    if layout == "no_batch":
        return (c,), ()
    n = batch_size(draw, "batch" if layout.startswith("spatial") else layout)
    extra = spatial(draw, layout)
    return (n, c, *extra), (n, *extra)


def draw_class_logits(draw, *, layout, fmt, scale, params):
    in_shape, t_shape = class_shapes(draw, layout)
    x = logits(draw, in_shape, scale)
    if fmt == "probabilities":
        return x, class_probabilities(draw, in_shape, axis=0 if layout == "no_batch" else 1)
    return x, class_indices(draw, t_shape, in_shape[0 if layout == "no_batch" else 1])


def draw_class_log_probs(draw, *, layout, fmt, scale, params):
    x, t = draw_class_logits(draw, layout=layout, fmt="indices", scale=scale, params=params)
    return log_softmax(x, axis=0 if layout == "no_batch" else 1), t


def class_edges():
    x = np.array([[1e4, -1e4, 0.0], [100.0, 0.0, -100.0], [0.0, 0.0, 0.0], [-1e4, 1e4, 1e4]])
    return [("extreme logits", (x, np.array([1, 2, 0, 0]))),
            ("extreme logits, true class largest", (x, np.array([0, 0, 1, 1])))]


def log_prob_edges():
    return [(label, (log_softmax(x, axis=1), t)) for label, (x, t) in class_edges()]


def draw_distributions(draw, *, layout, fmt, scale, params):
    """kl_div: input log q and target p (log p when log_target), distributions along the last dim."""
    n = batch_size(draw, layout)
    shape = (n, size(draw, "D", 2, 5))
    log_q = log_softmax(logits(draw, shape, scale), axis=-1)
    p = class_probabilities(draw, shape, axis=-1)
    with np.errstate(divide="ignore"):
        target = np.maximum(np.log(p), -1e4) if params.get("log_target") else p
    return log_q, target


def kl_edges():
    log_q = log_softmax(np.array([[1e4, 0.0, -1e4], [0.0, 0.0, 0.0]]), axis=-1)
    return [("zeros in the target, saturated input", (log_q, np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])))]


DOUBLE_SIGMOID = on_input(
    "sigmoid applied twice", "applies sigmoid to the logits although the loss applies its own sigmoid "
    "(double activation)", "pass raw logits (drop the sigmoid), or use BCELoss on probabilities", sigmoid)


def _plain_bce(r, case):
    pos_weight = case.params.get("pos_weight")
    pw = None if pos_weight is None else np.array([pos_weight])
    return np.asarray(ref.bce_with_logits(*case.inputs, pos_weight=pw, reduction=case.params["reduction"]))


def _fit_pos_weight(r, case, got):
    """pos_weight w such that mean(w·y·softplus(-x) + (1-y)·softplus(x)) equals the candidate."""
    x, y = case.inputs
    if case.params["reduction"] != "mean":
        raise ValueError("fitted for 'mean' only")
    positive = np.sum(y * np.logaddexp(0, -x))
    negative = np.sum((1 - y) * np.logaddexp(0, x))
    if positive <= 0:
        raise ValueError("no positive term to fit")
    return {"pos_weight": float((float(got) * x.size - negative) / positive)}


FOCAL_VARIANTS = (
    DOUBLE_SIGMOID,
    with_params("gamma = 0", "has no focusing term: (1 - p_t)^gamma is missing, as if gamma = 0",
                "multiply the cross-entropy by (1 - p_t) ** gamma", gamma=lambda p: 0.0),
    with_params("alpha on the other class", "weights the negatives by alpha and the positives by 1 - alpha",
                "alpha_t = alpha * y + (1 - alpha) * (1 - y)", alpha=lambda p: 1.0 - p["alpha"]),
    Variant("BCE with logits, not focal", "is binary cross-entropy with logits (BCEWithLogitsLoss, with a "
            "pos_weight) presented as focal loss: no focusing term (1 - p_t)^gamma",
            "multiply the per-element cross-entropy by alpha_t * (1 - p_t) ** gamma", _plain_bce, fit=_fit_pos_weight),
)


def _smoothing_over_other_classes(r, case):
    """Label smoothing that gives ε/(C-1) to the wrong classes and 1-ε to the true one (torch: ε/C to all)."""
    x, t = case.inputs
    eps = case.params["label_smoothing"]
    if t.dtype.kind != "i" or eps == 0:
        raise ValueError("needs class-index targets and smoothing")
    axis = 0 if x.ndim == 1 else 1
    c = x.shape[axis]
    onehot = np.moveaxis(np.eye(c)[t], -1, axis)
    soft = (1 - eps) * onehot + eps / (c - 1) * (1 - onehot)
    return call(r, replace_input(case, 1, soft), label_smoothing=0.0)


def _softmax_over_batch(r, case):
    x, t = case.inputs
    if x.ndim != 2 or t.dtype.kind != "i":
        raise ValueError("needs (N, C) logits and class indices")
    return np.asarray(ref.nll(log_softmax(x, axis=0), t, weight=case.params.get("weight"), ignore_index=case.params["ignore_index"],
                              reduction=case.params["reduction"]))


def _denominator_counts_ignored(r, case):
    x, t = case.inputs
    if case.params["reduction"] != "mean" or t.dtype.kind != "i":
        raise ValueError("needs 'mean' and class indices")
    return np.asarray(call(r, case, reduction="sum") / max(t.size, 1))


CROSS_ENTROPY_VARIANTS = (
    on_input("softmax applied twice", "applies softmax to the logits before a loss that applies log_softmax "
             "itself (double activation)", "pass raw logits to cross_entropy", softmax_classes),
    on_input("sigmoid before cross-entropy", "applies sigmoid to the logits before a loss that applies "
             "log_softmax itself (double activation)", "pass raw logits to cross_entropy", sigmoid),
    Variant("softmax over the batch axis", "normalises over the batch axis (dim 0) instead of the class axis "
            "(dim 1): the wrong normalising axis", "use log_softmax(input, dim=1)", _softmax_over_batch),
    Variant("ignored targets in the denominator", "masks ignored targets out of the sum but still divides by "
            "every target (wrong denominator with ignore_index)", "divide by the number of kept targets",
            _denominator_counts_ignored),
)


CROSS_ENTROPY_CONVENTIONS = (
    Convention("label_smoothing_form", "uniform", {
        "uniform": Option("mixes (1-eps)*onehot + eps/C over every class", "torch label_smoothing"),
        "other_classes": Option("gives 1-eps to the true class and eps/(C-1) to each other class",
                                "hand-written smoothing in many tutorials", compute=_smoothing_over_other_classes)}),
)


def _kl_swapped(r, case):
    log_q, target = case.inputs
    log_p = target if case.params["log_target"] else np.log(np.maximum(target, 1e-300))
    swapped = (log_p, log_q) if case.params["log_target"] else (log_p, np.exp(log_q))
    return call(r, case.with_inputs(swapped))


KL_VARIANTS = (
    Variant("arguments swapped", "computes KL(q ‖ p) with input and target swapped", "pass log q as input and p "
            "as target: kl_div(q.log(), p)", _kl_swapped),
    with_params("'mean' for 'batchmean'", "divides by every element ('mean') where the KL divergence divides "
                "by the batch size ('batchmean')", "use reduction='batchmean'", reduction=lambda p: "mean"),
)


SPECS = [
    LossSpec(
        id="bce", family="classification", summary="binary cross-entropy on probabilities (logs clamped at -100)",
        signature=("input", "target"), reference=ref.bce, params=(WEIGHT, REDUCTION),
        draw_inputs=draw_probability_pair, layouts=ELEMENTWISE_LAYOUTS, target_formats=BINARY_FORMATS,
        edge_cases=probability_edges, tensor_params={"weight": last_dim_weight}, elementwise=True,
        torch=("torch.nn.BCELoss", "torch.nn.functional.binary_cross_entropy")),
    LossSpec(
        id="bce_with_logits", family="classification", summary="binary cross-entropy on logits (softplus form)",
        signature=("input", "target"), reference=ref.bce_with_logits,
        params=(WEIGHT, Param("pos_weight", None, tensor=True), REDUCTION),
        draw_inputs=draw_logit_pair, layouts=ELEMENTWISE_LAYOUTS, target_formats=BINARY_FORMATS,
        edge_cases=binary_logit_edges, tensor_params={"weight": last_dim_weight, "pos_weight": last_dim_weight},
        elementwise=True, variants=(DOUBLE_SIGMOID,),
        torch=("torch.nn.BCEWithLogitsLoss", "torch.nn.functional.binary_cross_entropy_with_logits")),
    LossSpec(
        id="cross_entropy", family="classification", summary="softmax cross-entropy over the class axis (dim 1)",
        signature=("input", "target"), reference=ref.cross_entropy,
        params=(WEIGHT, Param("ignore_index", -100), Param("label_smoothing", 0.0, ("smoothing",), (0.0, 0.1, 0.4)),
                REDUCTION),
        draw_inputs=draw_class_logits, layouts=("batch", "single", "no_batch", "spatial2d", "spatial3d"),
        target_formats=("indices", "probabilities"), edge_cases=class_edges,
        tensor_params={"weight": class_weight}, variants=CROSS_ENTROPY_VARIANTS,
        conventions=CROSS_ENTROPY_CONVENTIONS,
        torch=("torch.nn.CrossEntropyLoss", "torch.nn.functional.cross_entropy")),
    LossSpec(
        id="nll", family="classification", summary="negative log-likelihood of log-probabilities",
        signature=("input", "target"), reference=ref.nll,
        params=(WEIGHT, Param("ignore_index", -100), REDUCTION),
        draw_inputs=draw_class_log_probs, layouts=("batch", "single", "no_batch", "spatial2d"),
        target_formats=("indices",), edge_cases=log_prob_edges, tensor_params={"weight": class_weight},
        torch=("torch.nn.NLLLoss", "torch.nn.functional.nll_loss")),
    LossSpec(
        id="kl_div", family="classification", summary="KL(p || q) from log q and p; 'batchmean' is the true KL",
        signature=("input", "target"), reference=ref.kl_div,
        params=(Param("reduction", "mean", values=(*REDUCTIONS, "batchmean")),
                Param("log_target", False, values=(False, True))),
        draw_inputs=draw_distributions, layouts=("batch", "single"), edge_cases=kl_edges,
        reduction_notes={"mean": "LC404"}, variants=KL_VARIANTS,
        torch=("torch.nn.KLDivLoss", "torch.nn.functional.kl_div")),
    LossSpec(
        id="focal", family="classification", summary="binary sigmoid focal loss α_t(1-p_t)^γ·BCE on logits",
        signature=("input", "target"), reference=ref.focal,
        params=(Param("alpha", 0.25, values=(0.25, 0.5, 0.75)),
                Param("gamma", 2.0, values=(0.0, 0.5, 1.0, 2.0, 3.0)), REDUCTION),
        draw_inputs=draw_logit_pair, layouts=ELEMENTWISE_LAYOUTS, target_formats=("binary",),
        edge_cases=binary_logit_edges, elementwise=True, variants=FOCAL_VARIANTS),
]
