"""The compile family (losscheck.checks.compile) and its worker op (losscheck.suspect.ops.compiled): the op in process
on the corpus's compile fixtures (a compiled gradient that differs, a graph break with its reason, a loss that hits
the recompile limit on purpose) and on a correct twin; the check's refusal to compare eager with eager; audits of
correct losses under --compile, clean. The fixtures themselves are audited in test_checks.py (LC902-LC904);
benchmarks/compile_table.py measures every torch built-in."""
import numpy as np
import pytest
import torch
from torch import nn

from losscheck import audit
from losscheck.checks.compile import RECOMPILE_CALLS, not_compiled
from losscheck.examples.classification import CorrectFocal, NaiveFocal
from losscheck.examples.regression import CallCountingMSE, CompilePathMSE, CorrectMSE, LoggingMSE
from losscheck.judge.cases import Case
from losscheck.suspect import wire
from losscheck.suspect.calls import Caller
from losscheck.suspect.candidate import wrap
from losscheck.suspect.protocol import Compile, Compiled


def _compiled(obj, calls=1, backend="aot_eager") -> Compiled:
    x, y = torch.linspace(-1.0, 2.0, 6).reshape(2, 3), torch.zeros(2, 3)
    request = Compile({}, [wire.encode_tensor(x), wire.encode_tensor(y)], (0,), backend, None, calls, 60.0)
    return wrap(obj).perform(Caller(10.0), request)


def _value_and_grad(side):
    return wire.decode_tensor(side["value"]).numpy(), wire.decode_tensor(side["grads"][0]).numpy()


def test_a_correct_loss_compiles_to_the_same_value_and_gradient():
    reply = _compiled(CorrectMSE, calls=RECOMPILE_CALLS)
    assert not reply.error and reply.recompile_limit is None and reply.graph_breaks == {}
    assert reply.graphs_run == RECOMPILE_CALLS  # every call ran the compiled graph, none fell back to eager
    for eager, compiled in zip(_value_and_grad(reply.eager), _value_and_grad(reply.compiled)):
        np.testing.assert_allclose(compiled, eager, rtol=1e-6)


def test_the_op_sees_a_compiled_gradient_that_differs():
    reply = _compiled(CompilePathMSE)
    (value, grad), (c_value, c_grad) = _value_and_grad(reply.eager), _value_and_grad(reply.compiled)
    np.testing.assert_allclose(c_value, value, rtol=1e-6)
    np.testing.assert_allclose(c_grad, grad / 2, rtol=1e-6)


def test_graph_breaks_are_counted_with_their_reason():
    reply = _compiled(LoggingMSE)
    assert reply.graphs_run > 0 and sum(reply.graph_breaks.values()) >= 1
    assert any("item()" in reason for reason in reply.graph_breaks), reply.graph_breaks


def test_the_recompile_limit_is_hit_on_purpose_and_reported():
    reply = _compiled(CallCountingMSE, calls=RECOMPILE_CALLS)
    assert reply.recompile_limit and "recompile" in reply.recompile_limit.lower(), reply
    finding = not_compiled(reply, Case(()), "aot_eager")
    assert finding is not None and finding.code == "LC903" and "recompile limit" in finding.message


def test_no_compiled_graph_run_is_never_compared_as_if_compiled():
    eager_only = Compiled(eager={"value": {}}, compiled={"value": {}}, graphs_run=0)
    finding = not_compiled(eager_only, Case(()), "aot_eager")
    assert finding.code == "LC903" and "no compiled graph" in finding.message


class _RandomMaskMSE(nn.Module):
    """MSE over a random half of the elements (a loss that draws random numbers): the same draw on both sides."""

    def forward(self, input, target):
        keep = torch.rand(input.shape) < 0.5
        return ((input - target) ** 2 * keep).mean()


def test_random_numbers_are_drawn_alike_on_both_sides():
    reply = _compiled(_RandomMaskMSE)
    np.testing.assert_allclose(_value_and_grad(reply.compiled)[0], _value_and_grad(reply.eager)[0], rtol=1e-6)


@pytest.mark.parametrize("target, loss_id", [("torch.nn:MSELoss", "mse"), ("torch.nn:CrossEntropyLoss",
                                                                           "cross_entropy")])
def test_torch_built_ins_are_clean_under_compile(target, loss_id):
    result = audit(target, as_=loss_id, compile=True, max_examples=6, select=["LC9"])
    ran = [c for c in result.checks if c.family == "compile"]
    assert [c.name for c in ran] == ["compile.aot_eager"] and ran[0].status == "pass", ran
    assert not result.findings, [f.message for f in result.findings]


def test_fullgraph_makes_a_graph_break_a_warning():
    result = audit(f"{LoggingMSE.__module__}:LoggingMSE", as_="mse", compile=True, fullgraph=True, max_examples=5,
                   select=["LC904"])
    (finding,) = result.findings
    assert finding.severity == "warning" and "item()" in finding.message


def test_inductor_hides_a_bf16_bug_and_says_so_and_its_twin_is_clean():
    result = audit(f"{NaiveFocal.__module__}:NaiveFocal", as_="focal", compile=True, inductor=True, max_examples=5,
                   select=["LC905"])
    (finding,) = result.findings
    assert finding.severity == "warning" and "compile hides the bug" in finding.message, finding.message
    assert "torch.autocast('cpu', dtype=torch.bfloat16)" in finding.reproducer
    twin = audit(f"{CorrectFocal.__module__}:CorrectFocal", as_="focal", compile=True, inductor=True, max_examples=5,
                 select=["LC9"])
    assert not twin.findings and [c.status for c in twin.checks if c.name == "compile.inductor"] == ["pass"]
