"""The compile family's figures: every torch.nn module built-in and the corpus's compile fixtures and their twin
under --compile (aot_eager per example, the recompile limit a failure, graph breaks counted), optionally with
--inductor (inductor once per loss, float32 and bf16 autocast), and what each costs (what the README's compile
table is measured on).

Only the probe, value (it adopts the conventions the other checks run under) and compile run; the other families
measure nothing here. Columns: the compile checks' status, their findings (code and the first words of the
message), and the seconds each compile check took.

    python benchmarks/compile_table.py [--only SUBSTRING] [--inductor] [--markdown]
"""
import argparse
import time

from tabulate import tabulate

from losscheck import audit
from losscheck.checks.registry import ordered
from losscheck.examples.registry import examples
from losscheck.judge import engine
from losscheck.specs import TORCH_BUILTINS

MEASURED = ("api.call", "value", "compile")


def _measured_checks():
    return [c for c in ordered() if c.check_name in MEASURED or c.family in MEASURED]


def rows(only: str):
    """(label, target, id) of every torch.nn module built-in, then of the corpus's compile fixtures and twins."""
    for target, loss_id in sorted(TORCH_BUILTINS.items()):
        if ".functional." not in target and only in target:
            yield target.rpartition(".")[2], target, loss_id
    fixtures = [e for e in examples("pitfalls") if any(code.startswith("LC9") for code in e.expect)]
    twins = {e.twin for e in fixtures}
    for e in examples("pitfalls"):
        if (e in fixtures or e.name in twins and e.clean) and only in e.name:
            yield e.name, e.obj, e.loss_id


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="")
    ap.add_argument("--inductor", action="store_true", help="also compile each loss once with inductor")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    engine.ordered = _measured_checks  # the other families change nothing the compile family measures
    table, t0 = [], time.perf_counter()
    for label, target, loss_id in rows(args.only):
        result = audit(target, as_=loss_id, compile=True, inductor=args.inductor, seed=0)
        checks = {c.name: c for c in result.checks if c.family == "compile"}
        found = "; ".join(f"{f.code} {f.message[:70]}" for f in result.findings if f.family == "compile") or "-"
        table.append([label, loss_id, *(f"{c.status} {c.seconds:.1f} s" if (c := checks.get(name)) else "-"
                                        for name in ("compile.aot_eager", "compile.inductor")), found])
    print(tabulate(table, headers=["loss", "id", "aot_eager", "inductor", "compile findings"],
                   tablefmt="github" if args.markdown else "simple"))
    print(f"\n{len(table)} losses in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
