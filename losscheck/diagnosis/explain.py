"""Diagnosis: turn "values differ" into the name of the mistake, or say where the candidate parts.

`explain_mismatch` tries every variant of the spec (its defects, its conventions alone and in combination,
the common defects) on the shrunk failing case and freshly drawn cases; a variant that reproduces the
candidate on all of them names the defect (LC102) or the conventions (LC103). It runs only after a
disagreement, so a clean audit pays nothing.

`locate_region` bisects along the ray from zero to the failing input (scaling the differentiable inputs)
to find where the candidate stops being finite or parts from the reference.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from losscheck.judge.binding import bind
from losscheck.judge.cases import cases, edge_cases
from losscheck.judge.evidence import Violation
from losscheck.judge.tolerances import EXTREME_FLOAT32, close
from losscheck.diagnosis import maps
from losscheck.diagnosis.conventions import combinations
from losscheck.diagnosis.variants import COMMON, Variant, pairs
from losscheck.specs import SPECS

CONFIRMING_EXAMPLES = 12


def _matches(ctx, variant, case, got, dtype) -> bool | None:
    """Whether the variant gives the candidate's value on the case; None where the variant's loss is undefined
    (not finite) at every point: no verdict there (an unsmoothed Dice on an empty mask and an empty prediction)."""
    try:
        with np.errstate(all="ignore"):
            value = variant.compute(ctx.spec.reference, case)
    except (ValueError, IndexError, ZeroDivisionError, TypeError, KeyError):
        return False
    if value.shape != got.shape:
        return False
    keep = np.isfinite(value)
    if not keep.any():
        return None
    return close(got[keep], value[keep], dtype)


def _fit(ctx, variant, examples):
    """Fit a variant's free parameters on the first example that allows it; {} when it has none, else None."""
    if variant.fit is None:
        return {}
    for case, got in examples:
        try:
            with np.errstate(all="ignore"):
                return variant.fit(ctx.spec.reference, case, got)
        except (ValueError, IndexError, ZeroDivisionError, TypeError, KeyError):
            continue
    return None


def _explains(ctx, variant, examples, dtype, definite=False):
    """The fitted parameters when the variant reproduces the candidate on every example, else None; with
    `definite`, also only when the variant's loss is defined on every example."""
    params = _fit(ctx, variant, examples)
    if params is None:
        return None
    fitted = _fitted(variant, params)
    verdicts = []
    for case, got in examples:
        verdicts.append(_matches(ctx, fitted, case, got, dtype))
        if verdicts[-1] is False or (definite and verdicts[-1] is None):
            return None
    return params if True in verdicts else None


def _fitted(variant, params):
    """The variant with its fitted parameters fixed (no free parameter left)."""
    if not params and variant.fit is None:
        return variant
    return replace(variant, fit=None, compute=lambda ref, c: variant.compute(ref, c.with_params(**params)))


def explain_mismatch(ctx, v: Violation) -> Violation:
    """LC101 -> LC102/LC103 when a known variant reproduces the candidate on every drawn example.

    The examples are the shrunk failing case and up to CONFIRMING_EXAMPLES fresh draws of its layout and format
    (with its parameters); `wider` are draws at other explored parameter values. Tried in order: the spec's
    defects, each undeclared convention value alone, the common defects, then products of two or more convention
    values (`conventions.combinations`, pruned to the values that change something on these examples), then
    products of two defects (`variants.pairs`: two mistakes in one loss, named in one message), then (made only
    when none of those holds on `wider` and the edge cases, and kept only where they hold on `wider`) the
    parameter maps over the spec's numeric parameters (`maps.candidates`, a multiple's factor fitted); the first
    that reproduces every example names the disagreement. A variant that also holds on `wider` and on the spec's
    edge cases is preferred, then one that holds on `wider` (a smoothing convention shows at smooth=1 and hides at
    1e-7; an empty-set rule shows on an empty mask only), and one defined on every example is preferred to
    one that leaves some undefined (no smoothing at all and a clamped denominator differ only where the former
    is 0/0). When nothing explains it, another catalogue id whose loss the candidate computes is named instead.
    """
    if "candidate" not in v.data:
        return v
    examples = [(v.case, np.asarray(v.data["candidate"], dtype=np.float64))]
    scalars = {k: val for k, val in v.case.params.items() if not isinstance(val, np.ndarray)}
    layouts = [v.case.layout or ctx.layouts[0]]
    formats = [v.case.target_format] if v.case.target_format else ctx.target_formats
    examples += _outputs(ctx, cases(ctx.state, layouts=layouts, target_formats=formats), v.dtype, scalars)
    # other parameter values
    wider = _outputs(ctx, cases(ctx.state, layouts=layouts, target_formats=formats), v.dtype)
    edges = _edge_outputs(ctx, v.dtype, scalars)
    candidates = list(_variants(ctx, examples + wider + edges))
    parameter_maps = None   # made only when no other variant holds on `wider` (a multiple's factor is fitted)
    var, params = None, {}
    for also, definite in ((wider + edges, True), (wider + edges, False), (wider, True), (wider, False), ((), True),
                           ((), False)):
        var, params = _first_explaining(ctx, candidates, examples, v.dtype, also=also, definite=definite)
        if var is None and also:   # a parameter map is a relation between values: it must hold at explored ones too
            if parameter_maps is None:
                parameter_maps = [] if maps.CONVENTION in ctx.state.fixed else \
                    maps.candidates(ctx.state.base_spec, ctx.binding, ctx.spec.reference, examples[0])
            var, params = _first_explaining(ctx, parameter_maps, examples, v.dtype, also=also, definite=definite)
        if var is not None:
            break
    if var is None:
        other = _other_id(ctx, examples, v.dtype)
        if other is None:
            return v
        ctx.state.diagnosed = _as_variant(other, ctx.candidate)
        return Violation(v.code, f"{v.message}; its values match {other}: audit with `--as {other}`", v.case, v.dtype,
                         expected=v.expected, snippet=v.snippet, setup=v.setup, data={**v.data, "matches_id": other})
    if var.code == "LC102":
        ctx.state.diagnosed = _fitted(var, params)  # stability's remarks are judged against it
    convention = f" (a documented convention, followed by {var.libraries})" if var.libraries else ""
    fitted = f" with {', '.join(f'{k}={val:.4g}' for k, val in params.items())}" if params else ""
    note = ctx.binding.explored_note(v.case.params)
    message = (f"{note}{var.name}{fitted}: the candidate {var.says}{convention}. Fix: {var.fix}. "
               f"Seen on every one of {len(examples)} examples; on this one {v.message.removeprefix(note)}")
    return Violation(var.code, message, v.case, v.dtype, expected=v.expected, snippet=v.snippet, setup=v.setup,
                     data={**v.data, "variant": var.name, "fitted": params,
                           **({"conventions": [list(c) for c in var.convention]} if var.convention else {})})


def _variants(ctx, examples):
    """The variants worth trying, lazily and in order (see explain_mismatch)."""
    base, fixed = ctx.state.base_spec, ctx.state.fixed
    current = [ctx.reference(case) for case, _ in examples]

    def unchanged(reference):
        try:
            with np.errstate(all="ignore"):
                return all(np.allclose(np.asarray(reference(*case.inputs, **case.params), dtype=np.float64), want,
                                       rtol=1e-9, atol=1e-12, equal_nan=True)
                           for (case, _), want in zip(examples, current))
        except (ValueError, IndexError, ZeroDivisionError, TypeError, KeyError):
            return False

    many = range(2, len(base.conventions) + 1)
    yield from ctx.spec.variants
    yield from combinations(base, fixed, unchanged, sizes=(1,))
    yield from COMMON
    yield from combinations(base, fixed, unchanged, sizes=many)
    yield from pairs((*ctx.spec.variants, *COMMON))


def _as_variant(loss_id, candidate):
    """Another id's loss at the candidate's settings, as a variant (what the candidate computes instead)."""
    other = SPECS[loss_id]
    defaults = _scalars(bind(other, candidate).defaults)
    return Variant(loss_id, f"is {loss_id}", f"audit with --as {loss_id}",
                   lambda ref, case: np.asarray(other.reference(*case.inputs, **defaults), dtype=np.float64))


def _scalars(params: dict) -> dict:
    return {k: val for k, val in params.items() if not hasattr(val, "shape")}


def explains_case(ctx, case, got) -> str | None:
    """The name of the diagnosed variant when it gives the candidate's value `got` on `case` (None otherwise)."""
    var = ctx.state.diagnosed
    if var is None:
        return None
    return var.name if _matches(ctx, var, case, np.asarray(got, dtype=np.float64), "float32") else None


def _other_id(ctx, examples, dtype, almost_everywhere=0.8):
    """Another catalogue id with the same call signature whose reference (at the candidate's own settings, bound
    as for an audit under that id) gives the candidate's values on every example, when the values differ from
    this id's on almost every example: the loss was audited under the wrong --as."""
    differs = [not close(got, ctx.reference(case), dtype) for case, got in examples]
    if sum(differs) < almost_everywhere * len(examples):
        return None
    arity = len(ctx.spec.signature)
    for other in SPECS.values():
        if other.id == ctx.spec.id or len(other.signature) != arity or other.target_views:
            continue
        defaults = _scalars(bind(other, ctx.candidate).defaults)
        try:
            with np.errstate(all="ignore"):
                if all(close(got, np.asarray(other.reference(*case.inputs, **defaults), dtype=np.float64), dtype)
                       for case, got in examples):
                    return other.id
        except (ValueError, IndexError, ZeroDivisionError, TypeError, KeyError):
            continue
    return None


def _collect(ctx, out, case, dtype, scalars) -> None:
    """Append (case, candidate value as float64) to `out` for `case` with `scalars` as its parameters, rounded to
    `dtype`; a case the candidate fails on (a Violation) is left out."""
    case = case.with_params(**(scalars or {})).rounded(dtype)
    try:
        out.append((case, ctx.run(case, dtype)[0].detach().double().numpy()))
    except Violation:
        pass


def _outputs(ctx, strategy, dtype, scalars=None) -> list:
    """(case, candidate value) on up to CONFIRMING_EXAMPLES drawn cases (with `scalars` as their parameters)."""
    out = []
    ctx.search(strategy, lambda case: _collect(ctx, out, case, dtype, scalars), max_examples=CONFIRMING_EXAMPLES)
    return out


def _edge_outputs(ctx, dtype, scalars) -> list:
    """(case, candidate value) on the spec's edge cases at the failing case's parameters: they tell apart forms
    that agree on drawn inputs and differ on an empty set (denominator-only smoothing, and the same with the empty
    union scored 1)."""
    out = []
    for case in edge_cases(ctx.state):
        _collect(ctx, out, case, dtype, scalars)
    return out


def _first_explaining(ctx, variants, examples, dtype, also=(), definite=False):
    """The first variant (and its fitted parameters) that reproduces the candidate on every example (and, without
    refitting, on every one of `also`)."""
    for var in variants:
        params = _explains(ctx, var, examples, dtype, definite)
        if params is not None and (not also or _explains(ctx, _fitted(var, params), list(also), dtype, definite)
                                   is not None):
            return var, params
    return None, {}


def locate_region(ctx, v: Violation, steps: int = 40) -> Violation:
    """Add "agrees for |x| < a, parts beyond" to a stability violation, by bisection on a scale factor; left out
    when a diagnosed variant already explains the values (a region found against the reference would only measure
    the distance from that variant)."""
    case = v.case
    if "explained_by" in v.data:
        return v

    def scaled(t):
        inputs = list(case.inputs)
        for i in ctx.spec.grad_args:
            inputs[i] = inputs[i] * t
        return case.with_inputs(inputs)

    def agrees(t):
        c = scaled(t)
        want = ctx.reference(c)
        try:
            got = ctx.run(c, v.dtype)[0].detach().double().numpy()
        except Violation:
            return False
        return bool(np.all(np.isfinite(got))) and close(got, want, v.dtype, EXTREME_FLOAT32)

    if not agrees(0.0) or agrees(1.0):
        return v
    lo, hi = 0.0, 1.0
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if agrees(mid) else (lo, mid)
    edge = max(float(np.max(np.abs(case.inputs[i]))) for i in ctx.spec.grad_args) * hi
    names = "/".join(ctx.spec.signature[i] for i in ctx.spec.grad_args)
    region = f"agrees with the reference for |{names}| < {edge:.4g} on this input and parts beyond it"
    return Violation(v.code, f"{v.message}; {region}", case, v.dtype, expected=v.expected, snippet=v.snippet,
                     setup=v.setup, data={**v.data, "region": {"parts_at": edge, "inputs": names}})
