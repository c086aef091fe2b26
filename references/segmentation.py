"""Float64 reference for the segmentation overlap loss: dice.

Inputs are (N, C, *spatial) with any number of spatial dimensions (none, for (N, C)).
NumPy/SciPy only: this module never imports torch.
"""

from __future__ import annotations

import numpy as np

from ._reduce import check_reduction, reduce

__all__ = ["dice"]


def dice(input, target, *, smooth=1.0, per_sample=True, smooth_numerator=True,
         smooth_denominator=True, squared_denominator=False, reduction="mean"):
    """Soft Dice loss (Milletari et al., "V-Net", 3DV 2016; Sørensen-Dice coefficient).

    Per sample and channel, with the sums over the spatial dimensions:
    ``loss = 1 - (2 Σ p g + s_n) / (Σ p + Σ g + s_d)``, where ``s_n = smooth`` if
    ``smooth_numerator`` else 0 and ``s_d = smooth`` if ``smooth_denominator`` else 0; with
    ``squared_denominator`` (the V-Net form) the denominator is ``Σ p² + Σ g² + s_d``.
    ``per_sample=False`` (the "batch" dice) also sums over the batch dimension, giving one value
    per channel. No activation is applied: input are probabilities.

    An empty target with an empty prediction and smooth > 0 in both places gives 0 (s/s), not
    nan. Without denominator smoothing an empty pair is 0/0, genuinely undefined: nan.

    Shapes: input (N, C, *spatial) probabilities, target the same shape (one-hot, binary or
    soft); 'none' returns (N, C) (per_sample) or (C,) (batch); 'mean'/'sum' reduce those.

    Source: no PyTorch built-in; the conventions (per-sample vs batch, smoothing in numerator
    and/or denominator, squared denominator) follow MONAI ``monai.losses.DiceLoss``
    (https://docs.monai.io/en/stable/losses.html#diceloss), segmentation_models_pytorch and
    kornia.
    """
    check_reduction(reduction)
    p = np.asarray(input, dtype=np.float64)
    g = np.asarray(target, dtype=np.float64)
    if p.ndim < 2:
        raise ValueError(f"dice: input must be (N, C, *spatial); got shape {p.shape}")
    if p.shape != g.shape:
        raise ValueError(f"dice: target shape {g.shape} must equal input shape {p.shape}")
    axes = tuple(range(2, p.ndim)) if per_sample else (0, *range(2, p.ndim))
    intersection = np.sum(p * g, axis=axes)
    if squared_denominator:
        denominator = np.sum(p * p, axis=axes) + np.sum(g * g, axis=axes)
    else:
        denominator = np.sum(p, axis=axes) + np.sum(g, axis=axes)
    s_n = float(smooth) if smooth_numerator else 0.0
    s_d = float(smooth) if smooth_denominator else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        values = 1.0 - (2.0 * intersection + s_n) / (denominator + s_d)
    return reduce(values, reduction)
