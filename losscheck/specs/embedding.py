"""Specs for the embedding and ranking losses: triplet_margin, contrastive, info_nce."""
import numpy as np
from hypothesis import strategies as st

from scipy.special import logsumexp

from losscheck.references import embedding as ref
from losscheck.references._reduce import reduce
from losscheck.conventions import Convention, Option
from losscheck.variants import Variant, call
from losscheck.specs.base import LossSpec, Param
from losscheck.specs.regression import REDUCTION
from losscheck.strategies import batch_size, binary, floats, size

MARGIN = Param("margin", 1.0, values=(0.5, 1.0, 2.0))


def embedding_shape(draw, layout):
    d = size(draw, "D", 1, 5)
    return (d,) if layout == "no_batch" else (batch_size(draw, layout), d)


def embeddings(draw, shape, scale, label):
    x = floats(draw, shape, 3.0, label=label)
    return x * draw(st.sampled_from([100.0, 1e4]), label="extreme_factor") if scale == "extreme" else x


def draw_triplet(draw, *, layout, fmt, scale, params):
    shape = embedding_shape(draw, layout)
    return tuple(embeddings(draw, shape, scale, name) for name in ("anchor", "positive", "negative"))


def draw_pairs_with_label(draw, *, layout, fmt, scale, params):
    shape = embedding_shape(draw, layout)
    x1, x2 = embeddings(draw, shape, scale, "x1"), embeddings(draw, shape, scale, "x2")
    return x1, x2, binary(draw, shape[:-1], label="label")


def nonzero_rows(x):
    """Embeddings with norm >= 0.5: cosine similarity of a zero vector is undefined."""
    x = x.copy()
    x[np.linalg.norm(x, axis=-1) < 0.5, 0] += 1.0
    return x


def draw_views(draw, *, layout, fmt, scale, params):
    shape = embedding_shape(draw, layout)
    return tuple(nonzero_rows(embeddings(draw, shape, scale, name)) for name in ("z_i", "z_j"))


def triplet_edges():
    a = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, 0.0]])
    return [("anchor equals positive (zero distance)", (a, a.copy(), a + 1.0)),
            ("all three equal", (a, a.copy(), a.copy()))]


def contrastive_edges():
    x = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, 0.0]])
    return [("identical similar pairs (d = 0)", (x, x.copy(), np.array([1.0, 1.0]))),
            ("identical dissimilar pairs (d = 0)", (x, x.copy(), np.array([0.0, 0.0])))]


def view_edges():
    z = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    return [("identical views", (z, z.copy())),
            ("large embeddings", (z * 1e4, np.roll(z, 1, axis=0) * 1e4))]


def _triplet_with(distance):
    def compute(r, case):
        a, p, n = case.inputs
        prm = case.params
        if prm["swap"] or prm["p"] != 2:
            raise ValueError("variant defined for p=2 without swap")
        d_ap, d_an = distance(a - p + prm["eps"]), distance(a - n + prm["eps"])
        return np.asarray(reduce(np.maximum(d_ap - d_an + prm["margin"], 0.0), prm["reduction"]))
    return compute


TRIPLET_CONVENTIONS = (
    Convention("distance", "plain", {
        "plain": Option("uses plain distances", "torch.nn.TripletMarginLoss"),
        "squared": Option("compares squared Euclidean distances where TripletMarginLoss uses plain ones",
                          "FaceNet (Schroff et al. 2015) and code that follows it",
                          compute=_triplet_with(lambda d: np.sum(d * d, axis=-1)))}),
)

TRIPLET_VARIANTS = (
    Variant("mean absolute difference as the distance", "measures distance as the mean of |a - p| over features "
            "instead of the p-norm ‖a - p‖_p", "use F.pairwise_distance(a, p, p=2)",
            _triplet_with(lambda d: np.mean(np.abs(d), axis=-1))),
)


def _contrastive_plain_distance(r, case):
    x1, x2, label = case.inputs
    prm = case.params
    d = np.linalg.norm(x1 - x2, axis=-1)
    similar = label == prm.get("similar_label", 1)
    losses = prm.get("scale", 0.5) * np.where(similar, d, np.maximum(prm["margin"] - d, 0.0))
    return np.asarray(reduce(losses, prm["reduction"]))


CONTRASTIVE_CONVENTIONS = (
    Convention("scale", "half", {
        "half": Option("keeps the factor 1/2 of Hadsell et al. (2006)", "the paper"),
        "one": Option("drops the factor 1/2 of the Hadsell et al. formula", "many tutorials and Siamese-network repos",
                      {"scale": 1.0})}),
    Convention("similar_label", "1", {
        "1": Option("treats label 1 as similar", "Hadsell et al. (2006)"),
        "0": Option("treats label 0 as similar and 1 as dissimilar",
                    "Siamese-network tutorials that use 0 for similar pairs", {"similar_label": 0})}),
)

CONTRASTIVE_VARIANTS = (
    Variant("plain distance instead of squared", "uses the distance d where the formula squares it (d² and "
            "max(0, m - d)²)", "square both terms", _contrastive_plain_distance),
)


def _nt_xent(z_i, z_j, tau, *, normalise=True, extra_positive=False):
    z = np.concatenate([z_i, z_j])
    if normalise:
        z = z / np.maximum(np.linalg.norm(z, axis=-1, keepdims=True), 1e-12)
    n = len(z_i)
    sim = z @ z.T / tau
    np.fill_diagonal(sim, -np.inf)
    other = np.concatenate([np.arange(n, 2 * n), np.arange(n)])
    positive = sim[np.arange(2 * n), other]
    rows = np.column_stack([sim, positive]) if extra_positive else sim
    return logsumexp(rows, axis=1) - positive


def _info_nce_variant(**options):
    def compute(r, case):
        z_i, z_j = case.inputs
        return np.asarray(reduce(_nt_xent(z_i, z_j, case.params["temperature"], **options), case.params["reduction"]))
    return compute


def _directional(r, case):
    q, k = (z / np.maximum(np.linalg.norm(z, axis=-1, keepdims=True), 1e-12) for z in case.inputs)
    logits = q @ k.T / case.params["temperature"]
    losses = logsumexp(logits, axis=1) - np.diag(logits)
    return np.asarray(reduce(losses, case.params["reduction"]))


INFO_NCE_CONVENTIONS = (
    Convention("direction", "symmetric", {
        "symmetric": Option("is NT-Xent over 2N views (SimCLR)", "SimCLR, MONAI ContrastiveLoss"),
        "directional": Option("is directional InfoNCE (query to key only, N anchors, logits q.k/tau)",
                              "info-nce-pytorch, one side of CLIP", compute=_directional)}),
)

INFO_NCE_VARIANTS = (
    Variant("temperature multiplied", "multiplies the similarities by the temperature instead of dividing by it",
            "divide the similarities by the temperature",
            lambda r, case: call(r, case, temperature=1.0 / case.params["temperature"])),
    Variant("embeddings not normalised", "uses raw dot products: the embeddings are not L2-normalised before the "
            "cosine similarity", "F.normalize(z, dim=1) first", _info_nce_variant(normalise=False)),
    Variant("positive counted twice", "puts the positive pair in the denominator twice (it prepends the positive "
            "to a similarity row that already holds it)", "use the similarity row without the self-similarity, "
            "once", _info_nce_variant(extra_positive=True)),
)


SPECS = [
    LossSpec(
        id="triplet_margin", family="embedding", summary="max(‖a-p+eps‖_p - ‖a-n+eps‖_p + margin, 0)",
        signature=("anchor", "positive", "negative"), reference=ref.triplet_margin,
        params=(MARGIN, Param("p", 2.0, ("norm",), (1.0, 2.0, 3.0)), Param("eps", 1e-6),
                Param("swap", False, values=(False, True)), REDUCTION),
        draw_inputs=draw_triplet, layouts=("batch", "single", "no_batch"), grad_args=(0, 1, 2), target_arg=None,
        edge_cases=triplet_edges, variants=TRIPLET_VARIANTS, conventions=TRIPLET_CONVENTIONS,
        torch=("torch.nn.TripletMarginLoss", "torch.nn.functional.triplet_margin_loss")),
    LossSpec(
        id="contrastive", family="embedding", summary="½[y·d² + (1-y)·max(0, m-d)²], Euclidean d (Hadsell 2006)",
        signature=("x1", "x2", "label"), reference=ref.contrastive, params=(MARGIN, REDUCTION),
        draw_inputs=draw_pairs_with_label, layouts=("batch", "single"), grad_args=(0, 1), target_arg=2,
        edge_cases=contrastive_edges, variants=CONTRASTIVE_VARIANTS,
        conventions=CONTRASTIVE_CONVENTIONS),
    LossSpec(
        id="info_nce", family="embedding", summary="NT-Xent (SimCLR): cross-entropy of cosine/τ towards the other view",
        signature=("z_i", "z_j"), reference=ref.info_nce,
        params=(Param("temperature", 0.5, ("tau", "t", "temp"), (0.05, 0.1, 0.5, 1.0)), REDUCTION),
        draw_inputs=draw_views, layouts=("batch", "single"), grad_args=(0, 1), target_arg=None,
        edge_cases=view_edges, variants=INFO_NCE_VARIANTS, conventions=INFO_NCE_CONVENTIONS),
]
