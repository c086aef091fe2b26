"""The specs for the rest of the catalogue (poisson_nll ... ctc): for each, a hand-written defective loss that
the audit catches with the expected code, and a correct twin that audits clean (no error or warning finding);
and every torch loss (module or functional) either maps to a catalogue id or is a listed gap that exits 2
with one line.

The fixtures live here, in the test module, so that each is read next to the defect it carries. Audits run
once per (fixture, id) with 15 examples per check (cached), after FakeTensorMode is warmed up in this process
(device.fake_cuda otherwise initialises it in every forked worker).
"""
from __future__ import annotations

import functools
import inspect
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from losscheck import audit
from losscheck.cli import main
from losscheck.specs import SPECS, TORCH_BUILTINS

MAX_EXAMPLES = 15


def _warm_fake_tensor_mode() -> None:
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode(allow_non_fake_inputs=True):
        x = torch.empty(2, 3, device="cuda:0")
        F.mse_loss(x, x * 2)


_warm_fake_tensor_mode()


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _upcast(x):
    """Half-precision inputs computed in float32 (eps of 1e-8 does not exist in float16)."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


# -- regression -----------------------------------------------------------------------------------------------

class CorrectPoissonNLL(nn.Module):
    def __init__(self, log_input=True, full=False, eps=1e-8, reduction="mean"):
        super().__init__()
        self.log_input, self.full, self.eps, self.reduction = log_input, full, eps, reduction

    def forward(self, input, target):
        x, y = _upcast(input), _upcast(target)
        loss = torch.exp(x) - y * x if self.log_input else x - y * torch.log(x + self.eps)
        if self.full:
            big = y > 1
            safe = torch.where(big, y, torch.full_like(y, 2.0))
            loss = loss + torch.where(big, safe * torch.log(safe) - safe + 0.5 * torch.log(2 * math.pi * safe), 0.0)
        return _reduce(loss, self.reduction).to(input.dtype)


class PoissonNLLIgnoresFull(CorrectPoissonNLL):
    """Defect: `full` is accepted but the Stirling term is never added."""

    def forward(self, input, target):
        x, y = _upcast(input), _upcast(target)
        loss = torch.exp(x) - y * x if self.log_input else x - y * torch.log(x + self.eps)
        return _reduce(loss, self.reduction).to(input.dtype)


class CorrectGaussianNLL(nn.Module):
    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__()
        self.full, self.eps, self.reduction = full, eps, reduction

    def variance(self, var):
        return var

    def forward(self, input, target, var):
        var = self.variance(var)
        if var.shape != input.shape and var.shape == input.shape[:-1]:
            var = var.unsqueeze(-1)
        var = var + (var.clamp(min=self.eps) - var).detach()  # clamp without gradient, as torch
        loss = 0.5 * (torch.log(var) + (input - target) ** 2 / var)
        if self.full:
            loss = loss + 0.5 * math.log(2 * math.pi)
        return _reduce(loss, self.reduction)


class GaussianNLLStdForVar(CorrectGaussianNLL):
    """Defect: reads `var` as the standard deviation."""

    def variance(self, var):
        return var ** 2


def correct_asymmetric_mse(input, target, over_penalty=2.0, reduction="mean"):
    d = input - target
    return _reduce(torch.where(d > 0, over_penalty, 1.0) * d * d, reduction)


def asymmetric_mse_under(input, target, over_penalty=2.0, reduction="mean"):
    """Defect: penalises under-prediction (d < 0) instead of over-prediction."""
    d = input - target
    return _reduce(torch.where(d < 0, over_penalty, 1.0) * d * d, reduction)


# -- classification -------------------------------------------------------------------------------------------

class CorrectFocalMulticlass(nn.Module):
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
        return _reduce(loss, self.reduction)


class KorniaAlphaFocal(CorrectFocalMulticlass):
    """Convention (not a defect): kornia reads a scalar alpha as [1 - alpha, alpha, alpha, ...]."""

    def __init__(self, alpha=0.25, gamma=2.0, ignore_index=-100, reduction="mean"):
        super().__init__(alpha, gamma, ignore_index, reduction)

    def class_alpha(self, n_classes, like):
        return torch.tensor([1.0 - self.alpha] + [self.alpha] * (n_classes - 1), dtype=like.dtype)


def correct_soft_margin(input, target, reduction="mean"):
    return _reduce(F.softplus(-target * input), reduction)


def naive_soft_margin(input, target, reduction="mean"):
    """Defect: log1p(exp(-y·x)) literally (torch's own formula): inf once -y·x > 88.7 in float32."""
    return _reduce(torch.log1p(torch.exp(-target * input)), reduction)


def correct_multilabel_soft_margin(input, target, weight=None, reduction="mean"):
    loss = -(target * F.logsigmoid(input) + (1 - target) * F.logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.sum(-1) / input.shape[-1], reduction)


def multilabel_soft_margin_on_sigmoid(input, target, weight=None, reduction="mean"):
    """Defect: applies sigmoid to logits that the loss passes through logsigmoid again."""
    return correct_multilabel_soft_margin(torch.sigmoid(input), target, weight, reduction)


class CorrectMultiMargin(nn.Module):
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
        return _reduce((z.sum(1) / x.shape[1]).reshape(target.shape), self.reduction)


class MultiMarginCountsTarget(CorrectMultiMargin):
    """Defect: the target class's own term max(0, margin)^p is summed too."""

    count_target = True


def correct_hinge(input, target, margin=1.0, reduction="mean"):
    return _reduce((margin - target * input).clamp(min=0), reduction)


def hinge_embedding_as_hinge(input, target, margin=1.0, reduction="mean"):
    """Defect: torch's HingeEmbeddingLoss used as the SVM hinge."""
    return F.hinge_embedding_loss(input, target, margin=margin, reduction=reduction)


def correct_multilabel_margin(input, target, reduction="mean", stop_at_minus_one=True):
    x = input if input.dim() == 2 else input.reshape(1, -1)
    t = target.reshape(x.shape)
    listed = t >= 0
    valid = torch.cumprod(listed.to(torch.int64), dim=1).bool() if stop_at_minus_one else listed
    safe = torch.where(valid, t, torch.zeros_like(t))
    is_target = (F.one_hot(safe, x.shape[1]) * valid.unsqueeze(-1)).sum(1) > 0
    z = (1 - x.gather(1, safe).unsqueeze(2) + x.unsqueeze(1)).clamp(min=0)
    z = z * (valid.unsqueeze(2) & ~is_target.unsqueeze(1))
    return _reduce((z.sum((1, 2)) / x.shape[1]).reshape(input.shape[:-1]), reduction)


def multilabel_margin_reads_past_end(input, target, reduction="mean"):
    """Defect: takes every non-negative entry as a target, also those after the terminating -1."""
    return correct_multilabel_margin(input, target, reduction, stop_at_minus_one=False)


# -- embedding ------------------------------------------------------------------------------------------------

def correct_hinge_embedding(input, target, margin=1.0, reduction="mean"):
    loss = torch.where(target == 1, input, 0.0) + torch.where(target == -1, (margin - input).clamp(min=0), 0.0)
    return _reduce(loss, reduction)


def svm_hinge_as_hinge_embedding(input, target, margin=1.0, reduction="mean"):
    """Defect: the SVM hinge max(0, margin - y·x) presented as HingeEmbeddingLoss."""
    return _reduce((margin - target * input).clamp(min=0), reduction)


def correct_cosine_embedding(x1, x2, y, margin=0.0, reduction="mean"):
    eps = 1e-12
    cos = (x1 * x2).sum(-1) / torch.sqrt((x1 * x1).sum(-1) + eps) / torch.sqrt((x2 * x2).sum(-1) + eps)
    loss = torch.where(y == 1, 1 - cos, 0.0) + torch.where(y == -1, (cos - margin).clamp(min=0), 0.0)
    return _reduce(loss, reduction)


def naive_cosine_embedding(x1, x2, y, margin=0.0, reduction="mean"):
    """Defect: cos = x1·x2 / (‖x1‖·‖x2‖) without eps: nan for a zero vector."""
    cos = (x1 * x2).sum(-1) / (x1.norm(dim=-1) * x2.norm(dim=-1))
    loss = torch.where(y == 1, 1 - cos, 0.0) + torch.where(y == -1, (cos - margin).clamp(min=0), 0.0)
    return _reduce(loss, reduction)


def cosine_as_contrastive(x1, x2, label, margin=1.0, reduction="mean"):
    """Defect: CosineEmbeddingLoss presented as the (Euclidean) contrastive loss."""
    return F.cosine_embedding_loss(x1, x2, 2 * label - 1, reduction=reduction)


def correct_margin_ranking(x1, x2, y, margin=0.0, reduction="mean"):
    return _reduce((-y * (x1 - x2) + margin).clamp(min=0), reduction)


def margin_ranking_flipped(x1, x2, y, margin=0.0, reduction="mean"):
    """Defect: the sign of y is lost (ranks x2 above x1 for y = 1)."""
    return _reduce((y * (x1 - x2) + margin).clamp(min=0), reduction)


class CorrectBatchHard(nn.Module):
    def __init__(self, margin=1.0, squared=False, reduction="mean"):
        super().__init__()
        self.margin, self.squared, self.reduction = margin, squared, reduction

    def distances(self, squared):
        safe = torch.where(squared > 0, squared, torch.ones_like(squared))
        return torch.where(squared > 0, safe.sqrt(), torch.zeros_like(squared))

    def forward(self, embeddings, labels):
        diff = embeddings.unsqueeze(1) - embeddings.unsqueeze(0)
        squared = (diff * diff).sum(-1)
        d = squared if self.squared else self.distances(squared)
        same = labels.unsqueeze(0) == labels.unsqueeze(1)
        positive = same & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        negative = ~same
        d_p = torch.where(positive, d, -math.inf).amax(1)
        d_n = torch.where(negative, d, math.inf).amin(1)
        valid = positive.any(1) & negative.any(1)
        loss = torch.where(valid, (d_p - d_n + self.margin).clamp(min=0), 0.0)
        if self.reduction == "mean":
            return loss.sum() / valid.sum()
        return _reduce(loss, self.reduction)


class BatchHardNaiveSqrt(CorrectBatchHard):
    """Defect: sqrt of the squared distances, whose gradient at a zero distance (the diagonal) is nan."""

    def distances(self, squared):
        return squared.sqrt()


# -- segmentation and boxes -----------------------------------------------------------------------------------

class CorrectTversky(nn.Module):
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
        return _reduce(1 - (tp + self.smooth) / (tp + w_fp * fp + w_fn * fn + self.smooth), self.reduction)


class TverskySwapped(CorrectTversky):
    """Defect: alpha weights the false negatives and beta the false positives."""

    def __init__(self, alpha=0.3, beta=0.7, smooth=1.0, reduction="mean"):
        super().__init__(alpha, beta, smooth, reduction)

    def weights(self):
        return self.beta, self.alpha


class CorrectGeneralizedDice(nn.Module):
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
            return _reduce(1 - ratio.mean(-1), self.reduction)
        numerator = 2 * (intersection * w).sum(-1) + self.smooth_nr
        return _reduce(1 - numerator / ((denominator * w).sum(-1) + self.smooth_dr), self.reduction)


class GeneralizedDicePerClass(CorrectGeneralizedDice):
    """Defect: divides per class and averages the ratios, so the class weights cancel."""

    per_class = True


def _overlap(input, target, clamp=True):
    x1, y1, x2, y2 = input.unbind(-1)
    x1g, y1g, x2g, y2g = target.unbind(-1)
    w = torch.minimum(x2, x2g) - torch.maximum(x1, x1g)
    h = torch.minimum(y2, y2g) - torch.maximum(y1, y1g)
    intersection = torch.where((w > 0) & (h > 0), w * h, 0.0) if clamp else w * h
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intersection
    hull = (torch.maximum(x2, x2g) - torch.minimum(x1, x1g)) * (torch.maximum(y2, y2g) - torch.minimum(y1, y1g))
    return intersection, union, hull


def correct_iou(input, target, eps=1e-7, reduction="mean"):
    intersection, union, _ = _overlap(input, target)
    return _reduce(1 - intersection / (union + eps), reduction)


def iou_unclamped(input, target, eps=1e-7, reduction="mean"):
    """Defect: overlap width and height multiplied without clamping at 0."""
    intersection, union, _ = _overlap(input, target, clamp=False)
    return _reduce(1 - intersection / (union + eps), reduction)


def correct_giou(input, target, eps=1e-7, reduction="mean"):
    intersection, union, hull = _overlap(input, target)
    return _reduce(1 - intersection / (union + eps) + (hull - union) / (hull + eps), reduction)


def giou_without_eps(input, target, reduction="mean"):
    """Defect: no eps: a degenerate box equal to its target is 0/0."""
    intersection, union, hull = _overlap(input, target)
    return _reduce(1 - intersection / union + (hull - union) / hull, reduction)


# -- generative -----------------------------------------------------------------------------------------------

def correct_gaussian_kl(mu, logvar, reduction="mean"):
    return _reduce(0.5 * (mu * mu + torch.expm1(logvar) - logvar).sum(-1), reduction)


def vae_example_kld(mu, logvar):
    """Defect (as in the PyTorch VAE example): the KL summed over the batch too."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def correct_gan_discriminator(real_logits, fake_logits, reduction="mean"):
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits), reduction=reduction)
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits), reduction=reduction)
    return real + fake


def gan_discriminator_swapped_labels(real_logits, fake_logits, reduction="mean"):
    """Defect: real scored against 0, fake against 1."""
    return correct_gan_discriminator(-real_logits, -fake_logits, reduction)


def correct_gan_generator(fake_logits, reduction="mean"):
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits), reduction=reduction)


def saturating_gan_generator(fake_logits, reduction="mean"):
    """Defect: minimises log(1 - D(G(z))), the saturating minimax form."""
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits), reduction=reduction)


def correct_wasserstein_critic(real_scores, fake_scores, reduction="mean"):
    if reduction == "none":
        return fake_scores - real_scores
    return _reduce(fake_scores, reduction) - _reduce(real_scores, reduction)


def wasserstein_critic_flipped(real_scores, fake_scores, reduction="mean"):
    """Defect: the critic's objective mean(real) - mean(fake) returned as the loss to minimise."""
    return -correct_wasserstein_critic(real_scores, fake_scores, reduction)


def correct_uncertainty_weighting(losses, log_vars, reduction="sum"):
    return _reduce(torch.exp(-log_vars) * losses + log_vars, reduction)


def uncertainty_without_regulariser(losses, log_vars, reduction="sum"):
    """Defect: the + log_var term is missing, so every weight exp(-s) can shrink to 0."""
    return _reduce(torch.exp(-log_vars) * losses, reduction)


# -- sequence -------------------------------------------------------------------------------------------------

def correct_ctc(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    # .contiguous(): torch's CPU ctc_loss misreads strided 1-D (concatenated) targets
    return F.ctc_loss(log_probs, targets.contiguous(), input_lengths, target_lengths, blank=blank,
                      reduction=reduction, zero_infinity=zero_infinity)


def ctc_mean_over_batch(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
                        zero_infinity=False):
    """Defect: 'mean' averages the per-sample losses without dividing them by the target lengths."""
    losses = correct_ctc(log_probs, targets, input_lengths, target_lengths, blank, "none", zero_infinity)
    return losses.mean() if reduction == "mean" else _reduce(losses, reduction)


# -- the table ------------------------------------------------------------------------------------------------

# (defective fixture, catalogue id, expected code, correct twin)
CASES = [
    (PoissonNLLIgnoresFull, "poisson_nll", "LC101", CorrectPoissonNLL),
    (GaussianNLLStdForVar, "gaussian_nll", "LC102", CorrectGaussianNLL),
    (asymmetric_mse_under, "asymmetric_mse", "LC102", correct_asymmetric_mse),
    (KorniaAlphaFocal, "focal_multiclass", "LC103", CorrectFocalMulticlass),
    (naive_soft_margin, "soft_margin", "LC201", correct_soft_margin),
    (multilabel_soft_margin_on_sigmoid, "multilabel_soft_margin", "LC102", correct_multilabel_soft_margin),
    (MultiMarginCountsTarget, "multi_margin", "LC101", CorrectMultiMargin),
    (hinge_embedding_as_hinge, "hinge", "LC102", correct_hinge),
    (multilabel_margin_reads_past_end, "multilabel_margin", "LC101", correct_multilabel_margin),
    (svm_hinge_as_hinge_embedding, "hinge_embedding", "LC102", correct_hinge_embedding),
    (naive_cosine_embedding, "cosine_embedding", "LC201", correct_cosine_embedding),
    (cosine_as_contrastive, "contrastive", "LC102", None),
    (margin_ranking_flipped, "margin_ranking", "LC102", correct_margin_ranking),
    (BatchHardNaiveSqrt, "triplet_batch_hard", "LC302", CorrectBatchHard),
    (TverskySwapped, "tversky", "LC102", CorrectTversky),
    (GeneralizedDicePerClass, "generalized_dice", "LC102", CorrectGeneralizedDice),
    (iou_unclamped, "iou", "LC102", correct_iou),
    (giou_without_eps, "giou", "LC201", correct_giou),
    (vae_example_kld, "gaussian_kl", "LC102", correct_gaussian_kl),
    (gan_discriminator_swapped_labels, "gan_discriminator", "LC102", correct_gan_discriminator),
    (saturating_gan_generator, "gan_generator", "LC102", correct_gan_generator),
    (wasserstein_critic_flipped, "wasserstein_critic", "LC102", correct_wasserstein_critic),
    (uncertainty_without_regulariser, "uncertainty_weighting", "LC102", correct_uncertainty_weighting),
    (ctc_mean_over_batch, "ctc", "LC102", correct_ctc),
]

# The variant that must name each LC102 (the diagnosis, not just "some known defect").
VARIANT = {
    "gaussian_nll": "standard deviation for var", "asymmetric_mse": "penalises under-prediction",
    "multilabel_soft_margin": "sigmoid applied twice", "hinge": "HingeEmbeddingLoss presented as the SVM hinge",
    "hinge_embedding": "SVM hinge presented as HingeEmbeddingLoss",
    "contrastive": "CosineEmbeddingLoss presented as contrastive", "margin_ranking": "sign of y flipped",
    "tversky": "alpha and beta swapped", "generalized_dice": "divided per class",
    "iou": "intersection not clamped at 0", "gaussian_kl": "summed over the batch",
    "gan_discriminator": "labels swapped", "gan_generator": "saturating generator loss",
    "wasserstein_critic": "sign flipped", "uncertainty_weighting": "regulariser missing",
    "ctc": "'mean' not divided by target lengths",
}

NEW_IDS = sorted({loss_id for _, loss_id, _, _ in CASES} - {"contrastive"})


@functools.lru_cache(maxsize=None)
def audited(obj, loss_id):
    return audit(obj, as_=loss_id, max_examples=MAX_EXAMPLES)


def _ids(cases):
    return [f"{loss_id}-{getattr(bad, '__name__', bad)}" for bad, loss_id, *_ in cases]


def _describe(result):
    return "\n".join(f"{f.code} {f.severity} {f.check}: {f.message[:300]}" for f in result.findings)


def test_every_new_id_has_a_spec_and_a_case():
    assert set(NEW_IDS) <= set(SPECS)
    assert {"poisson_nll", "gaussian_nll", "asymmetric_mse", "focal_multiclass", "soft_margin",
            "multilabel_soft_margin", "multi_margin", "hinge", "multilabel_margin", "hinge_embedding",
            "cosine_embedding", "margin_ranking", "triplet_batch_hard", "tversky", "generalized_dice", "iou", "giou",
            "gaussian_kl", "gan_discriminator", "gan_generator", "wasserstein_critic", "uncertainty_weighting",
            "ctc"} == set(NEW_IDS)


@pytest.mark.parametrize("bad, loss_id, code, twin", CASES, ids=_ids(CASES))
def test_defect_is_caught(bad, loss_id, code, twin):
    result = audited(bad, loss_id)
    found = [f for f in result.findings if f.code == code]
    assert found, f"{bad.__name__} as {loss_id}: expected {code}, got:\n{_describe(result)}"
    if code == "LC102":
        assert any(f.data.get("variant") == VARIANT[loss_id] for f in found), _describe(result)
    errors = [f"{c.name}: {c.detail}" for c in result.checks if c.status == "error"]
    assert errors == []


TWINS = [(twin, loss_id) for _, loss_id, _, twin in CASES if twin is not None]


@pytest.mark.parametrize("twin, loss_id", TWINS, ids=[f"{i}-{t.__name__}" for t, i in TWINS])
def test_correct_twin_audits_clean(twin, loss_id):
    result = audited(twin, loss_id)
    failing = [f for f in result.findings if f.severity != "info"]
    assert failing == [], _describe(result)
    assert [c.name for c in result.checks if c.status == "error"] == []


def test_kornia_alpha_is_a_declarable_convention():
    result = audited(KorniaAlphaFocal, "focal_multiclass")
    assert result.conventions.get("alpha_form") == "kornia"
    declared = audit(KorniaAlphaFocal, as_="focal_multiclass", max_examples=5, conventions={"alpha_form": "kornia"},
                     select=("LC1",))
    assert declared.findings == []


# -- torch built-ins ------------------------------------------------------------------------------------------

# Torch losses with no catalogue id: the CLI refuses them with one line (exit 2).
KNOWN_GAPS = {
    "torch.nn.TripletMarginWithDistanceLoss", "torch.nn.functional.triplet_margin_with_distance_loss",
    "torch.nn.AdaptiveLogSoftmaxWithLoss",
    "torch.nn.LinearCrossEntropyLoss", "torch.nn.functional.linear_cross_entropy",  # torch >= 2.13: a Linear inside
}


def torch_losses() -> list[str]:
    """Every loss module of torch.nn (a `_Loss` subclass, or a class named *Loss / *WithLoss) and every loss of
    torch.nn.functional (named *_loss, *cross_entropy*, or kl_div) in the installed torch."""
    from torch.nn.modules.loss import _Loss

    modules = [f"torch.nn.{name}" for name, obj in vars(nn).items()
               if inspect.isclass(obj) and not name.startswith("_")
               and (issubclass(obj, _Loss) or name.endswith("Loss") or name.endswith("WithLoss"))]
    functionals = [f"torch.nn.functional.{name}" for name, obj in vars(F).items()
                   if callable(obj) and not name.startswith("_")
                   and (name.endswith("_loss") or "cross_entropy" in name or name == "kl_div")]
    return sorted(modules + functionals)


def test_the_enumeration_sees_the_usual_losses():
    found = torch_losses()
    for name in ("torch.nn.MSELoss", "torch.nn.CTCLoss", "torch.nn.AdaptiveLogSoftmaxWithLoss",
                 "torch.nn.functional.cross_entropy", "torch.nn.functional.kl_div",
                 "torch.nn.functional.binary_cross_entropy_with_logits", "torch.nn.functional.ctc_loss"):
        assert name in found


@pytest.mark.parametrize("name", torch_losses())
def test_every_torch_loss_maps_to_an_id_or_is_a_known_gap(name):
    assert (name in TORCH_BUILTINS) != (name in KNOWN_GAPS), name


def test_known_gaps_exist_in_this_torch():
    assert {g for g in KNOWN_GAPS if g in torch_losses()} == {g for g in KNOWN_GAPS if _exists(g)}
    assert {"torch.nn.TripletMarginWithDistanceLoss", "torch.nn.AdaptiveLogSoftmaxWithLoss"} <= set(torch_losses())


def _exists(name):
    module, _, attr = name.rpartition(".")
    return hasattr(torch.nn if module == "torch.nn" else F, attr)


@pytest.mark.parametrize("name", sorted(g for g in KNOWN_GAPS if _exists(g)))
def test_known_gap_exits_2_with_one_line(name, capsys):
    assert main(["audit", name]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no catalogue id" in err and "Traceback" not in err, err


def test_known_gap_exit_code_from_the_command_line():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "losscheck", "audit", "torch.nn.TripletMarginWithDistanceLoss"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and done.stdout == "", done.stderr
