"""The HTML report: one self-contained page (inline CSS, inline SVG plots, no external URL) from a Jinja2
template with autoescaping, so that nothing a candidate says (exception text, reprs) can inject markup. The
only markup inserted unescaped is the SVG that matplotlib draws from numbers. Findings come grouped by cause
(losscheck.diagnosis.grouping): a headline with where its cause was also seen, then the findings it explains."""
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from losscheck.diagnosis.grouping import also_seen
from losscheck.report.plots import sweep_svg
from losscheck.report.summary import HEADERS, family_rows, inputs_line, suppressed_lines, tolerance_line, verdict

_env = Environment(loader=PackageLoader("losscheck.report", "templates"), autoescape=select_autoescape(["html"]))


def render(result) -> str:
    groups = result.groups
    # every finding, each group together, headline first: (finding, where its cause was also seen or None)
    findings = [(f, also_seen(g) if k == 0 else None) for g in groups for k, f in enumerate(g.findings)]
    plots = {i: Markup(sweep_svg(f.data["sweep"], f"{f.code}: candidate vs reference along {f.data['sweep']['direction']}"))
             for i, (f, _) in enumerate(findings, 1) if f.data.get("sweep")}
    return _env.get_template("report.html").render(result=result, verdict=verdict(result), headers=HEADERS,
                                                   findings=findings,
                                                   rows=family_rows(result), tolerances=tolerance_line(result),
                                                   inputs=inputs_line(result) or "-",
                                                   suppressed=suppressed_lines(result), plots=plots)
