"""Shared helpers of the tests that audit a loss and read its AuditResult: `loud`, what a clean audit must not
have (the conventions tests: test_*_conventions.py), and `assert_audits_to_row`, an audit against its row of
losscheck.tables.libraries (test_libraries.py, test_lovasz_library.py)."""
from __future__ import annotations


def loud(result):
    """Error and warning findings, and checks that crashed: a clean audit has none."""
    return ([f"{f.code} ({f.check}): {f.message[:300]}" for f in result.findings if f.severity != "info"]
            + [f"{c.name}: {c.detail}" for c in result.checks if c.status == "error"])


def assert_audits_to_row(result, entry):
    """The audit's verdict and its error and warning codes are the row's (a LibraryLoss), and no check crashed. The
    precision screen's warnings are left out: on 6 draws per dtype, whether one lands past fp16's overflow (SSIM's
    products of local moments at data range 255) varies with the draws, so the rows note them in words."""
    __tracebackhide__ = True
    codes = sorted({f.code for f in result.findings if f.severity != "info"
                    and not (f.family == "precision" and f.severity == "warning")})
    assert (result.verdict, codes) == (entry.verdict, sorted(entry.codes)), \
        "\n".join(f"{f.code} {f.check}: {f.message[:200]}" for f in result.findings)
    assert not [c.name for c in result.checks if c.status == "error"]
