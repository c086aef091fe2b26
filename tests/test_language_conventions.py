"""The language-model ids audit correct library-style losses clean in each of their conventions and call forms:
TRL's DPO with loss_type 'ipo' or 'hinge' (its own parameter declares the convention), a causal LM loss given
its labels already shifted (the call form its `shift_labels` argument names), a distillation loss that takes
the hard labels (the call form with labels third, Hinton's alpha mix declared), and transformers' ForCausalLMLoss
called as a trainer calls it (its `vocab_size` follows the logits). The corpus losses live in
losscheck/examples/language.py; tests/test_catalogue.py and tests/test_variants.py audit its other tables.
"""
from __future__ import annotations

import pytest

from losscheck import audit
from losscheck.examples.registry import find
from audit_checks import loud

MAX_EXAMPLES = 15


@pytest.mark.parametrize("loss_type", ["ipo", "hinge", "robust"])
def test_trl_style_dpo_declares_its_loss_type(loss_type):
    init = {"loss_type": loss_type, **({"label_smoothing": 0.1} if loss_type == "robust" else {})}
    result = audit(find("CorrectDPO", "catalogue").obj, as_="dpo", init=init, max_examples=MAX_EXAMPLES)
    assert result.conventions["loss_type"] == loss_type
    assert loud(result) == []


def test_causal_lm_on_already_shifted_labels_is_the_shift_labels_form():
    """Audited on unshifted labels the same loss would be the "unshifted" defect: clean means the form was used."""
    result = audit(find("causal_lm_on_shifted_labels").obj, as_="causal_lm", max_examples=MAX_EXAMPLES)
    assert loud(result) == []


def test_transformers_for_causal_lm_loss_gets_vocab_size_from_the_logits():
    """ForCausalLMLoss(logits, labels, vocab_size, ...): vocab_size follows the logits (Param.follows), so the
    loss audits as a user calls it, with no --init."""
    result = audit(find("ForCausalLMLoss").obj, as_="causal_lm", max_examples=MAX_EXAMPLES)
    assert result.parameters["bound"]["vocab_size"] == "vocab_size"
    assert [f.code for f in result.findings if f.severity != "info"] == ["LC605"], loud(result)  # .view()


def test_an_unshifted_loss_is_named_and_told_about_shift_labels():
    result = audit(find("lm_loss_unshifted").obj, as_="causal_lm", max_examples=MAX_EXAMPLES)
    named = [f for f in result.findings if f.data.get("variant") == "unshifted"]
    assert named and "shift_labels" in named[0].message


def test_distillation_with_hard_labels_is_clean_once_alpha_mix_is_declared():
    result = audit(find("kd_with_hard_labels").obj, as_="kd", conventions={"mix": "alpha"},
                   max_examples=MAX_EXAMPLES)
    assert result.conventions["mix"] == "alpha"
    assert loud(result) == []


def test_distillation_as_the_soft_target_cross_entropy_is_a_form_of_kd():
    """Hinton's soft-target cross entropy is the KL plus the teacher's entropy: the same student gradient, found as
    kd's form=cross_entropy (LC103), where it was red (LC101, LC202); without its T² it is still red."""
    from fixtures.soft_targets import soft_target_ce, soft_target_ce_no_t2

    result = audit(soft_target_ce, as_="kd", max_examples=10)
    assert result.exit_code() == 0 and result.conventions["form"] == "cross_entropy"
    assert audit(soft_target_ce_no_t2, as_="kd", max_examples=10).exit_code() == 1
