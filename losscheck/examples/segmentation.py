"""The segmentation corpus: buggy and correct losses for the segmentation ids, each registered with `@example`
(losscheck/examples/registry.py) with the catalogue id it claims, what its audit must say and the test table
that audits it. A defective loss's docstring says its defect; a correct one's says it is correct.

Ids: dice, tversky, generalized_dice, iou, giou, jaccard.
"""
from __future__ import annotations

import torch
from torch import nn

from losscheck.examples.common import reduce, reduce_loose, same_shape, spatial_dims
from losscheck.examples.registry import example


def _overlap(input, target, clamp=True):
    x1, y1, x2, y2 = input.unbind(-1)
    x1g, y1g, x2g, y2g = target.unbind(-1)
    w = torch.minimum(x2, x2g) - torch.maximum(x1, x1g)
    h = torch.minimum(y2, y2g) - torch.maximum(y1, y1g)
    intersection = torch.where((w > 0) & (h > 0), w * h, 0.0) if clamp else w * h
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intersection
    hull = (torch.maximum(x2, x2g) - torch.minimum(x1, x1g)) * (torch.maximum(y2, y2g) - torch.minimum(y1, y1g))
    return intersection, union, hull


def _box_terms(input, target, clamp=True):
    w = torch.minimum(input[..., 2], target[..., 2]) - torch.maximum(input[..., 0], target[..., 0])
    h = torch.minimum(input[..., 3], target[..., 3]) - torch.maximum(input[..., 1], target[..., 1])
    intersection = w.clamp(min=0) * h.clamp(min=0) if clamp else w * h
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    union = area(input) + area(target) - intersection
    enclosure = ((torch.maximum(input[..., 2], target[..., 2]) - torch.minimum(input[..., 0], target[..., 0])) *
                 (torch.maximum(input[..., 3], target[..., 3]) - torch.minimum(input[..., 1], target[..., 1])))
    return intersection, union, enclosure


def empty_channels(loss, target, dims, fill):
    """The per-channel losses with `fill` where the target is empty over `dims`, then their mean."""
    return torch.where(target.sum(dims) > 0, loss, torch.full_like(loss, fill)).mean()


def present_mean(loss, target):
    """Mean over the channels present in the target (kornia's TverskyLoss), then over the batch."""
    present = target.sum(spatial_dims(target)) > 0
    score = torch.where(present, 1 - loss, torch.zeros_like(loss))
    return (1 - score.sum(1) / present.sum(1).clamp_min(1)).mean()


# -- the pitfall fixtures: one defect per pitfall code, and correct twins (tests/test_checks.py) ---------------------
@example("dice", suite="pitfalls")
class CorrectDice(nn.Module):
    """Correct twin (dice): soft Dice per sample and channel, sums over the spatial dims, then reduced."""

    def __init__(self, smooth: float = 1.0, reduction: str = "mean"):
        super().__init__()
        self.smooth, self.reduction = smooth, reduction

    def forward(self, input, target):
        same_shape(input, target)
        dims = tuple(range(2, input.dim()))
        inter = (input * target).sum(dims)
        denom = input.sum(dims) + target.sum(dims)
        return reduce(1.0 - (2.0 * inter + self.smooth) / (denom + self.smooth), self.reduction)


@example("dice", expect="LC605", twin="CorrectDice", suite="pitfalls")
class DiceView(nn.Module):
    """LC605: per-sample soft Dice flattened with input.view(n, c, -1): raises on a cropped or transposed
    prediction (e.g. a U-Net output cropped to the mask, logits[..., 1:-1, 1:-1], or x.transpose(2, 3))."""

    def __init__(self, smooth: float = 1.0, reduction: str = "mean"):
        super().__init__()
        self.smooth, self.reduction = smooth, reduction

    def forward(self, input, target):
        n, c = input.shape[:2]
        p, g = input.view(n, c, -1), target.view(n, c, -1)
        dice = (2 * (p * g).sum(-1) + self.smooth) / (p.sum(-1) + g.sum(-1) + self.smooth)
        return reduce(1 - dice, self.reduction)


@example("dice", expect="LC705", twin="CorrectDice", suite="pitfalls")
class DiceRejectsEmpty(nn.Module):
    """LC705: soft Dice that raises on an empty target mask (a valid input: images without the class)."""

    def __init__(self, smooth: float = 1.0, reduction: str = "mean"):
        super().__init__()
        self.smooth, self.reduction = smooth, reduction

    def forward(self, input, target):
        if not bool((target.sum(dim=tuple(range(1, target.dim()))) > 0).all()):
            raise ValueError("empty target mask: nothing to segment")
        dims = tuple(range(2, input.dim()))
        dice = (2 * (input * target).sum(dims) + self.smooth) / (input.sum(dims) + target.sum(dims) + self.smooth)
        return reduce(1 - dice, self.reduction)


# -- the catalogue's ids beyond the first twelve: a defect and a correct twin each (tests/test_catalogue.py) ---------
@example("tversky", suite="catalogue")
class CorrectTversky(nn.Module):
    """Correct twin (tversky)."""

    def __init__(self, alpha=0.5, beta=0.5, smooth=1.0, reduction="mean"):
        super().__init__()
        self.alpha, self.beta, self.smooth, self.reduction = alpha, beta, smooth, reduction

    def weights(self):
        return self.alpha, self.beta  # false positives, false negatives

    def forward(self, input, target):
        dims = tuple(range(2, input.dim()))
        tp = (input * target).sum(dims)
        fp = (input * (1 - target)).sum(dims)
        fn = ((1 - input) * target).sum(dims)
        w_fp, w_fn = self.weights()
        return reduce_loose(1 - (tp + self.smooth) / (tp + w_fp * fp + w_fn * fn + self.smooth), self.reduction)


@example("tversky", expect="LC102", variant="alpha and beta swapped", twin="CorrectTversky", suite="catalogue")
class TverskySwapped(CorrectTversky):
    """Defect: alpha weights the false negatives and beta the false positives."""

    def __init__(self, alpha=0.3, beta=0.7, smooth=1.0, reduction="mean"):
        super().__init__(alpha, beta, smooth, reduction)

    def weights(self):
        return self.beta, self.alpha


@example("generalized_dice", suite="catalogue")
class CorrectGeneralizedDice(nn.Module):
    """Correct twin (generalized_dice)."""

    per_class = False

    def __init__(self, w_type="square", smooth_nr=1e-5, smooth_dr=1e-5, batch=False, reduction="mean"):
        super().__init__()
        self.w_type, self.smooth_nr, self.smooth_dr = w_type, smooth_nr, smooth_dr
        self.batch, self.reduction = batch, reduction

    def forward(self, input, target):
        dims = [0, *range(2, input.dim())] if self.batch else list(range(2, input.dim()))
        intersection = (input * target).sum(dims)
        ground = target.sum(dims)
        denominator = ground + input.sum(dims)
        if self.w_type == "square":
            w = 1.0 / (ground * ground)
        elif self.w_type == "simple":
            w = 1.0 / ground
        else:
            w = torch.ones_like(ground)
        infinite = torch.isinf(w)
        w = torch.where(infinite, 0.0, w)
        w = torch.where(infinite, w.amax(-1, keepdim=True), w)
        if self.per_class:
            ratio = (2 * w * intersection + self.smooth_nr) / (w * denominator + self.smooth_dr)
            return reduce_loose(1 - ratio.mean(-1), self.reduction)
        numerator = 2 * (intersection * w).sum(-1) + self.smooth_nr
        return reduce_loose(1 - numerator / ((denominator * w).sum(-1) + self.smooth_dr), self.reduction)


@example("generalized_dice", expect="LC102", variant="divided per class", twin="CorrectGeneralizedDice",
         suite="catalogue")
class GeneralizedDicePerClass(CorrectGeneralizedDice):
    """Defect: divides per class and averages the ratios, so the class weights cancel."""

    per_class = True


@example("iou", suite="catalogue")
def correct_iou(input, target, eps=1e-7, reduction="mean"):
    """Correct twin (iou)."""
    intersection, union, _ = _overlap(input, target)
    return reduce_loose(1 - intersection / (union + eps), reduction)


@example("iou", expect="LC102", variant="intersection not clamped at 0", twin="correct_iou", suite="catalogue")
def iou_unclamped(input, target, eps=1e-7, reduction="mean"):
    """Defect: overlap width and height multiplied without clamping at 0."""
    intersection, union, _ = _overlap(input, target, clamp=False)
    return reduce_loose(1 - intersection / (union + eps), reduction)


@example("giou", suite="catalogue")
def correct_giou(input, target, eps=1e-7, reduction="mean"):
    """Correct twin (giou)."""
    intersection, union, hull = _overlap(input, target)
    return reduce_loose(1 - intersection / (union + eps) + (hull - union) / (hull + eps), reduction)


@example("giou", expect="LC201", twin="correct_giou", suite="catalogue")
def giou_without_eps(input, target, reduction="mean"):
    """Defect: no eps: a degenerate box equal to its target is 0/0."""
    intersection, union, hull = _overlap(input, target)
    return reduce_loose(1 - intersection / union + (hull - union) / hull, reduction)


# -- one candidate per known variant and convention option, and a correct twin per id (tests/test_variants.py) -------
@example("dice", suite="variants")
class Dice(nn.Module):
    """Soft Dice per sample and channel, then the mean; subclasses change one line."""

    def __init__(self, smooth=1.0):
        super().__init__()
        self.smooth = smooth

    def probabilities(self, input):
        return input

    def dims(self, input):
        return spatial_dims(input)

    def denominator(self, p, g, dims):
        return p.sum(dims) + g.sum(dims)

    def ratio(self, intersection, denominator):
        return (2 * intersection + self.smooth) / (denominator + self.smooth)

    def forward(self, input, target):
        p = self.probabilities(input)
        dims = self.dims(p)
        return (1 - self.ratio((p * target).sum(dims), self.denominator(p, target, dims))).mean()


@example("dice", expect="LC103", variant="per_sample=batch", suite="variants")
class BatchDice(Dice):
    """Sums over the batch too (one Dice per channel over the whole batch), as smp does."""

    def dims(self, input):
        return (0, *spatial_dims(input))


@example("dice", expect="LC103", variant="smoothing=denominator", suite="variants")
class DenominatorSmoothDice(Dice):
    """Smooths the denominator only (MONAI with smooth_nr=0)."""

    def ratio(self, intersection, denominator):
        return 2 * intersection / (denominator + self.smooth)


@example("dice", expect="LC103", variant="smoothing=none", suite="variants")
class UnsmoothedDice(Dice):
    """Plain soft Dice, no smoothing term."""

    def ratio(self, intersection, denominator):
        return 2 * intersection / denominator


@example("dice", expect="LC103", variant="smoothing=clamp", suite="variants")
class ClampedDice(Dice):
    """No smoothing, the denominator clamped at eps (segmentation_models_pytorch's smooth=0, eps)."""

    def ratio(self, intersection, denominator):
        return 2 * intersection / denominator.clamp_min(self.smooth)


@example("dice", expect="LC103", variant="smoothing=denominator_empty", suite="variants")
class DenominatorEmptyDice(Dice):
    """Smooths the denominator only and scores two empty masks apart: (2I + s·[union = 0]) / (union + s)."""

    def ratio(self, intersection, denominator):
        return (2 * intersection + self.smooth * (denominator == 0)) / (denominator + self.smooth)


@example("dice", expect="LC103", variant="empty_channel=zero", suite="variants")
class EmptyZeroDice(Dice):
    """A channel with an empty target contributes a loss of 0 and still counts in the mean (smp's mask)."""
    fill = 0.0

    def forward(self, input, target):
        p = self.probabilities(input)
        dims = self.dims(p)
        return empty_channels(1 - self.ratio((p * target).sum(dims), self.denominator(p, target, dims)), target,
                              dims, self.fill)


@example("dice", expect="LC103", variant="empty_channel=one", suite="variants")
class EmptyOneDice(EmptyZeroDice):
    """A channel with an empty target contributes a loss of 1 (counted in the mean)."""
    fill = 1.0


@example("dice", expect="LC103", variant="squared_denominator=yes", suite="variants")
class SquaredDenominatorDice(Dice):
    """V-Net's squared terms in the denominator."""

    def denominator(self, p, g, dims):
        return (p * p).sum(dims) + (g * g).sum(dims)


@example("dice", expect="LC103", variant="activation=sigmoid", suite="variants")
class SigmoidDice(Dice):
    """Takes logits: sigmoid first (MONAI DiceLoss(sigmoid=True))."""

    def probabilities(self, input):
        return torch.sigmoid(input)


@example("dice", expect="LC103", variant="activation=softmax", suite="variants")
class SoftmaxDice(Dice):
    """Takes logits: softmax over channels first (MONAI DiceLoss(softmax=True))."""

    def probabilities(self, input):
        return torch.softmax(input, dim=1)


@example("dice", expect="LC103", variant="average=micro", suite="variants")
class MicroDice(Dice):
    """Pools the channels with the spatial sums: one Dice per sample (kornia's average='micro')."""

    def dims(self, input):
        return tuple(range(1, input.dim()))


@example("dice", expect="LC103", variant="average=present", suite="variants")
class PresentClassDice(Dice):
    """Averages the per-channel Dice over the channels present in the target only."""

    def forward(self, input, target):
        p = self.probabilities(input)
        dims = self.dims(p)
        return present_mean(1 - self.ratio((p * target).sum(dims), self.denominator(p, target, dims)), target)


@example("tversky", suite="variants")
class Tversky(nn.Module):
    """1 - (TP + s)/(TP + alpha·FP + beta·FN + s) per sample and channel; subclasses change one line."""

    def __init__(self, alpha=0.3, beta=0.7, smooth=1.0):
        super().__init__()
        self.alpha, self.beta, self.smooth = alpha, beta, smooth

    def probabilities(self, input):
        return input

    def dims(self, input):
        return spatial_dims(input)

    def index(self, tp, fp, fn):
        return (tp + self.smooth) / (tp + self.alpha * fp + self.beta * fn + self.smooth)

    def losses(self, input, target):
        p = self.probabilities(input)
        dims = self.dims(p)
        tp, fp, fn = (p * target).sum(dims), (p * (1 - target)).sum(dims), ((1 - p) * target).sum(dims)
        return 1 - self.index(tp, fp, fn)

    def forward(self, input, target):
        return self.losses(input, target).mean()


@example("tversky", expect="LC103", variant="per_sample=batch", suite="variants")
class BatchTversky(Tversky):
    """One index per channel over the whole batch (smp's TverskyLoss)."""

    def dims(self, input):
        return (0, *spatial_dims(input))


@example("tversky", expect="LC103", variant="smoothing=clamp", suite="variants")
class ClampedTversky(Tversky):
    """No smoothing, the denominator clamped at eps."""

    def index(self, tp, fp, fn):
        return tp / (tp + self.alpha * fp + self.beta * fn).clamp_min(self.smooth)


@example("tversky", expect="LC103", variant="empty_channel=zero", suite="variants")
class EmptyZeroTversky(Tversky):
    """Follows the convention empty_channel=zero (tversky, LC103)."""

    fill = 0.0

    def forward(self, input, target):
        return empty_channels(self.losses(input, target), target, self.dims(input), self.fill)


@example("tversky", expect="LC103", variant="empty_channel=one", suite="variants")
class EmptyOneTversky(EmptyZeroTversky):
    """Follows the convention empty_channel=one (tversky, LC103)."""

    fill = 1.0


@example("tversky", expect="LC103", variant="average=micro", suite="variants")
class MicroTversky(Tversky):
    """One Tversky index per sample, the channels pooled with the spatial sums."""

    def forward(self, input, target):
        p = self.probabilities(input)
        dims = tuple(range(1, p.dim()))
        tp, fp, fn = (p * target).sum(dims), (p * (1 - target)).sum(dims), ((1 - p) * target).sum(dims)
        return (1 - self.index(tp, fp, fn)).mean()


@example("tversky", expect="LC103", variant="average=present", suite="variants")
class PresentClassTversky(Tversky):
    """Averages the per-channel index over the channels present in the target only (kornia)."""

    def forward(self, input, target):
        p = self.probabilities(input)
        dims = spatial_dims(p)
        tp, fp, fn = (p * target).sum(dims), (p * (1 - target)).sum(dims), ((1 - p) * target).sum(dims)
        return present_mean(1 - self.index(tp, fp, fn), target)


@example("tversky", expect="LC102", variant="alpha and beta swapped", suite="variants")
class SwappedTversky(Tversky):
    """alpha on the false negatives and beta on the false positives."""

    def index(self, tp, fp, fn):
        return (tp + self.smooth) / (tp + self.alpha * fn + self.beta * fp + self.smooth)


@example("tversky", expect="LC103", variant="smoothing=denominator", suite="variants")
class DenominatorSmoothTversky(Tversky):
    """Follows the convention smoothing=denominator (tversky, LC103)."""

    def index(self, tp, fp, fn):
        return tp / (tp + self.alpha * fp + self.beta * fn + self.smooth)


@example("tversky", expect="LC103", variant="smoothing=none", suite="variants")
class UnsmoothedTversky(Tversky):
    """Follows the convention smoothing=none (tversky, LC103)."""

    def index(self, tp, fp, fn):
        return tp / (tp + self.alpha * fp + self.beta * fn)


@example("tversky", expect="LC103", variant="activation=sigmoid", suite="variants")
class SigmoidTversky(Tversky):
    """Follows the convention activation=sigmoid (tversky, LC103)."""

    def probabilities(self, input):
        return torch.sigmoid(input)


@example("tversky", expect="LC103", variant="activation=softmax", suite="variants")
class SoftmaxTversky(Tversky):
    """Follows the convention activation=softmax (tversky, LC103)."""

    def probabilities(self, input):
        return torch.softmax(input, dim=1)


@example("generalized_dice", suite="variants")
class GeneralizedDice(nn.Module):
    """Sudre's generalised Dice with MONAI's weights (1/G², an absent class gets the largest finite weight);
    subclasses change one line."""

    def probabilities(self, input):
        return input

    def forward(self, input, target):
        p = self.probabilities(input)
        dims = spatial_dims(p)
        intersection, ground, predicted = (p * target).sum(dims), target.sum(dims), p.sum(dims)
        w = 1.0 / ground ** 2
        infinite = torch.isinf(w)
        w = torch.where(infinite, torch.zeros_like(w), w)
        w = torch.where(infinite, w.max(dim=1, keepdim=True).values, w)
        return self.combine(w, intersection, ground + predicted).mean()

    def combine(self, w, intersection, denominator):
        return 1 - (2 * (w * intersection).sum(1) + 1e-5) / ((w * denominator).sum(1) + 1e-5)


@example("generalized_dice", expect="LC102", variant="divided per class", suite="variants")
class PerClassGeneralizedDice(GeneralizedDice):
    """Divides per class, then averages the ratios (the class weights cancel)."""

    def combine(self, w, intersection, denominator):
        return 1 - ((2 * w * intersection + 1e-5) / (w * denominator + 1e-5)).mean(1)


@example("generalized_dice", expect="LC103", variant="activation=sigmoid", suite="variants")
class SigmoidGeneralizedDice(GeneralizedDice):
    """Follows the convention activation=sigmoid (generalized_dice, LC103)."""

    def probabilities(self, input):
        return torch.sigmoid(input)


@example("generalized_dice", expect="LC103", variant="activation=softmax", suite="variants")
class SoftmaxGeneralizedDice(GeneralizedDice):
    """Follows the convention activation=softmax (generalized_dice, LC103)."""

    def probabilities(self, input):
        return torch.softmax(input, dim=1)


@example("iou", expect="LC102", variant="intersection not clamped at 0", suite="variants")
def unclamped_iou(input, target):
    """Multiplies the overlap width and height without clamping them at 0."""
    intersection, union, _ = _box_terms(input, target, clamp=False)
    return (1 - intersection / (union + 1e-7)).mean()


@example("iou", suite="variants")
def correct_box_iou(input, target):
    """Correct twin (iou)."""
    intersection, union, _ = _box_terms(input, target)
    return (1 - intersection / (union + 1e-7)).mean()


@example("giou", expect="LC102", variant="intersection not clamped at 0", suite="variants")
def unclamped_giou(input, target):
    """GIoU with the overlap width and height not clamped at 0."""
    intersection, union, enclosure = _box_terms(input, target, clamp=False)
    return (1 - intersection / (union + 1e-7) + (enclosure - union) / (enclosure + 1e-7)).mean()


@example("giou", expect="LC102", variant="IoU loss presented as GIoU", suite="variants")
def iou_as_giou(input, target):
    """The IoU loss 1 - IoU presented as GIoU: no enclosure term."""
    return correct_box_iou(input, target)


@example("giou", suite="variants")
def correct_box_giou(input, target):
    """Correct twin (giou)."""
    intersection, union, enclosure = _box_terms(input, target)
    return (1 - intersection / (union + 1e-7) + (enclosure - union) / (enclosure + 1e-7)).mean()


# -- the mistakes seen in the wild: the reports/ gallery's examples (tests/test_wild.py) -----------------------------
@example("dice", expect={"LC605": "non-contiguous"}, gallery=7, suite="wild")
class ViewFlattenedDice(nn.Module):
    """Soft Dice flattened with .view(-1) over the whole batch: batch Dice, and fails on non-contiguous input."""

    def __init__(self, smooth=1.0):
        super().__init__()
        self.smooth = smooth

    def forward(self, input, target):
        p, g = input.view(-1), target.view(-1)
        return 1 - (2 * (p * g).sum() + self.smooth) / (p.sum() + g.sum() + self.smooth)


@example("dice", expect={"LC504": "3-d spatial"}, gallery=8, suite="wild")
class PermutedOneHotDice(nn.Module):
    """Multi-class Dice on one-hot targets, summed channels-last after permute(0, 2, 3, 1): works for 2-D inputs
    only (a 3-D volume has five dimensions, and the permute names four)."""

    def __init__(self, smooth=1.0):
        super().__init__()
        self.smooth = smooth

    def forward(self, input, target):
        p, g = input.permute(0, 2, 3, 1), target.permute(0, 2, 3, 1)
        inter = (p * g).sum((1, 2))
        return (1 - (2 * inter + self.smooth) / (p.sum((1, 2)) + g.sum((1, 2)) + self.smooth)).mean()


# -- correct losses written in a form the catalogue does not list, and broken twins (tests/test_forms.py) ------------
@example("dice", expect="LC103", variant="smoothing=tversky", suite="forms")
@example("dice", expect="LC103", variant="smoothing=tversky", suite="variants")
class TverskyFormDice(nn.Module):
    """Correct (in the Tversky form): Dice computed as a Tversky index with alpha = beta = 0.5,
    (I + s) / (I + FP/2 + FN/2 + s), per sample and channel; that is Dice with smoothing 2s."""

    def __init__(self, smooth: float = 0.0):
        super().__init__()
        self.smooth = smooth

    def terms(self, p, g, dims):
        return (p * g).sum(dims), (p * (1 - g)).sum(dims), ((1 - p) * g).sum(dims)

    def forward(self, input, target):
        dims = spatial_dims(input)
        tp, fp, fn = self.terms(input, target, dims)
        return (1 - (tp + self.smooth) / (tp + 0.5 * fp + 0.5 * fn + self.smooth)).mean()


@example("dice", expect="LC101", suite="forms")
class TverskyFormDiceWrongFP(TverskyFormDice):
    """LC101 (in the Tversky form): its false positives are Σp rather than Σp(1 - g), so the
    denominator counts the intersection twice."""

    def terms(self, p, g, dims):
        tp, _, fn = super().terms(p, g, dims)
        return tp, p.sum(dims), fn


@example("dice", expect="LC103", variant="per_sample=batch and smoothing=denominator_empty", suite="forms")
class DenominatorEpsDice(nn.Module):
    """Correct (denominator-only smoothing, empty case apart): per class over the whole batch,
    (2TP + eps·[union = 0]) / (2TP + FP + FN + eps), so two empty masks score 1; then the mean over
    classes. Takes probabilities."""

    def __init__(self, eps: float = 1e-7):
        super().__init__()
        self.eps = eps

    def overlap(self, p, g, dims):
        return 2 * (p * g).sum(dims)

    def forward(self, input, target):
        dims = (0, *spatial_dims(input))
        union = input.sum(dims) + target.sum(dims)
        score = (self.overlap(input, target, dims) + self.eps * (union == 0)) / (union + self.eps)
        return (1 - score).mean()


@example("dice", expect="LC101", suite="forms")
class DenominatorEpsDiceNoTwo(DenominatorEpsDice):
    """LC101 (denominator-only smoothing): the numerator drops the factor 2 of 2TP, so a perfect
    prediction scores a Dice of 1/2."""

    def overlap(self, p, g, dims):
        return (p * g).sum(dims)


@example("tversky", expect="LC103", variant="params=alpha=beta or 1-alpha, beta=alpha", suite="forms")
class DocumentedRolesTversky(nn.Module):
    """Correct (parameter roles as its documentation gives them): "alpha: false negative coefficient, beta: false
    positive coefficient (1 - alpha when not given)", the reverse of Salehi et al.'s roles, so the catalogue's α is
    its beta (or 1 - alpha) and the catalogue's β its alpha."""

    def __init__(self, alpha: float = 0.7, beta: float | None = None, smooth: float = 1.0):
        super().__init__()
        self.alpha, self.beta, self.smooth = alpha, beta, smooth

    def terms(self, p, g, dims):
        return (p * g).sum(dims), (p * (1 - g)).sum(dims), ((1 - p) * g).sum(dims)

    def forward(self, input, target):
        fp_weight = 1 - self.alpha if self.beta is None else self.beta
        tp, fp, fn = self.terms(input, target, spatial_dims(input))
        return (1 - (tp + self.smooth) / (tp + self.alpha * fn + fp_weight * fp + self.smooth)).mean()


class GroundAsFalseNegatives:
    """The broken twins' defect: false negatives counted as Σg rather than Σ(1 - p)g."""

    def terms(self, p, g, dims):
        tp, fp, _ = super().terms(p, g, dims)
        return tp, fp, g.sum(dims)


@example("tversky", expect="LC101", suite="forms")
class DocumentedRolesTverskyWrongFN(GroundAsFalseNegatives, DocumentedRolesTversky):
    """LC101 (parameter roles as documented): its false negatives are Σg rather than Σ(1 - p)g."""


@example("tversky", expect="LC103", variant="params=beta=beta or 1-alpha", suite="forms")
class TiedBetaTversky(DocumentedRolesTversky):
    """Correct (a default tied to another parameter): the paper's roles, alpha on the false positives and beta on the
    false negatives, with beta = 1 - alpha when not given."""

    def __init__(self, alpha: float = 0.3, beta: float | None = None, smooth: float = 1.0):
        super().__init__(alpha, beta, smooth)

    def forward(self, input, target):
        fn_weight = 1 - self.alpha if self.beta is None else self.beta
        tp, fp, fn = self.terms(input, target, spatial_dims(input))
        return (1 - (tp + self.smooth) / (tp + self.alpha * fp + fn_weight * fn + self.smooth)).mean()


@example("tversky", expect="LC101", suite="forms")
class TiedBetaTverskyWrongFN(GroundAsFalseNegatives, TiedBetaTversky):
    """LC101 (a default tied to another parameter): its false negatives are Σg rather than Σ(1 - p)g."""


# -- jaccard: a defect and a correct twin (catalogue), one candidate per variant and convention option (variants), the
# gallery's two (wild) and the library conventions' twins ----------------------------------------------------------
@example("jaccard", suite="catalogue")
@example("jaccard", suite="variants")
@example("jaccard", suite="wild")
class Jaccard(nn.Module):
    """Correct twin (jaccard): soft IoU per sample and channel, 1 - (I + s)/(U + s), then the mean; subclasses change
    one line."""

    def __init__(self, smooth: float = 1.0, reduction: str = "mean"):
        super().__init__()
        self.smooth, self.reduction = smooth, reduction

    def probabilities(self, input):
        return input

    def dims(self, input):
        return spatial_dims(input)

    def total(self, p, g, dims):
        return p.sum(dims) + g.sum(dims)

    def union(self, intersection, total):
        return total - intersection

    def ratio(self, intersection, union):
        return (intersection + self.smooth) / (union + self.smooth)

    def losses(self, input, target):
        p = self.probabilities(input)
        dims = self.dims(p)
        intersection = (p * target).sum(dims)
        return 1 - self.ratio(intersection, self.union(intersection, self.total(p, target, dims)))

    def forward(self, input, target):
        return reduce(self.losses(input, target), self.reduction)


@example("jaccard", expect="LC102", variant="union counted as Σp + Σg", twin="Jaccard", suite="catalogue")
@example("jaccard", expect="LC102", variant="union counted as Σp + Σg", suite="variants")
@example("jaccard", expect={"LC102": "union counted as σp + σg"}, twin="Jaccard", gallery=27, suite="wild")
class JaccardSumAsUnion(Jaccard):
    """Defect: divides by Σp + Σg, the intersection counted twice (a Dice denominator without its factor 2)."""

    def union(self, intersection, total):
        return total


@example("jaccard", suite="wild")
class SigmoidJaccard(Jaccard):
    """Correct twin: takes logits and applies one sigmoid, declared as MONAI does (sigmoid=True)."""

    def __init__(self, smooth: float = 1.0, reduction: str = "mean", sigmoid: bool = True):
        super().__init__(smooth, reduction)

    def probabilities(self, input):
        return torch.sigmoid(input)


@example("jaccard", expect="LC102", variant="activation applied twice", suite="variants")
@example("jaccard", expect={"LC102": "activation applied twice"}, twin="SigmoidJaccard", gallery=28, suite="wild")
class JaccardSigmoidTwice(SigmoidJaccard):
    """Defect: takes logits (sigmoid=True) and applies the sigmoid twice, to the logits and to their sigmoid."""

    def probabilities(self, input):
        return torch.sigmoid(torch.sigmoid(input))


@example("jaccard", expect="LC103", variant="per_sample=batch", suite="variants")
class BatchJaccard(Jaccard):
    """Sums over the batch too: one IoU per channel over the whole batch."""

    def dims(self, input):
        return (0, *spatial_dims(input))


@example("jaccard", expect="LC103", variant="smoothing=denominator", suite="variants")
class DenominatorSmoothJaccard(Jaccard):
    """Smooths the union only."""

    def ratio(self, intersection, union):
        return intersection / (union + self.smooth)


@example("jaccard", expect="LC103", variant="smoothing=none", suite="variants")
class UnsmoothedJaccard(Jaccard):
    """Plain soft IoU, no smoothing term."""

    def ratio(self, intersection, union):
        return intersection / union


@example("jaccard", expect="LC103", variant="smoothing=clamp", suite="variants")
class ClampedJaccard(Jaccard):
    """No smoothing, the union clamped at eps (segmentation_models_pytorch's smooth=0, eps)."""

    def ratio(self, intersection, union):
        return intersection / union.clamp_min(self.smooth)


@example("jaccard", expect="LC103", variant="smoothing=doubled", suite="variants")
class DoubledJaccard(Jaccard):
    """Jaccard through a Dice formula, (2I + s)/(2U + s), without a switch to say so."""

    def ratio(self, intersection, union):
        return (2 * intersection + self.smooth) / (2 * union + self.smooth)


@example("jaccard", expect="LC103", variant="squared_denominator=yes", suite="variants")
class SquaredJaccard(Jaccard):
    """The union from squared terms: Σp² + Σg² - I."""

    def total(self, p, g, dims):
        return (p * p).sum(dims) + (g * g).sum(dims)


@example("jaccard", expect="LC103", variant="empty_channel=zero", suite="variants")
class EmptyZeroJaccard(Jaccard):
    """A channel with an empty target contributes a loss of 0, still counted in the mean."""
    fill = 0.0

    def __init__(self, smooth: float = 1.0):  # the mean only
        super().__init__(smooth)

    def forward(self, input, target):
        return empty_channels(self.losses(input, target), target, spatial_dims(target), self.fill)


@example("jaccard", expect="LC103", variant="empty_channel=one", suite="variants")
class EmptyOneJaccard(EmptyZeroJaccard):
    """A channel with an empty target contributes a loss of 1, counted in the mean."""
    fill = 1.0


@example("jaccard", expect="LC103", variant="average=micro", suite="variants")
class MicroJaccard(Jaccard):
    """Pools the channels with the spatial sums: one IoU per sample."""

    def dims(self, input):
        return tuple(range(1, input.dim()))


@example("jaccard", expect="LC103", variant="average=present", suite="variants")
class PresentClassJaccard(Jaccard):
    """Averages the per-channel IoU over the channels present in the target only."""

    def __init__(self, smooth: float = 1.0):  # the mean only
        super().__init__(smooth)

    def forward(self, input, target):
        return present_mean(self.losses(input, target), target)


@example("jaccard", expect="LC103", variant="activation=sigmoid", suite="variants")
class LogitJaccard(Jaccard):
    """Takes logits: a sigmoid first, without a switch to say so."""

    def probabilities(self, input):
        return torch.sigmoid(input)


@example("jaccard", expect="LC103", variant="activation=softmax", suite="variants")
class SoftmaxJaccard(Jaccard):
    """Takes logits: softmax over the channels first, without a switch to say so."""

    def probabilities(self, input):
        return torch.softmax(input, dim=1)


@example("jaccard", suite="catalogue")
class MonaiJaccard(Jaccard):
    """Correct twin in MONAI's convention: DiceLoss(jaccard=True, batch=True, smooth_nr, smooth_dr), the Jaccard
    through its Dice formula 1 - (2I + s)/(2U + s), over the batch, each declared by its switch."""

    def __init__(self, smooth_nr: float = 1e-5, smooth_dr: float = 1e-5, jaccard: bool = True, batch: bool = True):
        super().__init__(smooth_nr)
        self.batch = batch

    def dims(self, input):
        return (0, *spatial_dims(input)) if self.batch else spatial_dims(input)

    def ratio(self, intersection, union):
        return (2 * intersection + self.smooth) / (2 * union + self.smooth)


@example("jaccard", expect="LC103", variant="per_sample=batch, smoothing=none and empty_channel=zero",
         suite="forms")
class SmpJaccard(Jaccard):
    """Correct twin in segmentation_models_pytorch's convention (JaccardLoss("multilabel", from_logits=False)):
    (I + 0)/max(U, eps) over the batch, a channel with an empty target masked to 0; none of it has a switch."""

    def __init__(self, eps: float = 1e-7):
        super().__init__(eps)

    def dims(self, input):
        return (0, *spatial_dims(input))

    def ratio(self, intersection, union):
        return intersection / union.clamp_min(self.smooth)

    def forward(self, input, target):
        return empty_channels(self.losses(input, target), target, (0, *spatial_dims(target)), 0.0)
