"""Every known variant is diagnosed by name: for each Variant a spec lists (`variants=`), each non-default option
of each of its conventions (`conventions=`, an LC103 variant named "name=value") and each COMMON variant (on one
spec), a small hand-written candidate with exactly that mistake, written the way people write it, must get a
finding with the variant's code whose message names the variant. Every spec involved has a correct twin that
gets no error or warning finding, and declaring a convention (`conventions={name: value}`) makes the candidate
that follows it audit without an LC103 for that convention.

`test_every_variant_and_convention_has_a_candidate` enumerates the catalogue, so a new variant or convention
option without a candidate here fails it.
"""
import functools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from losscheck import audit
from losscheck.specs import SPECS
from losscheck.variants import COMMON

MAX_EXAMPLES = 20


def class_dim(input):
    return 0 if input.dim() == 1 else 1


def spatial_dims(input):
    return tuple(range(2, input.dim()))


# ==================================================================================================
# regression: smooth_l1, huber, gaussian_nll, asymmetric_mse (and mse, l1 for the COMMON variants)
# ==================================================================================================
class HuberFormulaSmoothL1(nn.Module):
    """SmoothL1 written with the Huber formula (0.5·d² inside beta, beta·(|d| - beta/2) outside): beta times too
    large."""

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = beta

    def forward(self, input, target):
        d = (input - target).abs()
        return torch.where(d <= self.beta, 0.5 * d ** 2, self.beta * (d - 0.5 * self.beta)).mean()


class CorrectSmoothL1(nn.Module):
    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, beta=self.beta)


class SmoothL1ForHuber(nn.Module):
    """Huber loss written as SmoothL1Loss(beta=delta): delta times too small."""

    def __init__(self, delta=2.0):
        super().__init__()
        self.delta = delta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, beta=self.delta)


class CorrectHuber(nn.Module):
    def __init__(self, delta=2.0):
        super().__init__()
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, delta=self.delta)


def gaussian_nll_given_std(input, target, std):
    """Passes the standard deviation the network predicts where GaussianNLLLoss takes the variance (squared)."""
    return F.gaussian_nll_loss(input, target, std ** 2)


def _per_element_var(var, input):
    return var.unsqueeze(-1) if var.dim() == input.dim() - 1 else var


def gaussian_nll_without_log_var(input, target, var):
    """Only the data term d²/(2·var): the 0.5·log(var) term is left out."""
    var = _per_element_var(var, input).clamp_min(1e-6)
    return (0.5 * (input - target) ** 2 / var).mean()


def gaussian_nll_without_half(input, target, var):
    """log(var) + d²/var: the ½ of the negative log-likelihood is dropped (COMMON: missing factor ½)."""
    var = _per_element_var(var, input).clamp_min(1e-6)
    return (torch.log(var) + (input - target) ** 2 / var).mean()


def correct_gaussian_nll(input, target, var):
    return F.gaussian_nll_loss(input, target, var)


class UnderPenaltyMSE(nn.Module):
    """Asymmetric MSE that weights the squared error where input < target (the sign of d the wrong way)."""

    def __init__(self, over_penalty=2.0):
        super().__init__()
        self.over_penalty = over_penalty

    def forward(self, input, target):
        d = input - target
        w = 1.0 + (self.over_penalty - 1.0) * (d < 0).to(d.dtype)
        return (w * d ** 2).mean()


class CorrectAsymmetricMSE(nn.Module):
    def __init__(self, over_penalty=2.0):
        super().__init__()
        self.over_penalty = over_penalty

    def forward(self, input, target):
        d = input - target
        w = 1.0 + (self.over_penalty - 1.0) * (d > 0).to(d.dtype)
        return (w * d ** 2).mean()


def summed_l1(input, target):
    """L1 with .sum() where the mean is meant (COMMON: sum instead of mean)."""
    return (input - target).abs().sum()


def correct_l1(input, target):
    return (input - target).abs().mean()


def batch_only_mse(input, target):
    """Sums the squared errors and divides by the batch size only (COMMON: mean over the batch only)."""
    return ((input - target) ** 2).sum() / input.shape[0]


def half_mse(input, target):
    """0.5 * MSE, the factor of ½·d² copied into a loss that has none (COMMON: extra factor ½)."""
    return 0.5 * ((input - target) ** 2).mean()


def correct_mse(input, target):
    return ((input - target) ** 2).mean()


# ==================================================================================================
# classification: bce_with_logits, cross_entropy, kl_div, focal, focal_multiclass, soft_margin,
# multilabel_soft_margin, hinge
# ==================================================================================================
def bce_with_logits_after_sigmoid(input, target):
    """The model already ends in a sigmoid, and BCEWithLogitsLoss applies another."""
    return F.binary_cross_entropy_with_logits(torch.sigmoid(input), target)


def correct_bce_with_logits(input, target):
    return F.binary_cross_entropy_with_logits(input, target)


def positive_normalised_bce(input, target):
    """BCE summed over every element and divided by the number of positives (a detection head's objectness)."""
    return F.binary_cross_entropy_with_logits(input, target, reduction="sum") / target.sum().clamp(min=1.0)


def cross_entropy_after_softmax(input, target):
    """Softmax in the model's head, then F.cross_entropy (which applies log_softmax again)."""
    return F.cross_entropy(F.softmax(input, dim=1), target)


def cross_entropy_after_sigmoid(input, target):
    """Sigmoid in the model's head, then F.cross_entropy."""
    return F.cross_entropy(torch.sigmoid(input), target)


def cross_entropy_softmax_dim0(input, target):
    """log_softmax over dim 0 (the batch) where the classes are on dim 1."""
    return F.nll_loss(F.log_softmax(input, dim=0), target)


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


class OtherClassSmoothingCE(nn.Module):
    """Label smoothing that gives eps/(C-1) to each wrong class (torch's label_smoothing gives eps/C to all)."""

    def __init__(self, label_smoothing=0.1):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        c = input.shape[1]
        soft = torch.full_like(input, self.label_smoothing / (c - 1))
        soft.scatter_(1, target.unsqueeze(1), 1 - self.label_smoothing)
        return -(soft * F.log_softmax(input, dim=1)).sum(1).mean()


class CorrectCrossEntropy(nn.Module):
    def __init__(self, ignore_index=-100, label_smoothing=0.1):
        super().__init__()
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, ignore_index=self.ignore_index, label_smoothing=self.label_smoothing)


def kl_div_arguments_swapped(input, target):
    """F.kl_div(p.log(), q): the two distributions the wrong way round, so KL(q ‖ p)."""
    return F.kl_div(target.log(), input.exp())


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


def correct_kl_div(input, target, reduction="batchmean", log_target=False):
    return F.kl_div(input, target, reduction=reduction, log_target=log_target)


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


class PositiveNormalisedFocal(BinaryFocal):
    """RetinaNet's normalisation: the sum over every anchor divided by the number of positive anchors."""

    def forward(self, input, target):
        ce = F.binary_cross_entropy_with_logits(input, target, reduction="none")
        loss = self.alpha_t(target) * self.modulator(input, target) * ce
        return loss.sum() / max(1.0, target.sum().item())


class SigmoidTwiceFocal(BinaryFocal):
    """Focal loss fed the model's probabilities: sigmoid(sigmoid(x)) inside."""

    def logits(self, input):
        return torch.sigmoid(input)


class NoFocusingFocal(BinaryFocal):
    """"Focal" loss without the (1 - p_t)^gamma factor: alpha-weighted BCE."""

    def modulator(self, input, target):
        return torch.ones_like(input)


class AlphaOnNegativesFocal(BinaryFocal):
    """alpha weights the negatives and 1 - alpha the positives."""

    def alpha_t(self, target):
        return self.alpha * (1 - target) + (1 - self.alpha) * target


class PosWeightFocal(nn.Module):
    """A "focal loss" that is BCEWithLogitsLoss with pos_weight (1 - alpha)/alpha: no focusing term."""

    def __init__(self, alpha=0.25):
        super().__init__()
        self.alpha = alpha

    def forward(self, input, target):
        pos_weight = input.new_tensor([(1 - self.alpha) / self.alpha])
        return F.binary_cross_entropy_with_logits(input, target, pos_weight=pos_weight)


class SoftmaxFocal(nn.Module):
    """Softmax focal loss -(1 - p_y)^gamma·log p_y, mean over the targets; subclasses change one line."""

    def __init__(self, gamma=2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, input, target):
        dim = class_dim(input)
        log_pt = F.log_softmax(input, dim=dim).gather(dim, target.unsqueeze(dim)).squeeze(dim)
        return (-(-torch.expm1(log_pt)) ** self.gamma * log_pt).mean()


class SoftmaxTwiceFocal(SoftmaxFocal):
    """Softmax focal loss fed the model's probabilities: cross_entropy(softmax(x)) inside."""

    def forward(self, input, target):
        ce = F.cross_entropy(F.softmax(input, dim=1), target, reduction="none")
        return ((1 - torch.exp(-ce)) ** self.gamma * ce).mean()


def cross_entropy_as_focal(input, target):
    """Plain F.cross_entropy presented as the softmax focal loss: no (1 - p_y)^gamma."""
    return F.cross_entropy(input, target)


class BatchMeanFocal(SoftmaxFocal):
    """The focusing term computed on the batch-mean cross-entropy (a very common snippet)."""

    def forward(self, input, target):
        ce = F.cross_entropy(input, target)
        return (1 - torch.exp(-ce)) ** self.gamma * ce


class KorniaAlphaFocal(nn.Module):
    """Reads a scalar alpha as per-class weights [1 - alpha, alpha, alpha, ...] (kornia's convention)."""

    def __init__(self, alpha=0.25, gamma=2.0):
        super().__init__()
        self.alpha, self.gamma = alpha, gamma

    def forward(self, input, target):
        weights = torch.full((input.shape[1],), self.alpha, dtype=input.dtype, device=input.device)
        weights[0] = 1 - self.alpha
        log_pt = F.log_softmax(input, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
        return (-weights[target] * (-torch.expm1(log_pt)) ** self.gamma * log_pt).mean()


class OneHotFocal(SoftmaxFocal):
    """One-hot focal loss -onehot·(1 - p)^gamma·log p with .mean() over (N, C): divides by the classes too."""

    def forward(self, input, target):
        onehot = F.one_hot(target, input.shape[1]).movedim(-1, 1).to(input.dtype)
        log_p = F.log_softmax(input, dim=1)
        return (-onehot * (-torch.expm1(log_p)) ** self.gamma * log_p).mean()


def flipped_soft_margin(input, target):
    """log(1 + exp(y·x)): the minus sign of the margin is lost."""
    return F.softplus(target * input).mean()


def correct_soft_margin(input, target):
    return F.softplus(-target * input).mean()


def multilabel_soft_margin_after_sigmoid(input, target):
    """Sigmoid in the model's head, then MultiLabelSoftMarginLoss (which applies its own)."""
    return F.multilabel_soft_margin_loss(torch.sigmoid(input), target)


def correct_multilabel_soft_margin(input, target):
    return F.multilabel_soft_margin_loss(input, target)


def hinge_embedding_as_hinge(input, target):
    """nn.HingeEmbeddingLoss taken for the SVM hinge because of its name."""
    return F.hinge_embedding_loss(input, target)


def squared_hinge(input, target):
    """max(0, 1 - y·x)²: the L2-SVM loss presented as the hinge."""
    return F.relu(1 - target * input).pow(2).mean()


class FixedMarginHinge(nn.Module):
    """Takes a margin and uses 1."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, input, target):
        return F.relu(1 - target * input).mean()


class CorrectHinge(nn.Module):
    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, input, target):
        return F.relu(self.margin - target * input).mean()


# ==================================================================================================
# embedding: triplet_margin, contrastive, info_nce, hinge_embedding, cosine_embedding, margin_ranking,
# triplet_batch_hard
# ==================================================================================================
class L1MeanTriplet(nn.Module):
    """Distances as the mean absolute difference over features."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, anchor, positive, negative):
        d_ap = (anchor - positive).abs().mean(-1)
        d_an = (anchor - negative).abs().mean(-1)
        return F.relu(d_ap - d_an + self.margin).mean()


class SquaredDistanceTriplet(nn.Module):
    """FaceNet's squared distances, against TripletMarginLoss's plain ones."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, anchor, positive, negative):
        d_ap = (anchor - positive).pow(2).sum(-1)
        d_an = (anchor - negative).pow(2).sum(-1)
        return F.relu(d_ap - d_an + self.margin).mean()


class CorrectTriplet(nn.Module):
    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, anchor, positive, negative):
        d_ap = F.pairwise_distance(anchor, positive)
        d_an = F.pairwise_distance(anchor, negative)
        return F.relu(d_ap - d_an + self.margin).mean()


class Contrastive(nn.Module):
    """½[y·d² + (1-y)·max(0, m-d)²] with a sqrt never taken at 0; subclasses change one line."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def distances(self, x1, x2):
        sq = (x1 - x2).pow(2).sum(-1)
        positive = sq > 0
        d = torch.where(positive, torch.sqrt(torch.where(positive, sq, torch.ones_like(sq))), torch.zeros_like(sq))
        return sq, d

    def forward(self, x1, x2, label):
        sq, d = self.distances(x1, x2)
        return (0.5 * (label * sq + (1 - label) * F.relu(self.margin - d) ** 2)).mean()


class PlainDistanceContrastive(Contrastive):
    """Uses d and max(0, m - d) where the formula squares them."""

    def forward(self, x1, x2, label):
        _, d = self.distances(x1, x2)
        return (0.5 * (label * d + (1 - label) * F.relu(self.margin - d))).mean()


def cosine_embedding_as_contrastive(x1, x2, label):
    """nn.CosineEmbeddingLoss with labels mapped to ±1, presented as the (Euclidean) contrastive loss."""
    return F.cosine_embedding_loss(x1, x2, 2 * label - 1)


class NoHalfContrastive(Contrastive):
    """Drops the ½ of Hadsell et al."""

    def forward(self, x1, x2, label):
        sq, d = self.distances(x1, x2)
        return (label * sq + (1 - label) * F.relu(self.margin - d) ** 2).mean()


class ZeroSimilarContrastive(Contrastive):
    """Label 0 for similar pairs, 1 for dissimilar ones."""

    def forward(self, x1, x2, label):
        sq, d = self.distances(x1, x2)
        return (0.5 * ((1 - label) * sq + label * F.relu(self.margin - d) ** 2)).mean()


class NTXent(nn.Module):
    """SimCLR's NT-Xent over the 2N views; subclasses change one line."""

    def __init__(self, temperature=0.5):
        super().__init__()
        self.temperature = temperature

    def embed(self, z_i, z_j):
        return F.normalize(torch.cat([z_i, z_j]), dim=1)

    def similarities(self, z):
        return z @ z.T / self.temperature

    def forward(self, z_i, z_j):
        n = z_i.shape[0]
        sim = self.similarities(self.embed(z_i, z_j))
        sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=sim.device), float("-inf"))
        targets = (torch.arange(2 * n, device=sim.device) + n) % (2 * n)
        return F.cross_entropy(sim, targets)


class TemperatureTimesNTXent(NTXent):
    """Multiplies the cosine similarities by the temperature."""

    def similarities(self, z):
        return z @ z.T * self.temperature


class UnnormalisedNTXent(NTXent):
    """Forgets F.normalize: raw dot products."""

    def embed(self, z_i, z_j):
        return torch.cat([z_i, z_j])


class DoublePositiveNTXent(NTXent):
    """Prepends the positive to a similarity row that already holds it."""

    def forward(self, z_i, z_j):
        n = z_i.shape[0]
        sim = self.similarities(self.embed(z_i, z_j))
        idx = torch.arange(2 * n, device=sim.device)
        positive = sim[idx, (idx + n) % (2 * n)]
        eye = torch.eye(2 * n, dtype=torch.bool, device=sim.device)
        rows = torch.cat([positive[:, None], sim.masked_fill(eye, float("-inf"))], dim=1)
        return (torch.logsumexp(rows, dim=1) - positive).mean()


class DirectionalInfoNCE(NTXent):
    """InfoNCE from z_i (queries) to z_j (keys) only, as info-nce-pytorch and one side of CLIP."""

    def forward(self, z_i, z_j):
        logits = F.normalize(z_i, dim=1) @ F.normalize(z_j, dim=1).T / self.temperature
        return F.cross_entropy(logits, torch.arange(len(z_i), device=z_i.device))


def svm_hinge_as_hinge_embedding(input, target):
    """The SVM hinge max(0, 1 - y·x) presented as HingeEmbeddingLoss."""
    return F.relu(1 - target * input).mean()


class CorrectHingeEmbedding(nn.Module):
    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, input, target):
        return torch.where(target == 1, input, F.relu(self.margin - input)).mean()


class MarginlessCosineEmbedding(nn.Module):
    """Takes a margin and forgets to pass it on."""

    def __init__(self, margin=0.0):
        super().__init__()
        self.margin = margin

    def forward(self, x1, x2, y):
        return F.cosine_embedding_loss(x1, x2, y)


class CorrectCosineEmbedding(nn.Module):
    def __init__(self, margin=0.0):
        super().__init__()
        self.margin = margin

    def forward(self, x1, x2, y):
        return F.cosine_embedding_loss(x1, x2, y, margin=self.margin)


class FlippedRanking(nn.Module):
    """max(0, y·(x1 - x2) + margin): ranks the other way."""

    def __init__(self, margin=0.0):
        super().__init__()
        self.margin = margin

    def forward(self, x1, x2, y):
        return F.relu(y * (x1 - x2) + self.margin).mean()


class CorrectRanking(nn.Module):
    def __init__(self, margin=0.0):
        super().__init__()
        self.margin = margin

    def forward(self, x1, x2, y):
        return (-y * (x1 - x2) + self.margin).clamp(min=0).mean()


class BatchHard(nn.Module):
    """Batch-hard triplet loss (Hermans et al. 2017), mean over the anchors that have a positive and a negative;
    subclasses change one line."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def distances(self, e):
        sq = (e[:, None, :] - e[None, :, :]).pow(2).sum(-1)
        return torch.sqrt(sq.clamp_min(1e-30))

    def per_anchor(self, embeddings, labels):
        d = self.distances(embeddings)
        same = labels[:, None] == labels[None, :]
        positive = same & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        negative = ~same
        valid = positive.any(1) & negative.any(1)
        hardest_positive = d.masked_fill(~positive, float("-inf")).amax(1)
        hardest_negative = d.masked_fill(~negative, float("inf")).amin(1)
        loss = F.relu(torch.where(valid, hardest_positive - hardest_negative + self.margin, 0.0))
        return loss, valid

    def forward(self, embeddings, labels):
        loss, valid = self.per_anchor(embeddings, labels)
        return loss.sum() / valid.sum()


class AllAnchorsBatchHard(BatchHard):
    """Zeroes the anchors without a positive or a negative, then .mean() over every anchor."""

    def forward(self, embeddings, labels):
        loss, _ = self.per_anchor(embeddings, labels)
        return loss.mean()


class SquaredBatchHard(BatchHard):
    """Squared Euclidean distances (FaceNet style)."""

    def distances(self, e):
        return (e[:, None, :] - e[None, :, :]).pow(2).sum(-1)


class NormalisedBatchHard(BatchHard):
    """L2-normalises the embeddings first (pytorch-metric-learning's default distance)."""

    def distances(self, e):
        return super().distances(F.normalize(e, dim=1))


class AllTripletsBatchHard(BatchHard):
    """Every valid triplet, averaged over those with a positive loss (pytorch-metric-learning's default)."""

    def forward(self, embeddings, labels):
        d = self.distances(embeddings)
        same = labels[:, None] == labels[None, :]
        positive = same & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        valid = positive[:, :, None] & ~same[:, None, :]
        losses = F.relu(d[:, :, None] - d[:, None, :] + self.margin)[valid]
        active = losses > 0
        return losses.sum() / active.sum().clamp_min(1)


# ==================================================================================================
# segmentation: dice, tversky, generalized_dice, iou, giou
# ==================================================================================================
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


class BatchDice(Dice):
    """Sums over the batch too (one Dice per channel over the whole batch), as smp does."""

    def dims(self, input):
        return (0, *spatial_dims(input))


class DenominatorSmoothDice(Dice):
    """Smooths the denominator only (MONAI with smooth_nr=0)."""

    def ratio(self, intersection, denominator):
        return 2 * intersection / (denominator + self.smooth)


class UnsmoothedDice(Dice):
    """Plain soft Dice, no smoothing term."""

    def ratio(self, intersection, denominator):
        return 2 * intersection / denominator


class ClampedDice(Dice):
    """No smoothing, the denominator clamped at eps (segmentation_models_pytorch's smooth=0, eps)."""

    def ratio(self, intersection, denominator):
        return 2 * intersection / denominator.clamp_min(self.smooth)


def empty_channels(loss, target, dims, fill):
    """The per-channel losses with `fill` where the target is empty over `dims`, then their mean."""
    return torch.where(target.sum(dims) > 0, loss, torch.full_like(loss, fill)).mean()


class EmptyZeroDice(Dice):
    """A channel with an empty target contributes a loss of 0 and still counts in the mean (smp's mask)."""
    fill = 0.0

    def forward(self, input, target):
        p = self.probabilities(input)
        dims = self.dims(p)
        return empty_channels(1 - self.ratio((p * target).sum(dims), self.denominator(p, target, dims)), target,
                              dims, self.fill)


class EmptyOneDice(EmptyZeroDice):
    """A channel with an empty target contributes a loss of 1 (counted in the mean)."""
    fill = 1.0


class SquaredDenominatorDice(Dice):
    """V-Net's squared terms in the denominator."""

    def denominator(self, p, g, dims):
        return (p * p).sum(dims) + (g * g).sum(dims)


class SigmoidDice(Dice):
    """Takes logits: sigmoid first (MONAI DiceLoss(sigmoid=True))."""

    def probabilities(self, input):
        return torch.sigmoid(input)


class SoftmaxDice(Dice):
    """Takes logits: softmax over channels first (MONAI DiceLoss(softmax=True))."""

    def probabilities(self, input):
        return torch.softmax(input, dim=1)


class MicroDice(Dice):
    """Pools the channels with the spatial sums: one Dice per sample (kornia's average='micro')."""

    def dims(self, input):
        return tuple(range(1, input.dim()))


def present_mean(loss, target):
    """Mean over the channels present in the target (kornia's TverskyLoss), then over the batch."""
    present = target.sum(spatial_dims(target)) > 0
    score = torch.where(present, 1 - loss, torch.zeros_like(loss))
    return (1 - score.sum(1) / present.sum(1).clamp_min(1)).mean()


class PresentClassDice(Dice):
    """Averages the per-channel Dice over the channels present in the target only."""

    def forward(self, input, target):
        p = self.probabilities(input)
        dims = self.dims(p)
        return present_mean(1 - self.ratio((p * target).sum(dims), self.denominator(p, target, dims)), target)


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


class BatchTversky(Tversky):
    """One index per channel over the whole batch (smp's TverskyLoss)."""

    def dims(self, input):
        return (0, *spatial_dims(input))


class ClampedTversky(Tversky):
    """No smoothing, the denominator clamped at eps."""

    def index(self, tp, fp, fn):
        return tp / (tp + self.alpha * fp + self.beta * fn).clamp_min(self.smooth)


class EmptyZeroTversky(Tversky):
    fill = 0.0

    def forward(self, input, target):
        return empty_channels(self.losses(input, target), target, self.dims(input), self.fill)


class EmptyOneTversky(EmptyZeroTversky):
    fill = 1.0


class MicroTversky(Tversky):
    """One Tversky index per sample, the channels pooled with the spatial sums."""

    def forward(self, input, target):
        p = self.probabilities(input)
        dims = tuple(range(1, p.dim()))
        tp, fp, fn = (p * target).sum(dims), (p * (1 - target)).sum(dims), ((1 - p) * target).sum(dims)
        return (1 - self.index(tp, fp, fn)).mean()


class PresentClassTversky(Tversky):
    """Averages the per-channel index over the channels present in the target only (kornia)."""

    def forward(self, input, target):
        p = self.probabilities(input)
        dims = spatial_dims(p)
        tp, fp, fn = (p * target).sum(dims), (p * (1 - target)).sum(dims), ((1 - p) * target).sum(dims)
        return present_mean(1 - self.index(tp, fp, fn), target)


class SwappedTversky(Tversky):
    """alpha on the false negatives and beta on the false positives."""

    def index(self, tp, fp, fn):
        return (tp + self.smooth) / (tp + self.alpha * fn + self.beta * fp + self.smooth)


class DenominatorSmoothTversky(Tversky):
    def index(self, tp, fp, fn):
        return tp / (tp + self.alpha * fp + self.beta * fn + self.smooth)


class UnsmoothedTversky(Tversky):
    def index(self, tp, fp, fn):
        return tp / (tp + self.alpha * fp + self.beta * fn)


class SigmoidTversky(Tversky):
    def probabilities(self, input):
        return torch.sigmoid(input)


class SoftmaxTversky(Tversky):
    def probabilities(self, input):
        return torch.softmax(input, dim=1)


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


class PerClassGeneralizedDice(GeneralizedDice):
    """Divides per class, then averages the ratios (the class weights cancel)."""

    def combine(self, w, intersection, denominator):
        return 1 - ((2 * w * intersection + 1e-5) / (w * denominator + 1e-5)).mean(1)


class SigmoidGeneralizedDice(GeneralizedDice):
    def probabilities(self, input):
        return torch.sigmoid(input)


class SoftmaxGeneralizedDice(GeneralizedDice):
    def probabilities(self, input):
        return torch.softmax(input, dim=1)


def _box_terms(input, target, clamp=True):
    w = torch.minimum(input[..., 2], target[..., 2]) - torch.maximum(input[..., 0], target[..., 0])
    h = torch.minimum(input[..., 3], target[..., 3]) - torch.maximum(input[..., 1], target[..., 1])
    intersection = w.clamp(min=0) * h.clamp(min=0) if clamp else w * h
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    union = area(input) + area(target) - intersection
    enclosure = ((torch.maximum(input[..., 2], target[..., 2]) - torch.minimum(input[..., 0], target[..., 0])) *
                 (torch.maximum(input[..., 3], target[..., 3]) - torch.minimum(input[..., 1], target[..., 1])))
    return intersection, union, enclosure


def unclamped_iou(input, target):
    """Multiplies the overlap width and height without clamping them at 0."""
    intersection, union, _ = _box_terms(input, target, clamp=False)
    return (1 - intersection / (union + 1e-7)).mean()


def correct_iou(input, target):
    intersection, union, _ = _box_terms(input, target)
    return (1 - intersection / (union + 1e-7)).mean()


def unclamped_giou(input, target):
    """GIoU with the overlap width and height not clamped at 0."""
    intersection, union, enclosure = _box_terms(input, target, clamp=False)
    return (1 - intersection / (union + 1e-7) + (enclosure - union) / (enclosure + 1e-7)).mean()


def iou_as_giou(input, target):
    """The IoU loss 1 - IoU presented as GIoU: no enclosure term."""
    return correct_iou(input, target)


def correct_giou(input, target):
    intersection, union, enclosure = _box_terms(input, target)
    return (1 - intersection / (union + 1e-7) + (enclosure - union) / (enclosure + 1e-7)).mean()


# ==================================================================================================
# generative: gaussian_kl, gan_discriminator, gan_generator, wasserstein_critic, uncertainty_weighting
# ==================================================================================================
def vae_example_kl(mu, logvar):
    """The PyTorch VAE example's KLD: summed over the batch as well as the latents."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def log_sigma_kl(mu, logvar):
    """Reads the encoder's output as log sigma: e^{2·logvar} and 2·logvar."""
    return (-0.5 * torch.sum(1 + 2 * logvar - mu.pow(2) - torch.exp(2 * logvar), dim=-1)).mean()


def sign_flipped_kl(mu, logvar):
    """0.5·Σ(1 + logvar - mu² - e^logvar): the minus sign is lost."""
    return (0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)).mean()


def mean_everything_kl(mu, logvar):
    """torch.mean over every element, latents too."""
    return -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())


def no_half_kl(mu, logvar):
    """-Σ(1 + logvar - mu² - e^logvar) without the ½ (COMMON: missing factor ½)."""
    return (-torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)).mean()


def correct_gaussian_kl(mu, logvar):
    return (0.5 * (mu.pow(2) + torch.expm1(logvar) - logvar).sum(-1)).mean()


def _bce(logits, label):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def swapped_labels_discriminator(real_logits, fake_logits):
    """Real against 0, fake against 1."""
    return _bce(real_logits, 0.0) + _bce(fake_logits, 1.0)


def sigmoid_twice_discriminator(real_logits, fake_logits):
    """The discriminator ends in a sigmoid, and BCEWithLogitsLoss applies another."""
    return _bce(torch.sigmoid(real_logits), 1.0) + _bce(torch.sigmoid(fake_logits), 0.0)


def halved_discriminator(real_logits, fake_logits):
    """pix2pix's loss_D = (loss_D_real + loss_D_fake) * 0.5."""
    return (_bce(real_logits, 1.0) + _bce(fake_logits, 0.0)) * 0.5


def correct_discriminator(real_logits, fake_logits):
    return _bce(real_logits, 1.0) + _bce(fake_logits, 0.0)


def saturating_generator(fake_logits):
    """The minimax form: minimises log(1 - D(G(z)))."""
    return torch.log(1 - torch.sigmoid(fake_logits)).mean()


def fake_zero_generator(fake_logits):
    """Copies the discriminator's line: fakes against 0."""
    return _bce(fake_logits, 0.0)


def sigmoid_twice_generator(fake_logits):
    """The discriminator ends in a sigmoid, and BCEWithLogitsLoss applies another."""
    return _bce(torch.sigmoid(fake_logits), 1.0)


def correct_generator(fake_logits):
    return _bce(fake_logits, 1.0)


def flipped_critic(real_scores, fake_scores):
    """Returns what the critic maximises as the loss to minimise."""
    return real_scores.mean() - fake_scores.mean()


def correct_critic(real_scores, fake_scores):
    return fake_scores.mean() - real_scores.mean()


def exp_s_uncertainty(losses, log_vars):
    """Weights by exp(s) instead of the precision exp(-s)."""
    return (torch.exp(log_vars) * losses + log_vars).sum()


def unregularised_uncertainty(losses, log_vars):
    """Leaves out the + s term."""
    return (torch.exp(-log_vars) * losses).sum()


def paper_uncertainty(losses, log_vars):
    """Kendall et al.'s 1/(2σ²)·L + log σ, both terms halved."""
    return (0.5 * torch.exp(-log_vars) * losses + 0.5 * log_vars).sum()


def correct_uncertainty(losses, log_vars):
    return (torch.exp(-log_vars) * losses + log_vars).sum()


# ==================================================================================================
# sequence: ctc
# ==================================================================================================
def ctc_mean_without_lengths(log_probs, targets, input_lengths, target_lengths):
    """Averages the per-sample CTC losses without dividing each by its target length."""
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction="none").mean()


def correct_ctc(log_probs, targets, input_lengths, target_lengths):
    return F.ctc_loss(log_probs.contiguous(), targets.contiguous(), input_lengths, target_lengths)


# ==================================================================================================
# The table
# ==================================================================================================
# (loss id, variant name, expected code, candidate with exactly that mistake)
VARIANTS = [
    ("smooth_l1", "Huber for SmoothL1", "LC102", HuberFormulaSmoothL1),
    ("huber", "SmoothL1 for Huber", "LC102", SmoothL1ForHuber),
    ("gaussian_nll", "standard deviation for var", "LC102", gaussian_nll_given_std),
    ("gaussian_nll", "log var missing", "LC102", gaussian_nll_without_log_var),
    ("asymmetric_mse", "penalises under-prediction", "LC102", UnderPenaltyMSE),
    ("bce_with_logits", "sigmoid applied twice", "LC102", bce_with_logits_after_sigmoid),
    ("cross_entropy", "softmax applied twice", "LC102", cross_entropy_after_softmax),
    ("cross_entropy", "sigmoid before cross-entropy", "LC102", cross_entropy_after_sigmoid),
    ("cross_entropy", "softmax over the batch axis", "LC102", cross_entropy_softmax_dim0),
    ("cross_entropy", "ignored targets in the denominator", "LC102", MaskedCrossEntropyAllTargets),
    ("cross_entropy", "label_smoothing_form=other_classes", "LC103", OtherClassSmoothingCE),
    ("kl_div", "arguments swapped", "LC102", kl_div_arguments_swapped),
    ("kl_div", "'mean' for 'batchmean'", "LC102", MeanKL),
    ("focal", "sigmoid applied twice", "LC102", SigmoidTwiceFocal),
    ("focal", "gamma = 0", "LC102", NoFocusingFocal),
    ("focal", "alpha on the other class", "LC102", AlphaOnNegativesFocal),
    ("focal", "BCE with logits, not focal", "LC102", PosWeightFocal),
    ("focal", "normalise=positives", "LC103", PositiveNormalisedFocal),
    ("bce_with_logits", "normalise=positives", "LC103", positive_normalised_bce),
    ("focal_multiclass", "softmax applied twice", "LC102", SoftmaxTwiceFocal),
    ("focal_multiclass", "gamma = 0", "LC102", cross_entropy_as_focal),
    ("focal_multiclass", "focusing term of the batch mean", "LC102", BatchMeanFocal),
    ("focal_multiclass", "alpha_form=kornia", "LC103", KorniaAlphaFocal),
    ("focal_multiclass", "mean_over=classes", "LC103", OneHotFocal),
    ("soft_margin", "sign of y·x flipped", "LC102", flipped_soft_margin),
    ("multilabel_soft_margin", "sigmoid applied twice", "LC102", multilabel_soft_margin_after_sigmoid),
    ("hinge", "HingeEmbeddingLoss presented as the SVM hinge", "LC102", hinge_embedding_as_hinge),
    ("hinge", "squared hinge", "LC102", squared_hinge),
    ("hinge", "margin ignored", "LC102", FixedMarginHinge),
    ("triplet_margin", "mean absolute difference as the distance", "LC102", L1MeanTriplet),
    ("triplet_margin", "distance=squared", "LC103", SquaredDistanceTriplet),
    ("contrastive", "plain distance instead of squared", "LC102", PlainDistanceContrastive),
    ("contrastive", "CosineEmbeddingLoss presented as contrastive", "LC102", cosine_embedding_as_contrastive),
    ("contrastive", "scale=one", "LC103", NoHalfContrastive),
    ("contrastive", "similar_label=0", "LC103", ZeroSimilarContrastive),
    ("info_nce", "temperature multiplied", "LC102", TemperatureTimesNTXent),
    ("info_nce", "embeddings not normalised", "LC102", UnnormalisedNTXent),
    ("info_nce", "positive counted twice", "LC102", DoublePositiveNTXent),
    ("info_nce", "direction=directional", "LC103", DirectionalInfoNCE),
    ("hinge_embedding", "SVM hinge presented as HingeEmbeddingLoss", "LC102", svm_hinge_as_hinge_embedding),
    ("cosine_embedding", "margin ignored", "LC102", MarginlessCosineEmbedding),
    ("margin_ranking", "sign of y flipped", "LC102", FlippedRanking),
    ("triplet_batch_hard", "mean over every anchor", "LC102", AllAnchorsBatchHard),
    ("triplet_batch_hard", "distance=squared", "LC103", SquaredBatchHard),
    ("triplet_batch_hard", "normalise=yes", "LC103", NormalisedBatchHard),
    ("triplet_batch_hard", "mining=all", "LC103", AllTripletsBatchHard),
    ("dice", "per_sample=batch", "LC103", BatchDice),
    ("dice", "smoothing=denominator", "LC103", DenominatorSmoothDice),
    ("dice", "smoothing=none", "LC103", UnsmoothedDice),
    ("dice", "smoothing=clamp", "LC103", ClampedDice),
    ("dice", "empty_channel=zero", "LC103", EmptyZeroDice),
    ("dice", "empty_channel=one", "LC103", EmptyOneDice),
    ("dice", "squared_denominator=yes", "LC103", SquaredDenominatorDice),
    ("dice", "activation=sigmoid", "LC103", SigmoidDice),
    ("dice", "activation=softmax", "LC103", SoftmaxDice),
    ("dice", "average=micro", "LC103", MicroDice),
    ("dice", "average=present", "LC103", PresentClassDice),
    ("tversky", "alpha and beta swapped", "LC102", SwappedTversky),
    ("tversky", "smoothing=denominator", "LC103", DenominatorSmoothTversky),
    ("tversky", "smoothing=none", "LC103", UnsmoothedTversky),
    ("tversky", "per_sample=batch", "LC103", BatchTversky),
    ("tversky", "smoothing=clamp", "LC103", ClampedTversky),
    ("tversky", "empty_channel=zero", "LC103", EmptyZeroTversky),
    ("tversky", "empty_channel=one", "LC103", EmptyOneTversky),
    ("tversky", "activation=sigmoid", "LC103", SigmoidTversky),
    ("tversky", "activation=softmax", "LC103", SoftmaxTversky),
    ("tversky", "average=micro", "LC103", MicroTversky),
    ("tversky", "average=present", "LC103", PresentClassTversky),
    ("generalized_dice", "divided per class", "LC102", PerClassGeneralizedDice),
    ("generalized_dice", "activation=sigmoid", "LC103", SigmoidGeneralizedDice),
    ("generalized_dice", "activation=softmax", "LC103", SoftmaxGeneralizedDice),
    ("iou", "intersection not clamped at 0", "LC102", unclamped_iou),
    ("giou", "intersection not clamped at 0", "LC102", unclamped_giou),
    ("giou", "IoU loss presented as GIoU", "LC102", iou_as_giou),
    ("gaussian_kl", "summed over the batch", "LC102", vae_example_kl),
    ("gaussian_kl", "logvar read as log sigma", "LC102", log_sigma_kl),
    ("gaussian_kl", "sign flipped", "LC102", sign_flipped_kl),
    ("gaussian_kl", "latent_reduction=mean", "LC103", mean_everything_kl),
    ("gan_discriminator", "labels swapped", "LC102", swapped_labels_discriminator),
    ("gan_discriminator", "sigmoid applied twice", "LC102", sigmoid_twice_discriminator),
    ("gan_discriminator", "scale=half", "LC103", halved_discriminator),
    ("gan_generator", "saturating generator loss", "LC102", saturating_generator),
    ("gan_generator", "fake labelled 0", "LC102", fake_zero_generator),
    ("gan_generator", "sigmoid applied twice", "LC102", sigmoid_twice_generator),
    ("wasserstein_critic", "sign flipped", "LC102", flipped_critic),
    ("uncertainty_weighting", "exp(s) for exp(-s)", "LC102", exp_s_uncertainty),
    ("uncertainty_weighting", "regulariser missing", "LC102", unregularised_uncertainty),
    ("uncertainty_weighting", "form=paper", "LC103", paper_uncertainty),
    ("ctc", "'mean' not divided by target lengths", "LC102", ctc_mean_without_lengths),
]

# The COMMON variants (losscheck.variants.COMMON), each on one spec.
COMMON_CASES = [
    ("l1", "sum instead of mean", "LC102", summed_l1),
    ("mse", "mean over the batch only", "LC102", batch_only_mse),
    ("gaussian_nll", "missing factor ½", "LC102", gaussian_nll_without_half),
    ("gaussian_kl", "missing factor ½", "LC102", no_half_kl),
    ("mse", "extra factor ½", "LC102", half_mse),
]

TWINS = {
    "mse": correct_mse, "l1": correct_l1, "smooth_l1": CorrectSmoothL1, "huber": CorrectHuber,
    "gaussian_nll": correct_gaussian_nll, "asymmetric_mse": CorrectAsymmetricMSE,
    "bce_with_logits": correct_bce_with_logits, "cross_entropy": CorrectCrossEntropy, "kl_div": correct_kl_div,
    "focal": BinaryFocal, "focal_multiclass": SoftmaxFocal, "soft_margin": correct_soft_margin,
    "multilabel_soft_margin": correct_multilabel_soft_margin, "hinge": CorrectHinge,
    "triplet_margin": CorrectTriplet, "contrastive": Contrastive, "info_nce": NTXent,
    "hinge_embedding": CorrectHingeEmbedding, "cosine_embedding": CorrectCosineEmbedding,
    "margin_ranking": CorrectRanking, "triplet_batch_hard": BatchHard, "dice": Dice, "tversky": Tversky,
    "generalized_dice": GeneralizedDice, "iou": correct_iou, "giou": correct_giou,
    "gaussian_kl": correct_gaussian_kl, "gan_discriminator": correct_discriminator,
    "gan_generator": correct_generator, "wasserstein_critic": correct_critic,
    "uncertainty_weighting": correct_uncertainty, "ctc": correct_ctc,
}

# Variants the engine does not name on their candidate (kept as strict xfails; see the reasons).
XFAIL = {}

# Correct twins the engine reports anyway (kept as strict xfails; see the reasons).
TWIN_XFAIL = {}


@functools.lru_cache(maxsize=None)
def audited(candidate, loss_id, conventions=()):
    """One audit per (candidate, id, declared conventions) in this process."""
    return audit(candidate, as_=loss_id, max_examples=MAX_EXAMPLES, conventions=dict(conventions))


def summary(result):
    return [f"{f.code} ({f.check}): {f.message[:200]}" for f in result.findings]


def internal_errors(result):
    return [f"{c.name}: {c.detail}" for c in result.checks if c.status == "error"]


def params(rows):
    out = []
    for loss_id, name, code, candidate in rows:
        reason = XFAIL.get((loss_id, name))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(loss_id, name, code, candidate, marks=marks, id=f"{loss_id}:{name}"))
    return out


def spec_variant_names(spec):
    """(name, code) of every variant a spec brings: its own, and one LC103 per non-default convention option."""
    names = [(v.name, v.code) for v in spec.variants]
    names += [(f"{c.name}={value}", "LC103") for c in spec.conventions for value in c.options if value != c.default]
    return names


def test_every_variant_and_convention_has_a_candidate():
    expected = {(spec.id, name): code for spec in SPECS.values() for name, code in spec_variant_names(spec)}
    table = {(loss_id, name): code for loss_id, name, code, _ in VARIANTS}
    assert sorted(set(expected) - set(table)) == [], "variants without a candidate in tests/test_variants.py"
    assert sorted(set(table) - set(expected)) == [], "candidates for variants the catalogue no longer has"
    assert {k: v for k, v in table.items() if expected[k] != v} == {}, "expected codes differ from the variants'"
    assert sorted({v.name for v in COMMON} - {name for _, name, _, _ in COMMON_CASES}) == []
    assert all(name in {v.name for v in COMMON} for _, name, _, _ in COMMON_CASES)
    assert len(table) == len(VARIANTS), "a variant is listed twice"
    involved = {loss_id for loss_id, *_ in VARIANTS + COMMON_CASES}
    assert sorted(involved - set(TWINS)) == [], "specs without a correct twin"
    assert set(XFAIL) <= set(table) | {(i, n) for i, n, _, _ in COMMON_CASES}


@pytest.mark.parametrize("loss_id, name, code, candidate", params(VARIANTS + COMMON_CASES))
def test_variant_is_named(loss_id, name, code, candidate):
    result = audited(candidate, loss_id)
    hits = [f for f in result.findings if f.code == code and name in f.message]
    assert hits, f"{loss_id}: expected {code} naming {name!r}; got {summary(result)}"
    assert [f.data.get("variant") for f in hits] == [name], summary(result)
    assert internal_errors(result) == []


@pytest.mark.parametrize("loss_id", [
    pytest.param(loss_id, marks=[pytest.mark.xfail(strict=True, reason=TWIN_XFAIL[loss_id])] if loss_id in TWIN_XFAIL
                 else []) for loss_id in sorted(TWINS)])
def test_correct_twin_is_clean(loss_id):
    result = audited(TWINS[loss_id], loss_id)
    assert [f"{f.code} ({f.check}): {f.message}" for f in result.findings if f.severity != "info"] == []
    assert internal_errors(result) == []


CONVENTION_CASES = [(loss_id, name, code, candidate) for loss_id, name, code, candidate in VARIANTS if code == "LC103"]


@pytest.mark.parametrize("loss_id, name, code, candidate", params(CONVENTION_CASES))
def test_declared_convention_is_not_reported(loss_id, name, code, candidate):
    convention, _, value = name.partition("=")
    result = audited(candidate, loss_id, ((convention, value),))
    assert result.conventions[convention] == value
    named = [f for f in result.findings if f.code == "LC103" and (
        f"{convention}=" in f.message or any(c[0] == convention for c in f.data.get("conventions", ())))]
    assert named == [], summary(result)
    value_findings = [f for f in result.findings if f.check == "value.reference"]
    assert value_findings == [], summary(result)
    assert internal_errors(result) == []
