"""Float64 references for the generative and multi-task losses: gaussian_kl (the VAE term),
gan_discriminator, gan_generator, wasserstein_critic and uncertainty_weighting.

NumPy/SciPy only: this module never imports torch.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_expit

from ._reduce import check_reduction, reduce

__all__ = [
    "gaussian_kl", "gan_discriminator", "gan_generator", "wasserstein_critic",
    "uncertainty_weighting",
]


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def gaussian_kl(mu, logvar, *, reduction="mean"):
    """KL divergence of a diagonal Gaussian from the standard normal, the VAE regulariser
    (Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014, Appendix B).

    ``KL(N(μ, e^{logvar}) ‖ N(0, I)) = -½ Σ_latents (1 + logvar - μ² - e^{logvar})``, summed over
    the last (latent) dimension, one value per sample; ``e^{logvar} - 1 - logvar`` is computed as
    ``expm1(logvar) - logvar`` (no cancellation for small logvar). 'mean' averages the per-sample
    KL over the batch (every leading dimension), 'sum' adds them. Summing over everything, or
    averaging over every element, are other conventions.

    Shapes: mu and logvar broadcast (e.g. a shared logvar), at least 1-D, latents last:
    (N, Z) or (Z,); 'none' returns the broadcast shape without its last dimension ((N,) or ()).

    Source: no PyTorch built-in; Kingma and Welling 2014 (the PyTorch VAE example's KLD term,
    https://github.com/pytorch/examples/blob/main/vae/main.py, is its 'sum').
    """
    check_reduction(reduction)
    m, lv = np.broadcast_arrays(_f64(mu), _f64(logvar))
    if m.ndim < 1:
        raise ValueError("gaussian_kl: mu and logvar must be at least 1-D, latents last")
    with np.errstate(over="ignore"):
        values = 0.5 * np.sum(m * m + (np.expm1(lv) - lv), axis=-1)
    return reduce(values, reduction)


def gan_discriminator(real_logits, fake_logits, *, reduction="mean"):
    """The standard GAN discriminator loss (Goodfellow et al., "Generative Adversarial Nets",
    NeurIPS 2014) on logits.

    ``loss = bce_with_logits(real, 1) + bce_with_logits(fake, 0)
    = softplus(-real) + softplus(fake)`` (stable, via scipy.special.log_expit). 'mean' is
    ``mean(softplus(-real)) + mean(softplus(fake))`` (each term averaged over its own batch, so
    real and fake may differ in size), 'sum' adds the two sums, and 'none' returns the
    elementwise sum of the two terms (real and fake must broadcast). Averaging the two terms
    (a factor ½) is another convention.

    Shapes: real_logits and fake_logits any shape, e.g. (N,) or (N, 1).

    Source: no PyTorch built-in; Goodfellow et al. 2014, as written with
    ``torch.nn.BCEWithLogitsLoss`` against ones and zeros (e.g. the PyTorch DCGAN tutorial).
    """
    check_reduction(reduction)
    real, fake = _f64(real_logits), _f64(fake_logits)
    if reduction == "none":
        try:
            np.broadcast_shapes(real.shape, fake.shape)
        except ValueError:
            raise ValueError(
                "gan_discriminator: reduction='none' needs real_logits and fake_logits that "
                f"broadcast; got {real.shape} and {fake.shape}"
            ) from None
        return reduce(-log_expit(real) - log_expit(-fake), "none")
    return np.float64(reduce(-log_expit(real), reduction) + reduce(-log_expit(-fake), reduction))


def gan_generator(fake_logits, *, reduction="mean"):
    """The non-saturating GAN generator loss (Goodfellow et al. 2014, Section 3) on logits.

    ``loss = bce_with_logits(fake, 1) = softplus(-fake) = -log σ(fake)`` (stable, via
    scipy.special.log_expit). The saturating (minimax) form ``log(1 - σ(fake))`` is a different
    loss.

    Shapes: any; 'none' returns fake_logits' shape.

    Source: no PyTorch built-in; Goodfellow et al. 2014, as written with
    ``torch.nn.BCEWithLogitsLoss`` against ones.
    """
    check_reduction(reduction)
    return reduce(-log_expit(_f64(fake_logits)), reduction)


def wasserstein_critic(real_scores, fake_scores, *, reduction="mean"):
    """The Wasserstein GAN critic loss (Arjovsky, Chintala and Bottou, "Wasserstein GAN", ICML
    2017): ``mean(fake) - mean(real)`` (the critic maximises mean(real) - mean(fake)).

    'mean' is ``mean(fake) - mean(real)``, each over its own batch; 'sum' is
    ``sum(fake) - sum(real)``; 'none' returns ``fake - real`` elementwise (the two must
    broadcast). No gradient penalty or weight clipping (those are separate terms).

    Shapes: real_scores and fake_scores any shape, e.g. (N,) or (N, 1).

    Source: no PyTorch built-in; Arjovsky et al. 2017, Algorithm 1.
    """
    check_reduction(reduction)
    real, fake = _f64(real_scores), _f64(fake_scores)
    if reduction == "none":
        try:
            np.broadcast_shapes(real.shape, fake.shape)
        except ValueError:
            raise ValueError(
                "wasserstein_critic: reduction='none' needs real_scores and fake_scores that "
                f"broadcast; got {real.shape} and {fake.shape}"
            ) from None
        return reduce(fake - real, "none")
    return np.float64(reduce(fake, reduction) - reduce(real, reduction))


def uncertainty_weighting(losses, log_vars, *, reduction="sum"):
    """Homoscedastic uncertainty weighting of task losses (Kendall, Gal and Cipolla, "Multi-Task
    Learning Using Uncertainty to Weigh Losses", CVPR 2018), in its common simplified form.

    With ``s_i = log σ_i²`` learned per task: ``total = Σ_i exp(-s_i) * L_i + s_i``. The default
    'sum' is that total; 'none' returns the per-task terms ``exp(-s_i) * L_i + s_i`` and 'mean'
    their average (a convention some code uses). The paper's exact form for regression,
    ``1/(2σ²) L + log σ``, halves both terms: another convention.

    Shapes: losses and log_vars (T,) (they broadcast); 'none' returns the broadcast shape.

    Source: no PyTorch built-in; Kendall et al. 2018, Eq. 7, with s = log σ² as in their
    implementation notes.
    """
    check_reduction(reduction)
    loss, s = _f64(losses), _f64(log_vars)
    with np.errstate(over="ignore", invalid="ignore"):
        values = np.exp(-s) * loss + s
    return reduce(values, reduction)
