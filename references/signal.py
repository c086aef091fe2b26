"""Float64 references for the image and audio reconstruction losses: ssim (1 - SSIM with a Gaussian window) and
si_sdr (the negated scale-invariant signal-to-distortion ratio).

Both compare an estimate with a reference signal, and both come from metrics (a similarity, a ratio in dB) that
libraries ship as losses in several forms; each form is a keyword option here (ssim: ``padding``, ``form``,
``nonnegative``, ``gaussian``; si_sdr: ``zero_mean``, ``output``). NumPy only: this module never imports torch.
"""

from __future__ import annotations

import functools

import numpy as np

from ._reduce import check_reduction, reduce

__all__ = ["ssim", "si_sdr", "gaussian_window"]

_PADDINGS = ("valid", "same")
_SSIM_FORMS = ("one_minus", "dssim", "similarity")
_SDR_OUTPUTS = ("loss", "metric")


def gaussian_window(size, sigma):
    """The normalised 1-D Gaussian window ``g_i ∝ exp(-(i - size//2)² / (2σ²))``, i = 0..size-1 (Wang et al. 2004;
    pytorch-msssim's _fspecial_gauss_1d, kornia's get_gaussian_kernel1d)."""
    x = np.arange(int(size), dtype=np.float64) - int(size) // 2
    g = np.exp(-x ** 2 / (2.0 * float(sigma) ** 2))
    return g / g.sum()


@functools.lru_cache(maxsize=64)
def _filter_matrix(n, window, padding):
    """The (n', n) matrix of the 1-D filter along an axis of length n: row i holds the window's taps at the
    positions it covers, 'valid' (n' = n - size + 1) or 'same' with the borders reflected as torch's 'reflect'
    pads them (n' = n; index -1 is index 1, index n is index n - 2)."""
    k, r = len(window), len(window) // 2
    rows = n - k + 1 if padding == "valid" else n
    matrix = np.zeros((rows, n))
    for i in range(rows):
        for tap in range(k):
            j = i + tap if padding == "valid" else i + tap - r
            j = -j if j < 0 else 2 * (n - 1) - j if j > n - 1 else j
            matrix[i, j] += window[tap]
    return matrix


def _filter(x, window, padding):
    """x (..., H, W) filtered by the separable window along H and W (one matrix product per axis)."""
    taps = tuple(window)
    rows = _filter_matrix(x.shape[-2], taps, padding)
    cols = _filter_matrix(x.shape[-1], taps, padding)
    return rows @ x @ cols.T


def ssim(input, target, *, window_size=11, sigma=1.5, k1=0.01, k2=0.03, data_range=1.0, eps=0.0, padding="valid",
         form="one_minus", nonnegative=False, gaussian=True, reduction="mean"):
    """SSIM loss ``1 - SSIM`` (Wang, Bovik, Sheikh and Simoncelli, "Image quality assessment: from error visibility
    to structural similarity", IEEE TIP 2004), per pixel, then reduced.

    With local statistics under a normalised window w (a Gaussian of ``window_size`` taps and ``sigma``; a
    uniform box with ``gaussian=False``, torchmetrics' ``gaussian_kernel=False``), per sample and channel:
    ``μ_x = w * x``, ``σ_x² = w * x² - μ_x²``, ``σ_xy = w * (x y) - μ_x μ_y`` and
    ``SSIM = (2 μ_x μ_y + C1)(2 σ_xy + C2) / ((μ_x² + μ_y² + C1)(σ_x² + σ_y² + C2) + eps)``,
    ``C1 = (k1 L)²``, ``C2 = (k2 L)²`` with ``L = data_range`` (the span of the pixel values: 1 for images in
    [0, 1], 255 for 8-bit; ``None`` takes the larger span of the two images, torchmetrics' ``data_range=None``).
    ``eps`` is kornia's term in the denominator (0 elsewhere).

    Conventions: ``padding`` "valid" (the window inside the image: the original MATLAB code, pytorch-msssim) or
    "same" (each border reflected by window_size // 2: kornia ``padding='same'``, torchmetrics);
    ``form`` "one_minus" (the loss 1 - SSIM), "dssim" (kornia's structural dissimilarity clamp((1 - SSIM) / 2,
    0, 1)) or "similarity" (SSIM itself, as the metrics return it: pytorch-msssim ``ssim``, torchmetrics);
    ``nonnegative`` (pytorch-msssim ``nonnegative_ssim=True``) averages the map per sample and channel first and
    takes relu of that mean.

    Shapes: input and target (N, C, H, W) (H and W at least ``window_size`` under "valid"); 'none' returns the
    per-pixel loss map (N, C, H', W') (kornia), or (N, C) with ``nonnegative``; 'mean' is the mean over every
    pixel, channel and sample (which is pytorch-msssim's mean of the per-channel means: every channel has the
    same number of pixels).

    Source: Wang et al. 2004 (https://www.cns.nyu.edu/~lcv/ssim/); pytorch-msssim ``ssim``
    (https://github.com/VainF/pytorch-msssim), kornia ``losses.ssim_loss``
    (https://kornia.readthedocs.io/en/latest/losses.html#kornia.losses.ssim_loss), torchmetrics
    ``structural_similarity_index_measure``.
    """
    check_reduction(reduction)
    x = np.asarray(input, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    if x.ndim != 4 or x.shape != y.shape:
        raise ValueError(f"ssim: input and target must be images (N, C, H, W) of one shape; got {x.shape} and "
                         f"{y.shape}")
    if padding not in _PADDINGS or form not in _SSIM_FORMS:
        raise ValueError(f"ssim: padding must be one of {_PADDINGS} and form one of {_SSIM_FORMS}; got "
                         f"{padding!r}, {form!r}")
    size = int(window_size)
    if size % 2 == 0 or min(x.shape[2:]) < (size if padding == "valid" else size // 2 + 1):
        raise ValueError(f"ssim: window_size must be odd and fit the image ({x.shape[2:]}); got {size}")
    if data_range is None:
        data_range = max(np.ptp(x), np.ptp(y))
    c1, c2 = (float(k1) * float(data_range)) ** 2, (float(k2) * float(data_range)) ** 2
    window = gaussian_window(size, sigma) if gaussian else np.full(size, 1.0 / size)
    mu_x, mu_y, xx, yy, xy = _filter(np.stack([x, y, x * x, y * y, x * y]), window, padding)
    var_x, var_y, cov = xx - mu_x ** 2, yy - mu_y ** 2, xy - mu_x * mu_y
    with np.errstate(divide="ignore", invalid="ignore"):
        similarity = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)
                      / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2) + float(eps)))
    if nonnegative:
        similarity = np.maximum(np.mean(similarity, axis=(2, 3)), 0.0)
    if form == "similarity":
        values = similarity
    elif form == "dssim":
        values = np.clip((1.0 - similarity) / 2.0, 0.0, 1.0)
    else:
        values = 1.0 - similarity
    return reduce(values, reduction)


def si_sdr(estimate, target, *, zero_mean=True, eps=1e-8, output="loss", reduction="mean"):
    """Negative scale-invariant signal-to-distortion ratio (Le Roux, Wisdom, Erdogan and Hershey, "SDR -
    half-baked or well done?", ICASSP 2019), per signal along the last axis (time), then reduced.

    With ``ŝ`` the estimate and ``s`` the target, both zero-mean along time when ``zero_mean`` (the paper's
    definition; torchmetrics' ``zero_mean=False`` default skips it), the target scaled to the estimate's
    projection ``e_t = (⟨ŝ, s⟩ / (‖s‖² + eps)) s`` and the residual ``e_r = ŝ - e_t``:
    ``SI-SDR = 10 log10(‖e_t‖² / (‖e_r‖² + eps) + eps)`` dB, and the loss is ``-SI-SDR``. ``eps`` sits where
    asteroid puts it (``singlesrc_neg_sisdr``, EPS = 1e-8): it matters only for silent or perfect estimates
    (a perfect one scores about -10 log10(‖s‖² / eps)). Rescaling the estimate by any c > 0 leaves it unchanged.

    ``output="metric"`` returns SI-SDR itself (the metric to maximise, as torchmetrics'
    ``scale_invariant_signal_distortion_ratio`` does) instead of the loss.

    Shapes: estimate and target (..., T), typically (N, T); 'none' returns (...).

    Source: Le Roux et al. 2019 (https://arxiv.org/abs/1811.02508), eqs. 5-6; asteroid ``SingleSrcNegSDR("sisdr")``
    (https://github.com/asteroid-team/asteroid, asteroid/losses/sdr.py); torchmetrics
    ``scale_invariant_signal_distortion_ratio``.
    """
    check_reduction(reduction)
    est = np.asarray(estimate, dtype=np.float64)
    ref = np.asarray(target, dtype=np.float64)
    if est.ndim < 1 or est.shape != ref.shape:
        raise ValueError(f"si_sdr: estimate and target must be signals (..., T) of one shape; got {est.shape} and "
                         f"{ref.shape}")
    if output not in _SDR_OUTPUTS:
        raise ValueError(f"si_sdr: output must be one of {_SDR_OUTPUTS}; got {output!r}")
    if zero_mean:
        est = est - np.mean(est, axis=-1, keepdims=True)
        ref = ref - np.mean(ref, axis=-1, keepdims=True)
    eps = float(eps)
    scale = np.sum(est * ref, axis=-1, keepdims=True) / (np.sum(ref * ref, axis=-1, keepdims=True) + eps)
    projection = scale * ref
    residual = est - projection
    with np.errstate(divide="ignore"):
        sdr = 10.0 * np.log10(np.sum(projection ** 2, axis=-1) / (np.sum(residual ** 2, axis=-1) + eps) + eps)
    return reduce(sdr if output == "metric" else -sdr, reduction)
