"""Conventions: the points on which correct implementations in the wild legitimately differ.

A Convention is a named option of a spec (dice `per_sample`, contrastive `scale`, ...). Each value says how
the reference changes under it: extra reference keyword arguments, or a compute function of the reference
and the case. A declared value (`--convention name=value`) becomes the reference the candidate is audited
against; every other value becomes an LC103 variant, so a candidate that follows an undeclared convention
gets a warning naming it, the libraries that follow it, and the `--convention` that declares it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from losscheck.errors import UsageError
from losscheck.variants import Variant, call


@dataclass(frozen=True)
class Option:
    says: str
    libraries: str = ""
    kwargs: dict = field(default_factory=dict)   # reference keyword arguments under this option
    compute: Callable | None = None              # or (reference, case) -> value, for forms a kwarg cannot say


@dataclass(frozen=True)
class Convention:
    name: str
    default: str
    options: dict  # value -> Option

    def evaluate(self, value, reference, case):
        option = self.options[value]
        if option.compute is not None:
            return np.asarray(option.compute(reference, case), dtype=np.float64)
        return call(reference, case, **option.kwargs)


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
    """{parameter: (convention, option)} the candidate's own settings declare (spec.convention_params)."""
    out = {}
    for param, (convention, options) in spec.convention_params.items():
        if param in candidate.init or param in candidate.parameters:
            value = candidate.init.get(param, candidate.parameters.get(param))
            if isinstance(value, (bool, str, int, float)) and value in options:
                out[param] = (convention, options[value])
    return out


def declare(spec, declared: dict):
    """The spec audited under the declared conventions: its reference follows them, and the variants list the
    undeclared values of every convention as LC103 warnings."""
    by_name = {c.name: c for c in spec.conventions}
    for name, value in declared.items():
        if name not in by_name:
            known = ", ".join(by_name) or "none"
            raise UsageError(f"{spec.id} has no convention '{name}' (its conventions: {known})")
        if value not in by_name[name].options:
            raise UsageError(f"convention {name} takes {', '.join(by_name[name].options)}, not '{value}'")
    chosen = {c.name: declared.get(c.name, c.default) for c in spec.conventions}
    reference = spec.reference
    for conv in spec.conventions:
        if chosen[conv.name] != conv.default:
            reference = _under(conv, chosen[conv.name], reference)
    alternatives = tuple(
        Variant(f"{conv.name}={value}", option.says, f"if this is intended, declare it: --convention "
                f"{conv.name}={value}", _alternative(conv, value, reference), code="LC103", libraries=option.libraries,
                convention=((conv.name, value),))
        for conv in spec.conventions for value, option in conv.options.items() if value != chosen[conv.name])
    return replace(spec, reference=reference, variants=(*spec.variants, *alternatives)), chosen


def combined(spec, declared: dict, alternatives) -> list:
    """LC103 variants for two undeclared conventions at once (kornia's focal: alpha form and 'mean' over
    classes), each computed with the spec's reference declared under both."""
    from losscheck.variants import call

    out = []
    for i, a in enumerate(alternatives):
        for b in alternatives[i + 1:]:
            (name_a, value_a), (name_b, value_b) = a.convention[0], b.convention[0]
            if name_a == name_b:
                continue
            both, _ = declare(spec, {**declared, name_a: value_a, name_b: value_b})
            out.append(Variant(f"{a.name} and {b.name}", f"{a.says}, and {b.says}",
                               f"if this is intended, declare both: --convention {name_a}={value_a} "
                               f"--convention {name_b}={value_b}",
                               lambda ref, case, r=both.reference: call(r, case), code="LC103",
                               libraries=" / ".join(x for x in {a.libraries, b.libraries} if x),
                               convention=(*a.convention, *b.convention)))
    return out


def _under(conv, value, reference):
    def wrapped(*inputs, **params):
        from losscheck.cases import Case
        return conv.evaluate(value, reference, Case(tuple(inputs), params))
    wrapped.__name__, wrapped.__module__ = reference.__name__, reference.__module__
    return wrapped


def _alternative(conv, value, reference):
    return lambda ref, case: conv.evaluate(value, reference, case)
