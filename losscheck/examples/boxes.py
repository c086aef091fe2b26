"""The box corpus: buggy and correct DIoU and CIoU losses, each registered with `@example`
(losscheck/examples/registry.py) with the catalogue id it claims, what its audit must say and the test table that
audits it. A defective loss's docstring says its defect; a correct one's says it is correct. The correct ones are
written as torchvision's distance_box_iou_loss and complete_box_iou_loss compute (eps = 1e-7, α under no_grad).

Ids: diou, ciou.
"""
from __future__ import annotations

import math

import torch

from losscheck.examples.common import reduce_loose
from losscheck.examples.registry import example


def _distance_terms(input, target, eps, enclosing_area=False):
    """(1 - IoU + ρ²/c², IoU) of (x1, y1, x2, y2) boxes; with `enclosing_area`, ρ² over the enclosing area."""
    x1, y1, x2, y2 = input.unbind(-1)
    x1g, y1g, x2g, y2g = target.unbind(-1)
    w = torch.minimum(x2, x2g) - torch.maximum(x1, x1g)
    h = torch.minimum(y2, y2g) - torch.maximum(y1, y1g)
    intersection = torch.where((w > 0) & (h > 0), w * h, 0.0)
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intersection
    iou = intersection / (union + eps)
    cw = torch.maximum(x2, x2g) - torch.minimum(x1, x1g)
    ch = torch.maximum(y2, y2g) - torch.minimum(y1, y1g)
    c2 = cw * ch + eps if enclosing_area else cw ** 2 + ch ** 2 + eps
    rho2 = ((x1 + x2 - x1g - x2g) / 2) ** 2 + ((y1 + y2 - y1g - y2g) / 2) ** 2
    return 1 - iou + rho2 / c2, iou


def _ciou(input, target, eps, reduction, detach=True, enclosing_area=False, gated=False):
    loss, iou = _distance_terms(input, target, eps, enclosing_area)
    x1, y1, x2, y2 = input.unbind(-1)
    x1g, y1g, x2g, y2g = target.unbind(-1)
    v = 4 / math.pi ** 2 * (torch.atan((x2g - x1g) / (y2g - y1g)) - torch.atan((x2 - x1) / (y2 - y1))) ** 2
    if detach:
        with torch.no_grad():
            alpha = v / (1 - iou + v + eps)
    else:
        alpha = v / (1 - iou + v + eps)
    if gated:
        alpha = alpha * (iou > 0.5).to(alpha.dtype)
    return reduce_loose(loss + alpha * v, reduction)


# -- a defect and a correct twin each (tests/test_catalogue.py) ------------------------------------------------------
@example("diou", suite="catalogue")
def correct_diou(input, target, eps=1e-7, reduction="mean"):
    """Correct twin (diou): torchvision's distance_box_iou_loss, 1 - IoU + ρ²/c²."""
    return reduce_loose(_distance_terms(input, target, eps)[0], reduction)


@example("diou", expect="LC102", variant="enclosing area instead of its diagonal²", twin="correct_diou",
         suite="catalogue")
def diou_over_enclosing_area(input, target, eps=1e-7, reduction="mean"):
    """Defect: the centre distance divided by the enclosing box's area (GIoU's) instead of its squared diagonal."""
    return reduce_loose(_distance_terms(input, target, eps, enclosing_area=True)[0], reduction)


@example("ciou", suite="catalogue")
def correct_ciou(input, target, eps=1e-7, reduction="mean"):
    """Correct twin (ciou): torchvision's complete_box_iou_loss, DIoU + α·v with α computed under no_grad."""
    return _ciou(input, target, eps, reduction)


@example("ciou", expect={"LC303": "alpha not detached"}, gallery=43, suite="wild")
@example("ciou", expect="LC303", variant="alpha not detached", twin="correct_ciou", suite="catalogue")
def ciou_alpha_with_gradient(input, target, eps=1e-7, reduction="mean"):
    """Defect: CIoU's α = v / (1 - IoU + v) left in the graph, so its gradient flows (the value is right)."""
    return _ciou(input, target, eps, reduction, detach=False)


# -- one candidate per known variant, and a correct twin per id (tests/test_variants.py) -----------------------------
@example("diou", expect="LC102", variant="enclosing area instead of its diagonal²", suite="variants")
def diou_area_normalised(input, target):
    """Defect: ρ² / (enclosing area) where DIoU divides by the enclosing diagonal squared."""
    return _distance_terms(input, target, 1e-7, enclosing_area=True)[0].mean()


@example("diou", suite="variants")
def plain_diou(input, target):
    """Correct twin (diou), mean over the boxes."""
    return _distance_terms(input, target, 1e-7)[0].mean()


@example("ciou", expect="LC102", variant="enclosing area instead of its diagonal²", suite="variants")
def ciou_area_normalised(input, target):
    """Defect: CIoU whose distance term divides by the enclosing area instead of the diagonal squared."""
    return _ciou(input, target, 1e-7, "mean", enclosing_area=True)


@example("ciou", expect="LC103", variant="alpha_gate=iou", suite="variants")
def ciou_gated_by_iou(input, target):
    """The CIoU authors' official code and mmdetection's ciou_loss: α = 0 where IoU <= 0.5, held constant."""
    return _ciou(input, target, 1e-7, "mean", gated=True)


@example("ciou", expect="LC303", variant="alpha not detached", suite="variants")
def ciou_alpha_in_graph(input, target):
    """Defect: α computed with the gradient on (no torch.no_grad()), mean over the boxes."""
    return _ciou(input, target, 1e-7, "mean", detach=False)


@example("ciou", suite="variants")
def plain_ciou(input, target):
    """Correct twin (ciou), mean over the boxes, α detached."""
    return _ciou(input, target, 1e-7, "mean")
