"""Specs for the embedding and ranking losses: triplet_margin, contrastive, info_nce."""
import numpy as np
from hypothesis import strategies as st

from losscheck.references import embedding as ref
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


SPECS = [
    LossSpec(
        id="triplet_margin", family="embedding", summary="max(‖a-p+eps‖_p - ‖a-n+eps‖_p + margin, 0)",
        signature=("anchor", "positive", "negative"), reference=ref.triplet_margin,
        params=(MARGIN, Param("p", 2.0, ("norm",), (1.0, 2.0, 3.0)), Param("eps", 1e-6),
                Param("swap", False, values=(False, True)), REDUCTION),
        draw_inputs=draw_triplet, layouts=("batch", "single", "no_batch"), grad_args=(0, 1, 2), target_arg=None,
        edge_cases=triplet_edges,
        torch=("torch.nn.TripletMarginLoss", "torch.nn.functional.triplet_margin_loss")),
    LossSpec(
        id="contrastive", family="embedding", summary="½[y·d² + (1-y)·max(0, m-d)²], Euclidean d (Hadsell 2006)",
        signature=("x1", "x2", "label"), reference=ref.contrastive, params=(MARGIN, REDUCTION),
        draw_inputs=draw_pairs_with_label, layouts=("batch", "single"), grad_args=(0, 1), target_arg=2,
        edge_cases=contrastive_edges),
    LossSpec(
        id="info_nce", family="embedding", summary="NT-Xent (SimCLR): cross-entropy of cosine/τ towards the other view",
        signature=("z_i", "z_j"), reference=ref.info_nce,
        params=(Param("temperature", 0.5, ("tau", "t", "temp"), (0.05, 0.1, 0.5, 1.0)), REDUCTION),
        draw_inputs=draw_views, layouts=("batch", "single"), grad_args=(0, 1), target_arg=None,
        edge_cases=view_edges),
]
