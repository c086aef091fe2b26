"""The regression corpus: buggy and correct losses for the regression ids, each registered with `@example`
(losscheck/examples/registry.py) with the catalogue id it claims, what its audit must say and the test table
that audits it. A defective loss's docstring says its defect; a correct one's says it is correct.

Ids: mse, huber, log_cosh, poisson_nll, gaussian_nll, asymmetric_mse, smooth_l1, l1.
"""
from __future__ import annotations

import math
import os

import torch
import torch.nn.functional as F
from torch import nn

from losscheck.examples.common import reduce, reduce_loose, same_shape
from losscheck.examples.registry import example

LOG2 = math.log(2.0)


def _upcast(x):
    """Half-precision inputs computed in float32 (eps of 1e-8 does not exist in float16)."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _per_element_var(var, input):
    return var.unsqueeze(-1) if var.dim() == input.dim() - 1 else var


# -- the pitfall fixtures: one defect per pitfall code, and correct twins (tests/test_checks.py) ---------------------
@example("mse", suite="pitfalls")
class CorrectMSE(nn.Module):
    """Correct twin (mse): squared error, every reduction, refuses mismatched shapes."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        same_shape(input, target)
        return reduce((input - target) ** 2, self.reduction)


@example("huber", suite="pitfalls")
class CorrectHuber(nn.Module):
    """Correct twin (huber): 0.5·d² inside δ, δ·(|d| - δ/2) outside."""

    def __init__(self, delta: float = 1.0, reduction: str = "mean"):
        super().__init__()
        self.delta, self.reduction = delta, reduction

    def forward(self, input, target):
        same_shape(input, target)
        ad = (input - target).abs()
        values = torch.where(ad < self.delta, 0.5 * ad ** 2, self.delta * (ad - 0.5 * self.delta))
        return reduce(values, self.reduction)


@example("log_cosh", suite="pitfalls")
class CorrectLogCosh(nn.Module):
    """Correct twin (log_cosh): log cosh d = |d| + softplus(-2|d|) - log 2 (no overflow)."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        same_shape(input, target)
        a = (input - target).abs()
        return reduce(a + F.softplus(-2.0 * a) - LOG2, self.reduction)


@example("huber", expect="LC101", twin="CorrectHuber", suite="pitfalls")
class HuberMissingHalf(nn.Module):
    """LC101: Huber loss whose linear branch is δ·(|d| - δ) instead of δ·(|d| - δ/2) (the ½ dropped while
    copying the formula): too small, and discontinuous, for every |d| > δ."""

    def __init__(self, delta: float = 1.0, reduction: str = "mean"):
        super().__init__()
        self.delta, self.reduction = delta, reduction

    def forward(self, input, target):
        same_shape(input, target)
        ad = (input - target).abs()
        values = torch.where(ad <= self.delta, 0.5 * ad ** 2, self.delta * (ad - self.delta))
        return reduce(values, self.reduction)


@example("huber", expect="LC102", twin="CorrectHuber", suite="pitfalls")
class HuberAsSmoothL1(nn.Module):
    """LC102 (diagnosed LC101): Huber loss written as SmoothL1 - `0.5·d²/δ` inside and `|d| - δ/2` outside - which is
    Huber divided by δ; the two agree only at δ = 1 (so its default is 2: at δ = 1 the defect shows only when the
    user changes δ, a warning, see HuberAsSmoothL1AtOne)."""

    def __init__(self, delta: float = 2.0, reduction: str = "mean"):
        super().__init__()
        self.delta, self.reduction = delta, reduction

    def forward(self, input, target):
        ad = (input - target).abs()
        values = torch.where(ad < self.delta, 0.5 * ad ** 2 / self.delta, ad - 0.5 * self.delta)
        return reduce(values, self.reduction)


@example("log_cosh", expect="LC201", twin="CorrectLogCosh", suite="pitfalls")
class DirectLogCosh(nn.Module):
    """LC201: log(cosh(d)) written directly: cosh overflows to inf for |d| > ~89 in float32."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return reduce(torch.log(torch.cosh(input - target)), self.reduction)


@example("mse", expect="LC301", twin="CorrectMSE", suite="pitfalls")
class DetachedMSE(nn.Module):
    """LC301: the prediction is detached ("we only want the number") so no gradient reaches the model."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        same_shape(input, target)
        d = input.detach() - target
        return reduce(d ** 2, self.reduction)


@example("mse", expect="LC401", twin="CorrectMSE", suite="pitfalls")
class MSEIgnoresReduction(nn.Module):
    """LC401: takes a `reduction` argument (for API compatibility) but always returns the mean."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        same_shape(input, target)
        return ((input - target) ** 2).mean()


@example("mse", expect="LC402", twin="CorrectMSE", suite="pitfalls")
class MSEBatchDenominator(nn.Module):
    """LC402: 'mean' divides the sum by the batch size (input.shape[0]) instead of the number of elements;
    'none' and 'sum' are right."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        same_shape(input, target)
        values = (input - target) ** 2
        if self.reduction == "mean":
            return values.sum() / input.shape[0]
        return reduce(values, self.reduction)


@example("mse", expect="LC403", twin="CorrectMSE", suite="pitfalls")
class MSEBatchMeanNone(nn.Module):
    """LC403: reduction='none' averages over the batch (one value per feature) instead of giving one per element:
    no caller can weight or mask its samples. (One value per sample, or the terms flattened, are forms real libraries
    use: losscheck.judge.none_forms names those with a warning.)"""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        same_shape(input, target)
        values = (input - target) ** 2
        if self.reduction == "none":
            return values.mean(dim=0) if values.dim() > 1 else values
        return reduce(values, self.reduction)


@example("mse", expect="LC405", twin="CorrectMSE", suite="pitfalls")
class SumOverBatchMSE(nn.Module):
    """LC405: a VAE-style reconstruction term summed over the batch (mean over features): its scale grows
    with the batch size. No reduction argument."""

    def forward(self, input, target):
        same_shape(input, target)
        return ((input - target) ** 2).sum(dim=0).mean()


@example("mse", expect="LC501", twin="CorrectMSE", suite="pitfalls")
def naive_mse(input, target):
    """LC501: MSE with no shape check: an (N, 1) prediction against an (N,) target broadcasts to (N, N)."""
    return ((input - target) ** 2).mean()


@example("mse", expect="LC602", needs="cuda", suite="pitfalls")
class HalfOnGPUMSE(nn.Module):
    """LC602: takes a float16 "fast path" when the input is on a GPU, so the GPU value differs from the CPU one."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        same_shape(input, target)
        d = input - target
        if d.is_cuda:
            d = d.half()
        return reduce((d ** 2).to(input.dtype), self.reduction)


@example("mse", expect="LC603", twin="CorrectMSE", suite="pitfalls")
class Float64MSE(nn.Module):
    """LC603: computes in float64 "for precision" and forgets to cast back: float32 in, float64 out."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        same_shape(input, target)
        d = input.double() - target.double()
        return reduce(d ** 2, self.reduction)


@example("mse", expect="LC605", twin="CorrectMSE", suite="pitfalls")
class FlatViewMSE(nn.Module):
    """LC605: flattens with .view(-1): raises on inputs whose memory is not laid out row-major
    (channels-last, transposed), although the loss only needs the elements."""

    def forward(self, input, target):
        same_shape(input, target)
        return F.mse_loss(input.view(-1), target.view(-1))


@example("mse", expect="LC702", twin="CorrectMSE", suite="pitfalls")
class NoisyTargetMSE(nn.Module):
    """LC702: "label-noise regularisation" inside the loss: adds fresh Gaussian noise to the target on every
    call, so two calls on the same batch give different losses (and gradients)."""

    def __init__(self, noise: float = 0.1, reduction: str = "mean"):
        super().__init__()
        self.noise, self.reduction = noise, reduction

    def forward(self, input, target):
        same_shape(input, target)
        noisy = target + self.noise * torch.randn_like(target)
        return reduce((input - noisy) ** 2, self.reduction)


@example("mse", expect="LC703", twin="CorrectMSE", suite="pitfalls")
class SmoothedMSE(nn.Module):
    """LC703: returns an exponential moving average of the loss (meant for logging) instead of the loss:
    the first call is right, later ones depend on earlier batches."""

    def __init__(self, momentum: float = 0.9):
        super().__init__()
        self.momentum = momentum
        self.running = None

    def forward(self, input, target):
        same_shape(input, target)
        loss = ((input - target) ** 2).mean()
        if self.running is None:
            self.running = loss
        else:
            self.running = self.momentum * self.running.detach() + (1 - self.momentum) * loss
        return self.running


@example("mse", expect="LC704", twin="CorrectMSE", suite="pitfalls")
class MSEShape1(nn.Module):
    """LC704: reshapes the reduced loss to (1,) "so DataParallel can gather it": not a 0-d tensor."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        same_shape(input, target)
        out = reduce((input - target) ** 2, self.reduction)
        return out if self.reduction == "none" else out.reshape(1)


@example("mse", expect="LC706", twin="CorrectMSE", suite="pitfalls")
class ConvergingMSE(nn.Module):
    """LC706: iterates a reweighting "until convergence" with a tolerance it can never reach: never returns."""

    def __init__(self, tol: float = 0.0):
        super().__init__()
        self.tol = tol

    def forward(self, input, target):
        same_shape(input, target)
        w, change = 1.0, float("inf")
        while change > self.tol:  # change is never below 0
            new_w = 0.5 * (w + 1.0)
            change, w = abs(new_w - w) + 1e-3, new_w
        return w * ((input - target) ** 2).mean()


@example("log_cosh", expect="LC706", twin="CorrectLogCosh", suite="pitfalls")
class AbortOnNaNLogCosh(nn.Module):
    """LC706: naive log(cosh(d)) with a "fail fast" guard that calls os._exit(3) when the loss is not finite:
    at large errors it kills the whole training process."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        loss = reduce(torch.log(torch.cosh(input - target)), self.reduction)
        if not bool(torch.isfinite(loss).all()):
            os._exit(3)
        return loss


@example("mse", expect="LC706", twin="CorrectMSE", suite="pitfalls")
def always_exit_mse(input, target):
    """LC706: calls os._exit(3) on every call (a worker that exits its process)."""
    os._exit(3)


@example("mse", expect="LC707", twin="CorrectMSE", suite="pitfalls")
class MSEItem(nn.Module):
    """LC707: returns loss.item() (a Python float) "for logging"."""

    def forward(self, input, target):
        same_shape(input, target)
        return ((input - target) ** 2).mean().item()


# -- the catalogue's ids beyond the first twelve: a defect and a correct twin each (tests/test_catalogue.py) ---------
@example("poisson_nll", suite="catalogue")
class CorrectPoissonNLL(nn.Module):
    """Correct twin (poisson_nll)."""

    def __init__(self, log_input=True, full=False, eps=1e-8, reduction="mean"):
        super().__init__()
        self.log_input, self.full, self.eps, self.reduction = log_input, full, eps, reduction

    def forward(self, input, target):
        x, y = _upcast(input), _upcast(target)
        loss = torch.exp(x) - y * x if self.log_input else x - y * torch.log(x + self.eps)
        if self.full:
            big = y > 1
            safe = torch.where(big, y, torch.full_like(y, 2.0))
            loss = loss + torch.where(big, safe * torch.log(safe) - safe + 0.5 * torch.log(2 * math.pi * safe), 0.0)
        return reduce_loose(loss, self.reduction).to(input.dtype)


@example("poisson_nll", expect="LC101", twin="CorrectPoissonNLL", suite="catalogue")
class PoissonNLLIgnoresFull(CorrectPoissonNLL):
    """Defect: `full` is accepted but the Stirling term is never added."""

    def forward(self, input, target):
        x, y = _upcast(input), _upcast(target)
        loss = torch.exp(x) - y * x if self.log_input else x - y * torch.log(x + self.eps)
        return reduce_loose(loss, self.reduction).to(input.dtype)


@example("gaussian_nll", suite="catalogue")
class CorrectGaussianNLL(nn.Module):
    """Correct twin (gaussian_nll)."""

    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__()
        self.full, self.eps, self.reduction = full, eps, reduction

    def variance(self, var):
        return var

    def forward(self, input, target, var):
        var = self.variance(var)
        if var.shape != input.shape and var.shape == input.shape[:-1]:
            var = var.unsqueeze(-1)
        var = var + (var.clamp(min=self.eps) - var).detach()  # clamp without gradient, as torch
        loss = 0.5 * (torch.log(var) + (input - target) ** 2 / var)
        if self.full:
            loss = loss + 0.5 * math.log(2 * math.pi)
        return reduce_loose(loss, self.reduction)


@example("gaussian_nll", expect="LC102", variant="standard deviation for var", twin="CorrectGaussianNLL",
         suite="catalogue")
class GaussianNLLStdForVar(CorrectGaussianNLL):
    """Defect: reads `var` as the standard deviation."""

    def variance(self, var):
        return var ** 2


@example("asymmetric_mse", suite="catalogue")
def correct_asymmetric_mse(input, target, over_penalty=2.0, reduction="mean"):
    """Correct twin (asymmetric_mse)."""
    d = input - target
    return reduce_loose(torch.where(d > 0, over_penalty, 1.0) * d * d, reduction)


@example("asymmetric_mse", expect="LC102", variant="penalises under-prediction", twin="correct_asymmetric_mse",
         suite="catalogue")
def asymmetric_mse_under(input, target, over_penalty=2.0, reduction="mean"):
    """Defect: penalises under-prediction (d < 0) instead of over-prediction."""
    d = input - target
    return reduce_loose(torch.where(d < 0, over_penalty, 1.0) * d * d, reduction)


# -- one candidate per known variant and convention option, and a correct twin per id (tests/test_variants.py) -------
@example("smooth_l1", expect="LC102", variant="Huber for SmoothL1", suite="variants")
class HuberFormulaSmoothL1(nn.Module):
    """SmoothL1 written with the Huber formula (0.5·d² inside beta, beta·(|d| - beta/2) outside): beta times too
    large."""

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = beta

    def forward(self, input, target):
        d = (input - target).abs()
        return torch.where(d <= self.beta, 0.5 * d ** 2, self.beta * (d - 0.5 * self.beta)).mean()


@example("smooth_l1", suite="variants")
class CorrectSmoothL1(nn.Module):
    """Correct twin (smooth_l1)."""

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, beta=self.beta)


@example("gaussian_nll", expect="LC102", variant="standard deviation for var", suite="variants")
def gaussian_nll_given_std(input, target, std):
    """Passes the standard deviation the network predicts where GaussianNLLLoss takes the variance (squared)."""
    return F.gaussian_nll_loss(input, target, std ** 2)


@example("gaussian_nll", expect="LC102", variant="log var missing", suite="variants")
def gaussian_nll_without_log_var(input, target, var):
    """Only the data term d²/(2·var): the 0.5·log(var) term is left out."""
    var = _per_element_var(var, input).clamp_min(1e-6)
    return (0.5 * (input - target) ** 2 / var).mean()


@example("gaussian_nll", expect="LC102", variant="missing factor ½", suite="common")
def gaussian_nll_without_half(input, target, var):
    """log(var) + d²/var: the ½ of the negative log-likelihood is dropped (COMMON: missing factor ½)."""
    var = _per_element_var(var, input).clamp_min(1e-6)
    return (torch.log(var) + (input - target) ** 2 / var).mean()


@example("gaussian_nll", suite="variants")
def correct_gaussian_nll(input, target, var):
    """Correct twin (gaussian_nll)."""
    return F.gaussian_nll_loss(input, target, var)


@example("asymmetric_mse", expect="LC102", variant="penalises under-prediction", suite="variants")
class UnderPenaltyMSE(nn.Module):
    """Asymmetric MSE that weights the squared error where input < target (the sign of d the wrong way)."""

    def __init__(self, over_penalty=2.0):
        super().__init__()
        self.over_penalty = over_penalty

    def forward(self, input, target):
        d = input - target
        w = 1.0 + (self.over_penalty - 1.0) * (d < 0).to(d.dtype)
        return (w * d ** 2).mean()


@example("asymmetric_mse", suite="variants")
class CorrectAsymmetricMSE(nn.Module):
    """Correct twin (asymmetric_mse)."""

    def __init__(self, over_penalty=2.0):
        super().__init__()
        self.over_penalty = over_penalty

    def forward(self, input, target):
        d = input - target
        w = 1.0 + (self.over_penalty - 1.0) * (d > 0).to(d.dtype)
        return (w * d ** 2).mean()


@example("l1", expect="LC102", variant="sum instead of mean", suite="common")
def summed_l1(input, target):
    """L1 with .sum() where the mean is meant (COMMON: sum instead of mean)."""
    return (input - target).abs().sum()


@example("l1", suite="variants")
def correct_l1(input, target):
    """Correct twin (l1)."""
    return (input - target).abs().mean()


@example("mse", expect="LC102", variant="mean over the batch only", suite="common")
def batch_only_mse(input, target):
    """Sums the squared errors and divides by the batch size only (COMMON: mean over the batch only)."""
    return ((input - target) ** 2).sum() / input.shape[0]


@example("mse", expect="LC102", variant="extra factor ½", suite="common")
def half_mse(input, target):
    """0.5 * MSE, the factor of ½·d² copied into a loss that has none (COMMON: extra factor ½)."""
    return 0.5 * ((input - target) ** 2).mean()


@example("mse", suite="variants")
def correct_mse(input, target):
    """Correct twin (mse)."""
    return ((input - target) ** 2).mean()


# -- the mistakes seen in the wild: the reports/ gallery's examples (tests/test_wild.py) -----------------------------
@example("huber", expect="LC102", variant="SmoothL1 for Huber", suite="variants")
@example("huber", expect={"LC102": "smoothl1 for huber"}, gallery=4, suite="wild")
class SmoothL1AsHuber(nn.Module):
    """Huber loss written as SmoothL1Loss(beta=delta): off by a factor delta whenever delta != 1."""

    def __init__(self, delta=2.0):
        super().__init__()
        self.delta = delta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, beta=self.delta)


@example("log_cosh", expect={"LC201": "not finite"}, gallery=5, suite="wild")
class NaiveLogCosh(nn.Module):
    """log(cosh(d)) written directly: cosh overflows for |d| > 89 in float32."""

    def forward(self, input, target):
        return torch.log(torch.cosh(input - target)).mean()


@example("mse", expect={"LC405": "batch size"}, gallery=14, suite="wild")
class BatchSummedMSE(nn.Module):
    """A loss summed over the batch (as VAE losses often are): its scale grows with the batch size."""

    def forward(self, input, target):
        return (input - target).pow(2).mean(tuple(range(1, input.dim()))).sum()


@example("mse", expect={"LC301": "gradient is exactly zero"}, gallery=15, suite="wild")
class ZeroWeightCurriculumMSE(nn.Module):
    """A curriculum-weighted loss whose weights are all zero in the first epoch: no gradient at all."""

    def __init__(self, epoch=0):
        super().__init__()
        self.epoch = epoch

    def forward(self, input, target):
        weight = min(self.epoch / 10.0, 1.0)
        return weight * (input - target).pow(2).mean()


# -- the correct twins of the mistakes seen in the wild (tests/test_wild.py) -----------------------------------------
@example("huber", suite="variants")
@example("huber", suite="wild")
class Huber(torch.nn.Module):
    """Correct twin (huber): torch's huber_loss with delta=2."""

    def __init__(self, delta=2.0):
        super().__init__()
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, delta=self.delta)


@example("log_cosh", suite="wild")
class StableLogCosh(torch.nn.Module):
    """Correct twin (log_cosh): |d| + log1p(exp(-2|d|)) - log 2, finite for every d."""

    def forward(self, input, target):
        d = (input - target).abs()
        return (d + torch.log1p(torch.exp(-2 * d)) - torch.log(torch.tensor(2.0, dtype=d.dtype))).mean()


# -- a defect that shows only at a parameter value the user did not set (tests/test_forms.py) -----------------------
@example("huber", expect={"LC102": "smoothl1 for huber"}, suite="forms")
class HuberAsSmoothL1AtOne(HuberAsSmoothL1):
    """LC102 as a warning (explored values only): Huber written as SmoothL1, at its default δ = 1 where the two
    agree; the audit's other values of δ show that δ means something else than Huber's δ."""

    def __init__(self, delta: float = 1.0, reduction: str = "mean"):
        super().__init__(delta, reduction)


@example("smooth_l1", expect="LC103", variant="params=beta=0.5*beta", suite="forms")
class SmoothL1BandWidth(nn.Module):
    """Correct (a multiple): SmoothL1 whose `beta` is documented as the full width of the quadratic band
    (|d| < beta/2), so it is the catalogue's smooth_l1 with β = beta/2: 0.5d²/(β) inside, |d| - 0.5β outside."""

    def __init__(self, beta: float = 1.0, reduction: str = "mean"):
        super().__init__()
        self.beta, self.reduction = beta, reduction

    def forward(self, input, target):
        half = self.beta / 2
        d = (input - target).abs()
        if half == 0:
            return reduce(d, self.reduction)
        return reduce(torch.where(d < half, 0.5 * d * d / half, self.outside(d, half)), self.reduction)

    def outside(self, d, half):
        return d - 0.5 * half


@example("smooth_l1", expect="LC101", suite="forms")
class SmoothL1BandWidthOffset(SmoothL1BandWidth):
    """LC101 (a multiple): its linear branch is |d| - β where it should be |d| - 0.5β, so the loss jumps at the
    band's edge."""

    def outside(self, d, half):
        return d - half


# -- the low-precision fixtures (issue 24): right in float32, wrong as fp16 autocast runs them -----------------------
@example("mse", expect={"LC801": "sum in float32"}, gallery=33, suite="wild")
@example("mse", expect="LC801", twin="CorrectMSE", suite="pitfalls")
class HalfSumSquares(nn.Module):
    """LC801: mean squared error as a sum of squares in the input's dtype divided by the count: over a large
    tensor the fp16 sum passes 65,504 and is inf, although the mean is small."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        d = input - target.to(input.dtype)
        squares = d * d
        if self.reduction == "none":
            return squares
        total = squares.sum()
        return total / squares.numel() if self.reduction == "mean" else total


# -- the compile fixtures (issue 24): right eagerly, wrong or degraded under torch.compile -----------------------------
class _HalfGradSquare(torch.autograd.Function):
    """d² with a hand-written backward that forgets the factor 2 of d(d²)/dd = 2d."""

    @staticmethod
    def forward(ctx, d):
        ctx.save_for_backward(d)
        return d * d

    @staticmethod
    def backward(ctx, grad):
        (d,) = ctx.saved_tensors
        return grad * d


@example("mse", expect={"LC902": "under torch.compile"}, gallery=34, suite="wild")
@example("mse", expect={"LC902": "gradient"}, twin="CorrectMSE", suite="pitfalls")
class CompilePathMSE(nn.Module):
    """LC902: mean squared error with a second code path for torch.compile (chosen by
    torch.compiler.is_compiling(), as libraries pick a fused kernel there), whose hand-written backward forgets
    the factor 2: the value agrees everywhere, the compiled gradient is half the eager one."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        same_shape(input, target)
        d = input - target
        squares = _HalfGradSquare.apply(d) if torch.compiler.is_compiling() else d * d
        return reduce(squares, self.reduction)


@example("mse", expect={"LC904": "item"}, twin="CorrectMSE", suite="pitfalls")
class LoggingMSE(nn.Module):
    """LC904 (info): mean squared error that keeps the last value for logging with `.item()`: right, but dynamo
    breaks the graph there on every call (a host sync and a second graph per training step)."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction, self.last = reduction, None

    def forward(self, input, target):
        same_shape(input, target)
        loss = reduce((input - target) ** 2, self.reduction)
        self.last = loss.detach().sum().item()
        return loss


@example("mse", expect={"LC903": "recompile limit"}, gallery=35, suite="wild")
@example("mse", expect={"LC903": "recompile"}, twin="CorrectMSE", suite="pitfalls")
class CallCountingMSE(nn.Module):
    """LC903: mean squared error that counts its calls to keep every 100th value: right eagerly, but dynamo treats
    an integer attribute of a module as a constant, so every call recompiles, and after 8 recompiles torch.compile
    gives up and runs the loss eagerly for the rest of training."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction, self.calls, self.kept = reduction, 0, []

    def forward(self, input, target):
        same_shape(input, target)
        self.calls += 1
        loss = reduce((input - target) ** 2, self.reduction)
        if self.calls % 100 == 0:
            self.kept = [loss.detach()]
        return loss
