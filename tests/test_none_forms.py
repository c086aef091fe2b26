"""reduction='none' in a form of its own (losscheck.judge.none_forms): found by the probe from its shape, named in an
LC403 warning, and the reference compared in that form; a defect in the other reductions is still red."""
import numpy as np

from fixtures.none_forms import per_sample_mse, per_sample_mse_summed_mean, token_cross_entropy
from losscheck import audit
from losscheck.judge import none_forms


def test_the_forms_are_read_from_the_shapes_and_applied_to_none_and_sum():
    want = np.arange(6.0).reshape(2, 3)
    assert none_forms.form_of(np.zeros(6), want) == "flattened"
    assert none_forms.form_of(np.zeros(2), want) == "per_sample"
    assert none_forms.form_of(np.zeros((2, 1)), want) == "per_sample"
    assert none_forms.form_of(np.zeros((3, 2)), want) is None and none_forms.form_of(want, want) is None
    assert none_forms.form_of(np.zeros(2), np.zeros(2)) is None
    none = lambda: want  # noqa: E731
    assert np.array_equal(none_forms.apply("flattened", want, "none", none), want.ravel())
    assert np.array_equal(none_forms.apply("per_sample", want, "none", none), [1.0, 4.0])
    assert none_forms.apply("per_sample", 15.0, "sum", none) == 5.0
    assert none_forms.apply("per_sample", 2.5, "mean", none) == 2.5 and none_forms.apply(None, 15.0, "sum", none) == 15.0


def _warned(result):
    return [f for f in result.findings if f.code == "LC403" and f.severity == "warning"]


def test_a_flattened_none_is_a_named_form_not_a_wrong_shape():
    result = audit(token_cross_entropy, as_="cross_entropy", max_examples=10)
    assert result.exit_code() == 0 and result.conventions["class_axis"] == "last"
    assert len(_warned(result)) == 1 and "flattened" in _warned(result)[0].message


def test_a_per_sample_none_is_judged_in_its_form():
    result = audit(per_sample_mse, as_="mse", max_examples=10)
    assert result.exit_code() == 0 and "one value per sample" in _warned(result)[0].message
    broken = audit(per_sample_mse_summed_mean, as_="mse", max_examples=10)
    assert broken.exit_code() == 1
