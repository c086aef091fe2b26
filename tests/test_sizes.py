"""A candidate built for one class count (`LabelSmoothingLoss(classes=3)`, a forum classic) or one channel count
(an SSIM whose window is built per channel at construction, as pytorch-msssim's `SSIM(channel=3)`) is drawn at that
count: losscheck.judge.binding.CLASS_COUNTS and CHANNEL_COUNTS, losscheck.judge.strategies.fixed_sizes."""
import hypothesis.strategies as st
import pytest
import torch
import torch.nn.functional as F
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


class ChannelSSIM(torch.nn.Module):
    """1 - SSIM (valid Gaussian window, 11 taps, σ 1.5) whose window is made for `channel` channels at construction
    and applied with groups=channel, so any other channel count raises; `gaussian=False` is the box-window defect."""

    def __init__(self, channel=3, data_range=1.0, gaussian=True):
        super().__init__()
        x = torch.arange(11, dtype=torch.float64) - 5
        g = torch.exp(-x ** 2 / (2 * 1.5 ** 2)) if gaussian else torch.ones(11, dtype=torch.float64)
        self.register_buffer("window", (g / g.sum()).repeat(channel, 1, 1, 1))  # (channel, 1, 1, 11)
        self.channel, self.data_range = channel, data_range

    def blur(self, x):
        w = self.window.to(x.dtype)
        return F.conv2d(F.conv2d(x, w, groups=self.channel), w.transpose(2, 3), groups=self.channel)

    def forward(self, x, y):
        c1, c2 = (0.01 * self.data_range) ** 2, (0.03 * self.data_range) ** 2
        mx, my = self.blur(x), self.blur(y)
        vx, vy, cov = self.blur(x * x) - mx ** 2, self.blur(y * y) - my ** 2, self.blur(x * y) - mx * my
        return 1 - ((2 * mx * my + c1) * (2 * cov + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))).mean()


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


@pytest.mark.parametrize("channel", [3, 4])
def test_images_are_drawn_at_the_channel_count_the_candidate_was_built_for(channel):
    result = audit(ChannelSSIM, as_="ssim", init={"channel": channel}, max_examples=8)
    assert result.parameters["sizes"] == {"C": f"channel={channel}"}
    assert not result.unusable and result.ok, result.failure_text()


def test_a_box_window_built_for_three_channels_is_still_caught():
    result = audit(ChannelSSIM, as_="ssim", init={"gaussian": False}, max_examples=8)
    assert "LC102" in {f.code for f in result.findings if f.severity == "error"}, result.failure_text()
