"""The image-text and in-batch contrastive corpus: buggy and correct losses for clip, siglip, supcon and
multiple_negatives_ranking, each registered with `@example` (losscheck/examples/registry.py) with the catalogue id
it claims, what its audit must say and the test table that audits it. A defective loss's docstring says its
defect; a correct one's says it is correct. The correct ones are written as the libraries write them (open_clip's
ClipLoss and SigLipLoss, transformers' CLIPModel and SiglipModel, HobbitLong/SupContrast, pytorch-metric-learning's
SupConLoss, sentence-transformers' MultipleNegativesRankingLoss), one in each convention a spec lists.

Ids: clip, siglip, supcon, multiple_negatives_ranking.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from losscheck.examples.registry import example


# -- a defect and a correct twin each (tests/test_catalogue.py) ------------------------------------------------------
@example("clip", suite="catalogue")
class OpenClipLoss(nn.Module):
    """Correct twin (clip): open_clip's ClipLoss on one process (loss.py, open_clip 3.3.0): the caller passes
    model.logit_scale.exp() and normalised features; the mean of the two cross-entropies."""

    def forward(self, image_features, text_features, logit_scale):
        logits_per_image = logit_scale * image_features @ text_features.T
        logits_per_text = logit_scale * text_features @ image_features.T
        labels = torch.arange(logits_per_image.shape[0], device=image_features.device, dtype=torch.long)
        return (F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_text, labels)) / 2


@example("siglip", suite="catalogue")
class OpenClipSigLipLoss(nn.Module):
    """Correct twin (siglip): open_clip's SigLipLoss on one process: labels 2I - 1, logit_scale · x·y + bias,
    -logsigmoid summed over every pair and divided by the batch size."""

    def forward(self, image_features, text_features, logit_scale, logit_bias):
        logits = logit_scale * image_features @ text_features.T + logit_bias
        n = image_features.shape[0]
        labels = 2 * torch.eye(n, device=logits.device, dtype=logits.dtype) - torch.ones_like(logits)
        return -F.logsigmoid(labels * logits).sum() / n


@example("siglip", expect="LC102", variant="labels 0/1 instead of 2I - 1", twin="OpenClipSigLipLoss",
         suite="catalogue")
def siglip_binary_labels(image_features, text_features, logit_scale=10.0, logit_bias=-10.0):
    """Defect: the identity as labels, so each negative pair contributes log σ(0) and pushes nothing apart."""
    logits = logit_scale * image_features @ text_features.T + logit_bias
    labels = torch.eye(len(logits), dtype=logits.dtype, device=logits.device)
    return -F.logsigmoid(labels * logits).sum() / len(logits)


@example("supcon", suite="catalogue")
class SupContrastLoss(nn.Module):
    """Correct twin (supcon, SupContrast's call: features (batch, views, dim), one label per sample): after
    HobbitLong/SupContrast's SupConLoss (contrast_mode 'all'): the views concatenated, the anchor removed from its
    positives and its denominator, L_out scaled by temperature / base_temperature; the denominator written as a
    masked logsumexp."""

    def __init__(self, temperature=0.07, base_temperature=0.07):
        super().__init__()
        self.temperature, self.base_temperature = temperature, base_temperature

    def forward(self, features, labels):
        views = features.shape[1]
        contrast = torch.cat(torch.unbind(features, dim=1), dim=0)
        labels = labels.contiguous().view(-1, 1).repeat(views, 1)
        logits = contrast @ contrast.T / self.temperature
        self_mask = torch.eye(len(contrast), dtype=torch.bool, device=features.device)
        log_prob = logits - torch.logsumexp(logits.masked_fill(self_mask, -torch.inf), dim=1, keepdim=True)
        mask = torch.eq(labels, labels.T) & ~self_mask
        mean_log_prob_pos = log_prob.masked_fill(~mask, 0.0).sum(1) / mask.sum(1).clamp(min=1)
        return (-(self.temperature / self.base_temperature) * mean_log_prob_pos).mean()


@example("supcon", expect="LC102", variant="anchor counted as its own positive", twin="SupContrastLoss",
         suite="catalogue")
def supcon_anchor_own_positive(embeddings, labels, temperature=0.07):
    """Defect: the label mask keeps its diagonal, so each anchor counts itself among its positives."""
    logits = embeddings @ embeddings.T / temperature
    others = ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    log_prob = logits - torch.logsumexp(logits.masked_fill(~others, -torch.inf), dim=1, keepdim=True)
    positives = (labels[:, None] == labels[None, :]).to(logits.dtype)
    return (-(positives * log_prob).sum(1) / positives.sum(1)).mean()


@example("multiple_negatives_ranking", suite="catalogue")
class InBatchNegativesLoss(nn.Module):
    """Correct twin (multiple_negatives_ranking): sentence-transformers' compute_loss_from_embeddings for
    (anchor, positive) pairs: util.cos_sim(anchors, candidates) * scale, cross_entropy towards arange(N)."""

    def __init__(self, scale=20.0):
        super().__init__()
        self.scale = scale

    def forward(self, anchors, positives):
        scores = F.normalize(anchors, p=2, dim=1) @ F.normalize(positives, p=2, dim=1).T * self.scale
        return F.cross_entropy(scores, torch.arange(len(scores), device=scores.device))


@example("multiple_negatives_ranking", expect="LC102", variant="dot product instead of cosine", suite="variants")
@example("multiple_negatives_ranking", expect="LC102", variant="dot product instead of cosine",
         twin="InBatchNegativesLoss", suite="catalogue")
def mnr_dot_product(anchors, positives, scale=20.0):
    """Defect: dot products of the raw embeddings where the loss claims cosine similarity."""
    scores = anchors @ positives.T * scale
    return F.cross_entropy(scores, torch.arange(len(scores), device=scores.device))


# -- one candidate per variant and convention option, and a correct twin per id (tests/test_variants.py) -----------
@example("clip", suite="variants")
class CLIPLossWithLearnedScale(nn.Module):
    """Correct twin (clip): the logit scale learned as its log (CLIP's init log(1/0.07)), exponentiated and
    clamped at 100 inside, as the CLIP paper writes it; features normalised inside, as transformers' CLIPModel."""

    def __init__(self):
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07), dtype=torch.float64))

    def forward(self, image_features, text_features):
        scale = self.log_scale.exp().clamp(max=100).to(image_features.dtype)
        logits = scale * F.normalize(image_features, dim=-1) @ F.normalize(text_features, dim=-1).T
        labels = torch.arange(len(logits), device=logits.device)
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


@example("clip", expect={"LC102": "one direction only"}, gallery=36, suite="wild")
@example("clip", expect="LC102", variant="one direction only (image to text)", twin="OpenClipLoss",
         suite="catalogue")
@example("clip", expect="LC102", variant="one direction only (image to text)", suite="variants")
def clip_image_to_text(image_features, text_features, logit_scale=1 / 0.07):
    """The image-to-text cross-entropy alone."""
    logits = logit_scale * image_features @ text_features.T
    return F.cross_entropy(logits, torch.arange(len(logits), device=logits.device))


@example("clip", expect="LC102", variant="one direction only (text to image)", suite="variants")
def clip_text_to_image(image_features, text_features, logit_scale=1 / 0.07):
    """The text-to-image cross-entropy alone."""
    logits = logit_scale * text_features @ image_features.T
    return F.cross_entropy(logits, torch.arange(len(logits), device=logits.device))


@example("clip", expect="LC102", variant="logit scale not exponentiated", suite="variants")
class CLIPLossRawScale(nn.Module):
    """The learned log-scale (init log(1/0.07)) used as the multiplier, without .exp()."""

    def __init__(self):
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07), dtype=torch.float64))

    def forward(self, image_features, text_features):
        logits = self.log_scale.to(image_features.dtype) * image_features @ text_features.T
        labels = torch.arange(len(logits), device=logits.device)
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def _clip(image_features, text_features, scale):
    logits = scale * image_features @ text_features.T
    labels = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


@example("clip", expect="LC103", variant="logit_scale=log", suite="variants")
def clip_log_scale(image_features, text_features, logit_scale=math.log(1 / 0.07)):
    """transformers' CLIPModel: logit_scale is the log of the multiplier, exponentiated inside (no clamp)."""
    return _clip(image_features, text_features, logit_scale.exp() if torch.is_tensor(logit_scale)
                 else math.exp(logit_scale))


@example("clip", expect="LC103", variant="logit_scale=log_clamped", suite="variants")
def clip_log_scale_clamped(image_features, text_features, logit_scale=math.log(1 / 0.07)):
    """The CLIP paper: logit_scale is the log of the multiplier, exponentiated inside and clamped at 100."""
    return _clip(image_features, text_features, min(math.exp(float(logit_scale)), 100.0))


def _siglip(image_features, text_features, scale, bias, labels_of=None):
    logits = scale * image_features @ text_features.T + bias
    n = len(logits)
    labels = 2 * torch.eye(n, dtype=logits.dtype, device=logits.device) - 1 if labels_of is None else labels_of
    return -F.logsigmoid(labels * logits).sum() / n


@example("siglip", suite="variants")
class SigLIPLossWithLearnedScale(nn.Module):
    """Correct twin (siglip): transformers' SiglipModel loss: the scale learned as its log (init log 10; named
    log_scale here: an attribute named logit_scale is read as the logit_scale parameter, in the form declared) and
    exponentiated inside, bias -10, m1_diag1 = 2I - 1, -sum(logsigmoid, dim=-1).mean()."""

    def __init__(self):
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(10.0), dtype=torch.float64))
        self.bias = nn.Parameter(torch.tensor(-10.0, dtype=torch.float64))

    def forward(self, image_features, text_features):
        logits = (F.normalize(text_features, dim=-1) @ F.normalize(image_features, dim=-1).T
                  * self.log_scale.exp().to(image_features.dtype) + self.bias.to(image_features.dtype))
        m1_diag1 = -torch.ones_like(logits) + 2 * torch.eye(len(logits), dtype=logits.dtype, device=logits.device)
        return -torch.sum(F.logsigmoid(m1_diag1 * logits), dim=-1).mean()


@example("siglip", expect={"LC102": "labels 0/1 instead of 2i - 1"}, gallery=37, suite="wild")
@example("siglip", expect="LC102", variant="labels 0/1 instead of 2I - 1", suite="variants")
def siglip_identity_labels(image_features, text_features, logit_scale=10.0, logit_bias=-10.0):
    """torch.eye as the labels: log σ(0) on every negative pair."""
    n = len(image_features)
    return _siglip(image_features, text_features, logit_scale, logit_bias,
                   torch.eye(n, dtype=image_features.dtype, device=image_features.device))


@example("siglip", expect="LC102", variant="bias scaled by the logit scale", suite="variants")
def siglip_bias_inside_scale(image_features, text_features, logit_scale=10.0, logit_bias=-10.0):
    """logit_scale · (x·y + bias): the bias multiplied by the scale."""
    logits = logit_scale * (image_features @ text_features.T + logit_bias)
    n = len(logits)
    labels = 2 * torch.eye(n, dtype=logits.dtype, device=logits.device) - 1
    return -F.logsigmoid(labels * logits).sum() / n


@example("siglip", expect="LC102", variant="bias on the diagonal only", suite="variants")
def siglip_bias_on_diagonal(image_features, text_features, logit_scale=10.0, logit_bias=-10.0):
    """The bias added to the matching pairs only (logit_bias * torch.eye)."""
    n = len(image_features)
    eye = torch.eye(n, dtype=image_features.dtype, device=image_features.device)
    return _siglip(image_features, text_features, logit_scale, logit_bias * eye)


@example("siglip", expect="LC102", variant="mean over every pair", suite="variants")
def siglip_mean_over_pairs(image_features, text_features, logit_scale=10.0, logit_bias=-10.0):
    """-logsigmoid(labels * logits).mean(): the sum over pairs divided by N² instead of N."""
    logits = logit_scale * image_features @ text_features.T + logit_bias
    labels = 2 * torch.eye(len(logits), dtype=logits.dtype, device=logits.device) - 1
    return -F.logsigmoid(labels * logits).mean()


@example("siglip", expect="LC102", variant="logit scale not exponentiated", suite="variants")
class SigLIPLossRawScale(nn.Module):
    """The learned log-scale (init log 10) used as the multiplier, without .exp()."""

    def __init__(self):
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(10.0), dtype=torch.float64))

    def forward(self, image_features, text_features):
        return _siglip(image_features, text_features, self.log_scale.to(image_features.dtype), -10.0)


@example("siglip", expect="LC103", variant="logit_scale=log", suite="variants")
def siglip_log_scale(image_features, text_features, logit_scale=math.log(10.0), logit_bias=-10.0):
    """transformers' SiglipModel: logit_scale is the log of the multiplier, exponentiated inside."""
    return _siglip(image_features, text_features, math.exp(float(logit_scale)), logit_bias)


@example("siglip", expect="LC103", variant="logit_scale=log_clamped", suite="variants")
def siglip_log_scale_clamped(image_features, text_features, logit_scale=math.log(10.0), logit_bias=-10.0):
    """The log of the multiplier, exponentiated inside and clamped at 100 (the CLIP paper's clamp)."""
    return _siglip(image_features, text_features, min(math.exp(float(logit_scale)), 100.0), logit_bias)


def _supcon_log_prob(embeddings, labels, temperature):
    logits = embeddings @ embeddings.T / temperature
    others = ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    log_prob = logits - torch.logsumexp(logits.masked_fill(~others, -torch.inf), dim=1, keepdim=True)
    positives = (labels[:, None] == labels[None, :]) & others
    return log_prob, positives


@example("supcon", suite="variants")
def supcon_cosine(embeddings, labels, temperature=0.1):
    """Correct twin (supcon): pytorch-metric-learning's SupConLoss written out: cosine similarity (normalised
    inside) over the temperature, L_out, mean over the anchors."""
    z = F.normalize(embeddings, dim=1)
    log_prob, positives = _supcon_log_prob(z, labels, temperature)
    mean_log_prob_pos = log_prob.masked_fill(~positives, 0.0).sum(1) / positives.sum(1)
    return -mean_log_prob_pos.mean()


@example("supcon", expect="LC102", variant="positives summed inside the log", suite="variants")
def supcon_summed_inside(embeddings, labels, temperature=0.07):
    """-log Σ_p p_ip: the positives' probabilities summed inside the log, no 1/|P| anywhere."""
    log_prob, positives = _supcon_log_prob(embeddings, labels, temperature)
    return -torch.logsumexp(log_prob.masked_fill(~positives, -torch.inf), dim=1).mean()


@example("supcon", expect={"LC102": "anchor counted as its own positive"}, gallery=38, suite="wild")
@example("supcon", expect="LC102", variant="anchor counted as its own positive", suite="variants")
def supcon_self_positive(embeddings, labels, temperature=0.07):
    """The label mask with its diagonal: each anchor among its own positives."""
    log_prob, _ = _supcon_log_prob(embeddings, labels, temperature)
    positives = (labels[:, None] == labels[None, :]).to(log_prob.dtype)
    return (-(positives * log_prob).sum(1) / positives.sum(1)).mean()


@example("supcon", expect="LC103", variant="positives=inside", suite="variants")
def supcon_in(embeddings, labels, temperature=0.07):
    """L_in (Khosla et al. eq. 3): -log of the positives' mean probability."""
    log_prob, positives = _supcon_log_prob(embeddings, labels, temperature)
    inside = torch.logsumexp(log_prob.masked_fill(~positives, -torch.inf), dim=1) - positives.sum(1).log()
    return -inside.mean()


@example("multiple_negatives_ranking", suite="variants")
def mnr_loss(anchors, positives, scale=20.0):
    """Correct twin (multiple_negatives_ranking): cos_sim(anchors, positives) * scale, cross-entropy to
    arange(N), the cosine written out as sentence-transformers' util.cos_sim."""
    scores = F.cosine_similarity(anchors[:, None, :], positives[None, :, :], dim=-1, eps=1e-12) * scale
    return F.cross_entropy(scores, torch.arange(len(scores), device=scores.device))


@example("multiple_negatives_ranking", expect="LC102", variant="scale left out", suite="variants")
def mnr_unscaled(anchors, positives, scale=20.0):
    """Cosine similarities without the scale."""
    scores = F.normalize(anchors, dim=1) @ F.normalize(positives, dim=1).T
    return F.cross_entropy(scores, torch.arange(len(scores), device=scores.device))
