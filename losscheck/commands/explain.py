"""`losscheck explain CODE | --table`: what a pitfall code means, why it matters, an example and the fix."""
from __future__ import annotations

import sys

from losscheck.errors import UsageError
from losscheck.pitfalls import PITFALLS, explain, table


def run(args) -> int:
    """`losscheck explain CODE` or `losscheck explain --table`."""
    if args.table:
        sys.stdout.write(table())
        return 0
    code = (args.code or "").upper()
    if code not in PITFALLS:
        raise UsageError(f"unknown code '{args.code}' (known codes: {', '.join(PITFALLS)})")
    sys.stdout.write(explain(code))
    return 0
