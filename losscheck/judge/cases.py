"""Cases: one drawn input (arrays in signature order) with the reference parameters in force.

Arrays are drawn in float64 and rounded to the dtype under test before both the candidate and the
reference see them, so that the comparison measures the loss, not the rounding of its inputs.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from hypothesis import strategies as st

from losscheck.judge.chunks import Chunked, draw_chunks
from losscheck.judge.strategies import confident_logits, distinct_sizes, fixed_sizes

if TYPE_CHECKING:
    from losscheck.judge.state import AuditState

DTYPES = {"float64": torch.float64, "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class Case:
    inputs: tuple
    params: dict = field(default_factory=dict)
    layout: str = ""
    target_format: str = ""
    label: str = ""
    # (parameter, inputs -> value) for the parameters that follow the input (Param.follows: vocab_size): read
    # from the inputs at every construction, so no copy of a case (new inputs, other parameters) gets them stale
    follows: tuple = ()
    # The input the candidate takes as a list of chunks, with the chunk lengths drawn (LossSpec.chunked; None when
    # none): the case keeps the whole array, a call hands the candidate its chunks (losscheck.judge.chunks)
    chunked: Chunked | None = None

    def __post_init__(self):
        if self.follows:
            object.__setattr__(self, "params", {**self.params, **{name: f(self.inputs) for name, f in self.follows}})

    def rounded(self, dtype: str) -> "Case":
        """The case with every float input rounded to `dtype` (values kept as float64 ndarrays)."""
        def r(a):
            if a.dtype.kind != "f":
                return a
            t = torch.from_numpy(np.ascontiguousarray(a)).to(DTYPES[dtype]).to(torch.float64)
            return t.numpy().reshape(a.shape)  # np.ascontiguousarray makes a 0-d array (1,)
        return replace(self, inputs=tuple(r(a) for a in self.inputs),
                       params={k: (r(v) if isinstance(v, np.ndarray) else v) for k, v in self.params.items()})

    def with_params(self, **params) -> "Case":
        return replace(self, params={**self.params, **params})

    def with_inputs(self, inputs) -> "Case":
        return replace(self, inputs=tuple(inputs))


def to_tensor(a: np.ndarray, dtype: str, device="cpu") -> torch.Tensor:
    """A contiguous tensor of `a` (torch.tensor keeps a NumPy view's strides: a one-hot target built with moveaxis
    would reach the loss channels-last, which only device.layout may do on purpose)."""
    a = np.array(a, order="C")  # (np.ascontiguousarray would make a 0-d target 1-d)
    if a.dtype.kind == "f":
        return torch.tensor(a, dtype=DTYPES[dtype], device=device)
    return torch.tensor(a, dtype=torch.int64, device=device)


def cases(state: AuditState, *, layouts=None, target_formats=None, scale="normal", explore=True, distinct=False,
          confident=False):
    """A strategy of Cases of the spec in force: explorable parameters drawn (candidate default first), the audit's
    default layout (AuditState.layout_order) and first accepted target format unless given, the chunk lengths where the candidate takes an
    input as a list of chunks (losscheck.judge.chunks); with `distinct`, every dimension of a case has
    its own size above one (losscheck.judge.strategies.distinct_sizes); with `confident`, logits reach ±30
    (losscheck.judge.strategies.confident_logits)."""
    spec, binding = state.spec, state.binding
    layouts = tuple(layouts or state.layout_order()[:1])
    target_formats = tuple(target_formats or (state.target_formats or spec.target_formats)[:1])

    @st.composite
    def draw_case(draw):
        params = dict(binding.defaults)
        if explore:
            for name in binding.explorable:
                p = spec.param(name)
                if not p.tensor and p.follows is None:
                    options = [v for v in dict.fromkeys([binding.defaults[name], *p.values])
                               if v not in state.refused.get(name, ())]
                    params[name] = draw(st.sampled_from(options), label=name)
        layout = draw(st.sampled_from(layouts), label="layout")
        target_format = draw(st.sampled_from(target_formats), label="target format")
        with distinct_sizes() if distinct else contextlib.nullcontext(), fixed_sizes(binding.sizes), \
                confident_logits() if confident else contextlib.nullcontext():
            inputs = spec.draw_inputs(draw, layout=layout, target_format=target_format, scale=scale, params=params)
        if explore:
            for name in binding.explorable:
                if spec.param(name).tensor and draw(st.booleans(), label=f"use {name}"):
                    params[name] = spec.tensor_params[name](draw, inputs)
        return Case(tuple(inputs), params, layout, target_format, follows=follows(spec),
                    chunked=draw_chunks(draw, spec.chunked, inputs))

    return draw_case()


def follows(spec) -> tuple:
    """(parameter, inputs -> value) of each parameter of `spec` that follows the input (Param.follows)."""
    return tuple((p.name, p.follows) for p in spec.params if p.follows is not None)


def edge_cases(state: AuditState) -> list[Case]:
    """The spec's forced edge values, when the candidate accepts their layout and format (default ones)."""
    spec = state.spec
    accepted = (not state.layouts or spec.layouts[0] in state.layouts) and \
        (not state.target_formats or spec.target_formats[0] in state.target_formats)
    if spec.edge_cases is None or not accepted or state.binding.sizes:  # drawn for other sizes than it was built for
        return []
    return [Case(tuple(np.asarray(a) for a in inputs), dict(state.binding.defaults), spec.layouts[0],
                 spec.target_formats[0], label, follows=follows(spec), chunked=spec.chunked)
            for label, inputs in spec.edge_cases()]


def labelled(case: Case) -> str:
    """" (its label)" for a message about a forced edge case ("empty mask", ...); "" for a drawn one."""
    return f" ({case.label})" if case.label else ""


def example_text(case: Case, signature, dtype: str, inputs=None, params=None) -> str:
    """The case as short readable text (the 'example' of a finding): the inputs the candidate received and
    `params` (default: the case's parameters; a finding lists those the candidate takes, Binding.taken)."""
    lines = [f"# {case.label}"] if case.label else []
    for name, a in zip(signature, case.inputs if inputs is None else inputs):
        if isinstance(a, list):  # an input taken as a list of chunks (losscheck.judge.chunks.listed)
            lines.append(f"{name} = [  # {len(a)} chunks of shapes {', '.join(str(tuple(c.shape)) for c in a)}")
            lines += [f"    {np.array2string(c, precision=6, separator=', ', max_line_width=100)}," for c in a]
            lines.append("]")
            continue
        kind = dtype if a.dtype.kind == "f" else "int64"
        lines.append(f"{name} = {np.array2string(a, precision=6, separator=', ', max_line_width=100)}  "
                     f"# {kind}, shape {tuple(a.shape)}")
    shown = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
             for k, v in (case.params if params is None else params).items()}
    lines.append(f"params = {shown}")
    return "\n".join(lines)
