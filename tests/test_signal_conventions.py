"""The signal ids audit correct library-style losses clean once their convention is declared (or read from their
own switch): kornia's SSIMLoss ((1 - SSIM)/2 over reflected borders: its `padding='same'` declares the border),
pytorch-msssim's ssim (the similarity itself; `nonnegative_ssim=True` declares the relu), torchmetrics' reflected
SSIM and SI-SDR (the metric in dB; `zero_mean=False` declares the kept means). The corpus losses live in
losscheck/examples/signal.py; tests/test_catalogue.py and tests/test_variants.py audit its other tables.
"""
from __future__ import annotations

import pytest

from losscheck import audit
from losscheck.examples.registry import find
from audit_checks import loud

MAX_EXAMPLES = 10


@pytest.mark.parametrize("name, loss_id, init, conventions, in_force", [
    ("KorniaStyleSSIMLoss", "ssim", {}, {"form": "dssim"}, {"padding": "same", "form": "dssim"}),
    ("msssim_style_ssim", "ssim", {"nonnegative_ssim": True}, {"form": "similarity"},
     {"form": "similarity", "nonnegative": "yes"}),
    ("ssim_reflected_borders", "ssim", {}, {"padding": "same"}, {"padding": "same"}),
    ("torchmetrics_style_si_sdr", "si_sdr", {"zero_mean": False}, {"output": "metric"},
     {"output": "metric", "zero_mean": "no"}),
    ("si_sdr_without_zero_mean", "si_sdr", {}, {"zero_mean": "no"}, {"zero_mean": "no"}),
])
def test_a_library_convention_declared_audits_clean(name, loss_id, init, conventions, in_force):
    result = audit(find(name, "variants").obj, as_=loss_id, init=init, conventions=conventions,
                   max_examples=MAX_EXAMPLES)
    assert {k: result.conventions[k] for k in in_force} == in_force
    assert loud(result) == []
