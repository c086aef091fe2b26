"""Float64 references for the embedding and ranking losses: triplet_margin, contrastive,
info_nce, hinge_embedding, cosine_embedding, margin_ranking and triplet_batch_hard.

Embeddings are rows: (N, D) batches, or a single (D,) vector where noted; distances are taken
along the last dimension. The catalogue's conventions are keyword options, each documented with
its source: ``squared`` of triplet_margin and triplet_batch_hard, ``scale`` and ``similar_label`` of
contrastive, ``direction`` of info_nce, ``normalise`` and ``mining`` of triplet_batch_hard.
NumPy/SciPy only: this module never imports torch.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ._reduce import check_reduction, reduce

__all__ = [
    "triplet_margin", "contrastive", "info_nce", "hinge_embedding", "cosine_embedding",
    "margin_ranking", "triplet_batch_hard",
]

_COSINE_EPS = 1e-12  # torch's EPSILON in cosine_embedding_loss, added to each squared norm
_DIRECTIONS = ("symmetric", "directional")


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _p_norm(x, p):
    """‖x‖_p along the last axis, like ``torch.norm(x, p, dim=-1)`` (p = 0 counts non-zeros,
    p = inf is the largest magnitude); scaled by the largest magnitude so it neither overflows
    nor underflows."""
    a = np.abs(x)
    if p == 0:
        return np.count_nonzero(a, axis=-1).astype(np.float64)
    largest = np.max(a, axis=-1, keepdims=True, initial=0.0)
    if np.isinf(p):
        return np.squeeze(largest, axis=-1)
    scale = np.where(largest > 0.0, largest, 1.0)
    norm = np.sum((a / scale) ** p, axis=-1, keepdims=True) ** (1.0 / p) * scale
    return np.squeeze(norm, axis=-1)


def _l2_normalised(x):
    """Rows divided by max(‖row‖_2, 1e-12), as ``torch.nn.functional.normalize`` (a zero row stays zero)."""
    return x / np.maximum(_p_norm(x, 2.0), 1e-12)[..., None]


def triplet_margin(anchor, positive, negative, *, margin=1.0, p=2.0, eps=1e-6, swap=False,
                   reduction="mean", squared=False):
    """Triplet margin loss (Balntas et al., BMVC 2016), torch's TripletMarginLoss.

    ``d(u, v) = ‖u - v + eps‖_p`` along the last dimension (torch's pairwise_distance: note the
    eps added to the difference, and the distance is not squared);
    ``loss = max(d(a, p) - d(a, n) + margin, 0)``; with ``swap``, ``d(a, n)`` is replaced by
    ``min(d(a, n), d(p, n))`` (the distance swap).

    ``squared=True`` compares squared Euclidean distances, ``d(u, v) = ‖u - v + eps‖_2²`` (FaceNet,
    Schroff, Kalenichenko and Philbin, CVPR 2015, Eq. 1, and the code that follows it); it is
    defined for p = 2 only (other p raise ValueError).

    Shapes: anchor, positive, negative (N, D) or (D,) (broadcasting as torch's
    pairwise_distance does); 'none' returns (N,) (0-d for (D,) inputs).

    Source: PyTorch ``torch.nn.TripletMarginLoss`` / ``torch.nn.functional.triplet_margin_loss``
    (https://pytorch.org/docs/stable/generated/torch.nn.TripletMarginLoss.html).
    """
    check_reduction(reduction)
    p = float(p)
    if not p >= 0.0:
        raise ValueError(f"triplet_margin needs a norm degree p >= 0; got p={p!r}")
    a, pos, neg = _f64(anchor), _f64(positive), _f64(negative)
    if not a.ndim == pos.ndim == neg.ndim or a.ndim not in (1, 2):
        raise ValueError(
            "triplet_margin: anchor, positive and negative must all be (N, D) or all (D,); got "
            f"{a.shape}, {pos.shape}, {neg.shape}"
        )
    if squared and p != 2.0:
        raise ValueError(f"triplet_margin: squared distances are Euclidean (p = 2); got p={p!r}")

    def distance(u, v):
        diff = u - v + eps
        return np.sum(diff * diff, axis=-1) if squared else _p_norm(diff, p)

    d_pos = distance(a, pos)
    d_neg = distance(a, neg)
    if swap:
        d_neg = np.minimum(d_neg, distance(pos, neg))
    return reduce(np.maximum(margin + d_pos - d_neg, 0.0), reduction)


def contrastive(x1, x2, label, *, margin=1.0, similar_label=1, scale=0.5, reduction="mean"):
    """Contrastive (pairwise) loss of Hadsell, Chopra and LeCun, "Dimensionality Reduction by
    Learning an Invariant Mapping", CVPR 2006.

    ``d = ‖x1 - x2‖_2`` along the last dimension (no eps), ``s = (label == similar_label)``,
    ``loss = scale * [s * d**2 + (1 - s) * max(0, margin - d)**2]``. ``d**2`` is computed as the
    sum of squares directly, so identical pairs (d = 0) give exactly 0 for similar pairs and
    ``scale * margin**2`` for dissimilar ones. Conventions: the similar label (1 here; some code
    uses 0) and the factor ``scale`` (1/2 in the paper; some code uses 1).

    Shapes: x1, x2 (N, D) (or (D,)); label (N,) (or a scalar); 'none' returns (N,) (0-d for
    (D,) inputs).

    Source: Hadsell et al. 2006 (no PyTorch built-in).
    """
    check_reduction(reduction)
    diff = _f64(x1) - _f64(x2)
    squared = np.sum(diff * diff, axis=-1)
    distance = np.sqrt(squared)
    similar = (np.asarray(label) == similar_label).astype(np.float64)
    values = scale * (similar * squared + (1.0 - similar) * np.maximum(margin - distance, 0.0) ** 2)
    return reduce(values, reduction)


def info_nce(z_i, z_j, *, temperature=0.5, reduction="mean", direction="symmetric"):
    """NT-Xent, the normalised temperature-scaled cross-entropy of SimCLR (Chen et al., "A
    Simple Framework for Contrastive Learning of Visual Representations", ICML 2020).

    ``z = concat(z_i, z_j)`` (2N rows), each row L2-normalised as ``torch.nn.functional.normalize``
    does (``z / max(‖z‖_2, 1e-12)``, so a zero row stays zero; the norm is computed scaled, so
    rows beyond 1e154 do not overflow as they do in torch); ``s = z zᵀ / τ``; the diagonal
    (self-similarity) is removed; row k's positive is its other view (k ↔ k + N), and
    ``loss_k = -s[k, pos(k)] + logsumexp_{m ≠ k} s[k, m]`` (scipy.special.logsumexp, which
    subtracts the row maximum, so a small τ cannot overflow).
    'mean' averages over the 2N anchors.

    ``direction="directional"`` is InfoNCE from queries to keys only (van den Oord, Li and Vinyals,
    "Representation Learning with Contrastive Predictive Coding", 2018; one side of CLIP; the
    ``info_nce`` of info-nce-pytorch without negative keys): q = z_i and k = z_j L2-normalised as
    above, ``s = q kᵀ / τ`` (N × N, nothing removed), ``loss_k = -s[k, k] + logsumexp_m s[k, m]``,
    N anchors; 'none' returns (N,).

    Shapes: z_i, z_j (N, D), the two views of the same N samples; 'none' returns (2N,).

    Source: Chen et al. 2020, Eq. (1) (no PyTorch built-in); info-nce-pytorch
    (https://github.com/RElbers/info-nce-pytorch) for the directional form.
    """
    check_reduction(reduction)
    temperature = float(temperature)
    if not temperature > 0.0:
        raise ValueError(f"info_nce needs temperature > 0; got temperature={temperature!r}")
    a, b = _f64(z_i), _f64(z_j)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"info_nce: z_i and z_j must both be (N, D); got {a.shape} and {b.shape}")
    if direction not in _DIRECTIONS:
        raise ValueError(f"info_nce: direction must be one of {_DIRECTIONS}; got direction={direction!r}")
    if direction == "directional":
        logits = (_l2_normalised(a) @ _l2_normalised(b).T) / temperature
        return reduce(logsumexp(logits, axis=1) - np.diag(logits), reduction)
    n = a.shape[0]
    z = _l2_normalised(np.concatenate([a, b], axis=0))
    logits = (z @ z.T) / temperature
    np.fill_diagonal(logits, -np.inf)
    rows = np.arange(2 * n)
    positives = logits[rows, (rows + n) % (2 * n)]
    return reduce(logsumexp(logits, axis=1) - positives, reduction)


def hinge_embedding(input, target, *, margin=1.0, reduction="mean"):
    """Hinge embedding loss, torch's HingeEmbeddingLoss (input is typically a distance).

    ``loss = x`` where ``y = 1`` and ``max(0, margin - x)`` where ``y = -1``. As in torch, the two
    terms are selected by ``y != -1`` and ``y != 1``, so a label that is neither gets both
    (labels are meant to be ±1). Not the binary SVM hinge (classification.hinge).

    Shapes: input and target broadcast; 'none' returns the broadcast shape.

    Source: PyTorch ``torch.nn.HingeEmbeddingLoss`` / ``torch.nn.functional.hinge_embedding_loss``
    (https://pytorch.org/docs/stable/generated/torch.nn.HingeEmbeddingLoss.html).
    """
    check_reduction(reduction)
    x, y = np.broadcast_arrays(_f64(input), _f64(target))
    values = np.where(y != -1.0, x, 0.0) + np.where(y != 1.0, np.maximum(float(margin) - x, 0.0), 0.0)
    return reduce(values, reduction)


def cosine_embedding(x1, x2, y, *, margin=0.0, reduction="mean"):
    """Cosine embedding loss, torch's CosineEmbeddingLoss.

    ``cos = Σ x1·x2 / sqrt((Σ x1² + 1e-12) * (Σ x2² + 1e-12))`` along the last dimension (torch's
    EPSILON = 1e-12 added to each squared norm, so a zero vector gives cos = 0, not nan);
    ``loss = 1 - cos`` where ``y = 1``, ``max(0, cos - margin)`` where ``y = -1``, and 0 for any
    other label (as in torch). The square root is taken of each factor separately (the same value
    up to rounding, without overflowing the product).

    Shapes, as torch: x1, x2 (N, D) with y (N,), or (D,) with a 0-d y (anything else raises
    ValueError); 'none' returns y's shape.

    Source: PyTorch ``torch.nn.CosineEmbeddingLoss`` / ``torch.nn.functional.cosine_embedding_loss``
    (https://pytorch.org/docs/stable/generated/torch.nn.CosineEmbeddingLoss.html; aten
    ``cosine_embedding_loss`` in aten/src/ATen/native/Loss.cpp).
    """
    check_reduction(reduction)
    a, b, t = _f64(x1), _f64(x2), _f64(y)
    if t.ndim not in (0, 1) or a.ndim != t.ndim + 1 or b.ndim != t.ndim + 1:
        raise ValueError(
            "cosine_embedding: expects x1, x2 of shape (N, D) with y of shape (N,), or (D,) with a "
            f"0-d y; got {a.shape}, {b.shape}, {t.shape}"
        )
    product = np.sum(a * b, axis=-1)
    norm1 = np.sqrt(np.sum(a * a, axis=-1) + _COSINE_EPS)
    norm2 = np.sqrt(np.sum(b * b, axis=-1) + _COSINE_EPS)
    cos = product / norm1 / norm2
    cos, t = np.broadcast_arrays(cos, t)
    values = np.where(t == 1.0, 1.0 - cos, 0.0) + np.where(
        t == -1.0, np.maximum(cos - float(margin), 0.0), 0.0
    )
    return reduce(values, reduction)


def margin_ranking(x1, x2, y, *, margin=0.0, reduction="mean"):
    """Margin ranking loss, torch's MarginRankingLoss: ``max(0, -y * (x1 - x2) + margin)``.

    y = 1 means x1 should rank higher than x2 (by at least ``margin``), y = -1 the reverse.

    Shapes: x1, x2 and y broadcast (torch broadcasts them too); 'none' returns the broadcast
    shape.

    Source: PyTorch ``torch.nn.MarginRankingLoss`` / ``torch.nn.functional.margin_ranking_loss``
    (https://pytorch.org/docs/stable/generated/torch.nn.MarginRankingLoss.html).
    """
    check_reduction(reduction)
    a, b, t = _f64(x1), _f64(x2), _f64(y)
    return reduce(np.maximum(-t * (a - b) + float(margin), 0.0), reduction)


def triplet_batch_hard(embeddings, labels, *, margin=1.0, squared=False, mining="hard", reduction="mean",
                       normalise=False):
    """Batch-hard triplet loss (Hermans, Beyer and Leibe, "In Defense of the Triplet Loss for
    Person Re-Identification", 2017).

    ``D[i, j] = ‖e_i - e_j‖_2`` (``squared=True``: ``‖e_i - e_j‖_2²``), from the differences
    directly (no Gram-matrix cancellation, so ``D[i, i] = 0`` exactly). For each anchor i: the
    hardest positive ``d_p = max_{j ≠ i, l_j = l_i} D[i, j]`` and the hardest negative
    ``d_n = min_{l_j ≠ l_i} D[i, j]``; ``loss_i = max(d_p - d_n + margin, 0)``. Anchors without a
    positive or without a negative give 0 in 'none' and are left out of 'mean' (which divides
    by the number of anchors that have both; with none, 'mean' is nan, 0/0) and contribute 0 to
    'sum'. ``normalise=True`` L2-normalises the embeddings first, ``e / max(‖e‖_2, 1e-12)``, as
    pytorch-metric-learning's default distance does (``LpDistance(normalize_embeddings=True)``);
    the default uses them as given (Hermans et al.).

    ``mining="all"`` is the batch-all form of pytorch-metric-learning's ``TripletMarginLoss``
    (no miner, ``AvgNonZeroReducer``): every triplet (a, p, n) with ``l_p = l_a ≠ l_n`` and
    ``p ≠ a`` gives ``max(D[a, p] - D[a, n] + margin, 0)``; 'mean' averages over the triplets
    whose loss is positive (0 when there is none), 'sum' adds them, 'none' returns them all.

    Shapes: embeddings (N, D), labels (N,) (any comparable values); 'none' returns (N,)
    (hard mining) or one value per triplet (all).

    Source: no PyTorch built-in; Hermans et al. 2017; pytorch-metric-learning
    ``BatchHardMiner`` + ``TripletMarginLoss``
    (https://kevinmusgrave.github.io/pytorch-metric-learning/miners/#batchhardminer).
    """
    check_reduction(reduction)
    e = _f64(embeddings)
    lab = np.asarray(labels)
    if e.ndim != 2 or lab.shape != (e.shape[0],):
        raise ValueError(
            f"triplet_batch_hard: embeddings must be (N, D) and labels (N,); got {e.shape} and {lab.shape}"
        )
    if normalise:
        e = _l2_normalised(e)
    diff = e[:, None, :] - e[None, :, :]
    distance = np.sum(diff * diff, axis=-1)
    if not squared:
        distance = np.sqrt(distance)
    same = lab[:, None] == lab[None, :]
    positive = same & ~np.eye(e.shape[0], dtype=bool)
    negative = ~same
    if mining == "all":
        a, p, n = np.nonzero(positive[:, :, None] & negative[:, None, :])
        losses = np.maximum(distance[a, p] - distance[a, n] + float(margin), 0.0)
        if reduction == "mean":
            positive_losses = losses[losses > 0]
            return np.float64(np.mean(positive_losses)) if positive_losses.size else np.float64(0.0)
        return reduce(losses, reduction)
    valid = np.any(positive, axis=1) & np.any(negative, axis=1)
    d_p = np.max(np.where(positive, distance, -np.inf), axis=1, initial=-np.inf)
    d_n = np.min(np.where(negative, distance, np.inf), axis=1, initial=np.inf)
    with np.errstate(invalid="ignore"):
        values = np.where(valid, np.maximum(d_p - d_n + float(margin), 0.0), 0.0)
    return reduce(values, reduction, weights=valid)
