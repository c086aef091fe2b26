"""The signal corpus: buggy and correct SSIM and SI-SDR losses, each registered with `@example`
(losscheck/examples/registry.py) with the catalogue id it claims, what its audit must say and the test table that
audits it. A defective loss's docstring says its defect; a correct one's says it is correct. The correct ones are
written in the conventions of the libraries that ship them: pytorch-msssim (valid window, the similarity, optional
relu), kornia SSIMLoss (reflected borders, (1 - SSIM)/2), torchmetrics (reflected borders; SI-SDR without
zero-mean, as the metric), asteroid (negative SI-SDR, zero-mean, EPS = 1e-8).

Ids: ssim, si_sdr.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from losscheck.examples.common import reduce
from losscheck.examples.registry import example


def _window(size, sigma, gaussian=True, dtype=torch.float64):
    """The normalised 1-D window: a Gaussian of `sigma` (or a box) over `size` taps."""
    if not gaussian:
        return torch.full((size,), 1.0 / size, dtype=dtype)
    x = torch.arange(size, dtype=dtype) - size // 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def _blur(x, window, padding):
    """Separable filtering of (N, C, H, W) along H then W, per channel; 'same' reflects the borders first."""
    k, c = window.numel(), x.shape[1]
    if padding == "same":
        x = F.pad(x, (k // 2, k // 2, k // 2, k // 2), mode="reflect")
    w = window.to(x.dtype)
    x = F.conv2d(x, w.view(1, 1, k, 1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, w.view(1, 1, 1, k).repeat(c, 1, 1, 1), groups=c)


def ssim_map(x, y, window_size=11, sigma=1.5, data_range=1.0, k1=0.01, k2=0.03, padding="valid", gaussian=True,
             eps=0.0):
    """The per-pixel SSIM of two (N, C, H, W) image batches (Wang et al. 2004), computed in float32 at least (as
    kornia does: in half precision C1·C2 and the local variances underflow, and flat regions give 0/0)."""
    dtype = x.dtype
    if dtype in (torch.float16, torch.bfloat16):
        return ssim_map(x.float(), y.float(), window_size, sigma, data_range, k1, k2, padding, gaussian, eps).to(dtype)
    window = _window(window_size, sigma, gaussian)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_x, mu_y = _blur(x, window, padding), _blur(y, window, padding)
    var_x = _blur(x * x, window, padding) - mu_x ** 2
    var_y = _blur(y * y, window, padding) - mu_y ** 2
    cov = _blur(x * y, window, padding) - mu_x * mu_y
    return (2 * mu_x * mu_y + c1) * (2 * cov + c2) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2) + eps)


# -- ssim: a defect and a correct twin (tests/test_catalogue.py) -----------------------------------------------------
@example("ssim", suite="catalogue")
class CorrectSSIMLoss(nn.Module):
    """Correct twin (ssim): 1 - SSIM with pytorch-msssim's window (11 taps, σ 1.5, valid), mean over everything."""

    def __init__(self, data_range=1.0, win_size=11, reduction="mean"):
        super().__init__()
        self.data_range, self.win_size, self.reduction = data_range, win_size, reduction

    def forward(self, input, target):
        return reduce(1 - ssim_map(input, target, self.win_size, data_range=self.data_range), self.reduction)


@example("ssim", expect="LC102", variant="box window", twin="CorrectSSIMLoss", suite="catalogue")
class BoxWindowSSIMLoss(CorrectSSIMLoss):
    """Defect: the local statistics averaged over an 11x11 box (avg_pool2d) instead of the Gaussian window."""

    def forward(self, input, target):
        c1, c2 = (0.01 * self.data_range) ** 2, (0.03 * self.data_range) ** 2
        pool = lambda t: F.avg_pool2d(t, self.win_size, stride=1)  # noqa: E731
        mu_x, mu_y = pool(input), pool(target)
        var_x, var_y = pool(input * input) - mu_x ** 2, pool(target * target) - mu_y ** 2
        cov = pool(input * target) - mu_x * mu_y
        s = (2 * mu_x * mu_y + c1) * (2 * cov + c2) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
        return reduce(1 - s, self.reduction)


# -- si_sdr: a defect and a correct twin (tests/test_catalogue.py) ---------------------------------------------------
def _neg_si_sdr(estimate, target, zero_mean=True, eps=1e-8, reversed_projection=False):
    """asteroid's singlesrc_neg_sisdr along the last axis (no reduction), in float32 at least (in half precision
    EPS = 1e-8 is 0 and a silent estimate is 0/0)."""
    dtype = estimate.dtype
    if dtype in (torch.float16, torch.bfloat16):
        return _neg_si_sdr(estimate.float(), target.float(), zero_mean, eps, reversed_projection).to(dtype)
    if zero_mean:
        estimate = estimate - estimate.mean(-1, keepdim=True)
        target = target - target.mean(-1, keepdim=True)
    dot = (estimate * target).sum(-1, keepdim=True)
    energy = ((estimate if reversed_projection else target) ** 2).sum(-1, keepdim=True) + eps
    projection = dot * target / energy
    ratio = (projection ** 2).sum(-1) / ((estimate - projection) ** 2).sum(-1).add(eps)
    return -10 * torch.log10(ratio + eps)


@example("si_sdr", suite="catalogue")
class CorrectSISDRLoss(nn.Module):
    """Correct twin (si_sdr): asteroid's SingleSrcNegSDR('sisdr'): zero-mean, EPS = 1e-8, negated."""

    def __init__(self, zero_mean=True, reduction="mean", EPS=1e-8):
        super().__init__()
        self.zero_mean, self.reduction, self.EPS = zero_mean, reduction, EPS

    def forward(self, est_target, target):
        return reduce(_neg_si_sdr(est_target, target, self.zero_mean, self.EPS), self.reduction)


@example("si_sdr", expect="LC102", variant="projection reversed", twin="CorrectSISDRLoss", suite="catalogue")
class ReversedProjectionSISDRLoss(CorrectSISDRLoss):
    """Defect: the target scaled by ⟨ŝ, s⟩/‖ŝ‖² (the estimate's energy), so the loss is not scale invariant."""

    def forward(self, est_target, target):
        return reduce(_neg_si_sdr(est_target, target, self.zero_mean, self.EPS, reversed_projection=True),
                      self.reduction)


# -- one candidate per known variant and convention option, and a correct twin per id (tests/test_variants.py) -------
@example("ssim", expect={"LC102": "box window"}, gallery=41, suite="wild")
@example("ssim", expect="LC102", variant="box window", suite="variants")
def ssim_box_window(input, target):
    """Defect: a uniform 11-tap window (torchmetrics' gaussian_kernel=False) where SSIM's window is Gaussian."""
    return (1 - ssim_map(input, target, gaussian=False)).mean()


@example("ssim", expect="LC102", variant="constants for the wrong data range", suite="variants")
def ssim_constants_for_255(input, target, data_range=1.0):
    """Defect: C1 and C2 for 8-bit images, (0.01·255)² and (0.03·255)², whatever the data range it is given."""
    return (1 - ssim_map(input, target, data_range=255.0 if data_range <= 1 else 1.0)).mean()


@example("ssim", expect="LC103", variant="padding=same", suite="variants")
def ssim_reflected_borders(input, target):
    """Convention padding=same (kornia, torchmetrics): the borders reflected, the full-size map averaged."""
    return (1 - ssim_map(input, target, padding="same")).mean()


@example("ssim", expect="LC103", variant="form=dssim", suite="variants")
class KorniaStyleSSIMLoss(nn.Module):
    """Convention form=dssim with padding=same declared by its own argument: kornia's SSIMLoss,
    clamp((1 - SSIM)/2, 0, 1) per pixel over reflected borders, with eps = 1e-12 in the denominator."""

    def __init__(self, window_size=11, max_val=1.0, eps=1e-12, reduction="mean", padding="same"):
        super().__init__()
        self.window_size, self.max_val, self.eps = window_size, max_val, eps
        self.reduction, self.padding = reduction, padding

    def forward(self, img1, img2):
        s = ssim_map(img1, img2, self.window_size, data_range=self.max_val, padding=self.padding, eps=self.eps)
        return reduce(torch.clamp((1 - s) / 2, 0, 1), self.reduction)


@example("ssim", expect="LC103", variant="form=similarity", suite="variants")
def msssim_style_ssim(X, Y, data_range=255, win_size=11, win_sigma=1.5, nonnegative_ssim=False):
    """Convention form=similarity: pytorch-msssim's ssim(), SSIM itself (the metric), mean over images and
    channels, relu per channel with nonnegative_ssim (its own switch declares that convention)."""
    per_channel = ssim_map(X, Y, win_size, win_sigma, data_range=data_range).flatten(2).mean(-1)
    return (torch.relu(per_channel) if nonnegative_ssim else per_channel).mean()


@example("ssim", expect="LC103", variant="nonnegative=yes", suite="variants")
def ssim_relu_per_channel(input, target):
    """Convention nonnegative=yes: 1 - relu(mean SSIM per image and channel), as pytorch-msssim's
    nonnegative_ssim=True (a loss of at most 1)."""
    return (1 - torch.relu(ssim_map(input, target).flatten(2).mean(-1))).mean()


@example("ssim", suite="variants")
def ssim_loss(input, target, data_range=1.0):
    """Correct twin (ssim): 1 - SSIM, Gaussian window 11/1.5, valid, mean over every pixel."""
    return (1 - ssim_map(input, target, data_range=data_range)).mean()


@example("si_sdr", expect={"LC102": "projection reversed"}, gallery=42, suite="wild")
@example("si_sdr", expect="LC102", variant="projection reversed", suite="variants")
def si_sdr_projected_on_estimate(estimate, target):
    """Defect: α = ⟨ŝ, s⟩/‖ŝ‖² (the estimate's energy) where SI-SDR divides by the target's."""
    return _neg_si_sdr(estimate, target, reversed_projection=True).mean()


@example("si_sdr", expect="LC102", variant="natural log instead of 10·log10", suite="variants")
def si_sdr_natural_log(estimate, target):
    """Defect: -log(ratio) (natural log) where SI-SDR is 10·log10(ratio) dB."""
    return (_neg_si_sdr(estimate, target) * math.log(10) / 10).mean()


@example("si_sdr", expect="LC103", variant="zero_mean=no", suite="variants")
def si_sdr_without_zero_mean(estimate, target):
    """Convention zero_mean=no (torchmetrics' default): the signals' means are kept."""
    return _neg_si_sdr(estimate, target, zero_mean=False).mean()


@example("si_sdr", expect="LC103", variant="output=metric", suite="variants")
def torchmetrics_style_si_sdr(preds, target, zero_mean=True):
    """Convention output=metric: SI-SDR in dB (torchmetrics' scale_invariant_signal_distortion_ratio, here with
    zero_mean=True), averaged over the batch: the metric to maximise, not the loss."""
    return (-_neg_si_sdr(preds, target, zero_mean)).mean()


@example("si_sdr", suite="variants")
def neg_si_sdr(estimate, target):
    """Correct twin (si_sdr): -SI-SDR, zero-mean, mean over the batch."""
    return _neg_si_sdr(estimate, target).mean()
