"""The multi-label corpus: buggy and correct losses for asymmetric (ASL), each registered with `@example`
(losscheck/examples/registry.py) with the catalogue id it claims, what its audit must say and the test table that
audits it. A defective loss's docstring says its defect; a correct one's says it is correct. The correct ones are
written as the libraries write them: the official repository's AsymmetricLoss (Alibaba-MIIL/ASL, MIT licence,
``-loss.sum()``) and timm's AsymmetricLossMultiLabel (a reduction argument, 'batchmean' by default).

Ids: asymmetric.
"""
from __future__ import annotations

import torch
from torch import nn

from losscheck.examples.registry import example


def _asl_terms(x, y, gamma_neg, gamma_pos, clip, eps, detach=False):
    """The official code's per-element terms -y·log p·(1 - p)^γ+ - (1 - y)·log(1 - p_m)·p_m^γ-; with `detach`, the
    focusing weight computed under no_grad (disable_torch_grad_focal_loss)."""
    xs_pos = torch.sigmoid(x)
    xs_neg = 1 - xs_pos
    if clip is not None and clip > 0:
        xs_neg = (xs_neg + clip).clamp(max=1)
    loss = y * torch.log(xs_pos.clamp(min=eps)) + (1 - y) * torch.log(xs_neg.clamp(min=eps))
    with torch.set_grad_enabled(torch.is_grad_enabled() and not detach):
        pt = xs_pos * y + xs_neg * (1 - y)
        weight = torch.pow(1 - pt, gamma_pos * y + gamma_neg * (1 - y))
    return -loss * weight


# -- a defect and a correct twin each (tests/test_catalogue.py) ------------------------------------------------------
@example("asymmetric", suite="catalogue")
class AsymmetricLossMultiLabel(nn.Module):
    """Correct twin (asymmetric): timm's AsymmetricLossMultiLabel (reduction 'batchmean', 'sum', 'mean' or 'none'),
    without its float32 cast."""

    def __init__(self, gamma_neg=4, gamma_pos=1, clip=0.05, eps=1e-8, reduction="batchmean"):
        super().__init__()
        self.gamma_neg, self.gamma_pos, self.clip, self.eps, self.reduction = gamma_neg, gamma_pos, clip, eps, reduction

    def forward(self, x, y):
        loss = _asl_terms(x, y, self.gamma_neg, self.gamma_pos, self.clip, self.eps)
        if self.reduction == "batchmean":
            return loss.sum() / x.shape[0]
        if self.reduction == "sum":
            return loss.sum()
        if self.reduction == "mean":
            return loss.mean()
        return loss


@example("asymmetric", expect="LC102", variant="gammas swapped", twin="AsymmetricLossMultiLabel", suite="catalogue")
def asl_gammas_swapped(input, target, gamma_neg=4.0, gamma_pos=1.0, clip=0.05):
    """Defect: gamma_neg on the positives and gamma_pos on the negatives."""
    return _asl_terms(input, target, gamma_pos, gamma_neg, clip, 1e-8).mean()


@example("asymmetric", expect="LC303", twin="AsymmetricLossMultiLabel", suite="catalogue")
def asl_weight_always_detached(input, target, gamma_neg=4.0, gamma_pos=1.0, clip=0.05):
    """Defect: the focusing weight computed under no_grad although the loss offers no way to say so (no
    disable_torch_grad_focal_loss): right values, the gradient of another loss."""
    return _asl_terms(input, target, gamma_neg, gamma_pos, clip, 1e-8, detach=True).mean()


@example("asymmetric", suite="catalogue")
class AsymmetricLossOptimized(nn.Module):
    """Correct (asymmetric, convention summed=yes): after the official repository's AsymmetricLossOptimized, whose
    disable_torch_grad_focal_loss computes the focusing weight under no_grad (read as detach_focusing)."""

    def __init__(self, gamma_neg=4, gamma_pos=1, clip=0.05, eps=1e-8, disable_torch_grad_focal_loss=False):
        super().__init__()
        self.gamma_neg, self.gamma_pos, self.clip, self.eps = gamma_neg, gamma_pos, clip, eps
        self.disable_torch_grad_focal_loss = disable_torch_grad_focal_loss

    def forward(self, x, y):
        return _asl_terms(x, y, self.gamma_neg, self.gamma_pos, self.clip, self.eps,
                          self.disable_torch_grad_focal_loss).sum()


# -- one candidate per variant and convention option, and a correct twin per id (tests/test_variants.py) -----------
@example("asymmetric", expect={"LC102": "gammas swapped"}, gallery=40, suite="wild")
@example("asymmetric", expect="LC102", variant="gammas swapped", suite="variants")
def asl_swapped_focusing(input, target, gamma_neg=4.0, gamma_pos=1.0):
    """(1 - p)^gamma_neg on the positives, p_m^gamma_pos on the negatives."""
    return _asl_terms(input, target, gamma_pos, gamma_neg, 0.05, 1e-8).mean()


@example("asymmetric", expect="LC102", variant="clip on the positives", suite="variants")
def asl_clip_on_positives(input, target, gamma_neg=4.0, gamma_pos=1.0, clip=0.05):
    """The probability shift on the positives (xs_pos + clip) and none on the negatives."""
    xs_pos = (torch.sigmoid(input) + clip).clamp(max=1)
    xs_neg = 1 - torch.sigmoid(input)
    loss = target * torch.log(xs_pos.clamp(min=1e-8)) + (1 - target) * torch.log(xs_neg.clamp(min=1e-8))
    pt = xs_pos * target + xs_neg * (1 - target)
    return (-loss * torch.pow(1 - pt, gamma_pos * target + gamma_neg * (1 - target))).mean()


@example("asymmetric", expect="LC102", variant="no probability shift", suite="variants")
def asl_without_shift(input, target, gamma_neg=4.0, gamma_pos=1.0, clip=0.05):
    """Takes clip and never applies it: an asymmetric focal loss without the probability shift."""
    return _asl_terms(input, target, gamma_neg, gamma_pos, 0.0, 1e-8).mean()


@example("asymmetric", expect="LC102", variant="sigmoid applied twice", suite="variants")
def asl_double_sigmoid(input, target, gamma_neg=4.0, gamma_pos=1.0, clip=0.05):
    """sigmoid applied to the logits before a loss that applies its own."""
    return _asl_terms(torch.sigmoid(input), target, gamma_neg, gamma_pos, clip, 1e-8).mean()


@example("asymmetric", expect="LC103", variant="summed=yes", suite="variants")
class AsymmetricLoss(nn.Module):
    """Correct (asymmetric, convention summed=yes): the official repository's AsymmetricLoss (Alibaba-MIIL/ASL,
    src/loss_functions/losses.py, MIT licence), which returns -loss.sum() (its disable_torch_grad_focal_loss is
    commented out there: accepted and unused)."""

    def __init__(self, gamma_neg=4, gamma_pos=1, clip=0.05, eps=1e-8, disable_torch_grad_focal_loss=False):
        super().__init__()
        self.gamma_neg, self.gamma_pos, self.clip, self.eps = gamma_neg, gamma_pos, clip, eps

    def forward(self, x, y):
        x_sigmoid = torch.sigmoid(x)
        xs_pos = x_sigmoid
        xs_neg = 1 - x_sigmoid
        if self.clip is not None and self.clip > 0:
            xs_neg = (xs_neg + self.clip).clamp(max=1)
        los_pos = y * torch.log(xs_pos.clamp(min=self.eps))
        los_neg = (1 - y) * torch.log(xs_neg.clamp(min=self.eps))
        loss = los_pos + los_neg
        if self.gamma_neg > 0 or self.gamma_pos > 0:
            pt = xs_pos * y + xs_neg * (1 - y)
            one_sided_gamma = self.gamma_pos * y + self.gamma_neg * (1 - y)
            loss *= torch.pow(1 - pt, one_sided_gamma)
        return -loss.sum()


@example("asymmetric", suite="variants")
def asymmetric_loss(input, target, gamma_neg=4.0, gamma_pos=1.0, clip=0.05, eps=1e-8, reduction="mean"):
    """Correct twin (asymmetric): the paper's ASL per element, averaged (reduction 'mean', 'sum' or 'none')."""
    loss = _asl_terms(input, target, gamma_neg, gamma_pos, clip, eps)
    return {"mean": loss.mean, "sum": loss.sum}.get(reduction, lambda: loss)()
