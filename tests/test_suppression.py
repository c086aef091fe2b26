"""Inline suppression and the baseline work the same in `losscheck audit`, `losscheck ci` and the pytest plugin,
on the external repository of tests/external_repo.py (SumMSE: 'mean' sums; max-examples = 5).

With `# losscheck: ignore[LC2,LC4,LC504] reason` above `class SumMSE` the three front ends pass and list the
suppressed findings with the reason (JSON, SARIF, ci's log); without it, `ci` under GitHub Actions annotates
the class's own line of mypkg/losses.py, `ci --update-baseline` accepts the findings, and the plugin then
passes on that baseline as `ci` does.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from external_repo import BUGGY, make_repo

pytest_plugins = ["pytester"]

REASON = "the trainer divides by the batch size"
COMMENT = f"# losscheck: ignore[LC2,LC4,LC504] {REASON}"
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


def losscheck(root, *args, github=False):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    if github:
        env["GITHUB_ACTIONS"] = "true"
    return subprocess.run([sys.executable, "-m", "losscheck", *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)


def class_line(root) -> int:
    lines = (root / "mypkg" / "losses.py").read_text().splitlines()
    return lines.index("class SumMSE(torch.nn.Module):") + 1


def set_comment(root, on: bool) -> None:
    path = root / "mypkg" / "losses.py"
    text = path.read_text().replace(COMMENT + "\n", "")
    path.write_text(text.replace("class SumMSE", COMMENT + "\nclass SumMSE") if on else text)


def test_suppression_and_baseline_agree_in_audit_ci_and_plugin(pytester):
    import jsonschema

    root = make_repo(pytester.path, 'formats = ["json", "sarif"]')
    set_comment(root, True)
    line = class_line(root)

    # audit: passes; the JSON names the source and lists the suppressed findings with the reason
    audit = losscheck(root, "audit", BUGGY, "--as", "mse", "--max-examples", "5", "--format", "json")
    assert audit.returncode == 0, audit.stdout[-2000:] + audit.stderr
    report = json.loads(audit.stdout)
    assert report["source"] == {"file": "mypkg/losses.py", "line": line}
    assert {f["code"] for f in report["suppressed"]} >= {"LC405"}
    suppressed = ("LC2", "LC4", "LC504")
    assert all(f["suppressed"] == REASON and f["code"].startswith(suppressed) for f in report["suppressed"])
    assert not any(f["code"].startswith(suppressed) for f in report["findings"])

    # ci under GitHub Actions: passes, says what is suppressed, writes a valid SARIF with the suppressions
    ci = losscheck(root, "ci", "-j", "2", github=True)
    assert ci.returncode == 0, ci.stdout + ci.stderr
    assert "suppressed in the source: " in ci.stdout and "LC405" in ci.stdout and "::error" not in ci.stdout
    sarif = json.loads((root / "losscheck-reports" / "mypkg.losses_SumMSE.sarif").read_text())
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    quiet = [r for r in sarif["runs"][0]["results"] if r.get("suppressions")]
    assert {r["ruleId"] for r in quiet} == {f["code"] for f in report["suppressed"]}
    assert quiet[0]["suppressions"][0]["justification"] == REASON
    assert quiet[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == line

    # the plugin: passes the same loss
    plugin = pytester.runpytest_subprocess()
    assert plugin.ret == 0, plugin.stdout.str()[-3000:]

    # without the comment: ci fails with an annotation on the class's own line
    set_comment(root, False)
    line = class_line(root)
    failing = losscheck(root, "ci", "-j", "2", github=True)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert f"::error file=mypkg/losses.py,line={line},title=losscheck LC405 reduction" in failing.stdout

    # the baseline accepts them, keyed by check and layout: ci and the plugin both pass
    update = losscheck(root, "ci", "-j", "2", "--update-baseline")
    assert update.returncode == 0, update.stdout + update.stderr
    entries = json.loads((root / "losscheck-baseline.json").read_text())["accepted"]
    assert {(e["code"], e["check"], e["layout"]) for e in entries} >= {("LC405", "reduction.batch", "batch")}
    plugin = pytester.runpytest_subprocess("--losscheck-report", "plugin-reports")
    assert plugin.ret == 0, plugin.stdout.str()[-3000:]
    assert "accepted in losscheck-baseline.json" in plugin.stdout.str()
    summary = (root / "plugin-reports" / "summary.md").read_text()
    assert summary.startswith("# losscheck (pytest): PASS") and "## Accepted in `losscheck-baseline.json`" in summary
