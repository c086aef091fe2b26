"""Specs for the multi-label classification losses: asymmetric (ASL, Ridnik et al. 2021) on logits (N, C) and
multi-hot targets.

The official repository's ``AsymmetricLoss`` returns ``-loss.sum()`` and has no reduction argument: a convention
(``summed``), named for the libraries that follow it, not the defect "sum instead of mean". timm's
``AsymmetricLossMultiLabel`` takes a reduction whose default, 'batchmean', divides the sum by the batch size.
Both take ``disable_torch_grad_focal_loss``, which computes the focusing weight under no_grad: the same values,
other gradients. It is a parameter of the reference (``detach_focusing``), held at the unperturbed input while the
gradient check takes finite differences (``LossSpec.stop_gradient``).
"""
import numpy as np

from losscheck.diagnosis.conventions import Convention, Option
from losscheck.diagnosis.variants import Variant, call, with_params
from losscheck.judge.strategies import batch_size, binary, logits, size
from losscheck.references import multilabel as ref
from losscheck.specs.base import LossSpec, Naming, Param
from losscheck.specs.classification import DOUBLE_SIGMOID, binary_logit_edges
from losscheck.specs.regression import REDUCTION


def draw_multilabel(draw, *, layout, target_format, scale, params):
    """(input logits (N, C), target multi-hot (N, C)): N = 1 for a single sample."""
    shape = (batch_size(draw, layout), size(draw, "C", 2, 6))
    return logits(draw, shape, scale), binary(draw, shape)


def _clip_on_positives(r, case):
    """The probability shift applied to the positives instead of the negatives: by the loss's symmetry (a
    positive of logit x is a negative of logit -x with the gammas exchanged), the reference on (-x, 1 - y)."""
    x, y = (np.asarray(a, dtype=np.float64) for a in case.inputs)
    p = case.params
    return call(r, case.with_inputs((-x, 1.0 - y)), gamma_pos=p["gamma_neg"], gamma_neg=p["gamma_pos"])


def focusing_at(case) -> dict:
    """The reference keyword that holds ASL's focusing weight at the case's logits (a constant in the gradient)."""
    return {"held_input": case.inputs[0]}


ASYMMETRIC_VARIANTS = (
    with_params("gammas swapped", "focuses the positives with gamma_neg and the negatives with gamma_pos",
                "(1 - p)^gamma_pos on the positives, p_m^gamma_neg on the negatives",
                gamma_pos=lambda p: p["gamma_neg"], gamma_neg=lambda p: p["gamma_pos"]),
    Variant("clip on the positives", "shifts the positives' probability by the clip (and leaves the negatives "
            "unshifted), where ASL shifts the negatives' only: p_m = max(p - clip, 0)",
            "xs_neg = (1 - sigmoid(x) + clip).clamp(max=1); leave xs_pos = sigmoid(x)", _clip_on_positives),
    with_params("no probability shift", "ignores the clip: the negatives' probability is not shifted (easy "
                "negatives are not discarded)", "xs_neg = (1 - p + clip).clamp(max=1)", clip=lambda p: 0.0),
    DOUBLE_SIGMOID,
)

ASYMMETRIC_CONVENTIONS = (
    Convention("summed", "no", {
        "no": Option("follows its reduction argument"),
        "yes": Option("returns -loss.sum(), the sum over the batch and the classes, whatever the reduction",
                      "the official ASL repository (AsymmetricLoss, AsymmetricLossOptimized)", {"summed": True})}),
)

SPECS = [
    LossSpec(
        id="asymmetric", family="multilabel", summary="ASL: -(1-p)^γ+·log p (positives), -p_m^γ-·log(1-p_m), "
        "p_m = max(p - clip, 0) (negatives), on logits; mean over elements (Ridnik et al.)",
        naming=Naming(("asymmetric", "asl"), standalone=("asl",)),
        signature=("input", "target"), reference=ref.asymmetric,
        params=(Param("gamma_neg", 4.0, ("gamma_minus", "gamma_n"), (4.0, 2.0, 0.0)),
                Param("gamma_pos", 1.0, ("gamma_plus", "gamma_p"), (1.0, 0.0, 2.0)),
                Param("clip", 0.05, ("probability_margin", "margin"), (0.05, 0.0, 0.2), none_value=0.0),
                Param("eps", 1e-8), REDUCTION,
                Param("detach_focusing", False, ("disable_torch_grad_focal_loss",), (False, True))),
        draw_inputs=draw_multilabel, layouts=("batch", "single"), target_formats=("binary",),
        edge_cases=binary_logit_edges, elementwise=True, variants=ASYMMETRIC_VARIANTS,
        conventions=ASYMMETRIC_CONVENTIONS, stop_gradient=focusing_at),
]
