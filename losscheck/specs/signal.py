"""Specs for the image and audio reconstruction losses: ssim (1 - SSIM, Gaussian window) and si_sdr (negative
scale-invariant SDR).

Both are metrics that libraries ship in several forms: SSIM as the similarity itself (pytorch-msssim, torchmetrics),
as 1 - SSIM, or as kornia's (1 - SSIM)/2 with reflected borders; SI-SDR negated as a loss (asteroid) or as the
metric (torchmetrics), with or without the zero-mean step. Each form is a convention (a warning naming it); the
classic mistakes (a box window, the constants of another data range, the projection onto the estimate, a natural
log) are variants.
"""
import numpy as np
from hypothesis import strategies as st

from losscheck.diagnosis.conventions import Convention, Option
from losscheck.diagnosis.variants import Variant, scaled, with_params
from losscheck.judge.strategies import batch_size, binary, floats, size
from losscheck.references import signal as ref
from losscheck.references._reduce import reduce
from losscheck.specs.base import LossSpec, Naming, Param
from losscheck.specs.regression import REDUCTION


# -- ssim ---------------------------------------------------------------------------------------------------------
def _span(params) -> float:
    """The pixel range the images are drawn in: the data range the loss is given (1 when it infers it)."""
    return float(params.get("data_range") or 1.0)


def _texture(h, w, a, b):
    """A fixed pattern in [0, 1] with no flat window, ((a·i + b·j) mod 7) / 6."""
    return ((a * np.arange(h)[:, None] + b * np.arange(w)[None, :]) % 7) / 6.0


def draw_images(draw, *, layout, target_format, scale, params):
    """(input, target) images (N, C, H, W) in [0, data_range], N = 2 (1 for a single image), C up to 2, H and W the
    window size or 1 more (small: the gradient check differentiates the reference pixel by pixel). Each is half a
    drawn image and half a fixed texture, so no window is flat: on a flat window the variances E[x²] - μ² are
    float32 rounding (about 1e-7, the window's sum is 1 only to float32's precision) beside C2 = 9e-4, and every
    float32 SSIM, the libraries' included, parts from float64 by about 1e-4 there. The input is the target with
    noise half the time (similar images), else drawn on its own (another texture). At the extreme scale pixels are
    0 or data_range only (saturated images, flat windows included: the stability family's looser tolerance)."""
    k = int(params.get("window_size", 11))
    n = 1 if layout == "single" else size(draw, "N", 2, 2)
    shape = (n, size(draw, "C", 1, 2), size(draw, "H", k, k + 1), size(draw, "W", k, k + 1))
    span = _span(params)

    def image(label, a, b):
        if scale == "extreme":
            return binary(draw, shape, label)
        return 0.5 * floats(draw, shape, 1.0, label, min_value=0.0) + 0.5 * _texture(*shape[2:], a, b)

    target = image("target", 3, 5)
    if draw(st.booleans(), label="similar"):
        noise = floats(draw, shape, 0.25, label="noise")
        return np.clip(target + noise, 0.0, 1.0) * span, target * span
    return image("input", 5, 2) * span, target * span


def ssim_edges():
    """Identical images (a loss of 0), black images (no variance: the constants alone keep the ratio finite, and
    exact in any precision), and an image against its negative (anti-correlated: SSIM below 0)."""
    rng = np.random.default_rng(0)
    image = rng.uniform(0.0, 1.0, (2, 1, 12, 12))
    black = np.zeros_like(image)
    return [("identical images", (image, image.copy())), ("black images", (black, black.copy())),
            ("an image and its negative", (image, 1.0 - image))]


def _wrong_range(params):
    """The data range whose constants a loss written for the other common range uses: 255 for 1, 1 otherwise."""
    return 255.0 if _span(params) <= 1.0 else 1.0


SSIM_VARIANTS = (
    with_params("box window", "averages the local statistics over a uniform (box) window instead of a Gaussian of "
                "σ = 1.5 (Wang et al.: an 11x11 circular-symmetric Gaussian)", "use the normalised Gaussian window "
                "exp(-x²/(2σ²)), σ = 1.5, window_size taps, separable along H and W", gaussian=lambda p: False),
    with_params("constants for the wrong data range", "computes C1 = (K1·L)² and C2 = (K2·L)² for another data range "
                "than the images' (255 for images in [0, 1], or 1 for images in [0, 255])", "pass the images' span as "
                "data_range (1.0 for [0, 1], 255 for 8-bit)", data_range=_wrong_range),
)

SSIM_CONVENTIONS = (
    Convention("padding", "valid", {
        "valid": Option("averages the map over the positions where the window fits inside the image",
                        "Wang et al.'s MATLAB code, pytorch-msssim"),
        "same": Option("pads each border by window_size // 2, reflected, and averages the full-size map",
                       "kornia SSIMLoss (padding='same', its default), torchmetrics", {"padding": "same"})}),
    Convention("form", "one_minus", {
        "one_minus": Option("is 1 - SSIM"),
        "dssim": Option("is the structural dissimilarity clamp((1 - SSIM) / 2, 0, 1), half of 1 - SSIM",
                        "kornia SSIMLoss", {"form": "dssim"}),
        "similarity": Option("returns SSIM itself, the similarity to maximise (train on 1 - it)",
                             "pytorch-msssim ssim/SSIM, torchmetrics structural_similarity_index_measure",
                             {"form": "similarity"})}),
    Convention("nonnegative", "no", {
        "no": Option("keeps negative SSIM (anti-correlated images)"),
        "yes": Option("averages the map per image and channel, then clamps that mean at 0 (relu)",
                      "pytorch-msssim nonnegative_ssim=True", {"nonnegative": True})}),
)

SSIM_PARAMS = {"padding": ("padding", {"valid": "valid", "same": "same", "VALID": "valid", "SAME": "same"}),
               "nonnegative_ssim": ("nonnegative", {True: "yes", False: "no"})}


# -- si_sdr -------------------------------------------------------------------------------------------------------
def draw_signals(draw, *, layout, target_format, scale, params):
    """(estimate, target) signals (N, T), (1, T) or (T,), T from 8 to 24: the estimate is a scaled copy of the
    target plus noise (a partly separated source) half the time, else drawn on its own. A fixed tone is added to the
    target and a fixed interference to the estimate, so neither is silent nor the estimate perfect: there SI-SDR is
    infinite and only eps bounds it (the edge cases try those apart). At the extreme scale both are multiplied by
    1e-3 or 1e3 (quiet and loud recordings)."""
    n = None if layout == "no_batch" else batch_size(draw, layout)
    t = size(draw, "T", 8, 24)
    shape = (t,) if n is None else (n, t)
    time = np.arange(t)
    target = floats(draw, shape, 1.0, label="target") + 0.5 * np.sin(0.9 * time)
    interference = 0.25 * np.cos(2.3 * time + 0.4)
    if draw(st.booleans(), label="related"):
        gain = draw(st.sampled_from([0.5, 1.0, 3.0]), label="gain")
        estimate = gain * target + floats(draw, shape, 0.5, label="noise") + interference
    else:
        estimate = floats(draw, shape, 1.0, label="estimate") + interference
    factor = draw(st.sampled_from([1e-3, 1e3]), label="loudness") if scale == "extreme" else 1.0
    return estimate * factor, target * factor


def si_sdr_edges():
    """A nearly perfect estimate (about 40 dB: the residual's energy still far above eps, whose placement differs
    between libraries), a rescaled one (the same loss: scale invariance), a silent estimate, and an estimate with a
    DC offset (zero-mean removes it)."""
    t = np.sin(np.linspace(0.0, 6.0, 16))[None, :] * np.array([[1.0], [0.3]])
    return [("nearly perfect estimate", (t + 0.01 * np.cos(np.linspace(0.0, 17.0, 16)), t)),
            ("rescaled estimate", (-4.0 * t + 0.1 * t[::-1], t)),
            ("silent estimate", (np.zeros_like(t), t)), ("estimate with an offset", (t + 2.0, t))]


def _projection_reversed(r, case):
    """SI-SDR with the target scaled by ⟨ŝ, s⟩/‖ŝ‖² (the estimate's energy) instead of ⟨ŝ, s⟩/‖s‖²."""
    est, tgt = (np.asarray(a, dtype=np.float64) for a in case.inputs)
    prm = case.params
    if prm.get("zero_mean", True):
        est, tgt = est - est.mean(axis=-1, keepdims=True), tgt - tgt.mean(axis=-1, keepdims=True)
    eps = prm["eps"]
    projection = np.sum(est * tgt, axis=-1, keepdims=True) / (np.sum(est * est, axis=-1, keepdims=True) + eps) * tgt
    with np.errstate(divide="ignore"):
        sdr = 10.0 * np.log10(np.sum(projection ** 2, axis=-1) / (np.sum((est - projection) ** 2, axis=-1) + eps)
                              + eps)
    return np.asarray(reduce(-sdr, prm["reduction"]))


SI_SDR_VARIANTS = (
    Variant("projection reversed", "scales the target by ⟨ŝ, s⟩/‖ŝ‖² (the estimate's energy) instead of ⟨ŝ, s⟩/‖s‖² "
            "(the target's), so the loss changes when the estimate is rescaled: no longer scale invariant",
            "alpha = (est * target).sum(-1, keepdim=True) / (target ** 2).sum(-1, keepdim=True)",
            _projection_reversed),
    scaled("natural log instead of 10·log10", "takes the natural log of the energy ratio instead of 10·log10 (dB): "
           "the loss is ln(10)/10 ≈ 0.23 of SI-SDR in dB", "10 * torch.log10(ratio)", lambda p: np.log(10.0) / 10.0),
)

SI_SDR_CONVENTIONS = (
    Convention("zero_mean", "yes", {
        "yes": Option("removes each signal's mean first (Le Roux et al.)", "asteroid (zero_mean=True)"),
        "no": Option("does not remove the signals' means (an offset counts as distortion)",
                     "torchmetrics scale_invariant_signal_distortion_ratio (zero_mean=False, its default)",
                     {"zero_mean": False})}),
    Convention("output", "loss", {
        "loss": Option("is -SI-SDR, the loss to minimise", "asteroid"),
        "metric": Option("returns SI-SDR in dB, the metric to maximise (train on its negative)",
                         "torchmetrics scale_invariant_signal_distortion_ratio", {"output": "metric"})}),
)


SPECS = [
    LossSpec(
        id="ssim", family="signal", summary="1 - SSIM per pixel (Gaussian window 11, σ 1.5, K1 0.01, K2 0.03, data "
        "range L), mean over pixels, channels and images (Wang et al. 2004)",
        naming=Naming(("ssim", "structural similarity", "dssim"), standalone=("ssim",)),
        signature=("input", "target"), reference=ref.ssim,
        params=(Param("window_size", 11, ("win_size", "kernel_size")), Param("sigma", 1.5, ("win_sigma",)),
                Param("k1", 0.01, ("K1",)), Param("k2", 0.03, ("K2",)),
                Param("data_range", 1.0, ("max_val", "L", "dynamic_range"), (1.0, 255.0)), Param("eps", 0.0),
                REDUCTION),
        draw_inputs=draw_images, layouts=("spatial2d", "single"), edge_cases=ssim_edges, variants=SSIM_VARIANTS,
        conventions=SSIM_CONVENTIONS, convention_params=SSIM_PARAMS),
    LossSpec(
        id="si_sdr", family="signal", summary="-SI-SDR = -10·log10(‖αs‖² / ‖ŝ - αs‖²), α = ⟨ŝ, s⟩/‖s‖², zero-mean "
        "signals, mean over the batch (Le Roux et al. 2019)",
        naming=Naming(("si sdr", "sisdr", "scale invariant sdr", "si snr", "sisnr"), standalone=("si_sdr", "sisdr")),
        signature=("estimate", "target"), reference=ref.si_sdr,
        params=(Param("eps", 1e-8, ("EPS", "epsilon")), REDUCTION),
        draw_inputs=draw_signals, layouts=("batch", "single", "no_batch"), edge_cases=si_sdr_edges,
        variants=SI_SDR_VARIANTS, conventions=SI_SDR_CONVENTIONS,
        convention_params={"zero_mean": ("zero_mean", {True: "yes", False: "no"})}),
]
