"""losscheck: audit PyTorch loss functions against float64 NumPy/SciPy references.

Importing the package is cheap: torch and hypothesis load only when an audit runs.
"""

__version__ = "0.1.0"

__all__ = ["audit", "AuditOptions", "AuditRequest", "__version__"]


def __getattr__(name):
    """The public names, each loaded on first use."""
    if name == "audit":
        from losscheck.judge.auditor import audit  # heavy (torch, hypothesis): `import losscheck` stays cheap

        return audit
    if name in ("AuditOptions", "AuditRequest"):
        from losscheck import options  # loaded on first use: `import losscheck` stays cheap

        return getattr(options, name)
    raise AttributeError(name)
