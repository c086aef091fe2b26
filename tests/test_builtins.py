"""Every torch built-in of the catalogue audits clean with the default settings, and maps to its id."""
import pytest
import torch

from losscheck import audit
from losscheck.judge.engine import pick_spec
from losscheck.suspect.candidate import resolve
from losscheck.errors import UsageError
from losscheck.specs import TORCH_BUILTINS


# Defects of torch itself that the audit finds (reproducers in reports/): each is expected, and nothing else.
UPSTREAM = {
    # CPU ctc_loss reads strided (non-contiguous) 1-D concatenated targets wrongly and returns inf.
    "torch.nn.CTCLoss": {"LC605"},
    "torch.nn.functional.ctc_loss": {"LC605"},
    # soft_margin_loss computes log1p(exp(-y*x)) literally: inf (and a nan gradient) once -y*x > 88 in float32.
    "torch.nn.SoftMarginLoss": {"LC201", "LC302"},
    "torch.nn.functional.soft_margin_loss": {"LC201", "LC302"},
    # poisson_nll_loss(log_input=False) adds eps=1e-8, which is 0 in float16: 0 * log(0) = nan for x = y = 0.
    "torch.nn.PoissonNLLLoss": {"LC203"},
    "torch.nn.functional.poisson_nll_loss": {"LC203"},
    # kl_div's default reduction='mean' divides by every element, not the batch: torch warns, and so does LC404.
    "torch.nn.KLDivLoss": {"LC404"},
    "torch.nn.functional.kl_div": {"LC404"},
}


@pytest.mark.parametrize("target", sorted(TORCH_BUILTINS))
def test_builtin_audits_clean(target):
    result = audit(target)
    failing = [f"{f.code} {f.check}: {f.message}" for f in result.findings
               if f.severity != "info" and f.code not in UPSTREAM.get(target, ())]
    assert failing == [], "\n".join(failing)
    assert {f.code for f in result.findings if f.severity != "info"} == UPSTREAM.get(target, set())
    assert result.parameters["loss"] == TORCH_BUILTINS[target]
    errors = [f"{c.name}: {c.detail}" for c in result.checks if c.status == "error"]
    assert errors == []


def test_every_check_ran_or_said_why():
    result = audit("torch.nn.CrossEntropyLoss", max_examples=5)
    for c in result.checks:
        assert c.status in ("pass", "skip"), c
        if c.status == "skip":
            assert c.detail
        else:
            assert c.examples > 0, c.name


def test_accelerator_parity_is_visibly_skipped_without_a_device():
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the parity check runs for real")
    result = audit("torch.nn.MSELoss", max_examples=5)
    check = next(c for c in result.checks if c.name == "device.accelerator")
    assert check.status == "skip" and "no CUDA or MPS device" in check.detail


@pytest.mark.parametrize("target", ["torch.nn.TripletMarginWithDistanceLoss",
                                    "torch.nn.functional.triplet_margin_with_distance_loss"])
def test_builtin_without_an_id_is_a_usage_error(target):
    with pytest.raises(UsageError, match="no catalogue id"):
        pick_spec(resolve(target), None)
