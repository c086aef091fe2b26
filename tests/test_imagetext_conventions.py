"""The image-text ids audit correct library-style losses clean in each of their conventions and call forms, and
stay red on broken ones where a convention is declared: open_clip's ClipLoss, whose forward requires
`logit_scale` (a module's forward argument without default is passed at every call, and the reproducer passes it
the same way), transformers-style losses that take the log of the logit scale (declared `logit_scale=log`), the
CLIP paper's clamp at 100 (`logit_scale=log_clamped`: a loss that forgets the clamp is an error), SupContrast's
(batch, views, dim) features (the call form its `features` argument names). The corpus losses live in
losscheck/examples/imagetext.py; tests/test_catalogue.py and tests/test_variants.py audit its other tables.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from losscheck import audit
from losscheck.examples.registry import find
from losscheck.suspect.candidate import Candidate, call_only
from audit_checks import loud

MAX_EXAMPLES = 15


class ScaleAtCall(nn.Module):
    """A module whose forward requires the logit scale, as open_clip's ClipLoss does."""

    def __init__(self, label_smoothing=0.0):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, image_features, text_features, logit_scale):
        logits = logit_scale * image_features @ text_features.T
        labels = torch.arange(len(logits), device=logits.device)
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def test_a_forward_argument_without_default_is_passed_at_each_call_and_in_the_reproducer():
    candidate = Candidate(target="ScaleAtCall", obj=ScaleAtCall, kind="class", import_lines="", name="ScaleAtCall")
    candidate.prepare(2)
    assert "logit_scale" in call_only(ScaleAtCall) and candidate.parameters == {"label_smoothing": 0.0, "logit_scale": None}
    made = candidate.make({"logit_scale": 2.0, "label_smoothing": 0.0})
    x = torch.eye(2)
    assert made(x, x) == ScaleAtCall()(x, x, 2.0)
    source = candidate.construction({"logit_scale": 2.0})
    namespace = {"ScaleAtCall": ScaleAtCall}
    exec(source, namespace)
    assert namespace["loss_fn"](x, x) == ScaleAtCall()(x, x, 2.0)


def test_open_clip_style_clip_loss_is_called_with_the_logit_scale_and_audits_clean():
    result = audit(find("OpenClipLoss").obj, as_="clip", max_examples=MAX_EXAMPLES)
    assert result.parameters["bound"]["logit_scale"] == "logit_scale"
    assert loud(result) == []


def clip_log_unclamped(image_features, text_features, logit_scale=5.0):
    """Defect under logit_scale=log_clamped: exp(logit_scale) without the clamp at 100, at a log scale past log 100
    (a disagreement only at values the user did not set would be a statement about the parameter, not an error)."""
    logits = math.exp(logit_scale) * image_features @ text_features.T
    labels = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def test_the_log_forms_declared_audit_clean_and_a_forgotten_clamp_stays_an_error():
    declared = audit(clip_log_unclamped, as_="clip", conventions={"logit_scale": "log"}, max_examples=MAX_EXAMPLES)
    assert loud(declared) == []
    clamped = audit(find("clip_log_scale_clamped").obj, as_="clip", conventions={"logit_scale": "log_clamped"},
                    max_examples=MAX_EXAMPLES)
    assert loud(clamped) == []
    forgotten = audit(clip_log_unclamped, as_="clip", conventions={"logit_scale": "log_clamped"},
                      max_examples=MAX_EXAMPLES)
    assert not forgotten.ok and any(f.severity == "error" for f in forgotten.findings), loud(forgotten)


def test_supcontrast_features_by_views_are_the_features_call_form():
    """(features (B, V, D), labels (B,)): audited on (embeddings, labels) the same loss would raise on 2-D input."""
    result = audit(find("SupContrastLoss").obj, as_="supcon", max_examples=MAX_EXAMPLES)
    assert loud(result) == []


def test_a_ranking_loss_whose_similarity_fct_says_dot_product_follows_that_convention():
    from fixtures.declared_similarity import DotProductRankingLoss

    result = audit(DotProductRankingLoss, as_="multiple_negatives_ranking", max_examples=10)
    assert result.exit_code() == 0 and result.conventions["similarity"] == "dot"
    assert result.parameters["conventions_from"] == {"similarity_fct": "similarity=dot"}
