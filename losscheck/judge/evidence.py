"""What a check finds: the Evidence it returns (the examples it ran and the violations it found), the
Violation a property raises (a pitfall code, a message with the numbers, the case that shows it), Skip
(the check has nothing to say), and Abort (a property ends its search at once with one of those).
auditor.run_check turns them into a findings.CheckResult."""
from __future__ import annotations

from dataclasses import dataclass, field


class Violation(Exception):
    """Raised by a property: the pitfall code, a message with the numbers, and the case that shows it."""

    def __init__(self, code, message, case, dtype="float32", *, expected=None, snippet=None, setup="",
                 grad=False, data=None, severity=None):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.case, self.dtype = code, message, case, dtype
        self.expected, self.snippet, self.setup, self.grad = expected, snippet, setup, grad
        self.data, self.severity = data or {}, severity


class Abort(BaseException):
    """Raised by a property to end its hypothesis search at once, without shrinking (hypothesis lets a
    BaseException through): carries the outcome, a Violation or a Skip, for the check to return or raise."""

    def __init__(self, outcome):
        super().__init__(str(outcome))
        self.outcome = outcome


class Skip(Exception):
    """Raised by a check (or its property) when it cannot say anything: not applicable or inconclusive."""


@dataclass
class Evidence:
    """What one check gathered: the examples it ran, the violations it found (shrunk) and a detail line;
    auditor.run_check turns it into a findings.CheckResult."""

    examples: int = 0
    violations: list[Violation] = field(default_factory=list)
    detail: str = ""
