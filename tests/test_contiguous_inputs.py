"""Every check but device.layout hands the candidate contiguous tensors: a loss that flattens with .view() is
told about it once (LC605), not once per family through targets that NumPy built as views (a one-hot target
from moveaxis)."""
import numpy as np
import torch

from losscheck import audit
from losscheck.judge.cases import to_tensor

VIEW_DICE = '''
import torch


class ViewDice(torch.nn.Module):
    """Soft Dice per sample and channel, flattened with .view() as blog posts do."""

    def forward(self, input, target):
        n, c = input.shape[:2]
        p, g = input.view(n, c, -1), target.view(n, c, -1)
        return (1 - (2 * (p * g).sum(-1) + 1.0) / (p.sum(-1) + g.sum(-1) + 1.0)).mean()
'''


def test_to_tensor_is_contiguous_whatever_the_array():
    a = np.moveaxis(np.eye(3)[np.array([[0, 1], [2, 0]])], -1, 1)
    assert not a.flags.c_contiguous
    assert to_tensor(a, "float32").is_contiguous() and torch.equal(to_tensor(a, "float64"), torch.tensor(a))


def test_a_view_flattening_dice_gets_lc605_only(tmp_path):
    (tmp_path / "viewdice.py").write_text(VIEW_DICE)
    result = audit(f"{tmp_path / 'viewdice.py'}:ViewDice", as_="dice", max_examples=10)
    codes = {f.code for f in result.findings if f.severity != "info"}
    assert codes == {"LC605"}, [(f.code, f.message[:120]) for f in result.findings]


def test_to_tensor_keeps_a_0d_target_0d():
    assert to_tensor(np.array(2), "float32").shape == ()
