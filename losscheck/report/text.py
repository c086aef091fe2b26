"""The terminal report, at one of three levels of detail (`DETAILS`):

    summary    one line per headline, then the verdict (`-q`, and stdout when the report goes to a file)
    headlines  the default: header, the checks in one line, the first headline finding with the places its cause
               was also seen and its reproducer, one line per other headline, then the verdict: one screen for a
               loss with one defect
    full       `--verbose`: header, per-family table (tabulate), why checks did not run, every finding in full
               (message, example, reproducer), each headline's group together

Findings are grouped by cause (losscheck.diagnosis.grouping). losscheck.report.render() passes the report through
escape.printable: no terminal escape of a candidate's survives.
"""
import textwrap

from tabulate import tabulate

from losscheck.diagnosis.grouping import also_seen
from losscheck.report.summary import HEADERS, family_rows, inputs_line, suppressed_lines, tolerance_line, verdict

DETAILS = ("summary", "headlines", "full")
SUMMARY_WIDTH = 110  # characters of a headline's message on its one summary line


def _indent(text: str, prefix="    ") -> str:
    return textwrap.indent(text.rstrip(), prefix)


def _heading(f) -> str:
    return f"{f.code} {f.severity} [{f.family}] {f.title}  ({f.check})"


def summary_lines(result) -> list[str]:
    """One line per headline: code, severity, check, the start of its message and how many findings it explains."""
    out = []
    for g in result.groups:
        f = g.headline
        text = " ".join(f.message.split())
        text = text if len(text) <= SUMMARY_WIDTH else text[:SUMMARY_WIDTH - 1].rstrip() + "…"
        more = f" (+{len(g.others)} more of this cause: {', '.join(dict.fromkeys(o.code for o in g.others))})" \
            if g.others else ""
        out.append(f"{f.code} {f.severity} [{f.family}] {f.check}: {text}{more}")
    return out


def render(result, detail: str = "headlines") -> str:
    if detail not in DETAILS:
        raise ValueError(f"detail must be one of {', '.join(DETAILS)}, not {detail!r}")
    if detail == "summary":
        return "\n".join([*summary_lines(result), verdict(result)]) + "\n"
    full = detail == "full"
    out = [f"losscheck audit: {result.target} as {result.parameters['loss']} (reference {result.reference})",
           f"seed {result.seed}, up to {result.max_examples} examples per check; tolerances: {tolerance_line(result)}",
           *([f"inputs: {inputs_line(result)}"] if inputs_line(result) else []), "",
           tabulate(family_rows(result), headers=HEADERS, tablefmt="simple") if full else checks_line(result), ""]
    out += _not_run(result, full)
    groups = result.groups
    if full:
        for g in groups:
            out += [_heading(g.headline), _indent(g.headline.message), *_in_full(g.headline)]
            for other in g.others:
                out += [f"  same cause: {_heading(other)}", _indent(other.message), *_in_full(other)]
    elif groups:
        first = groups[0]
        lines = also_seen(first)
        out += [_heading(first.headline), _indent(first.headline.message),
                *(f"  {'also seen in:' if i == 0 else ' ' * 13} {line}" for i, line in enumerate(lines)),
                "  reproducer:", _indent(first.headline.reproducer), ""]
        out += summary_lines(result)[1:]
        out += _footer(result, groups)
    if result.suppressed:
        out += ["suppressed in the source:", *(f"  {line}" for line in suppressed_lines(result)), ""]
    out.append(verdict(result))
    return "\n".join(out) + "\n"


def _in_full(f) -> list[str]:
    return ["  example:", _indent(f.example), "  reproducer:", _indent(f.reproducer), ""]


def checks_line(result) -> str:
    """The per-family table in one line (the default report; --verbose shows the table): checks run, passed, failed
    (named), broken, not applicable."""
    count = {status: [c.name for c in result.checks if c.status == status] for status in ("pass", "fail", "error", "skip")}
    ran = len(result.checks) - len(count["skip"])
    parts = [f"{len(count['pass'])} passed"]
    parts += [f"{len(count['fail'])} failed ({', '.join(count['fail'])})"] if count["fail"] else []
    parts += [f"{len(count['error'])} broke ({', '.join(count['error'])})"] if count["error"] else []
    skipped = f"; {len(count['skip'])} not applicable" if count["skip"] else ""
    return f"checks: {ran} run, {', '.join(parts)}{skipped}"


def _footer(result, groups) -> list[str]:
    """How to see what the default report leaves out."""
    skipped = sum(c.status == "skip" for c in result.checks)
    if len(result.findings) < 2 and not skipped:
        return []
    counted = f"{len(result.findings)} finding(s) from {len(groups)} cause(s); " if len(result.findings) > 1 else ""
    why = f", and why {skipped} check(s) did not apply" if skipped else ""
    return [f"{counted}--verbose shows every finding in full{why}"]


def _not_run(result, full: bool) -> list[str]:
    """The checks that did not run and why, one line per reason: those that broke always, the skipped ones in full
    only (the default report names them in its footer)."""
    grouped = {}
    for c in result.checks:
        if c.status in ("skip", "error") and c.detail and (full or c.status == "error"):
            grouped.setdefault((c.status, c.detail), []).append(c.name)
    lines = [f"{status:5} {', '.join(names)}: {detail}" for (status, detail), names in grouped.items()]
    return [*lines, ""] if lines else []
