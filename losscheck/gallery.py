"""The reports/ gallery: every torch.nn loss of the catalogue and every shipped example mistake, audited with
one seed, with an index.html and a README.md of one row per loss (verdict, counts per family, links).

    losscheck report [--output-dir reports] [--seed 0] [--max-examples N] [--memory-limit SIZE] [--only TEXT]
"""
from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from tabulate import tabulate

from losscheck.checks import FAMILY_ORDER
from losscheck.options import AuditOptions
from losscheck.report.files import report_stem, write_atomic

FORMATS = ("html", "md", "json")
TIMINGS = ((re.compile(r'"seconds": [0-9.e+-]+'), '"seconds": 0'), (re.compile(r" in [0-9.]+ s\b"), " in - s"))


def entries(only: str = "") -> list[tuple[str, str | None, str]]:
    """(target, id or None for built-ins, description) for every loss in the gallery."""
    from losscheck.examples import EXAMPLES
    from losscheck.specs import TORCH_BUILTINS

    builtins = [(t, None, "torch built-in") for t in sorted(TORCH_BUILTINS) if ".functional." not in t]
    return [e for e in builtins + list(EXAMPLES) if only in e[0]]


def without_timing(text: str) -> str:
    """The report with its timings blanked: what must not change between two runs with one seed."""
    for pattern, blank in TIMINGS:
        text = pattern.sub(blank, text)
    return text


def family_counts(result) -> dict:
    return {fam: sum(1 for f in result.findings if f.family == fam and f.severity != "info") for fam in FAMILY_ORDER}


def build(output_dir: Path, options: AuditOptions | None = None, *, only: str = "", progress=None):
    """Audit every gallery entry (containing `only`) with `options` (default: the defaults) and write its
    reports, README.md and index.html to `output_dir`; return one row per entry."""
    from losscheck.auditor import audit
    from losscheck.report import EXTENSIONS, render

    options = options or AuditOptions()
    rows = []
    todo = entries(only)
    for k, (target, loss_id, description) in enumerate(todo, 1):
        if progress:
            progress(f"[{k}/{len(todo)}] {target}")
        result = audit(target, as_=loss_id, **options.audit_kwargs())
        stem = report_stem(target)
        for fmt in FORMATS:
            write_atomic(output_dir / f"{stem}.{EXTENSIONS[fmt]}", render(result, fmt))
        rows.append({"target": target, "id": result.parameters["loss"], "description": description,
                     "verdict": "pass" if result.ok else "fail", "counts": family_counts(result),
                     "codes": sorted({f.code for f in result.findings}), "stem": stem})
    table = [[f"[`{r['target']}`]({r['stem']}.md)", r["id"], r["verdict"], *r["counts"].values(),
              ", ".join(r["codes"]) or "-"] for r in rows]
    readme = ("# The losscheck gallery\n\nEvery torch.nn loss of the catalogue and every example mistake shipped in "
              "`losscheck/examples/`, audited with seed "
              f"{options.seed}. Regenerate with `losscheck report` (same seed, same reports but for timings).\n\n"
              + tabulate(table, headers=["loss", "id", "verdict", *FAMILY_ORDER, "codes"], tablefmt="github") + "\n")
    write_atomic(output_dir / "README.md", readme)
    env = Environment(loader=PackageLoader("losscheck.report", "templates"), autoescape=select_autoescape(["html"]))
    write_atomic(output_dir / "index.html",
                 env.get_template("index.html").render(rows=rows, families=FAMILY_ORDER, seed=options.seed))
    return rows
