"""Tests of the signal references: ssim and si_sdr.

ssim is checked against an independent SciPy filter (scipy.ndimage.correlate1d, 'mirror' borders for 'same'),
against closed forms (an image with itself scores a loss of 0 in every form; two flat images score
1 - (2ab + C1)/(a² + b² + C1)), and against kornia's ssim_loss where kornia is installed (the test extra).
si_sdr is checked against torch in float64 written from Le Roux et al.'s equations, for invariance to rescaling
the estimate, and against the closed form of an estimate with orthogonal noise: SI-SDR = 10·log10(‖s‖²/‖n‖²).
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from losscheck.references import signal
from reference_checks import REDUCTIONS, assert_close, call_repr, finite, tt

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def image_pairs(draw, window=11):
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(window, window + 3)),
             draw(st.integers(window, window + 3)))
    x = draw(arrays(np.float64, shape, elements=finite(0.0, 1.0)), label="input")
    y = draw(arrays(np.float64, shape, elements=finite(0.0, 1.0)), label="target")
    return x, y


def scipy_ssim_map(x, y, window_size, sigma, data_range, padding):
    """SSIM per pixel with scipy.ndimage.correlate1d ('mirror' is torch's 'reflect'), cropped for 'valid'."""
    g = np.exp(-(np.arange(window_size) - window_size // 2) ** 2 / (2 * sigma ** 2))
    g /= g.sum()

    def blur(a):
        for axis in (2, 3):
            a = ndimage.correlate1d(a, g, axis=axis, mode="mirror")
        if padding == "valid":
            r = window_size // 2
            a = a[:, :, r:a.shape[2] - r, r:a.shape[3] - r]
        return a

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    return (2 * mx * my + c1) * (2 * cov + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))


@SETTINGS
@given(pair=image_pairs(), padding=st.sampled_from(["valid", "same"]), data_range=st.sampled_from([1.0, 255.0]))
def test_ssim_matches_a_scipy_filter(pair, padding, data_range):
    x, y = (a * data_range for a in pair)
    expected = 1.0 - scipy_ssim_map(x, y, 11, 1.5, data_range, padding)
    for reduction in REDUCTIONS:
        want = expected if reduction == "none" else expected.mean() if reduction == "mean" else expected.sum()
        assert_close(signal.ssim(x, y, padding=padding, data_range=data_range, reduction=reduction), want,
                     call_repr("ssim", padding=padding, data_range=data_range, reduction=reduction),
                     rtol=1e-10, atol=1e-10)


@SETTINGS
@given(pair=image_pairs(window=7))
def test_ssim_of_an_image_with_itself_is_zero_in_every_form(pair):
    x = pair[0]
    for padding in ("valid", "same"):
        assert signal.ssim(x, x.copy(), padding=padding, window_size=7) == pytest.approx(0.0, abs=1e-12)
        assert signal.ssim(x, x.copy(), padding=padding, window_size=7, form="dssim") == pytest.approx(0.0, abs=1e-12)
        assert signal.ssim(x, x.copy(), padding=padding, window_size=7, form="similarity") == pytest.approx(
            1.0, abs=1e-12)


@pytest.mark.parametrize("a, b", [(0.5, 0.25), (0.0, 1.0), (0.0, 0.0)])
def test_ssim_of_flat_images_is_the_luminance_term(a, b):
    c1 = 0.01 ** 2
    x, y = np.full((1, 2, 12, 12), a), np.full((1, 2, 12, 12), b)
    assert signal.ssim(x, y) == pytest.approx(1.0 - (2 * a * b + c1) / (a * a + b * b + c1), rel=1e-12, abs=1e-15)


def test_ssim_box_window_nonnegative_and_inferred_range_differ_as_documented():
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 1.0, (2, 1, 12, 12))
    y = 1.0 - x  # anti-correlated: SSIM < 0
    assert signal.ssim(x, y, form="similarity") < 0
    assert signal.ssim(x, y, form="similarity", nonnegative=True) == 0.0
    assert signal.ssim(x, y, nonnegative=True, reduction="none").shape == (2, 1)
    assert signal.ssim(x, y, gaussian=False) != pytest.approx(signal.ssim(x, y))
    assert signal.ssim(x, y, data_range=None) == pytest.approx(
        signal.ssim(x, y, data_range=max(np.ptp(x), np.ptp(y))), rel=1e-15)
    with pytest.raises(ValueError, match="window_size"):
        signal.ssim(x[:, :, :9, :9], y[:, :, :9, :9])


@pytest.mark.skipif(importlib.util.find_spec("kornia") is None, reason="kornia is not installed")
def test_ssim_dssim_same_is_kornias_ssim_loss():
    from kornia.losses import ssim_loss  # an optional library, imported only where installed

    rng = np.random.default_rng(4)
    x, y = rng.uniform(0.0, 1.0, (2, 3, 13, 14)), rng.uniform(0.0, 1.0, (2, 3, 13, 14))
    for reduction in REDUCTIONS:
        got = ssim_loss(tt(x), tt(y), 11, reduction=reduction, padding="same")
        assert_close(signal.ssim(x, y, padding="same", form="dssim", eps=1e-12, reduction=reduction), got,
                     call_repr("ssim", padding="same", form="dssim", reduction=reduction), rtol=1e-12, atol=1e-12)


# -- si_sdr ---------------------------------------------------------------------------------------------------------
@st.composite
def signal_pairs(draw):
    shape = (draw(st.integers(1, 3)), draw(st.integers(4, 32)))
    target = draw(arrays(np.float64, shape, elements=finite(-1.0, 1.0)), label="target")
    noise = draw(arrays(np.float64, shape, elements=finite(-1.0, 1.0)), label="noise")
    gain = draw(st.sampled_from([0.0, 0.5, 2.0]), label="gain")
    return gain * target + noise, target


def torch_neg_si_sdr(estimate, target, zero_mean, eps):
    """-SI-SDR from Le Roux et al., eqs. 5-6, in torch float64."""
    if zero_mean:
        estimate = estimate - estimate.mean(-1, keepdim=True)
        target = target - target.mean(-1, keepdim=True)
    e_target = (estimate * target).sum(-1, keepdim=True) / ((target ** 2).sum(-1, keepdim=True) + eps) * target
    e_res = estimate - e_target
    return -10 * torch.log10((e_target ** 2).sum(-1) / ((e_res ** 2).sum(-1) + eps) + eps)


def informative(pair):
    """Both signals carry energy after zero-mean and the estimate is not perfect (else eps decides the value)."""
    return all(np.all(np.ptp(a, axis=-1) > 1e-3) for a in pair) and \
        bool(np.all(np.abs(signal.si_sdr(*pair, eps=0.0, reduction="none")) < 100.0))


@SETTINGS
@given(pair=signal_pairs(), zero_mean=st.booleans())
def test_si_sdr_matches_torch(pair, zero_mean):
    expected = torch_neg_si_sdr(tt(pair[0]), tt(pair[1]), zero_mean, 1e-8)
    for reduction in REDUCTIONS:
        want = expected if reduction == "none" else expected.mean() if reduction == "mean" else expected.sum()
        assert_close(signal.si_sdr(*pair, zero_mean=zero_mean, reduction=reduction), want,
                     call_repr("si_sdr", zero_mean=zero_mean, reduction=reduction), rtol=1e-10, atol=1e-10)


@SETTINGS
@given(pair=signal_pairs(), factor=st.sampled_from([1e-2, 0.3, 7.0, 1e3]))
def test_si_sdr_is_invariant_to_rescaling_the_estimate(pair, factor):
    if not informative(pair):
        return
    np.testing.assert_allclose(signal.si_sdr(pair[0] * factor, pair[1], eps=0.0, reduction="none"),
                               signal.si_sdr(pair[0], pair[1], eps=0.0, reduction="none"), rtol=1e-8, atol=1e-8)


def test_si_sdr_of_an_estimate_with_orthogonal_noise_is_the_energy_ratio():
    t = np.array([1.0, -1.0, 1.0, -1.0])
    n = np.array([1.0, 1.0, -1.0, -1.0]) * 0.5  # zero-mean and orthogonal to t
    assert signal.si_sdr(3.0 * t + n, t, eps=0.0) == pytest.approx(-10 * np.log10(9.0 * 4.0 / 1.0), rel=1e-12)
    assert signal.si_sdr(3.0 * t + n, t, eps=0.0, output="metric") == pytest.approx(10 * np.log10(36.0), rel=1e-12)


def test_si_sdr_zero_mean_removes_an_offset_and_shapes_are_checked():
    t = np.sin(np.linspace(0.0, 6.0, 16))
    noise = np.cos(np.linspace(0.0, 17.0, 16)) * 0.1
    assert signal.si_sdr(t + noise + 5.0, t) == pytest.approx(signal.si_sdr(t + noise, t), rel=1e-9)
    assert signal.si_sdr(t + noise + 5.0, t, zero_mean=False) > signal.si_sdr(t + noise, t, zero_mean=False)
    with pytest.raises(ValueError, match="one shape"):
        signal.si_sdr(t, t[:-1])
    with pytest.raises(ValueError, match="output"):
        signal.si_sdr(t, t, output="db")
