"""Default audit time of every torch built-in in the catalogue, on this machine.

Prints, per built-in: the wall time of `audit()` in-process (torch and hypothesis already imported) and
the examples per second it drew, then the cold wall time of one `python -m losscheck audit` run (imports
included). The target in the engine issue: a default audit of one built-in within 15 s on 2 cores.

    python benchmarks/audit_time.py [--max-examples N] [--only SUBSTRING]
"""
import argparse
import subprocess
import sys
import time

from tabulate import tabulate

from losscheck import audit
from losscheck.specs import TORCH_BUILTINS


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-examples", type=int, default=None)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    options = {"max_examples": args.max_examples} if args.max_examples else {}
    rows = []
    for target in sorted(t for t in TORCH_BUILTINS if args.only in t):
        t0 = time.perf_counter()
        result = audit(target, **options)
        seconds = time.perf_counter() - t0
        examples = sum(c.examples for c in result.checks)
        rows.append([target, TORCH_BUILTINS[target], f"{seconds:.2f}", examples, f"{examples / seconds:.0f}",
                     "pass" if result.ok else "FAIL"])
    print(tabulate(rows, headers=["built-in", "id", "audit s", "examples", "examples/s", "verdict"]))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "losscheck", "audit", "torch.nn.CrossEntropyLoss"],
                   capture_output=True, check=False)
    print(f"\ncold CLI run of torch.nn.CrossEntropyLoss (imports included): {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
