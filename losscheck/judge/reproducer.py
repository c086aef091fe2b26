"""Reproducers: short standalone scripts that import the candidate, rebuild the input and show the problem.

A reproducer runs from any directory (the candidate's `search_path`, its import roots found by
losscheck.suspect.recipe, goes first on sys.path), imports only what it uses, prints tensors with 8 digits (so the
numbers it prints are the ones the report records), and never computes another object's loss: an instance passed
directly that cannot be rebuilt makes it exit non-zero with one line saying how to build it
(Candidate.construction).
"""
from __future__ import annotations

import numpy as np

from losscheck.judge.chunks import reproducer_lines
from losscheck.pitfalls import PITFALLS

TORCH_DTYPE = {"float64": "torch.float64", "float32": "torch.float32", "float16": "torch.float16",
               "bfloat16": "torch.bfloat16"}


class Source(str):
    """Python source text that repr() leaves as it is (so it can sit inside a kwargs listing)."""

    def __repr__(self):
        return str(self)


def tensor_source(a: np.ndarray, dtype: str, requires_grad: bool = False) -> Source:
    if a.dtype.kind == "f":
        extra = f", dtype={TORCH_DTYPE[dtype]}" + (", requires_grad=True" if requires_grad else "")
    else:
        extra = ", dtype=torch.int64"
    return Source(f"torch.tensor({a.tolist()!r}{extra})")


def path_line(folders) -> str:
    """`import sys` and the line that puts `folders` first on sys.path (the candidate's import roots), or ""."""
    return f"import sys\nsys.path[:0] = {list(folders)!r}\n" if folders else ""


def values_source(a) -> str:
    """Python source for the values of an array (nested lists), non-finite numbers as float('nan') and such."""
    def item(x):
        if isinstance(x, list):
            return f"[{', '.join(item(y) for y in x)}]"
        return repr(x) if np.isfinite(x) else f"float({str(x)!r})"

    return item(np.asarray(a, dtype=np.float64).tolist())


def default_snippet(signature, expected) -> str:
    call = f"out = loss_fn({', '.join(signature)})"
    lines = [call, 'print("candidate:", out)']
    if expected is not None:
        lines.append(f"print(\"reference:\", {values_source(expected)})  # losscheck.references, float64")
    return "\n".join(lines)


def gradient_snippet(signature, grad_args, reference_grads: dict, projections: dict | None = None) -> str:
    """The candidate's gradient of sum(loss) for each differentiable input, each printed beside the reference's
    (`reference_grads`: input index -> the reference gradient, finite differences of the float64 reference;
    `projections`: input index -> (grad, x) -> torch code of the part the check compares, such as the part along
    the unit sphere of unit-norm features)."""
    lines = [f"out = loss_fn({', '.join(signature)})", "out.sum().backward()"]
    for i in grad_args:
        name = signature[i]
        grad = f"{name}.grad"
        if i in (projections or {}):
            lines.append(f"# the part of the gradient the audit compares (the rest does not move {name})")
            grad = projections[i](grad, f"{name}.detach()")
        lines += [f'print("grad {name}:", {grad})',
                  f'print("reference grad {name}:", torch.tensor({values_source(reference_grads[i])}, '
                  f'dtype=torch.float64))  # losscheck.references, finite differences']
    return "\n".join(lines)


def reproducer_source(*, code: str, seed: int, candidate, binding, case, dtype: str, snippet: str,
                      grad_args=(), setup: str = "") -> str:
    """The standalone script of a finding: imports, the candidate built as audited, the case's inputs (an input it
    takes in chunks handed to it as the audit did: losscheck.judge.chunks.reproducer_lines), `snippet`."""
    kwargs = binding.candidate_kwargs(case.params, convert=lambda a: tensor_source(np.asarray(a), dtype))
    header = f'"""losscheck {code}: {PITFALLS[code].title} (seed {seed}). Run: python this_file.py"""'
    inputs = "\n".join(f"{name} = {tensor_source(a, dtype, i in grad_args)}"
                       for i, (name, a) in enumerate(zip(binding.spec.signature, binding.spec.candidate_inputs(case))))
    chunked = reproducer_lines(case.chunked, binding.spec.signature, case.inputs)
    parts = [header, "import torch", path_line(candidate.search_path) + candidate.import_lines,
             "torch.set_printoptions(precision=8)",
             candidate.construction(kwargs), inputs, chunked, setup, snippet]
    return "\n\n".join(p for p in parts if p) + "\n"
