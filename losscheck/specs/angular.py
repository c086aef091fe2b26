"""Specs for the angular-margin softmax losses: arcface (additive angular margin) and cosface (large-margin
cosine).

Both take the cosines between normalised embeddings and normalised class weights, (N, C), and class indices: the
signature of insightface's margin heads (``ArcFace(logits, labels)``, ``CosFace``, ``CombinedMarginLoss``), whose
cross-entropy follows them. A loss that takes the embeddings and the class weights and normalises them itself is
the call form ``with_embeddings`` (chosen by its argument names). Libraries that own the class-weight matrix
(pytorch-metric-learning's ``ArcFaceLoss`` and ``CosFaceLoss``, arcface-pytorch's ``ArcMarginProduct``) draw it at
construction, out of the audit's sight: called as their users call them, loss(embeddings, labels), their values
depend on weights no reference sees, so they are audited in that form with their weights set
(losscheck/examples/angular.py, PMLArcFaceLoss).
"""
import numpy as np
from hypothesis.extra import numpy as hnp
from scipy.special import log_softmax

from losscheck.diagnosis.conventions import Convention, Option
from losscheck.diagnosis.variants import Variant, with_params
from losscheck.judge.strategies import batch_size, class_indices, floats, size
from losscheck.references import angular as ref
from losscheck.references._reduce import reduce
from losscheck.specs.base import LossSpec, Naming, Param
from losscheck.specs.forms import Form
from losscheck.specs.regression import REDUCTION

# |cos θ| < 1 (127/128, a float32): at ±1, sin θ = sqrt(1 - cos²θ) has an infinite derivative in every library
COSINE_BOUND = 0.9921875
ROW_NORM = 0.98   # every row of cosines lies in the unit ball: unit embeddings and weights realise it exactly


def draw_cosines(draw, *, layout, target_format, scale, params):
    """(cosine (N, C), labels (N,)): N = 1 for a single sample. Each row lies in the unit ball (norm at most 0.98,
    its non-target cosines shrunk where needed), so that unit embeddings and class weights give exactly these
    cosines (`with_embeddings`). Some targets are drawn far from their class (cos θ_y in [-127/128, -0.90625], past
    ArcFace's switch at θ = π - m for m >= 0.44), where the fallback past π - m decides the loss."""
    n, c = batch_size(draw, layout), size(draw, "C", 2, 5)
    cosine = floats(draw, (n, c), COSINE_BOUND, label="cosine")
    labels = class_indices(draw, (n,), c, label="labels")
    far = draw(hnp.arrays(np.bool_, (n,)), label="far targets")
    cosine[far, labels[far]] = floats(draw, (int(far.sum()),), -0.90625, label="far cosines",
                                      min_value=-COSINE_BOUND)
    rows = np.arange(n)
    target = cosine[rows, labels].copy()
    others = np.sqrt(np.maximum(np.sum(cosine ** 2, axis=1) - target ** 2, 0.0))
    room = np.sqrt(np.maximum(ROW_NORM ** 2 - target ** 2, 0.0))
    shrink = np.where(others > room, room / np.where(others > 0, others, 1.0), 1.0)
    cosine = (cosine * shrink[:, None]).astype(np.float32).astype(np.float64)
    cosine[rows, labels] = target
    return cosine, labels


def angular_edges():
    """Target cosines past the fallback's switch (θ > π - m: cos θ < -0.88 at m = 0.5), near ±1, and a row of
    equal cosines (every logit the same)."""
    cosine = np.array([[-0.96875, 0.125, 0.0625], [0.9921875, -0.0625, 0.0], [0.0, 0.0, 0.0],
                       [-0.25, 0.875, -0.375], [-0.9921875, 0.0, 0.0625]])
    return [("targets past π - m, near ±1 and equal cosines", (cosine, np.array([0, 0, 2, 2, 0])))]


def with_embeddings() -> Form:
    """(cosine, labels) <-> (embeddings (N, D), weight (C, D), labels): a loss that normalises the embeddings and
    the class weights itself (F.linear(F.normalize(x), F.normalize(W)), as arcface-pytorch's ArcMarginProduct and
    pytorch-metric-learning do with the weights they own). The catalogue's cosines become the embeddings
    [c_i, sqrt(1 - |c_i|²)] against the class weights [I_C | 0] (D = C + 1), whose cosines they are exactly."""
    def to_form(inputs):
        cosine, labels = inputs
        rest = 1.0 - np.sum(cosine ** 2, axis=1, keepdims=True)
        if np.any(rest < 0):
            raise ValueError("arcface (embeddings, weight, labels): a row of cosines outside the unit ball")
        c = cosine.shape[1]
        weight = np.hstack([np.eye(c), np.zeros((c, 1))])
        return np.hstack([cosine, np.sqrt(rest)]), weight, labels

    def to_catalogue(inputs):
        embeddings, weight, labels = (np.asarray(a, dtype=np.float64) for a in inputs)
        e = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
        w = weight / np.maximum(np.linalg.norm(weight, axis=1, keepdims=True), 1e-12)
        return e @ w.T, inputs[2]

    return Form(("embeddings", "weight", "labels"),
                (("embeddings", "features", "embedding", "x", "input", "inputs"),
                 ("weight", "weights", "W", "kernel", "class_weight", "class_weights", "centers", "prototypes"),
                 ("labels", "label", "target", "targets", "y")),
                to_form, to_catalogue, grad_args=(0, 1), target_arg=2,
                says="embeddings and class weights, normalised inside (cosine = normalize(x) @ normalize(W).T)")


SCALE = Param("scale", 64.0, ("s", "scale_factor"), (64.0, 30.0, 10.0))


def _margin_everywhere(r, case):
    """Every class's cosine given the target's angular margin, with the th/mm fallback (the margin applied to all
    classes)."""
    cosine, labels = (np.asarray(a) for a in case.inputs)
    p = case.params
    logits = p["scale"] * ref.angular_margin(cosine, p["margin"], "linear")
    values = -log_softmax(logits, axis=1)[np.arange(len(labels)), labels]
    return np.asarray(reduce(values, p["reduction"]))


def _margin_on_cosine(r, case):
    """s · (cos θ_y - m): CosFace's margin where ArcFace's belongs."""
    p = case.params
    return np.asarray(ref.cosface(*case.inputs, scale=p["scale"], margin=p["margin"], reduction=p["reduction"]))


ARCFACE_VARIANTS = (
    Variant("margin on the cosine, not the angle", "subtracts the margin from the cosine, s · (cos θ_y - m) "
            "(CosFace's margin), where ArcFace adds it to the angle: s · cos(θ_y + m)",
            "cos(θ + m) = cos θ · cos m - sin θ · sin m, with sin θ = sqrt(1 - cos² θ)", _margin_on_cosine),
    Variant("margin on every class", "adds the angular margin to every class's angle, not only the target's",
            "apply cos(θ + m) to the target class only (one_hot * phi + (1 - one_hot) * cosine)",
            _margin_everywhere),
    with_params("scale missing", "leaves the cosines unscaled (s = 1): the softmax over values in [-1, 1] cannot "
                "get confident", "multiply the logits by s (64 in the paper)", scale=lambda p: 1.0),
    with_params("no fallback past π - m", "uses cos(θ + m) for every angle, which turns back up past θ = π - m (the "
                "loss rewards moving a far sample further away)", "where cos θ <= cos(π - m), use cos θ - m · sin(m) "
                "(insightface's th and mm), or easy_margin", fallback=lambda p: "none"),
)

ARCFACE_CONVENTIONS = (
    Convention("fallback", "linear", {
        "linear": Option("replaces cos(θ + m) by cos θ - m · sin m past θ = π - m",
                         "insightface ArcFace, arcface-pytorch ArcMarginProduct, pytorch-metric-learning ArcFaceLoss"),
        "easy": Option("adds the margin only where cos θ > 0 (easy margin)",
                       "insightface and arcface-pytorch easy_margin=True", {"fallback": "easy"})}),
)

COSFACE_VARIANTS = (
    with_params("margin on every class", "subtracts the margin from every class's cosine, which the softmax "
                "cancels: no margin at all", "subtract m from the target class's cosine only", margin=lambda p: 0.0),
    with_params("margin with the wrong sign", "adds the margin to the target's cosine (s · (cos θ_y + m)), which "
                "makes the target easier instead of harder", "s * (cosine - m * one_hot)",
                margin=lambda p: -p["margin"]),
    with_params("scale missing", "leaves the cosines unscaled (s = 1)", "multiply the logits by s (64 in the paper)",
                scale=lambda p: 1.0),
)

SPECS = [
    LossSpec(
        id="arcface", family="angular", summary="cross-entropy of s·cos(θ_y + m) (target) and s·cos θ_j, from cosines "
        "(N, C) and labels; mean over samples (Deng et al.)",
        naming=Naming(("arc face", "arcface", "arc margin", "additive angular"), standalone=("arcface",)),
        signature=("cosine", "labels"), reference=ref.arcface,
        params=(SCALE, Param("margin", 0.5, ("m",), (0.5, 0.3)), REDUCTION),
        draw_inputs=draw_cosines, layouts=("batch", "single"), target_formats=("indices",), grad_args=(0,),
        target_arg=1, edge_cases=angular_edges, variants=ARCFACE_VARIANTS, conventions=ARCFACE_CONVENTIONS,
        forms=(with_embeddings(),),
        convention_params={"easy_margin": ("fallback", {False: "linear", True: "easy"})}),
    LossSpec(
        id="cosface", family="angular", summary="cross-entropy of s·(cos θ_y - m) (target) and s·cos θ_j, from "
        "cosines (N, C) and labels; mean over samples (Wang et al.)",
        naming=Naming(("cos face", "cosface", "large margin cosine", "add margin"), standalone=("cosface",)),
        signature=("cosine", "labels"), reference=ref.cosface,
        params=(SCALE, Param("margin", 0.35, ("m",), (0.35, 0.4, 0.1)), REDUCTION),
        draw_inputs=draw_cosines, layouts=("batch", "single"), target_formats=("indices",), grad_args=(0,),
        target_arg=1, edge_cases=angular_edges, variants=COSFACE_VARIANTS, forms=(with_embeddings(),)),
]
