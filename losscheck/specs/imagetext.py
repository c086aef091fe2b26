"""Specs for the image-text and in-batch contrastive losses: clip, siglip, supcon and multiple_negatives_ranking.

Input domain: clip, siglip and supcon take features the model has already L2-normalised (open_clip's ClipLoss,
SigLipLoss and HobbitLong/SupContrast multiply them as given), while other implementations normalise inside
(transformers' CLIPModel, pytorch-metric-learning's cosine SupConLoss). Both are the same loss on unit-norm rows,
so these ids draw unit-norm features and compare gradients along the sphere (`AlongSphere`): a loss that
normalises inside and one that does not agree on every direction that keeps the rows unit-norm, and differ only
along the radius, which the normalisation removes. multiple_negatives_ranking takes raw sentence embeddings and
normalises inside (cosine similarity), so it draws them unnormalised.

The logit scale comes in three forms (the `logit_scale` convention): the multiplier itself (open_clip passes
`model.logit_scale.exp()`), its log exponentiated inside (transformers), or its log exponentiated and clamped at
100 (the CLIP paper). The parameter's values are read in the candidate's form; the catalogue reads the
multiplier.
"""
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from scipy.special import log_expit, logsumexp

from losscheck.diagnosis.conventions import Convention, Option
from losscheck.diagnosis.variants import Variant, call, with_params
from losscheck.judge.strategies import batch_size, class_indices, floats, size
from losscheck.references import imagetext as ref
from losscheck.references._reduce import reduce
from losscheck.specs.base import LossSpec, Naming, Param
from losscheck.specs.forms import Form
from losscheck.specs.regression import REDUCTION


# -- inputs -------------------------------------------------------------------------------------------------------
def unit_rows(x):
    """Rows scaled to unit L2 norm (a row of near-zero norm gets a unit first coordinate first)."""
    x = x.copy()
    x[np.linalg.norm(x, axis=-1) < 0.5, 0] += 1.0
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@dataclass(frozen=True)
class AlongSphere:
    """The part of a gradient tangent to the unit sphere of input `index`'s rows: g - x (x·g). A loss that
    normalises its features inside has no radial gradient; one that takes them normalised has one; both agree on
    the tangent part, the only one a normalised feature can move along. `source` is the same projection as torch
    code, for the reproducer to print what the check compared."""

    index: int

    def __call__(self, grad, case):
        x = np.asarray(case.inputs[self.index], dtype=np.float64)
        return grad - x * np.sum(grad * x, axis=-1, keepdims=True)

    @staticmethod
    def source(grad: str, x: str) -> str:
        return f"{grad} - {x} * ({grad} * {x}).sum(-1, keepdim=True)"


def draw_image_text(draw, *, layout, target_format, scale, params):
    """(image_features, text_features): (N, D) each, unit-norm rows, N = 1 for a single pair."""
    shape = (batch_size(draw, layout), size(draw, "D", 2, 5))
    return tuple(unit_rows(floats(draw, shape, 3.0, label=name)) for name in ("image_features", "text_features"))


def image_text_edges():
    """Matching pairs identical and orthogonal to the others (the most confident batch), and every feature
    equal (uniform logits: clip is log N)."""
    eye = np.eye(3)
    same = np.tile(unit_rows(np.array([[1.0, 2.0, -1.0]])), (3, 1))
    return [("identical pairs, orthogonal batch", (eye, eye.copy())), ("every feature equal", (same, same.copy()))]


# -- the logit scale ----------------------------------------------------------------------------------------------
LOGIT_SCALE = Convention("logit_scale", "scale", {
    "scale": Option("takes the logit multiplier itself (the caller passes logit_scale.exp())",
                    "open_clip ClipLoss and SigLipLoss"),
    "log": Option("takes the log of the logit multiplier and exponentiates it inside",
                  "transformers CLIPModel and SiglipModel", {"logit_scale_form": "log"}),
    "log_clamped": Option("takes the log of the logit multiplier and exponentiates it inside, clamped at 100",
                          "the CLIP paper (OpenAI CLIP)", {"logit_scale_form": "log_clamped"})})


def _form_in_force(r, case, reference):
    """The logit_scale form of the reference in force (a declared convention wraps it), found by recomputing the
    case under each form; the first that reproduces it."""
    got = call(r, case)
    for form in ref.LOGIT_SCALE_FORMS:
        if np.allclose(call(reference, case, logit_scale_form=form), got, rtol=1e-12, atol=0.0):
            return form
    raise ValueError("no logit_scale form reproduces the reference in force")


def _multiplier(r, case, reference):
    return ref.logit_multiplier(case.params["logit_scale"], _form_in_force(r, case, reference))


def _not_exponentiated():
    """The log of the multiplier used as the multiplier: a loss that stores the scale as its log (CLIP's learnable
    log(1/0.07)) and forgets the exp (under the log forms: the value passed used without its exp)."""
    return with_params("logit scale not exponentiated", "multiplies the similarities by the log of the logit scale "
                       "(the learnable parameter as stored) instead of its exp", "logits = logit_scale.exp() * "
                       "image_features @ text_features.T", logit_scale=lambda p: np.log(p["logit_scale"]))


SCALE_NAMES = ("logit_scale", "scale", "logit_scale_value")


# -- clip ---------------------------------------------------------------------------------------------------------
def _one_direction(transpose):
    """The cross-entropy of one side only (image to text rows, or text to image), with the multiplier in force."""
    def compute(r, case):
        x, y = (np.asarray(a, dtype=np.float64) for a in case.inputs)
        logits = _multiplier(r, case, ref.clip) * (x @ y.T)
        logits = logits.T if transpose else logits
        return np.asarray(reduce(logsumexp(logits, axis=1) - np.diagonal(logits), case.params["reduction"]))
    return compute


CLIP_VARIANTS = (
    Variant("one direction only (image to text)", "averages only the image-to-text cross-entropy "
            "(CE(logits, arange)), not its mean with the text-to-image one", "(F.cross_entropy(logits_per_image, "
            "labels) + F.cross_entropy(logits_per_text, labels)) / 2", _one_direction(False)),
    Variant("one direction only (text to image)", "averages only the text-to-image cross-entropy "
            "(CE(logits.T, arange)), not its mean with the image-to-text one", "(F.cross_entropy(logits_per_image, "
            "labels) + F.cross_entropy(logits_per_text, labels)) / 2", _one_direction(True)),
    _not_exponentiated(),
)


# -- siglip -------------------------------------------------------------------------------------------------------
def _siglip_with(labels_of, bias_of):
    """SigLIP's sum over pairs / N with the multiplier in force, labels `labels_of(n)` and the bias matrix
    `bias_of(b, t, n)` added to t · x·y."""
    def compute(r, case):
        x, y = (np.asarray(a, dtype=np.float64) for a in case.inputs)
        t, n = _multiplier(r, case, ref.siglip), len(x)
        logits = t * (x @ y.T) + bias_of(case.params["logit_bias"], t, n)
        return np.asarray(reduce(-np.sum(log_expit(labels_of(n) * logits), axis=1), case.params["reduction"]))
    return compute


def _mean_over_pairs(r, case):
    if case.params["reduction"] != "mean":
        raise ValueError("defined for 'mean'")
    return call(r, case) / len(case.inputs[0])


def _signed(n):
    """SigLIP's labels z = 2I - 1."""
    return 2 * np.eye(n) - 1


def _everywhere(b, t, n):
    """The bias on every pair, as released."""
    return b

SIGLIP_VARIANTS = (
    Variant("labels 0/1 instead of 2I - 1", "multiplies the logits by 0/1 labels (the identity) instead of "
            "z = 2I - 1, so every negative pair contributes log σ(0) and no gradient",
            "labels = 2 * torch.eye(n) - 1 (or F.binary_cross_entropy_with_logits with 0/1 targets)",
            _siglip_with(np.eye, _everywhere)),
    Variant("bias scaled by the logit scale", "adds the bias before multiplying by the logit scale, "
            "t·(x·y + b), instead of t·x·y + b", "logits = logit_scale * img @ txt.T + logit_bias",
            _siglip_with(_signed, lambda b, t, n: t * b)),
    Variant("bias on the diagonal only", "adds the bias to the matching pairs only, where it shifts every pair's "
            "logit", "logits = logit_scale * img @ txt.T + logit_bias (on every pair)",
            _siglip_with(_signed, lambda b, t, n: b * np.eye(n))),
    Variant("mean over every pair", "divides the sum over the N² pairs by N² (a .mean()) instead of by the batch "
            "size N, so the loss and its gradients shrink as the batch grows", "-F.logsigmoid(labels * logits)"
            ".sum() / n", _mean_over_pairs),
    _not_exponentiated(),
)


# -- supcon -------------------------------------------------------------------------------------------------------
def draw_labelled_features(draw, *, layout, target_format, scale, params):
    """(embeddings (N, D) unit-norm, labels (N,)): 2 or 3 classes, each at least twice (every anchor has a
    positive and a negative, where the releases agree on what to do with it), N up to 8."""
    k = draw(st.integers(2, 3), label="classes")
    extra = class_indices(draw, (size(draw, "extra", 0, 2),), k, label="extra labels")
    labels = np.concatenate([np.repeat(np.arange(k), 2), extra]).astype(np.int64)
    labels = labels[draw(st.permutations(range(len(labels))), label="order")]
    d = size(draw, "D", 2, 5)
    return unit_rows(floats(draw, (len(labels), d), 3.0, label="embeddings")), labels


def supcon_edges():
    """Every embedding equal (log p = -log(N - 1)), and classes on orthogonal axes (a confident batch)."""
    labels = np.array([0, 0, 1, 1, 2, 2])
    same = np.tile(unit_rows(np.array([[1.0, -2.0, 0.5]])), (6, 1))
    return [("every embedding equal", (same, labels)), ("one axis per class", (np.eye(3)[labels], labels))]


def _supcon_log_p(case, self_positive=False):
    """(log p_ia with the anchor out of the denominator, positives mask, τ/τ_base) of the case."""
    e, y = np.asarray(case.inputs[0], dtype=np.float64), np.asarray(case.inputs[1])
    tau, base = case.params["temperature"], case.params.get("base_temperature")
    others = ~np.eye(len(e), dtype=bool)
    s = e @ e.T / tau
    log_p = s - logsumexp(np.where(others, s, -np.inf), axis=1, keepdims=True)
    positive = y[:, None] == y[None, :]
    positive = positive if self_positive else positive & others
    return log_p, positive, 1.0 if base is None else tau / base


def _summed_inside(r, case):
    log_p, positive, factor = _supcon_log_p(case)
    values = -factor * logsumexp(np.where(positive, log_p, -np.inf), axis=1)
    return np.asarray(reduce(values, case.params["reduction"]))


def _anchor_own_positive(r, case):
    log_p, positive, factor = _supcon_log_p(case, self_positive=True)
    values = -factor * np.sum(np.where(positive, log_p, 0.0), axis=1) / positive.sum(axis=1)
    return np.asarray(reduce(values, case.params["reduction"]))


SUPCON_CONVENTIONS = (
    Convention("positives", "outside", {
        "outside": Option("averages the log-probabilities of the positives (L_out, Khosla et al. eq. 2)",
                          "HobbitLong/SupContrast, pytorch-metric-learning SupConLoss"),
        "inside": Option("takes the log of the positives' mean probability (L_in, Khosla et al. eq. 3)",
                         "Khosla et al. eq. 3", {"positives": "inside"})}),
)

SUPCON_VARIANTS = (
    Variant("positives summed inside the log", "sums the positives' probabilities inside the log, "
            "-log Σ_p p_ip, where L_out averages their logs outside it (and L_in divides the sum by |P(i)|)",
            "mean_log_prob_pos = (mask * log_prob).sum(1) / mask.sum(1); loss = -mean_log_prob_pos",
            _summed_inside),
    Variant("anchor counted as its own positive", "keeps the anchor among its own positives (the diagonal of the "
            "label mask not removed)", "mask = mask * logits_mask (torch.eye removed from the positives' mask)",
            _anchor_own_positive),
)


def views_by_sample() -> Form:
    """(embeddings (N, D), labels (N,)) <-> (features (B, V, D), labels (B,)): HobbitLong/SupContrast's call, the V
    views of each sample stacked on axis 1, one label per sample (its views concatenated view by view,
    torch.cat(torch.unbind(features, 1)), are the catalogue's embeddings with the labels repeated V times). The
    catalogue's draws are one view each (V = 1)."""
    def to_form(inputs):
        embeddings, labels = inputs
        return embeddings[:, None, :], labels

    def to_catalogue(inputs):
        features, labels = inputs
        views = features.shape[1]
        return np.concatenate([features[:, v] for v in range(views)]), np.tile(np.asarray(labels), views)

    return Form(("features", "labels"), (("features",), ("labels", "targets", "y")), to_form, to_catalogue,
                grad_args=(0,), target_arg=1, says="SupContrast's (batch, views, dim) features, one label per sample")


# -- multiple_negatives_ranking -----------------------------------------------------------------------------------
def draw_anchor_positive(draw, *, layout, target_format, scale, params):
    """(anchors, positives): (N, D) raw embeddings (norms from 0.5 to about 5: the loss normalises them)."""
    shape = (batch_size(draw, layout), size(draw, "D", 2, 5))
    return tuple(unit_rows(floats(draw, shape, 3.0, label=name))
                 * floats(draw, (shape[0], 1), 5.0, label=f"{name} norms", min_value=0.5)
                 for name in ("anchors", "positives"))


def anchor_positive_edges():
    """Anchors equal to their positives (a confident batch), and every embedding parallel (uniform scores:
    log N)."""
    eye = np.eye(3) * np.array([[1.0], [3.0], [0.5]])
    same = np.tile(np.array([[1.0, 2.0, -1.0]]), (3, 1))
    return [("anchors equal to their positives", (eye, eye.copy())), ("every embedding parallel", (same, same * 2.0))]


MNR_VARIANTS = (
    with_params("dot product instead of cosine", "scores the pairs by their dot product where the loss claims "
                "cosine similarity (the embeddings not normalised)", "similarity_fct=util.cos_sim (normalise "
                "both embeddings before the product)", similarity=lambda p: "dot"),
    with_params("scale left out", "uses the cosine similarities unscaled (scale 1) where the loss multiplies "
                "them by its scale (20)", "scores = util.cos_sim(anchors, candidates) * scale",
                scale=lambda p: 1.0),
)

MNR_CONVENTIONS = (
    Convention("similarity", "cosine", {
        "cosine": Option("scores the pairs by cosine similarity", "sentence-transformers' default util.cos_sim"),
        "dot": Option("scores the pairs by their dot product, as its similarity_fct=util.dot_score declares "
                      "(documented with scale 1)", "sentence-transformers", {"similarity": "dot"},
                      declared_only=True)}),
)


SPECS = [
    LossSpec(
        id="clip", family="imagetext", summary="(CE(t·X Yᵀ, arange) + CE(t·Y Xᵀ, arange)) / 2, mean over pairs "
        "(symmetric InfoNCE, Radford et al.)", naming=Naming(("clip",), also=("contrastive image text",)),
        signature=("image_features", "text_features"), reference=ref.clip,
        params=(Param("logit_scale", 1 / 0.07, SCALE_NAMES[1:], (1.0, 10.0, 1 / 0.07)), REDUCTION),
        draw_inputs=draw_image_text, layouts=("batch", "single"), grad_args=(0, 1), target_arg=None,
        edge_cases=image_text_edges, grad_projection={0: AlongSphere(0), 1: AlongSphere(1)},
        variants=CLIP_VARIANTS, conventions=(LOGIT_SCALE,)),
    LossSpec(
        id="siglip", family="imagetext", summary="-Σ_ij log σ(z_ij(t·x_i·y_j + b)) / N, z = 2I - 1 (Zhai et al.)",
        naming=Naming(("siglip", "sigmoid contrastive"), standalone=("siglip",)),
        signature=("image_features", "text_features"), reference=ref.siglip,
        params=(Param("logit_scale", 10.0, SCALE_NAMES[1:], (1.0, 10.0)),
                Param("logit_bias", -10.0, ("bias",), (-10.0, 0.0)), REDUCTION),
        draw_inputs=draw_image_text, layouts=("batch", "single"), grad_args=(0, 1), target_arg=None,
        edge_cases=image_text_edges, grad_projection={0: AlongSphere(0), 1: AlongSphere(1)},
        variants=SIGLIP_VARIANTS, conventions=(LOGIT_SCALE,)),
    LossSpec(
        id="supcon", family="imagetext", summary="-(τ/τ_b)·(1/|P(i)|)·Σ_p log softmax_{a≠i}(e_i·e_a/τ)_p, mean over "
        "anchors (Khosla et al., L_out)", naming=Naming(("supcon", "supervised contrastive"),
                                                        standalone=("supcon",)),
        signature=("embeddings", "labels"), reference=ref.supcon,
        params=(Param("temperature", 0.07, ("tau", "temp", "t"), (0.07, 0.1, 0.5)),
                Param("base_temperature", None, ("base_temp",)), REDUCTION),
        draw_inputs=draw_labelled_features, layouts=("batch",), target_formats=("indices",), grad_args=(0,),
        target_arg=1, edge_cases=supcon_edges, grad_projection={0: AlongSphere(0)}, variants=SUPCON_VARIANTS,
        conventions=SUPCON_CONVENTIONS, forms=(views_by_sample(),)),
    LossSpec(
        id="multiple_negatives_ranking", family="imagetext", summary="CE(scale·cos(a_i, p_j), arange), scale 20, "
        "mean over anchors (in-batch negatives, sentence-transformers)",
        naming=Naming(("multiple negatives ranking", "mnr", "in batch negatives"), also=("ranking",)),
        signature=("anchors", "positives"), reference=ref.multiple_negatives_ranking,
        params=(Param("scale", 20.0, ("logit_scale",), (1.0, 20.0, 50.0)), REDUCTION),
        draw_inputs=draw_anchor_positive, layouts=("batch", "single"), grad_args=(0, 1), target_arg=None,
        edge_cases=anchor_positive_edges, variants=MNR_VARIANTS, conventions=MNR_CONVENTIONS,
        convention_params={"similarity_fct": ("similarity", {"cos_sim": "cosine", "dot_score": "dot"})}),
]
