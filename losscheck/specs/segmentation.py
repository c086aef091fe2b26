"""Specs for the segmentation losses: dice (soft Dice on probabilities, per sample and channel)."""
import numpy as np

from losscheck.references import segmentation as ref
from losscheck.specs.base import LossSpec, Param
from losscheck.specs.regression import REDUCTION
from losscheck.strategies import batch_size, binary, class_indices, probabilities, size, spatial
from losscheck.variants import on_input, sigmoid, with_params

DICE_VARIANTS = (
    with_params("batch dice", "computes one Dice over the whole batch (sums over samples before dividing) "
                "instead of one per sample", "reduce over spatial dims per sample (dims 2..), or declare batch dice",
                code="LC103", libraries="segmentation_models_pytorch, MONAI DiceLoss(batch=True)",
                per_sample=lambda p: False),
    with_params("no smoothing in the numerator", "adds the smoothing term to the denominator only",
                "add smooth to the numerator too, or declare the convention", code="LC103",
                libraries="MONAI (smooth_nr=0)", smooth_numerator=lambda p: False),
    with_params("squared denominator", "squares the terms of the denominator (Σp² + Σg², Milletari's V-Net form)",
                "declare the squared-denominator convention", code="LC103",
                libraries="MONAI DiceLoss(squared_pred=True), V-Net", squared_denominator=lambda p: True),
    on_input("sigmoid applied to probabilities", "applies sigmoid to inputs that are already probabilities "
             "(double activation)", "pass probabilities, or logits with the activation declared", sigmoid),
)


def draw_masks(draw, *, layout, fmt, scale, params):
    """(probabilities, target) of shape (N, C, *spatial); target one-hot over C or independent binary masks."""
    n = batch_size(draw, "single" if layout == "single" else "batch")
    dims = spatial(draw, "spatial3d" if layout == "spatial3d" else "spatial2d")
    c = size(draw, "C", 1, 3)
    shape = (n, c, *dims)
    p = probabilities(draw, shape, saturate=scale == "extreme")
    if fmt == "onehot":
        idx = class_indices(draw, (n, *dims), c)
        return p, np.moveaxis(np.eye(c)[idx], -1, 1)
    return p, binary(draw, shape)


def dice_edges():
    empty = np.zeros((2, 1, 2, 2))
    full = np.ones((2, 1, 2, 2))
    return [("empty mask and empty prediction", (empty, empty.copy())),
            ("perfect prediction", (full, full.copy())),
            ("empty mask, full prediction", (full, empty.copy()))]


SPECS = [
    LossSpec(
        id="dice", family="segmentation", summary="1 - (2Σpg + s)/(Σp + Σg + s) per sample and channel, then mean",
        signature=("input", "target"), reference=ref.dice,
        params=(Param("smooth", 1.0, ("eps", "smooth_nr", "epsilon"), (1.0, 1e-5, 0.1)), REDUCTION),
        draw_inputs=draw_masks, layouts=("spatial2d", "single", "spatial3d"), target_formats=("binary", "onehot"),
        edge_cases=dice_edges, variants=DICE_VARIANTS),
]
