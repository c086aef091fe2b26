"""Findings grouped by cause: one headline per defect, and where else the same defect showed.

One mistake shows in many checks: a value wrong by a known variant is wrong on every layout, every target format
and at the extremes, and so is its gradient. Reports lead with one finding per cause (the headline) and list the
findings it explains beside it ("also seen in"); the JSON report keeps every finding and records the grouping.

Two findings share a cause when
  - they name the same mistake: the diagnosed variant (data `variant`, or `explained_by` where a check found that
    the diagnosed variant gives the candidate's value on its own case), or the other catalogue id (`matches_id`);
  - they show the same wrong value: the same candidate and reference numbers, or the same factor between them (a
    constant scale: a missing ½, a weight of 0, a sum over the batch) on another layout, format or extreme;
  - they have the same code and severity (one kind of failure seen by several checks: float16 and bfloat16, the
    gradient raising in three checks);
  - one compares a gradient with the reference's (LC302, LC303, LC304) while the value itself is wrong (a value
    or stability finding): the gradient of a wrong value;
  - they name the same operation at fault (data `operation`, losscheck.diagnosis.operations: "log of a
    probability", "exp without a max shift"): a stability finding in float32 at extreme inputs and a precision
    finding in bf16/fp16 are one operation failing in two regimes. Different operations stay apart.
The grouping is transitive (union-find over those links). Its headline is the finding that says most about the
cause: a named variant or a definite behaviour (mutates its input, depends on the batch size, no gradient) first,
and a precision finding that names the operation at fault with its fix (the regime training meets first: bf16 at
|x| ~ 7 where float32 needs |x| > 16); a guessed cause (a cap, data `capped`) next, a measured disagreement last
(MEASURED); then the higher severity, then the check order. Groups are listed by severity, then in the same
order, so the first finding of a report names the mistake where the audit could name it. Importing this module is
cheap (no torch).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from losscheck.pitfalls import SEVERITIES

# Codes that report a measured disagreement with the reference, or a raise, without saying why: a headline only
# where nothing in the group says more.
MEASURED = frozenset({"LC101", "LC201", "LC202", "LC203", "LC302", "LC303", "LC304", "LC502", "LC503", "LC504",
                      "LC602", "LC604", "LC606", "LC705", "LC801", "LC802", "LC803"})
GRADIENT_COMPARED = frozenset({"LC302", "LC303", "LC304"})
WRONG_VALUE = frozenset({"LC101", "LC102", "LC103", "LC201", "LC202"})  # the value (or its extremes) is wrong
REGIMES = {"stability": "float32 at extreme inputs", "precision": "bf16/fp16"}  # where an operation fails, by family
LABEL_ENDS = (" the candidate", " candidate ", " the loss is ", ": ")  # where a message's "where" clause ends
MAX_LABEL = 80


@dataclass(frozen=True)
class Group:
    """The findings one cause explains: the headline first, the others in check order."""

    findings: tuple  # of Finding, the headline first

    @property
    def headline(self):
        return self.findings[0]

    @property
    def others(self) -> tuple:
        return self.findings[1:]

    @property
    def severity(self) -> str:
        """The highest severity in the group."""
        return min((f.severity for f in self.findings), key=SEVERITIES.index)

    @property
    def cause(self) -> str:
        """What the group is about, in a few words: the named mistake, else the operation at fault and the regimes
        it fails in ("log of a probability: float32 at extreme inputs and bf16/fp16"), else the headline's title."""
        operation = self.headline.data.get("operation")
        if named(self.headline) or not operation:
            return named(self.headline) or self.headline.title
        regimes = [REGIMES[f] for f in dict.fromkeys(f.family for f in self.findings) if f in REGIMES]
        return f"{operation}: {' and '.join(regimes)}" if regimes else operation


def named(finding) -> str | None:
    """The mistake a finding names (a variant, another catalogue id), or None."""
    data = finding.data
    return data.get("variant") or data.get("explained_by") or data.get("matches_id")


def tier(finding) -> int:
    """How much a finding says about its cause: 0 names it (a variant, a definite behaviour, the operation a
    precision finding traced), 1 guesses it (a cap), 2 only measures a disagreement."""
    if finding.data.get("variant") or finding.data.get("matches_id"):
        return 0
    if finding.family == "precision" and finding.data.get("operation"):
        return 0  # the traced operation and its fix, in the regime training meets first
    if named(finding) or finding.data.get("capped"):
        return 1
    return 2 if finding.code in MEASURED else 0


def _scalar(value):
    """A number from a finding's data (a float or a one-element list), or None."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _numbers(finding):
    """(candidate, reference) as the report prints them (7 significant digits), or None."""
    data = finding.data
    if "candidate" not in data or "reference" not in data:
        return None
    return repr(_rounded(data["candidate"])), repr(_rounded(data["reference"]))


def _rounded(value):
    """`value` (a number or nested lists of them) at 7 significant digits, as reports print numbers."""
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return float(f"{value:.7g}") if isinstance(value, float) and math.isfinite(value) else value


def _factor(finding) -> float | None:
    """candidate / reference for scalar values (a finite, non-zero reference), when it is not 1."""
    c, r = _scalar(finding.data.get("candidate")), _scalar(finding.data.get("reference"))
    if c is None or r is None or not (math.isfinite(c) and math.isfinite(r)) or r == 0:
        return None
    ratio = c / r
    return None if math.isclose(ratio, 1.0, rel_tol=1e-3) else ratio


def _same_factor(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-9)


def _rank(finding, index: int) -> tuple:
    return tier(finding), SEVERITIES.index(finding.severity), index


def group_findings(findings) -> list[Group]:
    """The findings (in check order) grouped by cause; groups by severity, then tier, then check order."""
    findings = list(findings)
    parent = list(range(len(findings)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i, j):
        parent[root(j)] = root(i)

    first = {}  # key -> index of the first finding with it
    for i, f in enumerate(findings):
        keys = [("code", f.code, f.severity)]
        keys += [("named", named(f))] if named(f) else []
        keys += [("numbers", _numbers(f))] if _numbers(f) else []
        keys += [("operation", f.data["operation"])] if f.data.get("operation") else []
        for key in keys:
            join(first.setdefault(key, i), i)
    factors = [(i, _factor(f)) for i, f in enumerate(findings)]
    factors = [(i, x) for i, x in factors if x is not None]
    for k, (i, x) in enumerate(factors):
        for j, y in factors[:k]:
            if _same_factor(x, y):
                join(j, i)
                break
    # (not the probe's LC103, which names the input domain the audit adopted, not a wrong value)
    wrong = next((i for i, f in enumerate(findings) if f.code in WRONG_VALUE and f.check != "api.call"), None)
    if wrong is not None:
        for i, f in enumerate(findings):
            if f.code in GRADIENT_COMPARED:
                join(wrong, i)
    members = {}
    for i in range(len(findings)):
        members.setdefault(root(i), []).append(i)
    groups = []
    for indices in members.values():
        head = min(indices, key=lambda i: _rank(findings[i], i))
        groups.append(Group(tuple(findings[i] for i in [head, *(i for i in indices if i != head)])))
    order = {id(f): i for i, f in enumerate(findings)}
    return sorted(groups, key=lambda g: (SEVERITIES.index(g.severity), tier(g.headline), order[id(g.headline)]))


def seen_at(finding) -> str:
    """Where a finding was seen, in a few words taken from its message ("with a batch of one (N = 1)", "at extreme
    inputs (large errors)", "in float16"), or its title where the message does not start with one."""
    line = finding.message.strip().splitlines()[0] if finding.message.strip() else ""
    cuts = [line.find(end) for end in LABEL_ENDS if line.find(end) > 0]
    label = line[:min(cuts)].rstrip(" ,:") if cuts else ""
    return label if 0 < len(label) <= MAX_LABEL else finding.title


def also_seen(group: Group) -> list[str]:
    """One line per (code, check) of the group's other findings: "LC504 target.shapes: with a batch of one (N = 1);
    with no batch dimension"."""
    places = {}
    for f in group.others:
        places.setdefault((f.code, f.check), []).append(seen_at(f))
    return [f"{code} {check}: {'; '.join(dict.fromkeys(labels))}" for (code, check), labels in places.items()]
