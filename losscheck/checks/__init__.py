"""Every check of an audit: the api.call probe (probe.py), the eight families, one module each, and device.ddp
(ddp.py, on top of the losscheck.ddp machinery). Importing this package imports them, and each registers its
checks (losscheck.checks.registry, the extension point: what a family may add, and the declared ORDER);
`ordered()` returns every check in the order an audit runs them.
"""
from losscheck.checks import api, ddp, device, gradient, precision, probe, reduction, stability, target, value  # noqa: F401
from losscheck.checks.registry import CHECKS, ordered

__all__ = ["CHECKS", "ordered"]
