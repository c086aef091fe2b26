"""The markdown report (GitHub flavour): verdict, per-family table, findings in fenced blocks, settings. Findings
come grouped by cause (losscheck.diagnosis.grouping): each headline with where its cause was also seen, then the
findings it explains.

Text a candidate controls (its target, messages, examples, reproducers, check details, what its layouts
raised) appears only inside code spans and fences (losscheck.report.escape), so no markup of its own renders.
"""
from tabulate import tabulate

from losscheck.diagnosis.grouping import also_seen
from losscheck.report.escape import code_span, fenced
from losscheck.report.summary import HEADERS, family_rows, inputs_line, suppressed_lines, tolerance_line, verdict


def render(result) -> str:
    out = [f"# losscheck: {code_span(result.target)} as {code_span(result.parameters['loss'])}", "",
           f"**{verdict(result)}**", "", tabulate(family_rows(result), headers=HEADERS, tablefmt="github"), ""]
    for g in result.groups:
        for k, f in enumerate(g.findings):
            heading = f"## {f.code}" if k == 0 else f"### Same cause: {f.code}"
            out += [f"{heading} ({f.severity}, {f.family}): {f.title}", "", *fenced(f.message, "text"), ""]
            if k == 0 and g.others:
                out += ["Also seen in:", "", *(f"- {code_span(line)}" for line in also_seen(g)), ""]
            out += ["Example:", "", *fenced(f.example, "python"), "", "Reproducer:", "", *fenced(f.reproducer, "python"),
                    ""]
    if result.suppressed:
        out += ["## Suppressed in the source", "", *(f"- {code_span(line)}" for line in suppressed_lines(result)), ""]
    skipped = [c for c in result.checks if c.status in ("skip", "error")]
    if skipped:
        out += ["## Checks not run", ""] + [f"- {code_span(c.name)} ({c.status}): {code_span(c.detail)}"
                                            for c in skipped] + [""]
    out += ["## Settings", "", f"- reference: {code_span(result.reference)}", f"- seed: {result.seed}",
            f"- examples per check: {result.max_examples}", f"- tolerances: {tolerance_line(result)}",
            f"- inputs: {code_span(inputs_line(result)) or '-'}",
            "- versions: " + ", ".join(f"{k} {v}" for k, v in result.versions.items()), ""]
    return "\n".join(out)
