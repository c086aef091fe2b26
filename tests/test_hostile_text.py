"""Text a candidate controls (its target and parameter names, exception messages, what its layouts raised), made
hostile: terminal escapes (CSI colours, OSC titles and links), BEL, NUL, CR, form feed, bidi overrides, lone
surrogates, XML non-characters, backticks and fences, markup and table pipes. Every writer must neutralise it:
text and the stderr line with no raw control character, markdown (reports and the CI summary) with the text
only inside code, HTML escaped, JSON valid and lossless, JUnit well-formed."""
from __future__ import annotations

import json
import re
from xml.etree import ElementTree as ET

import pytest
from markdown_it import MarkdownIt

from losscheck.gate import github
from losscheck.gate.baseline import compare
from losscheck.commands import ci
from losscheck.report import run_summary
from losscheck.gate.runner import LossOutcome
from losscheck.cli import main
from losscheck.gate.config import Loss
from losscheck.findings import AuditResult, CheckResult, Finding
from losscheck.report import FORMATS, render
from losscheck.report.escape import code_span, fenced, printable

HOSTILE = ("\x1b[31mred\x1b[0m \x1b]0;pwned title\x07 \x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\ \x07bell "
           "\x00nul \rcarriage \x0cfeed \x9bcsi8 \u202eevil\u202c \u2066iso\u2069 \u200bzw \udcff \ufffe "
           "`tick` ``double`` \n```\nfence\n```\n <img src=x onerror=alert(1)> <script>alert(2)</script> "
           "| pipe | **bold** [link](javascript:alert(3)) \U000e0041tag")
# what none of the outputs may carry raw: C0 but newline and tab, DEL and C1, bidi and zero-width controls,
# surrogates and the two BMP non-characters (defined here independently of losscheck.report.escape)
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff"
                 "\U000e0000-\U000e007f]")
TAGS = re.compile(r"<([A-Za-z][A-Za-z0-9]*)")
ALLOWED_TAGS = {"h1", "h2", "h3", "p", "strong", "em", "code", "pre", "table", "thead", "tbody", "tr", "th", "td",
                "ul", "li", "a", "details", "summary"}
MD = MarkdownIt("commonmark", {"html": True}).enable("table")


def hostile_result(target=f"mypkg.losses:Evil{HOSTILE}") -> AuditResult:
    findings = [Finding(code="LC705", check="api.call", message=f"raises on valid input: ValueError: {HOSTILE}",
                        example=f"input = {HOSTILE!r}", reproducer=f"raise ValueError({HOSTILE!r})\n# {HOSTILE}"),
                Finding(code="LC101", check="value.reference", message=HOSTILE, example=HOSTILE, reproducer=HOSTILE)]
    return AuditResult(
        target=target, reference="losscheck.references.regression.mse", seed=0, max_examples=5,
        versions={"losscheck": "0.1.0"}, tolerances={"float32": {"rtol": 2e-4, "atol": 2e-5}},
        parameters={"loss": "mse", "unmapped": [HOSTILE]}, conventions={"alpha_form": HOSTILE},
        checks=[CheckResult("api.call", "api", "fail", findings=findings[:1]),
                CheckResult("value.reference", "value", "fail", findings=findings[1:]),
                CheckResult("device.cuda", "device", "skip", detail=HOSTILE),
                CheckResult("gradient.autograd", "gradient", "error", detail=f"internal error: {HOSTILE}")],
        layouts={"accepted": ["batch"], "probed": {"batch": {"indices": HOSTILE}}})


def assert_no_raw_controls(text: str) -> None:
    found = sorted({f"U+{ord(c):04X}" for c in RAW.findall(text)})
    assert not found, f"raw control characters reached the output: {found}"


def assert_markdown_is_inert(text: str) -> None:
    """Rendered as GitHub would (raw HTML allowed), the document has only the markup losscheck writes."""
    html = MD.render(text)
    assert set(TAGS.findall(html)) <= ALLOWED_TAGS, set(TAGS.findall(html)) - ALLOWED_TAGS
    assert "javascript:" not in re.sub(r"<code>.*?</code>|<pre>.*?</pre>", "", html, flags=re.S)
    for token in MD.parse(text):
        if token.type == "html_block":
            assert re.fullmatch(r"\s*(</?details>|<details><summary>reproducer for LC\d{3}</summary>)\s*",
                                token.content), token.content


def assert_tables_keep_their_columns(text: str) -> None:
    tokens = MD.parse(text)
    rows, cells = [], 0
    for token in tokens:
        if token.type == "tr_open":
            cells = 0
        elif token.type in ("th_open", "td_open"):
            cells += 1
        elif token.type == "tr_close":
            rows.append(cells)
    assert rows and len(set(rows)) == 1, rows


@pytest.fixture(scope="module")
def result():
    return hostile_result()


@pytest.mark.parametrize("report_format", [f for f in FORMATS if f != "json"])
def test_no_raw_control_character_in_any_format_but_json(result, report_format):
    text = render(result, report_format)
    assert_no_raw_controls(text)
    assert "\\x1b[31mred" in text or "\\x1b[31mred".replace("\\", "\\\\") in text  # shown, escaped
    text.encode("utf-8")  # and writable as UTF-8 (no lone surrogate)


def test_text_report_shows_the_escapes(result):
    text = render(result, "text")
    for shown in ("\\x1b]0;pwned title\\x07", "\\x00nul", "\\rcarriage", "\\u202eevil", "\\udcff", "\\x9bcsi8"):
        assert shown in text, shown


def test_markdown_report_keeps_candidate_text_in_code(result):
    md = render(result, "md")
    assert_markdown_is_inert(md)
    assert_tables_keep_their_columns(md)
    assert "&lt;img src=x onerror=alert(1)&gt;" in MD.render(md)  # the text is there, as text


def test_html_report_is_escaped(result):
    page = render(result, "html")
    assert "<img" not in page and page.count("<script") == 1  # the page's own copy-button script
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_json_report_is_valid_ascii_and_lossless(result):
    text = render(result, "json")
    assert text.isascii()  # so a terminal shows \u001b, never an escape
    doc = json.loads(text)
    assert doc["findings"][1]["message"] == HOSTILE and doc["target"] == result.target
    assert json.loads(json.dumps(doc, ensure_ascii=True)) == doc


def test_json_report_is_strict_json_with_non_finite_numbers():
    result = hostile_result()
    result.findings[0].data.update(candidate=[float("nan"), float("inf"), -float("inf"), 1.5], reference=2.0)
    text = render(result, "json")

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    doc = json.loads(text, parse_constant=refuse)
    assert doc["findings"][0]["data"] == {"candidate": ["nan", "inf", "-inf", 1.5], "reference": 2.0}


def test_junit_is_well_formed(result):
    xml = render(result, "junit")
    root = ET.fromstring(xml.encode("utf-8"))
    suite = root.find("testsuite")
    assert suite.get("name").startswith("losscheck mypkg.losses:Evil\\x1b[31m")
    assert "\\x00nul" in ET.tostring(root, encoding="unicode")


def hostile_outcomes():
    evil = Loss(target=f"mypkg:{HOSTILE}", name=f"evil {HOSTILE}", as_="mse")
    broken = Loss(target="mypkg:Broken", name=f"broken {HOSTILE}", as_=HOSTILE)
    outcomes = [LossOutcome(evil, result=hostile_result(evil.target)),
                LossOutcome(broken, error=f"cannot import mypkg: RuntimeError: {HOSTILE}")]
    baseline = [{"target": evil.name, "code": "LC705", "reason": HOSTILE},
                {"target": f"gone {HOSTILE}", "code": f"LC999{HOSTILE}", "reason": ""}]
    return outcomes, baseline, {evil.name, broken.name}


def test_ci_summary_keeps_candidate_text_in_code():
    outcomes, baseline, configured = hostile_outcomes()
    for cmp in (compare(outcomes, baseline, configured), None):  # `losscheck ci`, and the plugin's summary
        summary = run_summary.render_summary(outcomes, cmp, report_formats=("md", "json"),
                                             baseline_name=f"b{HOSTILE}.json")
        assert_no_raw_controls(summary)
        assert_markdown_is_inert(summary)
        assert_tables_keep_their_columns(summary)


def test_ci_log_lines_and_annotations(capsys):
    outcomes, baseline, configured = hostile_outcomes()
    cmp = compare(outcomes, baseline, configured)
    for line in github.github_annotations(outcomes, cmp, "pyproject.toml", "losscheck-baseline.json"):
        ci._echo(line)
    ci._echo(f"losscheck: error: {outcomes[1].name}: {outcomes[1].error}", file=__import__("sys").stderr)
    out, err = capsys.readouterr()
    assert_no_raw_controls(out)
    assert_no_raw_controls(err)
    assert len(err.splitlines()) == 1 and "\\x1b[31mred" in err
    assert all(line.startswith(("::error ", "::warning ")) for line in out.splitlines())


def test_cli_error_line(capsys):
    assert main(["explain", HOSTILE]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and err.startswith("losscheck: error: unknown code")
    assert_no_raw_controls(err)
    assert "\\x1b]0;pwned title\\x07" in err and "\\u202eevil" in err


def test_failure_text_for_pytest(result):
    text = result.failure_text()
    assert_no_raw_controls(text)
    assert text.startswith("losscheck LC705, LC101 in mypkg.losses:Evil\\x1b[31mred")


def test_code_span_and_fence_cannot_be_closed_from_inside():
    for text in ("`", "``a``", "a ` b", " lead", "x|y", "```"):
        html = MD.render(f"before {code_span(text)} after")
        assert html.count("<code>") == 1 and "after" in html.split("</code>")[1], (text, html)
    assert code_span("a|b", in_table=True) == "`a\\|b`" and code_span("") == ""
    block = "\n".join(fenced("x\n````\n<img src=x>", "text"))
    html = MD.render(f"{block}\n\nafter <b>markup</b>")
    assert html.count("<pre>") == 1 and "&lt;img" in html and "<b>markup</b>" in html
    assert printable("ok\ttab\nline") == "ok\ttab\nline"
