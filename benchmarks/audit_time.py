"""Audit speed on this machine: imports, every torch built-in, examples per second per family, the gallery.

Prints:
- `python -c "import torch"` and `python -c "import losscheck"` (best of 3, cold processes);
- per built-in (torch.nn modules and functionals): the wall time of `audit()` in-process (torch and
  hypothesis already imported) and the examples it drew;
- hypothesis examples per second per check family, over all built-ins (with --precision or --compile, the built-ins
  are audited with that opt-in family too, and its check seconds stand beside the default families' of the same run);
- with --twins FAMILY (repeatable), the correct twin of each id of a catalogue family that torch has no
  built-in for (the corpus's "variants" twin, losscheck/examples/<family>.py), timed the same way, and its ratio
  to the median built-in of its family, or of the closest family that has built-ins (CLOSEST: language ->
  classification, whose cross_entropy the language losses build on), else of every built-in (target: within 2x);
- one cold `python -m losscheck audit torch.nn.CrossEntropyLoss --no-precision-screen` (the default families
  alone), and its ratio to `import torch` (targets: within 15 s, and within 8x `import torch`), then the same by
  default (with the precision screen), with `--precision` (autocast only), `--precision-raw` (autocast and raw half
  inputs) and `--compile` (best of 2 each, run alternately): what each adds to a cold audit of a built-in (the
  budget for what runs by default: 20%);
- with --gallery, the time of `losscheck report` into a temporary folder (target: under 2 minutes for the
  built-ins).

    python benchmarks/audit_time.py [--max-examples N] [--only SUBSTRING] [--twins FAMILY] [--gallery] [--precision]
                                    [--precision-raw] [--compile]
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

from tabulate import tabulate

from losscheck import audit
from losscheck.examples.registry import examples
from losscheck.specs import SPECS, TORCH_BUILTINS


def cold(*args) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *args], capture_output=True, check=False)
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-examples", type=int, default=None)
    ap.add_argument("--only", default="")
    ap.add_argument("--twins", action="append", default=[], metavar="FAMILY")
    ap.add_argument("--gallery", action="store_true")
    ap.add_argument("--precision", action="store_true", help="audit the built-ins with the precision family too")
    ap.add_argument("--precision-raw", action="store_true",
                    help="audit the built-ins with the precision family on raw half inputs too")
    ap.add_argument("--compile", action="store_true", help="audit the built-ins with the compile family too")
    args = ap.parse_args()
    options = {"max_examples": args.max_examples} if args.max_examples else {}
    options.update({flag: True for flag in ("precision", "precision_raw", "compile") if getattr(args, flag)})
    t_torch = cold("-c", "import torch")
    t_losscheck = cold("-c", "import losscheck")
    print(f"import torch: {t_torch:.2f} s; import losscheck: {t_losscheck:.2f} s (cold processes, best of 3)\n")

    rows, per_family = [], defaultdict(lambda: [0, 0.0])
    for target in sorted(t for t in TORCH_BUILTINS if args.only in t):
        t0 = time.perf_counter()
        result = audit(target, **options)
        seconds = time.perf_counter() - t0
        for c in result.checks:
            per_family[c.family][0] += c.examples
            per_family[c.family][1] += c.seconds
        examples = sum(c.examples for c in result.checks)
        rows.append([target, TORCH_BUILTINS[target], f"{seconds:.2f}", examples, "pass" if result.ok else "FAIL"])
    print(tabulate(rows, headers=["built-in", "id", "audit s", "examples", "verdict"]))
    total = sum(float(r[2]) for r in rows)
    print(f"\n{len(rows)} built-ins in {total:.1f} s (mean {total / max(len(rows), 1):.2f} s)\n")
    print(tabulate([[f, n, f"{s:.2f}", f"{n / s:.0f}" if s else "-"] for f, (n, s) in per_family.items()],
                   headers=["family", "examples", "check s", "examples/s"]))

    if args.twins:
        twins(args.twins, rows, options)

    best = cold_audits("torch.nn.CrossEntropyLoss")
    t_cli = best[UNSCREENED]
    print(f"\ncold CLI audit of torch.nn.CrossEntropyLoss without the precision screen (--no-precision-screen): "
          f"{t_cli:.2f} s = {t_cli / t_torch:.1f}x import torch")
    for flags, seconds in best.items():
        if flags != UNSCREENED:
            print(f"the same {'with ' + ' '.join(flags) if flags else 'by default (the precision screen on)'}: "
                  f"{seconds:.2f} s (+{100 * (seconds / t_cli - 1):.0f}%; what runs by default may add 20%)")
    if args.gallery:
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "losscheck", "report", "--output-dir", out], capture_output=True,
                           check=False)
            print(f"gallery (losscheck report): {time.perf_counter() - t0:.1f} s")


UNSCREENED = ("--no-precision-screen",)  # the default families alone: the baseline of every cold figure
OPT_IN = (UNSCREENED, (), ("--precision",), ("--precision-raw",), ("--compile",))  # the cold audits compared


def cold_audits(target: str, rounds: int = 2) -> dict:
    """flags -> the best of `rounds` cold CLI audits of `target` with them (OPT_IN), run alternately (so a busy
    machine slows each alike)."""
    best = dict.fromkeys(OPT_IN, float("inf"))
    for _ in range(rounds):
        for flags in OPT_IN:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "losscheck", "audit", target, *flags], capture_output=True,
                           check=False)
            best[flags] = min(best[flags], time.perf_counter() - t0)
    return best


# A family without torch built-ins -> the family whose built-ins its audits are compared with.
CLOSEST = {"language": "classification"}


def twins(families, builtin_rows, options):
    """The correct twins of the ids of `families` (the "variants" table's), each audited as its id, against the
    median built-in audit time of the id's family, or of its CLOSEST family (of every built-in measured when
    neither has one)."""
    by_family = defaultdict(list)
    for _, loss_id, seconds, *_ in builtin_rows:
        by_family[SPECS[loss_id].family].append(float(seconds))
    everything = [s for times in by_family.values() for s in times]
    rows = []
    for e in examples("variants"):
        if e.clean and e.family in families:
            t0 = time.perf_counter()
            result = audit(e.obj, as_=e.loss_id, **options)
            seconds = time.perf_counter() - t0
            against = e.family if e.family in by_family else CLOSEST.get(e.family)
            baseline = by_family.get(against) or everything
            median = statistics.median(baseline) if baseline else float("nan")
            rows.append([e.name, e.loss_id, f"{seconds:.2f}", sum(c.examples for c in result.checks),
                         "pass" if result.ok else "FAIL",
                         f"{median:.2f}" + ("" if against == e.family else f" ({against or 'all'})"),
                         f"{seconds / median:.2f}x"])
    print()
    print(tabulate(rows, headers=["correct twin", "id", "audit s", "examples", "verdict", "median built-in s",
                                  "ratio"]))


if __name__ == "__main__":
    main()
