"""Every known variant is diagnosed by name: for each Variant a spec lists (`variants=`), each non-default option
of each of its conventions (`conventions=`, an LC103 variant named "name=value") and each COMMON variant (on one
spec), a small hand-written candidate with exactly that mistake, written the way people write it, must get a
finding with the variant's code whose message names the variant. Every spec involved has a correct twin that
gets no error or warning finding, and declaring a convention (`conventions={name: value}`) makes the candidate
that follows it audit without an LC103 for that convention.

The candidates are the corpus's "variants" and "common" tables (losscheck/examples/<family>.py).
`test_every_variant_and_convention_has_a_candidate` enumerates the catalogue, so a new variant or convention
option without a candidate there fails it.
"""
import functools

import pytest

from losscheck import audit
from losscheck.examples.registry import examples
from losscheck.specs import SPECS
from losscheck.diagnosis.variants import COMMON

MAX_EXAMPLES = 20


# (loss id, variant name, expected code, candidate with exactly that mistake), from the corpus (losscheck/examples/)
VARIANTS = [(e.loss_id, e.variant, e.code, e.obj) for e in examples("variants") if not e.clean]

# The COMMON variants (losscheck.diagnosis.variants.COMMON), each on one spec.
COMMON_CASES = [(e.loss_id, e.variant, e.code, e.obj) for e in examples("common")]

# One correct twin per id.
TWINS = {e.loss_id: e.obj for e in examples("variants") if e.clean}

# Variants the engine does not name on their candidate (kept as strict xfails; see the reasons).
XFAIL = {}

# Correct twins the engine reports anyway (kept as strict xfails; see the reasons).
TWIN_XFAIL = {}


@functools.lru_cache(maxsize=None)
def audited(candidate, loss_id, conventions=()):
    """One audit per (candidate, id, declared conventions) in this process, by the default families (the precision
    screen's low-precision warnings on losses correct in float32 have their own twins in tests/test_precision.py)."""
    return audit(candidate, as_=loss_id, max_examples=MAX_EXAMPLES, conventions=dict(conventions),
                 precision_screen=False)


def summary(result):
    return [f"{f.code} ({f.check}): {f.message[:200]}" for f in result.findings]


def internal_errors(result):
    return [f"{c.name}: {c.detail}" for c in result.checks if c.status == "error"]


def params(rows):
    out = []
    for loss_id, name, code, candidate in rows:
        reason = XFAIL.get((loss_id, name))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(loss_id, name, code, candidate, marks=marks, id=f"{loss_id}:{name}"))
    return out


def spec_variant_names(spec):
    """(name, code) of every variant a spec brings: its own, and one LC103 per non-default convention option the
    value search can find (a declared_only one is found by the candidate's settings, never reported as LC103)."""
    names = [(v.name, v.code) for v in spec.variants]
    names += [(f"{c.name}={value}", "LC103") for c in spec.conventions for value, option in c.options.items()
              if value != c.default and not option.declared_only]  # declared ones: test_imagetext_conventions
    return names


def test_every_variant_and_convention_has_a_candidate():
    expected = {(spec.id, name): code for spec in SPECS.values() for name, code in spec_variant_names(spec)}
    table = {(loss_id, name): code for loss_id, name, code, _ in VARIANTS}
    assert sorted(set(expected) - set(table)) == [], "variants without a candidate in losscheck/examples/"
    assert sorted(set(table) - set(expected)) == [], "candidates for variants the catalogue no longer has"
    assert {k: v for k, v in table.items() if expected[k] != v} == {}, "expected codes differ from the variants'"
    assert sorted({v.name for v in COMMON} - {name for _, name, _, _ in COMMON_CASES}) == []
    assert all(name in {v.name for v in COMMON} for _, name, _, _ in COMMON_CASES)
    assert len(table) == len(VARIANTS), "a variant is listed twice"
    involved = {loss_id for loss_id, *_ in VARIANTS + COMMON_CASES}
    assert sorted(involved - set(TWINS)) == [], "specs without a correct twin"
    assert len(TWINS) == len([e for e in examples("variants") if e.clean]), "an id has two correct twins"
    assert set(XFAIL) <= set(table) | {(i, n) for i, n, _, _ in COMMON_CASES}


@pytest.mark.parametrize("loss_id, name, code, candidate", params(VARIANTS + COMMON_CASES))
def test_variant_is_named(loss_id, name, code, candidate):
    result = audited(candidate, loss_id)
    hits = [f for f in result.findings if f.code == code and name in f.message]
    assert hits, f"{loss_id}: expected {code} naming {name!r}; got {summary(result)}"
    assert [f.data.get("variant") for f in hits] == [name], summary(result)
    assert internal_errors(result) == []


@pytest.mark.parametrize("loss_id", [
    pytest.param(loss_id, marks=[pytest.mark.xfail(strict=True, reason=TWIN_XFAIL[loss_id])] if loss_id in TWIN_XFAIL
                 else []) for loss_id in sorted(TWINS)])
def test_correct_twin_is_clean(loss_id):
    result = audited(TWINS[loss_id], loss_id)
    assert [f"{f.code} ({f.check}): {f.message}" for f in result.findings if f.severity != "info"] == []
    assert internal_errors(result) == []


CONVENTION_CASES = [(loss_id, name, code, candidate) for loss_id, name, code, candidate in VARIANTS if code == "LC103"]


@pytest.mark.parametrize("loss_id, name, code, candidate", params(CONVENTION_CASES))
def test_declared_convention_is_not_reported(loss_id, name, code, candidate):
    convention, _, value = name.partition("=")
    result = audited(candidate, loss_id, ((convention, value),))
    assert result.conventions[convention] == value
    named = [f for f in result.findings if f.code == "LC103" and (
        f"{convention}=" in f.message or any(c[0] == convention for c in f.data.get("conventions", ())))]
    assert named == [], summary(result)
    value_findings = [f for f in result.findings if f.check == "value.reference"]
    assert value_findings == [], summary(result)
    assert internal_errors(result) == []
