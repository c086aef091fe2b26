"""Float64 references for the classification losses.

bce, bce_with_logits, cross_entropy, nll, kl_div and focal (binary sigmoid focal loss).
Where PyTorch has a built-in, the reference follows its documented semantics exactly
(clamps, weighting, reduction denominators, shapes of 'none'). NumPy/SciPy only: this module
never imports torch.

Shape conventions for cross_entropy and nll: the class dimension is dim 0 for a (C,) input and
dim 1 otherwise, so inputs are (C,), (N, C) or (N, C, d1, ..., dk), and class-index targets are
(), (N,) or (N, d1, ..., dk) respectively.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit, log_softmax, xlogy

from ._reduce import check_reduction, reduce

__all__ = ["bce", "bce_with_logits", "cross_entropy", "nll", "kl_div", "focal"]

_LOG_CLAMP = -100.0  # torch's BCELoss clamps each log at -100


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


def bce_with_logits(input, target, *, weight=None, pos_weight=None, reduction="mean"):
    """Binary cross-entropy on logits, computed stably.

    ``loss = -w * [pw * y * log σ(x) + (1 - y) * log σ(-x)]`` with ``log σ`` from
    ``scipy.special.log_expit`` (finite for every finite x, including ±1e4).
    'mean' is the plain mean over elements (weights are not normalised).

    Shapes: input (logits) and target (in [0, 1], soft targets allowed) have the same shape;
    ``weight`` broadcasts to it; ``pos_weight`` broadcasts along the last (class) dimension,
    e.g. shape (C,) for an (N, C) input. 'none' returns input's shape.

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
    return reduce(values, reduction)


def _class_axis(x):
    if x.ndim < 1:
        raise ValueError("input must have a class dimension: shape (C,), (N, C) or (N, C, d1, ...)")
    return 0 if x.ndim == 1 else 1


def _class_weight(weight, n_classes):
    if weight is None:
        return None
    w = _f64(weight)
    if w.shape != (n_classes,):
        raise ValueError(f"weight must have shape ({n_classes},) (one per class); got {w.shape}")
    return w


def _along_class_axis(w, ndim, axis):
    """View a (C,) weight so that it broadcasts against an input whose class axis is ``axis``."""
    shape = [1] * ndim
    shape[axis] = w.shape[0]
    return w.reshape(shape)


def _class_indices(target, expected_shape, n_classes, ignore_index):
    t = np.asarray(target)
    if t.shape != expected_shape:
        raise ValueError(
            f"class-index target must have shape {expected_shape} (input's shape without the "
            f"class dimension); got {t.shape}"
        )
    if not (np.issubdtype(t.dtype, np.integer) or np.issubdtype(t.dtype, np.bool_)):
        if not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
            raise ValueError("class-index target must hold integers")
    t = t.astype(np.int64)
    keep = t != ignore_index
    if np.any(keep & ((t < 0) | (t >= n_classes))):
        raise ValueError(
            f"class-index target out of range: every target must be in [0, {n_classes}) "
            f"or equal ignore_index={ignore_index}"
        )
    return t, keep


def _index_target_loss(log_p, target, weight, ignore_index, label_smoothing, reduction):
    """nll / cross_entropy for class-index targets, given log-probabilities ``log_p``."""
    axis = _class_axis(log_p)
    n_classes = log_p.shape[axis]
    w = _class_weight(weight, n_classes)
    expected = log_p.shape[:axis] + log_p.shape[axis + 1 :]
    t, keep = _class_indices(target, expected, n_classes, ignore_index)
    safe_t = np.where(keep, t, 0)
    picked = np.take_along_axis(log_p, np.expand_dims(safe_t, axis), axis=axis)
    picked = np.squeeze(picked, axis=axis)
    w_t = keep.astype(np.float64) if w is None else np.where(keep, w[safe_t], 0.0)
    with np.errstate(invalid="ignore"):  # 0 * -inf at ignored positions is masked out
        values = np.where(keep, -w_t * picked, 0.0)
    if label_smoothing > 0.0:
        weighted = log_p if w is None else log_p * _along_class_axis(w, log_p.ndim, axis)
        smooth = np.where(keep, -np.sum(weighted, axis=axis), 0.0)
        values = (1.0 - label_smoothing) * values + (label_smoothing / n_classes) * smooth
    return reduce(values, reduction, weights=w_t)


def _check_label_smoothing(label_smoothing):
    label_smoothing = float(label_smoothing)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1]; got label_smoothing={label_smoothing!r}")
    return label_smoothing


def cross_entropy(input, target, *, weight=None, ignore_index=-100, label_smoothing=0.0,
                  reduction="mean"):
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

    Shapes: input (C,), (N, C) or (N, C, d1, ..., dk); 'none' returns (), (N,) or
    (N, d1, ..., dk). ``weight`` has shape (C,).

    Source: PyTorch ``torch.nn.CrossEntropyLoss`` / ``torch.nn.functional.cross_entropy``
    (https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html), including
    torch's label-smoothing implementation (``cross_entropy_loss_label_smoothing`` and
    ``cross_entropy_loss_prob_target`` in aten/src/ATen/native/LossNLL.cpp); label smoothing
    from Szegedy et al., "Rethinking the Inception Architecture", 2016.
    """
    check_reduction(reduction)
    label_smoothing = _check_label_smoothing(label_smoothing)
    x = _f64(input)
    axis = _class_axis(x)
    log_p = log_softmax(x, axis=axis)
    t = np.asarray(target)
    if t.shape != x.shape:
        return _index_target_loss(log_p, t, weight, ignore_index, label_smoothing, reduction)
    n_classes = x.shape[axis]
    probs = _f64(t)
    if label_smoothing > 0.0:
        probs = probs * (1.0 - label_smoothing) + label_smoothing / n_classes
    w = _class_weight(weight, n_classes)
    terms = log_p * probs
    if w is not None:
        terms = terms * _along_class_axis(w, x.ndim, axis)
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


def focal(input, target, *, alpha=0.25, gamma=2.0, reduction="mean"):
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
    return reduce(values, reduction)
