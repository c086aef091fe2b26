"""The `losscheck` command. Exit codes: 0 no failing findings, 1 failing findings, 2 unusable input."""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from losscheck.errors import UsageError

FORMATS = ("text", "md", "json", "html", "junit")


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        raise UsageError(message)


def _codes(value: str) -> list[str]:
    return [c.strip().upper() for c in value.split(",") if c.strip()]


def build_parser() -> Parser:
    parser = Parser(prog="losscheck", description="Audit PyTorch loss functions against float64 references.")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    a = sub.add_parser("audit", help="audit one loss")
    a.add_argument("target", help="pkg.mod:Name, pkg.mod.Name or path/file.py:Name")
    a.add_argument("--as", dest="as_", metavar="ID", help="catalogue id of the loss (detected for torch built-ins)")
    a.add_argument("--init", default="{}", help="JSON object of constructor (or keyword) arguments")
    a.add_argument("--layout", action="append", default=[], metavar="NAME",
                   help="a layout the loss must take, graded as required (repeatable): batch, single, no_batch, "
                        "spatial2d, spatial3d")
    a.add_argument("--convention", action="append", default=[], metavar="NAME=VALUE",
                   help="declare a convention the loss follows (repeatable); see `losscheck list`")
    a.add_argument("--format", default="text", help=f"one or more of {', '.join(FORMATS)}, comma-separated")
    a.add_argument("-o", "--output", help="write the report here (a text summary still goes to stdout)")
    a.add_argument("--output-dir", help="write every --format side by side in this folder")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--max-examples", type=int, default=None, help="hypothesis examples per check (default 30)")
    a.add_argument("--select", type=_codes, default=[], help="only these codes or prefixes (LC2,LC301)")
    a.add_argument("--ignore", type=_codes, default=[], help="drop these codes or prefixes")
    a.add_argument("--fail-on", choices=("error", "warning"), default="error")
    a.add_argument("--timeout", type=float, default=None, help="seconds one call of the loss may take (default 10)")
    a.add_argument("--no-isolation", action="store_true", help="run the candidate in this process (for debugging)")
    a.add_argument("--ddp", type=int, default=None, metavar="N",
                   help="also check the loss sharded across N >= 2 torch.distributed (gloo, CPU) processes")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress line on the terminal")
    r = sub.add_parser("report", help="regenerate the reports/ gallery (every built-in and example mistake)")
    r.add_argument("--output-dir", default="reports")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--max-examples", type=int, default=None)
    r.add_argument("--only", default="", help="only targets containing this text")
    ls = sub.add_parser("list", help="every loss id with its signature, parameters, conventions and torch names")
    ls.add_argument("--format", choices=("text", "json"), default="text")
    e = sub.add_parser("explain", help="what a pitfall code means, why it matters, an example and the fix")
    e.add_argument("code", nargs="?", help="e.g. LC201")
    e.add_argument("--table", action="store_true", help="print the markdown table of every code")
    c = sub.add_parser("ci", help="audit every loss in [tool.losscheck], compare with the baseline, write reports")
    c.add_argument("--config", default="pyproject.toml", help="the pyproject.toml to read (default ./pyproject.toml)")
    c.add_argument("--output-dir", help="where the reports and summary.md go (default: report-dir, losscheck-reports)")
    c.add_argument("-j", "--jobs", type=int, default=None, help="losses audited in parallel (default: jobs, 1)")
    c.add_argument("--baseline", help="accepted findings (default: baseline, losscheck-baseline.json)")
    c.add_argument("--update-baseline", action="store_true", help="accept every current finding (keeps reasons)")
    c.add_argument("--fail-on-stale", action="store_true", help="fail when a baseline entry matches nothing")
    c.add_argument("--fail-on", choices=("error", "warning"), default=None, help="override the configuration")
    c.add_argument("--max-examples", type=int, default=None, help="override the configuration for every loss")
    c.add_argument("--seed", type=int, default=None, help="override the configuration for every loss")
    c.add_argument("--only", default="", help="only losses whose name contains this text")
    i = sub.add_parser("init", help="print a starter [tool.losscheck] section for the losses a package defines")
    i.add_argument("package", help="an importable package or module (submodules included), e.g. mypkg")
    i.add_argument("--pyproject", metavar="PATH", help="the file --write appends to (default ./pyproject.toml)")
    i.add_argument("--write", action="store_true",
                   help="append the section to the pyproject.toml (created if missing; refused if it has one)")
    return parser


def run_ci(args) -> int:
    from losscheck.gate import run

    return run(args)


def run_init(args) -> int:
    from losscheck.scaffold import run

    return run(args)


def run_report(args) -> int:
    from losscheck.gallery import build

    show = sys.stderr.isatty()
    rows = build(Path(args.output_dir), seed=args.seed, max_examples=args.max_examples, only=args.only,
                 progress=(lambda line: print(line, file=sys.stderr)) if show else None)
    print(f"{len(rows)} reports written to {args.output_dir}/ ({sum(r['verdict'] == 'fail' for r in rows)} failing)")
    return 0


def run_list(args) -> int:
    from losscheck.catalogue import describe_all, render_text

    entries = describe_all()
    sys.stdout.write(json.dumps(entries, indent=2) + "\n" if args.format == "json" else render_text(entries))
    return 0


def run_explain(args) -> int:
    from losscheck.pitfalls import PITFALLS, explain, table

    if args.table:
        sys.stdout.write(table())
        return 0
    code = (args.code or "").upper()
    if code not in PITFALLS:
        raise UsageError(f"unknown code '{args.code}' (known codes: {', '.join(PITFALLS)})")
    sys.stdout.write(explain(code))
    return 0


def _init(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"--init is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise UsageError("--init must be a JSON object, e.g. '{\"gamma\": 2.0}'")
    return value


def _progress(check: str, k: int, n: int) -> None:
    """One self-overwriting line on the terminal: which check of how many."""
    sys.stderr.write(f"\r\033[K  auditing: {check} ({k}/{n})")
    sys.stderr.flush()


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and a rename, so a report is never half-written."""
    if not path.name or path.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory; name a file")
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def _formats(value: str) -> list[str]:
    formats = [f.strip() for f in value.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(f"unknown --format '{value}' (choose from {', '.join(FORMATS)})")
    return formats


def report_stem(target: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", target).strip("_.") or "audit"


def run_audit(args) -> int:
    if args.ddp is not None and args.ddp < 2:  # before the (slow) imports: a usage error answers at once
        raise UsageError(f"--ddp needs at least 2 processes, not {args.ddp}")
    from losscheck.auditor import DEFAULT_MAX_EXAMPLES, DEFAULT_TIMEOUT, audit
    from losscheck.conventions import parse
    from losscheck.report import EXTENSIONS, render, text

    formats = _formats(args.format)
    if len(formats) > 1 and not args.output_dir:
        raise UsageError("several --format values need --output-dir DIR")
    if args.output and args.output_dir:
        raise UsageError("use either --output or --output-dir, not both")
    result = audit(args.target, as_=args.as_, init=_init(args.init), seed=args.seed,
                   max_examples=DEFAULT_MAX_EXAMPLES if args.max_examples is None else args.max_examples,
                   timeout=DEFAULT_TIMEOUT if args.timeout is None else args.timeout,
                   select=args.select, ignore=args.ignore, conventions=parse(args.convention), layouts=args.layout,
                   isolate=not args.no_isolation, progress=None if args.quiet or not sys.stderr.isatty() else _progress,
                   ddp=args.ddp or 0)
    if not args.quiet and sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    if args.output_dir:
        for fmt in formats:
            write_atomic(Path(args.output_dir) / f"{report_stem(result.target)}.{EXTENSIONS[fmt]}", render(result, fmt))
        sys.stdout.write(text.render(result))
    elif args.output:
        write_atomic(Path(args.output), render(result, formats[0]))
        sys.stdout.write(text.render(result))
    else:
        sys.stdout.write(render(result, formats[0]))
    if result.unusable:
        raise UsageError(result.unusable)  # after the reports: they show what each layout raised
    return result.exit_code(args.fail_on)


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError("missing command: audit, explain, list or report (see losscheck --help)")
        commands = {"explain": run_explain, "list": run_list, "report": run_report, "ci": run_ci,
                    "init": run_init}
        return commands.get(args.command, run_audit)(args)
    except UsageError as e:
        print(f"losscheck: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("losscheck: interrupted", file=sys.stderr)
        return 2
    except Exception as e:  # never a traceback for the user; the message says where to look
        print(f"losscheck: internal error: {type(e).__name__}: {' '.join(str(e).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
