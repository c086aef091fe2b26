"""Specs for the segmentation losses: dice (soft Dice on probabilities, per sample and channel)."""
import numpy as np

from losscheck.references import segmentation as ref
from losscheck.specs.base import LossSpec, Param
from losscheck.specs.regression import REDUCTION
from losscheck.strategies import batch_size, binary, class_indices, probabilities, size, spatial


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
        edge_cases=dice_edges),
]
