"""cross_entropy with the classes last (convention class_axis=last): the catalogue's draws shown as padded token
sequences (losscheck.specs.classification.classes_last), and a language model's cross entropy over (B, T, V)
logits audited in that layout: exit 0 when correct (one LC103, none once declared), exit 1 naming the mistake when
it averages per sequence."""
import numpy as np

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
    flat = (np.zeros((2, 3)), np.array([0, 2]))
    assert all(a is b or np.array_equal(a, b) for a, b in zip(classes_last(flat), flat))


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
