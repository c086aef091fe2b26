"""Float64 references for the distance-aware box losses: diou and ciou (Zheng et al., "Distance-IoU Loss:
Faster and Better Learning for Bounding Box Regression", AAAI 2020, https://arxiv.org/abs/1911.08287).

Boxes are (..., 4) in (x1, y1, x2, y2) corner format, as for iou and giou (references/segmentation.py, whose box
checks and intersection this module imports). The formulas and eps placements are torchvision's
``distance_box_iou_loss`` and ``complete_box_iou_loss``. NumPy only: this module never imports torch.
"""

from __future__ import annotations

import numpy as np

from ._reduce import check_reduction, reduce
from .segmentation import _boxes, _intersection_union

__all__ = ["diou", "ciou", "ciou_alpha"]


def _diou_terms(b1, b2, eps):
    """(1 - IoU + ρ²/c², IoU, v): torchvision's _diou_iou_loss, and CIoU's aspect-ratio term v."""
    intersection, union = _intersection_union(b1, b2)
    iou = intersection / (union + eps)
    x1, y1, x2, y2 = np.moveaxis(b1, -1, 0)
    x1g, y1g, x2g, y2g = np.moveaxis(b2, -1, 0)
    diagonal = (np.maximum(x2, x2g) - np.minimum(x1, x1g)) ** 2 + (np.maximum(y2, y2g) - np.minimum(y1, y1g)) ** 2
    centres = ((x1 + x2) / 2 - (x1g + x2g) / 2) ** 2 + ((y1 + y2) / 2 - (y1g + y2g) / 2) ** 2
    v = 4.0 / np.pi ** 2 * (np.arctan((x2g - x1g) / (y2g - y1g)) - np.arctan((x2 - x1) / (y2 - y1))) ** 2
    return 1.0 - iou + centres / (diagonal + eps), iou, v


def _ciou_weight(iou, v, eps):
    """CIoU's trade-off weight ``α = v / (1 - IoU + v + eps)`` (Zheng et al. 2020, eq. 11), from _diou_terms' IoU
    and v: what ciou_alpha returns and ciou adds as α v unless α is given."""
    return v / (1.0 - iou + v + eps)


def diou(input, target, *, eps=1e-7, reduction="mean"):
    """Distance-IoU loss (Zheng et al. 2020, eq. 6): ``loss = 1 - IoU + ρ²(b, b_gt) / c²``.

    ``IoU = I / (U + eps)`` as for iou; ``ρ`` is the distance between the two boxes' centres and ``c`` the
    diagonal of the smallest box enclosing both, ``c² = (x2_c - x1_c)² + (y2_c - y1_c)² + eps`` (the squared
    diagonal, not the enclosing area: the area is GIoU's term). Identical boxes give ≈ 0; disjoint boxes more
    than 1, with a gradient that pulls the centres together (where IoU's is 0). Degenerate (zero-area) boxes stay
    finite for eps > 0.

    Shapes: input and target (..., 4), typically (N, 4), boxes (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2
    (others raise ValueError); 'none' returns (...). torchvision's default reduction is 'none'; here 'mean'.

    Source: ``torchvision.ops.distance_box_iou_loss`` (torchvision/ops/diou_loss.py, from detectron2's
    losses.py); Zheng et al., https://arxiv.org/abs/1911.08287.
    """
    check_reduction(reduction)
    b1, b2 = _boxes("diou", input, target)
    with np.errstate(divide="ignore", invalid="ignore"):  # eps = 0 with degenerate boxes: nan, as torch
        values, _, _ = _diou_terms(b1, b2, float(eps))
    return reduce(values, reduction)


def ciou_alpha(input, target, *, eps=1e-7):
    """CIoU's trade-off weight ``α = v / (1 - IoU + v + eps)`` of each box pair (Zheng et al. 2020, eq. 11), with
    ``v = 4/π² (arctan(w_gt/h_gt) - arctan(w/h))²``: what ciou computes under no_grad."""
    b1, b2 = _boxes("ciou", input, target)
    with np.errstate(divide="ignore", invalid="ignore"):
        _, iou, v = _diou_terms(b1, b2, float(eps))
        return _ciou_weight(iou, v, float(eps))


CIOU_ALPHA_GATES = ("none", "iou")


def ciou(input, target, *, eps=1e-7, reduction="mean", alpha=None, alpha_gate="none"):
    """Complete-IoU loss (Zheng et al. 2020, eqs. 9-11): ``loss = 1 - IoU + ρ²/c² + α v``, the DIoU loss plus an
    aspect-ratio term.

    ``v = 4/π² (arctan(w_gt/h_gt) - arctan(w/h))²`` measures the difference of the aspect ratios (0 for boxes of
    the same aspect ratio, where ciou equals diou) and ``α = v / (1 - IoU + v + eps)`` weighs it
    (``ciou_alpha``). The paper treats α as a constant in the gradient (section 3.3; torchvision and detectron2
    compute it under ``torch.no_grad()``): ``alpha`` (an array broadcasting with the boxes' leading dims) holds
    it fixed, and the audit's gradient check differentiates the reference with α fixed at the drawn boxes, so
    that a loss whose α carries a gradient is told apart. ``alpha=None`` computes it from the boxes.
    ``alpha_gate="iou"`` sets α to 0 where IoU <= 0.5, as the authors' journal version and official code do
    (Zheng et al., IEEE TCYB 2021, github.com/Zzh-tju/CIoU; mmdetection's ``ciou_loss``): the aspect ratio counts
    only once the boxes overlap well. The gate applies to a given ``alpha`` too (its step has no gradient).

    A box of zero height has an infinite aspect ratio (arctan gives π/2); one of zero width and height gives nan,
    as in torchvision.

    Shapes: input and target (..., 4), typically (N, 4), boxes (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2
    (others raise ValueError); 'none' returns (...). torchvision's default reduction is 'none'; here 'mean'.

    Source: ``torchvision.ops.complete_box_iou_loss`` (torchvision/ops/ciou_loss.py, from detectron2's
    losses.py); Zheng et al., https://arxiv.org/abs/1911.08287.
    """
    check_reduction(reduction)
    if alpha_gate not in CIOU_ALPHA_GATES:
        raise ValueError(f"ciou: alpha_gate must be one of {CIOU_ALPHA_GATES}; got {alpha_gate!r}")
    b1, b2 = _boxes("ciou", input, target)
    eps = float(eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        distance_loss, iou, v = _diou_terms(b1, b2, eps)
        weight = _ciou_weight(iou, v, eps) if alpha is None else np.asarray(alpha, dtype=np.float64)
        if alpha_gate == "iou":
            weight = np.where(iou > 0.5, weight, 0.0)
        values = distance_loss + weight * v
    return reduce(values, reduction)
