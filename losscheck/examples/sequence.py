"""The sequence corpus: buggy and correct losses for the sequence ids, each registered with `@example`
(losscheck/examples/registry.py) with the catalogue id it claims, what its audit must say and the test table
that audits it. A defective loss's docstring says its defect; a correct one's says it is correct.

Ids: ctc.
"""
from __future__ import annotations

import torch.nn.functional as F

from losscheck.examples.common import reduce_loose
from losscheck.examples.registry import example


# -- the catalogue's ids beyond the first twelve: a defect and a correct twin each (tests/test_catalogue.py) ---------
@example("ctc", suite="catalogue")
def correct_ctc(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """Correct twin (ctc)."""
    # .contiguous(): torch's CPU ctc_loss misreads strided 1-D (concatenated) targets
    return F.ctc_loss(log_probs, targets.contiguous(), input_lengths, target_lengths, blank=blank,
                      reduction=reduction, zero_infinity=zero_infinity)


@example("ctc", expect="LC102", variant="'mean' not divided by target lengths", twin="correct_ctc", suite="catalogue")
def ctc_mean_over_batch(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
                        zero_infinity=False):
    """Defect: 'mean' averages the per-sample losses without dividing them by the target lengths."""
    losses = correct_ctc(log_probs, targets, input_lengths, target_lengths, blank, "none", zero_infinity)
    return losses.mean() if reduction == "mean" else reduce_loose(losses, reduction)


# -- one candidate per known variant and convention option, and a correct twin per id (tests/test_variants.py) -------
@example("ctc", expect="LC102", variant="'mean' not divided by target lengths", suite="variants")
def ctc_mean_without_lengths(log_probs, targets, input_lengths, target_lengths):
    """Averages the per-sample CTC losses without dividing each by its target length."""
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction="none").mean()


@example("ctc", suite="variants")
def torch_ctc(log_probs, targets, input_lengths, target_lengths):
    """Correct twin (ctc)."""
    return F.ctc_loss(log_probs.contiguous(), targets.contiguous(), input_lengths, target_lengths)
