"""Every check of an audit: the api.call probe (probe.py), the nine families, one module each, device.ddp
(ddp.py, on top of the losscheck.ddp machinery) and reduction.accumulation (accumulation.py, gradient accumulation
over micro-batches). Importing this package imports them, and each registers its checks (losscheck.checks.registry,
the extension point: what a family may add, and the declared ORDER); `ordered()` returns every check in the order
an audit runs them.
"""
from losscheck.checks import (accumulation, api, compile, ddp, device, gradient, precision, probe,  # noqa: F401
                              reduction, stability, target, value)
from losscheck.checks.registry import CHECKS, ordered

__all__ = ["CHECKS", "ordered"]
