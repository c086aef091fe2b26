"""The SARIF report (losscheck.report.sarif), validated against the official SARIF 2.1.0 schema.

tests/data/sarif-schema-2.1.0.json is the OASIS schema as published in the oasis-tcs/sarif-spec repository
(Schemata/sarif-schema-2.1.0.json, the errata01 version: JSON Schema draft-04), vendored because a test
cannot download it.
"""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from losscheck.findings import AuditResult, CheckResult, Finding
from losscheck.pitfalls import PITFALLS
from losscheck.report import FORMATS, render

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
VALIDATOR = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def result(*, source=True, unusable=None) -> AuditResult:
    findings = [Finding(code="LC102", check="value.reference", message="matches sigmoid applied twice\x1b[31m",
                        example="input=...", reproducer="print(1)", layout="batch", data={"x": float("nan")}),
                Finding(code="LC504", check="target.shapes", message="(N,) target refused", layout="single",
                        severity_override="warning")]
    quiet = Finding(code="LC501", check="target.broadcast", message="broadcasts", suppressed="known, harmless")
    r = AuditResult(target="pkg.losses:FocalLoss", reference="ref", seed=0, max_examples=5,
                    versions={"losscheck": "0.1.0"}, tolerances={}, parameters={"loss": "focal"},
                    checks=[CheckResult("value.reference", "value", "fail", findings=findings[:1]),
                            CheckResult("target.shapes", "target", "fail", findings=findings[1:])],
                    source={"file": "pkg/losses.py", "line": 12} if source else None, unusable=unusable)
    r.suppressed = [quiet]
    return r


def sarif(r) -> dict:
    doc = json.loads(render(r, "sarif"))
    errors = sorted(VALIDATOR.iter_errors(doc), key=str)
    assert not errors, errors[0]
    return doc


def test_sarif_is_a_format():
    assert "sarif" in FORMATS


def test_valid_with_rules_from_the_registry_and_results_on_the_loss_line():
    doc = sarif(result())
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(PITFALLS)
    lc102 = rules[[rule["id"] for rule in rules].index("LC102")]
    assert lc102["shortDescription"]["text"] == PITFALLS["LC102"].title
    assert PITFALLS["LC102"].fix in lc102["help"]["text"] and lc102["defaultConfiguration"]["level"] == "error"
    results = run["results"]
    assert [(x["ruleId"], x["level"]) for x in results] == [("LC102", "error"), ("LC504", "warning"),
                                                            ("LC501", "note")]
    for x in results:
        assert rules[x["ruleIndex"]]["id"] == x["ruleId"]
        physical = x["locations"][0]["physicalLocation"]
        assert (physical["artifactLocation"]["uri"], physical["region"]["startLine"]) == ("pkg/losses.py", 12)
    assert results[0]["properties"]["layout"] == "batch" and results[0]["properties"]["check"] == "value.reference"
    assert "suppressions" not in results[0]
    assert results[2]["suppressions"] == [{"kind": "inSource", "justification": "known, harmless"}]
    assert "\x1b" not in render(result(), "sarif")  # ASCII JSON: a candidate's escape is \u001b
    assert run["invocations"] == [{"executionSuccessful": True}]


@pytest.mark.parametrize("kwargs", [{"source": False}, {"unusable": "accepts no input"}])
def test_valid_without_a_source_and_when_unusable(kwargs):
    doc = sarif(result(**kwargs))
    run = doc["runs"][0]
    if not kwargs.get("source", True):
        assert all("physicalLocation" not in x["locations"][0] for x in run["results"])
        assert run["results"][0]["locations"][0]["logicalLocations"] == [{"fullyQualifiedName":
                                                                            "pkg.losses:FocalLoss"}]
    if kwargs.get("unusable"):
        assert run["invocations"][0]["executionSuccessful"] is False


def test_the_schema_rejects_a_broken_log():
    doc = json.loads(render(result(), "sarif"))
    doc["runs"][0]["results"][0]["level"] = "fatal"
    assert list(VALIDATOR.iter_errors(doc))
