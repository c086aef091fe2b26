"""Specs for the regularisation terms: l1_penalty (β·Σ|w|) and l2_penalty (½α·Σw²).

A penalty takes a model's parameter tensors, not a batch: its one layout is `no_batch` (a weight tensor of 1
to 4 dims: a bias, a linear layer, a convolution kernel), it has no reduction and no target. A candidate that
takes several tensors (`*params`) is audited on one.
"""
import numpy as np
from hypothesis import strategies as st

from losscheck.diagnosis.conventions import Convention, Option
from losscheck.references import regularisation as ref
from losscheck.specs.base import LossSpec, Naming, Param
from losscheck.judge.strategies import floats, size
from losscheck.diagnosis.variants import Variant, call

STRENGTHS = (1.0, 0.01, 0.5)


def draw_weights(draw, *, layout, target_format, scale, params):
    """(weights,): one parameter tensor of 1 to 4 dims; entries up to 5, or up to 1e4 at the extreme scale."""
    rank = draw(st.integers(1, 4), label="rank")
    shape = tuple(size(draw, f"dim{i}", 1, 4) for i in range(rank))
    return (floats(draw, shape, 5.0 if scale == "normal" else 1e4, label="weights"),)


def weight_edges():
    """All zeros (the kink of |w| everywhere), mixed signs and zeros, and entries of 1e4 (w² = 1e8)."""
    return [("all zeros", (np.zeros((2, 3)),)),
            ("zeros among signed values", (np.array([[0.0, -1.5, 2.0], [0.0, 3.0, -0.25]]),)),
            ("large weights", (np.array([1e4, -1e4, 3e3, 0.5]),))]


def _mean_instead_of_sum(r, case):
    return call(r, case) / np.asarray(case.inputs[0]).size


MEAN = Variant("mean instead of sum", "averages over the elements (torch.mean) instead of summing them, so the "
               "penalty's strength shrinks as the layer grows", "sum over the elements: torch.sum(...)",
               _mean_instead_of_sum)

NORM = Variant("norm instead of its square", "is α·‖w‖₂ (torch.norm(w)) instead of ½α·‖w‖₂², so the gradient "
               "α·w/‖w‖ has the same size for every weight and is undefined at w = 0",
               "use 0.5 * alpha * w.pow(2).sum() (or torch.norm(w) ** 2)",
               lambda r, case: case.params["alpha"] * np.sqrt(np.sum(np.square(np.asarray(case.inputs[0])))))

L2_CONVENTIONS = (
    Convention("scale", "half", {
        "half": Option("computes ½α·Σw² (its gradient α·w is SGD's weight_decay=α)", "Dive into Deep Learning"),
        "one": Option("computes α·Σw² without the ½", "Keras regularizers.L2", kwargs={"half": False})}),
)


def penalty_spec(id, summary, reference, strength, *, naming, conventions=(), variants=()):
    return LossSpec(
        id=id, family="regularisation", summary=summary, naming=naming, signature=("weights",),
        reference=reference, params=(strength,), draw_inputs=draw_weights, layouts=("no_batch",),
        target_arg=None, edge_cases=weight_edges, conventions=conventions, variants=variants)


SPECS = [
    penalty_spec("l1_penalty", "β·Σ|w| over every element of the tensors given (lasso)", ref.l1_penalty,
                 Param("beta", 1.0, ("lambd", "lam", "lamb", "l1_lambda", "lambda_l1", "strength", "coef"),
                       STRENGTHS),
                 naming=Naming(("l1 penalty", "l1 regulari", "lasso")), variants=(MEAN,)),
    penalty_spec("l2_penalty", "½α·Σw² over every element of the tensors given (ridge, weight decay α)",
                 ref.l2_penalty,
                 Param("alpha", 1.0, ("lambd", "lam", "lamb", "l2_lambda", "lambda_l2", "weight_decay", "wd",
                                      "strength", "coef"), STRENGTHS),
                 naming=Naming(("l2 penalty", "l2 regulari", "weightdecay", "ridge")), conventions=L2_CONVENTIONS,
                 variants=(MEAN, NORM)),
]
