"""The `losscheck` command line: the arguments of each command, parsed here and run by
losscheck.commands.<command>. Exit codes: 0 no failing findings, 1 failing findings, 2 unusable input."""
from __future__ import annotations

import argparse
import sys
from importlib import import_module

from losscheck.errors import UsageError
from losscheck.options import offered_by
from losscheck.report import FORMATS
from losscheck.report.escape import printable


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        raise UsageError(message)


def _add_options(parser, command: str, note: str = "") -> None:
    """The flags of the audit options `command` offers, as losscheck.options declares them. argparse keeps their
    values as strings, and a flag not given is None (the configuration or the default): losscheck.options checks
    them, with the same rules as [tool.losscheck]."""
    for setting in offered_by(command):
        parser.add_argument(setting.flag, **setting.argument(setting.name, note))


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
    a.add_argument("-o", "--output", help="write the report here (stdout gets the summary: the verdict and one line "
                                          "per headline)")
    a.add_argument("--output-dir", help="write every --format side by side in this folder")
    _add_options(a, "audit")
    a.add_argument("-q", "--quiet", action="store_true",
                   help="print the verdict and one line per headline finding, and no progress line")
    a.add_argument("-v", "--verbose", action="store_true",
                   help="show every finding in full, with its example and reproducer (default: one headline per "
                        "cause, the first with its reproducer)")
    r = sub.add_parser("report", help="regenerate the reports/ gallery (every built-in and example mistake)")
    r.add_argument("--output-dir", default="reports")
    _add_options(r, "report")
    r.add_argument("--only", default="", help="only targets containing this text")
    ls = sub.add_parser("list", help="every loss id on one line, or one loss in full (parameters, conventions, "
                                     "known mistakes, torch names)")
    ls.add_argument("id", nargs="?", help="a loss id: show it in full")
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
    _add_options(c, "ci", note="; overrides [tool.losscheck] for every loss")
    c.add_argument("--only", default="", help="only losses whose name contains this text")
    i = sub.add_parser("init", help="print a starter [tool.losscheck] section for the losses a package defines")
    i.add_argument("package", help="an importable package or module (submodules included), e.g. mypkg")
    i.add_argument("--pyproject", metavar="PATH", help="the file --write appends to (default ./pyproject.toml)")
    i.add_argument("--write", action="store_true",
                   help="append the section to the pyproject.toml (created if missing; refused if it has one)")
    return parser


# commands whose module has another name: `report` builds the gallery (losscheck.report is the report writers)
COMMAND_MODULES = {"report": "gallery"}


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError("missing command: audit, explain, list or report (see losscheck --help)")
        # each command's module loads only when it runs: `losscheck --help` and a refused argument stay instant
        return import_module(f"losscheck.commands.{COMMAND_MODULES.get(args.command, args.command)}").run(args)
    except UsageError as e:
        _say(f"error: {e}")
        return 2
    except KeyboardInterrupt:
        _say("interrupted")
        return 2
    except Exception as e:  # never a traceback for the user; the message says where to look
        _say(f"internal error: {type(e).__name__}: {e}")
        return 2


def _say(message: str) -> None:
    """The one stderr line of a run that ends without a verdict; a candidate's text in it cannot act on the
    terminal (losscheck.report.escape)."""
    print(f"losscheck: {printable(' '.join(message.split()))}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
