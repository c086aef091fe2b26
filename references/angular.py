"""Float64 references for the angular-margin softmax losses of face recognition and metric learning: arcface
(additive angular margin) and cosface (large-margin cosine).

Both take the cosines between each sample's normalised embedding and every class's normalised weight vector,
``cosine`` (N, C) in [-1, 1] (what insightface's ``ArcFace``/``CosFace`` heads receive as ``logits``, the output of
``F.linear(F.normalize(x), F.normalize(W))``), and class indices ``labels`` (N,); they change the target class's
cosine, scale every cosine by ``s`` and take the softmax cross-entropy (scipy.special.log_softmax).

NumPy/SciPy only: this module never imports torch.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax

from ._reduce import check_reduction, reduce

__all__ = ["arcface", "cosface", "angular_margin", "ARCFACE_FALLBACKS"]

# What the target logit becomes where θ + m leaves [0, π] (see angular_margin).
ARCFACE_FALLBACKS = ("linear", "easy", "none")


def _inputs(name, cosine, labels):
    c = np.asarray(cosine, dtype=np.float64)
    y = np.asarray(labels)
    if c.ndim != 2 or c.shape[1] < 1:
        raise ValueError(f"{name}: cosine must be (N, C); got shape {c.shape}")
    if y.shape != c.shape[:1] or (y.size and (y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= c.shape[1])):
        raise ValueError(f"{name}: labels must be class indices of shape ({c.shape[0]},) in [0, {c.shape[1]})")
    return c, y.astype(np.int64)


def _margin_cross_entropy(cosine, labels, target, scale, reduction):
    """Cross-entropy of ``scale · cosine`` with each sample's target cosine replaced by ``target`` (N,)."""
    logits = np.array(cosine, dtype=np.float64)
    rows = np.arange(logits.shape[0])
    logits[rows, labels] = target
    values = -log_softmax(scale * logits, axis=1)[rows, labels]
    return reduce(values, reduction)


def arcface(cosine, labels, *, scale=64.0, margin=0.5, fallback="linear", reduction="mean"):
    """ArcFace (additive angular margin) loss: softmax cross-entropy of the logits ``s · cos(θ_y + m)`` for the
    target class and ``s · cos θ_j`` for the others, ``θ = arccos(cosine)``.

    ``cos(θ + m) = cos θ · cos m - sin θ · sin m`` with ``sin θ = sqrt(1 - cos² θ)``. Past ``θ = π - m`` (where
    ``cos θ ≤ cos(π - m)``) ``cos(θ + m)`` turns back up, so the loss would reward pushing the sample further from
    its class; the reference implementation keeps the target logit monotone there:
    - ``fallback="linear"`` (default): ``cos θ - m · sin m`` where ``cos θ ≤ cos(π - m)`` (insightface's
      ``th``/``mm``: ``th = cos(π - m)``, ``mm = sin(π - m) · m``; arcface-pytorch's ``ArcMarginProduct``,
      pytorch-metric-learning's ``ArcFaceLoss``): a CosFace-like margin ``m · sin m`` on the cosine, monotone in
      θ (it jumps from -1 to ``-cos m - m · sin m`` at the switch, as the libraries do).
    - ``fallback="easy"`` (``easy_margin=True`` in insightface and arcface-pytorch): the margin only where
      ``cos θ > 0``, the plain ``cos θ`` elsewhere.
    'mean' averages over the samples, 'sum' adds, 'none' returns (N,). ``margin`` is in radians.

    Source: Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face Recognition", CVPR 2019, eq. 3;
    insightface recognition/arcface_torch/losses.py (``ArcFace``, ``CombinedMarginLoss``).
    """
    check_reduction(reduction)
    c, y = _inputs("arcface", cosine, labels)
    return _margin_cross_entropy(c, y, angular_margin(c[np.arange(c.shape[0]), y], margin, fallback), scale,
                                 reduction)


def angular_margin(cosine, margin, fallback="linear"):
    """``cos(θ + m)`` of each cosine (any shape), ``θ = arccos(cosine)``, with ArcFace's ``fallback`` (see arcface):
    "linear" (``cos θ - m · sin m`` where ``cos θ ≤ cos(π - m)``), "easy" (``cos θ`` where ``cos θ ≤ 0``), or
    "none": the paper's plain ``cos(θ + m)`` everywhere, not monotone past ``θ = π - m``; the libraries' defect
    when written without a guard, kept here so that the audit can name it."""
    if fallback not in ARCFACE_FALLBACKS:
        raise ValueError(f"arcface: fallback must be one of {ARCFACE_FALLBACKS}; got {fallback!r}")
    cos_t = np.clip(np.asarray(cosine, dtype=np.float64), -1.0, 1.0)
    with_margin = cos_t * np.cos(margin) - np.sqrt(1.0 - cos_t ** 2) * np.sin(margin)
    if fallback == "easy":
        return np.where(cos_t > 0, with_margin, cos_t)
    if fallback == "linear":
        return np.where(cos_t > np.cos(np.pi - margin), with_margin, cos_t - np.sin(np.pi - margin) * margin)
    return with_margin


def cosface(cosine, labels, *, scale=64.0, margin=0.35, reduction="mean"):
    """CosFace (large-margin cosine) loss: softmax cross-entropy of the logits ``s · (cos θ_y - m)`` for the
    target class and ``s · cos θ_j`` for the others.

    'mean' averages over the samples, 'sum' adds, 'none' returns (N,).

    Source: Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face Recognition", CVPR 2018, eq. 4 (there
    s = 64, m = 0.35, pytorch-metric-learning's defaults; insightface's ``CosFace`` uses m = 0.4).
    """
    check_reduction(reduction)
    c, y = _inputs("cosface", cosine, labels)
    return _margin_cross_entropy(c, y, c[np.arange(c.shape[0]), y] - margin, scale, reduction)
