"""cross_entropy with the classes last (convention class_axis=last): the catalogue's draws shown as padded token
sequences (losscheck.specs.classification.classes_last), and a language model's cross entropy over (B, T, V)
logits audited in that layout: exit 0 when correct (one LC103, none once declared), exit 1 naming the mistake when
it averages per sequence."""
import numpy as np

from fixtures.flattened_tokens import FlattenedCrossEntropy, FlattenedPaddingCounted
from losscheck import audit
from losscheck.examples.classification import LanguageModelCrossEntropy, SequenceMeanCrossEntropy
from losscheck.diagnosis.conventions import declare
from losscheck.specs import SPECS
from losscheck.specs.classification import IGNORE_INDEX, classes_last


def test_spatial_draws_become_padded_token_sequences_and_flat_ones_stay():
    x = np.arange(3 * 4 * 2 * 2, dtype=np.float64).reshape(3, 4, 2, 2)  # (N, C, H, W)
    t = np.ones((3, 2, 2), dtype=np.int64)
    tokens, labels = classes_last((x, t))
    assert tokens.shape == (3, 4, 4) and labels.shape == (3, 4)
    assert np.array_equal(tokens[1, 2], x[1, :, 1, 0])  # position (h=1, w=0) of sample 1, its C logits last
    assert [int(np.sum(row == IGNORE_INDEX)) for row in labels] == [0, 1, 2]  # sequence i padded at its last i
    tokens, labels = classes_last((np.arange(6.0).reshape(2, 3), np.array([0, 2])))  # (N, C): N one-token sequences
    assert tokens.shape == (2, 1, 3) and np.array_equal(tokens[1, 0], [3.0, 4.0, 5.0])
    assert np.array_equal(labels, [[0], [2]])  # a sequence of one token keeps it
    unbatched = (np.zeros(3), np.array(1))
    assert all(a is b or np.array_equal(a, b) for a, b in zip(classes_last(unbatched), unbatched))


def test_language_model_layouts_draw_class_indices_only():
    """Language-model code takes labels (B, T): in the class-last domains only class indices are drawn, so a loss
    that flattens (B, T) is never shown (N, C) probability targets it would take as one unbatched row."""
    spec = SPECS["cross_entropy"]
    assert spec.target_formats == ("indices", "probabilities")
    for value in ("last", "last_chunked"):
        assert declare(spec, {"class_axis": value})[0].target_formats == ("indices",)


def test_a_language_model_cross_entropy_is_audited_in_its_own_layout():
    result = audit(LanguageModelCrossEntropy, as_="cross_entropy", max_examples=20)
    assert result.exit_code() == 0 and result.conventions["class_axis"] == "last"
    assert [f.code for f in result.findings if f.severity != "info"] == ["LC103"]
    declared = audit(LanguageModelCrossEntropy, as_="cross_entropy", max_examples=20,
                     conventions={"class_axis": "last"})
    assert [f.code for f in declared.findings if f.severity != "info"] == []


def test_a_mean_per_sequence_exits_1_named():
    result = audit(SequenceMeanCrossEntropy, as_="cross_entropy", max_examples=20)
    assert result.exit_code() == 1
    assert any(f.code == "LC102" and f.data.get("variant") == "mean per sequence then over sequences"
               for f in result.findings)


def test_a_loss_that_flattens_the_tokens_is_audited_in_its_own_layout():
    """flatten(0, 1) refuses (N,) class indices on (N, C) but runs on (N, C) probability targets as one unbatched row
    of N·C logits, with values that are no cross entropy of them: the probe tries the class-last domain, where
    (N, C) is N one-token sequences. Before, the correct loss was red there (LC101, LC202, LC303, LC405, LC502); its
    twin that counts the padding is red named, its padded sequences judged by their values (not set aside as a
    layout the candidate does not take)."""
    result = audit(FlattenedCrossEntropy, as_="cross_entropy", max_examples=20)
    assert result.exit_code() == 0 and result.conventions["class_axis"] == "last"
    assert [f.code for f in result.findings if f.severity != "info"] == ["LC103"]
    broken = audit(FlattenedPaddingCounted, as_="cross_entropy", max_examples=20)
    assert broken.exit_code() == 1 and broken.conventions["class_axis"] == "last"
    assert any(f.code == "LC102" and f.data.get("variant") == "ignored targets in the denominator"
               for f in broken.findings)
