"""Float64 references for the image-text and in-batch contrastive losses: clip (symmetric InfoNCE over an
image-text similarity matrix), siglip (pairwise sigmoid), supcon (supervised contrastive, Khosla et al.) and
multiple_negatives_ranking (sentence-transformers' in-batch negatives).

NumPy/SciPy only: this module never imports torch.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_expit, logsumexp

from ._reduce import check_reduction, reduce

__all__ = ["clip", "siglip", "supcon", "multiple_negatives_ranking", "logit_multiplier"]

#: How a loss receives its logit scale: the multiplier itself (open_clip passes `model.logit_scale.exp()`), its
#: log with the exp taken inside (transformers' CLIPModel / SiglipModel), or its log with the multiplier clamped at
#: 100 (the CLIP paper: "clipped to prevent scaling the logits by more than 100").
LOGIT_SCALE_FORMS = ("scale", "log", "log_clamped")
MAX_LOGIT_SCALE = 100.0
SUPCON_POSITIVES = ("outside", "inside")
SIMILARITIES = ("cos", "dot")


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _pair(image_features, text_features, name):
    x, y = _f64(image_features), _f64(text_features)
    if x.ndim != 2 or x.shape != y.shape:
        raise ValueError(f"{name}: image and text features must both be (N, D); got {x.shape}, {y.shape}")
    return x, y


def logit_multiplier(logit_scale, form="scale"):
    """The number the similarities are multiplied by, from the logit scale as the loss receives it (`form`):
    "scale" the multiplier itself, "log" exp(logit_scale), "log_clamped" min(exp(logit_scale), 100)."""
    if form not in LOGIT_SCALE_FORMS:
        raise ValueError(f"logit_scale_form must be one of {LOGIT_SCALE_FORMS}; got {form!r}")
    if form == "scale":
        return float(logit_scale)
    with np.errstate(over="ignore"):
        t = float(np.exp(np.float64(logit_scale)))
    return min(t, MAX_LOGIT_SCALE) if form == "log_clamped" else t


def _cross_entropy_to_diagonal(logits):
    """-log softmax(logits)[i, i] per row i: the cross-entropy of row i towards column i (labels arange(N))."""
    return logsumexp(logits, axis=1) - np.diagonal(logits)


def clip(image_features, text_features, *, logit_scale=1 / 0.07, logit_scale_form="scale", reduction="mean"):
    """CLIP's contrastive loss: symmetric InfoNCE over the image-text similarity matrix.

    ``L = t · X Yᵀ`` with ``t`` the logit multiplier (:func:`logit_multiplier` of ``logit_scale`` under
    ``logit_scale_form``) and X, Y the (N, D) image and text features as given (the model normalises them: the
    loss takes ``image_features @ text_features.T``). Per pair i the loss is
    ``(CE(L[i], i) + CE(Lᵀ[i], i)) / 2``, the mean of the image-to-text and text-to-image cross-entropies towards
    the matching pair; 'mean' averages over the N pairs, which is ``(cross_entropy(L, arange(N)) +
    cross_entropy(L.T, arange(N))) / 2``; 'sum' adds; 'none' returns (N,). With N = 1 the loss is 0.

    Source: Radford et al., "Learning Transferable Visual Models From Natural Language Supervision", 2021,
    figure 3's pseudocode (``loss = (loss_i + loss_t) / 2``; logits scaled by ``np.exp(t)``, clipped at 100);
    open_clip's ``ClipLoss.forward`` (called with ``model.logit_scale.exp()``); transformers' ``clip_loss``.
    """
    check_reduction(reduction)
    x, y = _pair(image_features, text_features, "clip")
    logits = logit_multiplier(logit_scale, logit_scale_form) * (x @ y.T)
    values = (_cross_entropy_to_diagonal(logits) + _cross_entropy_to_diagonal(logits.T)) / 2
    return reduce(values, reduction)


def siglip(image_features, text_features, *, logit_scale=10.0, logit_bias=-10.0, logit_scale_form="scale",
           reduction="mean"):
    """SigLIP's pairwise sigmoid loss.

    With ``z = 2I - 1`` (+1 for the matching pair, -1 for every other) and
    ``L_ij = t · x_i·y_j + b`` (t the logit multiplier, :func:`logit_multiplier`; b ``logit_bias``, added after
    the scale), image i's loss is ``-Σ_j log σ(z_ij · L_ij)`` (scipy.special.log_expit, finite at any margin).
    'mean' averages over the N images, i.e. the sum over all N² pairs divided by the batch size N, as the paper
    and every release write it ('none' returns the N row sums, 'sum' adds them).

    Source: Zhai et al., "Sigmoid Loss for Language Image Pre-Training", ICCV 2023, algorithm 1
    (``loss = -sum(log_sigmoid(labels * logits)) / n``; t = exp(t'), t' = log 10 and b = -10 at initialisation);
    open_clip's ``SigLipLoss._loss`` (``-F.logsigmoid(labels * logits).sum() / image_features.shape[0]``);
    transformers' ``SiglipModel`` (``-torch.sum(loglik, dim=-1).mean()``).
    """
    check_reduction(reduction)
    x, y = _pair(image_features, text_features, "siglip")
    logits = logit_multiplier(logit_scale, logit_scale_form) * (x @ y.T) + logit_bias
    z = 2 * np.eye(len(x)) - 1
    return reduce(-np.sum(log_expit(z * logits), axis=1), reduction)


def supcon(embeddings, labels, *, temperature=0.07, base_temperature=None, positives="outside", reduction="mean"):
    """Supervised contrastive loss (SupCon) over a batch of embeddings with class labels.

    With ``s_ia = e_i·e_a / τ`` (the embeddings as given: the model normalises them), ``A(i)`` every other
    sample and ``P(i) = {p ∈ A(i): y_p = y_i}`` (the anchor is never its own positive and never in its own
    denominator), ``log p_ip = s_ip - logsumexp_{a ∈ A(i)} s_ia``. Anchor i's loss is, with the factor
    ``τ / τ_base`` (1 when ``base_temperature`` is None, pytorch-metric-learning's form):
    - ``positives="outside"`` (L_out, eq. 2, the paper's recommended and the default):
      ``-(τ/τ_base) · (1/|P(i)|) Σ_p log p_ip``;
    - ``positives="inside"`` (L_in, eq. 3): ``-(τ/τ_base) · log((1/|P(i)|) Σ_p p_ip)``.
    An anchor without positives contributes 0 and still counts in the mean, as HobbitLong/SupContrast does
    (``mask_pos_pairs`` set to 1). 'mean' averages over the anchors, 'sum' adds, 'none' returns (N,).
    Shapes: embeddings (N, D), labels (N,) integers; SupContrast's (B, V, D) features are its views
    concatenated (``torch.cat(torch.unbind(features, 1))``) with the labels repeated V times.

    Source: Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020, eqs. 2 and 3;
    HobbitLong/SupContrast ``losses.py`` (SupConLoss, temperature = base_temperature = 0.07);
    pytorch-metric-learning ``SupConLoss`` (cosine similarity, no base temperature, temperature 0.1).
    """
    check_reduction(reduction)
    if positives not in SUPCON_POSITIVES:
        raise ValueError(f"supcon: positives must be one of {SUPCON_POSITIVES}; got {positives!r}")
    if not temperature > 0:
        raise ValueError(f"supcon: temperature must be > 0; got {temperature!r}")
    e = _f64(embeddings)
    y = np.asarray(labels)
    if e.ndim != 2 or y.shape != (e.shape[0],):
        raise ValueError(f"supcon: embeddings (N, D) and labels (N,); got {e.shape}, {y.shape}")
    n = len(e)
    others = ~np.eye(n, dtype=bool)
    positive = (y[:, None] == y[None, :]) & others
    s = np.where(others, e @ e.T / temperature, -np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_p = s - logsumexp(s, axis=1, keepdims=True)
        count = positive.sum(axis=1)
        if positives == "outside":
            kept = np.sum(np.where(positive, log_p, 0.0), axis=1) / np.maximum(count, 1)
        else:
            kept = logsumexp(np.where(positive, log_p, -np.inf), axis=1) - np.log(np.maximum(count, 1))
    factor = 1.0 if base_temperature is None else temperature / base_temperature
    return reduce(np.where(count > 0, -factor * kept, 0.0), reduction)


def _similarity(a, b, similarity):
    if similarity not in SIMILARITIES:
        raise ValueError(f"similarity must be one of {SIMILARITIES}; got {similarity!r}")
    if similarity == "cos":
        a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
        b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return a @ b.T


def multiple_negatives_ranking(anchors, positives, negatives=None, *, scale=20.0, similarity="cos",
                               reduction="mean"):
    """sentence-transformers' MultipleNegativesRankingLoss: in-batch negatives over scaled cosine similarity.

    The candidates are the positives (N, D) followed by the hard negatives (any number of rows, (k·N, D) in
    practice), ``S_ij = scale · cos(a_i, c_j)`` (cosine as util.cos_sim: each row divided by max(‖·‖, 1e-12);
    ``similarity="dot"`` for util.dot_score), and anchor i's loss is the cross-entropy of row i towards column i
    (its own positive; every other positive and every hard negative is a negative). 'mean' averages over the N
    anchors, 'sum' adds, 'none' returns (N,).

    Source: Henderson et al., "Efficient Natural Language Response Suggestion for Smart Reply", 2017 (in-batch
    negatives); sentence-transformers ``losses/MultipleNegativesRankingLoss.py`` (scale 20, similarity_fct
    util.cos_sim, ``scores = similarity_fct(anchors, candidates) * scale``, cross_entropy to ``arange(N)``).
    """
    check_reduction(reduction)
    a, p = _f64(anchors), _f64(positives)
    if a.ndim != 2 or a.shape != p.shape:
        raise ValueError(f"multiple_negatives_ranking: anchors and positives (N, D); got {a.shape}, {p.shape}")
    candidates = p if negatives is None else np.concatenate([p, _f64(negatives).reshape(-1, a.shape[1])])
    scores = scale * _similarity(a, candidates, similarity)
    return reduce(logsumexp(scores, axis=1) - scores[np.arange(len(a)), np.arange(len(a))], reduction)
