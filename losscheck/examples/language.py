"""The language-model corpus: buggy and correct losses for z_loss, kd, dpo and causal_lm, each registered with
`@example` (losscheck/examples/registry.py) with the catalogue id it claims, what its audit must say and the test
table that audits it. A defective loss's docstring says its defect; a correct one's says it is correct. The
correct ones are written as the libraries and tutorials write them (t5x's z-loss, the PyTorch distillation
tutorial, TRL's DPO, CPO (SimPO) and ORPO trainers, transformers' ForCausalLMLoss).

Ids: z_loss, kd, dpo, simpo, orpo, causal_lm.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from losscheck.examples.common import reduce
from losscheck.examples.registry import example


# -- a defect and a correct twin each (tests/test_catalogue.py) ------------------------------------------------------
@example("z_loss", suite="wild")
@example("z_loss", suite="catalogue")
def correct_z_loss(logits, z_loss=1e-4, reduction="mean"):
    """Correct twin (z_loss): t5x's cross_entropy_with_logits z-loss term, z_loss · log_z², averaged over tokens."""
    log_z = torch.logsumexp(logits, dim=-1)
    return reduce(z_loss * log_z.square(), reduction)


@example("z_loss", expect="LC102", variant="normaliser over the batch axis", twin="correct_z_loss",
         suite="catalogue")
@example("z_loss", expect={"LC102": "normaliser over the batch axis"}, twin="correct_z_loss", gallery=49, suite="wild")
def z_loss_over_batch(logits, z_loss=1e-4, reduction="mean"):
    """Defect: logsumexp over dim 0 (the batch) where the softmax normaliser runs over the vocabulary."""
    return reduce(z_loss * torch.logsumexp(logits, dim=0).square(), reduction)


@example("kd", suite="wild")
@example("kd", suite="catalogue")
def correct_kd(student_logits, teacher_logits, T=2.0):
    """Correct twin (kd): the tutorials' F.kl_div(log_softmax(s/T), softmax(t/T), 'batchmean') · T²."""
    return F.kl_div(F.log_softmax(student_logits / T, dim=-1), F.softmax(teacher_logits / T, dim=-1),
                    reduction="batchmean") * T * T


@example("kd", expect="LC102", variant="no T² factor", twin="correct_kd", suite="catalogue")
def kd_without_t_squared(student_logits, teacher_logits, T=2.0):
    """Defect: the soft-target KL without its T² factor (its gradients shrink as 1/T²)."""
    return F.kl_div(F.log_softmax(student_logits / T, dim=-1), F.softmax(teacher_logits / T, dim=-1),
                    reduction="batchmean")


@example("dpo", suite="wild")
@example("dpo", suite="catalogue")
class CorrectDPO(nn.Module):
    """Correct twin (dpo): TRL's DPOTrainer.dpo_loss (loss_type 'sigmoid' with conservative label smoothing, 'ipo',
    'hinge', 'robust')."""

    def __init__(self, beta=0.1, label_smoothing=0.0, loss_type="sigmoid"):
        super().__init__()
        self.beta, self.label_smoothing, self.loss_type = beta, label_smoothing, loss_type

    def forward(self, policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps):
        pi_logratios = policy_chosen_logps - policy_rejected_logps
        ref_logratios = reference_chosen_logps - reference_rejected_logps
        logits = pi_logratios - ref_logratios
        if self.loss_type == "ipo":
            losses = (logits - 1 / (2 * self.beta)) ** 2
        elif self.loss_type == "hinge":
            losses = torch.relu(1 - self.beta * logits)
        elif self.loss_type == "robust":
            losses = (-F.logsigmoid(self.beta * logits) * (1 - self.label_smoothing)
                      + F.logsigmoid(-self.beta * logits) * self.label_smoothing) / (1 - 2 * self.label_smoothing)
        else:
            losses = (-F.logsigmoid(self.beta * logits) * (1 - self.label_smoothing)
                      - F.logsigmoid(-self.beta * logits) * self.label_smoothing)
        return losses.mean()


@example("dpo", expect="LC102", variant="reference log-ratio with the wrong sign", suite="variants")
@example("dpo", expect="LC102", variant="reference log-ratio with the wrong sign", twin="CorrectDPO",
         suite="catalogue")
def dpo_reference_added(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps,
                        reference_rejected_logps, beta=0.1):
    """Defect: the reference log-ratio added where it is subtracted."""
    logits = (policy_chosen_logps - policy_rejected_logps) + (reference_chosen_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * logits).mean()


@example("simpo", suite="catalogue")
class CorrectSimPO(nn.Module):
    """Correct twin (simpo): the SimPO trainer's simpo_loss (princeton-nlp/SimPO): the policy's log-ratio minus
    gamma_beta_ratio, scaled by beta, under conservative label smoothing."""

    def __init__(self, beta=2.0, gamma_beta_ratio=0.5, label_smoothing=0.0):
        super().__init__()
        self.beta, self.gamma_beta_ratio, self.label_smoothing = beta, gamma_beta_ratio, label_smoothing

    def forward(self, policy_chosen_logps, policy_rejected_logps):
        logits = (policy_chosen_logps - policy_rejected_logps) - self.gamma_beta_ratio
        losses = (-F.logsigmoid(self.beta * logits) * (1 - self.label_smoothing)
                  - F.logsigmoid(-self.beta * logits) * self.label_smoothing)
        return losses.mean()


@example("simpo", expect="LC102", variant="margin with the wrong sign", twin="CorrectSimPO", suite="catalogue")
def simpo_margin_added(policy_chosen_logps, policy_rejected_logps, beta=2.0, gamma_beta_ratio=0.5):
    """Defect: the target margin added where SimPO subtracts it."""
    return -F.logsigmoid(beta * (policy_chosen_logps - policy_rejected_logps) + beta * gamma_beta_ratio).mean()


@example("orpo", suite="catalogue")
def correct_orpo(policy_chosen_logps, policy_rejected_logps, beta=0.1):
    """Correct twin (orpo): TRL's ORPOTrainer.odds_ratio_loss (log1mexp branched at -log 2), negated as its trainer
    subtracts it from the NLL."""
    def log1mexp(x):
        return torch.where(x < -0.6931471805599453, torch.log1p(-torch.exp(x)), torch.log(-torch.expm1(x)))
    log_odds = (policy_chosen_logps - policy_rejected_logps) - (log1mexp(policy_chosen_logps)
                                                                - log1mexp(policy_rejected_logps))
    return -(beta * F.logsigmoid(log_odds)).mean()


@example("orpo", expect="LC102", variant="probability ratio instead of odds ratio", twin="correct_orpo",
         suite="catalogue")
def orpo_probability_ratio(policy_chosen_logps, policy_rejected_logps, beta=0.1):
    """Defect: the log-probability ratio where ORPO takes the log-odds ratio."""
    return -(beta * F.logsigmoid(policy_chosen_logps - policy_rejected_logps)).mean()


@example("causal_lm", suite="wild")
@example("causal_lm", suite="catalogue")
def correct_causal_lm(logits, labels, num_items_in_batch=None, ignore_index=-100):
    """Correct twin (causal_lm): transformers' ForCausalLMLoss (shift, flatten, cross_entropy; reduction 'sum'
    divided by num_items_in_batch when given), without its float32 upcast (which makes float64 logits float32)."""
    shift_logits = logits[..., :-1, :].contiguous().view(-1, logits.shape[-1])
    shift_labels = labels[..., 1:].contiguous().view(-1)
    reduction = "sum" if num_items_in_batch is not None else "mean"
    loss = F.cross_entropy(shift_logits, shift_labels, ignore_index=ignore_index, reduction=reduction)
    if reduction == "sum":
        loss = loss / num_items_in_batch
    return loss


@example("causal_lm", suite="catalogue")
def causal_lm_on_shifted_labels(logits, shift_labels, ignore_index=-100):
    """Correct (causal_lm, labels already shifted: the call form named by `shift_labels`): transformers'
    ForCausalLMLoss given shift_labels, the data collator having shifted them (the last label is -100)."""
    return F.cross_entropy(logits.flatten(0, 1), shift_labels.flatten(), ignore_index=ignore_index)


def fixed_cross_entropy(source, target, num_items_in_batch=None, ignore_index=-100, **kwargs):
    """After transformers' loss_utils.fixed_cross_entropy (4.46 and later): 'sum' / num_items_in_batch."""
    reduction = "sum" if num_items_in_batch is not None else "mean"
    loss = F.cross_entropy(source, target, ignore_index=ignore_index, reduction=reduction)
    if reduction == "sum":
        if torch.is_tensor(num_items_in_batch):
            num_items_in_batch = num_items_in_batch.to(loss.device)
        loss = loss / num_items_in_batch
    return loss


@example("causal_lm", expect={"LC605": "view"}, twin="correct_causal_lm", suite="catalogue")
def ForCausalLMLoss(logits, labels, vocab_size: int, num_items_in_batch=None, ignore_index: int = -100,
                    shift_labels=None, **kwargs):
    """Defect (LC605) of an otherwise correct loss: after transformers' loss_utils.ForCausalLMLoss (labels padded
    and shifted, logits flattened by .view(-1, vocab_size)), whose view raises on non-contiguous logits (its
    .float() upcast, left out here because it makes float64 logits float32, copies bf16 logits but returns
    float32 ones as they are). vocab_size follows the logits: the audit passes it, as a trainer does."""
    if shift_labels is None:
        labels = nn.functional.pad(labels, (0, 1), value=ignore_index)
        shift_labels = labels[..., 1:].contiguous()
    logits = logits.view(-1, vocab_size)
    shift_labels = shift_labels.view(-1).to(logits.device)
    return fixed_cross_entropy(logits, shift_labels, num_items_in_batch, ignore_index, **kwargs)


@example("causal_lm", expect="LC102", variant="padding counted", twin="correct_causal_lm", suite="catalogue")
def causal_lm_padding_counted(logits, labels):
    """Defect: the -100 positions masked out of the sum but counted in the mean."""
    losses = F.cross_entropy(logits[:, :-1].transpose(1, 2), labels[:, 1:], reduction="none")
    return losses.mean()


# -- seen in the wild (tests/test_wild.py, the reports/ gallery) ----------------------------------------------------
@example("causal_lm", expect={"LC406": "per-micro-batch mean"}, twin="correct_causal_lm", gallery=18, suite="wild")
@example("causal_lm", expect="LC102", variant="per-micro-batch mean", suite="variants")
def MicroBatchMeanLMLoss(logits, labels, num_items_in_batch=None, ignore_index=-100):
    """Defect (LC406): takes num_items_in_batch, as transformers' Trainer passes it under gradient accumulation,
    and never reads it: each micro-batch is averaged over its own kept tokens, so with padding spread unevenly
    the accumulated gradient is not the large batch's (the trainers' gradient-accumulation bug of 2024)."""
    shift_logits = logits[..., :-1, :].flatten(0, 1)
    shift_labels = labels[..., 1:].flatten()
    return F.cross_entropy(shift_logits, shift_labels, ignore_index=ignore_index)


@example("causal_lm", expect={"LC102": "unshifted"}, twin="correct_causal_lm", gallery=19, suite="wild")
class NextTokenLossNoShift(nn.Module):
    """Defect (LC102, unshifted): the logits at t scored against the input token at t, labels = input_ids with no
    shift, so the model learns to copy its input (the loss falls to near zero and generation is garbage)."""

    def forward(self, logits, labels):
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100)


@example("causal_lm", expect={"LC102": "shifted twice"}, twin="correct_causal_lm", gallery=20, suite="wild")
def shifted_twice_lm_loss(logits, labels):
    """Defect (LC102, shifted twice): labels "aligned" with torch.roll as a collator would, then shifted again as
    the model's loss does: the logits at t scored against the token at t + 2."""
    labels = torch.roll(labels, shifts=-1, dims=1)
    labels[:, -1] = -100
    shift_logits, shift_labels = logits[:, :-1, :], labels[:, 1:]
    return F.cross_entropy(shift_logits.reshape(-1, logits.size(-1)), shift_labels.reshape(-1))


@example("causal_lm", expect={"LC102": "padding counted"}, twin="correct_causal_lm", gallery=21, suite="wild")
def padded_mean_lm_loss(logits, labels):
    """Defect (LC102, padding counted): reduction='none' then .mean(): the -100 positions give 0 but still count
    in the denominator, so batches with more padding get smaller losses."""
    per_token = F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1),
                                reduction="none")
    return per_token.mean()


@example("kd", expect={"LC102": "no t² factor"}, twin="correct_kd", gallery=22, suite="wild")
class SoftTargetLoss(nn.Module):
    """Defect (LC102, no T² factor): Hinton's soft-target KL at temperature T without the T² that keeps its
    gradients on the hard-label term's scale."""

    def __init__(self, T=4.0):
        super().__init__()
        self.T = T

    def forward(self, student_logits, teacher_logits):
        return F.kl_div(F.log_softmax(student_logits / self.T, dim=1), F.softmax(teacher_logits / self.T, dim=1),
                        reduction="batchmean")


@example("kd", expect={"LC102": "temperature on the teacher only"}, twin="correct_kd", gallery=23, suite="wild")
def teacher_softened_kd(student_logits, teacher_logits, T=4.0):
    """Defect (LC102, temperature on the teacher only): the teacher softened by T, the student's raw
    log_softmax, so the student is pulled towards a flatter distribution than its own logits give."""
    return F.kl_div(F.log_softmax(student_logits, dim=-1), F.softmax(teacher_logits / T, dim=-1),
                    reduction="batchmean") * T * T


@example("kd", expect={"LC102": "kl direction swapped"}, twin="correct_kd", gallery=24, suite="wild")
def reverse_kl_distillation(student_logits, teacher_logits, T=2.0):
    """Defect (LC102, KL direction swapped): kl_div(teacher log-probs, student probs) is KL(student ‖ teacher),
    the mode-seeking direction, where distillation minimises KL(teacher ‖ student)."""
    return F.kl_div(F.log_softmax(teacher_logits / T, dim=-1), F.softmax(student_logits / T, dim=-1),
                    reduction="batchmean") * T * T


@example("dpo", expect={"LC102": "reference log-ratio with the wrong sign"}, twin="CorrectDPO", gallery=25,
         suite="wild")
def dpo_with_reference_added(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps,
                             reference_rejected_logps, beta=0.1):
    """Defect (LC102, reference log-ratio with the wrong sign): the rewards written as policy + reference, so the
    reference model's preference is added where DPO subtracts it."""
    chosen = policy_chosen_logps + reference_chosen_logps
    rejected = policy_rejected_logps + reference_rejected_logps
    return -F.logsigmoid(beta * (chosen - rejected)).mean()


@example("dpo", expect={"LC102": "log(sigmoid) instead of logsigmoid"}, twin="CorrectDPO", gallery=26,
         suite="wild")
def dpo_log_of_sigmoid(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps,
                       reference_rejected_logps, beta=0.1):
    """Defect (LC102, log(sigmoid) instead of logsigmoid): the paper's -log σ(β h) typed literally; σ underflows
    to 0 once β h is below about -100 in float32 and the loss is inf."""
    h = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return -torch.log(torch.sigmoid(beta * h)).mean()


# -- one candidate per variant and convention option, and a correct twin per id (tests/test_variants.py) -----------
@example("z_loss", expect="LC102", variant="normaliser over the batch axis", suite="variants")
def z_loss_batch_normaliser(logits, coef=1e-4):
    """coef · logsumexp(logits, 0)²: the normaliser over the batch axis."""
    return coef * torch.logsumexp(logits, 0).pow(2).mean()


@example("z_loss", expect="LC102", variant="log Z not squared", suite="variants")
def z_loss_not_squared(logits, coef=1e-4):
    """coef · log Z, the square forgotten."""
    return coef * torch.logsumexp(logits, -1).mean()


@example("z_loss", suite="variants")
def palm_z_loss(logits, coef=1e-4):
    """Correct twin (z_loss): PaLM's 10⁻⁴ · log² Z, log Z = logsumexp over the vocabulary, mean over tokens."""
    return coef * torch.logsumexp(logits, dim=-1).pow(2).mean()


@example("kd", expect="LC102", variant="no T² factor", suite="variants")
def kd_no_t_squared(student_logits, teacher_logits, temperature=4.0):
    """The soft-target KL at temperature T, not multiplied by T²."""
    return F.kl_div(F.log_softmax(student_logits / temperature, -1), F.softmax(teacher_logits / temperature, -1),
                    reduction="batchmean")


@example("kd", expect="LC102", variant="temperature on the teacher only", suite="variants")
def kd_teacher_only(student_logits, teacher_logits, temperature=4.0):
    """The teacher softened by T, the student not."""
    return F.kl_div(F.log_softmax(student_logits, -1), F.softmax(teacher_logits / temperature, -1),
                    reduction="batchmean") * temperature ** 2


@example("kd", expect="LC102", variant="KL direction swapped", suite="variants")
def kd_reverse_kl(student_logits, teacher_logits, temperature=4.0):
    """KL(student ‖ teacher): the student's distribution as kl_div's target."""
    return F.kl_div(F.log_softmax(teacher_logits / temperature, -1), F.softmax(student_logits / temperature, -1),
                    reduction="batchmean") * temperature ** 2


@example("kd", expect="LC102", variant="softmax instead of log_softmax for the student", suite="variants")
def kd_student_softmax(student_logits, teacher_logits, temperature=4.0):
    """kl_div given the student's probabilities where it expects log-probabilities."""
    return F.kl_div(F.softmax(student_logits / temperature, -1), F.softmax(teacher_logits / temperature, -1),
                    reduction="batchmean") * temperature ** 2


@example("kd", expect="LC103", variant="normalise=elements", suite="variants")
def kd_elementwise_mean(student_logits, teacher_logits, temperature=4.0):
    """kl_div's reduction='mean' (every element) times T², as many distillation repositories write it."""
    return F.kl_div(F.log_softmax(student_logits / temperature, -1), F.softmax(teacher_logits / temperature, -1),
                    reduction="mean") * temperature ** 2


@example("kd", expect="LC103", variant="form=cross_entropy", suite="variants")
def kd_soft_target_cross_entropy(student_logits, teacher_logits, temperature=4.0):
    """Hinton's soft-target cross entropy times T² (torchtune's ForwardKLLoss computes the same): the KL plus the
    teacher's entropy, the same gradient for the student."""
    p = F.softmax(teacher_logits / temperature, -1)
    return -(p * F.log_softmax(student_logits / temperature, -1)).sum(-1).mean() * temperature ** 2


@example("kd", expect="LC103", variant="mix=alpha", suite="variants")
def kd_with_hard_labels(student_logits, teacher_logits, labels, temperature=4.0, alpha=0.9):
    """Hinton's weighted average: alpha · T² · KL + (1 - alpha) · the student's cross-entropy on the labels
    (the PyTorch Knowledge Distillation Tutorial's soft_target_loss_weight / ce_loss_weight)."""
    soft = F.kl_div(F.log_softmax(student_logits / temperature, -1), F.softmax(teacher_logits / temperature, -1),
                    reduction="batchmean") * temperature ** 2
    return alpha * soft + (1 - alpha) * F.cross_entropy(student_logits, labels)


@example("kd", suite="variants")
class DistillKL(nn.Module):
    """Correct twin (kd): RepDistiller's DistillKL, the batchmean KL written out: Σ p·(log p - log q) / N · T²."""

    def __init__(self, T=4.0):
        super().__init__()
        self.T = T

    def forward(self, y_s, y_t):
        p_s = F.log_softmax(y_s / self.T, dim=1)
        p_t = F.softmax(y_t / self.T, dim=1)
        return F.kl_div(p_s, p_t, reduction="sum") * (self.T ** 2) / y_s.shape[0]


@example("dpo", expect="LC102", variant="chosen and rejected swapped", suite="variants")
def dpo_swapped(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps,
                beta=0.1):
    """The rejected answer's log-ratio first: it rewards the rejected answer."""
    logits = (policy_rejected_logps - policy_chosen_logps) - (reference_rejected_logps - reference_chosen_logps)
    return -F.logsigmoid(beta * logits).mean()


@example("dpo", expect="LC102", variant="beta applied twice", suite="variants")
@example("dpo", expect={"LC102": "beta applied twice"}, twin="CorrectDPO", gallery=50, suite="wild")
def dpo_beta_twice(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps,
                   beta=0.1):
    """β applied to the log-ratios and again to their difference."""
    chosen = beta * (policy_chosen_logps - reference_chosen_logps)
    rejected = beta * (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * (chosen - rejected)).mean()


@example("dpo", expect="LC102", variant="log(sigmoid) instead of logsigmoid", suite="variants")
def dpo_log_sigmoid(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps,
                    beta=0.1):
    """torch.log(torch.sigmoid(x)) where F.logsigmoid(x) belongs: σ underflows to 0 at large margins (β·h below
    about -100 in float32) and the loss is inf."""
    h = (policy_chosen_logps - policy_rejected_logps) - (reference_chosen_logps - reference_rejected_logps)
    return -torch.sigmoid(beta * h).log().mean()


@example("dpo", expect="LC103", variant="loss_type=robust", suite="variants")
def robust_dpo(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta=0.1,
               label_smoothing=0.1):
    """Robust DPO (Chowdhury et al. 2024), as TRL's loss_type='robust' computes it: the smoothed loss with the wrong
    label's term added, divided by 1 - 2ε."""
    h = (policy_chosen_logps - policy_rejected_logps) - (reference_chosen_logps - reference_rejected_logps)
    return ((-F.logsigmoid(beta * h) * (1 - label_smoothing) + F.logsigmoid(-beta * h) * label_smoothing)
            / (1 - 2 * label_smoothing)).mean()


@example("dpo", expect="LC103", variant="loss_type=ipo", suite="variants")
def ipo(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta=0.1):
    """IPO (Azar et al.): (h - 1/(2β))², as TRL's loss_type='ipo' computes it."""
    h = (policy_chosen_logps - policy_rejected_logps) - (reference_chosen_logps - reference_rejected_logps)
    return ((h - 1 / (2 * beta)) ** 2).mean()


@example("dpo", expect="LC103", variant="loss_type=hinge", suite="variants")
def slic_hinge(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps,
               beta=0.1):
    """The hinge on the log-ratios (SLiC), as TRL's loss_type='hinge' computes it."""
    h = (policy_chosen_logps - policy_rejected_logps) - (reference_chosen_logps - reference_rejected_logps)
    return torch.relu(1 - beta * h).mean()


@example("dpo", expect="LC103", variant="reference_free=yes", suite="variants")
def dpo_reference_free(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps,
                       reference_rejected_logps, beta=0.1):
    """Reference-free DPO: the policy's log-ratio alone (TRL's reference_free=True)."""
    return -F.logsigmoid(beta * (policy_chosen_logps - policy_rejected_logps)).mean()


@example("dpo", suite="variants")
def dpo_loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps,
             beta=0.1):
    """Correct twin (dpo): the paper's -log σ(β(log π_c/ρ_c - log π_r/ρ_r)), chosen and rejected rewards apart."""
    chosen_rewards = policy_chosen_logps - reference_chosen_logps
    rejected_rewards = policy_rejected_logps - reference_rejected_logps
    return -F.logsigmoid(beta * (chosen_rewards - rejected_rewards)).mean()


@example("simpo", expect="LC102", variant="margin with the wrong sign", suite="variants")
def simpo_margin_sign(policy_chosen_logps, policy_rejected_logps, beta=2.0, gamma_beta_ratio=0.5):
    """β (π_c - π_r) + γ: the margin with the wrong sign."""
    return -F.logsigmoid(beta * (policy_chosen_logps - policy_rejected_logps - (-gamma_beta_ratio))).mean()


@example("simpo", expect="LC102", variant="chosen and rejected swapped", suite="variants")
def simpo_swapped(policy_chosen_logps, policy_rejected_logps, beta=2.0, gamma_beta_ratio=0.5):
    """The rejected answer's log-probability first."""
    return -F.logsigmoid(beta * (policy_rejected_logps - policy_chosen_logps) - beta * gamma_beta_ratio).mean()


@example("simpo", expect="LC102", variant="no target margin", suite="variants")
def simpo_no_margin(policy_chosen_logps, policy_rejected_logps, beta=2.0, gamma_beta_ratio=0.5):
    """Reference-free DPO on average log-probabilities: the margin γ forgotten."""
    return -F.logsigmoid(beta * (policy_chosen_logps - policy_rejected_logps)).mean()


@example("simpo", suite="variants")
def simpo_loss(policy_chosen_logps, policy_rejected_logps, beta=2.0, gamma_beta_ratio=0.5):
    """Correct twin (simpo): TRL's CPOTrainer.cpo_loss with loss_type='simpo' (simpo_gamma = β · ratio):
    logits = pi_logratios - simpo_gamma / beta, loss = -logsigmoid(beta * logits)."""
    simpo_gamma = beta * gamma_beta_ratio
    logits = (policy_chosen_logps - policy_rejected_logps) - simpo_gamma / beta
    return -F.logsigmoid(beta * logits).mean()


@example("orpo", expect="LC102", variant="probability ratio instead of odds ratio", suite="variants")
def orpo_without_odds(policy_chosen_logps, policy_rejected_logps, beta=0.1):
    """log σ(π_c - π_r): the log(1 - p) terms of the odds left out."""
    return -beta * F.logsigmoid(policy_chosen_logps - policy_rejected_logps).mean()


@example("orpo", expect="LC102", variant="chosen and rejected swapped", suite="variants")
def orpo_swapped(policy_chosen_logps, policy_rejected_logps, beta=0.1):
    """The rejected answer's odds over the chosen one's."""
    log_odds = (policy_rejected_logps - torch.log(-torch.expm1(policy_rejected_logps))) \
        - (policy_chosen_logps - torch.log(-torch.expm1(policy_chosen_logps)))
    return -beta * F.logsigmoid(log_odds).mean()


@example("orpo", suite="variants")
class OddsRatioLoss(nn.Module):
    """Correct twin (orpo): the odds-ratio term with log(1 - p) as log(-expm1(log p)), exact near p = 1."""

    def __init__(self, beta=0.1):
        super().__init__()
        self.beta = beta

    def forward(self, policy_chosen_logps, policy_rejected_logps):
        log_odds_chosen = policy_chosen_logps - torch.log(-torch.expm1(policy_chosen_logps))
        log_odds_rejected = policy_rejected_logps - torch.log(-torch.expm1(policy_rejected_logps))
        return -self.beta * F.logsigmoid(log_odds_chosen - log_odds_rejected).mean()


@example("causal_lm", expect="LC102", variant="unshifted", suite="variants")
def lm_loss_unshifted(logits, labels):
    """cross_entropy of the logits at t against the label at t: no shift."""
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten())


@example("causal_lm", expect="LC102", variant="shifted twice", suite="variants")
def lm_loss_shifted_twice(logits, labels):
    """Shifts labels the collator had already shifted... on labels that were not: the label at t + 2."""
    labels = torch.cat([labels[:, 1:], torch.full_like(labels[:, :1], -100)], dim=1)
    return F.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten())


@example("causal_lm", expect="LC102", variant="padding counted", suite="variants")
def lm_loss_padding_counted(logits, labels):
    """Masks the -100 tokens out of the sum, then divides by every position."""
    mask = labels[:, 1:] != -100
    losses = F.cross_entropy(logits[:, :-1].transpose(1, 2), labels[:, 1:].clamp(min=0), reduction="none")
    return (losses * mask).sum() / mask.numel()


@example("causal_lm", expect="LC102", variant="mean per sequence then over sequences", suite="variants")
def lm_loss_per_sequence(logits, labels):
    """Averages each sequence's kept tokens, then the sequences."""
    mask = labels[:, 1:] != -100
    losses = F.cross_entropy(logits[:, :-1].transpose(1, 2), labels[:, 1:], reduction="none")
    return ((losses * mask).sum(1) / mask.sum(1)).mean()


@example("causal_lm", suite="variants")
def lm_loss(logits, labels):
    """Correct twin (causal_lm): GPT-2's LM head loss: shift, flatten, cross_entropy (ignore_index -100)."""
    shift_logits = logits[..., :-1, :].contiguous()
    shift_labels = labels[..., 1:].contiguous()
    return F.cross_entropy(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1))
