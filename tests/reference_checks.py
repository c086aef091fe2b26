"""Shared helpers of the reference tests (tests/test_references*.py): their hypothesis settings, array-api-tests
style assertions that name the call and the tolerances, the comparison of every reduction with torch, the output
types every reference returns, the plain-float loop over class-index targets that the classification loops are
written on, and the probability masks the overlap losses (dice, tversky, generalized_dice) are drawn on."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

REDUCTIONS = ("none", "mean", "sum")
RTOL, ATOL = 1e-10, 1e-10


def reference_settings(max_examples=25):
    """The hypothesis settings of a reference test: derandomized (the same draws on every run), no example database
    (nothing written to the repo), no deadline (the plain-float loops are slow), and the health checks about slow
    or large draws off (arrays are drawn whole)."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def f64(a):
    return np.asarray(a, dtype=np.float64)


def finite(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)


def tt(a):
    """A numpy array (float64 or int64) as a torch tensor of the same dtype."""
    return torch.tensor(np.asarray(a))


def torch_reduce(values, reduction):
    """A torch tensor of per-element losses reduced as torch's `reduction` argument does (the torch side of a
    comparison with a reference)."""
    return values if reduction == "none" else values.mean() if reduction == "mean" else values.sum()


def call_repr(name, **kwargs):
    args = ", ".join(
        f"{k}={v.tolist() if isinstance(v, np.ndarray) else v!r}" for k, v in kwargs.items()
    )
    return f"{name}({args})"


def assert_close(actual, expected, call, *, rtol=RTOL, atol=ATOL):
    """Shapes equal, values close (nan == nan, inf == inf), and the reference's return type."""
    __tracebackhide__ = True
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    expected = np.asarray(expected, dtype=np.float64)
    got = np.asarray(actual)
    if got.dtype != np.float64:
        pytest.fail(f"out dtype={got.dtype}, but should be float64 [{call}]")
    if got.shape != expected.shape:
        pytest.fail(f"out shape={got.shape}, but should be {expected.shape} [{call}]")
    if expected.ndim == 0 and not isinstance(actual, (np.float64, np.ndarray)):
        pytest.fail(f"out type={type(actual).__name__}, but should be np.float64 [{call}]")
    if not np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True):
        pytest.fail(
            f"out={got!r}, but should be {expected!r} [{call}] (rtol={rtol:g}, atol={atol:g})"
        )


def check_reductions(name, reference, reference_args, builtin, builtin_args, options,
                     builtin_options=None, reductions=REDUCTIONS, rtol=RTOL, atol=ATOL):
    """Compare reference(*args, **options, reduction=r) with the torch built-in for every r."""
    __tracebackhide__ = True
    builtin_options = options if builtin_options is None else builtin_options
    for reduction in reductions:
        actual = reference(*reference_args, **options, reduction=reduction)
        expected = builtin(*builtin_args, **builtin_options, reduction=reduction)
        if reduction == "none":
            assert isinstance(actual, np.ndarray), call_repr(name, reduction=reduction)
        else:
            assert isinstance(actual, np.float64), call_repr(name, reduction=reduction)
        assert_close(actual, expected, call_repr(name, **options, reduction=reduction), rtol=rtol, atol=atol)


def assert_float64_outputs(call):
    """call(reduction) is a float64 ndarray for 'none' and a finite np.float64 for 'mean' and 'sum', as every
    reference returns."""
    __tracebackhide__ = True
    none = call("none")
    assert isinstance(none, np.ndarray) and none.dtype == np.float64
    for reduction in ("mean", "sum"):
        out = call(reduction)
        assert isinstance(out, np.float64) and np.isfinite(out)


def class_rows(x, target, ignore_index):
    """(index, class, logits as plain floats) for each class-index target not equal to ignore_index; the class axis
    is 0 for a (C,) input and 1 otherwise, as for cross_entropy."""
    moved = np.moveaxis(x, 0 if x.ndim == 1 else 1, -1)
    for index in np.ndindex(*target.shape):
        y = int(target[index])
        if y != ignore_index:
            yield index, y, [float(v) for v in moved[index]]


def logsumexp_loop(logits):
    """log Σ_k exp(v_k) of plain floats, shifted by the largest so that no exp overflows: the loops' own
    log-softmax denominator, independent of scipy and torch."""
    top = max(logits)
    return top + math.log(sum(math.exp(v - top) for v in logits))


def with_examples(cases):
    """A decorator: @example(case=c) for every c of `cases`, in their order (the edge cases a test forces before
    its draws)."""
    def decorate(test):
        for case in reversed(cases):
            test = example(case=case)(test)
        return test
    return decorate


@st.composite
def mask_cases(draw, max_channels=3):
    """{input, target, smooth} for an overlap loss: (N, C, *spatial) with up to three spatial dims, the input
    probabilities (soft) or binary, the target binary, and a smooth among the catalogue's (0 included)."""
    shape = (draw(st.integers(1, 3), label="N"), draw(st.integers(1, max_channels), label="C"))
    shape += tuple(draw(st.lists(st.integers(1, 3), max_size=3), label="spatial"))
    soft = draw(st.booleans(), label="soft")
    elements = finite(0, 1) if soft else st.sampled_from([0.0, 1.0])
    return {
        "input": draw(arrays(np.float64, shape, elements=elements), label="input"),
        "target": draw(arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])), label="target"),
        "smooth": draw(st.sampled_from([1.0, 1e-5, 0.0, 2.5]), label="smooth"),
    }


def masks(input, target, smooth=1.0):
    """A mask case as mask_cases draws it, from arrays written by hand."""
    return {"input": f64(input), "target": f64(target), "smooth": smooth}


# the mask cases every overlap loss's test adds to its draws
MASK_EDGES = [
    masks(np.zeros((2, 2, 3, 3)), np.zeros((2, 2, 3, 3))),  # empty masks
    masks(np.ones((1, 2, 2, 2, 2)), np.ones((1, 2, 2, 2, 2))),  # 3-D spatial, identical
    masks([[0.2, 0.8], [1.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]]),  # (N, C): no spatial dims
]
