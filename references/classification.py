"""Float64 references for the classification losses.

bce, bce_with_logits, cross_entropy, nll, kl_div, focal (binary sigmoid focal loss),
focal_multiclass (softmax focal loss), and the margin losses soft_margin, multilabel_soft_margin,
multi_margin, hinge and multilabel_margin. Where PyTorch has a built-in, the reference follows its
documented semantics exactly (clamps, weighting, reduction denominators, shapes of 'none').
NumPy/SciPy only: this module never imports torch.

Shape conventions for cross_entropy, nll and focal_multiclass: the class dimension is dim 0 for a
(C,) input and dim 1 otherwise, so inputs are (C,), (N, C) or (N, C, d1, ..., dk), and class-index
targets are (), (N,) or (N, d1, ..., dk) respectively.

The points on which correct implementations differ (the catalogue's conventions) are keyword
options: ``normalise`` of bce_with_logits and focal, ``label_smoothing_form`` of cross_entropy,
``alpha_form`` and ``mean_over`` of focal_multiclass; each defaults to the built-in's (or the
paper's) form and names the source of the other in its docstring.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit, log_softmax, xlogy

from ._classes import along_class_axis, class_indices, class_weight, integers, onehot
from ._classes import class_axis as _class_axis  # cross_entropy has a keyword class_axis
from ._reduce import check_reduction, reduce

__all__ = [
    "bce", "bce_with_logits", "cross_entropy", "nll", "kl_div", "focal", "focal_multiclass",
    "soft_margin", "multilabel_soft_margin", "multi_margin", "hinge", "multilabel_margin",
]

_LOG_CLAMP = -100.0  # torch's BCELoss clamps each log at -100
_NORMALISE = ("elements", "positives")
_ALPHA_FORMS = ("uniform", "kornia")
_INPUT_DOMAINS = ("logits", "probabilities", "log_probabilities")
_MEAN_OVER = ("targets", "classes")


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _same_shape(name, input, target):
    if input.shape != target.shape:
        raise ValueError(
            f"{name}: target shape {target.shape} must equal input shape {input.shape}"
        )


def bce(input, target, *, weight=None, reduction="mean"):
    """Binary cross-entropy on probabilities.

    ``loss = -w * [y * max(log x, -100) + (1 - y) * max(log(1 - x), -100)]``, with
    ``log(1 - x)`` computed as ``log1p(-x)``; the clamp at -100 is torch's, so x = 0 or 1 give a
    finite loss (100 per wrong-sided element). 'mean' is the plain mean over elements.

    Shapes: input (probabilities in [0, 1]) and target have the same (any) shape; ``weight``
    broadcasts to it. 'none' returns input's shape.

    Source: PyTorch ``torch.nn.BCELoss`` / ``torch.nn.functional.binary_cross_entropy``
    (https://pytorch.org/docs/stable/generated/torch.nn.BCELoss.html).
    """
    check_reduction(reduction)
    x, y = _f64(input), _f64(target)
    _same_shape("bce", x, y)
    if np.any((x < 0.0) | (x > 1.0)):
        raise ValueError("bce: every element of input must be a probability in [0, 1]")
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(x), _LOG_CLAMP)
        log_1mx = np.maximum(np.log1p(-x), _LOG_CLAMP)
    values = -(y * log_x + (1.0 - y) * log_1mx)
    if weight is not None:
        values = values * _f64(weight)
    return reduce(values, reduction)


def _reduce_normalised(values, target, reduction, normalise):
    """reduce(values, reduction), except 'mean' with ``normalise="positives"``: the sum divided by the
    number of positive targets Σy, at least 1 (RetinaNet)."""
    if normalise not in _NORMALISE:
        raise ValueError(f"normalise must be one of {_NORMALISE}; got normalise={normalise!r}")
    if normalise == "positives" and reduction == "mean":
        return np.float64(reduce(values, "sum") / max(float(np.sum(target)), 1.0))
    return reduce(values, reduction)


def bce_with_logits(input, target, *, weight=None, pos_weight=None, reduction="mean",
                    normalise="elements"):
    """Binary cross-entropy on logits, computed stably.

    ``loss = -w * [pw * y * log σ(x) + (1 - y) * log σ(-x)]`` with ``log σ`` from
    ``scipy.special.log_expit`` (finite for every finite x, including ±1e4).
    'mean' is the plain mean over elements (weights are not normalised).

    Shapes: input (logits) and target (in [0, 1], soft targets allowed) have the same shape;
    ``weight`` broadcasts to it; ``pos_weight`` broadcasts along the last (class) dimension,
    e.g. shape (C,) for an (N, C) input. 'none' returns input's shape.

    ``normalise`` says what 'mean' divides the sum by: "elements" (their number, torch) or
    "positives" (the number of positive targets Σy, at least 1: the detection normalisation of
    Lin et al. 2017, section 3.3, "normalized by the number of anchors assigned to a ground-truth
    box", as detectron2 and mmdetection heads do). 'none' and 'sum' are the same under both.

    Source: PyTorch ``torch.nn.BCEWithLogitsLoss`` /
    ``torch.nn.functional.binary_cross_entropy_with_logits``
    (https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html).
    """
    check_reduction(reduction)
    x, y = _f64(input), _f64(target)
    _same_shape("bce_with_logits", x, y)
    positive = y * log_expit(x)
    if pos_weight is not None:
        positive = _f64(pos_weight) * positive
    values = -(positive + (1.0 - y) * log_expit(-x))
    if weight is not None:
        values = values * _f64(weight)
    return _reduce_normalised(values, y, reduction, normalise)


def _index_target_loss(log_p, target, weight, ignore_index, label_smoothing, reduction):
    """nll / cross_entropy for class-index targets, given log-probabilities ``log_p``."""
    axis = _class_axis(log_p)
    n_classes = log_p.shape[axis]
    w = class_weight(weight, n_classes)
    expected = log_p.shape[:axis] + log_p.shape[axis + 1 :]
    t, keep = class_indices(target, expected, n_classes, ignore_index)
    safe_t = np.where(keep, t, 0)
    picked = np.take_along_axis(log_p, np.expand_dims(safe_t, axis), axis=axis)
    picked = np.squeeze(picked, axis=axis)
    w_t = keep.astype(np.float64) if w is None else np.where(keep, w[safe_t], 0.0)
    with np.errstate(invalid="ignore"):  # 0 * -inf at ignored positions is masked out
        values = np.where(keep, -w_t * picked, 0.0)
    if label_smoothing > 0.0:
        weighted = log_p if w is None else log_p * along_class_axis(w, log_p.ndim, axis)
        smooth = np.where(keep, -np.sum(weighted, axis=axis), 0.0)
        values = (1.0 - label_smoothing) * values + (label_smoothing / n_classes) * smooth
    return reduce(values, reduction, weights=w_t)


def _other_classes_loss(log_p, target, weight, ignore_index, label_smoothing, reduction):
    """cross_entropy for class-index targets against the soft target ``(1 - ε) onehot(y) + ε / (C - 1)
    (1 - onehot(y))``, as the probability-target path computes it; ignored targets give 0."""
    axis = _class_axis(log_p)
    n_classes = log_p.shape[axis]
    if n_classes < 2:
        raise ValueError("label_smoothing_form='other_classes' needs C >= 2 classes (ε / (C - 1))")
    w = class_weight(weight, n_classes)
    t, keep = class_indices(target, log_p.shape[:axis] + log_p.shape[axis + 1 :], n_classes, ignore_index)
    hot = onehot(t, keep, n_classes, axis)
    terms = log_p * ((1.0 - label_smoothing) * hot + label_smoothing / (n_classes - 1) * (1.0 - hot))
    if w is not None:
        terms = terms * along_class_axis(w, log_p.ndim, axis)
    return reduce(np.where(keep, -np.sum(terms, axis=axis), 0.0), reduction, weights=keep)


_SMOOTHING_FORMS = ("uniform", "other_classes")


def _check_label_smoothing(label_smoothing):
    label_smoothing = float(label_smoothing)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1]; got label_smoothing={label_smoothing!r}")
    return label_smoothing


def cross_entropy(input, target, *, weight=None, ignore_index=-100, label_smoothing=0.0,
                  reduction="mean", label_smoothing_form="uniform", class_axis=1):
    """Cross-entropy of logits against class indices or class probabilities.

    ``log p = log_softmax(input)`` along the class dimension (scipy.special.log_softmax).

    Class-index targets (target shape = input shape without the class dimension; the kind is
    told from the shape, as torch does):
    ``loss_n = (1 - ε) * w[y_n] * (-log p[y_n]) + (ε / C) * Σ_c w_c * (-log p_c)``,
    i.e. cross-entropy against ``(1 - ε) onehot(y) + ε / C`` with class weights inside the sum
    (w = 1 without ``weight``). Targets equal to ``ignore_index`` contribute 0 (also in 'none').
    'mean' divides the sum by ``Σ w[y_n]`` over the kept targets (the count of kept targets
    without weights); with every target ignored, 'mean' is nan (0/0), as in torch.

    Class-probability targets (target has input's shape, float):
    ``t = (1 - ε) * target + ε / C``, ``loss_n = -Σ_c w_c * t_c * log p_c``; 'mean' divides by
    the number of loss values N * d1 * ... * dk (not by the weights); ``ignore_index`` does not
    apply (torch rejects a non-negative one for probability targets).

    ``label_smoothing_form="other_classes"`` (class-index targets, ε > 0) is the smoothing written
    by hand in many tutorials: 1 - ε to the true class and ε / (C - 1) to each other one (torch's
    "uniform" form gives ε / C to every class), i.e. the cross-entropy against that soft target as
    the class-probability path computes it (weights inside the sum), ignored targets giving 0 and
    'mean' dividing by the number of kept targets (not by the weights). C must be >= 2, and the
    targets class indices (a probability target has no one true class: ValueError). With ε = 0 both
    forms are the plain cross-entropy.

    Shapes: input (C,), (N, C) or (N, C, d1, ..., dk); 'none' returns (), (N,) or
    (N, d1, ..., dk). ``weight`` has shape (C,). ``class_axis=-1`` takes the classes on the last
    axis instead, as language-model code writes it: logits (B, T, V) and labels (B, T) (a
    probability target (B, T, V) too); the loss is the same once the classes are moved to dim 1.

    Source: PyTorch ``torch.nn.CrossEntropyLoss`` / ``torch.nn.functional.cross_entropy``
    (https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html), including
    torch's label-smoothing implementation (``cross_entropy_loss_label_smoothing`` and
    ``cross_entropy_loss_prob_target`` in aten/src/ATen/native/LossNLL.cpp); label smoothing
    from Szegedy et al., "Rethinking the Inception Architecture", 2016 (its u(k) = 1/K is the uniform
    form); the other-classes form is the one hand-written in many tutorials and training scripts
    (``torch.full_like(x, ε / (C - 1)).scatter_(1, y, 1 - ε)``), with no library behind it.
    """
    check_reduction(reduction)
    label_smoothing = _check_label_smoothing(label_smoothing)
    if label_smoothing_form not in _SMOOTHING_FORMS:
        raise ValueError(f"label_smoothing_form must be one of {_SMOOTHING_FORMS}; "
                         f"got label_smoothing_form={label_smoothing_form!r}")
    x, t = _f64(input), np.asarray(target)
    if class_axis not in (1, -1):
        raise ValueError(f"class_axis must be 1 or -1; got class_axis={class_axis!r}")
    if class_axis == -1 and x.ndim > 1:
        x, t = np.moveaxis(x, -1, 1), (np.moveaxis(t, -1, 1) if t.shape == x.shape else t)
    axis = _class_axis(x)
    log_p = log_softmax(x, axis=axis)
    if t.shape != x.shape:
        if label_smoothing_form == "other_classes" and label_smoothing > 0.0:
            return _other_classes_loss(log_p, t, weight, ignore_index, label_smoothing, reduction)
        return _index_target_loss(log_p, t, weight, ignore_index, label_smoothing, reduction)
    n_classes = x.shape[axis]
    if label_smoothing_form == "other_classes" and label_smoothing > 0.0:
        raise ValueError("label_smoothing_form='other_classes' needs class-index targets")
    probs = _f64(t)
    if label_smoothing > 0.0:
        probs = probs * (1.0 - label_smoothing) + label_smoothing / n_classes
    w = class_weight(weight, n_classes)
    terms = log_p * probs
    if w is not None:
        terms = terms * along_class_axis(w, x.ndim, axis)
    return reduce(-np.sum(terms, axis=axis), reduction)


def nll(input, target, *, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities at class-index targets.

    ``loss_n = -w[y_n] * input[n, y_n]`` (w = 1 without ``weight``); targets equal to
    ``ignore_index`` contribute 0 (also in 'none'). 'mean' divides the sum by ``Σ w[y_n]`` over
    the kept targets; with every target ignored, 'mean' is nan (0/0), as in torch.

    Shapes: input (C,), (N, C) or (N, C, d1, ..., dk) log-probabilities; target integer class
    indices of shape (), (N,) or (N, d1, ..., dk); 'none' returns target's shape.
    ``weight`` has shape (C,).

    Source: PyTorch ``torch.nn.NLLLoss`` / ``torch.nn.functional.nll_loss``
    (https://pytorch.org/docs/stable/generated/torch.nn.NLLLoss.html).
    """
    check_reduction(reduction)
    x = _f64(input)
    return _index_target_loss(x, target, weight, ignore_index, 0.0, reduction)


def kl_div(input, target, *, reduction="mean", log_target=False):
    """Pointwise Kullback-Leibler divergence term, torch's KLDivLoss.

    ``input`` is log q. Without ``log_target``, target is p and
    ``loss = xlogy(p, p) - p * log q`` (so 0 * log 0 = 0); with ``log_target``, target is log p and
    ``loss = exp(log p) * (log p - log q)``.

    Reductions: 'none' (the broadcast shape), 'sum', 'mean' (mean over *every element*, which is
    not the KL divergence: a pitfall), and 'batchmean' = sum / input.shape[0] (sum for a 0-d
    input), which is the KL divergence per sample.

    Source: PyTorch ``torch.nn.KLDivLoss`` / ``torch.nn.functional.kl_div``
    (https://pytorch.org/docs/stable/generated/torch.nn.KLDivLoss.html).
    """
    check_reduction(reduction, ("none", "mean", "sum", "batchmean"))
    log_q, t = _f64(input), _f64(target)
    if log_target:
        values = np.exp(t) * (t - log_q)
    else:
        values = xlogy(t, t) - t * log_q
    if reduction == "batchmean":
        total = reduce(values, "sum")
        return total if log_q.ndim == 0 else np.float64(total / log_q.shape[0])
    return reduce(values, reduction)


def focal(input, target, *, alpha=0.25, gamma=2.0, reduction="mean", normalise="elements"):
    """Binary sigmoid focal loss on logits (Lin et al., "Focal Loss for Dense Object
    Detection", ICCV 2017), with torchvision's formula.

    ``ce = bce_with_logits(x, y)`` (elementwise, stable), ``p = σ(x)``,
    ``p_t = p * y + (1 - p) * (1 - y)``, ``loss = ce * (1 - p_t)**γ``, then, if ``alpha >= 0``,
    ``loss *= α * y + (1 - α) * (1 - y)`` (``alpha < 0`` disables the weighting).
    ``1 - p_t = σ(x) * (1 - y) + σ(-x) * y`` (the same as p + y - 2py) is computed as that sum of
    two non-negative terms, so it never cancels and stays exact at logits ±1e4; ``0**0 = 1``,
    so ``gamma = 0`` (with ``alpha < 0``) is exactly bce_with_logits.

    Shapes: input (logits) and target (in [0, 1]) have the same (any) shape; 'none' returns it.
    The default reduction here is 'mean'; torchvision's default is 'none'.

    ``normalise="positives"``: 'mean' is the sum over every element divided by the number of
    positive targets (at least 1), as RetinaNet normalises it (Lin et al. 2017, section 3.3;
    detectron2 and mmdetection); "elements" (the default) is torchvision's plain mean.

    Source: ``torchvision.ops.sigmoid_focal_loss``
    (https://pytorch.org/vision/stable/generated/torchvision.ops.sigmoid_focal_loss.html).
    """
    check_reduction(reduction)
    x, y = _f64(input), _f64(target)
    ce = bce_with_logits(x, y, reduction="none")
    one_minus_p_t = expit(x) * (1.0 - y) + expit(-x) * y
    values = ce * one_minus_p_t ** float(gamma)
    if alpha >= 0:
        values = (alpha * y + (1.0 - alpha) * (1.0 - y)) * values
    return _reduce_normalised(values, y, reduction, normalise)


def focal_multiclass(input, target, *, alpha=None, gamma=2.0, ignore_index=-100, reduction="mean",
                     alpha_form="uniform", mean_over="targets", input_domain="logits"):
    """Softmax (multi-class) focal loss on logits and class-index targets (Lin et al., "Focal
    Loss for Dense Object Detection", ICCV 2017, Eq. 5, in its softmax form).

    ``log p = log_softmax(input)`` along the class dimension (scipy.special.log_softmax),
    ``loss_n = -α[y_n] * (1 - p[y_n])**γ * log p[y_n]``, with ``1 - p = -expm1(log p)`` (no
    cancellation as p -> 1) and ``0**0 = 1``, so ``gamma = 0`` without alpha is exactly
    cross_entropy. ``alpha``: None (α = 1 for every class), a scalar (the same α for *every*
    class, i.e. a plain factor), or an array of shape (C,) (one α per class). Targets equal to
    ``ignore_index`` contribute 0 (also in 'none'). 'mean' divides the sum by the number of kept
    targets (not by Σ α[y]); with every target ignored it is nan (0/0), as cross_entropy.

    Shapes: input (C,), (N, C) or (N, C, d1, ..., dk) logits; target integer class indices of
    shape (), (N,) or (N, d1, ..., dk); 'none' returns target's shape.

    Conventions (kornia's, https://kornia.readthedocs.io/en/latest/losses.html#kornia.losses.focal_loss):
    ``alpha_form="kornia"`` reads a scalar α as the per-class weights [1 - α, α, α, ...] (class 0
    is the background; None and arrays are unchanged). ``mean_over="classes"`` (kornia >= 0.8)
    returns 'none' per class, input's shape (N, C, ...), each loss at its target's class and 0
    elsewhere (ignored targets all 0), so 'mean' divides the sum by N·C·d1·...·dk; 'sum' is the same.

    ``input_domain`` says what the input holds: "logits" (the default), "probabilities" (``log p =
    log(input)``, a loss that asks its caller to apply softmax first; 0 gives log 0 = -inf) or
    "log_probabilities" (``log p = input``).

    Source: no PyTorch built-in; Lin et al. 2017; kornia ``kornia.losses.FocalLoss`` and MONAI
    ``monai.losses.FocalLoss(use_softmax=True)`` (https://kornia.readthedocs.io/en/latest/losses.html,
    https://docs.monai.io/en/stable/losses.html#focalloss).
    """
    check_reduction(reduction)
    x = _f64(input)
    axis = _class_axis(x)
    n_classes = x.shape[axis]
    if input_domain not in _INPUT_DOMAINS:
        raise ValueError(f"focal_multiclass: input_domain must be one of {_INPUT_DOMAINS}; got {input_domain!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = {"logits": lambda: log_softmax(x, axis=axis), "probabilities": lambda: np.log(x),
                 "log_probabilities": lambda: x}[input_domain]()
    expected = x.shape[:axis] + x.shape[axis + 1 :]
    t, keep = class_indices(target, expected, n_classes, ignore_index)
    safe_t = np.where(keep, t, 0)
    picked = np.squeeze(np.take_along_axis(log_p, np.expand_dims(safe_t, axis), axis=axis), axis=axis)
    if alpha_form not in _ALPHA_FORMS:
        raise ValueError(f"focal_multiclass: alpha_form must be one of {_ALPHA_FORMS}; got alpha_form={alpha_form!r}")
    if alpha_form == "kornia" and alpha is not None and np.ndim(alpha) == 0:
        alpha = np.array([1.0 - float(alpha)] + [float(alpha)] * (n_classes - 1))
    if alpha is None:
        a = np.ones_like(picked)
    elif np.ndim(alpha) == 0:
        a = np.full_like(picked, float(alpha))
    else:
        per_class = _f64(alpha)
        if per_class.shape != (n_classes,):
            raise ValueError(
                f"focal_multiclass: alpha must be None, a scalar or an array of shape ({n_classes},) "
                f"(one per class); got shape {per_class.shape}"
            )
        a = per_class[safe_t]
    modulating = (-np.expm1(picked)) ** float(gamma)
    with np.errstate(invalid="ignore"):
        values = np.where(keep, -a * modulating * picked, 0.0)
    if mean_over not in _MEAN_OVER:
        raise ValueError(f"focal_multiclass: mean_over must be one of {_MEAN_OVER}; got mean_over={mean_over!r}")
    if mean_over == "classes":
        return reduce(np.expand_dims(values, axis) * onehot(t, keep, n_classes, axis), reduction)
    return reduce(values, reduction, weights=keep)


def soft_margin(input, target, *, reduction="mean"):
    """Soft margin loss (two-class logistic loss with labels ±1).

    ``loss = log(1 + exp(-y * x))``, computed stably as ``logaddexp(0, -y * x)``, so it is finite
    (≈ -y·x) for every finite input. torch computes ``log1p(exp(-y * x))`` literally, which
    overflows to inf for -y·x > 709 in float64 (> 88.7 in float32): the only place the two
    differ. Labels are meant to be in {-1, 1}; like torch, other values are used as given.

    Shapes: input and target broadcast (torch requires the same shape); 'none' returns it.

    Source: PyTorch ``torch.nn.SoftMarginLoss`` / ``torch.nn.functional.soft_margin_loss``
    (https://pytorch.org/docs/stable/generated/torch.nn.SoftMarginLoss.html).
    """
    check_reduction(reduction)
    x, y = _f64(input), _f64(target)
    return reduce(np.logaddexp(0.0, -y * x), reduction)


def multilabel_soft_margin(input, target, *, weight=None, reduction="mean"):
    """Multi-label soft margin loss: the mean over classes of a weighted bce_with_logits.

    ``l_c = -w_c * [y_c * log σ(x_c) + (1 - y_c) * log σ(-x_c)]`` (log σ from
    scipy.special.log_expit), ``loss_n = Σ_c l_c / C`` over the last (class) dimension; then
    'mean' averages these per-sample losses over the batch and 'sum' adds them.

    Shapes: input (N, C) (or (C,), or any shape whose last dimension is the class dimension);
    target (in [0, 1]) of the same shape; ``weight`` broadcasts against it, typically (C,).
    'none' returns input's shape without its last dimension ((N,), or () for (C,)).

    Source: PyTorch ``torch.nn.MultiLabelSoftMarginLoss`` /
    ``torch.nn.functional.multilabel_soft_margin_loss``
    (https://pytorch.org/docs/stable/generated/torch.nn.MultiLabelSoftMarginLoss.html).
    """
    check_reduction(reduction)
    x, y = _f64(input), _f64(target)
    if x.ndim < 1:
        raise ValueError("multilabel_soft_margin: input must have a class dimension (its last)")
    _same_shape("multilabel_soft_margin", x, y)
    values = -(y * log_expit(x) + (1.0 - y) * log_expit(-x))
    if weight is not None:
        values = values * _f64(weight)
    return reduce(np.sum(values, axis=-1) / x.shape[-1], reduction)


def _margin_layout(name, input, target):
    """(N, C) input and (N,)-shaped integer targets, plus the 'none' output shape, following
    torch's multi_margin / multilabel_margin shape rules for 0-d, 1-d and 2-d inputs."""
    x = _f64(input)
    if x.ndim > 2:
        raise ValueError(f"{name}: input must be (C,) or (N, C); got shape {x.shape}")
    t = integers(target, f"{name}: target must hold integer class indices")
    return x.reshape(-1, x.shape[-1] if x.ndim else 1), t


def multi_margin(input, target, *, p=1, margin=1.0, weight=None, reduction="mean"):
    """Multi-class hinge loss (Weston-Watkins / Crammer-Singer style), torch's MultiMarginLoss.

    Per sample with class index y:
    ``loss = Σ_{i ≠ y} w[y] * max(0, margin - x[y] + x[i])**p / C``, p in {1, 2}; the class
    weight is that of the *target* class, w[y] (w = 1 without ``weight``), and the division is
    by C (all classes, the target's own term being excluded from the sum). 'mean' averages over
    the batch.

    Shapes: input (N, C) with target (N,), or (C,) with a 0-d target (or one of shape (1,));
    'none' returns target's shape. ``weight`` has shape (C,). Targets outside [0, C) and p not in
    {1, 2} raise ValueError (as in torch).

    Source: PyTorch ``torch.nn.MultiMarginLoss`` / ``torch.nn.functional.multi_margin_loss``
    (https://pytorch.org/docs/stable/generated/torch.nn.MultiMarginLoss.html; aten
    MultiMarginCriterion.cpp).
    """
    check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin: only p = 1 and p = 2 are supported; got p={p!r}")
    x, t = _margin_layout("multi_margin", input, target)
    n, c = x.shape
    allowed = [(n,)] if np.ndim(input) == 2 else [(), (1,)]
    if t.shape not in allowed:
        raise ValueError(f"multi_margin: target must have shape {' or '.join(map(str, allowed))} "
                         f"for input of shape {np.shape(input)}; got {t.shape}")
    out_shape = t.shape
    t = t.reshape(n)
    if np.any((t < 0) | (t >= c)):
        raise ValueError(f"multi_margin: target out of range: every target must be in [0, {c})")
    w = class_weight(weight, c)
    rows = np.arange(n)
    x_y = x[rows, t]
    z = np.maximum(float(margin) - x_y[:, None] + x, 0.0)
    h = z if p == 1 else z * z
    h[rows, t] = 0.0
    if w is not None:
        h = h * w[t][:, None]
    return reduce((np.sum(h, axis=1) / c).reshape(out_shape), reduction)


def hinge(input, target, *, margin=1.0, reduction="mean"):
    """Binary SVM hinge loss with labels ±1: ``loss = max(0, margin - y * x)``.

    Not torch's HingeEmbeddingLoss (that one takes distances: x if y = 1, max(0, margin - x) if
    y = -1). Labels other than -1 and 1 raise ValueError (convert {0, 1} labels with 2y - 1).

    Shapes: input (scores) and target broadcast; 'none' returns the broadcast shape.

    Source: no PyTorch built-in; the hinge loss of support vector machines (Cortes and Vapnik,
    "Support-vector networks", 1995), e.g. ``sklearn.metrics.hinge_loss``.
    """
    check_reduction(reduction)
    x, y = _f64(input), _f64(target)
    if np.any((y != 1.0) & (y != -1.0)):
        raise ValueError("hinge: every target must be -1 or 1")
    return reduce(np.maximum(float(margin) - y * x, 0.0), reduction)


def multilabel_margin(input, target, *, reduction="mean"):
    """Multi-label hinge loss, torch's MultiLabelMarginLoss.

    Each row of target lists the sample's target classes, padded with -1: the targets are the
    entries before the first -1 (later entries are not read). With ``J`` that set of target
    classes, ``loss = Σ_{j in target prefix} Σ_{i not in J} max(0, 1 - x[j] + x[i]) / C``; a
    class listed twice is counted twice in the outer sum, as in torch. 'mean' averages over the
    batch.

    Shapes: input (N, C) with target (N, C), or (C,) with target (C,) (or a 0-d input with a 0-d
    target, C = 1); target holds integers in [-1, C) (others raise ValueError, as in torch).
    'none' returns (N,), or () for an unbatched input.

    Source: PyTorch ``torch.nn.MultiLabelMarginLoss`` /
    ``torch.nn.functional.multilabel_margin_loss``
    (https://pytorch.org/docs/stable/generated/torch.nn.MultiLabelMarginLoss.html; aten
    MultiLabelMarginCriterion.cpp).
    """
    check_reduction(reduction)
    x, t = _margin_layout("multilabel_margin", input, target)
    if t.shape != np.shape(input):
        raise ValueError(f"multilabel_margin: target shape {t.shape} must equal input shape "
                         f"{np.shape(input)}")
    n, c = x.shape
    t = t.reshape(n, c)
    if np.any((t < -1) | (t >= c)):
        raise ValueError(f"multilabel_margin: target out of range: every entry must be in [-1, {c})")
    # a target entry counts while no -1 (or other negative) has appeared before it in its row
    valid = np.cumprod(t >= 0, axis=1).astype(bool)
    is_target = np.zeros((n, c), dtype=bool)
    rows = np.repeat(np.arange(n), c).reshape(n, c)
    is_target[rows[valid], t[valid]] = True
    safe_t = np.where(valid, t, 0)
    x_j = np.take_along_axis(x, safe_t, axis=1)  # (n, c): the input at each listed target
    z = np.maximum(1.0 - x_j[:, :, None] + x[:, None, :], 0.0)  # (n, listed j, class i)
    z = z * (valid[:, :, None] & ~is_target[:, None, :])
    values = np.sum(z, axis=(1, 2)) / c
    return reduce(values.reshape(np.shape(input)[:-1]), reduction)
