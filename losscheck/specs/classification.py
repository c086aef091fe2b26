"""Specs for the classification losses: bce, bce_with_logits, cross_entropy, nll, kl_div, focal, focal_multiclass,
and the margin losses soft_margin, multilabel_soft_margin, multi_margin, hinge and multilabel_margin."""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import log_softmax

from losscheck.references import classification as ref
from losscheck.references import embedding as embedding_ref
from losscheck.references._reduce import reduce
from losscheck.specs.base import REDUCTION_SPELLINGS, REDUCTIONS, Advice, LossSpec, Naming, Param
from losscheck.specs.regression import ELEMENTWISE_LAYOUTS, REDUCTION, elementwise_shape
from losscheck.diagnosis.conventions import Convention, Option
from losscheck.judge.chunks import Chunked
from losscheck.judge.strategies import (batch_size, binary, class_indices, class_probabilities, logits,
                                  positive_weights, probabilities, signs, size, spatial)
from losscheck.diagnosis.variants import Variant, call, on_input, replace_input, sigmoid, softmax_classes, with_params

WEIGHT = Param("weight", None, tensor=True)
IGNORE_INDEX = -100  # torch's default, and the padding label of language-model batches
BINARY_FORMATS = ("binary", "soft")
EXTREME_LOGITS = (-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4)


def last_dim_weight(draw, inputs):
    return positive_weights(draw, inputs[0].shape[-1] if inputs[0].ndim else 1)


def class_weight(draw, inputs):
    return positive_weights(draw, inputs[0].shape[0 if inputs[0].ndim == 1 else 1])


def binary_target(draw, shape, target_format):
    return binary(draw, shape) if target_format == "binary" else probabilities(draw, shape, label="target")


def draw_probability_pair(draw, *, layout, target_format, scale, params):
    shape = elementwise_shape(draw, layout)
    return probabilities(draw, shape, saturate=scale == "extreme"), binary_target(draw, shape, target_format)


def draw_logit_pair(draw, *, layout, target_format, scale, params):
    shape = elementwise_shape(draw, layout)
    return logits(draw, shape, scale), binary_target(draw, shape, target_format)


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


def kept_targets(inputs, params):
    """`mean_items` of a class-index loss (torch's cross_entropy, nll_loss): per target, its class weight (1 without
    `weight`) where it is kept, 0 where it is ignore_index; one per loss value for class-probability targets."""
    x, t = np.asarray(inputs[0]), np.asarray(inputs[1])
    if t.dtype.kind not in "iu":
        return np.ones(np.delete(x.shape, 1 if x.ndim > 1 else 0))
    kept = t != params.get("ignore_index", -100)
    weight = params.get("weight")
    w = 1.0 if weight is None else np.asarray(weight, dtype=np.float64)[np.where(kept, t, 0)]
    return np.where(kept, w, 0.0)


def draw_class_logits(draw, *, layout, target_format, scale, params):
    in_shape, t_shape = class_shapes(draw, layout)
    x = logits(draw, in_shape, scale)
    if target_format == "probabilities":
        return x, class_probabilities(draw, in_shape, axis=0 if layout == "no_batch" else 1)
    return x, class_indices(draw, t_shape, in_shape[0 if layout == "no_batch" else 1])


def draw_class_log_probs(draw, *, layout, target_format, scale, params):
    x, t = draw_class_logits(draw, layout=layout, target_format="indices", scale=scale, params=params)
    return log_softmax(x, axis=0 if layout == "no_batch" else 1), t


def class_edges():
    x = np.array([[1e4, -1e4, 0.0], [100.0, 0.0, -100.0], [0.0, 0.0, 0.0], [-1e4, 1e4, 1e4]])
    return [("extreme logits", (x, np.array([1, 2, 0, 0]))),
            ("extreme logits, true class largest", (x, np.array([0, 0, 1, 1])))]


def log_prob_edges():
    return [(label, (log_softmax(x, axis=1), t)) for label, (x, t) in class_edges()]


def draw_distributions(draw, *, layout, target_format, scale, params):
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


NORMALISE = Convention("normalise", "elements", {
    "elements": Option("averages over every element", "torchvision sigmoid_focal_loss(reduction='mean')"),
    "positives": Option("sums over every element and divides by the number of positive targets (at least 1), "
                        "RetinaNet style", "detectron2 and mmdetection detection heads, RetinaNet releases",
                        {"normalise": "positives"})})

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


def mean_per_sequence(values, kept):
    """The mistake "mean per sequence then over sequences": each sample's loss values (ignored ones 0) summed and
    divided by its number of kept positions, then averaged over the samples (values and kept: (N, ...))."""
    n = values.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.mean(values.reshape(n, -1).sum(axis=1) / np.reshape(kept, (n, -1)).sum(axis=1)))


def _per_sequence(r, case):
    x, t = case.inputs
    if case.params["reduction"] != "mean" or t.dtype.kind != "i" or t.ndim < 2:
        raise ValueError("needs 'mean' and class indices with positions, (N, T) or (N, H, W)")
    return mean_per_sequence(call(r, case, reduction="none"), t != case.params["ignore_index"])


CHUNKED = Chunked(arg=0, axis=1)  # class_axis=last_chunked: the logits (B, T, V) as a list of chunks along T


def _chunk_lengths(case) -> tuple:
    """The lengths of the chunks the candidate got of the case's logits (() for one chunk, an input without T); a
    case whose logits were not handed over in chunks has no chunk mistake (ValueError: the variant does not apply)."""
    if case.chunked is None:
        raise ValueError("the logits were not handed over in chunks")
    return case.chunked.lengths_of(case.inputs[0])


def _per_chunk(r, case):
    """The mistake "mean per chunk then over chunks" on a case's chunks (Case.chunked; with one chunk it is the
    correct mean)."""
    x, t = case.inputs
    if case.params["reduction"] != "mean" or t.dtype.kind != "i":
        raise ValueError("needs 'mean' and class indices")
    cut = _chunk_lengths(case)
    if not cut:
        return call(r, case)
    edges = np.cumsum(cut)[:-1]
    values = np.split(call(r, case, reduction="none"), edges, axis=1)
    kept = np.split(kept_targets(case.inputs, case.params), edges, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.mean([v.sum() / k.sum() for v, k in zip(values, kept)]))


def _last_chunk_dropped(r, case):
    """The mistake "last partial chunk dropped": the loss over the tokens before the last chunk where that chunk is
    shorter than the first (T // size chunks counted), the correct loss where every chunk has the same length."""
    x, t = case.inputs
    cut = _chunk_lengths(case)
    if len(cut) < 2 or cut[-1] == cut[0]:
        return call(r, case)
    seen = x.shape[1] - cut[-1]
    return call(r, case.with_inputs((x[:, :seen], t[:, :seen])))


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
    Variant("mean per sequence then over sequences", "averages each sequence's kept tokens (each image's pixels), "
            "then the sequences, so a short sequence's tokens weigh more than a long one's", "sum over every kept "
            "token of the batch and divide by their count: F.cross_entropy(logits.view(-1, V), labels.view(-1))",
            _per_sequence),
    Variant("mean per chunk then over chunks", "averages each chunk's kept tokens, then the chunks, so a chunk "
            "with more padding weighs its few tokens more (a chunked loss that returns F.cross_entropy(chunk, ...) "
            "per chunk and averages them)", "sum each chunk's loss with reduction='sum' and divide the total by the "
            "kept tokens of the whole batch, (labels != -100).sum()", _per_chunk),
    Variant("last partial chunk dropped", "never sees the last, shorter chunk: it counts T // chunk_size chunks "
            "(the chunk size read from the first one) where torch.split gives ceil(T / chunk_size)",
            "loop over every chunk of the list (zip(chunks, labels.split(sizes, 1)) with sizes read from each "
            "chunk), not over T // chunk_size of them", _last_chunk_dropped),
)


def classes_last(inputs):
    """The catalogue's (logits, target) with the classes on the last axis, as language-model code writes them.

    Every draw becomes token sequences (B, T, C) with labels (B, T), class indices only, as language-model code
    takes them (the options' target formats): (N, C) becomes N sequences of one token (N, 1, C), and the spatial
    draws (N, C, H, W) and (N, C, D, H, W) become (N, T, C), T = H·W (D·H·W), so a loss that unpacks
    `B, T, V = logits.shape` or flattens (B, T) with flatten(0, 1) takes every batched layout in one form. Sequence
    i > 0 is padded with ignore_index (-100) at its last min(i, T - 1) positions, so sequences keep unequal numbers
    of tokens, as padded batches do (a mean per sequence is then not the mean per token). The unbatched (C,)
    stays: language-model code has no form for it.
    """
    x, t = (np.asarray(a) for a in inputs)
    if x.ndim < 2:
        return x, t
    n, c = x.shape[:2]
    tokens = np.moveaxis(x, 1, -1).reshape(n, -1, c)
    labels = t.reshape(n, -1).copy()
    for i in range(1, n):
        pad = min(i, labels.shape[1] - 1)
        labels[i, labels.shape[1] - pad:] = IGNORE_INDEX
    return tokens, labels


# The class-last layouts a language model's loss must take: sequences of several tokens, padded (classes_last); a
# loss that takes only (N, 1, V) would be checked on no padding and, in chunks, on one chunk only
SEQUENCES = ("spatial2d", "spatial3d")

CROSS_ENTROPY_CONVENTIONS = (
    Convention("label_smoothing_form", "uniform", {
        "uniform": Option("mixes (1-eps)*onehot + eps/C over every class", "torch label_smoothing"),
        "other_classes": Option("gives 1-eps to the true class and eps/(C-1) to each other class",
                                "hand-written smoothing in many tutorials",
                                {"label_smoothing_form": "other_classes"})}),
    Convention("class_axis", "1", {
        "1": Option("takes the classes on dim 1: (N, C) or (N, C, d1, ...)", "torch"),
        "last": Option("takes the classes on the last axis: logits (B, T, V) and labels (B, T) already shifted, as "
                       "language-model code writes it (F.cross_entropy(logits.view(-1, V), labels.view(-1))); the "
                       "audit shows it the catalogue's draws as token sequences: (N, C) as (N, 1, C), spatial draws "
                       "as padded (N, H·W, C)",
                       "transformers, nanoGPT and most language-model training loops", {"class_axis": -1},
                       inputs=classes_last, target_formats=("indices",), one_form=True,
                       required_layouts=SEQUENCES),
        "last_chunked": Option("takes the classes on the last axis and the logits (B, T, V) as a list of chunks "
                               "along T (labels (B, T) whole, already shifted), as memory-saving language-model code "
                               "does: the audit hands it torch.split(logits, size, dim=1) of the padded token "
                               "sequences, size from 1 to T, and gathers every chunk's gradient",
                               "chunked-loss and cut cross entropy training loops (Liger-style)", {"class_axis": -1},
                               inputs=classes_last, chunked=CHUNKED, target_formats=("indices",), one_form=True,
                               required_layouts=SEQUENCES)}),
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
        naming=Naming(("bce", "binarycrossentropy")),
        signature=("input", "target"), reference=ref.bce, params=(WEIGHT, REDUCTION),
        draw_inputs=draw_probability_pair, layouts=ELEMENTWISE_LAYOUTS, target_formats=BINARY_FORMATS,
        edge_cases=probability_edges, tensor_params={"weight": last_dim_weight}, elementwise=True,
        torch=("torch.nn.BCELoss", "torch.nn.functional.binary_cross_entropy")),
    LossSpec(
        id="bce_with_logits", family="classification", summary="binary cross-entropy on logits (softplus form)",
        naming=Naming(("bcewithlogits", "bce logit", "binarycrossentropy logit", "sigmoidcrossentropy"),
                      also=("bce", "binarycrossentropy")),
        signature=("input", "target"), reference=ref.bce_with_logits,
        params=(WEIGHT, Param("pos_weight", None, tensor=True), REDUCTION),
        draw_inputs=draw_logit_pair, layouts=ELEMENTWISE_LAYOUTS, target_formats=BINARY_FORMATS,
        edge_cases=binary_logit_edges, tensor_params={"weight": last_dim_weight, "pos_weight": last_dim_weight},
        elementwise=True, variants=(DOUBLE_SIGMOID,), conventions=(NORMALISE,),
        torch=("torch.nn.BCEWithLogitsLoss", "torch.nn.functional.binary_cross_entropy_with_logits")),
    LossSpec(
        id="cross_entropy", family="classification", summary="softmax cross-entropy over the class axis (dim 1)",
        naming=Naming(("labelsmoothing", "crossentropy", "xent", "ce")),
        signature=("input", "target"), reference=ref.cross_entropy,
        params=(WEIGHT, Param("ignore_index", -100), Param("label_smoothing", 0.0, ("smoothing",), (0.0, 0.1, 0.4)),
                REDUCTION),
        draw_inputs=draw_class_logits, layouts=("batch", "single", "no_batch", "spatial2d", "spatial3d"),
        target_formats=("indices", "probabilities"), edge_cases=class_edges,
        tensor_params={"weight": class_weight}, variants=CROSS_ENTROPY_VARIANTS,
        conventions=CROSS_ENTROPY_CONVENTIONS, mean_items=kept_targets,
        torch=("torch.nn.CrossEntropyLoss", "torch.nn.functional.cross_entropy")),
    LossSpec(
        id="nll", family="classification", summary="negative log-likelihood of log-probabilities",
        naming=Naming(("nll", "negativeloglikelihood")),
        signature=("input", "target"), reference=ref.nll,
        params=(WEIGHT, Param("ignore_index", -100), REDUCTION),
        draw_inputs=draw_class_log_probs, layouts=("batch", "single", "no_batch", "spatial2d"),
        target_formats=("indices",), edge_cases=log_prob_edges, tensor_params={"weight": class_weight},
        mean_items=kept_targets,
        torch=("torch.nn.NLLLoss", "torch.nn.functional.nll_loss", "torch.nn.NLLLoss2d")),
    LossSpec(
        id="kl_div", family="classification", summary="KL(p || q) from log q and p; 'batchmean' is the true KL",
        naming=Naming(("kl", "kullback"), also=("kld",)),
        signature=("input", "target"), reference=ref.kl_div,
        params=(Param("reduction", "mean", values=(*REDUCTIONS, "batchmean"), spellings=REDUCTION_SPELLINGS),
                Param("log_target", False, values=(False, True))),
        draw_inputs=draw_distributions, layouts=("batch", "single"), edge_cases=kl_edges,
        advice=Advice(reduction_notes={"mean": "LC404"}), variants=KL_VARIANTS,
        torch=("torch.nn.KLDivLoss", "torch.nn.functional.kl_div")),
    LossSpec(
        id="focal", family="classification", summary="binary sigmoid focal loss α_t(1-p_t)^γ·BCE on logits",
        naming=Naming(("focal",), also=("focal multi", "focal softmax", "focal categorical")),
        signature=("input", "target"), reference=ref.focal,
        params=(Param("alpha", 0.25, values=(0.25, 0.5, 0.75), none_value=-1.0),
                Param("gamma", 2.0, values=(0.0, 0.5, 1.0, 2.0, 3.0)), REDUCTION),
        draw_inputs=draw_logit_pair, layouts=ELEMENTWISE_LAYOUTS, target_formats=("binary",),
        edge_cases=binary_logit_edges, elementwise=True, variants=FOCAL_VARIANTS, conventions=(NORMALISE,)),
]


# -- focal_multiclass, margin losses ------------------------------------------------------------------------

FOCAL_MULTICLASS_CONVENTIONS = (
    Convention("alpha_form", "uniform", {
        "uniform": Option("multiplies every class by a scalar alpha (per-class weights only from an array)",
                          "MONAI FocalLoss(use_softmax=True), most softmax focal implementations"),
        "kornia": Option("reads a scalar alpha as per-class weights [1 - alpha, alpha, alpha, ...] (class 0 is "
                         "background)", "kornia.losses.FocalLoss", {"alpha_form": "kornia"})}),
    Convention("mean_over", "targets", {
        "targets": Option("averages over the (non-ignored) targets", "MONAI, most implementations"),
        "classes": Option("returns 'none' per class, (N, C, ...), so 'mean' also divides by the number of classes",
                          "kornia >= 0.8", {"mean_over": "classes"})}),
    Convention("input_domain", "logits", {
        "logits": Option("takes logits", "MONAI, kornia, most implementations"),
        "probabilities": Option("takes probabilities (softmax applied by the caller; it rejects logits)",
                                "focal losses documented to take probabilities", {"input_domain": "probabilities"},
                                inputs=lambda inputs: (softmax_classes(inputs[0]), *inputs[1:])),
        "log_probabilities": Option("takes log-probabilities (log_softmax applied by the caller; it rejects logits)",
                                    "focal losses written on top of nll_loss", {"input_domain": "log_probabilities"},
                                    inputs=lambda inputs: (log_softmax_classes(inputs[0]), *inputs[1:]))}),
)


def log_softmax_classes(x):
    return log_softmax(x, axis=0 if x.ndim == 1 else 1)


def _focal_on_mean_ce(r, case):
    """ce = cross_entropy(x, t) (a mean); loss = (1 - exp(-ce))**gamma * ce: the focusing term of the batch mean."""
    if case.params["reduction"] != "mean" or case.params.get("alpha") is not None:
        raise ValueError("defined for 'mean' without alpha")
    ce = float(ref.cross_entropy(*case.inputs, ignore_index=case.params["ignore_index"]))
    return np.asarray((-np.expm1(-ce)) ** case.params["gamma"] * ce)


FOCAL_MULTICLASS_VARIANTS = (
    on_input("softmax applied twice", "applies softmax to the logits before a loss that applies log_softmax "
             "itself (double activation)", "pass raw logits", softmax_classes),
    with_params("gamma = 0", "has no focusing term: (1 - p_y)^gamma is missing, as if gamma = 0",
                "multiply the cross-entropy by (1 - p_y) ** gamma", gamma=lambda p: 0.0),
    Variant("focusing term of the batch mean", "computes the mean cross-entropy first and then (1 - exp(-ce))^gamma "
            "* ce: the focusing term of the batch average instead of one per example",
            "use cross_entropy(..., reduction='none'), weight each term, then average", _focal_on_mean_ce),
)


def signed_logit_pair(draw, *, layout, target_format, scale, params):
    """(scores, labels in {-1, 1}) of one shape."""
    shape = elementwise_shape(draw, layout)
    return logits(draw, shape, scale), signs(draw, shape)


def signed_edges():
    x = np.array([EXTREME_LOGITS])
    return [("extreme scores, label 1", (x, np.ones_like(x))),
            ("extreme scores, label -1", (x, -np.ones_like(x))),
            ("scores at the margin", (np.array([[1.0, -1.0, 0.0]]), np.array([[1.0, -1.0, 1.0]])))]


def draw_multilabel_logits(draw, *, layout, target_format, scale, params):
    """(logits (N, C) or (C,), target in [0, 1] of the same shape)."""
    c = size(draw, "C", 1, 5)
    shape = (c,) if layout == "no_batch" else (batch_size(draw, layout), c)
    return logits(draw, shape, scale), binary_target(draw, shape, target_format)


def draw_margin_classes(draw, *, layout, target_format, scale, params):
    """(scores (N, C) or (C,), class indices (N,) or ())."""
    in_shape, t_shape = class_shapes(draw, layout)
    return logits(draw, in_shape, scale), class_indices(draw, t_shape, in_shape[-1])


def margin_class_edges():
    x = np.array([[1e4, -1e4, 0.0], [1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    return [("extreme scores", (x, np.array([1, 0, 2]))),
            ("scores exactly at the margin", (x, np.array([0, 2, 1])))]


def draw_multilabel_margin(draw, *, layout, target_format, scale, params):
    """(scores, targets): each row lists k target classes (repeats allowed), then -1, then anything in [-1, C)
    (torch reads nothing after the first -1)."""
    c = size(draw, "C", 1, 5)
    rows = 1 if layout != "batch" else size(draw, "N", 2, 4)
    x = logits(draw, (rows, c), scale)
    t = np.empty((rows, c), dtype=np.int64)
    for i in range(rows):
        k = draw(st.integers(0, c), label="number of targets")
        t[i, :k] = draw(hnp.arrays(np.int64, (k,), elements=st.integers(0, c - 1)), label="targets")
        t[i, k:] = draw(hnp.arrays(np.int64, (c - k,), elements=st.integers(-1, c - 1)), label="after the end")
        if k < c:
            t[i, k] = -1
    return (x[0], t[0]) if layout == "no_batch" else (x, t)


def multilabel_margin_edges():
    x = np.array([[1e4, -1e4, 0.0], [0.5, 0.5, 0.5]])
    return [("no target class (first entry -1)", (x, np.array([[-1, 0, 1], [-1, -1, -1]]))),
            ("every class a target", (x, np.array([[0, 1, 2], [2, 1, 0]]))),
            ("extreme scores", (x, np.array([[1, -1, 2], [0, -1, -1]])))]


def _squared_hinge(r, case):
    return np.asarray(reduce(call(r, case, reduction="none") ** 2, case.params["reduction"]))


def _hinge_embedding_for_hinge(r, case):
    return np.asarray(embedding_ref.hinge_embedding(*case.inputs, **case.params))


HINGE_VARIANTS = (
    Variant("HingeEmbeddingLoss presented as the SVM hinge", "is torch's HingeEmbeddingLoss (x where y = 1, "
            "max(0, margin - x) where y = -1: a loss on distances), not the SVM hinge max(0, margin - y·x)",
            "use torch.clamp(margin - target * input, min=0)", _hinge_embedding_for_hinge),
    Variant("squared hinge", "squares the hinge: max(0, margin - y·x)² (the L2-SVM loss)",
            "drop the square, or audit it as a squared hinge", _squared_hinge),
    with_params("margin ignored", "uses margin 1 whatever margin it is given", "use the margin argument",
                margin=lambda p: 1.0),
)

SOFT_MARGIN_VARIANTS = (
    Variant("sign of y·x flipped", "computes log(1 + exp(y·x)): the sign of the margin y·x is flipped, so correct "
            "predictions are penalised", "use log(1 + exp(-y·x)) (softplus(-y * x))",
            lambda r, case: call(r, replace_input(case, 1, -case.inputs[1]))),
)

SPECS += [
    LossSpec(
        id="focal_multiclass", family="classification",
        naming=Naming(("focal multi", "focal softmax", "focal categorical"), also=("focal",)),
        summary="softmax focal loss -α_y(1-p_y)^γ·log p_y on logits and class indices",
        signature=("input", "target"), reference=ref.focal_multiclass,
        params=(Param("alpha", None, values=(0.25, 0.75)), Param("gamma", 2.0, values=(0.0, 0.5, 1.0, 2.0, 3.0)),
                Param("ignore_index", -100), REDUCTION),
        draw_inputs=draw_class_logits, layouts=("batch", "single", "no_batch", "spatial2d", "spatial3d"),
        target_formats=("indices",), edge_cases=class_edges, variants=FOCAL_MULTICLASS_VARIANTS,
        conventions=FOCAL_MULTICLASS_CONVENTIONS, mean_items=kept_targets),
    LossSpec(
        id="soft_margin", family="classification", summary="log(1 + e^{-y·x}), y in {-1, 1}",
        naming=Naming(("softmargin",)),
        signature=("input", "target"), reference=ref.soft_margin, params=(REDUCTION,),
        draw_inputs=signed_logit_pair, layouts=ELEMENTWISE_LAYOUTS, edge_cases=signed_edges, elementwise=True,
        variants=SOFT_MARGIN_VARIANTS,
        torch=("torch.nn.SoftMarginLoss", "torch.nn.functional.soft_margin_loss")),
    LossSpec(
        id="multilabel_soft_margin", family="classification",
        naming=Naming(("multilabelsoftmargin",)),
        summary="mean over classes of BCE with logits, then over the batch",
        signature=("input", "target"), reference=ref.multilabel_soft_margin, params=(WEIGHT, REDUCTION),
        draw_inputs=draw_multilabel_logits, layouts=("batch", "single", "no_batch"), target_formats=BINARY_FORMATS,
        edge_cases=binary_logit_edges, tensor_params={"weight": last_dim_weight}, variants=(DOUBLE_SIGMOID,),
        torch=("torch.nn.MultiLabelSoftMarginLoss", "torch.nn.functional.multilabel_soft_margin_loss")),
    LossSpec(
        id="multi_margin", family="classification", summary="Σ_{i≠y} w_y·max(0, margin - x_y + x_i)^p / C",
        naming=Naming(("multimargin", "multiclasshinge")),
        signature=("input", "target"), reference=ref.multi_margin,
        params=(Param("p", 1, values=(1, 2)), Param("margin", 1.0, values=(0.5, 1.0, 2.0)), WEIGHT, REDUCTION),
        draw_inputs=draw_margin_classes, layouts=("batch", "single", "no_batch"), target_formats=("indices",),
        edge_cases=margin_class_edges, tensor_params={"weight": class_weight},
        torch=("torch.nn.MultiMarginLoss", "torch.nn.functional.multi_margin_loss")),
    LossSpec(
        id="hinge", family="classification", summary="binary SVM hinge max(0, margin - y·x), y in {-1, 1}",
        naming=Naming(("hinge", "svm")),
        signature=("input", "target"), reference=ref.hinge,
        params=(Param("margin", 1.0, values=(0.5, 1.0, 2.0)), REDUCTION),
        draw_inputs=signed_logit_pair, layouts=ELEMENTWISE_LAYOUTS, edge_cases=signed_edges, elementwise=True,
        variants=HINGE_VARIANTS),
    LossSpec(
        id="multilabel_margin", family="classification",
        naming=Naming(("multilabelmargin",)),
        summary="Σ_{j in targets} Σ_{i not a target} max(0, 1 - x_j + x_i) / C; targets padded with -1",
        signature=("input", "target"), reference=ref.multilabel_margin, params=(REDUCTION,),
        draw_inputs=draw_multilabel_margin, layouts=("batch", "single", "no_batch"),
        edge_cases=multilabel_margin_edges,
        torch=("torch.nn.MultiLabelMarginLoss", "torch.nn.functional.multilabel_margin_loss")),
]
