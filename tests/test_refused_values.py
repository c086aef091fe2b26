"""A parameter value the candidate refuses by raising (reduction='none' for a loss that takes 'mean' and 'sum' only)
is its contract: one LC709 info, the value never drawn, no LC705 (checks/probe.py `_refused_values`)."""
from fixtures.refusing import mse_without_none, summed_mse_without_none
from losscheck import audit


def test_a_refused_value_is_said_once_and_not_drawn():
    result = audit(mse_without_none, as_="mse", max_examples=10)
    assert result.exit_code() == 0
    refusals = [f for f in result.findings if f.code == "LC709"]
    assert len(refusals) == 1 and "reduction='none'" in refusals[0].message and refusals[0].severity == "info"
    assert not [f for f in result.findings if f.code == "LC705"]
    modes = next(c for c in result.checks if c.name == "reduction.modes")
    assert modes.status == "skip" and "refuses reduction='none'" in modes.detail


def test_a_loss_that_refuses_a_value_is_still_judged_on_the_others():
    result = audit(summed_mse_without_none, as_="mse", max_examples=10)
    assert result.exit_code() == 1
    assert any(f.code == "LC102" and f.data.get("variant") == "sum instead of mean" for f in result.findings)
