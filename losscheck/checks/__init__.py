"""The seven check families, one module each. `ordered()` imports them (each registers its checks in
checks.base.CHECKS as it loads) and returns every check in family order.

The families are imported on first use, not when this package is: diagnose and sweep import checks.base,
and a family imports diagnose, so importing them here would close an import circle.
"""
from importlib import import_module

from losscheck.checks.base import CHECKS
from losscheck.pitfalls import FAMILIES

_MODULES = ("api", "device", "gradient", "reduction", "stability", "target", "value")


def ordered():
    """Every registered check, the families in pitfalls.FAMILIES' order and, within one, in registration order."""
    for name in _MODULES:
        import_module(f"losscheck.checks.{name}")
    return sorted(CHECKS, key=lambda c: FAMILIES.index(c.family))


__all__ = ["CHECKS", "ordered"]
