"""Specs for the distance-aware box losses diou and ciou (Zheng et al. 2020), on (x1, y1, x2, y2) boxes beside iou
and giou (losscheck/specs/segmentation.py, whose draws and edge cases they share).

CIoU's trade-off weight α is a constant in the definition's gradient (computed under no_grad): the spec's
`stop_gradient` holds it at the drawn boxes while the gradient check differentiates the reference, and a loss
whose α carries a gradient is named by the gradient check ("alpha not detached").
"""
import numpy as np

from losscheck.diagnosis.conventions import Convention, Option
from losscheck.diagnosis.variants import Variant, call
from losscheck.references import boxes as ref
from losscheck.references._reduce import reduce
from losscheck.specs import segmentation
from losscheck.specs.base import LossSpec, Naming
from losscheck.specs.regression import REDUCTION


def draw_box_pairs(draw, *, layout, target_format, scale, params):
    """The boxes of iou and giou (segmentation.draw_boxes): (N, 4), (1, 4) or (4,), every side longer than 0."""
    return segmentation.draw_boxes(draw, layout=layout, target_format=target_format, scale=scale, params=params)


def distance_box_edges():
    """iou's and giou's edge cases, and boxes of one aspect ratio (CIoU's v = 0, so ciou equals diou)."""
    b = np.array([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 4.0]])
    return [*segmentation.box_edges(), ("same aspect ratio, shifted and scaled", (b, b * 3.0 + 1.0))]


def _enclosing_area(r, case):
    """DIoU (or CIoU) with the enclosing box's area A_c in place of its squared diagonal c²."""
    b1, b2 = (np.asarray(a, dtype=np.float64) for a in case.inputs)
    eps = case.params["eps"]
    x1, y1, x2, y2 = np.moveaxis(b1, -1, 0)
    x1g, y1g, x2g, y2g = np.moveaxis(b2, -1, 0)
    width = np.maximum(x2, x2g) - np.minimum(x1, x1g)
    height = np.maximum(y2, y2g) - np.minimum(y1, y1g)
    centres = ((x1 + x2 - x1g - x2g) / 2) ** 2 + ((y1 + y2 - y1g - y2g) / 2) ** 2
    values = call(r, case, reduction="none") - centres / (width ** 2 + height ** 2 + eps) + centres / (
        width * height + eps)
    return np.asarray(reduce(values, case.params["reduction"]))


ENCLOSING_AREA = Variant(
    "enclosing area instead of its diagonal²", "divides the squared centre distance ρ² by the enclosing box's area "
    "(GIoU's term) instead of the square of its diagonal c²", "c2 = (xc2 - xc1) ** 2 + (yc2 - yc1) ** 2 + eps",
    _enclosing_area)

ALPHA_WITH_GRADIENT = Variant(
    "alpha not detached", "lets the gradient flow through CIoU's trade-off weight α = v / (1 - IoU + v), which Zheng "
    "et al. (and torchvision, detectron2) hold constant: the aspect-ratio term then pushes the boxes the wrong way "
    "where the IoU is low", "compute alpha under torch.no_grad() (or alpha = alpha.detach())",
    lambda r, case: call(r, case), code="LC303", gradient=True)


def _alpha_at(case):
    """CIoU's α at the case's boxes, held constant while the gradient check differentiates the reference."""
    return {"alpha": ref.ciou_alpha(*case.inputs, eps=case.params["eps"])}


CIOU_CONVENTIONS = (
    Convention("alpha_gate", "none", {
        "none": Option("weighs the aspect-ratio term by α = v / (1 - IoU + v) everywhere",
                       "torchvision, detectron2, ultralytics; Zheng et al. 2020"),
        "iou": Option("sets α to 0 where IoU <= 0.5, so the aspect ratio counts only once the boxes overlap well",
                      "the CIoU authors' journal version and official code (Zheng et al., TCYB 2021); mmdetection",
                      {"alpha_gate": "iou"})}),
)


def distance_box_spec(id, summary, reference, *, naming, variants, stop_gradient=None, conventions=()):
    """A distance-aware box loss on (x1, y1, x2, y2) boxes, with iou's parameters and draws."""
    return LossSpec(
        id=id, family="boxes", summary=summary, naming=naming, signature=("input", "target"), reference=reference,
        params=(segmentation.BOX_EPS, REDUCTION), draw_inputs=draw_box_pairs, layouts=("batch", "single", "no_batch"),
        edge_cases=distance_box_edges, variants=variants, stop_gradient=stop_gradient, conventions=conventions)


SPECS = [
    distance_box_spec("diou", "1 - IoU + ρ²/c² on (x1, y1, x2, y2) boxes: centre distance over the enclosing "
                      "diagonal (Zheng et al. 2020, torchvision)", ref.diou, naming=Naming(("diou", "distanceiou")),
                      variants=(ENCLOSING_AREA,)),
    distance_box_spec("ciou", "1 - IoU + ρ²/c² + α·v: DIoU plus the aspect-ratio term, α constant in the "
                      "gradient (Zheng et al. 2020, torchvision)", ref.ciou, naming=Naming(("ciou", "completeiou")),
                      variants=(ENCLOSING_AREA, ALPHA_WITH_GRADIENT), stop_gradient=_alpha_at,
                      conventions=CIOU_CONVENTIONS),
]
