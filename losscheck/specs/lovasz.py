"""Specs for the Lovasz losses (Berman et al., CVPR 2018): lovasz_hinge (binary, logits and 0/1 labels) and
lovasz_softmax (multiclass, class probabilities and class indices), both scalars without a reduction argument.

Their conventions are those of the official code (bermanmaxim/LovaszSoftmax) and segmentation_models_pytorch:
per image or over the batch flattened (the official defaults differ: per image for the hinge, over the batch for
the softmax), the classes present in the labels or all of them, and logits through a softmax inside.
"""
import numpy as np
from scipy.special import softmax

from losscheck.diagnosis.conventions import Convention, Option
from losscheck.diagnosis.variants import Variant, call, with_params
from losscheck.judge.strategies import batch_size, binary, class_indices, logits, size, spatial
from losscheck.references import lovasz as ref
from losscheck.specs.base import LossSpec, Naming, Param

IGNORE = Param("ignore", None, ("ignore_index", "void"))
PIXELS_BY = {"image": ("computes the loss per image and averages the images", "the official lovasz_hinge "
                       "(per_image=True)", {"per_image": True}),
             "batch": ("flattens the whole batch into one set of pixels", "segmentation_models_pytorch LovaszLoss "
                       "(per_image=False), the official lovasz_softmax", {"per_image": False})}


def per_image(default):
    """The per_image convention with `default` in force (the official hinge's is "image", its softmax's "batch")."""
    return Convention("per_image", default, {name: Option(*option) for name, option in PIXELS_BY.items()})


PER_IMAGE_PARAMS = {"per_image": ("per_image", {True: "image", False: "batch"})}

# How a binary loss may take its logits: (N, H, W) like its labels (the official code), or with a channel,
# (N, 1, H, W) beside (N, H, W) labels (kornia, segmentation_models_pytorch's binary mode). The reference keeps the
# first; accepting only one is the loss's own contract.
LOGIT_VIEWS = {"channel": lambda inputs: (inputs[0][:, None], inputs[1])}


def _void_pixels(draw, labels, params):
    """The labels with some pixels set to the `ignore` label, where the loss has one."""
    if params.get("ignore") is None:
        return labels
    void = binary(draw, labels.shape, label="ignored pixels").astype(bool)
    return np.where(void, params["ignore"], labels).astype(labels.dtype)


def draw_binary(draw, *, layout, target_format, scale, params):
    """(logits (N, H, W), labels (N, H, W) 0/1), some labels `ignore` where the loss has one."""
    shape = (batch_size(draw, "single" if layout == "single" else "batch"), *spatial(draw, "spatial2d"))
    return logits(draw, shape, scale, label="logits"), _void_pixels(draw, binary(draw, shape, label="labels"), params)


def draw_classes(draw, *, layout, target_format, scale, params):
    """(probabilities (N, C, H, W), softmax of drawn logits over C >= 2, labels (N, H, W) class indices)."""
    n = batch_size(draw, "single" if layout == "single" else "batch")
    dims = spatial(draw, "spatial2d")
    c = size(draw, "C", 2, 3)
    probas = softmax(logits(draw, (n, c, *dims), scale, label="logits"), axis=1)
    labels = class_indices(draw, (n, *dims), c, label="labels")
    return probas, _void_pixels(draw, labels, params)


def hinge_edges():
    labels = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]]])
    signs = 2.0 * labels - 1.0
    return [("every error tied (zero logits)", (np.zeros_like(labels), labels)),
            ("perfect prediction beyond the margin", (3.0 * signs, labels)),
            ("an image without foreground", (np.array([[[0.5, -2.0], [1.0, 0.0]]] * 2), np.zeros((2, 2, 2))))]


def softmax_edges():
    labels = np.array([[[0, 1], [1, 1]], [[2, 2], [2, 2]]])
    onehot = np.moveaxis(np.eye(3)[labels], -1, 1)
    return [("uniform probabilities", (np.full((2, 3, 2, 2), 1.0 / 3.0), labels)),
            ("perfect prediction", (onehot, labels)),
            ("one class per image", (np.moveaxis(np.eye(3)[np.full((2, 2, 2), 1)], -1, 1), labels))]


def _per_image(r, case):
    """The loss computed on each image alone and averaged, whatever the loss in force claims (over the batch).
    lovasz_hinge only: where per image is the default (the hinge's), this equals the reference unless the candidate
    declares per_image=False; where the batch is (the softmax's), it would name a correct per-image loss that
    declares nothing a defect before the per_image convention is tried."""
    return np.mean([call(r, case.with_inputs(tuple(a[i:i + 1] for a in case.inputs)))
                    for i in range(len(case.inputs[0]))])


PER_IMAGE_DEFECT = Variant(
    "per image while claiming the batch", "computes the loss per image and averages the images while it claims "
    "one loss over the batch flattened (per_image=False): a different quantity, not an estimate of it",
    "flatten the whole batch before sorting the errors (or declare per_image=True)", _per_image)

UNSORTED_LABELS = with_params(
    "Lovasz gradient of unsorted labels", "takes lovasz_grad of the labels in their own order instead of the order "
    "of the sorted errors (gt_sorted = labels[perm] is missing)", "permute the labels by the sort of the errors: "
    "errors_sorted, perm = torch.sort(errors, descending=True); grad = lovasz_grad(labels[perm])",
    labels_sorted=lambda p: False)

ELU_HINGE = with_params(
    "elu+1 instead of relu", "takes elu(errors) + 1 for the hinge where Berman et al. take relu(errors): never 0, so "
    "a prediction beyond the margin still costs", "use F.relu(errors_sorted)", hinge=lambda p: "elu+1")

SPECS = [
    LossSpec(
        id="lovasz_hinge", family="lovasz",
        summary="Lovasz extension of the Jaccard loss at the hinge errors relu(1 - s·y), per image (Berman 2018)",
        naming=Naming(("lovasz hinge", "lovasz binary")),
        signature=("input", "target"), reference=ref.lovasz_hinge, params=(IGNORE,), draw_inputs=draw_binary,
        layouts=("spatial2d", "single"), target_formats=("pixels", "channel"), target_views=LOGIT_VIEWS,
        formats_are_conventions=True, edge_cases=hinge_edges,
        variants=(UNSORTED_LABELS, ELU_HINGE, PER_IMAGE_DEFECT), conventions=(per_image("image"),),
        convention_params=PER_IMAGE_PARAMS),
    LossSpec(
        id="lovasz_softmax", family="lovasz",
        summary="mean over classes of the Lovasz extension of each class's Jaccard loss at |1[y=c] - p_c| (Berman "
                "2018)",
        naming=Naming(("lovasz softmax", "lovasz")),
        signature=("input", "target"), reference=ref.lovasz_softmax, params=(IGNORE,), draw_inputs=draw_classes,
        layouts=("spatial2d", "single"), edge_cases=softmax_edges,
        variants=(UNSORTED_LABELS,),
        conventions=(per_image("batch"),
                     Convention("classes", "present", {
                         "present": Option("averages over the classes present in the labels", "the official code, "
                                           "segmentation_models_pytorch"),
                         "all": Option("averages over every class (an absent class scores its largest probability)",
                                       "the official code with classes='all'", {"classes": "all"})}),
                     Convention("activation", "none", {
                         "none": Option("takes probabilities", "the official code"),
                         "softmax": Option("applies softmax over the classes to its input (takes logits)",
                                           "segmentation_models_pytorch LovaszLoss('multiclass')",
                                           {"activation": "softmax"})})),
        convention_params={**PER_IMAGE_PARAMS, "classes": ("classes", {"all": "all"})}),
]
