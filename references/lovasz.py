"""Float64 references for the Lovasz losses: lovasz_hinge (binary) and lovasz_softmax (multiclass), the convex
surrogates of the Jaccard loss by its Lovasz extension (Berman, Rannen Triki and Blaschko, "The Lovász-Softmax
loss: A tractable surrogate for the optimization of the intersection-over-union measure in neural networks",
CVPR 2018).

The Jaccard loss of a set M of mispredicted pixels, for the foreground G of one class, is the submodular set
function ``Δ(M) = |M| / |G ∪ M|``. Its Lovasz extension at a vector of errors m >= 0 is, with the pixels
sorted by decreasing error (π), ``Δ̄(m) = Σ_i m_π(i) (Δ({π_1..π_i}) - Δ({π_1..π_{i-1}}))`` (Lovász 1983;
Berman et al., eq. 8 and Alg. 1): piecewise linear, equal to Δ on 0/1 vectors, and independent of the order
of ties. NumPy only: this module never imports torch.
"""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

__all__ = ["lovasz_grad", "lovasz_extension", "flattened", "lovasz_hinge", "lovasz_softmax"]

_CLASSES = ("present", "all")
_ACTIVATIONS = ("none", "softmax")
_HINGES = ("relu", "elu+1")


def lovasz_grad(gt_sorted):
    """The gradient of the Lovasz extension of Δ with respect to the sorted errors (Berman et al., Alg. 1):
    ``Δ({π_1..π_i}) - Δ({π_1..π_{i-1}})`` for i = 1..P, where the i first pixels of the sorted foreground
    indicator ``gt_sorted`` are the mispredicted set: ``Δ = 1 - (|G| - Σ_{j<=i} g_j) / (|G| + Σ_{j<=i} (1 - g_j))``.
    """
    g = np.asarray(gt_sorted, dtype=np.float64)
    total = np.sum(g)
    intersection = total - np.cumsum(g)
    union = total + np.cumsum(1.0 - g)
    jaccard = 1.0 - intersection / union
    return np.diff(jaccard, prepend=0.0)


def lovasz_extension(errors, gt, labels_sorted=True):
    """Δ̄(errors) for the foreground indicator `gt` (1-D arrays of one length): the errors sorted decreasing, dotted
    with `lovasz_grad` of the foreground permuted alike (with ``labels_sorted=False``, the known defect, of the
    foreground in its own order). 0 for no pixels."""
    errors = np.asarray(errors, dtype=np.float64)
    if errors.size == 0:
        return 0.0
    order = np.argsort(-errors, kind="stable")
    gt = np.asarray(gt, dtype=np.float64)
    return float(np.dot(errors[order], lovasz_grad(gt[order] if labels_sorted else gt)))


def flattened(scores, labels, *, per_image, ignore, class_axis=None):
    """The (scores, labels) pairs the loss is averaged over: one per image (`per_image`), else one for the whole
    batch, each flattened to pixels (scores (P,) or, with `class_axis`, (P, C)) with the pixels labelled
    `ignore` removed."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if class_axis is not None:
        scores = np.moveaxis(scores, class_axis, -1)
    groups = [(s[None], lab[None]) for s, lab in zip(scores, labels)] if per_image else [(scores, labels)]
    for s, lab in groups:
        s = s.reshape(-1, s.shape[-1]) if class_axis is not None else s.reshape(-1)
        lab = lab.reshape(-1)
        keep = np.ones(lab.shape, dtype=bool) if ignore is None else lab != ignore
        yield s[keep], lab[keep]


def lovasz_hinge(logits, labels, *, per_image=True, ignore=None, hinge="relu", labels_sorted=True):
    """Binary Lovasz hinge loss (Berman et al. 2018, sec. 3.1): ``Δ̄(relu(1 - s·y))`` with the signs
    ``y = 2·labels - 1`` and the logits ``s``, the hinge errors of every pixel through the Lovasz extension of
    the foreground's Jaccard loss.

    ``per_image=True`` (the official code's default) computes it per image and averages over the images;
    ``per_image=False`` flattens the whole batch into one set of pixels (segmentation_models_pytorch's
    ``LovaszLoss`` default). Pixels whose label equals ``ignore`` are left out; an image with none left
    scores 0 and still counts in the mean (the official code). An image without foreground scores
    ``relu(max error)`` (Δ of any non-empty set is 1 there).

    Two switches compute known defects, so that diagnosis finds them under every convention:
    ``hinge="elu+1"`` takes ``elu(e) + 1`` for the errors instead of ``relu(e)`` (never 0, so a perfect
    prediction still costs), and ``labels_sorted=False`` takes ``lovasz_grad`` of the labels in their own order
    instead of the order of the sorted errors.

    Shapes: logits (N, *spatial) (or (N, 1, *spatial): only the pixels count), labels the same shape, 0/1
    (or ``ignore``). Returns a scalar (no reduction argument).

    Source: the official code, bermanmaxim/LovaszSoftmax ``pytorch/lovasz_losses.py`` (MIT), ``lovasz_hinge``.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    if hinge not in _HINGES:
        raise ValueError(f"lovasz_hinge: hinge must be one of {_HINGES}; got {hinge!r}")
    if logits.shape != labels.shape or logits.ndim < 1:
        raise ValueError(f"lovasz_hinge: logits {logits.shape} and labels {labels.shape} must be one shape (N, ...)")
    losses = []
    for s, lab in flattened(logits, labels, per_image=per_image, ignore=ignore):
        g = (lab == 1).astype(np.float64)
        if np.any((lab != 0) & (lab != 1)):
            raise ValueError("lovasz_hinge: labels must be 0 or 1 (or ignore)")
        errors = 1.0 - s * (2.0 * g - 1.0)
        errors = np.maximum(errors, 0.0) if hinge == "relu" else np.where(errors > 0, errors, np.expm1(errors)) + 1.0
        losses.append(lovasz_extension(errors, g, labels_sorted))
    return np.float64(np.mean(losses))


def lovasz_softmax(probas, labels, *, classes="present", per_image=False, ignore=None, activation="none",
                   labels_sorted=True):
    """Multiclass Lovasz-Softmax loss (Berman et al. 2018, sec. 3.2): for each class c, the errors
    ``|1[y = c] - p_c|`` of every pixel through the Lovasz extension of class c's Jaccard loss, then the mean over
    the classes.

    ``classes="present"`` (the default) averages over the classes present in the labels (of the image, or the
    batch) only; ``"all"`` over every class (an absent class scores its largest probability). ``per_image=False``
    (the official default) flattens the batch into one set of pixels; ``True`` averages per-image losses.
    Pixels labelled ``ignore`` are left out; an image with none left scores 0 and counts in the mean.
    ``activation="softmax"`` takes logits and applies softmax over the classes first
    (segmentation_models_pytorch's ``LovaszLoss("multiclass")``). ``labels_sorted=False`` is the known defect
    of ``lovasz_hinge``'s switch of that name.

    Shapes: probas (N, C, *spatial) probabilities, labels (N, *spatial) class indices in [0, C) (or ``ignore``).
    Returns a scalar.

    Source: bermanmaxim/LovaszSoftmax ``pytorch/lovasz_losses.py`` (MIT), ``lovasz_softmax``.
    """
    if classes not in _CLASSES:
        raise ValueError(f"lovasz_softmax: classes must be one of {_CLASSES}; got {classes!r}")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"lovasz_softmax: activation must be one of {_ACTIVATIONS}; got {activation!r}")
    probas = np.asarray(probas, dtype=np.float64)
    labels = np.asarray(labels)
    if probas.ndim < 2 or labels.shape != probas.shape[:1] + probas.shape[2:]:
        raise ValueError(f"lovasz_softmax: probas (N, C, *spatial) {probas.shape} and labels (N, *spatial) "
                         f"{labels.shape} do not match")
    if activation == "softmax":
        probas = softmax(probas, axis=1)
    losses = []
    for p, lab in flattened(probas, labels, per_image=per_image, ignore=ignore, class_axis=1):
        per_class = [lovasz_extension(np.abs((lab == c) - p[:, c]), lab == c, labels_sorted)
                     for c in range(probas.shape[1]) if lab.size and (classes == "all" or np.any(lab == c))]
        losses.append(np.mean(per_class) if per_class else 0.0)
    return np.float64(np.mean(losses))
