"""Float64 references for the overlap losses: dice, tversky, jaccard and generalized_dice on masks, and
iou and giou on boxes.

Masks are (N, C, *spatial) with any number of spatial dimensions (none, for (N, C)); boxes are
(..., 4) in (x1, y1, x2, y2) corner format. The catalogue's conventions for masks are keyword
options of dice, tversky and jaccard (``per_sample``, smoothing placement, ``squared_denominator``,
``empty_channel``, ``average``, ``activation``; generalized_dice has ``batch`` and ``activation``),
applied in one order whatever their combination: the activation on the input, then the channels
pooled (``average="micro"``), the sums and ratios, the empty channels, the mean over the present
ones (``average="present"``), the reduction. NumPy/SciPy only: this module never imports torch.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax

from ._reduce import check_reduction, reduce

__all__ = ["dice", "tversky", "jaccard", "generalized_dice", "iou", "giou"]

_W_TYPES = ("square", "simple", "uniform")
_ACTIVATIONS = ("none", "sigmoid", "softmax")
_AVERAGES = ("macro", "micro", "present")


def dice(input, target, *, smooth=1.0, per_sample=True, smooth_numerator=True,
         smooth_denominator=True, squared_denominator=False, clamp_denominator=False,
         empty_channel="formula", reduction="mean", average="macro", activation="none",
         tversky_form=False):
    """Soft Dice loss (Milletari et al., "V-Net", 3DV 2016; Sørensen-Dice coefficient).

    Per sample and channel, with the sums over the spatial dimensions:
    ``loss = 1 - (2 Σ p g + s_n) / (Σ p + Σ g + s_d)``, where ``s_n = smooth`` if
    ``smooth_numerator`` else 0 and ``s_d = smooth`` if ``smooth_denominator`` else 0; with
    ``squared_denominator`` (the V-Net form) the denominator is ``Σ p² + Σ g² + s_d``.
    ``per_sample=False`` (the "batch" dice) also sums over the batch dimension, giving one value
    per channel. ``clamp_denominator`` (with no smoothing: segmentation_models_pytorch's
    ``smooth=0, eps``) divides by ``max(denominator + s_d, smooth)`` instead. ``empty_channel``
    is what a channel whose target is empty over the summed axes contributes: "formula" (the
    ratio above), "zero" (a loss of 0, still counted in the mean over channels: smp) or "one" (a
    loss of 1, counted).

    Two more smoothing forms. ``smooth_numerator="empty"`` adds ``s`` to the numerator only where
    the union is empty (Σ p + Σ g = 0): ``(2 Σ p g + s·[union = 0]) / (Σ p + Σ g + s)``, the
    denominator-only smoothing with the empty case handled apart, so two empty masks score a Dice
    of 1 (a loss of 0) where plain denominator smoothing scores 0 (a loss of 1); at s = 0 that
    pair is 0/0 (nan). ``tversky_form`` is Dice written as a Tversky index with α = β = 0.5,
    ``(Σ p g + s) / (Σ p g + FP/2 + FN/2 + s)``: Dice with smoothing 2s (both places), so the
    same empty-set rule as the default form (loss 0 for s > 0, nan at s = 0).

    ``activation`` is applied to the input first: "none" (input are probabilities, the default),
    "sigmoid", or "softmax" over the channels (dim 1), for a loss that takes logits (MONAI
    ``DiceLoss(sigmoid=True)`` / ``softmax=True``, smp's ``from_logits``, kornia's softmax).
    ``average`` combines the channels: "macro" (one ratio per channel, then the mean), "micro"
    (the channels pooled with the spatial sums into one ratio per sample, kornia
    ``DiceLoss(average="micro")``, its default: 'none' returns (N, 1), or (1,) with
    ``per_sample=False``), or "present" (the mean of the per-channel ratios over the channels whose
    target is not empty over the summed axes, the others neither scored nor counted, kornia
    ``TverskyLoss`` >= 0.8: 'none' returns (N,), or () with ``per_sample=False``; a sample without
    a present channel scores 1). The order is fixed whatever the combination: activation, pooling,
    sums and ratio, empty channels, mean over the present channels, reduction.

    An empty target with an empty prediction and smooth > 0 in both places gives 0 (s/s), not
    nan. Without denominator smoothing an empty pair is 0/0, genuinely undefined: nan.

    Shapes: input (N, C, *spatial) probabilities (logits with an activation), target the same
    shape (one-hot, binary or soft); 'none' returns (N, C) (per_sample) or (C,) (batch);
    'mean'/'sum' reduce those.

    Source: no PyTorch built-in; the conventions (per-sample vs batch, smoothing in numerator
    and/or denominator, squared denominator, activation) follow MONAI ``monai.losses.DiceLoss``
    (https://docs.monai.io/en/stable/losses.html#diceloss), segmentation_models_pytorch and
    kornia (average: https://kornia.readthedocs.io/en/latest/losses.html#kornia.losses.DiceLoss).
    """
    check_reduction(reduction)
    p, g = _masks("dice", input, target, activation, average)
    axes = _summed_axes(p, per_sample)
    intersection, denominator = _overlap(p, g, axes, squared_denominator)
    smooth = 2.0 * float(smooth) if tversky_form else smooth
    values = _ratio_loss(2.0 * intersection, denominator, smooth, smooth_numerator, smooth_denominator,
                         clamp_denominator)
    return _per_channel(values, g, axes, empty_channel, average, reduction)


def _summed_axes(p, per_sample):
    """The axes a mask's sums run over: the spatial ones, and the batch's too unless `per_sample`."""
    return tuple(range(2, p.ndim)) if per_sample else (0, *range(2, p.ndim))


def _overlap(p, g, axes, squared):
    """(Σ p g, Σ p + Σ g) over `axes`; with `squared`, V-Net's (Σ p g, Σ p² + Σ g²)."""
    if squared:
        return np.sum(p * g, axis=axes), np.sum(p * p, axis=axes) + np.sum(g * g, axis=axes)
    return np.sum(p * g, axis=axes), np.sum(p, axis=axes) + np.sum(g, axis=axes)


def _per_channel(values, g, axes, empty_channel, average, reduction):
    """The per-channel losses with the empty channels scored by `empty_channel` (_empty), then averaged over the
    channels as `average` says and reduced (_averaged): the last steps of dice, tversky and jaccard."""
    target_sums = np.sum(g, axis=axes)
    return _averaged(_empty(values, target_sums, empty_channel), target_sums, average, reduction)


def _ratio_loss(numerator, denominator, smooth, smooth_numerator, smooth_denominator, clamp):
    """1 - (numerator + s_n) / (denominator + s_d), the denominator clamped at `smooth` with `clamp`;
    with smooth_numerator="empty", s_n is `smooth` only where the denominator (the union) is 0."""
    if smooth_numerator not in (True, False, "empty"):
        raise ValueError(f"smooth_numerator must be True, False or 'empty', not {smooth_numerator!r}")
    if isinstance(smooth_numerator, str):
        s_n = np.where(denominator == 0, float(smooth), 0.0)
    else:
        s_n = float(smooth) if smooth_numerator else 0.0
    s_d = float(smooth) if smooth_denominator else 0.0
    denominator = np.maximum(denominator + s_d, float(smooth)) if clamp else denominator + s_d
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 - (numerator + s_n) / denominator


def _empty(values, target_sums, policy):
    """The per-channel losses with the channels whose target sums to 0 scored by `policy`."""
    if policy not in _EMPTY_POLICIES:
        raise ValueError(f"empty_channel must be one of {_EMPTY_POLICIES}, got {policy!r}")
    if policy == "formula":
        return values
    return np.where(target_sums > 0, values, 0.0 if policy == "zero" else 1.0)


_EMPTY_POLICIES = ("formula", "zero", "one")


def _averaged(values, target_sums, average, reduction):
    """The per-channel losses reduced; with average="present", first 1 - the mean score over the channels
    whose target sums to more than 0 (one value per sample, or one for the batch)."""
    if average != "present":
        return reduce(values, reduction)
    present = target_sums > 0
    score = np.where(present, 1.0 - values, 0.0)
    return reduce(1.0 - np.sum(score, axis=-1) / np.maximum(np.sum(present, axis=-1), 1), reduction)


def _masks(name, input, target, activation="none", average="macro", times=1):
    """(probabilities, target) as float64 (N, C, *spatial): the activation applied (`times` times), the channels
    pooled into one for average="micro"."""
    p = np.asarray(input, dtype=np.float64)
    g = np.asarray(target, dtype=np.float64)
    if p.ndim < 2:
        raise ValueError(f"{name}: input must be (N, C, *spatial); got shape {p.shape}")
    if p.shape != g.shape:
        raise ValueError(f"{name}: target shape {g.shape} must equal input shape {p.shape}")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"{name}: activation must be one of {_ACTIVATIONS}; got activation={activation!r}")
    if average not in _AVERAGES:
        raise ValueError(f"{name}: average must be one of {_AVERAGES}; got average={average!r}")
    for _ in range(times):
        if activation == "sigmoid":
            p = expit(p)
        elif activation == "softmax":
            p = softmax(p, axis=1)
    if average == "micro":
        p, g = (np.reshape(a, (a.shape[0], 1, -1)) for a in (p, g))
    return p, g


def tversky(input, target, *, alpha=0.5, beta=0.5, smooth=1.0, smooth_numerator=True,
            smooth_denominator=True, per_sample=True, clamp_denominator=False,
            empty_channel="formula", reduction="mean", average="macro", activation="none"):
    """Tversky loss (Salehi, Erdogmus and Gholipour, "Tversky loss function for image
    segmentation using 3D fully convolutional deep networks", 2017).

    Per sample and channel, with the sums over the spatial dimensions:
    ``TP = Σ p g``, ``FP = Σ p (1 - g)``, ``FN = Σ (1 - p) g``,
    ``loss = 1 - (TP + s) / (TP + α FP + β FN + s)``; α weights false positives and β false
    negatives. With α = β = 0.5 the denominator is ``(Σp + Σg) / 2 + s``, so
    ``tversky(smooth=s) == dice(smooth=2s)`` (both smoothed in numerator and denominator; the
    same for s = 0). An empty target with an empty prediction gives 0 for s > 0 and nan (0/0)
    for s = 0. ``smooth_numerator`` and ``smooth_denominator`` (both True by default) say where
    ``s`` is added; ``per_sample``, ``clamp_denominator``, ``empty_channel``, ``average`` and
    ``activation`` are as for ``dice`` (no activation by default: input are probabilities).

    Shapes: input (N, C, *spatial) probabilities, target the same shape; 'none' returns (N, C)
    (per_sample) or (C,) (other shapes under ``average``, as for dice).

    Source: no PyTorch built-in; Salehi et al. 2017; MONAI ``monai.losses.TverskyLoss``
    (https://docs.monai.io/en/stable/losses.html#tverskyloss) with smooth_nr = smooth_dr = smooth;
    kornia ``TverskyLoss`` for average="present"
    (https://kornia.readthedocs.io/en/latest/losses.html#kornia.losses.TverskyLoss).
    """
    check_reduction(reduction)
    p, g = _masks("tversky", input, target, activation, average)
    axes = _summed_axes(p, per_sample)
    tp = np.sum(p * g, axis=axes)
    fp = np.sum(p * (1.0 - g), axis=axes)
    fn = np.sum((1.0 - p) * g, axis=axes)
    values = _ratio_loss(tp, tp + float(alpha) * fp + float(beta) * fn, smooth, smooth_numerator,
                         smooth_denominator, clamp_denominator)
    return _per_channel(values, g, axes, empty_channel, average, reduction)


def jaccard(input, target, *, smooth=1.0, per_sample=True, smooth_numerator=True, smooth_denominator=True,
            squared_denominator=False, clamp_denominator=False, doubled_form=False, empty_channel="formula",
            reduction="mean", average="macro", activation="none", sum_as_union=False, activation_twice=False):
    """Soft Jaccard (IoU) loss on masks (Rahman and Wang, "Optimizing Intersection-Over-Union in Deep Neural
    Networks for Image Segmentation", ISVC 2016; the Jaccard index).

    Per sample and channel, with the sums over the spatial dimensions: ``I = Σ p g``, the union
    ``U = Σ p + Σ g - I``, ``loss = 1 - (I + s_n) / (U + s_d)`` (``s_n``, ``s_d`` as for ``dice``:
    ``smooth`` where ``smooth_numerator`` / ``smooth_denominator``; ``smooth_numerator="empty"`` adds it
    to the numerator only where the union is 0). On hard masks (p in {0, 1}) it is 1 - |P ∩ G| / |P ∪ G|,
    and ``J = D / (2 - D)`` ties it to Dice. ``squared_denominator`` takes the union as
    ``Σ p² + Σ g² - I`` (MONAI ``DiceLoss(jaccard=True, squared_pred=True)``). ``doubled_form`` is the
    Jaccard written through a Dice formula, ``1 - (2I + s) / (2U + s)`` (MONAI ``DiceLoss(jaccard=True)``):
    the smoothing halved. ``clamp_denominator`` (segmentation_models_pytorch's ``smooth=0, eps``) divides
    by ``max(U + s_d, smooth)``. ``per_sample``, ``empty_channel``, ``average`` and ``activation`` are as
    for ``dice``, applied in the same order. ``sum_as_union`` takes ``Σ p + Σ g`` for the union (the
    intersection counted twice, a Dice denominator without Dice's factor 2): not a convention but the known
    defect, kept as a switch so that diagnosis computes it under every convention; so is ``activation_twice``
    (the activation in force applied twice: sigmoid(sigmoid(x))).

    An empty target with an empty prediction gives 0 for s > 0 in both places (s/s) and nan (0/0) without
    denominator smoothing.

    Shapes: input (N, C, *spatial) probabilities (logits with an activation), target the same shape;
    'none' returns (N, C) (per_sample) or (C,) (batch), other shapes under ``average`` as for dice.

    Source: no PyTorch built-in; segmentation_models_pytorch ``losses.JaccardLoss`` (soft_jaccard_score:
    (I + smooth) / (U + smooth).clamp_min(eps), over the batch, empty channels masked to 0) and MONAI
    ``DiceLoss(jaccard=True)`` (https://docs.monai.io/en/stable/losses.html#diceloss).
    """
    check_reduction(reduction)
    p, g = _masks("jaccard", input, target, activation, average, 2 if activation_twice else 1)
    axes = _summed_axes(p, per_sample)
    intersection, total = _overlap(p, g, axes, squared_denominator)
    factor = 2.0 if doubled_form else 1.0
    union = total if sum_as_union else total - intersection
    values = _ratio_loss(factor * intersection, factor * union, smooth, smooth_numerator,
                         smooth_denominator, clamp_denominator)
    return _per_channel(values, g, axes, empty_channel, average, reduction)


def generalized_dice(input, target, *, w_type="square", smooth_nr=1e-5, smooth_dr=1e-5, batch=False,
                     reduction="mean", activation="none"):
    """Generalised Dice loss (Sudre et al., "Generalised Dice overlap as a deep learning loss
    function for highly unbalanced segmentations", DLMIA 2017), with MONAI's conventions.

    Per sample (or over the whole batch with ``batch=True``), with sums over the spatial
    dimensions (and the batch, with ``batch``): ``G_c = Σ g_c``, class weights
    ``w_c = 1 / G_c²`` (``w_type="square"``, Sudre's), ``1 / G_c`` ("simple") or 1 ("uniform");
    a class absent from the target has an infinite weight, which is replaced by the largest
    finite weight of that sample (of the batch, with ``batch``), or by 0 if every weight is
    infinite. Then, with the sums over classes taken *before* the division,
    ``loss = 1 - (2 Σ_c w_c Σ p_c g_c + smooth_nr) / (Σ_c w_c Σ (p_c + g_c) + smooth_dr)``.
    ``activation`` ("none": input are probabilities; "sigmoid"; "softmax" over the channels) is
    applied to the input first, as for dice (MONAI ``GeneralizedDiceLoss(sigmoid=True)`` /
    ``softmax=True``).

    Shapes: input (N, C, *spatial) probabilities, target the same shape (one-hot or binary per
    channel); 'none' returns (N,), or () with ``batch`` (MONAI keeps broadcastable singleton
    dimensions instead: same values).

    Source: no PyTorch built-in; Sudre et al. 2017; MONAI ``monai.losses.GeneralizedDiceLoss``
    (https://docs.monai.io/en/stable/losses.html#generalizeddiceloss).
    """
    check_reduction(reduction)
    if w_type not in _W_TYPES:
        raise ValueError(f"generalized_dice: w_type must be one of {_W_TYPES}; got w_type={w_type!r}")
    p, g = _masks("generalized_dice", input, target, activation)
    axes = _summed_axes(p, per_sample=not batch)
    intersection = np.sum(p * g, axis=axes)  # (N, C), or (C,) with batch
    ground = np.sum(g, axis=axes)
    denominator = ground + np.sum(p, axis=axes)
    with np.errstate(divide="ignore"):
        if w_type == "square":
            w = 1.0 / (ground * ground)
        elif w_type == "simple":
            w = 1.0 / ground
        else:
            w = np.ones_like(ground)
    infinite = np.isinf(w)
    w = np.where(infinite, 0.0, w)
    largest = np.max(w, axis=-1, keepdims=True, initial=0.0)
    w = np.where(infinite, largest, w)
    numerator = 2.0 * np.sum(intersection * w, axis=-1) + float(smooth_nr)
    denom = np.sum(denominator * w, axis=-1) + float(smooth_dr)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = 1.0 - numerator / denom
    return reduce(values, reduction)


def _boxes(name, input, target):
    b1 = np.asarray(input, dtype=np.float64)
    b2 = np.asarray(target, dtype=np.float64)
    if b1.ndim < 1 or b1.shape[-1] != 4 or b2.shape != b1.shape:
        raise ValueError(
            f"{name}: input and target must be boxes of the same shape (..., 4); got {b1.shape} "
            f"and {b2.shape}"
        )
    for which, b in (("input", b1), ("target", b2)):
        if np.any(b[..., 2] < b[..., 0]) or np.any(b[..., 3] < b[..., 1]):
            raise ValueError(f"{name}: {which} boxes must have x1 <= x2 and y1 <= y2 (corner format)")
    return b1, b2


def _intersection_union(b1, b2):
    """torchvision's _loss_inter_union: the intersection is 0 unless both overlaps are > 0."""
    x1, y1, x2, y2 = np.moveaxis(b1, -1, 0)
    x1g, y1g, x2g, y2g = np.moveaxis(b2, -1, 0)
    w = np.minimum(x2, x2g) - np.maximum(x1, x1g)
    h = np.minimum(y2, y2g) - np.maximum(y1, y1g)
    intersection = np.where((w > 0.0) & (h > 0.0), w * h, 0.0)
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intersection
    return intersection, union


def iou(input, target, *, eps=1e-7, reduction="mean"):
    """IoU loss on axis-aligned boxes: ``loss = 1 - I / (U + eps)``.

    ``I`` is the intersection area (0 for disjoint or merely touching boxes) and ``U`` the union
    area, computed as torchvision's box losses do (the same eps placement as giou), so identical
    boxes give ``1 - U / (U + eps)`` (≈ 0) and degenerate (zero-area) boxes give 1, finite for
    eps > 0 (nan for eps = 0 when both are degenerate: 0/0).
    Disjoint boxes give exactly 1 with zero gradient: inherent, not a defect.

    Shapes: input and target (..., 4), typically (N, 4), boxes (x1, y1, x2, y2) with x1 <= x2 and
    y1 <= y2 (others raise ValueError); 'none' returns (...).

    Source: no PyTorch or torchvision loss (torchvision has ``box_iou`` and the IoU computation
    inside ``generalized_box_iou_loss``, followed here); Yu et al., "UnitBox", 2016.
    """
    check_reduction(reduction)
    b1, b2 = _boxes("iou", input, target)
    intersection, union = _intersection_union(b1, b2)
    with np.errstate(divide="ignore", invalid="ignore"):  # eps = 0 with degenerate boxes: nan, as torch
        values = 1.0 - intersection / (union + float(eps))
    return reduce(values, reduction)


def giou(input, target, *, eps=1e-7, reduction="mean"):
    """Generalised IoU loss (Rezatofighi et al., "Generalized Intersection over Union", CVPR
    2019), with torchvision's formula and eps placement.

    ``iou = I / (U + eps)``; ``A_c`` = area of the smallest box enclosing both;
    ``loss = 1 - iou + (A_c - U) / (A_c + eps)``. Identical boxes give ≈ 0, disjoint boxes
    1 + (A_c - U)/A_c (up to eps), and degenerate boxes stay finite for eps > 0 (a zero-area box
    equal to the other gives 1: U = A_c = 0; with eps = 0 that is 0/0, nan, as in torchvision).

    Shapes: input and target (..., 4), typically (N, 4), boxes (x1, y1, x2, y2) with x1 <= x2 and
    y1 <= y2 (others raise ValueError); 'none' returns (...). torchvision's default reduction is
    'none'; here it is 'mean'.

    Source: ``torchvision.ops.generalized_box_iou_loss``
    (https://pytorch.org/vision/stable/generated/torchvision.ops.generalized_box_iou_loss.html).
    """
    check_reduction(reduction)
    b1, b2 = _boxes("giou", input, target)
    eps = float(eps)
    intersection, union = _intersection_union(b1, b2)
    x1, y1, x2, y2 = np.moveaxis(b1, -1, 0)
    x1g, y1g, x2g, y2g = np.moveaxis(b2, -1, 0)
    enclosure = (np.maximum(x2, x2g) - np.minimum(x1, x1g)) * (np.maximum(y2, y2g) - np.minimum(y1, y1g))
    with np.errstate(divide="ignore", invalid="ignore"):  # eps = 0 with degenerate boxes: nan, as torch
        values = 1.0 - intersection / (union + eps) + (enclosure - union) / (enclosure + eps)
    return reduce(values, reduction)
