"""Float64 references for the language-model family: z_loss (PaLM's auxiliary loss), kd (Hinton's
knowledge distillation), dpo (direct preference optimisation and its IPO / hinge forms), simpo and orpo
(reference-free preference losses on length-normalised log-probabilities) and causal_lm (next-token
cross-entropy of a decoder).

NumPy/SciPy only: this module never imports torch.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_expit, log_softmax, logsumexp, softmax, xlogy

from ._classes import integers
from ._reduce import check_reduction, reduce

__all__ = ["z_loss", "kd", "dpo", "simpo", "orpo", "causal_lm"]

KD_NORMALISE = ("batch", "elements")
KD_MIX = ("none", "alpha")
KD_FORMS = ("kl", "cross_entropy")
DPO_LOSS_TYPES = ("sigmoid", "ipo", "hinge", "robust")


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def z_loss(logits, *, coef=1e-4, reduction="mean"):
    """Z-loss: ``coef · (log Z)²`` per position, ``log Z = logsumexp(logits, axis=-1)`` the log of the
    softmax normaliser (scipy.special.logsumexp, stable at any scale).

    It pulls log Z towards 0 so that the softmax stays well conditioned in low precision. Shapes: logits
    (..., V) with the vocabulary (classes) on the last axis: (V,), (N, V) or (B, T, V); 'none' returns the
    leading shape, 'mean' averages over every position (every token), 'sum' adds them.

    Source: Chowdhery et al., "PaLM: Scaling Language Modeling with Pathways", 2022, section 5 ("we use an
    auxiliary loss of z_loss = 10^-4 · log² Z"); the same term in ST-MoE (Zoph et al., 2022, eq. 5, router
    z-loss) and in t5x/MaxText's ``cross_entropy_with_logits(z_loss=...)``.
    """
    check_reduction(reduction)
    x = _f64(logits)
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"z_loss: logits need a class axis (last); got shape {x.shape}")
    return reduce(coef * logsumexp(x, axis=-1) ** 2, reduction)


def kd(student_logits, teacher_logits, labels=None, *, temperature=1.0, reduction="mean", normalise="batch",
       mix="none", alpha=0.5, form="kl"):
    """Knowledge-distillation loss: ``T² · KL(softmax(t / T) ‖ softmax(s / T))`` per sample.

    With ``p = softmax(teacher / T)`` and ``log q = log_softmax(student / T)`` along the class (last) axis,
    the per-sample loss is ``T² · Σ_c [xlogy(p_c, p_c) - p_c · log q_c]`` (0 · log 0 = 0). The T² keeps the
    soft targets' gradients the same size as the hard targets' when T changes (Hinton et al., section 2).
    'mean' averages over the samples: the KL per sample, torch's ``kl_div(..., reduction='batchmean')``;
    'sum' adds; 'none' returns (N,).

    Conventions (keyword options):
    - ``normalise="elements"``: 'mean' also divides by the number of classes, as
      ``F.kl_div(..., reduction='mean')`` does (the mean over every element, not the KL per sample).
    - ``mix="alpha"``: Hinton's weighted average with the student's hard-label cross-entropy at T = 1,
      ``alpha · T² · KL + (1 - alpha) · CE(student, labels)`` per sample (``labels`` class indices (N,)).
    - ``form="cross_entropy"``: the soft-target cross entropy ``T² · Σ_c -p_c · log q_c``, as Hinton et al. write
      the objective (section 2) and torchtune's ``ForwardKLLoss`` computes it: the KL plus the teacher's entropy,
      a constant in the student, so the student's gradient is the same.

    Shapes: student and teacher logits (N, C) (or (C,) for one sample, 'none' then returns ()).

    Source: Hinton, Vinyals and Dean, "Distilling the Knowledge in a Neural Network", 2015, section 2
    (the soft-target objective, multiplied by T², and its weighted average with the hard-target one);
    the PyTorch "Knowledge Distillation Tutorial" and torchdistill's ``KDLoss`` for the two reductions.
    """
    check_reduction(reduction)
    if normalise not in KD_NORMALISE:
        raise ValueError(f"kd: normalise must be one of {KD_NORMALISE}; got {normalise!r}")
    if mix not in KD_MIX:
        raise ValueError(f"kd: mix must be one of {KD_MIX}; got {mix!r}")
    if form not in KD_FORMS:
        raise ValueError(f"kd: form must be one of {KD_FORMS}; got {form!r}")
    if not temperature > 0:
        raise ValueError(f"kd: temperature must be > 0; got {temperature!r}")
    s, t = _f64(student_logits), _f64(teacher_logits)
    if s.shape != t.shape or s.ndim not in (1, 2):
        raise ValueError(f"kd: student and teacher logits must both be (N, C) or (C,); got {s.shape}, {t.shape}")
    p = softmax(t / temperature, axis=-1)
    log_q = log_softmax(s / temperature, axis=-1)
    entropy_term = xlogy(p, p) if form == "kl" else 0.0
    values = temperature ** 2 * np.sum(entropy_term - p * log_q, axis=-1)
    if mix == "alpha":
        if labels is None:
            raise ValueError("kd: mix='alpha' needs the labels")
        y = integers(labels, "kd: labels must hold class indices (integers)")
        if y.shape != s.shape[:-1] or np.any((y < 0) | (y >= s.shape[-1])):
            raise ValueError(f"kd: labels must be class indices of shape {s.shape[:-1]}")
        hard = -np.take_along_axis(log_softmax(s, axis=-1), y[..., None], axis=-1)[..., 0]
        values = alpha * values + (1.0 - alpha) * hard
    out = reduce(values, reduction)
    if reduction == "mean" and normalise == "elements":
        out = np.float64(out / s.shape[-1])
    return out


def dpo(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, *,
        beta=0.1, label_smoothing=0.0, loss_type="sigmoid", reference_free=False, reduction="mean"):
    """Direct Preference Optimization loss, per preference pair.

    ``h = (π_c - π_r) - (ρ_c - ρ_r)``: the policy's log-ratio of the chosen to the rejected answer minus the
    reference model's (``ρ = 0`` with ``reference_free``). Per pair, by ``loss_type``:
    - "sigmoid" (DPO): ``-(1 - ε) · log σ(β h) - ε · log σ(-β h)`` with ε = ``label_smoothing`` (conservative
      DPO: the preference labels flipped with probability ε); log σ is scipy.special.log_expit, finite at
      any margin;
    - "ipo": ``(h - 1 / (2β))²`` (IPO);
    - "hinge": ``max(0, 1 - β h)`` (SLiC's hinge on the log-ratios);
    - "robust": ``(-(1 - ε) · log σ(β h) + ε · log σ(-β h)) / (1 - 2ε)`` (robust DPO: an unbiased estimate of the
      loss under preference labels flipped with probability ε < 0.5; DPO itself at ε = 0).
    'mean' averages over the pairs, 'sum' adds, 'none' returns (N,). Inputs: four (N,) arrays of summed
    log-probabilities (any real values; in practice ≤ 0). At π = ρ, h = 0 and the DPO loss is log 2.

    Source: Rafailov et al., "Direct Preference Optimization: Your Language Model is Secretly a Reward
    Model", NeurIPS 2023, eq. 7; Mitchell, "A note on DPO with noisy preferences" (cDPO), 2023; Azar et al.,
    "A General Theoretical Paradigm to Understand Learning from Human Preferences" (IPO), 2023; Zhao et al.,
    "SLiC-HF", 2023 (hinge); as implemented by TRL's ``DPOTrainer.dpo_loss`` (loss_type "sigmoid", "ipo",
    "hinge"; ``reference_free``).
    """
    check_reduction(reduction)
    if loss_type not in DPO_LOSS_TYPES:
        raise ValueError(f"dpo: loss_type must be one of {DPO_LOSS_TYPES}; got {loss_type!r}")
    if not 0.0 <= label_smoothing <= 0.5:
        raise ValueError(f"dpo: label_smoothing must be in [0, 0.5]; got {label_smoothing!r}")
    if not beta > 0:
        raise ValueError(f"dpo: beta must be > 0; got {beta!r}")
    pc, pr, rc, rr = (_f64(a) for a in (policy_chosen_logps, policy_rejected_logps, reference_chosen_logps,
                                        reference_rejected_logps))
    if not pc.shape == pr.shape == rc.shape == rr.shape:
        raise ValueError(f"dpo: the four log-probabilities must have one shape; got "
                         f"{pc.shape}, {pr.shape}, {rc.shape}, {rr.shape}")
    h = pc - pr if reference_free else (pc - pr) - (rc - rr)
    if loss_type == "ipo":
        values = (h - 1.0 / (2.0 * beta)) ** 2
    elif loss_type == "hinge":
        values = np.maximum(0.0, 1.0 - beta * h)
    elif loss_type == "robust":
        if label_smoothing >= 0.5:
            raise ValueError(f"dpo: loss_type='robust' needs label_smoothing < 0.5; got {label_smoothing!r}")
        values = (-(1.0 - label_smoothing) * log_expit(beta * h) + label_smoothing * log_expit(-beta * h)) \
            / (1.0 - 2.0 * label_smoothing)
    else:
        values = -(1.0 - label_smoothing) * log_expit(beta * h) - label_smoothing * log_expit(-beta * h)
    return reduce(values, reduction)


def _pair(name, chosen, rejected):
    """The chosen and rejected log-probabilities as float64 arrays of one shape."""
    pc, pr = _f64(chosen), _f64(rejected)
    if pc.shape != pr.shape:
        raise ValueError(f"{name}: the chosen and rejected log-probabilities must have one shape; got {pc.shape}, "
                         f"{pr.shape}")
    return pc, pr


def simpo(policy_chosen_logps, policy_rejected_logps, *, beta=2.0, gamma_beta_ratio=0.5, label_smoothing=0.0,
          reduction="mean"):
    """SimPO: reference-free preference loss with a target reward margin, per preference pair.

    ``-(1 - ε) · log σ(β (π_c - π_r) - γ) - ε · log σ(-(β (π_c - π_r) - γ))`` with the margin
    ``γ = β · gamma_beta_ratio`` and ε = ``label_smoothing``; π are the policy's *length-normalised* (per-token
    average) log-probabilities of the chosen and rejected answers, which the caller computes (the loss cannot
    tell a sum from an average). log σ is scipy.special.log_expit. 'mean' averages over the pairs. At
    π_c = π_r the loss is -log σ(-γ) = softplus(γ).

    Source: Meng, Xia and Chen, "SimPO: Simple Preference Optimization with a Reference-Free Reward", NeurIPS
    2024, eq. 6, and its trainer's ``simpo_loss`` (github princeton-nlp/SimPO, scripts/simpo_trainer.py:
    ``logits = pi_logratios - gamma_beta_ratio``, then ``-logsigmoid(beta * logits)``); TRL's ``CPOTrainer``
    with ``loss_type="simpo"`` computes the same with ``simpo_gamma = β · gamma_beta_ratio``.
    """
    check_reduction(reduction)
    if not beta > 0:
        raise ValueError(f"simpo: beta must be > 0; got {beta!r}")
    if not 0.0 <= label_smoothing <= 0.5:
        raise ValueError(f"simpo: label_smoothing must be in [0, 0.5]; got {label_smoothing!r}")
    pc, pr = _pair("simpo", policy_chosen_logps, policy_rejected_logps)
    margin = beta * (pc - pr) - beta * gamma_beta_ratio
    values = -(1.0 - label_smoothing) * log_expit(margin) - label_smoothing * log_expit(-margin)
    return reduce(values, reduction)


def _log1mexp(x):
    """log(1 - exp(x)) for x < 0, accurate at both ends (Mächler, "Accurately Computing log(1 - exp(-|a|))")."""
    return np.where(x > -np.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def orpo(policy_chosen_logps, policy_rejected_logps, *, beta=0.1, reduction="mean"):
    """ORPO's odds-ratio term, per preference pair: ``-β · log σ(log odds_c - log odds_r)``.

    ``log odds(y) = log p - log(1 - p)`` of the policy's length-normalised (per-token average) log-probability
    ``log p`` of an answer (≤ 0; at 0 the odds are infinite), so
    ``log odds_c - log odds_r = (π_c - π_r) - (log1mexp(π_c) - log1mexp(π_r))``, log1mexp(x) = log(1 - exp(x))
    computed accurately at both ends. The full ORPO objective adds this term
    (weighted by β, the paper's λ) to the supervised NLL of the chosen answer, which needs the model's logits
    and is the causal_lm loss; TRL's ``ORPOTrainer.odds_ratio_loss`` returns ``β · log σ(.)`` per pair and its
    trainer subtracts the mean from that NLL. 'mean' averages over the pairs. At π_c = π_r the term is β log 2.

    Source: Hong, Lee and Thorne, "ORPO: Monolithic Preference Optimization without Reference Model", EMNLP
    2024, eqs. 4-7; TRL ``trl/experimental/orpo/orpo_trainer.py`` ``odds_ratio_loss``.
    """
    check_reduction(reduction)
    if not beta > 0:
        raise ValueError(f"orpo: beta must be > 0; got {beta!r}")
    pc, pr = _pair("orpo", policy_chosen_logps, policy_rejected_logps)
    if np.any(pc > 0) or np.any(pr > 0):
        raise ValueError("orpo: the log-probabilities must be <= 0 (an answer's probability is at most 1)")
    log_odds = (pc - pr) - (_log1mexp(pc) - _log1mexp(pr))
    return reduce(-beta * log_expit(log_odds), reduction)


def causal_lm(logits, labels, *, ignore_index=-100, num_items_in_batch=None, reduction="mean", shift=True,
              vocab_size=None):
    """Next-token cross-entropy of a causal language model.

    logits (B, T, V), labels (B, T) (the input token ids, ``ignore_index`` where a position is padding or
    masked out). The loss shifts inside: position t's logits predict the label at t + 1, so it compares
    ``logits[:, :-1]`` with ``labels[:, 1:]`` (``shift=False``: labels already shifted, compared as given).
    Per kept token: ``-log_softmax(logits)[label]``; ignored tokens give 0. 'mean' divides the sum by the
    number of kept tokens (nan when none is kept, as torch), or, with ``num_items_in_batch``, by that count:
    the kept tokens of the whole accumulated batch, so that micro-batches add up to the large batch's mean;
    'sum' adds; 'none' returns the per-token losses (B, T - 1) (zeros where ignored). ``vocab_size`` is
    transformers' argument: the logits' last dimension (None: read from them; any other value raises).

    Source: Hugging Face transformers ``loss_utils.ForCausalLMLoss`` and ``fixed_cross_entropy``
    (``reduction="sum"`` then ``/ num_items_in_batch``; the fix of the gradient-accumulation bug, "Fixing
    Gradient Accumulation", Hugging Face blog, October 2024); the shift as in GPT-2's ``GPT2LMHeadModel``
    (Radford et al., 2019).
    """
    check_reduction(reduction)
    x = _f64(logits)
    y = integers(labels, "causal_lm: labels must hold class indices (integers)")
    if x.ndim != 3 or y.shape != x.shape[:2]:
        raise ValueError(f"causal_lm: logits must be (B, T, V) and labels (B, T); got {x.shape}, {y.shape}")
    if vocab_size is not None and vocab_size != x.shape[-1]:
        raise ValueError(f"causal_lm: vocab_size={vocab_size!r} is not the logits' last dimension {x.shape[-1]}")
    if shift:
        x, y = x[:, :-1], y[:, 1:]
    keep = y != ignore_index
    if np.any(keep & ((y < 0) | (y >= x.shape[-1]))):
        raise ValueError(f"causal_lm: labels must be in [0, {x.shape[-1]}) or ignore_index={ignore_index}")
    log_p = log_softmax(x, axis=-1)
    picked = np.take_along_axis(log_p, np.where(keep, y, 0)[..., None], axis=-1)[..., 0]
    values = np.where(keep, -picked, 0.0)
    if reduction != "mean":
        return reduce(values, reduction)
    count = np.sum(keep) if num_items_in_batch is None else num_items_in_batch
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.float64(np.sum(values) / np.float64(count))
