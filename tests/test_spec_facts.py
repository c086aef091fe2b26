"""Every fact of a loss that another module needs lives in its spec, and every spec has it: a new loss that
lacks one fails here, with the file to complete named (the README's "Adding a loss" lists the same)."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from losscheck.tables.guessing import keyword_ids, keywords
from losscheck.specs import SPECS

TESTS = Path(__file__).resolve().parent
SPEC_IDS = sorted(SPECS)


def _camel(name: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in name.split()) + "Loss"


@pytest.mark.parametrize("loss_id", SPEC_IDS)
def test_init_can_guess_the_loss_from_its_names(loss_id):
    spec = SPECS[loss_id]
    assert spec.naming.words, f"{loss_id}: no `names` in its spec, so `losscheck init` can never guess it"
    for name in spec.naming.words:
        assert loss_id in keyword_ids(_camel(name)), f"{loss_id}: {_camel(name)} guesses {keyword_ids(_camel(name))}"


def test_every_name_row_of_init_names_a_catalogue_id_or_none():
    assert {i for _, ids in keywords() for i in ids} == set(SPECS)


@pytest.mark.parametrize("loss_id", SPEC_IDS)
def test_reference_and_spec_live_in_their_family_modules_and_the_reference_names_its_source(loss_id):
    spec = SPECS[loss_id]
    assert spec.reference.__module__ == f"losscheck.references.{spec.family}", \
        f"{loss_id}: its reference belongs in references/{spec.family}.py"
    assert inspect.getmodule(spec.draw_inputs).__name__ == f"losscheck.specs.{spec.family}", \
        f"{loss_id}: its spec and draw function belong in losscheck/specs/{spec.family}.py"
    doc = inspect.getdoc(spec.reference) or ""
    assert "Source" in doc or "source" in doc, f"{loss_id}: the reference's docstring names no source"


@pytest.mark.parametrize("loss_id", SPEC_IDS)
def test_the_reference_has_its_own_tests(loss_id):
    name = SPECS[loss_id].reference.__name__
    tested = [p.name for p in sorted(TESTS.glob("test_references*.py")) if f"{name}(" in p.read_text(encoding="utf-8")]
    assert tested, f"{loss_id}: no tests/test_references*.py calls {name}()"


@pytest.mark.parametrize("loss_id", [i for i in SPEC_IDS if "onehot" in SPECS[i].target_formats])
def test_a_batch_pooled_overlap_says_what_to_all_reduce(loss_id):
    """A mask overlap (Dice, Tversky) pooled over the batch cannot be averaged across ranks: LC606's advice
    (losscheck/ddp/advice.py) names the sums to all-reduce from the spec's `batch_overlap`."""
    overlap = SPECS[loss_id].advice.batch_overlap
    assert overlap and all(overlap), f"{loss_id}: no batch_overlap (what it is, the sums to all-reduce)"


@pytest.mark.parametrize("loss_id", SPEC_IDS)
def test_a_correct_implementation_is_audited(loss_id):
    """A correct implementation of every id is audited clean somewhere: a correct twin in the corpus
    (losscheck/examples/<family>.py) or a torch built-in (tests/test_builtins.py)."""
    from losscheck.examples.registry import examples

    twins = [e.name for e in examples() if e.loss_id == loss_id and e.clean]
    assert twins or SPECS[loss_id].torch, \
        f"{loss_id}: no correct twin in losscheck/examples/{SPECS[loss_id].family}.py and no torch built-in"
