"""The result model: Finding, CheckResult and AuditResult, shared by checks, reports and entry points."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from losscheck.diagnosis.grouping import Group, group_findings
from losscheck.pitfalls import PITFALLS
from losscheck.report.escape import printable

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}


@dataclass
class Finding:
    """One problem: a stable code, where it was seen (check), the numbers, the input and a reproducer."""

    code: str
    check: str
    message: str
    example: str = ""
    reproducer: str = ""
    data: dict = field(default_factory=dict)
    severity_override: str | None = None  # a check may grade a finding below its code's default
    layout: str = ""  # the input layout of the case that shows it ("" when no layout is involved)
    suppressed: str | None = None  # the reason of the `# losscheck: ignore[CODE]` comment that suppressed it

    @property
    def family(self) -> str:
        return PITFALLS[self.code].family

    @property
    def severity(self) -> str:
        return self.severity_override or PITFALLS[self.code].severity

    @property
    def title(self) -> str:
        return PITFALLS[self.code].title

    def to_dict(self) -> dict:
        return {"code": self.code, "family": self.family, "severity": self.severity, "title": self.title,
                "check": self.check, "message": self.message, "example": self.example,
                "reproducer": self.reproducer, "data": self.data, "layout": self.layout,
                **({"suppressed": self.suppressed} if self.suppressed is not None else {})}


@dataclass
class CheckResult:
    """The outcome of one check: pass, fail (findings), skip (not applicable, with the reason) or error."""

    name: str
    family: str
    status: str
    examples: int = 0
    seconds: float = 0.0
    detail: str = ""
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("findings")
        d["seconds"] = round(self.seconds, 3)
        d["findings"] = [f.code for f in self.findings]
        return d


@dataclass
class AuditResult:
    """Everything one audit found, in the order the checks ran."""

    target: str
    reference: str
    seed: int
    max_examples: int
    versions: dict
    tolerances: dict
    parameters: dict
    conventions: dict = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0
    layouts: dict = field(default_factory=dict)  # {"accepted": [...], "probed": {layout: {format: outcome}}}
    unusable: str | None = None  # why the candidate could not be audited at all (exit 2)
    fail_on: str = "error"  # the lowest severity that fails this audit (--fail-on): its verdict and exit code
    source: dict | None = None  # the loss's definition {"file", "line"} (losscheck.judge.source), None: unknown
    suppressed: list[Finding] = field(default_factory=list)  # findings its source suppresses, with their reason

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.checks for f in c.findings]

    @property
    def groups(self) -> list[Group]:
        """The findings grouped by cause, each led by its headline (losscheck.diagnosis.grouping)."""
        return group_findings(self.findings)

    def failing(self, fail_on: str = "error") -> list[Finding]:
        floor = SEVERITY_RANK[fail_on]
        return [f for f in self.findings if SEVERITY_RANK[f.severity] >= floor]

    def exit_code(self, fail_on: str | None = None) -> int:
        """0 clean, 1 findings at or above `fail_on` (default: the audit's own), 2 when the candidate accepts no
        valid input at all."""
        if self.unusable:
            return 2
        return 1 if self.failing(fail_on or self.fail_on) else 0

    @property
    def ok(self) -> bool:
        """No finding at or above the audit's fail-on severity: the verdict PASS, and exit code 0."""
        return not self.failing(self.fail_on)

    @property
    def verdict(self) -> str:
        """'unusable' (exit code 2: no valid input is accepted), 'pass' (ok) or 'fail': the word the JSON report
        and the README's library table give."""
        return "unusable" if self.unusable else "pass" if self.ok else "fail"

    def failure_text(self, fail_on: str = "error", findings=None) -> str:
        """One line per failing finding ("CODE family title"), then the message and reproducer of the first one in
        headline order (printable: a candidate's control characters escaped)."""
        failing = self.failing(fail_on) if findings is None else list(findings)
        if not failing:
            return ""
        loss = self.parameters.get("loss", "?")
        listed = {id(f) for f in failing}
        first = next((f for g in self.groups for f in g.findings if id(f) in listed), failing[0])
        codes = ", ".join(dict.fromkeys(f.code for f in failing))
        return printable("\n".join([
            f"losscheck {codes} in {self.target} (as {loss}): {len(failing)} finding(s) at or above '{fail_on}'",
            *(f"{f.code} {f.family} {f.title}" for f in failing), "",
            f"First finding, {first.code} ({first.check}): {first.message}", "", "Reproducer:",
            first.reproducer.rstrip()]))

    def assert_ok(self, fail_on: str = "error") -> None:
        """Raise AssertionError with failure_text() when a finding reaches `fail_on` (for tests)."""
        __tracebackhide__ = True  # pytest: show the message, not this frame
        if self.failing(fail_on):
            raise AssertionError(self.failure_text(fail_on))

    def __repr__(self) -> str:  # one line, so that `assert result.ok` reads well in pytest
        codes = ", ".join(dict.fromkeys(f.code for f in self.failing("error")))
        return (f"<AuditResult {self.target} as {self.parameters.get('loss', '?')}: "
                f"{'FAIL ' + codes if codes else 'PASS'}>")

    def counts(self) -> dict:
        out = {"error": 0, "warning": 0, "info": 0}
        for f in self.findings:
            out[f.severity] += 1
        return out

    def to_dict(self) -> dict:
        return {
            "target": self.target, "reference": self.reference, "seed": self.seed,
            "max_examples": self.max_examples, "versions": self.versions, "tolerances": self.tolerances,
            "parameters": self.parameters, "conventions": self.conventions,
            "verdict": self.verdict, "fail_on": self.fail_on,
            "counts": self.counts(),
            "layouts": self.layouts, "unusable": self.unusable,
            "seconds": round(self.seconds, 3),
            "checks": [c.to_dict() for c in self.checks],
            "findings": [f.to_dict() for f in self.findings],
            "source": self.source, "suppressed": [f.to_dict() for f in self.suppressed],
            "groups": self._groups_dict(),
        }

    def _groups_dict(self) -> list[dict]:
        """The grouping as JSON: each group's headline and findings as indices into `findings`, and its cause."""
        index = {id(f): i for i, f in enumerate(self.findings)}
        return [{"headline": index[id(g.headline)], "findings": [index[id(f)] for f in g.findings], "cause": g.cause}
                for g in self.groups]
