"""Specs for the segmentation losses: dice, tversky, jaccard and generalized_dice (soft overlaps on probabilities,
per sample and channel), and the box losses iou and giou."""
import numpy as np
from hypothesis import strategies as st

from losscheck.references import segmentation as ref
from losscheck.references._reduce import reduce
from losscheck.specs.base import Advice, LossSpec, Naming, Param
from losscheck.specs.regression import REDUCTION
from losscheck.judge.strategies import batch_size, binary, class_indices, floats, probabilities, size, spatial
from losscheck.diagnosis.conventions import Convention, Option
from losscheck.diagnosis.variants import Variant, with_params


AVERAGE = Convention("average", "macro", {
    "macro": Option("computes one ratio per channel, then averages the channels", "MONAI, smp, most tutorials"),
    "micro": Option("pools every channel into one ratio per sample (sums over channels and space together)",
                    "kornia DiceLoss (average='micro', its default)", {"average": "micro"}),
    "present": Option("averages the per-channel ratios over the channels present in the target only (an empty "
                      "channel is left out of the mean)",
                      "kornia TverskyLoss (0.8 and later)", {"average": "present"})})

ACTIVATION = Convention("activation", "none", {
    "none": Option("takes probabilities", "losscheck default"),
    "sigmoid": Option("applies sigmoid to its input (takes logits)", "MONAI DiceLoss(sigmoid=True), smp",
                      {"activation": "sigmoid"}),
    "softmax": Option("applies softmax over channels to its input (takes logits)",
                      "MONAI DiceLoss(softmax=True), smp multiclass, kornia", {"activation": "softmax"})})

# MONAI's switches, read as the conventions they declare (a False leaves the default in force).
ACTIVATION_PARAMS = {"sigmoid": ("activation", {True: "sigmoid"}), "softmax": ("activation", {True: "softmax"})}
DICE_PARAMS = {**ACTIVATION_PARAMS, "squared_pred": ("squared_denominator", {True: "yes"}),
               "batch": ("per_sample", {True: "batch"})}

PER_SAMPLE = Convention("per_sample", "sample", {
    "sample": Option("computes one ratio per sample and channel, then averages", "MONAI DiceLoss (default)",
                     {"per_sample": True}),
    "batch": Option("computes one ratio per channel over the whole batch (sums over samples before dividing)",
                    "segmentation_models_pytorch, MONAI DiceLoss(batch=True)", {"per_sample": False})})

CLAMPED = Option("uses no smoothing term and clamps the denominator at eps (the smooth argument): "
                 "max(denominator, eps)", "segmentation_models_pytorch (smooth=0, eps=1e-7)",
                 {"smooth_numerator": False, "smooth_denominator": False, "clamp_denominator": True})

SQUARED_DENOMINATOR = Convention("squared_denominator", "no", {
    "no": Option("sums p and g in the denominator", "most implementations"),
    "yes": Option("squares the terms of the denominator (the V-Net form)",
                  "MONAI DiceLoss(squared_pred=True), V-Net", {"squared_denominator": True})})

# The smoothing forms every overlap ratio (dice, jaccard) comes in; each id adds the forms of its own formula.
RATIO_SMOOTHING = {
    "both": Option("adds the smoothing term to numerator and denominator", "most tutorials, kornia"),
    "denominator": Option("adds the smoothing term to the denominator only", "MONAI with smooth_nr=0",
                          {"smooth_numerator": False}),
    "none": Option("uses no smoothing term at all", "plain soft ratios",
                   {"smooth_numerator": False, "smooth_denominator": False}),
    "clamp": CLAMPED,
}

# A channel whose target is empty over the summed axes (in the whole batch, with per_sample=batch). Leaving it
# out of the mean is average=present.
EMPTY_CHANNEL = Convention("empty_channel", "formula", {
    "formula": Option("scores a channel with an empty target by the ratio itself", "MONAI, kornia"),
    "zero": Option("scores a channel whose target is empty as a loss of 0 and still counts it in the mean over "
                   "channels", "segmentation_models_pytorch", {"empty_channel": "zero"}),
    "one": Option("scores a channel whose target is empty as a loss of 1 and still counts it in the mean over "
                  "channels", "plain ratios with a clamped denominator", {"empty_channel": "one"})})

DICE_CONVENTIONS = (
    PER_SAMPLE,
    Convention("smoothing", "both", {
        **RATIO_SMOOTHING,
        "tversky": Option("is written in the Tversky form (I + s)/(I + FP/2 + FN/2 + s), which is Dice with "
                          "smoothing 2s (an empty pair scores a loss of 0 for s > 0)",
                          "libraries that compute Dice through their Tversky function (alpha = beta = 0.5)",
                          {"tversky_form": True}),
        "denominator_empty": Option("adds the smoothing term to the denominator only and handles the empty case "
                                    "apart: (2TP + s·[union = 0])/(2TP + FP + FN + s), so two empty masks score a "
                                    "loss of 0", "metric-style Dice losses (eps in the denominator)",
                                    {"smooth_numerator": "empty"})}),
    SQUARED_DENOMINATOR,
    EMPTY_CHANNEL,
    AVERAGE,
    ACTIVATION,
)


INDEX_FORMATS = ("index_map", "indices")


def draw_masks(draw, *, layout, target_format, scale, params):
    """(probabilities, target) of shape (N, C, *spatial); target one-hot over C or independent binary masks.

    The index formats draw a one-hot target over C >= 2 classes (one class would make the map all zeros):
    the reference reads it one-hot, the candidate sees it through MASK_VIEWS.
    """
    n = batch_size(draw, "single" if layout == "single" else "batch")
    dims = spatial(draw, "spatial3d" if layout == "spatial3d" else "spatial2d")
    c = size(draw, "C", 2 if target_format in INDEX_FORMATS else 1, 3)
    shape = (n, c, *dims)
    p = probabilities(draw, shape, saturate=scale == "extreme")
    if target_format in ("onehot", *INDEX_FORMATS):
        idx = class_indices(draw, (n, *dims), c)
        return p, np.moveaxis(np.eye(c)[idx], -1, 1)
    return p, binary(draw, shape)


# How index-target losses receive a one-hot target: a (N, 1, *spatial) index map (MONAI to_onehot_y=True) or
# (N, *spatial) class indices (kornia DiceLoss and TverskyLoss).
MASK_VIEWS = {
    "index_map": lambda inputs: (inputs[0], np.argmax(inputs[1], axis=1)[:, None]),
    "indices": lambda inputs: (inputs[0], np.argmax(inputs[1], axis=1)),
}
MASK_FORMATS = ("binary", "onehot", *INDEX_FORMATS)


# The smoothing term of the overlap ratios (dice, tversky, jaccard), under the names libraries give it.
SMOOTH = Param("smooth", 1.0, ("eps", "smooth_nr", "epsilon"), (1.0, 1e-5, 0.1), linked=("smooth_dr",))


def dice_edges():
    empty = np.zeros((2, 1, 2, 2))
    full = np.ones((2, 1, 2, 2))
    return [("empty mask and empty prediction", (empty, empty.copy())),
            ("perfect prediction", (full, full.copy())),
            ("empty mask, full prediction", (full, empty.copy()))]


SPECS = [
    LossSpec(
        id="dice", family="segmentation", summary="1 - (2Σpg + s)/(Σp + Σg + s) per sample and channel, then mean",
        naming=Naming(("dice", "sorensen")),
        advice=Advice(batch_overlap=("batch Dice", "numerator and denominator sums (Σp·g and Σp + Σg per channel)")),
        signature=("input", "target"), reference=ref.dice,
        params=(SMOOTH, REDUCTION),
        draw_inputs=draw_masks, layouts=("spatial2d", "single", "spatial3d"), target_formats=MASK_FORMATS,
        target_views=MASK_VIEWS, formats_are_conventions=True, edge_cases=dice_edges, conventions=DICE_CONVENTIONS,
        convention_params=DICE_PARAMS),
]


# -- tversky, generalized_dice ------------------------------------------------------------------------------

TVERSKY_CONVENTIONS = (
    PER_SAMPLE,
    Convention("smoothing", "both", {
        "both": Option("adds the smoothing term to numerator and denominator", "MONAI TverskyLoss (smooth_nr = "
                       "smooth_dr), most tutorials"),
        "denominator": Option("adds the smoothing term to the denominator only", "MONAI with smooth_nr=0, kornia",
                              {"smooth_numerator": False}),
        "none": Option("uses no smoothing term at all", "plain Tversky index",
                       {"smooth_numerator": False, "smooth_denominator": False}),
        "clamp": CLAMPED}),
    EMPTY_CHANNEL,
    AVERAGE,
    ACTIVATION,
)

TVERSKY_VARIANTS = (
    with_params("alpha and beta swapped", "weights false negatives by alpha and false positives by beta (alpha "
                "weights FP and beta FN in Salehi et al. and MONAI)", "alpha * FP + beta * FN",
                alpha=lambda p: p["beta"], beta=lambda p: p["alpha"]),
)


def _generalized_per_class(r, case):
    """Weighted Dice ratio per class, then the mean over classes: the class weights (nearly) cancel."""
    p, g = (np.asarray(a, dtype=np.float64) for a in case.inputs)
    prm = case.params
    axes = tuple(range(2, p.ndim)) if not prm["batch"] else (0, *range(2, p.ndim))
    inter, ground = np.sum(p * g, axis=axes), np.sum(g, axis=axes)
    with np.errstate(divide="ignore"):
        w = {"square": 1.0 / ground ** 2, "simple": 1.0 / ground, "uniform": np.ones_like(ground)}[prm["w_type"]]
    infinite = np.isinf(w)
    w = np.where(infinite, 0.0, w)
    w = np.where(infinite, np.max(w, axis=-1, keepdims=True, initial=0.0), w)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (2 * w * inter + prm["smooth_nr"]) / (w * (ground + np.sum(p, axis=axes)) + prm["smooth_dr"])
    return np.asarray(reduce(1.0 - np.mean(ratio, axis=-1), prm["reduction"]))


GENERALIZED_DICE_VARIANTS = (
    Variant("divided per class", "divides per class and then averages the ratios, so the class weights cancel "
            "(Sudre et al. sum numerator and denominator over classes before dividing)",
            "sum w_c·Σpg and w_c·Σ(p+g) over classes, then divide", _generalized_per_class),
)


def draw_class_masks(draw, *, layout, target_format, scale, params):
    """generalized_dice: masks with C >= 2 classes (one-hot by default, or independent binary channels)."""
    p, g = draw_masks(draw, layout=layout, target_format=target_format, scale=scale, params=params)
    if p.shape[1] == 1:
        p = np.concatenate([p, 1.0 - p], axis=1)
        g = np.concatenate([g, 1.0 - g], axis=1)
    return p, g


def generalized_dice_edges():
    empty = np.zeros((2, 2, 2, 2))
    one_class = np.zeros((2, 2, 2, 2))
    one_class[:, 0] = 1.0
    return [("every class absent, empty prediction", (empty, empty.copy())),
            ("a class absent from the target (infinite weight)", (np.full((2, 2, 2, 2), 0.5), one_class)),
            ("perfect prediction", (one_class.copy(), one_class))]


# -- iou, giou ----------------------------------------------------------------------------------------------

def draw_boxes(draw, *, layout, target_format, scale, params):
    """(input, target) boxes (N, 4), (1, 4) or (4,) as (x1, y1, x2, y2) with x2 > x1 and y2 > y1; the target
    is a perturbed copy of the input half the time (overlapping), else drawn on its own (often disjoint)."""
    n = None if layout == "no_batch" else batch_size(draw, layout)
    shape = (2,) if n is None else (n, 2)
    bound = 5.0 if scale == "normal" else 1e4

    def box(label):
        corner = floats(draw, shape, bound, label=f"{label} corner")
        extent = floats(draw, shape, bound, label=f"{label} size", min_value=0.0) + bound / 50
        return np.concatenate([corner, corner + extent], axis=-1)

    b1 = box("input")
    if draw(st.booleans(), label="overlapping"):
        jitter = floats(draw, b1.shape, bound / 5, label="jitter")
        b2 = b1 + jitter
        b2[..., 2:] = np.maximum(b2[..., 2:], b2[..., :2] + bound / 50)
    else:
        b2 = box("target")
    return b1, b2


def box_edges():
    b = np.array([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 4.0]])
    point = np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 5.0]])
    return [("identical boxes", (b, b.copy())),
            ("disjoint boxes", (b, b + 10.0)),
            ("touching boxes", (b, b + np.array([2.0, 0.0, 2.0, 0.0]))),
            ("degenerate (zero-area) boxes", (point, b)),
            ("degenerate boxes equal to the target", (point, point.copy())),
            ("one box inside the other", (b, np.array([[0.5, 0.5, 1.0, 1.0], [-1e4, -1e4, 1e4, 1e4]])))]


def _unclamped_intersection(enclosing):
    """IoU (or GIoU) with the overlap width and height not clamped at 0: two negative overlaps of disjoint
    boxes multiply to a positive 'intersection'."""
    def compute(r, case):
        b1, b2 = (np.asarray(a, dtype=np.float64) for a in case.inputs)
        eps = case.params["eps"]
        w = np.minimum(b1[..., 2], b2[..., 2]) - np.maximum(b1[..., 0], b2[..., 0])
        h = np.minimum(b1[..., 3], b2[..., 3]) - np.maximum(b1[..., 1], b2[..., 1])
        area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
        inter = w * h
        union = area(b1) + area(b2) - inter
        with np.errstate(divide="ignore", invalid="ignore"):
            values = 1.0 - inter / (union + eps)
            if enclosing:
                hull = ((np.maximum(b1[..., 2], b2[..., 2]) - np.minimum(b1[..., 0], b2[..., 0])) *
                        (np.maximum(b1[..., 3], b2[..., 3]) - np.minimum(b1[..., 1], b2[..., 1])))
                values = values + (hull - union) / (hull + eps)
        return np.asarray(reduce(values, case.params["reduction"]))
    return compute


def _iou_for_giou(r, case):
    return np.asarray(ref.iou(*case.inputs, **case.params))


def box_variants(enclosing):
    return (
        Variant("intersection not clamped at 0", "multiplies the overlap width and height without clamping them at "
                "0, so two disjoint boxes get a positive 'intersection'", "clamp both at 0: (w).clamp(min=0) * "
                "(h).clamp(min=0)", _unclamped_intersection(enclosing)),
        *((Variant("IoU loss presented as GIoU", "is the plain IoU loss 1 - IoU: the enclosure term (A_c - U) / A_c "
                   "of GIoU is missing", "add (enclosure - union) / (enclosure + eps)", _iou_for_giou),)
          if enclosing else ()),
    )


def box_spec(id, summary, reference, *, naming, generalized=False):
    """A box overlap loss on (x1, y1, x2, y2) boxes: iou, or giou (`generalized`)."""
    return LossSpec(
        id=id, family="segmentation", summary=summary, naming=naming, signature=("input", "target"),
        reference=reference, params=(BOX_EPS, REDUCTION), draw_inputs=draw_boxes,
        layouts=("batch", "single", "no_batch"), edge_cases=box_edges, variants=box_variants(generalized))


BOX_EPS = Param("eps", 1e-7, ("epsilon",))

SPECS += [
    LossSpec(
        id="tversky", family="segmentation", summary="1 - (TP + s)/(TP + α·FP + β·FN + s) per sample and channel",
        naming=Naming(("tversky",)),
        advice=Advice(batch_overlap=("batch Tversky", "TP, FP and FN sums per channel")),
        signature=("input", "target"), reference=ref.tversky,
        params=(Param("alpha", 0.5, values=(0.3, 0.5, 0.7)), Param("beta", 0.5, values=(0.3, 0.5, 0.7)),
                SMOOTH, REDUCTION),
        draw_inputs=draw_masks, layouts=("spatial2d", "single", "spatial3d"), target_formats=MASK_FORMATS,
        target_views=MASK_VIEWS, formats_are_conventions=True, edge_cases=dice_edges, variants=TVERSKY_VARIANTS,
        conventions=TVERSKY_CONVENTIONS, convention_params=ACTIVATION_PARAMS),
    LossSpec(
        id="generalized_dice", family="segmentation",
        naming=Naming(("generalizeddice", "gdl")),
        advice=Advice(batch_overlap=("batch generalized Dice",
                                     "weighted numerator and denominator sums (and Σg for the class weights)")),
        summary="1 - 2Σ_c w_c Σpg / Σ_c w_c Σ(p+g), w_c = 1/(Σg_c)² (Sudre 2017, MONAI)",
        signature=("input", "target"), reference=ref.generalized_dice,
        params=(Param("w_type", "square", values=("square", "simple", "uniform")),
                Param("smooth_nr", 1e-5, ("smooth", "eps"), (1e-5, 1.0)), Param("smooth_dr", 1e-5, values=(1e-5, 1.0)),
                Param("batch", False, values=(False, True)), REDUCTION),
        draw_inputs=draw_class_masks, layouts=("spatial2d", "single", "spatial3d"),
        target_formats=("onehot", "binary", *INDEX_FORMATS), target_views=MASK_VIEWS, formats_are_conventions=True,
        edge_cases=generalized_dice_edges, variants=GENERALIZED_DICE_VARIANTS, conventions=(ACTIVATION,),
        convention_params=ACTIVATION_PARAMS),
    box_spec("iou", "1 - I/(U + eps) on (x1, y1, x2, y2) boxes", ref.iou, naming=Naming(("iou",), also=("jaccard",))),
    box_spec("giou", "1 - IoU + (A_c - U)/A_c on (x1, y1, x2, y2) boxes (torchvision)", ref.giou,
             naming=Naming(("giou", "generalizediou")), generalized=True),
]


# -- jaccard: soft IoU on masks, with the Dice family's conventions ------------------------------------------------

JACCARD_CONVENTIONS = (
    PER_SAMPLE,
    Convention("smoothing", "both", {
        **RATIO_SMOOTHING,
        "doubled": Option("is written through a Dice formula, 1 - (2I + s)/(2U + s): the smoothing halved",
                          "MONAI DiceLoss(jaccard=True)", {"doubled_form": True})}),
    SQUARED_DENOMINATOR,
    EMPTY_CHANNEL,
    AVERAGE,
    ACTIVATION,
)


JACCARD_VARIANTS = (
    with_params("union counted as Σp + Σg", "divides by Σp + Σg, counting the intersection twice (a Dice "
                "denominator without Dice's factor 2), where the union is Σp + Σg - Σpg",
                "subtract the intersection: union = p.sum() + g.sum() - (p * g).sum()", sum_as_union=lambda p: True),
    with_params("activation applied twice", "applies its activation twice (a sigmoid on top of the loss's own "
                "sigmoid=True, or a softmax of a softmax): the probabilities of probabilities",
                "apply the activation once, to the logits", activation_twice=lambda p: True),
)

SPECS.append(LossSpec(
    id="jaccard", family="segmentation", summary="1 - (Σpg + s)/(Σp + Σg - Σpg + s) per sample and channel (soft IoU)",
    naming=Naming(("jaccard",), also=("iou",)),
    advice=Advice(batch_overlap=("batch Jaccard", "intersection and union sums (Σp·g and Σp + Σg per channel)")),
    signature=("input", "target"), reference=ref.jaccard,
    params=(SMOOTH, REDUCTION),
    draw_inputs=draw_masks, layouts=("spatial2d", "single", "spatial3d"), target_formats=MASK_FORMATS,
    target_views=MASK_VIEWS, formats_are_conventions=True, edge_cases=dice_edges, variants=JACCARD_VARIANTS,
    conventions=JACCARD_CONVENTIONS,
    convention_params={**DICE_PARAMS, "jaccard": ("smoothing", {True: "doubled"})}))
