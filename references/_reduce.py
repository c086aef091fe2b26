"""The one reduction helper that every reference uses.

A reference computes its per-element (or per-sample) losses in float64 and hands them to
:func:`reduce`; nothing else in ``references/`` sums or averages losses by hand.
"""

from __future__ import annotations

import numpy as np

__all__ = ["REDUCTIONS", "check_reduction", "reduce"]

#: The reductions every reference accepts (kl_div also accepts "batchmean").
REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction, allowed=REDUCTIONS):
    """Raise ValueError unless ``reduction`` is one of ``allowed``; return it otherwise."""
    if not isinstance(reduction, str) or reduction not in allowed:
        choices = ", ".join(repr(r) for r in allowed)
        raise ValueError(f"reduction must be one of {choices}; got reduction={reduction!r}")
    return reduction


def reduce(values, reduction, weights=None):
    """Reduce float64 loss values the way PyTorch's ``reduction`` argument does.

    - ``"none"``: ``values`` as a float64 ndarray, shape unchanged (0-d stays 0-d).
    - ``"sum"``:  ``np.float64(sum(values))``.
    - ``"mean"``: ``np.float64(sum(values) / values.size)``, or, when ``weights`` is given,
      ``np.float64(sum(values) / sum(weights))`` (the weighted mean of nll_loss and
      cross_entropy, where ``values`` already carry their weights).

    A mean over nothing (no elements, or weights summing to 0) is ``nan``, as in torch.
    Reduced results are ``np.float64`` scalars, which are also Python floats.
    """
    check_reduction(reduction)
    values = np.asarray(values, dtype=np.float64)
    if reduction == "none":
        return values
    total = np.sum(values, dtype=np.float64)
    if reduction == "sum":
        return np.float64(total)
    if weights is None:
        denominator = np.float64(values.size)
    else:
        denominator = np.sum(np.asarray(weights, dtype=np.float64), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.float64(total / denominator)
