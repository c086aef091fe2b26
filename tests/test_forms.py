"""Definitions in a form the catalogue does not list (issue 20): the corpus's "forms" table. A correct loss written
in such a form (the Tversky form of Dice, denominator-only smoothing with the empty case apart, ...) exits 0 with
exactly one LC103 warning naming the form it follows, and the rest of its audit runs against that form; its broken
twin, written in the same form, is still an error, named by its code. A loss that agrees with the reference at the
user's configuration and parts from it only at explored parameter values (EXPLORED_ONLY) gets warnings that name
the parameter and both values, never an error."""
import functools

import pytest

from losscheck import audit
from losscheck.examples.registry import examples

SUITE = "forms"
MAX_EXAMPLES = 20
# name -> (parameter, the user's value): defects that show only at values the audit explored
EXPLORED_ONLY = {"HuberAsSmoothL1AtOne": ("delta", 1.0)}
CORRECT = [e for e in examples(SUITE) if e.code == "LC103"]
BROKEN = [e for e in examples(SUITE) if e.code != "LC103" and e.name not in EXPLORED_ONLY]
EXPLORED = [e for e in examples(SUITE) if e.name in EXPLORED_ONLY]


@functools.lru_cache(maxsize=None)
def audited(obj, loss_id):
    return audit(obj, as_=loss_id, max_examples=MAX_EXAMPLES)


def summary(result):
    return [f"{f.code} {f.severity} ({f.check}): {f.message[:240]}" for f in result.findings]


def test_the_table_has_both_sides():
    assert CORRECT and BROKEN and len(EXPLORED) == len(EXPLORED_ONLY)
    assert all(e.variant for e in CORRECT), "a correct form names the convention its LC103 must name"


@pytest.mark.parametrize("e", CORRECT, ids=lambda e: e.name)
def test_correct_form_exits_0_with_one_warning_naming_it(e):
    result = audited(e.obj, e.loss_id)
    raised = [f for f in result.findings if f.severity != "info"]
    assert [(f.code, f.severity) for f in raised] == [("LC103", "warning")], summary(result)
    assert raised[0].data.get("variant") == e.variant and e.variant in raised[0].message, summary(result)
    assert result.exit_code() == 0
    assert [c.name for c in result.checks if c.status == "error"] == []


@pytest.mark.parametrize("e", BROKEN, ids=lambda e: e.name)
def test_broken_twin_is_still_an_error(e):
    result = audited(e.obj, e.loss_id)
    assert [f for f in result.findings if f.code == e.code and f.severity == "error"], summary(result)
    assert result.exit_code() == 1


@pytest.mark.parametrize("e", EXPLORED, ids=lambda e: e.name)
def test_disagreement_only_at_explored_values_is_a_warning_naming_both(e):
    result = audited(e.obj, e.loss_id)
    name, yours = EXPLORED_ONLY[e.name]
    (code, words), = e.expect.items()
    hits = [f for f in result.findings if f.code == code and words in f.message.lower()]
    assert hits and all(f.severity == "warning" for f in hits), summary(result)
    explored = hits[0].data["explored_only"]
    assert list(explored) == [name] and explored[name][1] == yours and explored[name][0] != yours
    assert f"{name}={explored[name][0]!r} (yours: {yours!r})" in hits[0].message
    assert [f for f in result.findings if f.severity == "error"] == [], summary(result)
    assert result.exit_code() == 0


# Losses that agree with the reference at the user's own configuration (correct in their form, or parting from it only
# at explored values): not one of their findings may be an error "at X (explored; your configuration uses Y)".
AGREE_ON_YOURS = CORRECT + EXPLORED


def test_no_error_is_reported_at_an_explored_value_on_a_loss_that_agrees_on_yours():
    bad = [f"{e.name}: {line}" for e in AGREE_ON_YOURS for f, line in zip(
        audited(e.obj, e.loss_id).findings, summary(audited(e.obj, e.loss_id)))
        if f.severity == "error" and "(explored; your configuration uses" in f.message]
    assert bad == []
