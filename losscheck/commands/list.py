"""`losscheck list [ID]`: every catalogue id on one line each, or one loss in full."""
from __future__ import annotations

import difflib
import json
import shutil
import sys

from losscheck.errors import UsageError
from losscheck.tables.catalogue import describe_all, render_one, render_text

DEFAULT_WIDTH = 100  # columns when the terminal cannot tell (a pipe, CI)


def run(args) -> int:
    """`losscheck list [ID] [--format text|json]`."""
    entries = describe_all()
    if args.id is not None:
        by_id = {e["id"]: e for e in entries}
        if args.id not in by_id:
            close = difflib.get_close_matches(args.id, by_id, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise UsageError(f"unknown loss id '{args.id}'{hint} (`losscheck list` shows every id)")
        entries = [by_id[args.id]]
    if args.format == "json":
        sys.stdout.write(json.dumps(entries if args.id is None else entries[0], indent=2) + "\n")
    elif args.id is not None:
        sys.stdout.write(render_one(entries[0]))
    else:
        sys.stdout.write(render_text(entries, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns))
    return 0
