"""A candidate built for one class count (`LabelSmoothingLoss(classes=3)`, a forum classic) is drawn at that
count: losscheck.judge.binding.CLASS_COUNTS and losscheck.judge.strategies.fixed_sizes."""
import hypothesis.strategies as st
import pytest
import torch
from hypothesis import given

from losscheck import audit
from losscheck.judge.strategies import distinct_sizes, fixed_sizes, size


class LabelSmoothingLoss(torch.nn.Module):
    """Smoothing spread over the other classes, for a class count fixed at construction."""

    def __init__(self, classes=3, smoothing=0.1, log_softmax=True):
        super().__init__()
        self.cls, self.smoothing, self.log_softmax = classes, smoothing, log_softmax

    def forward(self, pred, target):
        pred = pred.log_softmax(dim=1) if self.log_softmax else pred
        true = torch.full_like(pred, self.smoothing / (self.cls - 1))
        true.scatter_(1, target.unsqueeze(1), 1.0 - self.smoothing)
        return torch.mean(torch.sum(-true * pred, dim=1))


@given(st.data())
def test_a_fixed_size_holds_whatever_its_range(data):
    with fixed_sizes({"C": 7}):
        assert size(data.draw, "C", 2, 5) == 7
        assert 2 <= size(data.draw, "N", 2, 4) <= 4
    with distinct_sizes(), fixed_sizes({"C": 3}):
        assert size(data.draw, "C", 1, 5) == 3 and size(data.draw, "N", 2, 4) != 3


@pytest.mark.parametrize("classes", [3, 4])
def test_inputs_are_drawn_at_the_class_count_the_candidate_was_built_for(classes):
    result = audit(LabelSmoothingLoss, as_="cross_entropy", init={"classes": classes}, max_examples=8)
    assert result.parameters["sizes"] == {"C": f"classes={classes}"}
    assert not [f for f in result.findings if f.severity == "error"], result.failure_text()
    assert [f.code for f in result.findings if f.check == "value.reference"] == ["LC103"]  # other_classes form


def test_a_broken_twin_built_for_three_classes_is_still_caught():
    result = audit(LabelSmoothingLoss, as_="cross_entropy", init={"classes": 3, "log_softmax": False},
                   max_examples=8)
    assert "LC101" in {f.code for f in result.findings if f.severity == "error"}
