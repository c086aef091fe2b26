"""What the judge/suspect split costs a clean audit: each audit with its worker process (the default)
against the same audit in-process (`isolate=False`, --no-isolation), on torch built-ins.

Prints, per loss, the best of `--repeat` wall times in each mode and their ratio, then the totals, and
one cold `losscheck ci -j 1` over a repository of `--ci` built-ins (a fresh worker per loss).
Target: the worker adds less than 0.5 s to an audit, and `ci` stays within 1.3x the in-process sum.

    python benchmarks/worker_cost.py [--repeat 2] [--only SUBSTRING] [--ci 4]
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

from losscheck import audit

LOSSES = ("torch.nn.MSELoss", "torch.nn.CrossEntropyLoss", "torch.nn.BCEWithLogitsLoss", "torch.nn.HuberLoss",
          "torch.nn.TripletMarginLoss", "torch.nn.KLDivLoss")


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--only", default="")
    ap.add_argument("--ci", type=int, default=4, help="built-ins in the `losscheck ci` run (0: skip it)")
    args = ap.parse_args()
    audit("torch.nn.MSELoss", max_examples=3)  # imports and FakeTensorMode warmed once, for both modes
    rows, totals = [], [0.0, 0.0]
    for target in (t for t in LOSSES if args.only in t):
        worker = best(lambda: audit(target, seed=0), args.repeat)
        local = best(lambda: audit(target, seed=0, isolate=False), args.repeat)
        totals[0] += worker
        totals[1] += local
        rows.append([target, f"{worker:.2f}", f"{local:.2f}", f"{worker - local:+.2f}", f"{worker / local:.2f}x"])
    rows.append(["total", f"{totals[0]:.2f}", f"{totals[1]:.2f}", f"{totals[0] - totals[1]:+.2f}",
                 f"{totals[0] / totals[1]:.2f}x"])
    print(tabulate(rows, headers=["loss", "worker s", "in-process s", "difference", "ratio"]))
    if args.ci:
        chosen = LOSSES[:args.ci]
        with tempfile.TemporaryDirectory() as root:
            Path(root, "pyproject.toml").write_text("[tool.losscheck]\n" + "".join(
                f'\n[[tool.losscheck.loss]]\ntarget = "{t}"\n' for t in chosen))
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "losscheck", "ci", "-j", "1"], cwd=root, capture_output=True)
            print(f"\nlosscheck ci -j 1 over {len(chosen)} built-ins (cold): {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
