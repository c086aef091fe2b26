"""Parameter maps: a candidate that computes the catalogue's loss with its parameters named, ordered or scaled
otherwise (issue 20, scope 1).

A map says, for some of the reference's numeric parameters, which value of the candidate's parameters the
reference takes. Each entry is `R=expression`, the expression one of five generic forms:

    R=S            the candidate's S is the reference's R (two such entries, R=S and S=R, swap two parameters)
    R=u            a parameter under another name: u is a candidate parameter the reference lacks
                   (a trainer's label smoother takes `epsilon`: label_smoothing=epsilon)
    R=1-R          the complement (a weight documented for the other class)
    R=c*R          a multiple (a smoothing term counted twice: smooth=2*smooth)
    R=S or T       a default tied to another parameter: S when the candidate is given S, else T
                   (beta = 1 - alpha when not given: beta=beta or 1-alpha)

Written as text it is declared like a convention, `--convention "params=alpha=beta or 1-alpha, beta=alpha"`
(config: `conventions = { params = "..." }`): the reference is then evaluated under the map
(`ParamMap.reference`), and a renamed parameter is bound to the candidate's name for it (`renames`), so the audit
explores it. On a value disagreement that no known variant or convention explains, `candidates` enumerates the
maps over the spec's numeric parameters (one entry, then products of two; a multiple's factor is fitted on the
failing example by root finding) as LC103 variants; diagnosis (losscheck/diagnosis/explain.py) keeps the first
that reproduces the candidate on every example, the value check adopts it, and the rest of the audit runs against
the mapped definition. A map is a relation between parameter values, so it is kept only where it also holds at the
parameter values the audit explores. A map the spec lists as a known defect (tversky's "alpha and beta swapped",
focal's "alpha on the other class") is tried before any map, as that defect (LC102): a loss that swaps the two
where the paper does not is named as that defect; one whose documented roles are swapped and tie beta to 1 - alpha
follows no listed defect, and is named by its map.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from losscheck.diagnosis.variants import Variant, call
from losscheck.errors import UsageError

CONVENTION = "params"   # the convention name a map is declared and reported under
_TERM = re.compile(r"^(?:(?P<one>1\s*-)|(?P<factor>[0-9.eE+-]+)\s*\*)?\s*(?P<name>[A-Za-z_]\w*)$")
_FACTORS = np.logspace(-3, 3, 61)   # the grid a multiple's factor is bracketed on before root finding
_FORM_WORDS = {"rename": "a parameter under another name", "other": "a parameter read from another",
               "complement": "a complement 1 - p", "multiple": "a multiple c·p", "swapped": "two parameters swapped",
               "tied": "a default tied to another parameter"}


@dataclass(frozen=True)
class Term:
    """One of the candidate's parameter values, as the reference takes it: itself, 1 - it, or factor times it."""

    name: str
    form: str = "same"   # "same" | "complement" | "multiple"
    factor: float = 1.0

    def __str__(self) -> str:
        return {"same": self.name, "complement": f"1-{self.name}"}.get(self.form, f"{self.factor:.6g}*{self.name}")

    def value(self, params: dict, binding):
        v = params[self.name] if self.name in params else candidate_value(binding, self.name)
        return {"same": v, "complement": 1 - v}.get(self.form, self.factor * v if v is not None else None)


@dataclass(frozen=True)
class Entry:
    """The value of one reference parameter: `term`, or `otherwise` where the candidate is not given term's
    parameter (its default is tied to another parameter)."""

    term: Term
    otherwise: Term | None = None

    def __str__(self) -> str:
        return f"{self.term} or {self.otherwise}" if self.otherwise else str(self.term)


@dataclass(frozen=True)
class ParamMap:
    """Reference parameter -> Entry, in the spec's parameter order."""

    entries: tuple   # ((reference name, Entry), ...)

    def __str__(self) -> str:
        return ", ".join(f"{name}={entry}" for name, entry in self.entries)

    def renames(self, spec) -> dict:
        """{reference name: candidate name} of the entries that read a parameter the reference lacks."""
        return {name: e.term.name for name, e in self.entries
                if e.term.form == "same" and e.otherwise is None and spec.param(e.term.name) is None}

    def apply(self, params: dict, binding) -> dict:
        """The reference parameters that differ under the map, from a case's `params` (the candidate's values, in
        the reference's names, as the binding passes them)."""
        out = {}
        for name, e in self.entries:
            if binding.names.get(name) == e.term.name and e.term.form == "same" and e.otherwise is None:
                continue   # the candidate's own value, or a renamed parameter the binding passes under its name
            given = e.otherwise is None or binding.gives(e.term.name, params.get(e.term.name))
            out[name] = (e.term if given else e.otherwise).value(params, binding)
        return out

    def reference(self, reference, binding):
        """`reference` evaluated under the map."""
        def mapped(*inputs, **params):
            return np.asarray(reference(*inputs, **{**params, **self.apply(params, binding)}), dtype=np.float64)
        mapped.__name__, mapped.__module__ = reference.__name__, reference.__module__
        return mapped

    def forms(self, spec) -> list:
        """The generic forms the map is made of, in words."""
        reads = {name: e.term.name for name, e in self.entries if e.term.form == "same"}
        kinds = []
        for name, e in self.entries:
            if e.otherwise is not None:
                kinds.append("tied")
            if spec.param(e.term.name) is None:
                kinds.append("rename")
            elif e.term.form == "same" and e.term.name != name:
                kinds.append("swapped" if reads.get(e.term.name) == name else "other")
            if e.term.form != "same":
                kinds.append(e.term.form)
        return [_FORM_WORDS[k] for k in dict.fromkeys(kinds)]

    def variant(self, spec, binding) -> Variant:
        """This map as an LC103 variant: the reference in force under it, a convention the value check adopts."""
        text = str(self)
        says = (f"computes the catalogue's loss under a parameter map ({', '.join(self.forms(spec))}): "
                + "; ".join(f"the catalogue's `{name}` is its `{e}`" for name, e in self.entries))
        return Variant(f"{CONVENTION}={text}", says,
                       f"if this is intended, declare it: --convention \"{CONVENTION}={text}\" (config: conventions "
                       f"= {{ {CONVENTION} = \"{text}\" }}); if not, give the parameters the catalogue's meaning",
                       lambda ref, case: call(ref, case, **self.apply(case.params, binding)), code="LC103",
                       convention=((CONVENTION, text),))


def candidate_value(binding, name: str):
    """The candidate's own value of its parameter `name` (--init, else its default)."""
    cand = binding.candidate
    return cand.init.get(name, cand.parameters.get(name))


def from_text(text: str, spec, binding) -> ParamMap:
    """A declared map ("alpha=beta or 1-alpha, beta=alpha"), checked against the spec and the candidate."""
    entries = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, expression = (s.strip() for s in part.partition("="))
        if not sep or spec.param(name) is None:
            known = ", ".join(p.name for p in spec.params)
            raise UsageError(f"--convention {CONVENTION}: '{part}' is not reference_parameter=expression "
                             f"({spec.id}'s parameters: {known})")
        terms = [_term(t.strip(), part, spec, binding) for t in expression.split(" or ")]
        if len(terms) > 2:
            raise UsageError(f"--convention {CONVENTION}: '{part}' has more than one 'or'")
        entries.append((name, Entry(terms[0], terms[1] if len(terms) == 2 else None)))
    if not entries:
        raise UsageError(f"--convention {CONVENTION} takes name=expression pairs, e.g. label_smoothing=epsilon")
    return ParamMap(tuple(entries))


def _term(text: str, part: str, spec, binding) -> Term:
    m = _TERM.match(text)
    if m is None:
        raise UsageError(f"--convention {CONVENTION}: '{part}': each term is NAME, 1-NAME or FACTOR*NAME")
    name = m["name"]
    if spec.param(name) is None and name not in binding.candidate.parameters:
        raise UsageError(f"--convention {CONVENTION}: '{part}': {name} is neither a parameter of {spec.id} nor "
                         f"of the candidate")
    if m["one"]:
        return Term(name, "complement")
    if m["factor"]:
        return Term(name, "multiple", float(m["factor"]))
    return Term(name)


# -- the search ------------------------------------------------------------------------------------------------------
def candidates(spec, binding, reference, failing) -> list:
    """LC103 variants for the maps over the spec's numeric parameters, simplest first: one entry, then two.

    `failing` is (case, candidate value) of the disagreement, on which a multiple's factor is fitted; `reference` is
    the reference in force (under the conventions already settled)."""
    numeric = [p.name for p in spec.params if isinstance(p.default, float) and not p.tensor and p.follows is None]
    bound = [n for n in numeric if n in binding.names]
    unbound = [u for u in binding.unmapped if _number(candidate_value(binding, u))]
    tied = [n for n in bound if binding.candidate.parameters.get(binding.names[n]) is None
            and binding.names[n] not in binding.candidate.init]
    per_param = {}
    for name in numeric:
        options = [Entry(Term(u, form)) for u in unbound for form in ("same", "complement")] \
            if name not in binding.names else []
        options += [Entry(Term(other)) for other in bound if other != name]
        options += [Entry(Term(x), Term(z, form)) for x in tied for z in bound if z != x
                    for form in ("same", "complement")]
        if name in binding.names:
            options += [Entry(Term(name, "complement"))]
            options += [Entry(Term(name, "multiple", c)) for c in _factors(reference, failing, name)]
        per_param[name] = options
    singles = [((name, e),) for name in numeric for e in per_param[name]]
    pairs = [tuple(zip(names, es)) for names in itertools.combinations(numeric, 2)
             for es in itertools.product(per_param[names[0]], per_param[names[1]])]
    return [ParamMap(entries).variant(spec, binding) for entries in singles + pairs]


def _factors(reference, failing, name, most=3) -> list:
    """Factors c for which the reference at name = c·(its value) gives the candidate's value on the failing example
    (roots bracketed on a log grid, then refined); [] where the parameter is 0 there, and where the loss is
    proportional to the parameter (z-loss's coefficient, ORPO's β): there c·p is the loss times c, which is the
    classic "result × c" defect, never a convention of how p is read."""
    case, got = failing
    r0 = case.params.get(name)
    if not _number(r0) or r0 == 0:
        return []
    target = float(np.ravel(got)[0])

    def value(c):
        with np.errstate(all="ignore"):
            return np.asarray(call(reference, case, **{name: c * r0}), dtype=np.float64)

    def gap(c):
        return float(np.ravel(value(c))[0]) - target

    try:
        if _proportional(value(1.0), value(2.0), value(0.5)):
            return []
        gaps = [gap(c) for c in _FACTORS]
    except (ValueError, IndexError, ZeroDivisionError, TypeError, KeyError):
        return []
    roots = []
    for (a, ga), (b, gb) in zip(zip(_FACTORS, gaps), zip(_FACTORS[1:], gaps[1:])):
        if np.isfinite(ga) and np.isfinite(gb) and ga * gb <= 0 and ga != gb:
            c = brentq(gap, a, b, xtol=1e-12) if ga * gb < 0 else (a if ga == 0 else b)
            if abs(c - 1) > 1e-6:
                roots.append(float(f"{c:.6g}"))
    return list(dict.fromkeys(roots))[:most]


def _proportional(at_1, at_2, at_half) -> bool:
    """Whether the loss doubles and halves with the parameter (to 1e-9): it is proportional to it there."""
    scale = float(np.max(np.abs(at_1), initial=0.0))
    return scale > 0 and bool(np.all(np.isfinite(at_1))) and \
        bool(np.allclose(at_2, 2 * at_1, rtol=1e-9, atol=1e-12 * scale)) and \
        bool(np.allclose(at_half, at_1 / 2, rtol=1e-9, atol=1e-12 * scale))


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
