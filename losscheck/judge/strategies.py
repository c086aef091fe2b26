"""Hypothesis building blocks for valid loss inputs: bounded float arrays, class targets, probabilities.

Every function here takes hypothesis's `draw` so that specs compose them inside one composite strategy and
every draw is labelled. Arrays are float64 (targets int64); checks round them to the dtype under test.
"""
from __future__ import annotations

import contextlib
import contextvars

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import log_softmax, softmax



def floats(draw, shape, bound=5.0, label="values", min_value=None):
    """An array of finite floats in [min_value or -bound, bound], with hypothesis's shrinking towards 0."""
    lo = -bound if min_value is None else min_value
    elements = st.floats(lo, bound, allow_nan=False, allow_infinity=False, width=32)
    return draw(hnp.arrays(np.float64, shape, elements=elements), label=label)


def logits(draw, shape, scale="normal", label="input"):
    """Logits; at the 'extreme' scale they are multiplied up to ±1e4 so that naive exp() overflows; inside
    `confident_logits()` they reach ±30 at the normal scale."""
    x = floats(draw, shape, 5.0, label=label)
    if scale == "normal" and _CONFIDENT.get():
        x = x * draw(st.sampled_from([3.0, 6.0, 1.0]), label="confidence")  # ±15 first: float32 still finite
    if scale == "extreme":
        factor = draw(st.sampled_from([20.0, 100.0, 1e3, 1e4]), label="extreme_factor")
        x = x * factor
    return x


def probabilities(draw, shape, label="input", saturate=False):
    """Values in [0, 1]; with saturate, exact 0 and 1 are common (edges of the domain)."""
    if saturate:
        return draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0, 1e-8, 1 - 1e-7, 0.5])),
                    label=label)
    return draw(hnp.arrays(np.float64, shape, elements=st.floats(0.0, 1.0, width=32)), label=label)


def binary(draw, shape, label="target"):
    return draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])), label=label)


def signs(draw, shape, label="target"):
    return draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 1.0])), label=label)


def class_indices(draw, shape, num_classes, label="target"):
    return draw(hnp.arrays(np.int64, shape, elements=st.integers(0, num_classes - 1)), label=label)


def class_probabilities(draw, shape, axis=1, label="target"):
    """A probability distribution along `axis` (softmax of drawn scores; zeros allowed by sharp scores)."""
    scores = floats(draw, shape, 5.0, label=label) * draw(st.sampled_from([1.0, 10.0]), label="sharpness")
    return softmax(scores, axis=axis)


def log_probabilities(draw, shape, axis=1, scale="normal", label="input"):
    return log_softmax(logits(draw, shape, scale, label=label), axis=axis)


_DISTINCT: contextvars.ContextVar = contextvars.ContextVar("distinct_sizes", default=None)


@contextlib.contextmanager
def distinct_sizes():
    """Inside, `size` gives every dimension of one draw its own size above one (N=2, C=3, H=4, ... in the order the
    spec draws them; a size the spec fixes stays fixed): the api.call probe's draws, on which a loss written for
    other shapes cannot run by coincidence (N == C broadcasting, a spatial size of 1 standing for a missing dim)."""
    token = _DISTINCT.set([])
    try:
        yield
    finally:
        _DISTINCT.reset(token)


_CONFIDENT: contextvars.ContextVar = contextvars.ContextVar("confident_logits", default=False)


@contextlib.contextmanager
def confident_logits():
    """Inside, `logits` at the normal scale reach ±30: a trained classifier's logits, where a probability rounds to
    0 or 1 in bf16/fp16 (the precision family's draws; every other input keeps its normal range)."""
    token = _CONFIDENT.set(True)
    try:
        yield
    finally:
        _CONFIDENT.reset(token)


_FIXED: contextvars.ContextVar = contextvars.ContextVar("fixed_sizes", default={})


@contextlib.contextmanager
def fixed_sizes(sizes: dict):
    """Inside, `size` gives each named dimension in `sizes` that size whatever its range: the class count a
    candidate was built for (`LabelSmoothingLoss(classes=3)` can only take C = 3)."""
    token = _FIXED.set(dict(sizes))
    try:
        yield
    finally:
        _FIXED.reset(token)


def size(draw, name, lo, hi):
    used = _DISTINCT.get()
    fixed = _FIXED.get().get(name)
    if fixed is not None:
        if used is not None:
            used.append(fixed)
        return fixed
    if used is None:
        return draw(st.integers(lo, hi), label=name)
    value = lo if lo == hi else next(v for v in range(max(lo, 2), max(lo, 2) + len(used) + 1) if v not in used)
    used.append(value)
    return value


def batch_size(draw, layout):
    """N for a layout: 1 for 'single', 2..4 otherwise."""
    return 1 if layout == "single" else size(draw, "N", 2, 4)


def spatial(draw, layout):
    """The spatial dims a layout adds: () by default, (H, W) or (D, H, W) for the spatial layouts."""
    if layout == "spatial2d":
        return (size(draw, "H", 1, 3), size(draw, "W", 1, 3))
    if layout == "spatial3d":
        return (size(draw, "D", 1, 2), size(draw, "H", 1, 2), size(draw, "W", 1, 3))
    return ()


def positive_weights(draw, n, label="weight"):
    return draw(hnp.arrays(np.float64, (n,), elements=st.floats(0.125, 3.0)), label=label)
