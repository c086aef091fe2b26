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
    codes: tuple = ()       # every non-info finding code the audit reports (seed 0, default budget), but the
    # precision screen's warnings, which the note names where seen
    # verdict: "pass", "fail" (exit 1) or "unusable" (exit 2: it accepts none of the loss's inputs)
    note: str = ""
    requires: str = ""  # the library a row needs installed when its target is a copy or an adapter (tests/fixtures,
    # losscheck.examples.adapters/): the test skips the row without it


# segmentation_models_pytorch imports timm, which imports torchvision: its rows are audited from the copy of its
# Lovasz code (the official code) in tests/fixtures/smp_lovasz.py (tests/test_lovasz_library.py).
SMP_COPY = "audited from its code copied into tests/fixtures/smp_lovasz.py (the package imports torchvision): "

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
    LibraryLoss("monai.losses:DiceLoss", "jaccard", {"jaccard": True},
                note="convention smoothing=doubled, from its jaccard argument: 1 - (2I + s)/(2U + s)"),
    LibraryLoss("monai.losses:DiceLoss", "jaccard", {"jaccard": True, "to_onehot_y": True, "softmax": True},
                note="(N, 1, H, W) index map; conventions smoothing=doubled and activation=softmax from its arguments"),
    LibraryLoss("kornia.losses:LovaszHingeLoss", "lovasz_hinge", verdict="fail", codes=("LC605",),
                note="(N, 1, H, W) logits, per image: values and gradients agree; permutation.view(-1) raises on "
                     "non-contiguous logits (reports/upstream/kornia-lovasz-hinge-view.md)"),
    LibraryLoss("kornia.losses:LovaszSoftmaxLoss", "lovasz_softmax", codes=("LC103",),
                note="conventions per_image=image, classes=all and activation=softmax"),
    LibraryLoss("segmentation_models_pytorch.losses:LovaszLoss", "lovasz_hinge", {"mode": "binary"}, verdict="fail",
                codes=("LC705",), note=SMP_COPY + "values agree in float32; the .float() in lovasz_grad makes "
                "torch.dot raise on float64 logits (reports/upstream/smp-lovasz-float64.md)"),
    LibraryLoss("segmentation_models_pytorch.losses:LovaszLoss", "lovasz_softmax", {"mode": "multiclass"},
                verdict="fail", codes=("LC103", "LC705"),
                note=SMP_COPY + "convention activation=softmax; float64 raises as for the binary mode"),
    LibraryLoss("pytorch_metric_learning.losses:TripletMarginLoss", "triplet_batch_hard", codes=("LC103",),
                note="conventions normalise=yes and mining=all (every triplet, mean over the non-zero ones)"),
    LibraryLoss("pytorch_metric_learning.losses:NTXentLoss", "info_nce",
                note="called as (embeddings, labels): both views concatenated, labels arange(N) twice; the precision "
                     "screen warns that under fp16 autocast its loss is far off (exp of the similarities in fp16)"),
    LibraryLoss("info_nce:InfoNCE", "info_nce", codes=("LC103",),
                note="directional InfoNCE (convention direction=directional)"),
    LibraryLoss("transformers.loss.loss_utils:ForCausalLMLoss", "causal_lm", verdict="fail", codes=("LC603", "LC605"),
                note="values, shift, ignore_index and num_items_in_batch agree (vocab_size read from the logits); "
                     "logits.view(-1, vocab_size) raises on sliced or strided logits, and .float() returns "
                     "float32 for float64 logits (reports/upstream/transformers-causal-lm-view.md)"),
    LibraryLoss("pytorch_metric_learning.losses:SupConLoss", "supcon",
                note="cosine similarity inside, temperature 0.1, no base temperature (L_out)"),
    LibraryLoss("fixtures.open_clip_loss:ClipLoss", "clip",
                note="open_clip 3.3.0's loss.py (MIT) copied into tests/fixtures: the package imports torchvision; "
                     "logit_scale, forward's required argument, passed at each call"),
    LibraryLoss("fixtures.open_clip_loss:ClipLoss", "clip", {"cache_labels": True},
                note="labels cached per batch size stay right when the batch size changes"),
    LibraryLoss("fixtures.open_clip_loss:SigLipLoss", "siglip",
                note="the same copy; sum over the N² pairs divided by the batch size, as the paper"),
    LibraryLoss("losscheck.examples.adapters.sbert:MultipleNegativesRankingOnEmbeddings",
                "multiple_negatives_ranking", requires="sentence_transformers",
                note="sentence-transformers 6.3.0: its compute_loss_from_embeddings through a thin adapter (its "
                     "forward runs the model on tokenised text)"),
    LibraryLoss("losscheck.examples.angular:PMLArcFaceLoss", "arcface",
                note="pytorch-metric-learning ArcFaceLoss, its owned class weights set to those passed (form "
                     "(embeddings, weight, labels); margin in degrees there). As loss(embeddings, labels) its weights "
                     "are drawn at construction, unseen: no value verdict"),
    LibraryLoss("losscheck.examples.angular:PMLCosFaceLoss", "cosface",
                note="pytorch-metric-learning CosFaceLoss with its owned class weights set, as ArcFaceLoss above"),
    LibraryLoss("timm.loss:AsymmetricLossMultiLabel", "asymmetric", codes=("LC603",),
                note="x.float(): float64 gives float32; 'batchmean' default; disable_torch_grad_focal_loss read "
                     "as detach_focusing. timm 1.0.31 cannot be imported here (needs torchvision): its "
                     "loss/asymmetric_loss.py audited as a file"),
    LibraryLoss("losscheck.examples.adapters.trl_trainers:trl_simpo", "simpo", requires="trl",
                note="TRL 1.16 CPOTrainer.cpo_loss (loss_type='simpo', simpo_gamma = beta · gamma_beta_ratio) called "
                     "through a thin adapter (a namespace as self); DPOTrainer has no loss entry point (the loss is "
                     "inlined beside the forward pass)"),
    LibraryLoss("losscheck.examples.adapters.trl_trainers:trl_orpo", "orpo", codes=("LC603",), requires="trl",
                note="TRL 1.16 ORPOTrainer.odds_ratio_loss through a thin adapter (negated and averaged as the trainer "
                     "does); values and gradients agree; its .float() returns float32 for float64 log-probabilities"),
    LibraryLoss("losscheck.examples.adapters.trl_trainers:trl_gkd", "kd", codes=("LC102", "LC202", "LC303", "LC504"),
                requires="trl",
                note="TRL 1.16 GKDTrainer.generalized_jsd_loss at beta=0 (forward KL, batchmean): clean at its default "
                     "T = 1; at explored T != 1 a warning names 'no T² factor', which is GKD's definition, not a bug"),
    LibraryLoss("losscheck.examples.adapters.trl_trainers:trl_gkd", "kd", {"temperature": 2.0}, verdict="fail",
                codes=("LC102", "LC202", "LC303", "LC504"), requires="trl",
                note="at a temperature the user sets (T = 2) the missing T² is an error against Hinton's kd; GKD "
                     "defines its loss without it, so distil with it at T = 1 or multiply by T² yourself"),
    # issue 22: the boxes and signal ids
    LibraryLoss("kornia.losses:SSIMLoss", "ssim", {"window_size": 11}, codes=("LC103",),
                note="conventions padding=same (read from its padding argument) and form=dssim: clamp((1 - SSIM)/2, 0, "
                     "1) over reflected borders"),
    LibraryLoss("pytorch_msssim:ssim", "ssim", codes=("LC103",),
                note="the similarity itself (convention form=similarity: train on 1 - ssim(...)); data_range 255 by "
                     "default, so the images are drawn in [0, 255]; under fp16 autocast the product of its local "
                     "moments overflows (nan): the precision screen's warning where a draw reaches it"),
    LibraryLoss("pytorch_msssim:SSIM", "ssim", codes=("LC103", "LC203"),
                note="the module (channel=3 by default, its window made per channel: the images are drawn with 3 "
                     "channels); the similarity, as the function; in float16 at data_range 255 the product of its "
                     "local moments overflows (nan), and in bf16 the similarity is imprecise: warnings, not defects "
                     "of the float32 loss"),
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

