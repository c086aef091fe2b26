"""`losscheck audit TARGET`: audit one loss and write its report(s)."""
from __future__ import annotations

import json
import sys

from losscheck.diagnosis.conventions import parse
from losscheck.errors import UsageError
from losscheck.options import AuditOptions, AuditRequest, given
from losscheck.report import FORMATS, render
from losscheck.report.escape import printable
from losscheck.report.files import output_dir, output_file, report_stem, write_atomic, write_reports


def _init(text: str) -> dict:
    """The --init JSON object."""
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


def _report_formats(value: str) -> list[str]:
    """The --format list, each one a known format."""
    report_formats = [f.strip() for f in value.split(",") if f.strip()]
    unknown = [f for f in report_formats if f not in FORMATS]
    if unknown or not report_formats:
        raise UsageError(f"unknown --format '{value}' (choose from {', '.join(FORMATS)})")
    return report_formats


def _detail(args, written: bool) -> str:
    """The terminal report's level of detail: the summary with -q or when the reports went to files, every finding
    with --verbose, else one headline per cause."""
    if args.quiet or written:
        return "summary"
    return "full" if args.verbose else "headlines"


def run(args) -> int:
    """`losscheck audit`: every argument is checked (options, formats, --init, output paths) before the audit."""
    options = AuditOptions().update(given(args))
    report_formats = _report_formats(args.format)
    if len(report_formats) > 1 and not args.output_dir:
        raise UsageError("several --format values need --output-dir DIR")
    if args.output and args.output_dir:
        raise UsageError("use either --output or --output-dir, not both")
    request = AuditRequest(args.target, args.as_, _init(args.init), parse(args.convention), args.layout)
    output = output_file(args.output, "--output") if args.output else None
    folder = output_dir(args.output_dir, "--output-dir") if args.output_dir else None
    from losscheck.judge.auditor import audit_request  # heavy (torch): loaded once every argument is valid

    show = not args.quiet and sys.stderr.isatty()
    result = audit_request(request, options, progress=_progress if show else None)
    if show:
        sys.stderr.write("\r\033[K")
    written = []
    if output:
        write_atomic(output, render(result, report_formats[0], detail="full" if args.verbose else "headlines"))
        written = [output]
    elif folder:
        written = write_reports(result, folder, report_stem(result.target), report_formats)
    sys.stdout.write("".join(f"report: {printable(path)}\n" for path in written))
    if written or report_formats[0] == "text":
        sys.stdout.write(render(result, "text", detail=_detail(args, bool(written))))
    else:
        sys.stdout.write(render(result, report_formats[0]))
    if result.unusable:
        raise UsageError(result.unusable)  # after the reports: they show what each layout raised
    return result.exit_code(options.fail_on)
