"""A small external repository, written into a temporary folder, that uses losscheck the way a team would:
a package `mypkg` with a correct MSE (`GoodMSE`) and a buggy one (`SumMSE`: 'mean' sums instead of
averaging), and a pyproject.toml whose [tool.losscheck] lists both with `max-examples = 5`.

Used by tests/test_plugin.py (pytester) and tests/test_gate.py (`losscheck ci`).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

MSE = '''\
import torch


class {name}(torch.nn.Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        d = (input - target) ** 2
        if self.reduction == "none":
            return d
        if self.reduction == "sum":
            return d.sum()
        return {mean}
'''
CORRECT_MEAN = "d.mean()"
BUGGY_MEAN = "d.sum()  # bug: 'mean' sums"

LOSSES = {"GoodMSE": CORRECT_MEAN, "SumMSE": BUGGY_MEAN}

PYPROJECT = '''\
[project]
name = "mypkg"
version = "0.0.1"

[tool.pytest.ini_options]
pythonpath = ["."]
addopts = "-p no:cacheprovider"

[tool.losscheck]
max-examples = 5
{extra}
[[tool.losscheck.loss]]
target = "mypkg.losses:GoodMSE"
as = "mse"

[[tool.losscheck.loss]]
target = "mypkg.losses:SumMSE"
as = "mse"
'''

GOOD, BUGGY = "mypkg.losses:GoodMSE", "mypkg.losses:SumMSE"
FAMILIES = ("value", "stability", "gradient", "reduction", "target", "device", "api", "precision", "compile")


def write_losses(root: Path, **means: str) -> None:
    """mypkg/losses.py with each class's 'mean' expression (default: GoodMSE correct, SumMSE buggy)."""
    pkg = Path(root) / "mypkg"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    chosen = {**LOSSES, **means}
    (pkg / "losses.py").write_text("\n\n".join(MSE.format(name=n, mean=m) for n, m in chosen.items()))


def write_pyproject(root: Path, extra: str = "") -> None:
    (Path(root) / "pyproject.toml").write_text(PYPROJECT.format(extra=textwrap.dedent(extra)))


def make_repo(root: Path, extra: str = "") -> Path:
    write_losses(root)
    write_pyproject(root, extra)
    return Path(root)
