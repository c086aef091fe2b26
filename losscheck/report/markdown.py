"""The markdown report (GitHub flavour): verdict, per-family table, findings in fenced blocks, settings."""
from tabulate import tabulate

from losscheck.report.summary import HEADERS, family_rows, inputs_line, tolerance_line, verdict


def render(result) -> str:
    out = [f"# losscheck: `{result.target}` as `{result.parameters['loss']}`", "", f"**{verdict(result)}**", "",
           tabulate(family_rows(result), headers=HEADERS, tablefmt="github"), ""]
    for f in result.findings:
        out += [f"## {f.code} ({f.severity}, {f.family}): {f.title}", "", f.message.replace("\n", " "), "",
                "Example:", "", "```python", f.example.rstrip(), "```", "", "Reproducer:", "", "```python",
                f.reproducer.rstrip(), "```", ""]
    skipped = [c for c in result.checks if c.status in ("skip", "error")]
    if skipped:
        out += ["## Checks not run", ""] + [f"- `{c.name}` ({c.status}): {c.detail}" for c in skipped] + [""]
    out += ["## Settings", "", f"- reference: `{result.reference}`", f"- seed: {result.seed}",
            f"- examples per check: {result.max_examples}", f"- tolerances: {tolerance_line(result)}",
            f"- inputs: {inputs_line(result) or '-'}",
            "- versions: " + ", ".join(f"{k} {v}" for k, v in result.versions.items()), ""]
    return "\n".join(out)
