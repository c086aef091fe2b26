"""Known variants of a reference: the classic mistakes (and documented conventions) a candidate may follow.

A Variant computes what the loss would be under one mistake, from the reference and a case. Diagnosis
(losscheck/diagnosis/explain.py) tries each variant of a spec when the candidate disagrees with the reference and
names the one that reproduces the candidate on every drawn example. Adding a variant is a few lines here
or in a spec module; the checks never special-case a mistake.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import expit, softmax


@dataclass(frozen=True)
class Variant:
    name: str                 # short name, e.g. "sum instead of mean"
    says: str                 # the mistake in plain words, completing "the candidate ..."
    fix: str                  # what to change
    compute: Callable         # (reference, case) -> ndarray: the loss under this mistake
    code: str = "LC102"       # LC102 known defect; LC103 documented convention (a warning)
    libraries: str = ""       # for conventions: who follows it
    fit: Callable | None = None  # (reference, case, candidate value) -> params the mistake used (e.g. pos_weight)
    convention: tuple | None = None  # (name, value) when this variant is an undeclared convention
    # The mistake shows in the gradient only (the value is the reference's): the derivative of `compute` is the
    # candidate's gradient, and the gradient check names it (code LC303) where the reference's gradient disagrees.
    gradient: bool = False


def replace_input(case, index, value):
    inputs = list(case.inputs)
    inputs[index] = value
    return case.with_inputs(inputs)


def call(reference, case, **overrides):
    return np.asarray(reference(*case.inputs, **{**case.params, **overrides}), dtype=np.float64)


def on_input(name, says, fix, transform, index=0, code="LC102"):
    """The mistake applies `transform` to one input before the (correct) loss."""
    return Variant(name, says, fix, lambda ref, case: call(ref, replace_input(case, index, transform(case.inputs[index]))),
                   code)


def with_params(name, says, fix, code="LC102", libraries="", **changes):
    """The mistake is a wrong parameter value: each change maps the case's params to the value used."""
    return Variant(name, says, fix,
                   lambda ref, case: call(ref, case, **{k: f(case.params) for k, f in changes.items()}),
                   code, libraries)


def scaled(name, says, fix, factor, code="LC102"):
    """The mistake multiplies the loss by `factor(params)`."""
    return Variant(name, says, fix, lambda ref, case: call(ref, case) * factor(case.params), code)


def both(first: Variant, second: Variant) -> Variant:
    """The two mistakes at once (a product of variants, as conventions.combinations makes products of conventions):
    `first` computed on the loss as `second` gets it wrong, i.e. `first` with the reference replaced by `second`'s
    loss. A variant that applies its mistake to the inputs or the parameters and then calls the reference (on_input,
    with_params, scaled) composes this way; one with free parameters (fit) does not, and is left out by `pairs`."""
    def compute(ref, case):
        def wrong(*inputs, **params):
            return second.compute(ref, case.with_inputs(inputs).with_params(**params))
        return first.compute(wrong, case)

    return Variant(f"{first.name} and {second.name}", f"{first.says}, and {second.says}",
                   f"{first.fix}; and {second.fix}", compute, "LC102")


def pairs(variants):
    """Every product of two different known defects (LC102, without free parameters), each order once: what
    diagnosis tries when no single variant or convention explains a disagreement (two mistakes in one loss)."""
    pool = [v for v in variants if v.code == "LC102" and v.fit is None]
    for i, first in enumerate(pool):
        for second in pool[i + 1:]:
            yield both(first, second)
            yield both(second, first)


def _only_for_mean(fn):
    def compute(ref, case):
        if case.params.get("reduction", "mean") != "mean":
            raise ValueError("variant applies to reduction='mean' only")
        return fn(ref, case)
    return compute


def _batch_only_mean(ref, case):
    values = call(ref, case, reduction="none")
    return np.asarray(values.sum() / max(case.inputs[0].shape[0], 1) if case.inputs[0].ndim else values.sum())


COMMON = (
    Variant("sum instead of mean", "returns the sum over elements where the mean is expected (the reduction is "
            "sum, so the loss grows with the batch)", "divide by the number of elements (use .mean())",
            _only_for_mean(lambda ref, case: call(ref, case, reduction="sum"))),
    Variant("mean over the batch only", "sums over every dimension but the batch and divides by the batch size "
            "only (wrong normalising axis for 'mean')", "average over every element, not over the batch only",
            _only_for_mean(_batch_only_mean)),
    scaled("missing factor ½", "is twice the reference: a factor ½ of the formula is missing", "multiply by 0.5",
           lambda p: 2.0),
    scaled("extra factor ½", "is half the reference: an extra factor ½", "drop the 0.5 factor", lambda p: 0.5),
)

# Building blocks for spec modules.
sigmoid = expit


def softmax_classes(x):
    return softmax(x, axis=0 if x.ndim == 1 else 1)

