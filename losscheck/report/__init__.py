"""Report writers, one module per format: text (terminal), md, json, html, junit, sarif; each has render(result) -> str.
The terminal, markdown and HTML reports lead with one headline per cause (losscheck.diagnosis.grouping) and
list the findings it explains beside it; the JSON report records the grouping.

`render(result, report_format)` is the way in: every format but JSON leaves it through `escape.printable`, so no
control character or terminal escape a candidate put in its messages reaches a terminal or a parser (JSON and
SARIF escape them themselves: they are written as ASCII). Importing this package is cheap; a writer loads when used.
"""
from importlib import import_module

from losscheck.report.escape import printable

MODULES = {"text": "text", "md": "markdown", "json": "jsonreport", "html": "html", "junit": "junit", "sarif": "sarif"}
EXTENSIONS = {"text": "txt", "md": "md", "json": "json", "html": "html", "junit": "xml", "sarif": "sarif"}
ASCII_JSON = ("json", "sarif")  # formats that escape a candidate's text themselves
FORMATS = tuple(MODULES)


def render(result, report_format: str, *, detail: str = "headlines") -> str:
    """The report of `result` in format `report_format` (one of MODULES); `detail` is the terminal report's level of
    detail (losscheck.report.text.DETAILS: summary, headlines, full), the other formats hold every finding."""
    writer = import_module(f"losscheck.report.{MODULES[report_format]}")
    text = writer.render(result, detail) if report_format == "text" else writer.render(result)
    return text if report_format in ASCII_JSON else printable(text)
