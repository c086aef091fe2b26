"""The terminal report: header, per-family table (tabulate), each finding with example and reproducer.
losscheck.report.render() passes it through escape.printable: no terminal escape of a candidate's survives."""
import textwrap

from tabulate import tabulate

from losscheck.report.summary import HEADERS, family_rows, inputs_line, suppressed_lines, tolerance_line, verdict


def _indent(text: str, prefix="    ") -> str:
    return textwrap.indent(text.rstrip(), prefix)


def render(result) -> str:
    out = [f"losscheck audit: {result.target} as {result.parameters['loss']} (reference {result.reference})",
           f"seed {result.seed}, up to {result.max_examples} examples per check; tolerances: {tolerance_line(result)}",
           *([f"inputs: {inputs_line(result)}"] if inputs_line(result) else []),
           "", tabulate(family_rows(result), headers=HEADERS, tablefmt="simple"), ""]
    grouped = {}
    for c in result.checks:
        if c.status in ("skip", "error") and c.detail:
            grouped.setdefault((c.status, c.detail), []).append(c.name)
    for (status, detail), names in grouped.items():
        out.append(f"{status:5} {', '.join(names)}: {detail}")
    if grouped:
        out.append("")
    for f in result.findings:
        out += [f"{f.code} {f.severity} [{f.family}] {f.title}  ({f.check})", _indent(f.message), "  example:",
                _indent(f.example), "  reproducer:", _indent(f.reproducer), ""]
    if result.suppressed:
        out += ["suppressed in the source:", *(f"  {line}" for line in suppressed_lines(result)), ""]
    out.append(verdict(result))
    return "\n".join(out) + "\n"
