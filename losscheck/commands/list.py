"""`losscheck list`: every catalogue id with its signature, parameters, conventions and torch names."""
from __future__ import annotations

import json
import sys

from losscheck.tables.catalogue import describe_all, render_text


def run(args) -> int:
    """`losscheck list [--format text|json]`."""
    entries = describe_all()
    sys.stdout.write(json.dumps(entries, indent=2) + "\n" if args.format == "json" else render_text(entries))
    return 0
