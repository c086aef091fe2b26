"""TRL's losses written as trainer methods, called as a user would to test them without a model.

TRL (1.16) keeps its preference losses inside its trainers: `CPOTrainer.cpo_loss` (SimPO with loss_type="simpo")
and `ORPOTrainer.odds_ratio_loss` read `self.beta`, `self.loss_type`, ... and `self.accelerator.device`, so each
adapter passes a namespace holding just those attributes as `self` and returns the mean the trainer takes. DPO's
loss is inlined in `DPOTrainer._compute_loss` next to the model's forward pass and has no such entry point.
TRL is an optional dependency, imported at the top (the package docstring says why): the ~6 s import of its trainers
(transformers, accelerate, datasets) is paid when the worker resolves the target; tests/test_libraries.py skips its
rows without TRL.
"""
from __future__ import annotations

from types import SimpleNamespace

from trl.experimental.cpo.cpo_trainer import CPOTrainer
from trl.experimental.gkd.gkd_trainer import GKDTrainer
from trl.experimental.orpo.orpo_trainer import ORPOTrainer


def _trainer(device, **attributes) -> SimpleNamespace:
    """A stand-in for a TRL trainer: the attributes its loss method reads, and accelerator.device."""
    return SimpleNamespace(accelerator=SimpleNamespace(device=device), **attributes)


def trl_simpo(policy_chosen_logps, policy_rejected_logps, beta=2.0, gamma_beta_ratio=0.5, label_smoothing=0.0):
    """TRL's CPOTrainer.cpo_loss with loss_type="simpo" and simpo_gamma = beta · gamma_beta_ratio, mean over pairs
    (CPOTrainer.get_batch_loss_metrics: losses.mean())."""
    trainer = _trainer(policy_chosen_logps.device, alpha=0.0, beta=beta, label_smoothing=label_smoothing,
                       loss_type="simpo", simpo_gamma=beta * gamma_beta_ratio)
    losses, _, _ = CPOTrainer.cpo_loss(trainer, policy_chosen_logps, policy_rejected_logps)
    return losses.mean()


def trl_orpo(policy_chosen_logps, policy_rejected_logps, beta=0.1):
    """TRL's ORPOTrainer.odds_ratio_loss, negated and averaged as its trainer uses it (loss = nll - losses.mean())."""
    losses, *_ = ORPOTrainer.odds_ratio_loss(_trainer(policy_chosen_logps.device, beta=beta), policy_chosen_logps,
                                             policy_rejected_logps)
    return -losses.mean()


def trl_gkd(student_logits, teacher_logits, temperature=1.0, beta=0.0):
    """TRL's GKDTrainer.generalized_jsd_loss (a staticmethod) at beta=0: the forward KL(teacher ‖ student) of
    on-policy distillation, 'batchmean', without labels."""
    return GKDTrainer.generalized_jsd_loss(student_logits, teacher_logits, beta=beta, temperature=temperature)
