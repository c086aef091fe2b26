"""The generative corpus: buggy and correct losses for the generative ids, each registered with `@example`
(losscheck/examples/registry.py) with the catalogue id it claims, what its audit must say and the test table
that audits it. A defective loss's docstring says its defect; a correct one's says it is correct.

Ids: gaussian_kl, gan_discriminator, gan_generator, wasserstein_critic, uncertainty_weighting.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from losscheck.examples.common import reduce_loose
from losscheck.examples.registry import example


def _bce(logits, label):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


# -- the catalogue's ids beyond the first twelve: a defect and a correct twin each (tests/test_catalogue.py) ---------
@example("gaussian_kl", suite="catalogue")
def correct_gaussian_kl(mu, logvar, reduction="mean"):
    """Correct twin (gaussian_kl)."""
    return reduce_loose(0.5 * (mu * mu + torch.expm1(logvar) - logvar).sum(-1), reduction)


@example("gaussian_kl", expect="LC102", variant="summed over the batch", suite="variants")
@example("gaussian_kl", expect="LC102", variant="summed over the batch", twin="correct_gaussian_kl", suite="catalogue")
def vae_example_kld(mu, logvar):
    """Defect (as in the PyTorch VAE example): the KL summed over the batch too."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


@example("gan_discriminator", suite="catalogue")
def correct_gan_discriminator(real_logits, fake_logits, reduction="mean"):
    """Correct twin (gan_discriminator)."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits), reduction=reduction)
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits), reduction=reduction)
    return real + fake


@example("gan_discriminator", expect="LC102", variant="labels swapped", twin="correct_gan_discriminator",
         suite="catalogue")
def gan_discriminator_swapped_labels(real_logits, fake_logits, reduction="mean"):
    """Defect: real scored against 0, fake against 1."""
    return correct_gan_discriminator(-real_logits, -fake_logits, reduction)


@example("gan_generator", suite="catalogue")
def correct_gan_generator(fake_logits, reduction="mean"):
    """Correct twin (gan_generator)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits), reduction=reduction)


@example("gan_generator", expect="LC102", variant="saturating generator loss", twin="correct_gan_generator",
         suite="catalogue")
def saturating_gan_generator(fake_logits, reduction="mean"):
    """Defect: minimises log(1 - D(G(z))), the saturating minimax form."""
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits), reduction=reduction)


@example("wasserstein_critic", suite="catalogue")
def correct_wasserstein_critic(real_scores, fake_scores, reduction="mean"):
    """Correct twin (wasserstein_critic)."""
    if reduction == "none":
        return fake_scores - real_scores
    return reduce_loose(fake_scores, reduction) - reduce_loose(real_scores, reduction)


@example("wasserstein_critic", expect="LC102", variant="sign flipped", twin="correct_wasserstein_critic",
         suite="catalogue")
def wasserstein_critic_flipped(real_scores, fake_scores, reduction="mean"):
    """Defect: the critic's objective mean(real) - mean(fake) returned as the loss to minimise."""
    return -correct_wasserstein_critic(real_scores, fake_scores, reduction)


@example("uncertainty_weighting", suite="catalogue")
def correct_uncertainty_weighting(losses, log_vars, reduction="sum"):
    """Correct twin (uncertainty_weighting)."""
    return reduce_loose(torch.exp(-log_vars) * losses + log_vars, reduction)


@example("uncertainty_weighting", expect="LC102", variant="regulariser missing", twin="correct_uncertainty_weighting",
         suite="catalogue")
def uncertainty_without_regulariser(losses, log_vars, reduction="sum"):
    """Defect: the + log_var term is missing, so every weight exp(-s) can shrink to 0."""
    return reduce_loose(torch.exp(-log_vars) * losses, reduction)


# -- one candidate per known variant and convention option, and a correct twin per id (tests/test_variants.py) -------
@example("gaussian_kl", expect="LC102", variant="logvar read as log sigma", suite="variants")
def log_sigma_kl(mu, logvar):
    """Reads the encoder's output as log sigma: e^{2·logvar} and 2·logvar."""
    return (-0.5 * torch.sum(1 + 2 * logvar - mu.pow(2) - torch.exp(2 * logvar), dim=-1)).mean()


@example("gaussian_kl", expect="LC102", variant="sign flipped", suite="variants")
def sign_flipped_kl(mu, logvar):
    """0.5·Σ(1 + logvar - mu² - e^logvar): the minus sign is lost."""
    return (0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)).mean()


@example("gaussian_kl", expect="LC103", variant="latent_reduction=mean", suite="variants")
def mean_everything_kl(mu, logvar):
    """torch.mean over every element, latents too."""
    return -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())


@example("gaussian_kl", expect="LC102", variant="missing factor ½", suite="common")
def no_half_kl(mu, logvar):
    """-Σ(1 + logvar - mu² - e^logvar) without the ½ (COMMON: missing factor ½)."""
    return (-torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)).mean()


@example("gaussian_kl", suite="variants")
def correct_mean_gaussian_kl(mu, logvar):
    """Correct twin (gaussian_kl)."""
    return (0.5 * (mu.pow(2) + torch.expm1(logvar) - logvar).sum(-1)).mean()


@example("gan_discriminator", expect="LC102", variant="labels swapped", suite="variants")
def swapped_labels_discriminator(real_logits, fake_logits):
    """Real against 0, fake against 1."""
    return _bce(real_logits, 0.0) + _bce(fake_logits, 1.0)


@example("gan_discriminator", expect="LC102", variant="sigmoid applied twice", suite="variants")
def sigmoid_twice_discriminator(real_logits, fake_logits):
    """The discriminator ends in a sigmoid, and BCEWithLogitsLoss applies another."""
    return _bce(torch.sigmoid(real_logits), 1.0) + _bce(torch.sigmoid(fake_logits), 0.0)


@example("gan_discriminator", expect="LC103", variant="scale=half", suite="variants")
def halved_discriminator(real_logits, fake_logits):
    """pix2pix's loss_D = (loss_D_real + loss_D_fake) * 0.5."""
    return (_bce(real_logits, 1.0) + _bce(fake_logits, 0.0)) * 0.5


@example("gan_discriminator", suite="variants")
def correct_discriminator(real_logits, fake_logits):
    """Correct twin (gan_discriminator)."""
    return _bce(real_logits, 1.0) + _bce(fake_logits, 0.0)


@example("gan_generator", expect="LC102", variant="saturating generator loss", suite="variants")
def saturating_generator(fake_logits):
    """The minimax form: minimises log(1 - D(G(z)))."""
    return torch.log(1 - torch.sigmoid(fake_logits)).mean()


@example("gan_generator", expect="LC102", variant="fake labelled 0", suite="variants")
def fake_zero_generator(fake_logits):
    """Copies the discriminator's line: fakes against 0."""
    return _bce(fake_logits, 0.0)


@example("gan_generator", expect="LC102", variant="sigmoid applied twice", suite="variants")
def sigmoid_twice_generator(fake_logits):
    """The discriminator ends in a sigmoid, and BCEWithLogitsLoss applies another."""
    return _bce(torch.sigmoid(fake_logits), 1.0)


@example("gan_generator", suite="variants")
def correct_generator(fake_logits):
    """Correct twin (gan_generator)."""
    return _bce(fake_logits, 1.0)


@example("wasserstein_critic", expect="LC102", variant="sign flipped", suite="variants")
def flipped_critic(real_scores, fake_scores):
    """Returns what the critic maximises as the loss to minimise."""
    return real_scores.mean() - fake_scores.mean()


@example("wasserstein_critic", suite="variants")
def correct_critic(real_scores, fake_scores):
    """Correct twin (wasserstein_critic)."""
    return fake_scores.mean() - real_scores.mean()


@example("uncertainty_weighting", expect="LC102", variant="exp(s) for exp(-s)", suite="variants")
def exp_s_uncertainty(losses, log_vars):
    """Weights by exp(s) instead of the precision exp(-s)."""
    return (torch.exp(log_vars) * losses + log_vars).sum()


@example("uncertainty_weighting", expect="LC102", variant="regulariser missing", suite="variants")
def unregularised_uncertainty(losses, log_vars):
    """Leaves out the + s term."""
    return (torch.exp(-log_vars) * losses).sum()


@example("uncertainty_weighting", expect="LC103", variant="form=paper", suite="variants")
def paper_uncertainty(losses, log_vars):
    """Kendall et al.'s 1/(2σ²)·L + log σ, both terms halved."""
    return (0.5 * torch.exp(-log_vars) * losses + 0.5 * log_vars).sum()


@example("uncertainty_weighting", suite="variants")
def correct_uncertainty(losses, log_vars):
    """Correct twin (uncertainty_weighting)."""
    return (torch.exp(-log_vars) * losses + log_vars).sum()
