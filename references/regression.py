"""Float64 references for the regression losses: mse, l1, smooth_l1, huber, log_cosh.

All are elementwise in ``d = input - target`` with NumPy broadcasting; ``reduction="none"``
returns the broadcast shape. NumPy/SciPy only: this module never imports torch.
"""

from __future__ import annotations

import numpy as np

from ._reduce import check_reduction, reduce

__all__ = ["mse", "l1", "smooth_l1", "huber", "log_cosh"]

_LOG2 = np.log(2.0)


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
