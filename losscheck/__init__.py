"""losscheck: audit PyTorch loss functions against float64 NumPy/SciPy references.

Importing the package is cheap: torch and hypothesis load only when an audit runs.
"""

__version__ = "0.1.0"

__all__ = ["audit", "__version__"]


def __getattr__(name):
    if name == "audit":
        from losscheck.judge.auditor import audit  # deferred: importing the package must not load torch

        return audit
    raise AttributeError(name)
