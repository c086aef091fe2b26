"""Report writers, one module per format: text (terminal), md, json, html, junit; each has render(result) -> str.
The terminal, markdown and HTML reports lead with one headline per cause (losscheck.diagnosis.grouping) and
list the findings it explains beside it; the JSON report records the grouping.

`render(result, report_format)` is the way in: every format but JSON leaves it through `escape.printable`, so no
control character or terminal escape a candidate put in its messages reaches a terminal or a parser (JSON
escapes them itself: it is written as ASCII). Importing this package is cheap; a writer loads when used.
"""
from importlib import import_module

from losscheck.report.escape import printable

MODULES = {"text": "text", "md": "markdown", "json": "jsonreport", "html": "html", "junit": "junit"}
EXTENSIONS = {"text": "txt", "md": "md", "json": "json", "html": "html", "junit": "xml"}
FORMATS = tuple(MODULES)


def render(result, report_format: str, *, detail: str = "headlines") -> str:
    """The report of `result` in format `report_format` (one of MODULES); `detail` is the terminal report's level of
    detail (losscheck.report.text.DETAILS: summary, headlines, full), the other formats hold every finding."""
    writer = import_module(f"losscheck.report.{MODULES[report_format]}")
    text = writer.render(result, detail) if report_format == "text" else writer.render(result)
    return text if report_format == "json" else printable(text)
