"""Reproducers: short standalone scripts that import the candidate, rebuild the input and show the problem."""
from __future__ import annotations

import numpy as np

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


def default_snippet(signature, expected) -> str:
    call = f"out = loss_fn({', '.join(signature)})"
    lines = [call, 'print("candidate:", out)']
    if expected is not None:
        exp = np.asarray(expected, dtype=np.float64)
        lines.append(f"print(\"reference:\", {exp.tolist()!r})  # losscheck.references, float64")
    return "\n".join(lines)


def reproducer_source(*, code: str, seed: int, candidate, binding, case, dtype: str, snippet: str,
                      grad_args=(), setup: str = "") -> str:
    """The standalone script of a finding: imports, the candidate built as audited, the case's inputs, `snippet`."""
    kwargs = binding.candidate_kwargs(case.params, convert=lambda a: tensor_source(np.asarray(a), dtype))
    header = f'"""losscheck {code}: {PITFALLS[code].title} (seed {seed}). Run: python this_file.py"""'
    inputs = "\n".join(f"{name} = {tensor_source(a, dtype, i in grad_args)}"
                       for i, (name, a) in enumerate(zip(binding.spec.signature, binding.spec.candidate_inputs(case))))
    parts = [header, "import functools\n\nimport torch", candidate.import_lines,
             candidate.construction(kwargs), inputs]
    if setup:
        parts.append(setup)
    parts.append(snippet)
    return "\n\n".join(p for p in parts if p) + "\n"
