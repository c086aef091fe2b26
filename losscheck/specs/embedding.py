"""Specs for the embedding and ranking losses: triplet_margin, contrastive, info_nce, hinge_embedding,
cosine_embedding, margin_ranking and triplet_batch_hard."""
import numpy as np
from hypothesis import strategies as st

from scipy.special import logsumexp

from losscheck.references import classification as classification_ref
from losscheck.references import embedding as ref
from losscheck.references._reduce import reduce
from losscheck.diagnosis.conventions import Convention, Option
from losscheck.diagnosis.variants import Variant, call, with_params
from losscheck.specs.base import LossSpec, Naming, Param
from losscheck.specs.forms import views_with_labels
from losscheck.specs.regression import REDUCTION, elementwise_shape
from losscheck.judge.strategies import batch_size, binary, class_indices, floats, logits, signs, size

MARGIN = Param("margin", 1.0, values=(0.5, 1.0, 2.0))


def embedding_shape(draw, layout):
    d = size(draw, "D", 1, 5)
    return (d,) if layout == "no_batch" else (batch_size(draw, layout), d)


def embeddings(draw, shape, scale, label):
    x = floats(draw, shape, 3.0, label=label)
    return x * draw(st.sampled_from([100.0, 1e4]), label="extreme_factor") if scale == "extreme" else x


def draw_triplet(draw, *, layout, target_format, scale, params):
    shape = embedding_shape(draw, layout)
    return tuple(embeddings(draw, shape, scale, name) for name in ("anchor", "positive", "negative"))


def draw_pairs_with_label(draw, *, layout, target_format, scale, params):
    shape = embedding_shape(draw, layout)
    x1, x2 = embeddings(draw, shape, scale, "x1"), embeddings(draw, shape, scale, "x2")
    return x1, x2, binary(draw, shape[:-1], label="label")


def nonzero_rows(x):
    """Embeddings with norm >= 0.5: cosine similarity of a zero vector is undefined."""
    x = x.copy()
    x[np.linalg.norm(x, axis=-1) < 0.5, 0] += 1.0
    return x


def draw_views(draw, *, layout, target_format, scale, params):
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
                          "FaceNet (Schroff et al. 2015) and code that follows it", {"squared": True})}),
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


def _cosine_for_contrastive(r, case):
    """CosineEmbeddingLoss (margin 0) on the pair with labels 1 -> 1 and 0 -> -1 (similar label 1)."""
    x1, x2, label = case.inputs
    y = np.where(np.asarray(label) == case.params.get("similar_label", 1), 1.0, -1.0)
    return np.asarray(ref.cosine_embedding(x1, x2, y, reduction=case.params["reduction"]))


CONTRASTIVE_VARIANTS = (
    Variant("plain distance instead of squared", "uses the distance d where the formula squares it (d² and "
            "max(0, m - d)²)", "square both terms", _contrastive_plain_distance),
    Variant("CosineEmbeddingLoss presented as contrastive", "is CosineEmbeddingLoss (1 - cos for similar pairs, "
            "max(0, cos - margin) for dissimilar ones) presented as the contrastive loss, which is on Euclidean "
            "distances: ½[y·d² + (1-y)·max(0, m-d)²]", "compute d = ‖x1 - x2‖ and the contrastive formula",
            _cosine_for_contrastive),
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


INFO_NCE_CONVENTIONS = (
    Convention("direction", "symmetric", {
        "symmetric": Option("is NT-Xent over 2N views (SimCLR)", "SimCLR, MONAI ContrastiveLoss"),
        "directional": Option("is directional InfoNCE (query to key only, N anchors, logits q.k/tau)",
                              "info-nce-pytorch, one side of CLIP", {"direction": "directional"})}),
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
        naming=Naming(("triplet",)),
        signature=("anchor", "positive", "negative"), reference=ref.triplet_margin,
        params=(MARGIN, Param("p", 2.0, ("norm",), (1.0, 2.0, 3.0)), Param("eps", 1e-6),
                Param("swap", False, values=(False, True)), REDUCTION),
        draw_inputs=draw_triplet, layouts=("batch", "single", "no_batch"), grad_args=(0, 1, 2), target_arg=None,
        edge_cases=triplet_edges, variants=TRIPLET_VARIANTS, conventions=TRIPLET_CONVENTIONS,
        torch=("torch.nn.TripletMarginLoss", "torch.nn.functional.triplet_margin_loss")),
    LossSpec(
        id="contrastive", family="embedding", summary="½[y·d² + (1-y)·max(0, m-d)²], Euclidean d (Hadsell 2006)",
        naming=Naming(("contrastive",)),
        signature=("x1", "x2", "label"), reference=ref.contrastive, params=(MARGIN, REDUCTION),
        draw_inputs=draw_pairs_with_label, layouts=("batch", "single"), grad_args=(0, 1), target_arg=2,
        edge_cases=contrastive_edges, variants=CONTRASTIVE_VARIANTS,
        conventions=CONTRASTIVE_CONVENTIONS),
    LossSpec(
        id="info_nce", family="embedding", summary="NT-Xent (SimCLR): cross-entropy of cosine/τ towards the other view",
        naming=Naming(("infonce", "ntxent", "nce", "simclr"), also=("contrastive",),
                      standalone=("infonce", "ntxent")),
        signature=("z_i", "z_j"), reference=ref.info_nce,
        params=(Param("temperature", 0.5, ("tau", "t", "temp"), (0.05, 0.1, 0.5, 1.0)), REDUCTION),
        draw_inputs=draw_views, layouts=("batch", "single"), grad_args=(0, 1), target_arg=None,
        edge_cases=view_edges, variants=INFO_NCE_VARIANTS, conventions=INFO_NCE_CONVENTIONS,
        forms=(views_with_labels(),)),
]


# -- hinge_embedding, cosine_embedding, margin_ranking, triplet_batch_hard ----------------------------------

def draw_signed_distances(draw, *, layout, target_format, scale, params):
    """hinge_embedding: (input, labels in {-1, 1}) of one shape; input is typically a distance but any real."""
    shape = elementwise_shape(draw, layout)
    x = floats(draw, shape, 5.0, label="input")
    return x * draw(st.sampled_from([100.0, 1e4]), label="extreme_factor") if scale == "extreme" else x, \
        signs(draw, shape)


def hinge_embedding_edges():
    x = np.array([[0.0, 1.0, 0.5, 2.0, 1e4, -1e4]])
    return [("distances at 0 and at the margin, label 1", (x, np.ones_like(x))),
            ("distances at 0 and at the margin, label -1", (x, -np.ones_like(x)))]


def draw_cosine_pairs(draw, *, layout, target_format, scale, params):
    """(x1, x2, y in {-1, 1}): rows of norm >= 0.5 (zero vectors are edge cases: their cosine is defined only
    through torch's eps, and its derivative there is of order 1/sqrt(eps))."""
    shape = embedding_shape(draw, layout)
    x1, x2 = (nonzero_rows(embeddings(draw, shape, scale, name)) for name in ("x1", "x2"))
    return x1, x2, signs(draw, shape[:-1], label="y")


def cosine_edges():
    z = np.zeros((2, 3))
    x = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, 0.0]])
    return [("zero vectors, y = 1", (z, x, np.array([1.0, 1.0]))),
            ("zero vectors, y = -1", (x, z.copy(), np.array([-1.0, -1.0]))),
            ("both zero", (z, z.copy(), np.array([1.0, -1.0]))),
            ("identical and opposite vectors", (x, np.array([[0.5, -1.0, 2.0], [-1.0, 0.0, 0.0]]), np.array([1.0, -1.0])))]


def draw_ranking(draw, *, layout, target_format, scale, params):
    """(x1, x2, y in {-1, 1}): scores of shape (N,), or () without a batch."""
    shape = () if layout == "no_batch" else (batch_size(draw, layout),)
    x1, x2 = (logits(draw, shape, scale, label=name) for name in ("x1", "x2"))
    return x1, x2, signs(draw, shape, label="y")


def ranking_edges():
    x = np.array([0.0, 1.0, -1e4, 1e4])
    return [("equal scores", (x, x.copy(), np.array([1.0, -1.0, 1.0, -1.0]))),
            ("extreme gaps", (x, -x, np.array([-1.0, 1.0, 1.0, -1.0])))]


def draw_labelled_embeddings(draw, *, layout, target_format, scale, params):
    """(embeddings (N, D), labels (N,)): N >= 3, at least one anchor with a positive and a negative (the first two
    rows share a label, the third has another); the rest drawn among 3 labels."""
    n, d = size(draw, "N", 3, 6), size(draw, "D", 1, 4)
    labels = np.concatenate([[0, 0, 1], class_indices(draw, (n - 3,), 3, label="labels")]).astype(np.int64)
    return embeddings(draw, (n, d), scale, "embeddings"), labels


def batch_hard_edges():
    e = np.array([[0.5, -1.0], [0.5, -1.0], [0.5, -1.0], [2.0, 0.0]])
    return [("identical embeddings (zero distances)", (np.zeros((4, 2)), np.array([0, 0, 1, 1]))),
            ("duplicate positives, one negative", (e, np.array([0, 0, 0, 1]))),
            ("an anchor without a positive", (e * 1e4, np.array([0, 0, 1, 2])))]


def _svm_hinge_for_hinge_embedding(r, case):
    return np.asarray(classification_ref.hinge(*case.inputs, **case.params))


HINGE_EMBEDDING_VARIANTS = (
    Variant("SVM hinge presented as HingeEmbeddingLoss", "is the binary SVM hinge max(0, margin - y·x), not "
            "HingeEmbeddingLoss (x where y = 1, max(0, margin - x) where y = -1)",
            "use torch.where(y == 1, x, torch.clamp(margin - x, min=0))", _svm_hinge_for_hinge_embedding),
)

COSINE_VARIANTS = (
    with_params("margin ignored", "leaves the margin out: max(0, cos) for dissimilar pairs whatever the margin",
                "use max(0, cos - margin)", margin=lambda p: 0.0),
)

RANKING_VARIANTS = (
    Variant("sign of y flipped", "ranks the other way: max(0, y·(x1 - x2) + margin) (x1 and x2 swapped, or the "
            "sign of y lost)", "use max(0, -y * (x1 - x2) + margin)",
            lambda r, case: call(r, case.with_inputs((case.inputs[1], case.inputs[0], case.inputs[2])))),
)


def _batch_hard_all_anchors(r, case):
    if case.params.get("reduction", "mean") != "mean":
        raise ValueError("defined for 'mean'")
    return np.asarray(call(r, case, reduction="sum") / len(case.inputs[0]))


BATCH_HARD_CONVENTIONS = (
    Convention("distance", "plain", {
        "plain": Option("uses plain Euclidean distances", "Hermans et al. 2017"),
        "squared": Option("compares squared Euclidean distances", "FaceNet-style code", {"squared": True})}),
    Convention("normalise", "no", {
        "no": Option("uses the embeddings as given", "Hermans et al. 2017"),
        "yes": Option("L2-normalises the embeddings before the distances",
                      "pytorch-metric-learning (LpDistance(normalize_embeddings=True), its default)",
                      {"normalise": True})}),
    Convention("mining", "hard", {
        "hard": Option("takes the hardest positive and negative of each anchor", "Hermans et al. 2017, "
                       "pytorch-metric-learning with BatchHardMiner"),
        "all": Option("uses every valid triplet and averages over those with a positive loss",
                      "pytorch-metric-learning TripletMarginLoss without a miner (AvgNonZeroReducer)",
                      {"mining": "all"})}),
)

BATCH_HARD_VARIANTS = (
    Variant("mean over every anchor", "divides by the batch size, counting anchors that have no positive or no "
            "negative (and so no triplet) as zero losses", "average over the anchors that have both",
            _batch_hard_all_anchors),
)

SPECS += [
    LossSpec(
        id="hinge_embedding", family="embedding", summary="x where y = 1, max(0, margin - x) where y = -1",
        naming=Naming(("hingeembedding",), also=("hinge",)),
        signature=("input", "target"), reference=ref.hinge_embedding, params=(MARGIN, REDUCTION),
        draw_inputs=draw_signed_distances, layouts=("batch", "single", "no_batch", "spatial2d"),
        edge_cases=hinge_embedding_edges, elementwise=True, variants=HINGE_EMBEDDING_VARIANTS,
        torch=("torch.nn.HingeEmbeddingLoss", "torch.nn.functional.hinge_embedding_loss")),
    LossSpec(
        id="cosine_embedding", family="embedding", summary="1 - cos where y = 1, max(0, cos - margin) where y = -1",
        naming=Naming(("cosineembedding",)),
        signature=("x1", "x2", "y"), reference=ref.cosine_embedding,
        params=(Param("margin", 0.0, values=(-0.5, 0.0, 0.5)), REDUCTION),
        draw_inputs=draw_cosine_pairs, layouts=("batch", "single", "no_batch"), grad_args=(0, 1), target_arg=2,
        edge_cases=cosine_edges, variants=COSINE_VARIANTS,
        torch=("torch.nn.CosineEmbeddingLoss", "torch.nn.functional.cosine_embedding_loss")),
    LossSpec(
        id="margin_ranking", family="embedding", summary="max(0, -y·(x1 - x2) + margin)",
        naming=Naming(("marginranking", "ranking")),
        signature=("x1", "x2", "y"), reference=ref.margin_ranking,
        params=(Param("margin", 0.0, values=(0.0, 0.5, 1.0)), REDUCTION),
        draw_inputs=draw_ranking, layouts=("batch", "single", "no_batch"), grad_args=(0, 1), target_arg=2,
        edge_cases=ranking_edges, variants=RANKING_VARIANTS,
        torch=("torch.nn.MarginRankingLoss", "torch.nn.functional.margin_ranking_loss")),
    LossSpec(
        id="triplet_batch_hard", family="embedding",
        naming=Naming(("batchhard", "hardtriplet", "triplethard"), also=("triplet",)),
        summary="per anchor relu(hardest positive - hardest negative + margin), mean over anchors with both",
        signature=("embeddings", "labels"), reference=ref.triplet_batch_hard,
        params=(MARGIN, Param("squared", False, values=(False, True)), REDUCTION),
        draw_inputs=draw_labelled_embeddings, layouts=("batch",), target_formats=("indices",),
        edge_cases=batch_hard_edges, variants=BATCH_HARD_VARIANTS, conventions=BATCH_HARD_CONVENTIONS),
]
