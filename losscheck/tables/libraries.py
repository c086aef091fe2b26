"""Losses from real libraries as their users call them, with the verdict the audit gives each.

`LIBRARY_LOSSES` is the table the README prints (`python -m losscheck.tables.readme` regenerates it) and that
tests/test_libraries.py checks against fresh audits when the libraries are installed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tabulate import tabulate


@dataclass(frozen=True)
class LibraryLoss:
    target: str
    loss_id: str
    init: dict = field(default_factory=dict)
    verdict: str = "pass"
    codes: tuple = ()       # every non-info finding code the audit reports (seed 0, default budget)
    # verdict: "pass", "fail" (exit 1) or "unusable" (exit 2: it accepts none of the loss's inputs)
    note: str = ""


LIBRARY_LOSSES = [
    LibraryLoss("monai.losses:DiceLoss", "dice"),
    LibraryLoss("monai.losses:DiceLoss", "dice", {"to_onehot_y": True},
                note="takes (N, 1, H, W) index maps (the probe finds it)"),
    LibraryLoss("monai.losses:DiceLoss", "dice", {"to_onehot_y": True, "softmax": True},
                note="softmax=True read as convention activation=softmax"),
    LibraryLoss("monai.losses:TverskyLoss", "tversky"),
    LibraryLoss("monai.losses:GeneralizedDiceLoss", "generalized_dice"),
    LibraryLoss("monai.losses:ContrastiveLoss", "info_nce", codes=("LC203",),
                note="float16: the similarity matrix overflows at small temperatures"),
    LibraryLoss("monai.losses:FocalLoss", "focal", verdict="fail",
                codes=("LC101", "LC202", "LC303", "LC402", "LC504", "LC603"),
                note="reduction='sum' averages when the input has no spatial dims (mean over an empty dim list), "
                     "and averages over spatial dims otherwise; float64 inputs give float32"),
    LibraryLoss("kornia.losses:FocalLoss", "focal_multiclass", {"alpha": None}, codes=("LC103",),
                note="'none' per class, so 'mean' divides by N*C (convention mean_over=classes)"),
    LibraryLoss("kornia.losses:FocalLoss", "focal_multiclass", {"alpha": 0.25}, codes=("LC103",),
                note="conventions alpha_form=kornia and mean_over=classes"),
    LibraryLoss("kornia.losses:BinaryFocalLossWithLogits", "focal", {"alpha": 0.25}),
    LibraryLoss("kornia.losses:DiceLoss", "dice", codes=("LC103",),
                note="(N, H, W) class indices, 2-D only; conventions activation=softmax, average=micro, "
                     "smoothing=denominator"),
    LibraryLoss("kornia.losses:TverskyLoss", "tversky", {"alpha": 0.3, "beta": 0.7}, codes=("LC103",),
                note="conventions activation=softmax, average=present (mean over the classes in the target), "
                     "smoothing=denominator"),
    LibraryLoss("pytorch_metric_learning.losses:TripletMarginLoss", "triplet_batch_hard", codes=("LC103",),
                note="conventions normalise=yes and mining=all (every triplet, mean over the non-zero ones)"),
    LibraryLoss("pytorch_metric_learning.losses:NTXentLoss", "info_nce",
                note="called as (embeddings, labels): both views concatenated, labels arange(N) twice"),
    LibraryLoss("info_nce:InfoNCE", "info_nce", codes=("LC103",),
                note="directional InfoNCE (convention direction=directional)"),
    LibraryLoss("transformers.loss.loss_utils:ForCausalLMLoss", "causal_lm", verdict="fail", codes=("LC603", "LC605"),
                note="values, shift, ignore_index and num_items_in_batch agree (vocab_size read from the logits); "
                     "logits.view(-1, vocab_size) raises on sliced or strided logits, and .float() returns "
                     "float32 for float64 logits (reports/upstream/transformers-causal-lm-view.md)"),
    # issue 22: the boxes and signal ids
    LibraryLoss("kornia.losses:SSIMLoss", "ssim", {"window_size": 11}, codes=("LC103",),
                note="conventions padding=same (read from its padding argument) and form=dssim: clamp((1 - SSIM)/2, 0, "
                     "1) over reflected borders"),
    LibraryLoss("pytorch_msssim:ssim", "ssim", codes=("LC103",),
                note="the similarity itself (convention form=similarity: train on 1 - ssim(...)); data_range 255 by "
                     "default, so the images are drawn in [0, 255]"),
    LibraryLoss("asteroid.losses:SingleSrcNegSDR", "si_sdr", {"sdr_type": "sisdr", "reduction": "mean"},
                note="measured on asteroid 0.7.0's losses/sdr.py loaded alone (the asteroid package needs soundfile and "
                     "more to import here); its constructor refuses reduction='sum' (assert), hence --init; its EPS "
                     "argument is ignored (EPS is always 1e-8)"),
    LibraryLoss("torchvision.ops:distance_box_iou_loss", "diou",
                note="expected clean (the corpus's correct_diou follows its source); not verified here: torchvision "
                     "cannot be installed beside torch 2.13.0"),
    LibraryLoss("torchvision.ops:complete_box_iou_loss", "ciou",
                note="expected clean (correct_ciou follows its source: α under no_grad); not verified here: "
                     "torchvision cannot be installed beside torch 2.13.0"),
    LibraryLoss("torchvision.ops:sigmoid_focal_loss", "focal",
                note="expected clean; not verified here: torchvision cannot be installed beside torch 2.13.0"),
    LibraryLoss("torchvision.ops:generalized_box_iou_loss", "giou",
                note="expected clean; not verified here: torchvision cannot be installed beside torch 2.13.0"),
]


def markdown(rows=None) -> str:
    """The README's table of library losses (`rows`, default LIBRARY_LOSSES)."""
    rows = rows if rows is not None else LIBRARY_LOSSES
    table = [[f"`{r.target}`", r.loss_id, f"`{r.init}`" if r.init else "-", r.verdict, ", ".join(r.codes) or "-",
              r.note or "-"] for r in rows]
    return tabulate(table, headers=["library loss", "id", "--init", "verdict", "findings", "what the audit says"],
                    tablefmt="github") + "\n"

