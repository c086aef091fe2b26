"""Parameter maps (losscheck/diagnosis/maps.py): the text a user declares, what the reference takes under a map, and
that a declared map makes a loss written under it audit clean (no LC103 left to report). The maps found by fitting
are audited end to end in tests/test_forms.py (a correct loss in each form and a broken twin)."""
import re

import pytest

from losscheck import audit
from losscheck.diagnosis import maps
from losscheck.errors import UsageError
from losscheck.examples.registry import find
from losscheck.judge.state import AuditState
from losscheck.specs import SPECS
from losscheck.suspect.candidate import wrap


def state_of(name, loss_id, conventions=None):
    cand = wrap(find(name, "forms").obj)
    spec = SPECS[loss_id]
    cand.prepare(len(spec.signature))
    return AuditState.begin(spec, cand, conventions)


def test_the_text_round_trips_through_from_text():
    state = state_of("DocumentedRolesTversky", "tversky")
    text = "alpha=beta or 1-alpha, beta=alpha, smooth=2*smooth"
    assert str(maps.from_text(text, state.base_spec, state.binding)) == text


@pytest.mark.parametrize("text, words", [
    ("gamma=alpha", "not reference_parameter=expression"),
    ("alpha=beta or alpha or smooth", "more than one 'or'"),
    ("alpha=sqrt(beta)", "NAME, 1-NAME or FACTOR*NAME"),
    ("alpha=kappa", "neither a parameter of tversky nor of the candidate"),
    ("", "takes name=expression pairs"),
])
def test_a_malformed_map_is_a_usage_error_that_says_why(text, words):
    with pytest.raises(UsageError, match=re.escape(words)):
        state_of("DocumentedRolesTversky", "tversky", {maps.CONVENTION: text})


def test_a_tied_default_reads_the_other_parameter_only_when_not_given():
    state = state_of("TiedBetaTversky", "tversky", {maps.CONVENTION: "beta=beta or 1-alpha"})
    pmap = maps.from_text(state.conventions[maps.CONVENTION], state.base_spec, state.binding)
    yours = dict(state.binding.defaults)
    assert pmap.apply(yours, state.binding) == {"beta": pytest.approx(0.7)}   # not given: 1 - alpha
    assert pmap.apply({**yours, "alpha": 0.5}, state.binding) == {"beta": pytest.approx(0.5)}
    assert pmap.apply({**yours, "beta": 0.3}, state.binding) == {"beta": 0.3}   # given (explored): its own value


def test_a_rename_binds_the_candidates_parameter_and_explores_it():
    state = state_of("EpsilonLabelSmoother", "cross_entropy", {maps.CONVENTION: "label_smoothing=epsilon"})
    assert state.binding.names["label_smoothing"] == "epsilon"
    assert state.binding.defaults["label_smoothing"] == 0.1 and "label_smoothing" in state.binding.explorable
    assert "epsilon" not in state.binding.unmapped
    assert "label_smoothing" not in state.catalogue_binding.names   # the catalogue's binding is kept apart


@pytest.mark.parametrize("name, loss_id", [("DocumentedRolesTversky", "tversky"),
                                           ("EpsilonLabelSmoother", "cross_entropy")])
def test_a_declared_map_audits_clean(name, loss_id):
    e = find(name, "forms")
    text = e.variant.removeprefix(f"{maps.CONVENTION}=")
    result = audit(e.obj, as_=loss_id, max_examples=10, conventions={maps.CONVENTION: text})
    assert result.conventions[maps.CONVENTION] == text
    assert [f"{f.code}: {f.message[:200]}" for f in result.findings if f.severity != "info"] == []
    assert result.exit_code() == 0


def test_a_constant_factor_on_a_loss_proportional_to_its_parameter_is_no_parameter_map():
    """coef·1.5 reproduces a z-loss times 1.5 exactly: the map search must not take that defect for a way of reading
    coef (it passed as LC103 params=coef=1.5*coef); the correct twin stays clean."""
    from fixtures.scaled_losses import z_loss, z_loss_times_one_and_a_half

    broken = audit(z_loss_times_one_and_a_half, as_="z_loss", max_examples=10)
    assert broken.exit_code() == 1 and any(f.code == "LC101" for f in broken.findings)
    assert "params" not in broken.conventions
    assert audit(z_loss, as_="z_loss", max_examples=10).exit_code() == 0
