"""Tiny loss modules the CLI tests audit (by file path): a correct one, buggy ones, a noisy one.

Audit them as `tests/data/sample_losses.py:Name --as ID`.
"""
import torch


class GoodMSE(torch.nn.Module):
    """A correct mean squared error with the three torch reductions."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        d = (input - target) ** 2
        if self.reduction == "mean":
            return d.mean()
        if self.reduction == "sum":
            return d.sum()
        return d


class SumMSE(torch.nn.Module):
    """Buggy: always sums (wrong value for 'mean', and the reduction argument is ignored)."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return ((input - target) ** 2).sum()


class Criterion(GoodMSE):
    """GoodMSE under a name that says nothing: without --as, no catalogue id can be guessed for it."""


class Float64MSE(GoodMSE):
    """Right values, but the result is float64 whatever the input dtype (a warning, not an error)."""

    def forward(self, input, target):
        return super().forward(input.double(), target.double())


class ScriptInMessage(torch.nn.Module):
    """Raises on every call with markup in its message: reports must escape it."""

    def forward(self, input, target):
        raise ValueError("<script>alert(1)</script>")


HOSTILE = ("\x1b[31mred\x1b[0m \x1b]0;pwned\x07 \x07bell \x00nul \u202eevil\u202c \udcff "
           "<img src=x onerror=alert(1)> ``` `tick` \rback")


class HostileMessage(torch.nn.Module):
    """Raises on every call with terminal escapes, control characters, bidi overrides and markup in its message:
    every writer and the stderr line must neutralise them."""

    def forward(self, input, target):
        raise ValueError(HOSTILE)
