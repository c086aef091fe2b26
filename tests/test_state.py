"""The run state of an audit (losscheck.judge.state), the declared check order (losscheck.checks.registry) and
the Context's search settings (losscheck.judge.context): fast unit tests, no audit."""
from __future__ import annotations

import pytest

import losscheck.checks
from losscheck.checks import registry
from losscheck.errors import UsageError
from losscheck.judge.engine import pick_spec
from losscheck.judge.context import Context
from losscheck.judge.state import AuditState
from losscheck.specs import SPECS
from losscheck.suspect.calls import Caller
from losscheck.suspect.candidate import resolve

# The order an audit ran its checks in when it was kept by a sort (runs_first, the families in
# pitfalls.FAMILIES' order, runs_last); the declared ORDER keeps it.
AUDIT_ORDER = [
    "api.call", "value.reference", "stability.extremes", "stability.half", "gradient.flow", "gradient.finite",
    "gradient.reference", "reduction.modes", "reduction.batch", "reduction.default", "target.formats",
    "target.ignore_index", "target.shapes", "target.broadcast", "target.order", "device.fake_cuda",
    "device.accelerator", "device.dtype", "device.layout", "api.purity", "api.contract", "precision.autocast",
    "precision.raw", "compile.aot_eager", "compile.inductor",
    "reduction.accumulation", "device.ddp",
]


def _state(target, loss_id, conventions=None, layouts=()):
    candidate = resolve(target)
    spec = pick_spec(candidate, loss_id)
    candidate.prepare(len(spec.signature))
    return candidate, AuditState.begin(spec, candidate, conventions, layouts)


def test_checks_run_in_the_declared_order():
    assert [c.check_name for c in losscheck.checks.ordered()] == AUDIT_ORDER


def test_every_place_in_the_order_is_a_family_or_a_check():
    names = {c.check_name for c in registry.CHECKS}
    families = {c.family for c in registry.CHECKS}
    assert all(place in names or place in families for place in registry.ORDER)
    assert len(set(registry.ORDER)) == len(registry.ORDER)


def test_a_check_without_a_place_is_refused_at_registration():
    with pytest.raises(ValueError, match="no place in checks.registry.ORDER"):
        registry.register("nowhere.check", "nowhere")(lambda ctx: None)
    assert "nowhere.check" not in {c.check_name for c in registry.CHECKS}


def test_declared_and_detected_conventions_merge_in_the_state():
    _, state = _state("torch.nn.MSELoss", None)
    assert state.spec is not None and state.fixed == {} and state.detected == {}
    dice = SPECS["dice"]
    convention = dice.conventions[0]
    other = next(value for value in convention.options if value != convention.default)
    _, state = _state("torch.nn.MSELoss", "dice", {convention.name: other})
    assert state.conventions[convention.name] == other and state.fixed == {convention.name: other}
    assert state.spec.reference is not state.base_spec.reference
    # a detected value never overrides a declared one, and adopting only what is known changes nothing
    assert state.adopt([(convention.name, convention.default)]) is True
    assert state.conventions[convention.name] == other
    assert state.adopt([(convention.name, convention.default)]) is False


def test_an_undeclared_layout_is_a_usage_error():
    with pytest.raises(UsageError, match="--layout cube: mse has no such layout"):
        _state("torch.nn.MSELoss", None, layouts=("cube",))


def test_search_settings_are_made_once_per_audit():
    candidate, state = _state("torch.nn.MSELoss", None)
    ctx = Context(candidate, state, Caller(5.0, local=True), seed=0, max_examples=7)
    first = ctx._search_settings(7)
    assert first.max_examples == 7 and first.database is None
    assert ctx._search_settings(7) is first
    child = ctx._search_settings(3)
    assert child.max_examples == 3 and child.deadline is None and ctx._search_settings(3) is child
