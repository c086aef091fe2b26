"""Float64 references for the regularisation terms: l1_penalty and l2_penalty.

A penalty is a function of a model's parameters, not of a batch: it takes the tensors it penalises (any
number, any shapes) and returns one scalar, summed over every element of every tensor. There is no batch
axis and no `reduction`.

NumPy only: this module never imports torch.
"""

from __future__ import annotations

import numpy as np

from ._reduce import reduce

__all__ = ["l1_penalty", "l2_penalty"]


def _elements(weights):
    """Every element of every tensor given, as one float64 vector."""
    if not weights:
        raise ValueError("a penalty needs at least one tensor")
    return np.concatenate([np.asarray(w, dtype=np.float64).ravel() for w in weights])


def l1_penalty(*weights, beta=1.0):
    """The L1 (lasso) penalty ``β·Σ|w|`` over every element of the tensors given.

    Its subgradient is ``β·sign(w)``; at ``w = 0`` any value in [-β, β] is one (autograd gives 0).

    Source: Tibshirani, "Regression Shrinkage and Selection via the Lasso", JRSS B 1996; Dive into Deep
    Learning, section 3.7 (`l1_penalty(w) = torch.sum(torch.abs(w))`, β applied by the caller).
    """
    return np.float64(beta) * reduce(np.abs(_elements(weights)), "sum")


def l2_penalty(*weights, alpha=1.0, half=True):
    """The L2 (ridge, weight decay) penalty ``½α·Σw²`` over every element of the tensors given.

    With the ½ its gradient is ``α·w``, the term SGD's ``weight_decay=α`` adds; ``half=False`` is
    ``α·Σw²`` (the Keras convention: ``tf.keras.regularizers.L2(l2=α)`` is ``α·reduce_sum(square(w))``).

    Source: Krogh and Hertz, "A Simple Weight Decay Can Improve Generalization", NeurIPS 1991; Dive into Deep
    Learning, section 3.7 (`l2_penalty(w) = torch.sum(w.pow(2)) / 2`).
    """
    scale = 0.5 if half else 1.0
    return np.float64(scale * alpha) * reduce(np.square(_elements(weights)), "sum")
