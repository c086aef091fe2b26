"""Float64 references for the regression losses: mse, l1, smooth_l1, huber, log_cosh,
poisson_nll, gaussian_nll and asymmetric_mse.

All are elementwise (in ``d = input - target`` where that applies) with NumPy broadcasting;
``reduction="none"`` returns the broadcast shape. NumPy/SciPy only: this module never imports
torch.
"""

from __future__ import annotations

import numpy as np

from ._reduce import check_reduction, reduce

__all__ = [
    "mse", "l1", "smooth_l1", "huber", "log_cosh", "poisson_nll", "gaussian_nll", "asymmetric_mse",
]

_LOG2 = np.log(2.0)
_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


def _difference(input, target):
    return np.asarray(input, dtype=np.float64) - np.asarray(target, dtype=np.float64)


def mse(input, target, *, reduction="mean"):
    """Mean squared error: ``loss = d**2`` with ``d = input - target``.

    Shapes: any; input and target broadcast (an (N,1) input against an (N,) target broadcasts
    to (N,N), as in torch, which only warns). 'none' returns the broadcast shape.

    Source: PyTorch ``torch.nn.MSELoss`` / ``torch.nn.functional.mse_loss``
    (https://pytorch.org/docs/stable/generated/torch.nn.MSELoss.html).
    """
    check_reduction(reduction)
    d = _difference(input, target)
    return reduce(d * d, reduction)


def l1(input, target, *, reduction="mean"):
    """Mean absolute error: ``loss = |d|`` with ``d = input - target``.

    Shapes: any; input and target broadcast. 'none' returns the broadcast shape.

    Source: PyTorch ``torch.nn.L1Loss`` / ``torch.nn.functional.l1_loss``
    (https://pytorch.org/docs/stable/generated/torch.nn.L1Loss.html).
    """
    check_reduction(reduction)
    return reduce(np.abs(_difference(input, target)), reduction)


def smooth_l1(input, target, *, beta=1.0, reduction="mean"):
    """Smooth L1: ``0.5 * d**2 / beta`` if ``|d| < beta`` else ``|d| - 0.5 * beta``.

    ``beta == 0`` is exactly L1 (torch's special case); a negative beta raises ValueError.
    Shapes: any; input and target broadcast. 'none' returns the broadcast shape.

    Source: PyTorch ``torch.nn.SmoothL1Loss`` (Girshick, Fast R-CNN, 2015)
    (https://pytorch.org/docs/stable/generated/torch.nn.SmoothL1Loss.html).
    """
    check_reduction(reduction)
    beta = float(beta)
    if not beta >= 0.0:
        raise ValueError(f"smooth_l1 needs beta >= 0; got beta={beta!r}")
    ad = np.abs(_difference(input, target))
    if beta == 0.0:
        return reduce(ad, reduction)
    values = np.where(ad < beta, 0.5 * ad * ad / beta, ad - 0.5 * beta)
    return reduce(values, reduction)


def huber(input, target, *, delta=1.0, reduction="mean"):
    """Huber loss: ``0.5 * d**2`` if ``|d| <= delta`` else ``delta * (|d| - 0.5 * delta)``.

    ``huber(delta) == delta * smooth_l1(beta=delta)``. A non-positive delta raises ValueError
    (as torch does). Shapes: any; input and target broadcast. 'none' returns the broadcast shape.

    Source: PyTorch ``torch.nn.HuberLoss`` (Huber, 1964)
    (https://pytorch.org/docs/stable/generated/torch.nn.HuberLoss.html).
    """
    check_reduction(reduction)
    delta = float(delta)
    if not delta > 0.0:
        raise ValueError(f"huber needs delta > 0; got delta={delta!r}")
    ad = np.abs(_difference(input, target))
    values = np.where(ad < delta, 0.5 * ad * ad, delta * (ad - 0.5 * delta))
    return reduce(values, reduction)


def log_cosh(input, target, *, reduction="mean"):
    """Log-cosh loss: ``log(cosh(d))``, computed stably.

    ``log cosh d = |d| + log1p(exp(-2|d|)) - log 2`` for ``|d| >= 1`` (no overflow, unlike the
    naive ``log(cosh(d))``, which overflows at |d| ~ 710 in float64 and ~ 89 in float32), and
    ``log1p(2 * sinh(|d|/2)**2)`` (the same value, since ``cosh d - 1 = 2 sinh^2(d/2)``) for
    ``|d| < 1``, which keeps full relative precision as d -> 0 where the first form cancels.
    Shapes: any; input and target broadcast. 'none' returns the broadcast shape.

    Source: no PyTorch built-in; the log-cosh loss as in e.g. TensorFlow/Keras
    ``tf.keras.losses.LogCosh`` (https://www.tensorflow.org/api_docs/python/tf/keras/losses/LogCosh).
    """
    check_reduction(reduction)
    a = np.abs(_difference(input, target))
    small = np.log1p(2.0 * np.sinh(0.5 * np.minimum(a, 1.0)) ** 2)
    large = a + np.log1p(np.exp(-2.0 * a)) - _LOG2
    return reduce(np.where(a < 1.0, small, large), reduction)


def poisson_nll(input, target, *, log_input=True, full=False, eps=1e-8, reduction="mean"):
    """Poisson negative log-likelihood (without the constant log(y!) unless ``full``).

    ``log_input=True``: input is the log-rate x, ``loss = exp(x) - y * x``;
    ``log_input=False``: input is the rate x, ``loss = x - y * log(x + eps)``.
    ``full`` adds Stirling's approximation of ``log(y!)``,
    ``y * log(y) - y + 0.5 * log(2π y)``, only where ``y > 1`` (0 elsewhere), as torch does.
    The products are taken as written, as in torch: ``y = 0`` at ``log(x + eps) = -inf`` gives nan
    (only possible with ``eps = 0``); ``x + eps < 0`` gives nan; ``exp(x)`` overflows to inf for
    x > 709.

    Shapes: any; input and target broadcast. 'none' returns the broadcast shape.

    Source: PyTorch ``torch.nn.PoissonNLLLoss`` / ``torch.nn.functional.poisson_nll_loss``
    (https://pytorch.org/docs/stable/generated/torch.nn.PoissonNLLLoss.html; aten
    ``poisson_nll_loss`` in aten/src/ATen/native/Loss.cpp).
    """
    check_reduction(reduction)
    x = np.asarray(input, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if log_input:
            values = np.exp(x) - y * x
        else:
            values = x - y * np.log(x + float(eps))
        if full:
            big = y > 1.0
            safe_y = np.where(big, y, 2.0)
            stirling = safe_y * np.log(safe_y) - safe_y + 0.5 * np.log(2.0 * np.pi * safe_y)
            values = values + np.where(big, stirling, 0.0)
    return reduce(values, reduction)


def _gaussian_var(var, input_shape):
    """torch's gaussian_nll_loss shape rules for ``var``; returns var broadcastable to input."""
    v = np.asarray(var, dtype=np.float64)
    if np.ndim(var) == 0 and not isinstance(var, np.ndarray):  # a Python number: one variance
        return np.broadcast_to(v, input_shape)
    if v.shape == input_shape:
        return v
    if input_shape[:-1] == v.shape:  # one dimension short: homoscedastic over the last dim
        return v[..., None]
    mismatched = [vs for xs, vs in zip(input_shape, v.shape) if xs != vs]
    if v.ndim == len(input_shape) and sum(mismatched) == 1:  # one dimension of size 1
        return v
    raise ValueError(
        f"gaussian_nll: var of shape {v.shape} does not fit input of shape {input_shape}: it must "
        "have input's shape, input's shape without the last dimension, or input's shape with one "
        "dimension of size 1"
    )


def gaussian_nll(input, target, var, *, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log-likelihood with a predicted variance.

    ``v = max(var, eps)`` (torch clamps without gradient), ``d = input - target``,
    ``loss = 0.5 * (log v + d**2 / v)``, plus ``0.5 * log(2π)`` if ``full``. Negative variances
    raise ValueError (as in torch).

    Shapes, as torch: input and target broadcast; ``var`` is a number, or has input's shape
    (heteroscedastic), or input's shape without its last dimension (then unsqueezed at -1), or
    input's shape with exactly one dimension of size 1 (e.g. (N, D) vs (N, 1), or (N, C, H, W) vs
    (N, 1, H, W)); any other shape raises ValueError. 'none' returns the broadcast shape.

    Source: PyTorch ``torch.nn.GaussianNLLLoss`` / ``torch.nn.functional.gaussian_nll_loss``
    (https://pytorch.org/docs/stable/generated/torch.nn.GaussianNLLLoss.html; Nix and Weigend,
    "Estimating the mean and variance of the target probability distribution", 1994).
    """
    check_reduction(reduction)
    x = np.asarray(input, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    v = _gaussian_var(var, x.shape)
    if np.any(v < 0.0):
        raise ValueError("gaussian_nll: var has negative entries")
    v = np.maximum(v, float(eps))
    d = x - y
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        values = 0.5 * (np.log(v) + d * d / v)
    if full:
        values = values + _HALF_LOG_2PI
    return reduce(values, reduction)


def asymmetric_mse(input, target, *, over_penalty=2.0, reduction="mean"):
    """Asymmetric squared error: over-prediction costs ``over_penalty`` times as much.

    ``d = input - target``, ``loss = over_penalty * d**2`` where ``d > 0`` (over-prediction) and
    ``d**2`` elsewhere; ``over_penalty = 1`` is mse.

    Shapes: any; input and target broadcast. 'none' returns the broadcast shape.

    Source: no PyTorch built-in; the asymmetric (over-penalising) squared error of the tutorials
    in the catalogue (``over_penalty`` weights the squared error where d > 0).
    """
    check_reduction(reduction)
    d = _difference(input, target)
    return reduce(np.where(d > 0.0, float(over_penalty), 1.0) * d * d, reduction)
