"""The SARIF 2.1.0 report (OASIS Static Analysis Results Interchange Format), for GitHub code scanning
(`github/codeql-action/upload-sarif`) and the other viewers that read it.

One run of the tool `losscheck`: its rules are the pitfall registry (losscheck.pitfalls: the title as short
description, why it matters as full description, why and the fix as help, the family as tag, the severity as
default level: error, warning, note); its results are the findings, each located at the loss's definition
(AuditResult.source: a path relative to the repository's root, `%SRCROOT%`) with the target as logical
location, and carrying the check and layout that raised it. A finding an inline `# losscheck: ignore[CODE]`
suppressed is a result with an in-source suppression and its reason as justification, as SARIF records them.
An unusable audit is an unsuccessful invocation with the reason. tests/test_sarif.py validates it against the
official schema (tests/data/sarif-schema-2.1.0.json). A candidate's text (target, messages, examples,
reproducers, what made it unusable) goes through escape.printable, as in the text report, so a viewer shows
its control characters escaped; the file is ASCII JSON, as the JSON report is.
"""
import json

from losscheck.pitfalls import PITFALLS
from losscheck.report.escape import printable

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
RULES = list(PITFALLS)


def _rule(p) -> dict:
    return {"id": p.code, "shortDescription": {"text": p.title}, "fullDescription": {"text": p.why},
            "help": {"text": f"{p.why} Fix: {p.fix} (losscheck explain {p.code})",
                     "markdown": f"{p.why}\n\n**Fix:** {p.fix}\n\n`losscheck explain {p.code}`"},
            "defaultConfiguration": {"level": LEVELS[p.severity]}, "properties": {"tags": ["losscheck", p.family]}}


def _result(f, result) -> dict:
    location = {"logicalLocations": [{"fullyQualifiedName": printable(result.target)}]}
    if result.source:
        location["physicalLocation"] = {"artifactLocation": {"uri": result.source["file"], "uriBaseId": "%SRCROOT%"},
                                        "region": {"startLine": result.source["line"]}}
    out = {"ruleId": f.code, "ruleIndex": RULES.index(f.code), "level": LEVELS[f.severity],
           "message": {"text": printable(f"{f.title}: {f.message}")}, "locations": [location],
           "partialFingerprints": {"losscheck/v1": printable("/".join([result.target, f.code, f.check, f.layout]))},
           "properties": {"check": f.check, "layout": f.layout, "family": f.family, "example": printable(f.example),
                          "reproducer": printable(f.reproducer)}}
    if f.suppressed is not None:
        out["suppressions"] = [{"kind": "inSource", "justification": printable(f.suppressed or "no reason given")}]
    return out


def render(result) -> str:
    invocation = {"executionSuccessful": not result.unusable}
    if result.unusable:
        invocation["toolExecutionNotifications"] = [{"level": "error", "message": {"text": printable(result.unusable)}}]
    run = {"tool": {"driver": {"name": "losscheck", "version": result.versions.get("losscheck", ""),
                               "rules": [_rule(PITFALLS[code]) for code in RULES]}},
           "invocations": [invocation],
           "results": [_result(f, result) for f in [*result.findings, *result.suppressed]],
           "properties": {"loss": result.parameters.get("loss", ""), "reference": result.reference,
                          "seed": result.seed, "failOn": result.fail_on}}
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2, default=str) + "\n"
