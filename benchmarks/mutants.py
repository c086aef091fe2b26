"""How often the audit still fails a broken loss: systematic mutants of correct losses, and the corpus's broken
fixtures, audited; the share that exits 1 under today's grading and under two candidate rules for unexplained value
disagreements (issue 20, scope 3).

Mutants are made from the source of correct losses of the corpus (losscheck/examples/: the catalogue's and the
forms table's correct ones, each audited as its id), one edit each, by operator:

    factor      the result times 1.5                 sign        the result negated
    term        a + b or a - b -> a * 1 (a missing term)  reduction   the first .mean( -> .sum( (or .sum( -> .mean()
    swap        forward's first two arguments swapped epsilon     the first small float constant (< 0.01) x 1000

A mutant that gives the same values as its original on a few drawn inputs (an edit in dead code) is left out as
equivalent. Each audit's findings are graded three ways:

    today       exit 1 when any finding is an error (the audit's own verdict)
    invariants  the candidate rule: an unexplained value disagreement (LC101 with no variant, convention or map)
                and the findings that only compare with the reference (LC202, LC303, LC304, LC502, LC503, LC504)
                are warnings when the candidate keeps every invariant the audit checks without the reference:
                finite values and gradients (LC201, LC302, LC301), its reductions consistent with one another and
                with the batch (LC401-LC405), argument order (LC505), devices, dtypes and the api (LC6xx, LC7xx)
    ordered     the same, and the candidate also ranks drawn inputs as the reference does (Spearman's rho >= 0.99
                over 12 draws at its own parameter values: a factor, an offset or another smoothing keeps the
                order; a sign flip, or a missing term that depends on the input, does not)

and the correct losses themselves are audited too (the share that exits 0, under each grading).

    python benchmarks/mutants.py [--max-examples N] [--only SUBSTRING] [--limit N] [--json PATH]
"""
from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import json
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from losscheck import audit
from losscheck.examples.registry import examples
from losscheck.judge.cases import cases, to_tensor
from losscheck.judge.state import AuditState
from losscheck.specs import SPECS
from losscheck.suspect.candidate import wrap

REFERENCE_ONLY = {"LC101", "LC202", "LC303", "LC304", "LC502", "LC503", "LC504"}
OPERATORS = ("factor", "sign", "term", "reduction", "swap", "epsilon")


def originals(only: str, limit: int) -> list:
    """The correct losses mutated: the catalogue table's correct twins and the forms table's correct losses, classes
    whose own body defines forward or __call__; with `limit`, that many spread evenly over them."""
    rows = [e for e in examples("catalogue") if e.clean] + [e for e in examples("forms") if e.code == "LC103"]
    rows = [e for e in rows
            if inspect.isclass(e.obj) and only in e.name and ({"forward", "__call__"} & set(vars(e.obj)))]
    return rows if not limit or limit >= len(rows) else [rows[i * len(rows) // limit] for i in range(limit)]


def _method_nodes(cls_node):
    return [n for n in cls_node.body if isinstance(n, ast.FunctionDef) and n.name != "__init__"]


def mutate(cls_node: ast.ClassDef, operator: str) -> ast.ClassDef | None:
    """A copy of the class with one edit of `operator`, or None where the operator finds nothing to edit."""
    node = ast.parse(ast.unparse(cls_node)).body[0]
    node.decorator_list = []
    methods = _method_nodes(node)
    entry = next((m for m in methods if m.name in ("forward", "__call__")), None)
    if operator in ("factor", "sign"):
        returns = [n for n in ast.walk(entry) if isinstance(n, ast.Return) and n.value is not None]
        for r in returns:
            r.value = (ast.BinOp(ast.Constant(1.5), ast.Mult(), r.value) if operator == "factor"
                       else ast.UnaryOp(ast.USub(), r.value))
        return node if returns else None
    if operator == "swap":
        args = entry.args.args
        if len(args) < 3:
            return None
        args[1].arg, args[2].arg = args[2].arg, args[1].arg
        return node
    for method in methods:
        for n in ast.walk(method):
            if operator == "term" and isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub)):
                n.op, n.right = ast.Mult(), ast.Constant(1)   # a + b -> a * 1: the term b is gone
                return node
            if operator == "reduction" and isinstance(n, ast.Attribute) and n.attr in ("mean", "sum"):
                n.attr = "sum" if n.attr == "mean" else "mean"
                return node
            if operator == "epsilon" and isinstance(n, ast.Constant) and isinstance(n.value, float) \
                    and 0 < abs(n.value) < 0.01:
                n.value = n.value * 1000
                return node
    return None


def write_mutants(rows, folder: Path) -> list:
    """[(mutant name, original Example, operator)], written into one module per corpus family under `folder`."""
    out, by_module = [], {}
    for e in rows:
        tree = ast.parse(textwrap.dedent(inspect.getsource(e.obj)))
        for operator in OPERATORS:
            node = mutate(tree.body[0], operator)
            if node is None:
                continue
            node.name = f"{e.name}_{operator}"
            by_module.setdefault(e.module, []).append(ast.unparse(node))
            out.append((node.name, e, operator))
    for module, sources in by_module.items():
        header = (f"import importlib\nglobals().update({{k: v for k, v in vars(importlib.import_module({module!r}))"
                  f".items() if not k.startswith('__')}})\n\n\n")
        (folder / f"{module.rpartition('.')[2]}_mutants.py").write_text(header + "\n\n\n".join(sources) + "\n")
    return out


def drawn(obj, loss_id: str, draws: int) -> list:
    """`draws` cases of the spec's default layout and format at the loss's own parameter values, with their inputs
    as the loss takes them (float64 tensors)."""
    spec = SPECS[loss_id]
    cand = wrap(obj)
    cand.prepare(len(spec.signature))
    strategy = cases(AuditState.begin(spec, cand), explore=False)
    out = []
    for _ in range(draws):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            case = strategy.example()
        out.append((case, [to_tensor(a, "float64") for a in spec.candidate_inputs(case)]))
    return out


def called(obj, tensors):
    """The loss's value on `tensors` (a class is instantiated with its defaults), or the type of what it raised."""
    try:
        return (obj() if inspect.isclass(obj) else obj)(*[t.clone() for t in tensors])
    except Exception as exc:  # a raise is a value too: the same raise on both sides is equivalent
        return type(exc)


def orders_as_reference(obj, loss_id: str, draws: int = 12) -> bool:
    """Whether the loss ranks `draws` drawn inputs as the reference does (Spearman's rho >= 0.99): a definition that
    differs from the reference by a factor, an offset or a smoothing keeps the order, a sign flip or a missing term
    that depends on the input does not."""
    spec = SPECS[loss_id]
    pairs = []
    for case, tensors in drawn(obj, loss_id, draws):
        got = called(obj, tensors)
        if isinstance(got, type) or got.numel() != 1:
            return False
        pairs.append((float(got), float(np.sum(spec.reference(*case.inputs, **case.params)))))
    got, want = zip(*pairs)
    if len(set(want)) < 3:
        return False
    rho = spearmanr(got, want).statistic
    return bool(np.isfinite(rho) and rho >= 0.99)


def equivalent(original, mutant, loss_id: str, draws: int = 4) -> bool:
    """Whether the mutant gives its original's values (or raises as it does) on `draws` drawn inputs."""
    for _, tensors in drawn(original, loss_id, draws):
        a, b = called(original, tensors), called(mutant, tensors)
        if isinstance(a, type) or isinstance(b, type):
            if a is not b:
                return False
        elif a.shape != b.shape or not torch.allclose(a.double(), b.double(), rtol=1e-6, atol=1e-9, equal_nan=True):
            return False
    return True


def graded(result, obj, loss_id: str) -> dict:
    """Exit codes of one audit under the three gradings (see the module docstring)."""
    errors = [f for f in result.findings if f.severity == "error"]
    value = next((f for f in result.findings if f.check == "value.reference"), None)
    unexplained = value is not None and value.code == "LC101" and "variant" not in value.data
    kept = [f for f in errors if not (unexplained and f.code in REFERENCE_ONLY)]
    today = result.exit_code()
    invariants = today if today != 1 else (1 if kept else 0)
    ordered = invariants if invariants != 0 or today != 1 else (0 if orders_as_reference(obj, loss_id) else 1)
    return {"today": today, "invariants": invariants, "ordered": ordered, "codes": sorted({f.code for f in errors})}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-examples", type=int, default=20)
    ap.add_argument("--only", default="")
    ap.add_argument("--limit", type=int, default=0, help="mutate this many correct losses, spread over the corpus")
    ap.add_argument("--json", default=None, metavar="PATH")
    args = ap.parse_args()
    rows = originals(args.only, args.limit)
    broken = [e for e in examples("catalogue") + examples("forms")
              if not e.clean and e.code != "LC103" and args.only in e.name]
    records = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        mutants = write_mutants(rows, folder)
        sys.path.insert(0, tmp)
        for name, e, operator in mutants:
            module = importlib.import_module(f"{e.family}_mutants")
            if equivalent(e.obj, getattr(module, name), e.loss_id):
                records.append({"kind": "mutant", "name": name, "operator": operator, "equivalent": True})
                continue
            mutant = getattr(module, name)
            result = audit(f"{folder / (e.family + '_mutants.py')}:{name}", as_=e.loss_id,
                           max_examples=args.max_examples)
            records.append({"kind": "mutant", "name": name, "operator": operator, **graded(result, mutant, e.loss_id)})
            print(f"{name:<50} {records[-1]['today']} {records[-1]['invariants']} {records[-1]['ordered']} "
                  f"{records[-1]['codes']}", flush=True)
    for kind, rows_ in (("broken", broken), ("correct", rows)):
        for e in rows_:
            result = audit(e.obj, as_=e.loss_id, max_examples=args.max_examples)
            records.append({"kind": kind, "name": e.name, **graded(result, e.obj, e.loss_id)})
            print(f"{kind:<8} {e.name:<41} {records[-1]['today']} {records[-1]['invariants']} "
                  f"{records[-1]['ordered']} {records[-1]['codes']}", flush=True)
    summarise(records, time.perf_counter() - t0)
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1))


def summarise(records, seconds: float) -> None:
    mutants = [r for r in records if r["kind"] == "mutant" and not r.get("equivalent")]
    print(f"\n{len(mutants)} mutants audited ({sum(1 for r in records if r.get('equivalent'))} equivalent left out), "
          f"{seconds:.0f} s")
    for grading in ("today", "invariants", "ordered"):
        for kind, rows in (("mutants", mutants), ("broken", [r for r in records if r["kind"] == "broken"])):
            print(f"{grading:<11} {kind:<8} exit 1: {sum(r[grading] == 1 for r in rows)}/{len(rows)}")
        correct = [r for r in records if r["kind"] == "correct"]
        print(f"{grading:<11} correct  exit 0: {sum(r[grading] == 0 for r in correct)}/{len(correct)}")
    for operator in OPERATORS:
        rows = [r for r in mutants if r["operator"] == operator]
        print(f"  {operator:<10} " + ", ".join(f"{g} {sum(r[g] == 1 for r in rows)}/{len(rows)}"
                                               for g in ("today", "invariants", "ordered")))


if __name__ == "__main__":
    main()
