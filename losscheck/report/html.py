"""The HTML report: one self-contained page from a Jinja2 template with autoescaping, so that nothing a
candidate says (exception text, reprs) can inject markup."""
from jinja2 import Environment, PackageLoader, select_autoescape

from losscheck.report.summary import HEADERS, family_rows, tolerance_line, verdict

_env = Environment(loader=PackageLoader("losscheck.report", "templates"), autoescape=select_autoescape(["html"]))


def render(result) -> str:
    return _env.get_template("report.html").render(result=result, verdict=verdict(result), headers=HEADERS,
                                                   rows=family_rows(result), tolerances=tolerance_line(result))
