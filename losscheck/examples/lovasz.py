"""The Lovasz corpus: buggy and correct lovasz_hinge and lovasz_softmax losses, each registered with `@example`
(losscheck/examples/registry.py). Written after the official code (bermanmaxim/LovaszSoftmax, MIT), with the
labels cast to the logits' dtype (the official `.float()` makes a float64 loss raise in torch.dot). A defective
loss's docstring says its defect; a correct one's says it is correct.

Ids: lovasz_hinge, lovasz_softmax.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from losscheck.examples.registry import example


def lovasz_grad(gt_sorted):
    """Gradient of the Lovasz extension of the Jaccard loss with respect to the sorted errors (Berman et al.,
    Alg. 1)."""
    gts = gt_sorted.sum()
    jaccard = 1.0 - (gts - gt_sorted.cumsum(0)) / (gts + (1.0 - gt_sorted).cumsum(0))
    return torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])


def kept(scores, labels, ignore):
    """The pixels whose label is not `ignore` (all of them for ignore=None)."""
    if ignore is None:
        return scores, labels
    keep = labels != ignore
    return scores[keep], labels[keep]


class _Lovasz(nn.Module):
    """The shared frame: the flat loss per image and averaged (per_image), or on the batch flattened."""

    def __init__(self, per_image: bool, ignore=None):
        super().__init__()
        self.per_image, self.ignore = per_image, ignore

    def sorted_labels(self, labels, perm):
        return labels[perm]

    def pooled(self, scores, labels):
        if self.per_image:
            return torch.stack([self.flat(*self.pixels(s[None], y[None])) for s, y in zip(scores, labels)]).mean()
        return self.flat(*self.pixels(scores, labels))


# -- lovasz_hinge ----------------------------------------------------------------------------------------------------
@example("lovasz_hinge", suite="catalogue")
@example("lovasz_hinge", suite="variants")
@example("lovasz_hinge", suite="wild")
class LovaszHinge(_Lovasz):
    """Correct twin (lovasz_hinge): the official lovasz_hinge, per image by default; subclasses change one line."""

    def __init__(self, per_image: bool = True, ignore=None):
        super().__init__(per_image, ignore)

    def hinge(self, errors):
        return F.relu(errors)

    def pixels(self, logits, labels):
        return kept(logits.reshape(-1), labels.reshape(-1), self.ignore)

    def flat(self, logits, labels):
        if labels.numel() == 0:
            return logits.sum() * 0.0
        errors = 1.0 - logits * (2.0 * labels - 1.0)
        errors_sorted, perm = torch.sort(errors, descending=True)
        return torch.dot(self.hinge(errors_sorted), lovasz_grad(self.sorted_labels(labels, perm)))

    def forward(self, input, target):
        return self.pooled(input, target.to(input.dtype))


@example("lovasz_hinge", expect="LC102", variant="Lovasz gradient of unsorted labels", twin="LovaszHinge",
         suite="catalogue")
@example("lovasz_hinge", expect="LC102", variant="Lovasz gradient of unsorted labels", suite="variants")
@example("lovasz_hinge", expect={"LC102": "unsorted labels"}, twin="LovaszHinge", gallery=29, suite="wild")
class LovaszHingeUnsortedLabels(LovaszHinge):
    """Defect: lovasz_grad of the labels in their own order, not permuted by the sort of the errors."""

    def sorted_labels(self, labels, perm):
        return labels


@example("lovasz_hinge", expect="LC102", variant="elu+1 instead of relu", suite="variants")
@example("lovasz_hinge", expect={"LC102": "elu+1"}, twin="LovaszHinge", gallery=30, suite="wild")
class LovaszHingeElu(LovaszHinge):
    """Defect: elu(errors) + 1 for the hinge where Berman et al. take relu(errors)."""

    def hinge(self, errors):
        return F.elu(errors) + 1.0


@example("lovasz_hinge", expect="LC102", variant="per image while claiming the batch", suite="variants")
@example("lovasz_hinge", expect={"LC102": "per image while claiming the batch"}, twin="SmpLovaszHinge", gallery=31,
         suite="wild")
class LovaszHingePerImageAlways(LovaszHinge):
    """Defect: claims one loss over the batch (per_image=False) and computes it per image all the same."""

    def __init__(self, per_image: bool = False, ignore=None):
        super().__init__(per_image, ignore)

    def forward(self, input, target):
        target = target.to(input.dtype)
        return torch.stack([self.flat(*self.pixels(s[None], y[None])) for s, y in zip(input, target)]).mean()


@example("lovasz_hinge", expect="LC103", variant="per_image=batch", suite="variants")
class BatchLovaszHinge(LovaszHinge):
    """The batch flattened, without a per_image switch to say so (segmentation_models_pytorch's default)."""

    def __init__(self, ignore=None):
        super().__init__(False, ignore)


@example("lovasz_hinge", suite="catalogue")
@example("lovasz_hinge", suite="wild")
class SmpLovaszHinge(LovaszHinge):
    """Correct twin in segmentation_models_pytorch's convention: LovaszLoss("binary", per_image=False,
    ignore_index=None), the batch flattened and declared so."""

    def __init__(self, mode: str = "binary", per_image: bool = False, ignore_index=None):
        super().__init__(per_image, ignore_index)


@example("lovasz_hinge", suite="catalogue")
class ChannelLovaszHinge(LovaszHinge):
    """Correct twin in kornia's convention: (N, 1, H, W) logits beside (N, H, W) labels, per image; any other
    shape raises."""

    def forward(self, input, target):
        if input.dim() != 4 or input.shape[1] != 1 or target.shape != input.shape[:1] + input.shape[2:]:
            raise ValueError(f"expected (N, 1, H, W) logits and (N, H, W) labels, got {tuple(input.shape)} and "
                             f"{tuple(target.shape)}")
        return super().forward(input[:, 0], target)


# -- lovasz_softmax --------------------------------------------------------------------------------------------------
@example("lovasz_softmax", suite="catalogue")
@example("lovasz_softmax", suite="variants")
class LovaszSoftmax(_Lovasz):
    """Correct twin (lovasz_softmax): the official lovasz_softmax, over the batch flattened, the classes present."""

    def __init__(self, classes: str = "present", per_image: bool = False, ignore=None):
        super().__init__(per_image, ignore)
        self.classes = classes

    def probabilities(self, input):
        return input

    def pixels(self, probas, labels):
        return kept(probas.movedim(1, -1).reshape(-1, probas.shape[1]), labels.reshape(-1), self.ignore)

    def flat(self, probas, labels):
        if labels.numel() == 0:
            return probas.sum() * 0.0
        losses = []
        for c in range(probas.shape[1]):
            fg = (labels == c).to(probas.dtype)
            if self.classes == "present" and fg.sum() == 0:
                continue
            errors_sorted, perm = torch.sort((fg - probas[:, c]).abs(), descending=True)
            losses.append(torch.dot(errors_sorted, lovasz_grad(self.sorted_labels(fg, perm))))
        return torch.stack(losses).mean()

    def forward(self, input, target):
        return self.pooled(self.probabilities(input), target)


@example("lovasz_softmax", expect="LC102", variant="Lovasz gradient of unsorted labels", twin="LovaszSoftmax",
         suite="catalogue")
@example("lovasz_softmax", expect="LC102", variant="Lovasz gradient of unsorted labels", suite="variants")
class LovaszSoftmaxUnsortedLabels(LovaszSoftmax):
    """Defect: lovasz_grad of each class's foreground in its own order, not permuted by the sort of the errors."""

    def sorted_labels(self, labels, perm):
        return labels


@example("lovasz_softmax", expect="LC103", variant="per_image=image", suite="variants")
class PerImageLovaszSoftmax(LovaszSoftmax):
    """Per image and averaged, without a per_image switch to say so."""

    def __init__(self, ignore=None):
        super().__init__("present", True, ignore)


@example("lovasz_softmax", expect="LC103", variant="classes=all", suite="variants")
class AllClassesLovaszSoftmax(LovaszSoftmax):
    """Averages over every class, absent ones included, without a classes switch to say so."""

    def __init__(self, ignore=None):
        super().__init__("all", False, ignore)


@example("lovasz_softmax", expect="LC103", variant="activation=softmax", suite="variants")
class LogitLovaszSoftmax(LovaszSoftmax):
    """Takes logits: softmax over the classes first (segmentation_models_pytorch's multiclass LovaszLoss)."""

    def probabilities(self, input):
        return input.softmax(dim=1)


@example("lovasz_softmax", suite="catalogue")
class AllClassesPerImageLovaszSoftmax(LovaszSoftmax):
    """Correct twin in the official code's other settings, declared: lovasz_softmax(classes='all',
    per_image=True)."""

    def __init__(self, classes: str = "all", per_image: bool = True, ignore=None):
        super().__init__(classes, per_image, ignore)
