"""Every check of an audit, registered in checks.base.CHECKS: the api.call probe (probe.py), the seven families,
one module each, and device.ddp (ddp.py, on top of the losscheck.ddp machinery). `ordered()` imports them (each
registers its checks as it loads) and returns them in the order an audit runs them.

The modules are imported on first use, not when this package is: diagnose and sweep import checks.base,
and a family imports diagnose, so importing them here would close an import circle.
"""
from importlib import import_module

from losscheck.checks.base import CHECKS
from losscheck.pitfalls import FAMILIES

_MODULES = ("probe", "api", "device", "gradient", "reduction", "stability", "target", "value", "ddp")


def ordered():
    """Every registered check: those declared `runs_first`, then the families in pitfalls.FAMILIES' order, then
    those declared `runs_last`; within one of these, in registration order."""
    for name in _MODULES:
        import_module(f"losscheck.checks.{name}")
    return sorted(CHECKS, key=lambda c: (0 if c.runs_first else 2 if c.runs_last else 1, FAMILIES.index(c.family)))


__all__ = ["CHECKS", "ordered"]
