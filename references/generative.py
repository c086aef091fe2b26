"""Float64 references for the generative and multi-task losses: gaussian_kl (the VAE term),
gan_discriminator, gan_generator, wasserstein_critic and uncertainty_weighting.

The catalogue's conventions are keyword options, each documented with its source:
``latent_reduction`` of gaussian_kl, ``scale`` of gan_discriminator, ``form`` of
uncertainty_weighting. NumPy/SciPy only: this module never imports torch.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_expit

from ._reduce import check_reduction, reduce

__all__ = [
    "gaussian_kl", "gan_discriminator", "gan_generator", "wasserstein_critic",
    "uncertainty_weighting",
]


_LATENT_REDUCTIONS = ("sum", "mean")
_UNCERTAINTY_FORMS = ("simplified", "paper")


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _check_broadcast(name, real, fake):
    """ValueError unless the real and fake batches, each (argument name, array), broadcast: a loss that pairs them
    elementwise (reduction='none') needs it, where 'mean' and 'sum' reduce each batch on its own."""
    (real_name, real), (fake_name, fake) = real, fake
    try:
        np.broadcast_shapes(real.shape, fake.shape)
    except ValueError:
        raise ValueError(f"{name}: reduction='none' needs {real_name} and {fake_name} that broadcast; "
                         f"got {real.shape} and {fake.shape}") from None


def gaussian_kl(mu, logvar, *, reduction="mean", latent_reduction="sum"):
    """KL divergence of a diagonal Gaussian from the standard normal, the VAE regulariser
    (Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014, Appendix B).

    ``KL(N(μ, e^{logvar}) ‖ N(0, I)) = -½ Σ_latents (1 + logvar - μ² - e^{logvar})``, summed over
    the last (latent) dimension, one value per sample; ``e^{logvar} - 1 - logvar`` is computed as
    ``expm1(logvar) - logvar`` (no cancellation for small logvar). 'mean' averages the per-sample
    KL over the batch (every leading dimension), 'sum' adds them.

    ``latent_reduction="mean"`` keeps the per-element terms ``½(μ² + e^{logvar} - 1 - logvar)``
    and reduces them over every element, latents too, so 'mean' is the KL divided by the latent
    size and 'none' returns the broadcast shape (VAE code that calls ``torch.mean`` on the whole
    tensor, e.g. ``-0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())``); 'sum' is the same
    under both.

    Shapes: mu and logvar broadcast (e.g. a shared logvar), at least 1-D, latents last:
    (N, Z) or (Z,); 'none' returns the broadcast shape without its last dimension ((N,) or ()).

    Source: no PyTorch built-in; Kingma and Welling 2014 (the PyTorch VAE example's KLD term,
    https://github.com/pytorch/examples/blob/main/vae/main.py, is its 'sum').
    """
    check_reduction(reduction)
    m, lv = np.broadcast_arrays(_f64(mu), _f64(logvar))
    if m.ndim < 1:
        raise ValueError("gaussian_kl: mu and logvar must be at least 1-D, latents last")
    if latent_reduction not in _LATENT_REDUCTIONS:
        raise ValueError(f"gaussian_kl: latent_reduction must be one of {_LATENT_REDUCTIONS}; "
                         f"got latent_reduction={latent_reduction!r}")
    with np.errstate(over="ignore"):
        values = 0.5 * (m * m + (np.expm1(lv) - lv))
    return reduce(np.sum(values, axis=-1) if latent_reduction == "sum" else values, reduction)


def gan_discriminator(real_logits, fake_logits, *, reduction="mean", scale=1.0):
    """The standard GAN discriminator loss (Goodfellow et al., "Generative Adversarial Nets",
    NeurIPS 2014) on logits.

    ``loss = bce_with_logits(real, 1) + bce_with_logits(fake, 0)
    = softplus(-real) + softplus(fake)`` (stable, via scipy.special.log_expit). 'mean' is
    ``mean(softplus(-real)) + mean(softplus(fake))`` (each term averaged over its own batch, so
    real and fake may differ in size), 'sum' adds the two sums, and 'none' returns the
    elementwise sum of the two terms (real and fake must broadcast). ``scale`` multiplies the
    whole loss: 1 (the sum of the two terms) or 0.5 (their average, as pix2pix and CycleGAN do,
    ``loss_D = (loss_D_fake + loss_D_real) * 0.5``: Isola et al., "Image-to-Image Translation
    with Conditional Adversarial Networks", CVPR 2017, section 3.3, divide the objective by 2
    while optimising D, to slow its learning relative to G).

    Shapes: real_logits and fake_logits any shape, e.g. (N,) or (N, 1).

    Source: no PyTorch built-in; Goodfellow et al. 2014, as written with
    ``torch.nn.BCEWithLogitsLoss`` against ones and zeros (e.g. the PyTorch DCGAN tutorial).
    """
    check_reduction(reduction)
    real, fake = _f64(real_logits), _f64(fake_logits)
    if reduction == "none":
        _check_broadcast("gan_discriminator", ("real_logits", real), ("fake_logits", fake))
        return reduce(float(scale) * (-log_expit(real) - log_expit(-fake)), "none")
    return np.float64(float(scale) * (reduce(-log_expit(real), reduction) + reduce(-log_expit(-fake), reduction)))


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
        _check_broadcast("wasserstein_critic", ("real_scores", real), ("fake_scores", fake))
        return reduce(fake - real, "none")
    return np.float64(reduce(fake, reduction) - reduce(real, reduction))


def uncertainty_weighting(losses, log_vars, *, reduction="sum", form="simplified"):
    """Homoscedastic uncertainty weighting of task losses (Kendall, Gal and Cipolla, "Multi-Task
    Learning Using Uncertainty to Weigh Losses", CVPR 2018), in its common simplified form.

    With ``s_i = log σ_i²`` learned per task: ``total = Σ_i exp(-s_i) * L_i + s_i``. The default
    'sum' is that total; 'none' returns the per-task terms ``exp(-s_i) * L_i + s_i`` and 'mean'
    their average (a convention some code uses). ``form="paper"`` is the paper's exact form for
    regression, ``1/(2σ²) L + log σ = ½ exp(-s) L + ½ s``: both terms halved.

    Shapes: losses and log_vars (T,) (they broadcast); 'none' returns the broadcast shape.

    Source: no PyTorch built-in; Kendall et al. 2018, Eq. 7, with s = log σ² as in their
    implementation notes.
    """
    check_reduction(reduction)
    loss, s = _f64(losses), _f64(log_vars)
    if form not in _UNCERTAINTY_FORMS:
        raise ValueError(f"uncertainty_weighting: form must be one of {_UNCERTAINTY_FORMS}; got form={form!r}")
    with np.errstate(over="ignore", invalid="ignore"):
        values = np.exp(-s) * loss + s
    return reduce(0.5 * values if form == "paper" else values, reduction)
