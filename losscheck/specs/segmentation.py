"""Specs for the segmentation losses: dice (soft Dice on probabilities, per sample and channel)."""
import numpy as np

from losscheck.references import segmentation as ref
from losscheck.specs.base import LossSpec, Param
from losscheck.specs.regression import REDUCTION
from losscheck.strategies import batch_size, binary, class_indices, probabilities, size, spatial
from losscheck.conventions import Convention, Option
from losscheck.variants import call, replace_input, sigmoid, softmax_classes


def _activated(activation):
    return lambda r, case: call(r, replace_input(case, 0, activation(case.inputs[0])))


DICE_CONVENTIONS = (
    Convention("per_sample", "sample", {
        "sample": Option("computes one Dice per sample and channel, then averages", "MONAI DiceLoss (default)",
                         {"per_sample": True}),
        "batch": Option("computes one Dice over the whole batch (sums over samples before dividing)",
                        "segmentation_models_pytorch, MONAI DiceLoss(batch=True)", {"per_sample": False})}),
    Convention("smoothing", "both", {
        "both": Option("adds the smoothing term to numerator and denominator", "most tutorials, kornia"),
        "denominator": Option("adds the smoothing term to the denominator only", "MONAI with smooth_nr=0",
                              {"smooth_numerator": False}),
        "none": Option("uses no smoothing term at all", "plain soft Dice",
                       {"smooth_numerator": False, "smooth_denominator": False})}),
    Convention("squared_denominator", "no", {
        "no": Option("sums p and g in the denominator", "most implementations"),
        "yes": Option("squares the terms of the denominator (the V-Net form)",
                      "MONAI DiceLoss(squared_pred=True), V-Net", {"squared_denominator": True})}),
    Convention("activation", "none", {
        "none": Option("takes probabilities", "losscheck default"),
        "sigmoid": Option("applies sigmoid to its input (takes logits)", "MONAI DiceLoss(sigmoid=True), smp",
                          compute=_activated(sigmoid)),
        "softmax": Option("applies softmax over channels to its input (takes logits)",
                          "MONAI DiceLoss(softmax=True), smp multiclass", compute=_activated(softmax_classes))}),
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
        edge_cases=dice_edges, conventions=DICE_CONVENTIONS),
]
