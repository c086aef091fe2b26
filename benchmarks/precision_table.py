"""The precision family's figures: the worst error, in units of (u·|ref| + S), of every correct loss and every
known low-precision bug at bf16 and fp16, and the verdict (what the README's precision table and the thresholds
in losscheck.checks.precision are chosen on).

Rows (each audited with --precision-raw, both modes, seed 0; only the probe, value (it adopts the conventions the
precision family grades under) and precision run, the other families measure nothing here):
- every torch.nn module built-in (the functionals run the same kernels);
- the corpus's correct losses (every clean example: the twin of each catalogue id and more);
- the installed library losses of losscheck.tables.libraries;
- the corpus's low-precision bugs (its LC8 fixtures: naive focal, BCE with clamp(1e-7), softmax CE without the
  max shift, an fp16 sum of squares over 65k+ elements, InfoNCE's exp without the max shift).
Each loss has a row per mode: autocast (CPU autocast) and raw (half inputs, no autocast, as FSDP feeds them).
Then the two exceptions the issue measured among torch's built-ins, outside the audit (--exceptions): F.cross_entropy
on raw fp16 logits over a long vocabulary (its gradient at a GradScaler loss scale), and F.kl_div after a bf16
log_softmax (the pipeline of knowledge distillation), each graded the same way against its float64 pipeline.
Columns: bf16 and fp16 worst units for the loss and for the gradient ("nan" where the run gave inf/nan, LC801),
the precision findings' codes and the verdict (clean / warning / error), and the seconds the check took.

    python benchmarks/precision_table.py [--only SUBSTRING] [--group builtins|twins|libraries|bugs] [--markdown]
                                         [--exceptions]
"""
import argparse
import importlib.util
import re
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from tabulate import tabulate

import losscheck.judge.engine as engine
from losscheck import audit
from losscheck.checks.precision import LOSS_SCALE, PERTURBATIONS, UNIT_ROUNDOFF, error, grade, perturbed
from losscheck.checks.registry import ordered
from losscheck.judge.cases import Case
from losscheck.examples.registry import examples
from losscheck.specs import TORCH_BUILTINS
from losscheck.tables.libraries import LIBRARY_LOSSES

MEASURED = ("api.call", "value", "precision")


def _measured_checks():
    return [c for c in ordered() if c.check_name in MEASURED or c.family in MEASURED]


def rows(group: str, only: str):
    """(group, label, target, id, init) of every row of `group`."""
    if group == "builtins":
        for target, loss_id in sorted(TORCH_BUILTINS.items()):
            if ".functional." not in target and only in target:
                yield group, target.rpartition(".")[2], target, loss_id, None
    elif group in ("twins", "bugs"):
        seen = set()
        for e in examples():
            bug = any(code.startswith("LC8") for code in e.expect)
            if e.name in seen or (e.clean, bug) != (group == "twins", group == "bugs") or only not in e.name:
                continue
            seen.add(e.name)
            yield group, e.name, e.target, e.loss_id, None
    else:
        for entry in LIBRARY_LOSSES:
            if only in entry.target and importlib.util.find_spec(entry.target.split(".")[0].split(":")[0]):
                yield group, library_label(entry), entry.target, entry.loss_id, entry.init


def library_label(entry) -> str:
    """`monai DiceLoss {'softmax': True}`: the library, the loss and its --init."""
    return f"{entry.target.split('.')[0].split(':')[0]} {entry.target.rpartition(':')[2]}" + \
        (f" {entry.init}" if entry.init else "")


WORST = re.compile(r"(bfloat16|float16) (loss|gradient) ([0-9.]+|inf|nan)")


def measure(target, loss_id, init) -> dict:
    """Per precision check (mode): its worst units per (dtype, loss|gradient), codes, severity and seconds."""
    result = audit(target, as_=loss_id, init=init, precision_raw=True, seed=0)
    return {c.name.partition(".")[2]: _figures(c) for c in result.checks if c.family == "precision"}


def _figures(check) -> dict:
    if check.status in ("skip", "error"):
        return {"status": check.status, "detail": check.detail}
    worst = {(d, k): float(v) for d, k, v in WORST.findall(check.detail)}
    for f in check.findings:
        if f.code == "LC801":
            worst[f.data.get("autocast", "?"), "gradient" if "gradient" in f.message else "loss"] = float("nan")
    severity = "error" if any(f.severity == "error" for f in check.findings) else \
        "warning" if check.findings else "clean"
    return {"status": check.status, "worst": worst, "codes": sorted({f.code for f in check.findings}),
            "verdict": severity, "seconds": check.seconds, "detail": check.detail}


def _pipeline_units(fn, x: np.ndarray, dtype: str, rng) -> tuple[float, float]:
    """(loss units, gradient units) of `fn` run on `x` rounded to `dtype` (no autocast; the gradient at the dtype's
    loss scale), against `fn` in float64 on the same rounded values, S from ±u perturbations, E32 from float32."""
    u, scale = UNIT_ROUNDOFF[dtype], LOSS_SCALE[dtype]
    x = torch.tensor(x).to(getattr(torch, dtype)).double().numpy()

    def run(a, dt, loss_scale=1.0):
        t = torch.tensor(a, dtype=getattr(torch, dt), requires_grad=True)
        out = fn(t)
        while True:  # halved while the gradient is not finite, as GradScaler (and the worker) does
            (g,) = torch.autograd.grad(out.float().sum() * loss_scale if dt != "float64" else out.sum(), t,
                                       retain_graph=True)
            if bool(torch.isfinite(g).all()) or loss_scale <= 1.0:
                return out.detach().double().numpy(), g.double().numpy() / loss_scale
            loss_scale /= 2.0

    (lo, glo), (l32, g32), (l64, g64) = run(x, dtype, scale), run(x, "float32"), run(x, "float64")
    moved = [run(c.inputs[0], "float64") for _ in range(PERTURBATIONS)
             for c in perturbed(Case((x,)), (0,), u, rng)]
    s, s_grad = (max(error(m[k], ref) for m in moved) for k, ref in ((0, l64), (1, g64)))
    return grade(lo, l64, s, u, error(l32, l64)), grade(glo, g64, s_grad, u, error(g32, g64))


def exceptions():
    """The two exceptions of the issue, measured: worst units over confident and ordinary logits."""
    rng = np.random.default_rng(0)
    labels = torch.tensor(rng.integers(0, 32000, size=8))
    rows = []
    for name, dtype, fn in [
        ("F.cross_entropy, raw fp16 logits (8 x 32,000)", "float16", lambda x: F.cross_entropy(x, labels)),
        ("F.kl_div after a bf16 log_softmax (8 x 1,000, T = 2)", "bfloat16",
         lambda x: F.kl_div(F.log_softmax(x[0] / 2, -1), F.softmax(x[1].double() / 2, -1).to(x.dtype),
                            reduction="batchmean") * 4),
    ]:
        worst = [0.0, 0.0]
        for spread in (1.0, 5.0, 30.0):
            shape = (8, 32000) if "cross" in name else (2, 8, 1000)
            x = rng.normal(size=shape) * spread
            if "kl_div" in name:
                x[1] = x[0] + rng.normal(size=x[0].shape) * 0.01 * spread  # a student near its teacher
            worst = [max(w, v) for w, v in zip(worst, _pipeline_units(fn, x, dtype, rng))]
        rows.append([name, f"{worst[0]:.1f}", f"{worst[1]:.1f}"])
    print(tabulate(rows, headers=["exception", "loss units", "gradient units"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="")
    ap.add_argument("--group", action="append", choices=("builtins", "twins", "libraries", "bugs"))
    ap.add_argument("--markdown", action="store_true", help="a GitHub table (the README's)")
    ap.add_argument("--exceptions", action="store_true", help="only the two exceptions among torch's built-ins")
    args = ap.parse_args()
    if args.exceptions:
        exceptions()
        return
    engine.ordered = _measured_checks  # the other families change nothing the precision family measures
    table = []
    t0 = time.perf_counter()
    for group, label, target, loss_id, init in (r for g in args.group or ("builtins", "twins", "libraries", "bugs")
                                                 for r in rows(g, args.only)):
        for mode, m in measure(target, loss_id, init).items():
            if "worst" not in m:
                table.append([group, label, loss_id, mode, "-", "-", "-", "-", m["status"], m["detail"][:60], "-"])
            else:
                cell = [("nan" if v != v else f"{v:.1f}") if (v := m["worst"].get(key)) is not None else "-"
                        for key in (("bfloat16", "loss"), ("bfloat16", "gradient"), ("float16", "loss"),
                                    ("float16", "gradient"))]
                table.append([group, label, loss_id, mode, *cell, m["verdict"], ", ".join(m["codes"]) or "-",
                              f"{m['seconds']:.1f}"])
            print(" ".join(map(str, table[-1])), file=sys.stderr, flush=True)
    headers = ["group", "loss", "id", "mode", "bf16 loss", "bf16 grad", "fp16 loss", "fp16 grad", "verdict", "codes",
               "s"]
    print(tabulate(table, headers=headers))
    print(f"\n{len(table)} rows in {time.perf_counter() - t0:.0f} s\n")
    print(tabulate(condensed(table), headers=["loss", "id", "autocast bf16", "autocast fp16", "raw bf16", "raw fp16",
                                              "verdict"], tablefmt="github" if args.markdown else "simple"))


def condensed(table) -> list:
    """The README's table: a row per loss (cells "loss/gradient" worst units per mode and dtype, "skip" where the
    loss does not run so, its verdict with codes), the correct corpus losses that are clean folded into one row of
    their worst figures."""
    by_loss = {}
    for group, label, loss_id, mode, bl, bg, fl, fg, verdict, codes, _ in table:
        row = by_loss.setdefault((group, label, loss_id), {"verdicts": {}})
        row[mode, "bf16"], row[mode, "fp16"] = (f"{bl}/{bg}", f"{fl}/{fg}") if verdict != "skip" else ("skip", "skip")
        if verdict not in ("clean", "skip"):
            row["verdicts"][mode] = f"{mode}: {verdict} ({codes})"
    out, folded = [], []
    for (group, label, loss_id), row in by_loss.items():
        cells = [row.get((m, d), "-") for m in ("autocast", "raw") for d in ("bf16", "fp16")]
        verdict = "; ".join(row["verdicts"].values()) or "clean"
        if group == "twins" and verdict == "clean":
            folded.append(cells)
            continue
        out.append([f"{label}" if group != "builtins" else f"torch.nn.{label}", loss_id, *cells, verdict])
    if folded:
        worst = [_worst(column) for column in zip(*folded)]
        out.append([f"{len(folded)} other correct losses of the corpus (worst of each)", "-", *worst, "clean"])
    return out


def _worst(cells) -> str:
    """The worst loss and the worst gradient units of "loss/gradient" cells."""
    parts = [c.split("/") for c in cells if "/" in c]
    return "/".join(max((p[k] for p in parts if p[k] != "-"), key=float, default="-") for k in (0, 1))

if __name__ == "__main__":
    main()
