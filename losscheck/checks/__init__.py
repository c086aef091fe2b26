"""The seven check families, one module each; importing this package registers every check in order."""
from losscheck.checks import api, device, gradient, reduction, stability, target, value  # noqa: F401
from losscheck.checks.base import CHECKS

FAMILY_ORDER = ("value", "stability", "gradient", "reduction", "target", "device", "api")


def ordered():
    return sorted(CHECKS, key=lambda c: FAMILY_ORDER.index(c.family))


__all__ = ["CHECKS", "FAMILY_ORDER", "ordered"]
