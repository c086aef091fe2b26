"""Report writers: JSON valid against the published schema, JUnit well formed, markdown and HTML contents,
escaping of candidate text, several formats side by side."""
import json
import subprocess
import sys
from importlib.resources import files
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from losscheck import audit
from losscheck.report import render

SCHEMA = json.loads(files("losscheck.report").joinpath("schema.json").read_text())
EVIL = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"


class ScriptRaisingMSE:
    """Raises, for batches of two or more, an error whose text is markup."""

    def __call__(self, input, target):
        if input.dim() and input.shape[0] > 1:
            raise ValueError(EVIL)
        return ((input - target) ** 2).mean()


def naive_bce(input, target):
    """Overflows: log(1 + exp(-x)) for very negative logits."""
    import torch
    return (target * torch.log1p(torch.exp(-input)) + (1 - target) * torch.log1p(torch.exp(input))).mean()


@pytest.fixture(scope="module")
def buggy():
    return audit(naive_bce, as_="bce_with_logits", max_examples=10)


@pytest.fixture(scope="module")
def clean():
    return audit("torch.nn.MSELoss", max_examples=5)


def test_json_matches_the_schema(buggy, clean):
    for result in (buggy, clean):
        jsonschema.validate(json.loads(render(result, "json")), SCHEMA)


def test_schema_rejects_a_broken_report(clean):
    doc = json.loads(render(clean, "json"))
    doc["checks"][0]["status"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)


def test_junit_has_one_testcase_per_check(buggy):
    root = ET.fromstring(render(buggy, "junit"))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == len(buggy.checks) == int(suite.get("tests"))
    failed = [c for c in cases if c.find("failure") is not None]
    assert int(suite.get("failures")) == len(failed) > 0
    assert all(c.get("classname") == buggy.target and "/" in c.get("name") for c in cases)
    assert any("LC201" in (c.find("failure").text or "") for c in failed)
    assert int(suite.get("skipped")) == sum(c.find("skipped") is not None for c in cases)


def test_markdown_has_table_and_fenced_blocks(buggy):
    md = render(buggy, "md")
    assert "| family" in md and "|---" in md.replace(":", "-").replace("| ", "|").replace(" |", "|") or "|--" in md
    assert md.count("```python") >= 2 * len(buggy.findings)
    assert "## Settings" in md and "tolerances" in md


def test_html_is_self_contained_with_plots(buggy):
    page = render(buggy, "html")
    assert "<svg" in page and "http://" not in page
    assert "https://" not in page
    assert page.count('class="finding') == len(buggy.findings)
    assert "FAIL" in page


def test_candidate_text_is_escaped_everywhere():
    result = audit(ScriptRaisingMSE(), as_="mse", max_examples=5)
    assert any(EVIL in f.message for f in result.findings)
    page = render(result, "html")
    assert EVIL not in page and "&lt;script&gt;document.title" in page
    assert page.count("<script>") == 1  # the report's own copy-button script, nothing else
    ET.fromstring(render(result, "junit"))  # still well-formed XML


def test_several_formats_side_by_side(tmp_path):
    out = subprocess.run([sys.executable, "-m", "losscheck", "audit", "torch.nn.L1Loss", "--max-examples", "3",
                          "--format", "md,html,json,junit", "--output-dir", str(tmp_path / "r")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    names = sorted(p.name for p in (tmp_path / "r").iterdir())
    assert names == ["torch.nn.L1Loss.html", "torch.nn.L1Loss.json", "torch.nn.L1Loss.md", "torch.nn.L1Loss.xml"]


def test_several_formats_need_a_folder(tmp_path):
    out = subprocess.run([sys.executable, "-m", "losscheck", "audit", "torch.nn.L1Loss", "--format", "md,json"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2 and "--output-dir" in out.stderr and out.stderr.count("\n") == 1
