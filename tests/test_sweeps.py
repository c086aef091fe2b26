"""The sweeps behind the HTML report's plots (losscheck.diagnosis.sweep): centred on the failing example, and
not drawn at all when the candidate agrees with the reference all along the line."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from losscheck.diagnosis.sweep import sweep
from losscheck.judge.cases import Case


class Line:
    """The few parts of a Context that a sweep uses: the spec's differentiable inputs, the reference, a run."""

    def __init__(self, candidate):
        self.spec = SimpleNamespace(grad_args=(0,), signature=("input", "target"))
        self.caller = SimpleNamespace(call=lambda f: (f(), SimpleNamespace(ok=True))[1])
        self.candidate = candidate

    def reference(self, case):
        x, y = case.inputs
        return np.mean((x - y) ** 2)

    def run(self, case, dtype, requires_grad=False):
        ts = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=requires_grad and i == 0)
              for i, a in enumerate(case.inputs)]
        return self.candidate(*ts), ts


def mse(x, y):
    return ((x - y) ** 2).mean()


def half_gradient(x, y):
    """The right value with half the gradient: a defect only the slope panel shows."""
    v = mse(x, y)
    return v.detach() + 0.5 * (v - v.detach())


CASE = Case(inputs=(np.array([0.5, -3.0, 1.25]), np.array([0.0, 1.0, -1.0])))


def test_no_sweep_where_both_curves_coincide():
    assert sweep(Line(mse), CASE) is None


@pytest.mark.parametrize("candidate, parts", [(lambda x, y: 2 * mse(x, y), True), (half_gradient, False)])
def test_a_sweep_is_centred_on_the_example_and_shows_the_gap(candidate, parts):
    line = sweep(Line(candidate), CASE)
    assert line is not None
    assert line["example_at"] == 3.0  # the example is x(t) at t = max|x|
    t = line["t"]
    assert t[0] == pytest.approx(-3.0) and t[-1] == pytest.approx(9.0)  # centred there, the origin in view
    assert min(t, key=lambda v: abs(v - 3.0)) == pytest.approx(3.0)
    if parts:
        assert line["parts_at"] == min((v for v in t if v != 0), key=lambda v: abs(v - 3.0))
    else:  # the values agree: only the slopes part
        assert line["parts_at"] is None
        slopes = [(c, r) for c, r in zip(line["candidate_slope"][1:-1], line["reference_slope"][1:-1]) if c is not None]
        assert all(c == pytest.approx(r / 2, rel=0.05, abs=1e-6) for c, r in slopes)
