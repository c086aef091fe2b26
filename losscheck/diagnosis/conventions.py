"""Conventions: the points on which correct implementations in the wild legitimately differ.

A Convention is a named option of a spec (dice `per_sample`, contrastive `scale`, ...). Each value says how
the reference changes under it: reference keyword arguments. The maths of every convention lives in the
float64 reference (references/<family>.py documents each keyword and its source), so conventions combine
through the reference's own arguments: the options of a product merge their keyword arguments, and the spec
modules hold no loss maths. A declared value (`--convention name=value`) becomes the reference the candidate
is audited against. On a disagreement, diagnosis searches the products of the other values (`combinations`):
a candidate that follows undeclared conventions, one or several at once, gets one warning (LC103) naming
them, the libraries that follow them, and the `--convention` flags that declare them.

Conventions are families of forms, not lists of libraries: Dice's smoothing comes in both places, the denominator
only, the denominator with the empty union apart, the Tversky form and a clamp, each with the empty-set rule it
implies. An input domain (a loss on probabilities where the catalogue draws logits) is an option with `inputs`:
under it the spec draws in that domain (`declare`), and it is found by what the candidate accepts (`domains`, tried
by the api.call probe), never by the value search.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from losscheck.errors import UsageError
from losscheck.judge.chunks import Chunked
from losscheck.diagnosis.variants import Variant, call


@dataclass(frozen=True)
class Option:
    says: str
    libraries: str = ""
    kwargs: dict = field(default_factory=dict)   # reference keyword arguments under this option
    # An input domain (probabilities where the catalogue draws logits): the drawn inputs (and edge cases) mapped
    # into it, a tuple of arrays to a tuple of arrays. Such an option is found by what the candidate accepts (the
    # api.call probe, checks/probe.py), not by values: the value search leaves it out.
    inputs: Callable | None = None
    # With `inputs`: the candidate takes one of those inputs as a list of chunks (losscheck.judge.chunks.Chunked),
    # a layout of its own that the probe tries after the whole tensor.
    chunked: Chunked | None = None
    # With `inputs`: the target formats the definition takes in that domain, where it names fewer than the
    # catalogue's (language-model code takes class-index labels (B, T): no probability targets there).
    target_formats: tuple | None = None
    # With `inputs`: every layout reaches the candidate in one form (the class-last domain's token sequences
    # (B, T, V), whatever the catalogue drew), so a layout whose values disagree holds wrong values, not a
    # contract of its own: the probe does not set it aside as DISAGREES (LossSpec.one_form).
    one_form: bool = False
    # With `inputs`: the layouts a candidate must take in that domain (LossSpec.required_layouts), where the
    # catalogue's would check too little (the class-last domain's (N, 1, V) holds no padding and one chunk)
    required_layouts: tuple | None = None
    # Found only where the user or the candidate's own settings declare it (spec.convention_params): the value
    # search leaves it out, where it would take a known defect for a convention (a ranking loss scoring by the dot
    # product is sentence-transformers' documented similarity_fct=dot_score, and a defect where nothing says so).
    declared_only: bool = False


@dataclass(frozen=True)
class Convention:
    name: str
    default: str
    options: dict  # value -> Option


def parse(pairs) -> dict:
    """["name=value", ...] -> {name: value}; a pair without '=' is a usage error."""
    out = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"--convention takes name=value, not '{pair}'")
        out[name.strip()] = value.strip()
    return out


def implied(spec, candidate) -> dict:
    """{parameter: (convention, option)} the candidate's own settings declare (spec.convention_params); a function
    given as a setting (similarity_fct=util.dot_score) is read by its name."""
    out = {}
    for param, (convention, options) in spec.convention_params.items():
        if param in candidate.init or param in candidate.parameters:
            value = candidate.init.get(param, candidate.parameters.get(param))
            value = getattr(value, "__name__", value) if callable(value) else value
            if isinstance(value, (bool, str, int, float)) and value in options:
                out[param] = (convention, options[value])
    return out


def declare(spec, declared: dict):
    """The spec audited under the declared conventions (its reference follows them), and every convention's
    value in force. Undeclared values are found by `combinations`, on a disagreement only."""
    by_name = {c.name: c for c in spec.conventions}
    for name, value in declared.items():
        if name not in by_name:
            known = ", ".join(by_name) or "none"
            raise UsageError(f"{spec.id} has no convention '{name}' (its conventions: {known})")
        if value not in by_name[name].options:
            raise UsageError(f"convention {name} takes {', '.join(by_name[name].options)}, not '{value}'")
    chosen = {c.name: declared.get(c.name, c.default) for c in spec.conventions}
    return replace(spec, reference=reference_under(spec, chosen), **_in_domain(spec, chosen)), chosen


def domains(spec, fixed: dict) -> list:
    """[(convention, value)] of the input domains (options with `inputs`) not fixed: what the probe tries when
    the candidate rejects the catalogue's own domain."""
    return [(c.name, value) for c in spec.conventions if c.name not in fixed
            for value, option in c.options.items() if option.inputs is not None and value != c.default]


def _in_domain(spec, chosen: dict) -> dict:
    """The spec's draw and edge cases mapped into the chosen input domain, the input it takes in chunks there if
    any, its target formats and required layouts there, and whether every layout reaches the candidate in one form
    ({} under the catalogue's own)."""
    options = [c.options[chosen[c.name]] for c in spec.conventions]
    maps = [o.inputs for o in options if o.inputs]
    if not maps:
        return {}
    chunked = next((o.chunked for o in options if o.chunked), None)
    formats = next((o.target_formats for o in options if o.target_formats), spec.target_formats)

    def mapped(inputs):
        for f in maps:
            inputs = f(tuple(inputs))
        return tuple(inputs)

    def draw_inputs(draw, **kw):
        return mapped(spec.draw_inputs(draw, **kw))

    def edge_cases():
        return [(label, mapped(inputs)) for label, inputs in spec.edge_cases()]

    return {"draw_inputs": draw_inputs, "edge_cases": edge_cases if spec.edge_cases else None, "chunked": chunked,
            "one_form": any(o.one_form for o in options),
            "required_layouts": next((o.required_layouts for o in options if o.required_layouts),
                                     spec.required_layouts),
            "target_formats": tuple(f for f in spec.target_formats if f in formats)}


def reference_under(spec, chosen: dict):
    """The spec's reference with each convention at its chosen value: the chosen options' keyword arguments
    merged (no two conventions of a spec set the same keyword), over the case's parameters."""
    kwargs = {}
    for conv in spec.conventions:
        value = chosen.get(conv.name, conv.default)
        if value != conv.default:
            kwargs.update(conv.options[value].kwargs)
    return _under(spec.reference, kwargs) if kwargs else spec.reference


def combinations(spec, fixed: dict, unchanged, sizes):
    """LC103 variants: every product of undeclared convention values, the fewest changes first.

    `fixed` are the conventions in force that the search leaves alone (declared by the user or already detected);
    a value under which `unchanged(reference)` holds changes nothing on the examples at hand and is left out
    (pruned), so the product stays small. `sizes` are the numbers of conventions changed at once, in order. Each
    variant computes the spec's reference under the fixed conventions and its own values, so a loss following
    three conventions at once is named by one variant that lists all three and the flags declaring them.
    """
    chosen = {c.name: fixed.get(c.name, c.default) for c in spec.conventions}
    free = {}
    for conv in spec.conventions:
        if conv.name not in fixed:
            values = [v for v, option in conv.options.items() if v != chosen[conv.name] and option.inputs is None
                      and not option.declared_only and not unchanged(reference_under(spec, {**chosen, conv.name: v}))]
            free.update({conv.name: values} if values else {})
    by_name = {c.name: c for c in spec.conventions}
    for k in sizes:
        for names in itertools.combinations(free, k):
            for values in itertools.product(*(free[name] for name in names)):
                combo = dict(zip(names, values))
                yield _variant(combo, [by_name[name].options[value] for name, value in combo.items()],
                               reference_under(spec, {**chosen, **combo}))


def _variant(combo: dict, options, reference) -> Variant:
    pairs = [f"{name}={value}" for name, value in combo.items()]
    flags = " ".join(f"--convention {pair}" for pair in pairs)
    return Variant(_listed(pairs), _listed([o.says for o in options], ", and "),
                   f"if this is intended, declare {'it' if len(pairs) == 1 else 'them'}: {flags}",
                   lambda ref, case: call(reference, case), code="LC103",
                   libraries=" / ".join(dict.fromkeys(o.libraries for o in options if o.libraries)),
                   convention=tuple(combo.items()))


def _listed(items, last=" and ") -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + last + items[-1]


def _under(reference, kwargs: dict):
    def wrapped(*inputs, **params):
        return np.asarray(reference(*inputs, **{**params, **kwargs}), dtype=np.float64)
    wrapped.__name__, wrapped.__module__ = reference.__name__, reference.__module__
    return wrapped


