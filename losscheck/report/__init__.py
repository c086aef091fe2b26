"""Report writers, one module per format: text (terminal), md, json, html, junit; each has render(result) -> str.

`render(result, report_format)` is the way in: every format but JSON leaves it through `escape.printable`, so no
control character or terminal escape a candidate put in its messages reaches a terminal or a parser (JSON
escapes them itself: it is written as ASCII). Importing this package is cheap; a writer loads when used.
"""
from importlib import import_module

from losscheck.report.escape import printable

MODULES = {"text": "text", "md": "markdown", "json": "jsonreport", "html": "html", "junit": "junit"}
EXTENSIONS = {"text": "txt", "md": "md", "json": "json", "html": "html", "junit": "xml"}
FORMATS = tuple(MODULES)


def render(result, report_format: str) -> str:
    """The report of `result` in format `report_format` (one of MODULES)."""
    text = import_module(f"losscheck.report.{MODULES[report_format]}").render(result)
    return text if report_format == "json" else printable(text)
