"""Float64 references for multi-label classification losses: asymmetric (ASL, Ridnik et al. 2021).

NumPy/SciPy only: this module never imports torch.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ._reduce import check_reduction, reduce

__all__ = ["asymmetric", "ASYMMETRIC_REDUCTIONS"]

ASYMMETRIC_REDUCTIONS = ("none", "mean", "sum", "batchmean")


def _probabilities(x, clip):
    """(p, xs_neg): σ(x) and the negatives' shifted 1 - p_m = min(1 - p + clip, 1) (1 - p without a clip)."""
    p = expit(x)
    xs_neg = 1.0 - p
    if clip is not None and clip > 0:
        xs_neg = np.minimum(xs_neg + clip, 1.0)
    return p, xs_neg


def asymmetric(input, target, *, gamma_neg=4.0, gamma_pos=1.0, clip=0.05, eps=1e-8, reduction="mean",
               summed=False, detach_focusing=False, held_input=None):
    """Asymmetric loss (ASL) for multi-label classification, per element (sample, class):

    with ``p = σ(x)`` and the shifted probability of a negative ``p_m = max(p - clip, 0)``,
    - a positive (``y = 1``): ``-(1 - p)^γ+ · log(max(p, eps))``;
    - a negative (``y = 0``): ``-p_m^γ- · log(max(1 - p_m, eps))``.
    Written as the official code writes it, for any y in [0, 1]: ``xs_neg = min(1 - p + clip, 1)`` (no shift
    when clip is 0 or None), ``L = y·log(max(p, eps)) + (1 - y)·log(max(xs_neg, eps))``,
    ``pt = p·y + xs_neg·(1 - y)``, ``γ = γ+·y + γ-·(1 - y)`` and the loss is ``-L · (1 - pt)^γ`` (0^0 = 1).
    The clip shifts the negatives only: easy negatives (p ≤ clip) are discarded entirely.

    Reductions: 'mean' over every element, 'sum', 'none' (input's shape), and 'batchmean' (the sum divided by
    the batch size N, timm's default). ``summed=True`` is the official repository's choice (its AsymmetricLoss has
    no reduction argument): ``-loss.sum()``, the sum over the batch and the classes.

    ``detach_focusing=True`` (``disable_torch_grad_focal_loss`` in the official code and timm) computes the
    focusing weight ``(1 - pt)^γ`` under no_grad: the same value, but the gradient of the log-likelihood terms
    alone times a constant weight. A value function has no no_grad, so the weight is then computed from
    ``held_input``, the logits the weight is taken at (the audit's gradient check passes the unperturbed input;
    without it, the input itself).

    Shapes: input logits and target (N, C), or (C,) for one sample.

    Source: Ridnik et al., "Asymmetric Loss For Multi-Label Classification", ICCV 2021, eqs. 1-5 (γ- = 4, γ+ = 1
    or 0, clip m = 0.05); Alibaba-MIIL/ASL src/loss_functions/losses.py ``AsymmetricLoss``; timm
    ``AsymmetricLossMultiLabel``.
    """
    check_reduction(reduction, ASYMMETRIC_REDUCTIONS)
    x, y = np.asarray(input, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if x.shape != y.shape or x.ndim not in (1, 2):
        raise ValueError(f"asymmetric: input and target must both be (N, C) or (C,); got {x.shape}, {y.shape}")
    if np.any((y < 0) | (y > 1)):
        raise ValueError("asymmetric: target must hold values in [0, 1]")
    p, xs_neg = _probabilities(x, clip)
    log_likelihood = y * np.log(np.maximum(p, eps)) + (1 - y) * np.log(np.maximum(xs_neg, eps))
    if detach_focusing and held_input is not None:
        p, xs_neg = _probabilities(np.asarray(held_input, dtype=np.float64), clip)
    pt = p * y + xs_neg * (1 - y)
    weight = np.power(1.0 - pt, gamma_pos * y + gamma_neg * (1 - y))
    values = -log_likelihood * weight
    if summed:
        return np.float64(np.sum(values))
    if reduction == "batchmean":
        return np.float64(np.sum(values) / (x.shape[0] if x.ndim == 2 else 1))
    return reduce(values, reduction)
