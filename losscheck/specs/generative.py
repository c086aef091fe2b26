"""Specs for the generative and multi-task losses: gaussian_kl (the VAE term), gan_discriminator, gan_generator,
wasserstein_critic and uncertainty_weighting."""
import numpy as np
from hypothesis import strategies as st
from scipy.special import log_expit

from losscheck.diagnosis.conventions import Convention, Option
from losscheck.references import generative as ref
from losscheck.references._reduce import reduce
from losscheck.specs.base import REDUCTION_SPELLINGS, REDUCTIONS, LossSpec, Naming, Param
from losscheck.specs.regression import REDUCTION
from losscheck.judge.strategies import batch_size, floats, logits, size
from losscheck.diagnosis.variants import Variant, call, replace_input, scaled, sigmoid


# -- gaussian_kl --------------------------------------------------------------------------------------------

def draw_latents(draw, *, layout, target_format, scale, params):
    """(mu, logvar) of shape (N, Z) or (Z,). At the extreme scale mu reaches ±1e4 and logvar [-1e3, 80]: above 80,
    e^logvar (and so the true loss) no longer fits in float32."""
    z = size(draw, "Z", 1, 4)
    shape = (z,) if layout == "no_batch" else (batch_size(draw, layout), z)
    mu = logits(draw, shape, scale, label="mu")
    logvar = floats(draw, shape, 3.0, label="logvar") if scale == "normal" else \
        floats(draw, shape, 1e3, label="logvar").clip(max=80.0)
    return mu, logvar


def latent_edges():
    mu = np.array([[0.0, 0.0, 0.0], [1e4, -1e4, 0.5]])
    return [("the prior itself (KL = 0)", (np.zeros((2, 3)), np.zeros((2, 3)))),
            ("extreme mu and logvar", (mu, np.array([[80.0, -1e3, 1e-7], [-80.0, 0.0, 20.0]])))]


GAUSSIAN_KL_CONVENTIONS = (
    Convention("latent_reduction", "sum", {
        "sum": Option("sums over the latents, then averages over the batch", "Kingma and Welling 2014, most VAEs"),
        "mean": Option("averages over every element (latents too), which divides the KL by the latent size",
                       "VAE code that uses torch.mean over the whole tensor", {"latent_reduction": "mean"})}),
)


def _summed_over_batch(r, case):
    if case.params["reduction"] != "mean" or case.inputs[0].ndim < 2:
        raise ValueError("defined for 'mean' over a batch")
    return call(r, case, reduction="sum")


GAUSSIAN_KL_VARIANTS = (
    Variant("summed over the batch", "sums the KL over the batch where 'mean' averages it (as the PyTorch VAE "
            "example's KLD, a sum): the weight of the KL term then grows with the batch size",
            "average the per-sample KL over the batch (.sum(-1).mean())", _summed_over_batch),
    Variant("logvar read as log sigma", "treats logvar as log σ rather than log σ² (it uses e^{2·logvar} and "
            "2·logvar)", "use -0.5 * (1 + logvar - mu**2 - logvar.exp())",
            lambda r, case: call(r, replace_input(case, 1, 2.0 * np.asarray(case.inputs[1])))),
    scaled("sign flipped", "is the negative of the KL divergence (-½Σ(...) with the sign lost, or +½Σ(1 + logvar - "
           "μ² - e^logvar))", "KL = -0.5 * sum(1 + logvar - mu**2 - exp(logvar))", lambda p: -1.0),
)


# -- GAN and WGAN -------------------------------------------------------------------------------------------

def score_shape(draw, layout):
    """(N,) or (N, 1): discriminator outputs with or without a trailing singleton."""
    n = batch_size(draw, layout)
    return (n,) if draw(st.booleans(), label="trailing 1") else (n, 1)


def draw_real_fake(draw, *, layout, target_format, scale, params):
    shape = score_shape(draw, layout)
    return logits(draw, shape, scale, label="real"), logits(draw, shape, scale, label="fake")


def draw_fake(draw, *, layout, target_format, scale, params):
    return (logits(draw, score_shape(draw, layout), scale, label="fake"),)


EXTREME = np.array([-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4])


def real_fake_edges():
    return [("extreme logits", (EXTREME, EXTREME[::-1].copy())),
            ("extreme logits, equal", (EXTREME, EXTREME.copy()))]


def fake_edges():
    return [("extreme logits", (EXTREME,))]


def _softplus_sum(real_term, fake_term):
    """bce(real, a) + bce(fake, b) as a function of the per-element terms (each a reduce of its own batch)."""
    def compute(r, case):
        real, fake = (np.asarray(a, dtype=np.float64) for a in case.inputs)
        red = case.params["reduction"]
        if red == "none":
            return np.asarray(reduce(real_term(real) + fake_term(fake), "none"))
        return np.asarray(reduce(real_term(real), red) + reduce(fake_term(fake), red))
    return compute


GAN_DISCRIMINATOR_CONVENTIONS = (
    Convention("scale", "sum", {
        "sum": Option("adds the real and fake terms", "Goodfellow et al. 2014, the PyTorch DCGAN tutorial"),
        "half": Option("averages the real and fake terms (a factor ½)", "pix2pix and CycleGAN (loss_D * 0.5)",
                       {"scale": 0.5})}),
)

GAN_DISCRIMINATOR_VARIANTS = (
    Variant("labels swapped", "scores real samples against 0 and fake ones against 1", "real -> ones, fake -> zeros",
            _softplus_sum(lambda x: -log_expit(-x), lambda x: -log_expit(x))),
    Variant("sigmoid applied twice", "applies sigmoid to the logits before BCEWithLogitsLoss (double activation)",
            "pass raw logits (drop the sigmoid), or use BCELoss on probabilities",
            lambda r, case: call(r, case.with_inputs([sigmoid(a) for a in case.inputs]))),
)

GAN_GENERATOR_VARIANTS = (
    Variant("saturating generator loss", "minimises log(1 - D(G(z))) (the saturating minimax form), whose gradient "
            "vanishes when the discriminator wins, instead of the non-saturating -log D(G(z))",
            "use bce_with_logits(fake_logits, ones)",
            lambda r, case: np.asarray(reduce(log_expit(-np.asarray(case.inputs[0])), case.params["reduction"]))),
    Variant("fake labelled 0", "scores the fakes against 0 (the discriminator's target) instead of 1",
            "the generator's target for its fakes is 1",
            lambda r, case: np.asarray(reduce(-log_expit(-np.asarray(case.inputs[0])), case.params["reduction"]))),
    Variant("sigmoid applied twice", "applies sigmoid to the logits before BCEWithLogitsLoss (double activation)",
            "pass raw logits", lambda r, case: call(r, case.with_inputs([sigmoid(case.inputs[0])]))),
)

WASSERSTEIN_VARIANTS = (
    scaled("sign flipped", "returns mean(real) - mean(fake), the quantity the critic maximises, as the loss to "
           "minimise", "critic loss = fake.mean() - real.mean()", lambda p: -1.0),
)


# -- uncertainty weighting ----------------------------------------------------------------------------------

def draw_task_losses(draw, *, layout, target_format, scale, params):
    """(losses >= 0, log_vars) of shape (T,). At the extreme scale log_vars stop at -60: e^60 · 1e4 still fits in
    float32, as the true total then does."""
    t = 1 if layout == "single" else size(draw, "T", 2, 4)
    if scale == "normal":
        return floats(draw, (t,), 10.0, "losses", min_value=0.0), floats(draw, (t,), 3.0, "log_vars")
    return floats(draw, (t,), 1e4, "losses", min_value=0.0), floats(draw, (t,), 1e4, "log_vars", min_value=-60.0)


def task_edges():
    return [("zero losses", (np.zeros(3), np.array([0.0, -5.0, 5.0]))),
            ("extreme log variances", (np.array([1.0, 1e4, 0.0]), np.array([-60.0, 1e4, -60.0])))]


def _uncertainty_terms(weight, regulariser):
    def compute(r, case):
        loss, s = (np.asarray(a, dtype=np.float64) for a in case.inputs)
        with np.errstate(over="ignore", invalid="ignore"):
            values = weight(s) * loss + regulariser(s)
        return np.asarray(reduce(values, case.params["reduction"]))
    return compute


UNCERTAINTY_CONVENTIONS = (
    Convention("form", "simplified", {
        "simplified": Option("computes Σ exp(-s)·L + s with s = log σ²", "most multi-task implementations"),
        "paper": Option("halves both terms, Σ ½exp(-s)·L + ½s (the paper's 1/(2σ²)·L + log σ for regression)",
                        "Kendall et al. 2018, Eq. 7", {"form": "paper"})}),
)

UNCERTAINTY_VARIANTS = (
    Variant("exp(s) for exp(-s)", "weights each task loss by exp(s) instead of the precision exp(-s)",
            "multiply the loss by torch.exp(-log_var)", _uncertainty_terms(np.exp, lambda s: s)),
    Variant("regulariser missing", "leaves out the + s term, so the weights exp(-s) shrink to 0 and every task is "
            "ignored", "add log_var to each weighted loss", _uncertainty_terms(lambda s: np.exp(-s), np.zeros_like)),
)


SPECS = [
    LossSpec(
        id="gaussian_kl", family="generative", summary="KL(N(μ, e^logvar) ‖ N(0, 1)): sum over latents, mean over "
        "the batch", naming=Naming(("kld", "vae", "elbo"), also=("kl", "kullback")), signature=("mu", "logvar"), reference=ref.gaussian_kl, params=(REDUCTION,),
        draw_inputs=draw_latents, layouts=("batch", "single", "no_batch"), grad_args=(0, 1), target_arg=None,
        edge_cases=latent_edges, variants=GAUSSIAN_KL_VARIANTS, conventions=GAUSSIAN_KL_CONVENTIONS),
    LossSpec(
        id="gan_discriminator", family="generative", summary="bce_with_logits(real, 1) + bce_with_logits(fake, 0)",
        naming=Naming(("discriminator", "gan", "adversarial")),
        signature=("real_logits", "fake_logits"), reference=ref.gan_discriminator, params=(REDUCTION,),
        draw_inputs=draw_real_fake, layouts=("batch", "single"), grad_args=(0, 1), target_arg=None,
        edge_cases=real_fake_edges, variants=GAN_DISCRIMINATOR_VARIANTS, conventions=GAN_DISCRIMINATOR_CONVENTIONS),
    LossSpec(
        id="gan_generator", family="generative", summary="non-saturating bce_with_logits(fake, 1) = -log σ(fake)",
        naming=Naming(("generator",), also=("gan", "adversarial")),
        signature=("fake_logits",), reference=ref.gan_generator, params=(REDUCTION,),
        draw_inputs=draw_fake, layouts=("batch", "single"), grad_args=(0,), target_arg=None,
        edge_cases=fake_edges, variants=GAN_GENERATOR_VARIANTS),
    LossSpec(
        id="wasserstein_critic", family="generative", summary="WGAN critic: mean(fake) - mean(real)",
        naming=Naming(("wasserstein", "wgan", "critic")),
        signature=("real_scores", "fake_scores"), reference=ref.wasserstein_critic, params=(REDUCTION,),
        draw_inputs=draw_real_fake, layouts=("batch", "single"), grad_args=(0, 1), target_arg=None,
        edge_cases=real_fake_edges, variants=WASSERSTEIN_VARIANTS),
    LossSpec(
        id="uncertainty_weighting", family="generative", summary="Kendall et al.: Σ exp(-s_i)·L_i + s_i, s = log σ²",
        naming=Naming(("uncertainty", "homoscedastic", "multitask")),
        signature=("losses", "log_vars"), reference=ref.uncertainty_weighting,
        params=(Param("reduction", "sum", values=REDUCTIONS, spellings=REDUCTION_SPELLINGS),),
        draw_inputs=draw_task_losses, layouts=("batch", "single"), grad_args=(0, 1), target_arg=None,
        edge_cases=task_edges, variants=UNCERTAINTY_VARIANTS, conventions=UNCERTAINTY_CONVENTIONS),
]
