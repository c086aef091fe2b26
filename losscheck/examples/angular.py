"""The angular-margin corpus: buggy and correct losses for arcface and cosface, each registered with `@example`
(losscheck/examples/registry.py) with the catalogue id it claims, what its audit must say and the test table that
audits it. A defective loss's docstring says its defect; a correct one's says it is correct. The correct ones are
written as the libraries write them: insightface's margin heads (ArcFace, CosFace: a module that returns the
margin logits, followed by cross_entropy), arcface-pytorch's ArcMarginProduct (th and mm, easy_margin) and
pytorch-metric-learning's ArcFaceLoss (angles through acos), each given the cosines.

Ids: arcface, cosface.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from losscheck.examples.registry import example


def _one_hot(cosine, labels):
    return F.one_hot(labels, cosine.shape[1]).to(cosine.dtype)


# -- a defect and a correct twin each (tests/test_catalogue.py) ------------------------------------------------------
@example("arcface", suite="catalogue")
class InsightfaceArcFace(nn.Module):
    """Correct twin (arcface): insightface arcface_torch's ArcFace margin head (th = cos(π - m), sinmm =
    sin(π - m) · m), its logits followed by cross_entropy as the training script does."""

    def __init__(self, s=64.0, margin=0.5):
        super().__init__()
        self.scale = s
        self.cos_m, self.sin_m = math.cos(margin), math.sin(margin)
        self.theta = math.cos(math.pi - margin)
        self.sinmm = math.sin(math.pi - margin) * margin

    def forward(self, logits, labels):
        logits = logits.clone()
        index = torch.where(labels != -1)[0]
        target_logit = logits[index, labels[index].view(-1)]
        sin_theta = torch.sqrt(1.0 - torch.pow(target_logit, 2))
        cos_theta_m = target_logit * self.cos_m - sin_theta * self.sin_m
        final_target_logit = torch.where(target_logit > self.theta, cos_theta_m, target_logit - self.sinmm)
        logits[index, labels[index].view(-1)] = final_target_logit
        return F.cross_entropy(logits * self.scale, labels)


@example("arcface", expect="LC102", variant="no fallback past π - m", twin="InsightfaceArcFace", suite="catalogue")
def arcface_without_fallback(cosine, labels, s=64.0, m=0.5):
    """Defect: cos(θ + m) for every angle, with no th/mm guard: past θ = π - m the target logit turns back up."""
    theta = torch.acos(cosine.clamp(-1, 1))
    target = torch.cos(theta + m)
    one_hot = _one_hot(cosine, labels)
    return F.cross_entropy(s * (one_hot * target + (1 - one_hot) * cosine), labels)


@example("cosface", suite="catalogue")
class InsightfaceCosFace(nn.Module):
    """Correct twin (cosface): insightface arcface_torch's CosFace margin head, followed by cross_entropy."""

    def __init__(self, s=64.0, m=0.40):
        super().__init__()
        self.s, self.m = s, m

    def forward(self, logits, labels):
        logits = logits.clone()
        index = torch.where(labels != -1)[0]
        logits[index, labels[index].view(-1)] = logits[index, labels[index].view(-1)] - self.m
        return F.cross_entropy(logits * self.s, labels)


@example("cosface", expect="LC102", variant="margin on every class", suite="variants")
@example("cosface", expect="LC102", variant="margin on every class", twin="InsightfaceCosFace", suite="catalogue")
def cosface_margin_everywhere(cosine, labels, s=64.0, m=0.35):
    """Defect: the margin subtracted from every class's cosine, which the softmax cancels."""
    return F.cross_entropy(s * (cosine - m), labels)


# -- one candidate per variant and convention option, and a correct twin per id (tests/test_variants.py) -----------
@example("arcface", expect="LC102", variant="margin on the cosine, not the angle", suite="variants")
def arcface_margin_on_cosine(cosine, labels, s=64.0, m=0.5):
    """s · (cos θ_y - m): the margin subtracted from the cosine where ArcFace adds it to the angle."""
    return F.cross_entropy(s * (cosine - m * _one_hot(cosine, labels)), labels)


@example("arcface", expect="LC102", variant="margin on every class", suite="variants")
def arcface_margin_everywhere(cosine, labels, s=64.0, m=0.5):
    """cos(θ + m) (with the th/mm guard) for every class, not only the target."""
    sine = torch.sqrt(1.0 - cosine ** 2)
    phi = torch.where(cosine > math.cos(math.pi - m), cosine * math.cos(m) - sine * math.sin(m),
                      cosine - math.sin(math.pi - m) * m)
    return F.cross_entropy(s * phi, labels)


@example("arcface", expect="LC102", variant="scale missing", suite="variants")
def arcface_unscaled(cosine, labels, m=0.5):
    """The margin logits without the scale s."""
    sine = torch.sqrt(1.0 - cosine ** 2)
    phi = torch.where(cosine > math.cos(math.pi - m), cosine * math.cos(m) - sine * math.sin(m),
                      cosine - math.sin(math.pi - m) * m)
    one_hot = _one_hot(cosine, labels)
    return F.cross_entropy(one_hot * phi + (1 - one_hot) * cosine, labels)


@example("arcface", expect={"LC102": "no fallback past π - m"}, gallery=39, suite="wild")
@example("arcface", expect="LC102", variant="no fallback past π - m", suite="variants")
def arcface_paper_formula(cosine, labels, s=64.0, m=0.5):
    """cos θ · cos m - sin θ · sin m for every angle: no th/mm guard."""
    sine = torch.sqrt(1.0 - cosine ** 2)
    one_hot = _one_hot(cosine, labels)
    phi = cosine * math.cos(m) - sine * math.sin(m)
    return F.cross_entropy(s * (one_hot * phi + (1 - one_hot) * cosine), labels)


@example("arcface", expect="LC103", variant="fallback=easy", suite="variants")
class ArcMarginEasy(nn.Module):
    """arcface-pytorch's ArcMarginProduct margin with easy_margin=True (the margin only where cos θ > 0), given
    the cosines, then cross-entropy; a loss whose parameter is not named easy_margin, so the convention is found."""

    def __init__(self, s=30.0, m=0.5):
        super().__init__()
        self.s, self.m = s, m

    def forward(self, cosine, label):
        sine = torch.sqrt((1.0 - torch.pow(cosine, 2)).clamp(0, 1))
        phi = cosine * math.cos(self.m) - sine * math.sin(self.m)
        phi = torch.where(cosine > 0, phi, cosine)
        one_hot = torch.zeros_like(cosine)
        one_hot.scatter_(1, label.view(-1, 1).long(), 1)
        return F.cross_entropy(self.s * ((one_hot * phi) + ((1.0 - one_hot) * cosine)), label)


@example("arcface", suite="variants")
class ArcMarginProduct(nn.Module):
    """Correct twin (arcface): arcface-pytorch's ArcMarginProduct (th = cos(π - m), mm = sin(π - m) · m; easy_margin
    declares the convention fallback=easy) given the cosines its normalised linear layer computes, then
    cross-entropy."""

    def __init__(self, s=30.0, m=0.50, easy_margin=False):
        super().__init__()
        self.s, self.m, self.easy_margin = s, m, easy_margin
        self.cos_m, self.sin_m = math.cos(m), math.sin(m)
        self.th = math.cos(math.pi - m)
        self.mm = math.sin(math.pi - m) * m

    def forward(self, cosine, label):
        sine = torch.sqrt((1.0 - torch.pow(cosine, 2)).clamp(0, 1))
        phi = cosine * self.cos_m - sine * self.sin_m
        if self.easy_margin:
            phi = torch.where(cosine > 0, phi, cosine)
        else:
            phi = torch.where(cosine > self.th, phi, cosine - self.mm)
        one_hot = torch.zeros_like(cosine)
        one_hot.scatter_(1, label.view(-1, 1).long(), 1)
        return F.cross_entropy(self.s * ((one_hot * phi) + ((1.0 - one_hot) * cosine)), label)


@example("arcface", suite="catalogue")
def pml_arcface(cosine, labels, margin=0.5, scale=64.0):
    """Correct (arcface): pytorch-metric-learning's ArcFaceLoss given the cosines: angles through acos, and
    cos θ - m · sin m where θ > π - m."""
    angles = torch.acos(torch.clamp(cosine, -1, 1))
    target = torch.where(angles <= math.pi - margin, torch.cos(angles + margin),
                         torch.cos(angles) - margin * math.sin(margin))
    one_hot = _one_hot(cosine, labels)
    return F.cross_entropy(scale * (cosine + one_hot * (target - cosine)), labels)


@example("cosface", expect="LC102", variant="margin with the wrong sign", suite="variants")
def cosface_margin_added(cosine, labels, s=64.0, m=0.35):
    """s · (cos θ_y + m): the margin added to the target's cosine."""
    return F.cross_entropy(s * (cosine + m * _one_hot(cosine, labels)), labels)


@example("cosface", expect="LC102", variant="scale missing", suite="variants")
def cosface_unscaled(cosine, labels, m=0.35):
    """cos θ_y - m without the scale."""
    return F.cross_entropy(cosine - m * _one_hot(cosine, labels), labels)


@example("cosface", suite="variants")
def pml_cosface(cosine, labels, margin=0.35, scale=64.0):
    """Correct twin (cosface): pytorch-metric-learning's CosFaceLoss given the cosines: the target's cosine minus
    the margin, every logit times the scale."""
    one_hot = _one_hot(cosine, labels)
    return F.cross_entropy(scale * (cosine - margin * one_hot), labels)


# -- the (embeddings, weight, labels) call form, and the libraries that own their weights (test_angular_conventions) -
@example("arcface", suite="catalogue")
def arcface_loss(embeddings, weight, labels, s=64.0, m=0.5):
    """Correct (arcface, the (embeddings, weight, labels) form): arcface-pytorch's ArcMarginProduct with its weight
    passed in, F.linear(F.normalize(x), F.normalize(W)), then the th/mm margin and cross-entropy."""
    cosine = F.linear(F.normalize(embeddings), F.normalize(weight))
    sine = torch.sqrt((1.0 - torch.pow(cosine, 2)).clamp(0, 1))
    phi = torch.where(cosine > math.cos(math.pi - m), cosine * math.cos(m) - sine * math.sin(m),
                      cosine - math.sin(math.pi - m) * m)
    one_hot = _one_hot(cosine, labels)
    return F.cross_entropy(s * (one_hot * phi + (1 - one_hot) * cosine), labels)


@example("arcface", expect="LC102", variant="no fallback past π - m", twin="arcface_loss", suite="catalogue")
def arcface_loss_unguarded(embeddings, weight, labels, s=64.0, m=0.5):
    """Defect (the (embeddings, weight, labels) form): cos(θ + m) with no th/mm guard past θ = π - m."""
    cosine = F.linear(F.normalize(embeddings), F.normalize(weight))
    sine = torch.sqrt((1.0 - torch.pow(cosine, 2)).clamp(0, 1))
    one_hot = _one_hot(cosine, labels)
    phi = cosine * math.cos(m) - sine * math.sin(m)
    return F.cross_entropy(s * (one_hot * phi + (1 - one_hot) * cosine), labels)


def _with_weight(loss, weight):
    """A pytorch-metric-learning margin loss whose owned class weights W (D, C) are `weight` (C, D) transposed, so
    the gradient reaches `weight` as it reaches W in training."""
    del loss.W
    loss.W = weight.t()
    return loss


class PMLArcFaceLoss(nn.Module):
    """Correct (arcface, the (embeddings, weight, labels) form): pytorch-metric-learning's ArcFaceLoss as its users
    call it, loss(embeddings, labels), with the class weights it owns set to `weight`. Its margin is in degrees
    (28.6 by default): this wrapper takes it in radians, the catalogue's unit, and converts."""

    def __init__(self, margin=0.5, scale=64.0):
        super().__init__()
        self.margin, self.scale = margin, scale

    def forward(self, embeddings, weight, labels):
        from pytorch_metric_learning.losses import ArcFaceLoss  # an optional library, imported where it is used
        loss = ArcFaceLoss(num_classes=weight.shape[0], embedding_size=weight.shape[1],
                           margin=math.degrees(self.margin), scale=self.scale)
        return _with_weight(loss, weight)(embeddings, labels)


class PMLCosFaceLoss(nn.Module):
    """Correct (cosface, the (embeddings, weight, labels) form): pytorch-metric-learning's CosFaceLoss as its users
    call it, with the class weights it owns set to `weight`."""

    def __init__(self, margin=0.35, scale=64.0):
        super().__init__()
        self.margin, self.scale = margin, scale

    def forward(self, embeddings, weight, labels):
        from pytorch_metric_learning.losses import CosFaceLoss  # an optional library, imported where it is used
        loss = CosFaceLoss(num_classes=weight.shape[0], embedding_size=weight.shape[1], margin=self.margin,
                           scale=self.scale)
        return _with_weight(loss, weight)(embeddings, labels)
