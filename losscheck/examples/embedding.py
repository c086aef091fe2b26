"""The embedding corpus: buggy and correct losses for the embedding ids, each registered with `@example`
(losscheck/examples/registry.py) with the catalogue id it claims, what its audit must say and the test table
that audits it. A defective loss's docstring says its defect; a correct one's says it is correct.

Ids: contrastive, triplet_margin, info_nce, hinge_embedding, cosine_embedding, margin_ranking, triplet_batch_hard.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from losscheck.examples.common import reduce, reduce_loose
from losscheck.examples.registry import example


# -- the pitfall fixtures: one defect per pitfall code, and correct twins (tests/test_checks.py) ---------------------
@example("contrastive", suite="pitfalls")
class CorrectContrastive(nn.Module):
    """Correct twin (contrastive): ½[y·d² + (1-y)·max(0, m-d)²], with d² used directly and a sqrt that is
    never evaluated at 0 (so the gradient is finite for identical pairs)."""

    def __init__(self, margin: float = 1.0, reduction: str = "mean"):
        super().__init__()
        self.margin, self.reduction = margin, reduction

    def forward(self, x1, x2, label):
        sq = ((x1 - x2) ** 2).sum(-1)
        positive = sq > 0
        d = torch.where(positive, torch.sqrt(torch.where(positive, sq, torch.ones_like(sq))), torch.zeros_like(sq))
        values = 0.5 * (label * sq + (1.0 - label) * F.relu(self.margin - d) ** 2)
        return reduce(values, self.reduction)


@example("triplet_margin", suite="pitfalls")
class CorrectTriplet(nn.Module):
    """Correct twin (triplet_margin): torch's pairwise distance ‖a - b + eps‖₂, not squared."""

    def __init__(self, margin: float = 1.0, eps: float = 1e-6, reduction: str = "mean"):
        super().__init__()
        self.margin, self.eps, self.reduction = margin, eps, reduction

    def forward(self, anchor, positive, negative):
        d_ap = F.pairwise_distance(anchor, positive, eps=self.eps)
        d_an = F.pairwise_distance(anchor, negative, eps=self.eps)
        return reduce(F.relu(d_ap - d_an + self.margin), self.reduction)


@example("info_nce", suite="pitfalls")
class CorrectNTXent(nn.Module):
    """Correct twin (info_nce): SimCLR NT-Xent via cross_entropy on masked cosine logits, all on z's device."""

    def __init__(self, temperature: float = 0.5, reduction: str = "mean"):
        super().__init__()
        self.temperature, self.reduction = temperature, reduction

    def forward(self, z_i, z_j):
        n = z_i.shape[0]
        z = F.normalize(torch.cat([z_i, z_j], dim=0), dim=1)
        sim = z @ z.T / self.temperature
        self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
        sim = sim.masked_fill(self_mask, float("-inf"))
        targets = (torch.arange(2 * n, device=z.device) + n) % (2 * n)
        return F.cross_entropy(sim, targets, reduction=self.reduction)


# Guards a fixed false positive: advanced indexing under FakeTensorMode on a CPU-only torch raised "PyTorch is not
# linked with support for cuda devices", which device.fake_cuda reported as LC601.
@example("info_nce", suite="pitfalls")
class CorrectNTXentIndexed(nn.Module):
    """Correct twin (info_nce), written with logsumexp and advanced indexing sim[k, (k + n) % 2n]; every tensor
    it creates is on z's device."""

    def __init__(self, temperature: float = 0.5, reduction: str = "mean"):
        super().__init__()
        self.temperature, self.reduction = temperature, reduction

    def forward(self, z_i, z_j):
        n = z_i.shape[0]
        z = F.normalize(torch.cat([z_i, z_j], dim=0), dim=1)
        sim = z @ z.T / self.temperature
        sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
        idx = torch.arange(2 * n, device=z.device)
        positives = sim[idx, (idx + n) % (2 * n)]
        return reduce(torch.logsumexp(sim, dim=1) - positives, self.reduction)


@example("info_nce", expect="LC203", twin="CorrectNTXent", suite="pitfalls")
class NaiveNTXent(nn.Module):
    """LC203: NT-Xent with exp(sim/τ) taken directly (MoCo's τ = 0.07): exp(1/0.07) ≈ 1.6e6 overflows float16,
    so under autocast the loss is nan although the true value (below 2/τ + log 2n, about 30) fits in float16."""

    def __init__(self, temperature: float = 0.07, reduction: str = "mean"):
        super().__init__()
        self.temperature, self.reduction = temperature, reduction

    def forward(self, z_i, z_j):
        n = z_i.shape[0]
        z = F.normalize(torch.cat([z_i, z_j], dim=0), dim=1)
        sim = torch.exp(z @ z.T / self.temperature)
        sim = sim * (1 - torch.eye(2 * n, dtype=z.dtype, device=z.device))
        positives = torch.roll(sim, shifts=-n, dims=1).diagonal()  # sim[k, (k + n) % 2n]
        return reduce(-torch.log(positives / sim.sum(dim=1)), self.reduction)


@example("contrastive", expect="LC302", twin="CorrectContrastive", suite="pitfalls")
class SqrtDistanceContrastive(nn.Module):
    """LC302: contrastive loss with d = torch.sqrt(Σ(x1 - x2)²): the sqrt's backward is 1/(2·0) for identical
    pairs, so the gradient is nan although the loss (and its true gradient) are finite."""

    def __init__(self, margin: float = 1.0, reduction: str = "mean"):
        super().__init__()
        self.margin, self.reduction = margin, reduction

    def forward(self, x1, x2, label):
        d = torch.sqrt(((x1 - x2) ** 2).sum(-1))
        values = 0.5 * (label * d ** 2 + (1 - label) * torch.clamp(self.margin - d, min=0) ** 2)
        return reduce(values, self.reduction)


@example("info_nce", expect="LC601", twin="CorrectNTXent", suite="pitfalls")
class NTXentCPUMask(nn.Module):
    """LC601: NT-Xent building its self-mask with torch.eye(2n) and its labels with torch.arange(2n) on the
    CPU: fine on a CPU, a device-mismatch error on a GPU."""

    def __init__(self, temperature: float = 0.5, reduction: str = "mean"):
        super().__init__()
        self.temperature, self.reduction = temperature, reduction

    def forward(self, z_i, z_j):
        n = z_i.shape[0]
        z = F.normalize(torch.cat([z_i, z_j], dim=0), dim=1)
        sim = z @ z.T / self.temperature
        sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
        targets = (torch.arange(2 * n) + n) % (2 * n)
        return F.cross_entropy(sim, targets, reduction=self.reduction)


@example("triplet_margin", expect="LC604", twin="CorrectTriplet", suite="pitfalls")
class ExpandedTriplet(nn.Module):
    """LC604: triplet loss with cdist-style distances ‖u‖² + ‖v‖² - 2u·v (u = a + eps, as torch's
    pairwise_distance): exact in float64, but the expansion cancels catastrophically in float32 when a ≈ p,
    and the sqrt amplifies the error (e.g. 0.50276 in float32 against 0.50033 in float64)."""

    def __init__(self, margin: float = 1.0, eps: float = 1e-6, reduction: str = "mean"):
        super().__init__()
        self.margin, self.eps, self.reduction = margin, eps, reduction

    def _dist(self, a, b):
        u = a + self.eps
        sq = (u * u).sum(-1) + (b * b).sum(-1) - 2 * (u * b).sum(-1)
        return sq.clamp(min=0).sqrt()

    def forward(self, anchor, positive, negative):
        values = F.relu(self._dist(anchor, positive) - self._dist(anchor, negative) + self.margin)
        return reduce(values, self.reduction)


# -- the catalogue's ids beyond the first twelve: a defect and a correct twin each (tests/test_catalogue.py) ---------
@example("hinge_embedding", suite="catalogue")
def correct_hinge_embedding(input, target, margin=1.0, reduction="mean"):
    """Correct twin (hinge_embedding)."""
    loss = torch.where(target == 1, input, 0.0) + torch.where(target == -1, (margin - input).clamp(min=0), 0.0)
    return reduce_loose(loss, reduction)


@example("hinge_embedding", expect="LC102", variant="SVM hinge presented as HingeEmbeddingLoss",
         twin="correct_hinge_embedding", suite="catalogue")
def svm_hinge_as_hinge_embedding(input, target, margin=1.0, reduction="mean"):
    """Defect: the SVM hinge max(0, margin - y·x) presented as HingeEmbeddingLoss."""
    return reduce_loose((margin - target * input).clamp(min=0), reduction)


@example("cosine_embedding", suite="catalogue")
def correct_cosine_embedding(x1, x2, y, margin=0.0, reduction="mean"):
    """Correct twin (cosine_embedding)."""
    eps = 1e-12
    cos = (x1 * x2).sum(-1) / torch.sqrt((x1 * x1).sum(-1) + eps) / torch.sqrt((x2 * x2).sum(-1) + eps)
    loss = torch.where(y == 1, 1 - cos, 0.0) + torch.where(y == -1, (cos - margin).clamp(min=0), 0.0)
    return reduce_loose(loss, reduction)


@example("cosine_embedding", expect="LC201", twin="correct_cosine_embedding", suite="catalogue")
def naive_cosine_embedding(x1, x2, y, margin=0.0, reduction="mean"):
    """Defect: cos = x1·x2 / (‖x1‖·‖x2‖) without eps: nan for a zero vector."""
    cos = (x1 * x2).sum(-1) / (x1.norm(dim=-1) * x2.norm(dim=-1))
    loss = torch.where(y == 1, 1 - cos, 0.0) + torch.where(y == -1, (cos - margin).clamp(min=0), 0.0)
    return reduce_loose(loss, reduction)


@example("contrastive", expect="LC102", variant="CosineEmbeddingLoss presented as contrastive", suite="catalogue")
def cosine_as_contrastive(x1, x2, label, margin=1.0, reduction="mean"):
    """Defect: CosineEmbeddingLoss presented as the (Euclidean) contrastive loss."""
    return F.cosine_embedding_loss(x1, x2, 2 * label - 1, reduction=reduction)


@example("margin_ranking", suite="catalogue")
def correct_margin_ranking(x1, x2, y, margin=0.0, reduction="mean"):
    """Correct twin (margin_ranking)."""
    return reduce_loose((-y * (x1 - x2) + margin).clamp(min=0), reduction)


@example("margin_ranking", expect="LC102", variant="sign of y flipped", twin="correct_margin_ranking",
         suite="catalogue")
def margin_ranking_flipped(x1, x2, y, margin=0.0, reduction="mean"):
    """Defect: the sign of y is lost (ranks x2 above x1 for y = 1)."""
    return reduce_loose((y * (x1 - x2) + margin).clamp(min=0), reduction)


@example("triplet_batch_hard", suite="catalogue")
class CorrectBatchHard(nn.Module):
    """Correct twin (triplet_batch_hard)."""

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
        return reduce_loose(loss, self.reduction)


@example("triplet_batch_hard", expect="LC302", twin="CorrectBatchHard", suite="catalogue")
class BatchHardNaiveSqrt(CorrectBatchHard):
    """Defect: sqrt of the squared distances, whose gradient at a zero distance (the diagonal) is nan."""

    def distances(self, squared):
        return squared.sqrt()


# -- one candidate per known variant and convention option, and a correct twin per id (tests/test_variants.py) -------
@example("triplet_margin", expect="LC102", variant="mean absolute difference as the distance", suite="variants")
class L1MeanTriplet(nn.Module):
    """Distances as the mean absolute difference over features."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, anchor, positive, negative):
        d_ap = (anchor - positive).abs().mean(-1)
        d_an = (anchor - negative).abs().mean(-1)
        return F.relu(d_ap - d_an + self.margin).mean()


@example("triplet_margin", suite="variants")
class FunctionalTriplet(nn.Module):
    """Correct twin (triplet_margin)."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, anchor, positive, negative):
        d_ap = F.pairwise_distance(anchor, positive)
        d_an = F.pairwise_distance(anchor, negative)
        return F.relu(d_ap - d_an + self.margin).mean()


@example("contrastive", suite="variants")
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


@example("contrastive", expect="LC102", variant="plain distance instead of squared", suite="variants")
class PlainDistanceContrastive(Contrastive):
    """Uses d and max(0, m - d) where the formula squares them."""

    def forward(self, x1, x2, label):
        _, d = self.distances(x1, x2)
        return (0.5 * (label * d + (1 - label) * F.relu(self.margin - d))).mean()


@example("contrastive", expect="LC102", variant="CosineEmbeddingLoss presented as contrastive", suite="variants")
def cosine_embedding_as_contrastive(x1, x2, label):
    """nn.CosineEmbeddingLoss with labels mapped to ±1, presented as the (Euclidean) contrastive loss."""
    return F.cosine_embedding_loss(x1, x2, 2 * label - 1)


@example("contrastive", expect="LC103", variant="scale=one", suite="variants")
class HalfDroppedContrastive(Contrastive):
    """Drops the ½ of Hadsell et al."""

    def forward(self, x1, x2, label):
        sq, d = self.distances(x1, x2)
        return (label * sq + (1 - label) * F.relu(self.margin - d) ** 2).mean()


@example("contrastive", expect="LC103", variant="similar_label=0", suite="variants")
class ZeroSimilarContrastive(Contrastive):
    """Label 0 for similar pairs, 1 for dissimilar ones."""

    def forward(self, x1, x2, label):
        sq, d = self.distances(x1, x2)
        return (0.5 * ((1 - label) * sq + label * F.relu(self.margin - d) ** 2)).mean()


@example("info_nce", suite="variants")
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


@example("info_nce", expect="LC102", variant="temperature multiplied", suite="variants")
class TemperatureTimesNTXent(NTXent):
    """Multiplies the cosine similarities by the temperature."""

    def similarities(self, z):
        return z @ z.T * self.temperature


@example("info_nce", expect="LC102", variant="embeddings not normalised", suite="variants")
class UnnormalisedNTXent(NTXent):
    """Forgets F.normalize: raw dot products."""

    def embed(self, z_i, z_j):
        return torch.cat([z_i, z_j])


@example("info_nce", expect="LC102", variant="positive counted twice", suite="variants")
class PositiveTwiceNTXent(NTXent):
    """Prepends the positive to a similarity row that already holds it."""

    def forward(self, z_i, z_j):
        n = z_i.shape[0]
        sim = self.similarities(self.embed(z_i, z_j))
        idx = torch.arange(2 * n, device=sim.device)
        positive = sim[idx, (idx + n) % (2 * n)]
        eye = torch.eye(2 * n, dtype=torch.bool, device=sim.device)
        rows = torch.cat([positive[:, None], sim.masked_fill(eye, float("-inf"))], dim=1)
        return (torch.logsumexp(rows, dim=1) - positive).mean()


@example("info_nce", expect="LC103", variant="direction=directional", suite="variants")
class DirectionalInfoNCE(NTXent):
    """InfoNCE from z_i (queries) to z_j (keys) only, as info-nce-pytorch and one side of CLIP."""

    def forward(self, z_i, z_j):
        logits = F.normalize(z_i, dim=1) @ F.normalize(z_j, dim=1).T / self.temperature
        return F.cross_entropy(logits, torch.arange(len(z_i), device=z_i.device))


@example("hinge_embedding", expect="LC102", variant="SVM hinge presented as HingeEmbeddingLoss", suite="variants")
def relu_hinge_as_hinge_embedding(input, target):
    """The SVM hinge max(0, 1 - y·x) presented as HingeEmbeddingLoss."""
    return F.relu(1 - target * input).mean()


@example("hinge_embedding", suite="variants")
class CorrectHingeEmbedding(nn.Module):
    """Correct twin (hinge_embedding)."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, input, target):
        return torch.where(target == 1, input, F.relu(self.margin - input)).mean()


@example("cosine_embedding", expect="LC102", variant="margin ignored", suite="variants")
class MarginlessCosineEmbedding(nn.Module):
    """Takes a margin and forgets to pass it on."""

    def __init__(self, margin=0.0):
        super().__init__()
        self.margin = margin

    def forward(self, x1, x2, y):
        return F.cosine_embedding_loss(x1, x2, y)


@example("cosine_embedding", suite="variants")
class CorrectCosineEmbedding(nn.Module):
    """Correct twin (cosine_embedding)."""

    def __init__(self, margin=0.0):
        super().__init__()
        self.margin = margin

    def forward(self, x1, x2, y):
        return F.cosine_embedding_loss(x1, x2, y, margin=self.margin)


@example("margin_ranking", expect="LC102", variant="sign of y flipped", suite="variants")
class FlippedRanking(nn.Module):
    """max(0, y·(x1 - x2) + margin): ranks the other way."""

    def __init__(self, margin=0.0):
        super().__init__()
        self.margin = margin

    def forward(self, x1, x2, y):
        return F.relu(y * (x1 - x2) + self.margin).mean()


@example("margin_ranking", suite="variants")
class CorrectRanking(nn.Module):
    """Correct twin (margin_ranking)."""

    def __init__(self, margin=0.0):
        super().__init__()
        self.margin = margin

    def forward(self, x1, x2, y):
        return (-y * (x1 - x2) + self.margin).clamp(min=0).mean()


@example("triplet_batch_hard", suite="variants")
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


@example("triplet_batch_hard", expect="LC102", variant="mean over every anchor", suite="variants")
class AllAnchorsBatchHard(BatchHard):
    """Zeroes the anchors without a positive or a negative, then .mean() over every anchor."""

    def forward(self, embeddings, labels):
        loss, _ = self.per_anchor(embeddings, labels)
        return loss.mean()


@example("triplet_batch_hard", expect="LC103", variant="distance=squared", suite="variants")
class SquaredBatchHard(BatchHard):
    """Squared Euclidean distances (FaceNet style)."""

    def distances(self, e):
        return (e[:, None, :] - e[None, :, :]).pow(2).sum(-1)


@example("triplet_batch_hard", expect="LC103", variant="normalise=yes", suite="variants")
class NormalisedBatchHard(BatchHard):
    """L2-normalises the embeddings first (pytorch-metric-learning's default distance)."""

    def distances(self, e):
        return super().distances(F.normalize(e, dim=1))


@example("triplet_batch_hard", expect="LC103", variant="mining=all", suite="variants")
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


# -- the mistakes seen in the wild: the reports/ gallery's examples (tests/test_wild.py) -----------------------------
@example("triplet_margin", expect="LC103", variant="distance=squared", suite="variants")
@example("triplet_margin", expect={"LC103": "squared"}, gallery=9, suite="wild")
class SquaredDistanceTriplet(nn.Module):
    """Triplet loss on squared distances, compared with nn.TripletMarginLoss (plain distances)."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, anchor, positive, negative):
        d_ap = (anchor - positive).pow(2).sum(-1)
        d_an = (anchor - negative).pow(2).sum(-1)
        return F.relu(d_ap - d_an + self.margin).mean()


@example("contrastive", expect={"LC103": "1/2"}, gallery=10, suite="wild")
class NoHalfContrastive(nn.Module):
    """Contrastive loss whose code drops the 1/2 its formula states."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, x1, x2, label):
        d = F.pairwise_distance(x1, x2, eps=0.0)
        return (label * d.pow(2) + (1 - label) * F.relu(self.margin - d).pow(2)).mean()


@example("contrastive", expect={"LC302": "not finite"}, gallery=11, suite="wild")
class SqrtContrastive(nn.Module):
    """Contrastive loss with d = sqrt(sum of squares): a nan gradient for identical pairs (d = 0)."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, x1, x2, label):
        d = (x1 - x2).pow(2).sum(-1).sqrt()
        return 0.5 * (label * d.pow(2) + (1 - label) * F.relu(self.margin - d).pow(2)).mean()


@example("info_nce", expect={"LC102": "positive counted twice"}, gallery=12, suite="wild")
class DoublePositiveNTXent(nn.Module):
    """NT-Xent that prepends the positive to a similarity row that already holds it (counted twice)."""

    def __init__(self, temperature=0.5):
        super().__init__()
        self.temperature = temperature

    def forward(self, z_i, z_j):
        n = z_i.shape[0]
        z = F.normalize(torch.cat([z_i, z_j]), dim=1)
        sim = z @ z.T / self.temperature
        eye = torch.eye(2 * n, dtype=torch.bool, device=z.device)
        idx = torch.arange(2 * n, device=z.device)
        positive = sim[idx, (idx + n) % (2 * n)]
        rows = torch.cat([positive[:, None], sim.masked_fill(eye, float("-inf"))], dim=1)
        return (torch.logsumexp(rows, dim=1) - positive).mean()


@example("info_nce", expect={"LC601": "device"}, gallery=16, suite="wild")
class CpuLabelsNTXent(nn.Module):
    """Builds its labels with torch.arange on the CPU inside forward: fails once the inputs are on a GPU."""

    def __init__(self, temperature=0.5):
        super().__init__()
        self.temperature = temperature

    def forward(self, z_i, z_j):
        n = z_i.shape[0]
        z = F.normalize(torch.cat([z_i, z_j]), dim=1)
        sim = (z @ z.T / self.temperature).masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device),
                                                        float("-inf"))
        labels = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
        return F.cross_entropy(sim, labels)


# -- the correct twins of the mistakes seen in the wild (tests/test_wild.py) -----------------------------------------
@example("contrastive", suite="wild")
class ClampedSqrtContrastive(torch.nn.Module):
    """Correct twin (contrastive): d² used directly, a sqrt clamped away from 0."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, x1, x2, label):
        sq = (x1 - x2).pow(2).sum(-1)
        d = torch.sqrt(sq.clamp_min(1e-30))
        return 0.5 * (label * sq + (1 - label) * F.relu(self.margin - d).pow(2)).mean()


@example("info_nce", suite="wild")
class DeviceLabelsNTXent(torch.nn.Module):
    """Correct twin (info_nce): NT-Xent with its labels on the embeddings' device."""

    def __init__(self, temperature=0.5):
        super().__init__()
        self.temperature = temperature

    def forward(self, z_i, z_j):
        n = z_i.shape[0]
        z = F.normalize(torch.cat([z_i, z_j]), dim=1)
        sim = (z @ z.T / self.temperature).masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device),
                                                        float("-inf"))
        labels = torch.cat([torch.arange(n, 2 * n, device=z.device), torch.arange(0, n, device=z.device)])
        return F.cross_entropy(sim, labels)


# -- the low-precision fixtures (issue 24): right in float32, wrong as bf16 autocast runs it -------------------------
@example("info_nce", expect={"LC801": "sum in float16"}, gallery=32, suite="wild")
@example("info_nce", expect="LC801", twin="CorrectNTXent", suite="pitfalls")
class ExpInfoNCE(nn.Module):
    """LC801: InfoNCE as -log(exp(s⁺/τ) / Σ exp(s/τ)) with no max shift, at τ = 0.1: exp(10) = 22,026 per pair,
    so under fp16 autocast the row sum passes 65,504 and the loss is inf (logsumexp, or `.float()` first, is
    exact). NaiveNTXent is the same fault on raw fp16 inputs (LC203)."""

    def __init__(self, temperature: float = 0.1, reduction: str = "mean"):
        super().__init__()
        self.temperature, self.reduction = temperature, reduction

    def forward(self, z_i, z_j):
        n = z_i.shape[0]
        z = F.normalize(torch.cat([z_i, z_j], dim=0), dim=1)
        e = torch.exp(z @ z.T / self.temperature)
        e = e * (1 - torch.eye(2 * n, dtype=e.dtype, device=z.device))
        positives = torch.roll(e, shifts=-n, dims=1).diagonal()
        return reduce(-torch.log(positives / e.sum(dim=1)), self.reduction)
