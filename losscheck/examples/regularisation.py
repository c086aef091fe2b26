"""The regularisation corpus: buggy and correct penalties for l1_penalty and l2_penalty, each registered with
`@example` (losscheck/examples/registry.py) with the catalogue id it claims, what its audit must say and the test
table that audits it. A defective loss's docstring says its defect; a correct one's says it is correct.

Ids: l1_penalty, l2_penalty.
"""
from __future__ import annotations

import torch
from torch import nn

from losscheck.examples.registry import example


# -- a defect and a correct twin each (tests/test_catalogue.py) ------------------------------------------------------
@example("l1_penalty", suite="catalogue")
def correct_l1_penalty(w, lambd=1.0):
    """Correct twin (l1_penalty): Dive into Deep Learning's torch.sum(torch.abs(w)), times its strength."""
    return lambd * torch.sum(torch.abs(w))


@example("l1_penalty", expect="LC102", variant="mean instead of sum", twin="correct_l1_penalty", suite="catalogue")
def mean_l1_penalty(w, lambd=1.0):
    """Defect: torch.mean of |w|, so the penalty weakens as the layer grows."""
    return lambd * w.abs().mean()


@example("l2_penalty", suite="catalogue")
class CorrectL2Penalty(nn.Module):
    """Correct twin (l2_penalty): ½·weight_decay·Σw² over every tensor given, the term SGD's weight_decay adds."""

    def __init__(self, weight_decay=1.0):
        super().__init__()
        self.weight_decay = weight_decay

    def forward(self, *params):
        return 0.5 * self.weight_decay * sum(p.pow(2).sum() for p in params)


@example("l2_penalty", expect="LC102", variant="norm instead of its square", twin="CorrectL2Penalty",
         suite="catalogue")
class NormL2Penalty(CorrectL2Penalty):
    """Defect (a forum classic): weight_decay·torch.norm(w), the norm where its square belongs."""

    def forward(self, *params):
        return self.weight_decay * sum(torch.norm(p) for p in params)


# -- one candidate per variant and convention option, and a correct twin per id (tests/test_variants.py) -----------
@example("l1_penalty", expect="LC102", variant="mean instead of sum", suite="variants")
def lasso_mean(weights, beta=1.0):
    """beta · mean|w|: averaged where the lasso term sums."""
    return beta * weights.abs().mean()


@example("l1_penalty", suite="variants")
def lasso_norm(weights, beta=1.0):
    """Correct twin (l1_penalty): β·‖w‖₁ by torch.linalg.vector_norm."""
    return beta * torch.linalg.vector_norm(weights, ord=1)


@example("l2_penalty", expect="LC102", variant="mean instead of sum", suite="variants")
def ridge_mean(weights, alpha=1.0):
    """½α · mean(w²): averaged where the ridge term sums."""
    return 0.5 * alpha * weights.pow(2).mean()


@example("l2_penalty", expect="LC102", variant="norm instead of its square", suite="variants")
def ridge_norm(weights, alpha=1.0):
    """α · ‖w‖₂: the norm, not half its square."""
    return alpha * weights.norm()


@example("l2_penalty", expect="LC103", variant="scale=one", suite="variants")
def keras_l2(weights, alpha=1.0):
    """Keras regularizers.L2: α · Σw², without the ½."""
    return alpha * torch.sum(torch.square(weights))


@example("l2_penalty", suite="variants")
def ridge(weights, alpha=1.0):
    """Correct twin (l2_penalty): ½α · ‖w‖₂² (Dive into Deep Learning's torch.sum(w.pow(2)) / 2)."""
    return 0.5 * alpha * torch.linalg.vector_norm(weights) ** 2
