"""`losscheck report`: the reports/ gallery. Every torch.nn loss of the catalogue and every shipped example
mistake, audited with one seed (by losscheck.gate.runner, as `ci` audits a configured loss), with an index.html
and a README.md of one row per loss (verdict, counts per family, links).

    losscheck report [--output-dir reports] [--seed 0] [--max-examples N] [--memory-limit SIZE] [--only TEXT]
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from tabulate import tabulate

from losscheck.gate.config import Loss
from losscheck.options import AuditOptions, given
from losscheck.pitfalls import FAMILIES
from losscheck.report.files import output_dir, report_stem, write_atomic, write_reports
from losscheck.gate.runner import audit_one
from losscheck.specs import TORCH_BUILTINS

FORMATS = ("html", "md", "json")
TIMINGS = ((re.compile(r'"seconds": [0-9.e+-]+'), '"seconds": 0'), (re.compile(r" in [0-9.]+ s\b"), " in - s"))


def shipped_examples() -> list[tuple[str, str, str, dict]]:
    """losscheck.examples.EXAMPLES, each with the opt-in families its audit turns on (OPT_IN), read in a child
    process: the judge does not import the example corpus (its ~240 losses; as the judge imports no candidate),
    and the audits it runs after it cannot depend on it."""
    code = ("import json; from losscheck.examples import EXAMPLES, OPT_IN; "
            "print(json.dumps([[*e, OPT_IN.get(e[0], {})] for e in EXAMPLES]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [tuple(e) for e in json.loads(done.stdout)]


def entries(only: str = "") -> list[tuple[str, str | None, str, dict]]:
    """(target, id or None for built-ins, description, opt-in families) for every loss in the gallery."""
    builtins = [(t, None, "torch built-in", {}) for t in sorted(TORCH_BUILTINS) if ".functional." not in t]
    return [e for e in builtins + shipped_examples() if only in e[0]]


def without_timing(text: str) -> str:
    """The report with its timings blanked: what must not change between two runs with one seed."""
    for pattern, blank in TIMINGS:
        text = pattern.sub(blank, text)
    return text


def family_counts(result) -> dict:
    """Findings above info per family, in family order."""
    return {fam: sum(1 for f in result.findings if f.family == fam and f.severity != "info") for fam in FAMILIES}


def build(folder: Path, options: AuditOptions | None = None, *, only: str = "", progress=None):
    """Audit every gallery entry (containing `only`) with `options` (default: the defaults) and write its
    reports, README.md and index.html to `folder`; return one row per entry."""
    options = options or AuditOptions()
    rows = []
    todo = entries(only)
    for k, (target, loss_id, description, opt_in) in enumerate(todo, 1):
        if progress:
            progress(f"[{k}/{len(todo)}] {target}")
        result = audit_one(Path.cwd(), Loss(target=target, name=target, as_=loss_id, options=options.update(opt_in)))
        stem = report_stem(target)
        write_reports(result, folder, stem, FORMATS)
        rows.append({"target": target, "id": result.parameters["loss"], "description": description,
                     "verdict": "pass" if result.ok else "fail", "counts": family_counts(result),
                     "codes": sorted({f.code for f in result.findings}), "stem": stem})
    table = [[f"[`{r['target']}`]({r['stem']}.md)", r["id"], r["verdict"], *r["counts"].values(),
              ", ".join(r["codes"]) or "-"] for r in rows]
    readme = ("# The losscheck gallery\n\nEvery torch.nn loss of the catalogue and every example mistake shipped in "
              "`losscheck/examples/`, audited with seed "
              f"{options.seed}. Regenerate with `losscheck report` (same seed, same reports but for timings).\n\n"
              + tabulate(table, headers=["loss", "id", "verdict", *FAMILIES, "codes"], tablefmt="github") + "\n")
    write_atomic(folder / "README.md", readme)
    write_atomic(folder / "index.html", index_html(rows, options.seed))
    return rows


def index_html(rows: list[dict], seed: int) -> str:
    """The gallery's index.html: one row per entry (as `build` makes them), the loss column kept in view."""
    env = Environment(loader=PackageLoader("losscheck.report", "templates"), autoescape=select_autoescape(["html"]))
    return env.get_template("index.html").render(rows=rows, families=FAMILIES, seed=seed)


def run(args) -> int:
    """`losscheck report`: regenerate the gallery in --output-dir."""
    options = AuditOptions().update(given(args))
    out = output_dir(args.output_dir, "--output-dir")
    show = sys.stderr.isatty()
    rows = build(out, options, only=args.only, progress=(lambda line: print(line, file=sys.stderr)) if show else None)
    print(f"{len(rows)} reports written to {args.output_dir}/ ({sum(r['verdict'] == 'fail' for r in rows)} failing)")
    return 0
