"""The classification corpus: buggy and correct losses for the classification ids, each registered with `@example`
(losscheck/examples/registry.py) with the catalogue id it claims, what its audit must say and the test table
that audits it. A defective loss's docstring says its defect; a correct one's says it is correct.

Ids: bce, bce_with_logits, focal, cross_entropy, kl_div, focal_multiclass, soft_margin, multilabel_soft_margin,
multi_margin, hinge, multilabel_margin.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from losscheck.examples.common import reduce, reduce_loose, same_shape, class_dim
from losscheck.examples.registry import example


# -- the pitfall fixtures: one defect per pitfall code, and correct twins (tests/test_checks.py) ---------------------
@example("bce", suite="pitfalls")
class CorrectBCE(nn.Module):
    """Correct twin (bce): torch's binary cross-entropy on probabilities (logs clamped at -100)."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, reduction=self.reduction)


@example("bce_with_logits", suite="pitfalls")
class CorrectBCEWithLogits(nn.Module):
    """Correct twin (bce_with_logits): (1 - y)·x + softplus(-x), stable for every finite logit."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        same_shape(input, target)
        return reduce((1.0 - target) * input + F.softplus(-input), self.reduction)


@example("focal", suite="pitfalls")
class CorrectFocal(nn.Module):
    """Correct twin (focal): α_t·(1 - p_t)^γ·BCE, with 1 - p_t = σ(-x)·y + σ(x)·(1 - y) (no cancellation)."""

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "mean"):
        super().__init__()
        self.alpha, self.gamma, self.reduction = alpha, gamma, reduction

    def forward(self, input, target):
        same_shape(input, target)
        if input.dtype in (torch.float16, torch.bfloat16):  # σ(-x) underflows fp16 at x = 17: (0)^γ has no gradient
            input, target = input.float(), target.float()
        ce = F.binary_cross_entropy_with_logits(input, target, reduction="none")
        one_minus_pt = torch.sigmoid(-input) * target + torch.sigmoid(input) * (1.0 - target)
        alpha_t = self.alpha * target + (1.0 - self.alpha) * (1.0 - target)
        return reduce(alpha_t * one_minus_pt ** self.gamma * ce, self.reduction)


@example("cross_entropy", suite="pitfalls")
class CorrectCrossEntropy(nn.Module):
    """Correct twin (cross_entropy): class indices (with ignore_index) or class probabilities, any layout."""

    def __init__(self, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__()
        self.ignore_index, self.reduction = ignore_index, reduction

    def log_probs(self, input, dim):
        return F.log_softmax(input, dim=dim)

    def forward(self, input, target):
        dim = class_dim(input)
        log_p = self.log_probs(input, dim)
        if target.shape == input.shape and target.is_floating_point():
            return reduce(-(target * log_p).sum(dim), self.reduction)
        keep = target != self.ignore_index
        safe = torch.where(keep, target, torch.zeros_like(target))
        picked = log_p.gather(dim, safe.unsqueeze(dim)).squeeze(dim)
        values = torch.where(keep, -picked, torch.zeros_like(picked))
        if self.reduction == "mean":
            return values.sum() / keep.sum()
        return reduce(values, self.reduction)


@example("kl_div", suite="pitfalls")
@example("kl_div", suite="variants")
def correct_kl_div(input, target, reduction="batchmean", log_target=False):
    """Correct twin (kl_div): torch's kl_div with the true KL divergence ('batchmean') as the default."""
    return F.kl_div(input, target, reduction=reduction, log_target=log_target)


@example("bce_with_logits", expect="LC201", twin="CorrectBCEWithLogits", suite="pitfalls")
def naive_bce_with_logits(input, target, reduction="mean"):
    """LC201: BCE on logits as (1 - y)·x + log(1 + exp(-x)): exp(-x) overflows for x < -88 (inf loss)."""
    values = (1 - target) * input + torch.log(1 + torch.exp(-input))
    return reduce(values, reduction)


@example("bce", expect="LC202", twin="CorrectBCE", suite="pitfalls")
class ClampedProbabilityBCE(nn.Module):
    """LC202: BCE on probabilities with torch.clamp(p, 1e-7, 1 - 1e-7) "to avoid log(0)": a confidently wrong
    prediction costs at most -log(1e-7) ≈ 16 instead of 100, and the gradient dies at the clamp."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        p = torch.clamp(input, 1e-7, 1 - 1e-7)
        return reduce(-(target * torch.log(p) + (1 - target) * torch.log(1 - p)), self.reduction)


@example("focal", expect="LC303", twin="CorrectFocal", suite="pitfalls")
class FocalDetachedModulator(nn.Module):
    """LC303: focal loss whose focusing term (1 - p_t)^γ is .detach()ed "to treat it as a per-example weight":
    the value is right, the gradient is not the focal loss's."""

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "mean"):
        super().__init__()
        self.alpha, self.gamma, self.reduction = alpha, gamma, reduction

    def forward(self, input, target):
        ce = F.binary_cross_entropy_with_logits(input, target, reduction="none")
        one_minus_pt = torch.sigmoid(-input) * target + torch.sigmoid(input) * (1 - target)
        modulator = (one_minus_pt ** self.gamma).detach()
        alpha_t = self.alpha * target + (1 - self.alpha) * (1 - target)
        return reduce(alpha_t * modulator * ce, self.reduction)


@example("bce_with_logits", expect="LC304", twin="CorrectBCEWithLogits", suite="pitfalls")
class HardMiningBCEWithLogits(nn.Module):
    """LC304: online hard-example mining done with torch.where(loss > thr, loss, loss.detach()): the reported
    value is the full BCE, but every "easy" element (loss below the threshold) gets a zero gradient."""

    def __init__(self, threshold: float = 0.1, reduction: str = "mean"):
        super().__init__()
        self.threshold, self.reduction = threshold, reduction

    def forward(self, input, target):
        loss = F.binary_cross_entropy_with_logits(input, target, reduction="none")
        loss = torch.where(loss > self.threshold, loss, loss.detach())
        return reduce(loss, self.reduction)


@example("kl_div", expect="LC404", twin="correct_kl_div", suite="pitfalls")
def kl_div_default_mean(input, target, reduction="mean", log_target=False):
    """LC404: distillation KL written with torch's KLDivLoss/kl_div default reduction='mean', which divides by
    every element instead of the batch size: not the KL divergence."""
    return F.kl_div(input, target, reduction=reduction, log_target=log_target)


@example("cross_entropy", expect="LC502", twin="CorrectCrossEntropy", suite="pitfalls")
class CESoftTargetsByArgmax(nn.Module):
    """LC502: cross-entropy that takes class indices correctly but reads probability targets (an admitted format
    it runs on) by their argmax, so soft labels (mixup, label smoothing) give wrong values."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        dim = class_dim(input)
        log_p = F.log_softmax(input, dim=dim)
        index = target.argmax(dim) if target.is_floating_point() else target
        picked = log_p.gather(dim, index.unsqueeze(dim)).squeeze(dim)
        return reduce(-picked, self.reduction)


@example("cross_entropy", expect="LC503", twin="CorrectCrossEntropy", suite="pitfalls")
class CEIgnoreIndexCountsPadding(nn.Module):
    """LC503: takes ignore_index and zeroes the ignored terms, but 'mean' still divides by every target,
    padding included."""

    def __init__(self, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__()
        self.ignore_index, self.reduction = ignore_index, reduction

    def forward(self, input, target):
        dim = class_dim(input)
        log_p = F.log_softmax(input, dim=dim)
        keep = target != self.ignore_index
        safe = torch.where(keep, target, torch.zeros_like(target))
        values = -log_p.gather(dim, safe.unsqueeze(dim)).squeeze(dim) * keep
        return reduce(values, self.reduction)


@example("cross_entropy", expect="LC504", twin="CorrectCrossEntropy", suite="pitfalls")
class CESqueezeTarget(nn.Module):
    """LC504: squeezes the target "in case it comes as (N, 1)": for a batch of one, (1,) becomes () and the
    gather fails."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        if not target.is_floating_point():
            target = target.squeeze()
            log_p = F.log_softmax(input, dim=1)
            picked = log_p.gather(1, target.unsqueeze(1)).squeeze(1)
            return reduce(-picked, self.reduction)
        return reduce(-(target * F.log_softmax(input, dim=1)).sum(1), self.reduction)


@example("bce_with_logits", expect="LC505", twin="CorrectBCEWithLogits", suite="pitfalls")
def keras_bce_with_logits(y_true, y_pred):
    """LC505: Keras argument order (y_true, y_pred): called as loss(input, target) it treats the logits as
    labels."""
    return F.binary_cross_entropy_with_logits(y_pred, y_true)


@example("bce", expect="LC604", twin="CorrectBCE", suite="pitfalls")
class EpsBCE(nn.Module):
    """LC604: BCE with log(p + eps), eps = torch.finfo(p.dtype).eps: the cap on log(0) is -15.9 in float32
    but -36 in float64, so the two precisions disagree at saturated probabilities."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        eps = torch.finfo(input.dtype).eps
        values = -(target * torch.log(input + eps) + (1 - target) * torch.log(1 - input + eps))
        return reduce(values, self.reduction)


@example("focal", expect="LC701", twin="CorrectFocal", suite="pitfalls")
class FocalSigmoidInplace(nn.Module):
    """LC701: focal loss that takes p = input.sigmoid_() after the BCE term: the caller's logits become
    probabilities."""

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "mean"):
        super().__init__()
        self.alpha, self.gamma, self.reduction = alpha, gamma, reduction

    def forward(self, input, target):
        ce = F.binary_cross_entropy_with_logits(input, target, reduction="none")
        p = input.sigmoid_()
        one_minus_pt = (1 - p) * target + p * (1 - target)
        alpha_t = self.alpha * target + (1 - self.alpha) * (1 - target)
        return reduce(alpha_t * one_minus_pt ** self.gamma * ce, self.reduction)


# -- the catalogue's ids beyond the first twelve: a defect and a correct twin each (tests/test_catalogue.py) ---------
@example("focal_multiclass", suite="catalogue")
class CorrectFocalMulticlass(nn.Module):
    """Correct twin (focal_multiclass)."""

    def __init__(self, alpha=None, gamma=2.0, ignore_index=-100, reduction="mean"):
        super().__init__()
        self.alpha, self.gamma, self.ignore_index, self.reduction = alpha, gamma, ignore_index, reduction

    def class_alpha(self, n_classes, like):
        return None if self.alpha is None else torch.full((n_classes,), float(self.alpha), dtype=like.dtype)

    def forward(self, input, target):
        dim = 0 if input.dim() == 1 else 1
        log_p = F.log_softmax(input, dim=dim)
        keep = target != self.ignore_index
        safe = torch.where(keep, target, torch.zeros_like(target))
        log_p_y = log_p.gather(dim, safe.unsqueeze(dim)).squeeze(dim)
        loss = -(-torch.expm1(log_p_y)) ** self.gamma * log_p_y
        alpha = self.class_alpha(input.shape[dim], input)
        if alpha is not None:
            loss = loss * alpha.to(input.device)[safe]
        loss = torch.where(keep, loss, torch.zeros_like(loss))
        if self.reduction == "mean":
            return loss.sum() / keep.sum()
        return reduce_loose(loss, self.reduction)


@example("focal_multiclass", expect="LC103", twin="CorrectFocalMulticlass", suite="catalogue")
class KorniaAlphaFocal(CorrectFocalMulticlass):
    """Convention (not a defect): kornia reads a scalar alpha as [1 - alpha, alpha, alpha, ...]."""

    def __init__(self, alpha=0.25, gamma=2.0, ignore_index=-100, reduction="mean"):
        super().__init__(alpha, gamma, ignore_index, reduction)

    def class_alpha(self, n_classes, like):
        return torch.tensor([1.0 - self.alpha] + [self.alpha] * (n_classes - 1), dtype=like.dtype)


@example("soft_margin", suite="catalogue")
def correct_soft_margin(input, target, reduction="mean"):
    """Correct twin (soft_margin)."""
    return reduce_loose(F.softplus(-target * input), reduction)


@example("soft_margin", expect="LC201", twin="correct_soft_margin", suite="catalogue")
def naive_soft_margin(input, target, reduction="mean"):
    """Defect: log1p(exp(-y·x)) literally (torch's own formula): inf once -y·x > 88.7 in float32."""
    return reduce_loose(torch.log1p(torch.exp(-target * input)), reduction)


@example("multilabel_soft_margin", suite="catalogue")
def correct_multilabel_soft_margin(input, target, weight=None, reduction="mean"):
    """Correct twin (multilabel_soft_margin)."""
    loss = -(target * F.logsigmoid(input) + (1 - target) * F.logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return reduce_loose(loss.sum(-1) / input.shape[-1], reduction)


@example("multilabel_soft_margin", expect="LC102", variant="sigmoid applied twice",
         twin="correct_multilabel_soft_margin", suite="catalogue")
def multilabel_soft_margin_on_sigmoid(input, target, weight=None, reduction="mean"):
    """Defect: applies sigmoid to logits that the loss passes through logsigmoid again."""
    return correct_multilabel_soft_margin(torch.sigmoid(input), target, weight, reduction)


@example("multi_margin", suite="catalogue")
class CorrectMultiMargin(nn.Module):
    """Correct twin (multi_margin)."""

    count_target = False

    def __init__(self, p=1, margin=1.0, weight=None, reduction="mean"):
        super().__init__()
        self.p, self.margin, self.weight, self.reduction = p, margin, weight, reduction

    def forward(self, input, target):
        x = input if input.dim() == 2 else input.unsqueeze(0)
        t = target.reshape(-1)
        z = (self.margin - x.gather(1, t.unsqueeze(1)) + x).clamp(min=0)
        z = z * z if self.p == 2 else z
        if not self.count_target:
            z = z * (1 - F.one_hot(t, x.shape[1]).to(z.dtype))
        if self.weight is not None:
            z = z * self.weight[t].unsqueeze(1)
        return reduce_loose((z.sum(1) / x.shape[1]).reshape(target.shape), self.reduction)


@example("multi_margin", expect="LC101", twin="CorrectMultiMargin", suite="catalogue")
class MultiMarginCountsTarget(CorrectMultiMargin):
    """Defect: the target class's own term max(0, margin)^p is summed too."""

    count_target = True


@example("hinge", suite="catalogue")
def correct_hinge(input, target, margin=1.0, reduction="mean"):
    """Correct twin (hinge)."""
    return reduce_loose((margin - target * input).clamp(min=0), reduction)


@example("hinge", expect="LC102", variant="HingeEmbeddingLoss presented as the SVM hinge", twin="correct_hinge",
         suite="catalogue")
def hinge_embedding_as_hinge(input, target, margin=1.0, reduction="mean"):
    """Defect: torch's HingeEmbeddingLoss used as the SVM hinge."""
    return F.hinge_embedding_loss(input, target, margin=margin, reduction=reduction)


@example("multilabel_margin", suite="catalogue")
def correct_multilabel_margin(input, target, reduction="mean", stop_at_minus_one=True):
    """Correct twin (multilabel_margin)."""
    x = input if input.dim() == 2 else input.reshape(1, -1)
    t = target.reshape(x.shape)
    listed = t >= 0
    valid = torch.cumprod(listed.to(torch.int64), dim=1).bool() if stop_at_minus_one else listed
    safe = torch.where(valid, t, torch.zeros_like(t))
    is_target = (F.one_hot(safe, x.shape[1]) * valid.unsqueeze(-1)).sum(1) > 0
    z = (1 - x.gather(1, safe).unsqueeze(2) + x.unsqueeze(1)).clamp(min=0)
    z = z * (valid.unsqueeze(2) & ~is_target.unsqueeze(1))
    return reduce_loose((z.sum((1, 2)) / x.shape[1]).reshape(input.shape[:-1]), reduction)


@example("multilabel_margin", expect="LC101", twin="correct_multilabel_margin", suite="catalogue")
def multilabel_margin_reads_past_end(input, target, reduction="mean"):
    """Defect: takes every non-negative entry as a target, also those after the terminating -1."""
    return correct_multilabel_margin(input, target, reduction, stop_at_minus_one=False)


# -- one candidate per known variant and convention option, and a correct twin per id (tests/test_variants.py) -------
@example("bce_with_logits", expect="LC102", variant="sigmoid applied twice", suite="variants")
def bce_with_logits_after_sigmoid(input, target):
    """The model already ends in a sigmoid, and BCEWithLogitsLoss applies another."""
    return F.binary_cross_entropy_with_logits(torch.sigmoid(input), target)


@example("bce_with_logits", suite="variants")
def correct_bce_with_logits(input, target):
    """Correct twin (bce_with_logits)."""
    return F.binary_cross_entropy_with_logits(input, target)


@example("bce_with_logits", expect="LC103", variant="normalise=positives", suite="variants")
def positive_normalised_bce(input, target):
    """BCE summed over every element and divided by the number of positives (a detection head's objectness)."""
    return F.binary_cross_entropy_with_logits(input, target, reduction="sum") / target.sum().clamp(min=1.0)


@example("cross_entropy", expect="LC102", variant="softmax applied twice", suite="variants")
def cross_entropy_after_softmax(input, target):
    """Softmax in the model's head, then F.cross_entropy (which applies log_softmax again)."""
    return F.cross_entropy(F.softmax(input, dim=1), target)


@example("cross_entropy", expect="LC102", variant="sigmoid before cross-entropy", suite="variants")
def cross_entropy_after_sigmoid(input, target):
    """Sigmoid in the model's head, then F.cross_entropy."""
    return F.cross_entropy(torch.sigmoid(input), target)


@example("cross_entropy", expect="LC102", variant="softmax over the batch axis", suite="variants")
def cross_entropy_softmax_dim0(input, target):
    """log_softmax over dim 0 (the batch) where the classes are on dim 1."""
    return F.nll_loss(F.log_softmax(input, dim=0), target)


@example("cross_entropy", expect="LC102", variant="ignored targets in the denominator", suite="variants")
class MaskedCrossEntropyAllTargets(nn.Module):
    """Masks the padding class (ignore_index=0, as in NLP code) out of the sum but divides by every target."""

    def __init__(self, ignore_index=0):
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, input, target):
        keep = target != self.ignore_index
        log_p = F.log_softmax(input, dim=1)
        picked = log_p.gather(1, torch.where(keep, target, 0).unsqueeze(1)).squeeze(1)
        return -(picked * keep).sum() / target.numel()


@example("cross_entropy", expect="LC103", variant="class_axis=last", suite="variants")
class LanguageModelCrossEntropy(nn.Module):
    """Correct (class_axis=last): next-token cross entropy as language-model code writes it, logits (B, T, V) and
    labels (B, T) already shifted, -100 at the padding."""

    def forward(self, logits, labels):
        batch, length, vocab = logits.shape
        return F.cross_entropy(logits.reshape(batch * length, vocab), labels.reshape(-1), ignore_index=-100)


@example("cross_entropy", expect="LC102", variant="mean per sequence then over sequences", suite="variants")
class SequenceMeanCrossEntropy(nn.Module):
    """A language model's token cross entropy averaged per sequence, then over the sequences: a short (padded)
    sequence's tokens weigh more than a long one's."""

    def forward(self, logits, labels):
        batch, length, vocab = logits.shape
        per_token = F.cross_entropy(logits.reshape(-1, vocab), labels.reshape(-1), reduction="none")
        kept = (labels != -100).sum(dim=1)
        return (per_token.view(batch, length).sum(dim=1) / kept).mean()


def _token_chunks(chunks, labels):
    """The (logits, labels) pairs of a chunked language-model loss: each chunk of the list (B, T_i, V) flattened to
    tokens beside its labels, cut from the whole (B, T) labels at the chunks' own lengths."""
    vocab = chunks[0].shape[-1]
    pieces = labels.split([c.shape[1] for c in chunks], dim=1)
    return [(c.reshape(-1, vocab), lab.reshape(-1)) for c, lab in zip(chunks, pieces)]


@example("cross_entropy", expect="LC103", variant="class_axis=last_chunked", suite="variants")
class ChunkedCrossEntropy(nn.Module):
    """Correct (class_axis=last_chunked): a memory-saving language model's cross entropy, the logits (B, T, V) as a
    list of chunks along T (labels (B, T) whole), each chunk's loss summed, the total divided by the kept tokens of
    the whole batch."""

    def forward(self, chunks, labels):
        total = sum(F.cross_entropy(x, t, ignore_index=-100, reduction="sum") for x, t in _token_chunks(chunks, labels))
        return total / (labels != -100).sum()


@example("cross_entropy", expect={"LC102": "mean per chunk"}, gallery=44, suite="wild")
@example("cross_entropy", expect="LC102", variant="mean per chunk then over chunks", suite="variants")
class ChunkMeanCrossEntropy(nn.Module):
    """Defect (LC102, mean per chunk then over chunks): each chunk's mean over its kept tokens, then the mean of
    those means, so a chunk with more padding (the end of short sequences) weighs each of its tokens more."""

    def forward(self, chunks, labels):
        means = [F.cross_entropy(x, t, ignore_index=-100) for x, t in _token_chunks(chunks, labels)]
        return torch.stack(means).mean()


@example("cross_entropy", expect={"LC102": "last partial chunk dropped"}, gallery=45, suite="wild")
@example("cross_entropy", expect="LC102", variant="last partial chunk dropped", suite="variants")
class FloorChunksCrossEntropy(nn.Module):
    """Defect (LC102, last partial chunk dropped): counts T // chunk_size chunks (the size read from the first
    chunk) where torch.split made ceil(T / chunk_size), so the last, shorter chunk's tokens are never scored."""

    def forward(self, chunks, labels):
        size = chunks[0].shape[1]
        seen = labels[:, :labels.shape[1] // size * size]
        vocab = chunks[0].shape[-1]
        total = sum(F.cross_entropy(x.reshape(-1, vocab), t.reshape(-1), ignore_index=-100, reduction="sum")
                    for x, t in zip(chunks, seen.split(size, dim=1)))
        return total / (seen != -100).sum()


@example("cross_entropy", suite="variants")
class SmoothedCrossEntropy(nn.Module):
    """Correct twin (cross_entropy)."""

    def __init__(self, ignore_index=-100, label_smoothing=0.1):
        super().__init__()
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, ignore_index=self.ignore_index, label_smoothing=self.label_smoothing)


@example("kl_div", expect="LC102", variant="arguments swapped", suite="variants")
def kl_div_arguments_swapped(input, target):
    """F.kl_div(p.log(), q): the two distributions the wrong way round, so KL(q ‖ p)."""
    return F.kl_div(target.log(), input.exp())


@example("kl_div", expect="LC102", variant="'mean' for 'batchmean'", suite="variants")
class MeanKL(nn.Module):
    """A KL loss that says 'batchmean' and averages over every element (as 'mean' does)."""

    def __init__(self, reduction="batchmean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        pointwise = F.kl_div(input, target, reduction="none")
        if self.reduction == "none":
            return pointwise
        if self.reduction == "sum":
            return pointwise.sum()
        return pointwise.mean()


@example("focal", suite="variants")
class BinaryFocal(nn.Module):
    """torchvision's sigmoid focal loss, alpha_t·(1 - p_t)^gamma·BCE, 'mean'; subclasses change one line."""

    def __init__(self, alpha=0.25, gamma=2.0):
        super().__init__()
        self.alpha, self.gamma = alpha, gamma

    def logits(self, input):
        return input

    def alpha_t(self, target):
        return self.alpha * target + (1 - self.alpha) * (1 - target)

    def modulator(self, input, target):
        return (torch.sigmoid(-input) * target + torch.sigmoid(input) * (1 - target)) ** self.gamma

    def forward(self, input, target):
        input = self.logits(input)
        ce = F.binary_cross_entropy_with_logits(input, target, reduction="none")
        return (self.alpha_t(target) * self.modulator(input, target) * ce).mean()


@example("focal", expect="LC103", variant="normalise=positives", suite="variants")
class PositiveNormalisedFocal(BinaryFocal):
    """RetinaNet's normalisation: the sum over every anchor divided by the number of positive anchors."""

    def forward(self, input, target):
        ce = F.binary_cross_entropy_with_logits(input, target, reduction="none")
        loss = self.alpha_t(target) * self.modulator(input, target) * ce
        return loss.sum() / max(1.0, target.sum().item())


@example("focal", expect="LC102", variant="sigmoid applied twice", suite="variants")
class SigmoidTwiceFocal(BinaryFocal):
    """Focal loss fed the model's probabilities: sigmoid(sigmoid(x)) inside."""

    def logits(self, input):
        return torch.sigmoid(input)


@example("focal", expect="LC102", variant="gamma = 0", suite="variants")
class NoFocusingFocal(BinaryFocal):
    """"Focal" loss without the (1 - p_t)^gamma factor: alpha-weighted BCE."""

    def modulator(self, input, target):
        return torch.ones_like(input)


@example("focal", expect="LC102", variant="alpha on the other class", suite="variants")
class AlphaOnNegativesFocal(BinaryFocal):
    """alpha weights the negatives and 1 - alpha the positives."""

    def alpha_t(self, target):
        return self.alpha * (1 - target) + (1 - self.alpha) * target


@example("focal", expect="LC102", variant="BCE with logits, not focal", suite="variants")
class PosWeightOnlyFocal(nn.Module):
    """A "focal loss" that is BCEWithLogitsLoss with pos_weight (1 - alpha)/alpha: no focusing term."""

    def __init__(self, alpha=0.25):
        super().__init__()
        self.alpha = alpha

    def forward(self, input, target):
        pos_weight = input.new_tensor([(1 - self.alpha) / self.alpha])
        return F.binary_cross_entropy_with_logits(input, target, pos_weight=pos_weight)


@example("focal_multiclass", suite="variants")
class SoftmaxFocal(nn.Module):
    """Softmax focal loss -(1 - p_y)^gamma·log p_y, mean over the targets; subclasses change one line."""

    def __init__(self, gamma=2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, input, target):
        dim = class_dim(input)
        log_pt = F.log_softmax(input, dim=dim).gather(dim, target.unsqueeze(dim)).squeeze(dim)
        return (-(-torch.expm1(log_pt)) ** self.gamma * log_pt).mean()


@example("focal_multiclass", expect="LC102", variant="softmax applied twice", suite="variants")
class SoftmaxTwiceFocal(SoftmaxFocal):
    """Softmax focal loss fed the model's probabilities: cross_entropy(softmax(x)) inside."""

    def forward(self, input, target):
        ce = F.cross_entropy(F.softmax(input, dim=1), target, reduction="none")
        return ((1 - torch.exp(-ce)) ** self.gamma * ce).mean()


@example("focal_multiclass", expect="LC102", variant="gamma = 0", suite="variants")
def cross_entropy_as_focal(input, target):
    """Plain F.cross_entropy presented as the softmax focal loss: no (1 - p_y)^gamma."""
    return F.cross_entropy(input, target)


@example("focal_multiclass", expect="LC102", variant="focusing term of the batch mean", suite="variants")
class BatchMeanFocal(SoftmaxFocal):
    """The focusing term computed on the batch-mean cross-entropy (a very common snippet)."""

    def forward(self, input, target):
        ce = F.cross_entropy(input, target)
        return (1 - torch.exp(-ce)) ** self.gamma * ce


@example("focal_multiclass", expect="LC103", variant="alpha_form=kornia", suite="variants")
class KorniaWeightsFocal(nn.Module):
    """Reads a scalar alpha as per-class weights [1 - alpha, alpha, alpha, ...] (kornia's convention)."""

    def __init__(self, alpha=0.25, gamma=2.0):
        super().__init__()
        self.alpha, self.gamma = alpha, gamma

    def forward(self, input, target):
        weights = torch.full((input.shape[1],), self.alpha, dtype=input.dtype, device=input.device)
        weights[0] = 1 - self.alpha
        log_pt = F.log_softmax(input, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
        return (-weights[target] * (-torch.expm1(log_pt)) ** self.gamma * log_pt).mean()


@example("focal_multiclass", expect="LC103", variant="mean_over=classes", suite="variants")
class OneHotFocal(SoftmaxFocal):
    """One-hot focal loss -onehot·(1 - p)^gamma·log p with .mean() over (N, C): divides by the classes too."""

    def forward(self, input, target):
        onehot = F.one_hot(target, input.shape[1]).movedim(-1, 1).to(input.dtype)
        log_p = F.log_softmax(input, dim=1)
        return (-onehot * (-torch.expm1(log_p)) ** self.gamma * log_p).mean()


@example("focal_multiclass", expect="LC103", variant="input_domain=probabilities", suite="variants")
class ProbabilitiesFocal(SoftmaxFocal):
    """Softmax focal loss on probabilities: the caller applies softmax; it asserts 0 <= input <= 1."""

    def forward(self, input, target):
        assert bool(((input >= 0) & (input <= 1)).all()), "apply softmax first: input must be probabilities"
        p_t = input.gather(class_dim(input), target.unsqueeze(class_dim(input))).squeeze(class_dim(input))
        return (-(1 - p_t) ** self.gamma * torch.log(p_t)).mean()


@example("focal_multiclass", expect="LC103", variant="input_domain=log_probabilities", suite="variants")
class LogProbabilitiesFocal(SoftmaxFocal):
    """Softmax focal loss on log-probabilities (log_softmax applied by the caller); it asserts input <= 0."""

    def forward(self, input, target):
        assert bool((input <= 0).all()), "apply log_softmax first: input must be log-probabilities"
        log_pt = input.gather(class_dim(input), target.unsqueeze(class_dim(input))).squeeze(class_dim(input))
        return (-(-torch.expm1(log_pt)) ** self.gamma * log_pt).mean()


@example("soft_margin", expect="LC102", variant="sign of y·x flipped", suite="variants")
def flipped_soft_margin(input, target):
    """log(1 + exp(y·x)): the minus sign of the margin is lost."""
    return F.softplus(target * input).mean()


@example("soft_margin", suite="variants")
def softplus_soft_margin(input, target):
    """Correct twin (soft_margin)."""
    return F.softplus(-target * input).mean()


@example("multilabel_soft_margin", expect="LC102", variant="sigmoid applied twice", suite="variants")
def multilabel_soft_margin_after_sigmoid(input, target):
    """Sigmoid in the model's head, then MultiLabelSoftMarginLoss (which applies its own)."""
    return F.multilabel_soft_margin_loss(torch.sigmoid(input), target)


@example("multilabel_soft_margin", suite="variants")
def torch_multilabel_soft_margin(input, target):
    """Correct twin (multilabel_soft_margin)."""
    return F.multilabel_soft_margin_loss(input, target)


@example("hinge", expect="LC102", variant="HingeEmbeddingLoss presented as the SVM hinge", suite="variants")
def hinge_embedding_loss_as_hinge(input, target):
    """nn.HingeEmbeddingLoss taken for the SVM hinge because of its name."""
    return F.hinge_embedding_loss(input, target)


@example("hinge", expect="LC102", variant="squared hinge", suite="variants")
def squared_hinge(input, target):
    """max(0, 1 - y·x)²: the L2-SVM loss presented as the hinge."""
    return F.relu(1 - target * input).pow(2).mean()


@example("hinge", expect="LC102", variant="margin ignored", suite="variants")
class FixedMarginHinge(nn.Module):
    """Takes a margin and uses 1."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, input, target):
        return F.relu(1 - target * input).mean()


@example("hinge", suite="variants")
class CorrectHinge(nn.Module):
    """Correct twin (hinge)."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, input, target):
        return F.relu(self.margin - target * input).mean()


# -- the mistakes seen in the wild: the reports/ gallery's examples (tests/test_wild.py) -----------------------------
@example("cross_entropy", expect={"LC102": "sigmoid before cross-entropy"}, gallery=1, suite="wild")
class SigmoidThenCrossEntropy(nn.Module):
    """Applies sigmoid to the logits, then CrossEntropyLoss (which applies log_softmax again)."""

    def forward(self, input, target):
        return F.cross_entropy(torch.sigmoid(input), target)


@example("focal", expect={"LC102": "not focal"}, gallery=2, suite="wild")
class PosWeightFocal(nn.Module):
    """A "focal loss" that is BCEWithLogitsLoss with pos_weight: there is no focusing term."""

    def __init__(self, alpha=0.25, gamma=2.0):
        super().__init__()
        self.alpha, self.gamma = alpha, gamma

    def forward(self, input, target):
        pos_weight = torch.tensor([(1 - self.alpha) / self.alpha], device=input.device, dtype=input.dtype)
        return F.binary_cross_entropy_with_logits(input, target, pos_weight=pos_weight)


@example("kl_div", expect={"LC404": "batchmean"}, gallery=3, suite="wild")
class DefaultReductionKL(nn.Module):
    """KLDivLoss with its default reduction='mean', used as the KL divergence (it is not: use 'batchmean')."""

    def forward(self, input, target):
        return F.kl_div(input, target, reduction="mean")


@example("bce", expect={"LC202": "clamp"}, gallery=6, suite="wild")
class ClampedBCE(nn.Module):
    """BCE on probabilities clamped at 1e-7: the loss is capped at 16.1 and the gradient dies at the clamp."""

    def forward(self, input, target):
        p = input.clamp(1e-7, 1 - 1e-7)
        return -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()


@example("cross_entropy", expect="LC103", variant="label_smoothing_form=other_classes", suite="variants")
@example("cross_entropy", expect={"LC103": "eps/(c-1)"}, gallery=13, suite="wild")
class OtherClassSmoothingCE(nn.Module):
    """Label smoothing by eps/(K-1) over the other classes, compared with torch's label_smoothing (eps/K)."""

    def __init__(self, label_smoothing=0.1):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        k = input.shape[1]
        soft = torch.full_like(input, self.label_smoothing / (k - 1))
        soft.scatter_(1, target.unsqueeze(1), 1 - self.label_smoothing)
        return -(soft * F.log_softmax(input, dim=1)).sum(1).mean()


@example("focal", expect={"LC701": "in place"}, gallery=17, suite="wild")
class InPlaceSigmoidFocal(nn.Module):
    """Applies sigmoid_ to the caller's logits in place."""

    def __init__(self, alpha=0.25, gamma=2.0):
        super().__init__()
        self.alpha, self.gamma = alpha, gamma

    def forward(self, input, target):
        p = input.sigmoid_()
        ce = F.binary_cross_entropy(p, target, reduction="none")
        p_t = p * target + (1 - p) * (1 - target)
        alpha_t = self.alpha * target + (1 - self.alpha) * (1 - target)
        return (alpha_t * (1 - p_t) ** self.gamma * ce).mean()


# -- correct losses written in a form the catalogue does not list, and broken twins (tests/test_forms.py) ------------
@example("focal_multiclass", expect="LC103", variant="input_domain=probabilities", suite="forms")
class ProbabilityFocal(nn.Module):
    """Correct (on probabilities): a focal loss documented to take probabilities (it asserts 0 <= x <= 1 and asks
    for softmax first), classes on the last axis, index targets with -100 ignored, mean over the kept targets."""

    def __init__(self, gamma: float = 2.0, ignore_index: int = -100):
        super().__init__()
        self.gamma, self.ignore_index = gamma, ignore_index

    def forward(self, input, target):
        if not bool(((input >= 0) & (input <= 1)).all()):
            raise ValueError("input must be probabilities in [0, 1]: apply softmax first")
        probs = input.reshape(-1, input.shape[-1])
        labels = target.reshape(-1)
        if probs.shape[0] != labels.shape[0]:
            raise ValueError(f"{tuple(input.shape)} and {tuple(target.shape)}: classes go on the last axis")
        keep = labels != self.ignore_index
        p_t = probs[keep].gather(1, labels[keep].unsqueeze(1)).squeeze(1)
        return self.reduced(-(1 - p_t) ** self.gamma * torch.log(p_t), keep)

    def reduced(self, loss, keep):
        return loss.sum() / keep.sum()


@example("focal_multiclass", expect="LC503", suite="forms")
class ProbabilityFocalCountsIgnored(ProbabilityFocal):
    """LC503 (on probabilities): the mean divides by every target, the ignored ones (-100) included."""

    def reduced(self, loss, keep):
        return loss.sum() / keep.numel()


@example("cross_entropy", expect="LC103", variant="params=label_smoothing=epsilon", suite="forms")
class EpsilonLabelSmoother:
    """Correct (a parameter under another name): a trainer's label smoother, called on (logits, labels) with the
    classes on the last axis and -100 ignored, that takes `epsilon`: exactly cross-entropy with label_smoothing =
    epsilon, (1 - ε)·NLL + ε·mean over classes of -log p, each averaged over the kept targets."""

    def __init__(self, epsilon: float = 0.1, ignore_index: int = -100):
        self.epsilon, self.ignore_index = epsilon, ignore_index

    def __call__(self, logits, labels):
        log_probs = -F.log_softmax(logits, dim=-1)
        labels = labels.unsqueeze(-1)
        padding = labels.eq(self.ignore_index)
        nll = log_probs.gather(dim=-1, index=labels.clamp(min=0)).masked_fill(padding, 0.0)
        smoothed = log_probs.sum(dim=-1, keepdim=True).masked_fill(padding, 0.0)
        kept = padding.numel() - padding.long().sum()
        return (1 - self.epsilon) * nll.sum() / kept + self.epsilon * smoothed.sum() / self.per_class(kept, log_probs)

    def per_class(self, kept, log_probs):
        return kept * log_probs.shape[-1]


@example("cross_entropy", expect="LC101", suite="forms")
class EpsilonLabelSmootherPerTarget(EpsilonLabelSmoother):
    """LC101 (a parameter under another name): the smoothing term is divided by the kept targets only, not by
    targets times classes, so it sums -log p over the classes where it should average them."""

    def per_class(self, kept, log_probs):
        return kept


@example("cross_entropy", expect="LC103", variant="params=label_smoothing=1-confidence", suite="forms")
class ConfidenceSmoothedCE(nn.Module):
    """Correct (a complement under another name): label smoothing given as the confidence kept on the true class,
    the target confidence·onehot + (1 - confidence)/C, i.e. cross-entropy with label_smoothing = 1 - confidence."""

    def __init__(self, confidence: float = 0.9):
        super().__init__()
        self.confidence = confidence

    def forward(self, input, target):
        log_probs = F.log_softmax(input, dim=1)
        nll = -log_probs.gather(1, target.unsqueeze(1)).squeeze(1)
        return (self.confidence * nll + (1 - self.confidence) * self.uniform(log_probs)).mean()

    def uniform(self, log_probs):
        return -log_probs.mean(dim=1)


@example("cross_entropy", expect="LC101", suite="forms")
class ConfidenceSmoothedCESummed(ConfidenceSmoothedCE):
    """LC101 (a complement under another name): the smoothing term sums -log p over the classes where the uniform
    target averages it."""

    def uniform(self, log_probs):
        return -log_probs.sum(dim=1)


# -- the low-precision fixtures (issue 24): right in float32, wrong as bf16/fp16 autocast runs them -----------------
# (gallery rows: the same operation also fails in float32 past |x| ~ 16; the report groups both regimes as one cause,
# led by the precision finding, losscheck.diagnosis.grouping)
@example("focal", expect={"LC801": "log of a probability"}, gallery=46, suite="wild")
@example("focal", expect="LC801", twin="CorrectFocal", suite="pitfalls")
class NaiveFocal(nn.Module):
    """LC801: focal loss through log(sigmoid(x)) and log(1 - sigmoid(x)): sigmoid(7) rounds to 1 in bf16, so
    (1 - y)·log(1 - p) is 0·(-inf) = nan for a confident right answer; fine in float32 up to |x| ≈ 16."""

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "mean"):
        super().__init__()
        self.alpha, self.gamma, self.reduction = alpha, gamma, reduction

    def forward(self, input, target):
        same_shape(input, target)
        p = torch.sigmoid(input)
        ce = -(target * torch.log(p) + (1.0 - target) * torch.log(1.0 - p))
        p_t = p * target + (1.0 - p) * (1.0 - target)
        alpha_t = self.alpha * target + (1.0 - self.alpha) * (1.0 - target)
        return reduce(alpha_t * (1.0 - p_t) ** self.gamma * ce, self.reduction)


@example("bce_with_logits", expect={"LC801": "log of a clamped probability"}, gallery=47, suite="wild")
@example("bce_with_logits", expect="LC801", twin="CorrectBCEWithLogits", suite="pitfalls")
class SigmoidClampBCE(nn.Module):
    """LC801: BCE on sigmoid(x) clamped to [1e-7, 1 - 1e-7]: in bf16 (and fp16) 1 - 1e-7 rounds to 1, the clamp
    no longer keeps log(1 - p) finite, and a confident right answer gives 0·log(0) = nan."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        same_shape(input, target)
        p = torch.sigmoid(input).clamp(1e-7, 1 - 1e-7)
        return reduce(-(target * torch.log(p) + (1.0 - target) * torch.log(1.0 - p)), self.reduction)


@example("cross_entropy", expect={"LC801": "exp without a max shift"}, gallery=48, suite="wild")
@example("cross_entropy", expect="LC801", twin="CorrectCrossEntropy", suite="pitfalls")
class UnshiftedSoftmaxCE(CorrectCrossEntropy):
    """LC801: cross entropy through exp(x) / Σ exp(x) with no max shift: exp(12) overflows fp16, so under fp16
    autocast a confident logit gives inf/inf = nan (bf16's range holds it; log_softmax shifts by the max)."""

    def log_probs(self, input, dim):
        e = torch.exp(input)
        return torch.log(e / e.sum(dim, keepdim=True))
