"""One bug, one headline: findings grouped by cause (losscheck.diagnosis.grouping), the terminal report's three
levels (summary with -q and -o, headlines by default, everything with --verbose), the JSON record of the grouping,
the verdict line against the exit code, and two known mistakes named in one message (variants.pairs).

The unit tests build results by hand; the slow ones audit: the shipped gallery mistakes (each report names its
mistake in its first finding and fits one screen) and a focal loss with two mistakes at once."""
from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from losscheck import audit
from losscheck.cli import main
from losscheck.diagnosis.grouping import also_seen, group_findings, seen_at
from losscheck.diagnosis.variants import COMMON, both, pairs
from losscheck.examples.registry import gallery
from losscheck.findings import AuditResult, CheckResult, Finding
from losscheck.judge.cases import Case
from losscheck.references import classification as ref
from losscheck.report import render
from losscheck.specs import SPECS

SAMPLES = Path(__file__).resolve().parent / "data"
SCHEMA = json.loads(files("losscheck.report").joinpath("schema.json").read_text())
SCREEN = 42  # lines: "about 40", one screen
REPRODUCER = '"""losscheck {code}: reproducer"""\nimport torch\nprint("candidate:", 1)\n'


def finding(code, check, message, **data):
    return Finding(code, check, message, example=f"input = [0.0]  # {code}", reproducer=REPRODUCER.format(code=code),
                   data=data)


def result_of(findings, fail_on="error") -> AuditResult:
    checks = {}
    for f in findings:
        checks.setdefault(f.check, []).append(f)
    return AuditResult(
        target="pkg.losses:Focal", reference="losscheck.references.classification.focal", seed=0, max_examples=30,
        versions=dict.fromkeys(("losscheck", "python", "torch", "numpy", "scipy", "hypothesis"), "0"), tolerances={"float32": {"rtol": 2e-4, "atol": 2e-5}},
        parameters={"loss": "focal", "bound": {}, "defaults": {}, "explored": [], "unmapped": []},
        checks=[CheckResult(name, name.split(".")[0], "fail", findings=fs) for name, fs in checks.items()]
        + [CheckResult("reduction.modes", "reduction", "skip", detail="the candidate takes no reduction argument")],
        fail_on=fail_on)


# A focal loss with sigmoid applied twice, as its audit sees it: one defect, nine findings.
VARIANT = "sigmoid applied twice"
ONE_DEFECT = [
    finding("LC102", "value.reference", f"{VARIANT}: the candidate applies sigmoid twice. Fix: pass raw logits. Seen "
            "on every one of 13 examples; on this one candidate 0.28305873 but reference 0.1299651",
            candidate=0.28305873, reference=0.1299651, variant=VARIANT),
    finding("LC202", "stability.extremes", "at extreme inputs (extreme logits) the candidate gives 0.5 but the "
            f"reference 361.43 (as everywhere: {VARIANT}, see value.reference)", candidate=0.5, reference=361.43,
            explained_by=VARIANT),
    finding("LC303", "gradient.reference", "the gradient of `input` differs from the reference: candidate [[0.1]], "
            "reference [[0.2]]", candidate=[[0.1]], reference=[[0.2]]),
    finding("LC504", "target.shapes", "with a batch of one (N = 1) the candidate 0.28305873 but reference 0.1299651",
            candidate=0.28305873, reference=0.1299651),
    finding("LC504", "target.shapes", "with 2-D spatial inputs (N, C, H, W) the candidate 0.3 but reference 0.2",
            candidate=0.3, reference=0.2, explained_by=VARIANT),
]


def test_one_defect_is_one_group_led_by_the_named_variant():
    (group,) = group_findings(ONE_DEFECT)
    assert group.headline is ONE_DEFECT[0] and group.cause == VARIANT
    assert sorted(map(id, group.findings)) == sorted(map(id, ONE_DEFECT))


def test_the_same_numbers_or_the_same_factor_are_one_cause():
    same = [finding("LC101", "value.reference", "candidate 16.1 but reference 100", candidate=16.1, reference=100.0),
            finding("LC502", "target.formats", "with soft targets the candidate 16.1 but reference 100",
                    candidate=[16.1], reference=[100.0]),
            finding("LC202", "stability.extremes", "at extreme inputs (large errors) the candidate gives 3.22 but the "
                    "reference 20", candidate=3.22, reference=20.0)]
    assert len(group_findings(same)) == 1
    other = finding("LC202", "stability.extremes", "at extreme inputs the candidate gives 1 but the reference 3",
                    candidate=1.0, reference=3.0)
    assert len(group_findings(same[:2] + [other])) == 2


def test_a_definite_cause_leads_a_measured_disagreement():
    measured = finding("LC101", "value.reference", "candidate 2 but reference 1", candidate=2.0, reference=1.0)
    batch = finding("LC405", "reduction.batch", "'mean' depends on batch size: it sums over the batch")
    capped = finding("LC202", "stability.extremes", "at extreme inputs the candidate gives 5 but the reference 9 "
                     "(saturation or a clamp caps the loss)", candidate=5.0, reference=9.0, capped=True)
    convention = finding("LC103", "value.reference", "scale=one: a convention", variant="scale=one")
    groups = group_findings([measured, capped, batch, convention])
    assert [g.headline.code for g in groups] == ["LC405", "LC202", "LC101", "LC103"]  # errors first, then the tiers


def test_a_gradient_of_a_wrong_value_joins_it_and_alone_stands_alone():
    grad = finding("LC302", "gradient.finite", "the gradient of `x1` is [[nan]], not finite")
    value = finding("LC201", "stability.extremes", "the loss is inf, not finite, at extreme inputs")
    assert len(group_findings([value, grad])) == 1
    again = finding("LC302", "gradient.reference", "the gradient of `x1` is [[nan]], not finite, elsewhere")
    (group,) = group_findings([grad, again])  # the same code twice: one cause
    assert group.headline is grad


def test_also_seen_names_where_not_the_numbers():
    (group,) = group_findings(ONE_DEFECT)
    lines = also_seen(group)
    assert lines == ["LC202 stability.extremes: at extreme inputs (extreme logits)",
                     "LC303 gradient.reference: the gradient of `input` differs from the reference",
                     "LC504 target.shapes: with a batch of one (N = 1); with 2-D spatial inputs (N, C, H, W)"]
    assert seen_at(finding("LC604", "device.dtype", "float32 gives 1 but float64 2")) == \
        "float32 disagrees with float64 beyond tolerance"  # no place in the message: the title


def test_default_report_has_one_headline_and_one_reproducer():
    text = render(result_of(ONE_DEFECT), "text")
    assert text.count('"""losscheck ') == 1 and text.count("0.28305873") == 1, text
    assert len(re.findall(r"^LC\d{3} ", text, re.M)) == 1, text
    assert text.count("as everywhere") == 0 and "also seen in: LC202 stability.extremes" in text
    assert "--verbose" in text and text.rstrip().splitlines()[-1].startswith("FAIL: 5 error(s)")
    assert len(text.splitlines()) <= 30


def test_verbose_report_shows_every_finding_in_full():
    text = render(result_of(ONE_DEFECT), "text", detail="full")
    assert text.count('"""losscheck ') == len(ONE_DEFECT) and text.count("  same cause: ") == len(ONE_DEFECT) - 1
    assert "reduction.modes: the candidate takes no reduction argument" in text  # why a check did not apply


def test_summary_is_one_line_per_headline_then_the_verdict():
    other = finding("LC701", "api.purity", "the loss mutates its input `input` in place")
    lines = render(result_of([*ONE_DEFECT, other]), "text", detail="summary").splitlines()
    assert len(lines) == 3 and lines[-1].startswith("FAIL: 6 error(s)"), lines
    assert lines[0].startswith("LC102 error [value] value.reference: sigmoid applied twice") and "+4 more" in lines[0]
    assert lines[1].startswith("LC701 error [api] api.purity: the loss mutates")


def test_json_keeps_every_finding_and_records_the_grouping():
    other = finding("LC701", "api.purity", "the loss mutates its input `input` in place")
    result = result_of([*ONE_DEFECT, other])
    doc = json.loads(render(result, "json"))
    jsonschema.validate(doc, SCHEMA)
    assert len(doc["findings"]) == len(ONE_DEFECT) + 1
    listed = [i for g in doc["groups"] for i in g["findings"]]
    assert sorted(listed) == list(range(len(doc["findings"])))  # each finding in exactly one group
    assert [g["headline"] == g["findings"][0] for g in doc["groups"]] == [True, True]
    assert doc["groups"][0]["cause"] == VARIANT and doc["findings"][doc["groups"][1]["headline"]]["code"] == "LC701"


def test_markdown_and_html_keep_every_finding_grouped():
    result = result_of(ONE_DEFECT)
    md = render(result, "md")
    assert md.count("```python") == 2 * len(ONE_DEFECT) and md.count("### Same cause: ") == len(ONE_DEFECT) - 1
    assert "Also seen in:" in md
    page = render(result, "html")
    assert page.count('class="finding') == len(ONE_DEFECT) and page.count("Same cause: ") == len(ONE_DEFECT) - 1


@pytest.mark.parametrize("severity, fail_on", [("error", "error"), ("warning", "error"), ("warning", "warning"),
                                               ("info", "warning")])
def test_the_verdict_word_agrees_with_the_exit_code(severity, fail_on):
    code = {"error": "LC101", "warning": "LC103", "info": "LC501"}[severity]
    result = result_of([finding(code, "value.reference", "something")], fail_on=fail_on)
    last = render(result, "text").rstrip().splitlines()[-1]
    assert last.startswith("FAIL" if result.exit_code() == 1 else "PASS"), (last, result.exit_code())
    assert last.endswith("(--fail-on warning)") == (fail_on == "warning")


@pytest.fixture
def audited(monkeypatch, tmp_path):
    """`losscheck audit` run in this process on a hand-made result (the audit itself is replaced)."""
    import losscheck.judge.auditor as auditor

    result = result_of(ONE_DEFECT)
    monkeypatch.setattr(auditor, "audit_request", lambda request, options, progress=None: result)
    monkeypatch.chdir(tmp_path)
    return lambda *args: main(["audit", "pkg.losses:Focal", "--as", "focal", *args])


@pytest.mark.parametrize("args", [("-q",), ("--format", "md", "-o", "focal.md"), ("-o", "focal.txt"),
                                  ("--format", "json,html", "--output-dir", "out")])
def test_quiet_and_output_print_the_summary_only(audited, capsys, args):
    assert audited(*args) == 1
    out = capsys.readouterr().out.splitlines()
    written = [line for line in out if line.startswith("report: ")]
    assert len(written) == (2 if "--output-dir" in args else 0 if "-q" in args else 1), out
    assert out[len(written):] == [out[-2], out[-1]] and out[-1].startswith("FAIL") and out[-2].startswith("LC102 ")


def test_verbose_flag_and_the_default(audited, capsys):
    audited("--verbose")
    assert capsys.readouterr().out.count('"""losscheck ') == len(ONE_DEFECT)
    audited()
    assert capsys.readouterr().out.count('"""losscheck ') == 1


# -- two mistakes at once ------------------------------------------------------------------------------------------

def test_a_product_of_variants_applies_both_mistakes():
    focal = SPECS["focal"]
    twice, other_class = (v for v in focal.variants if v.name in ("sigmoid applied twice", "alpha on the other class"))
    x, y = np.array([[-2.0, 0.5, 3.0]]), np.array([[0.0, 1.0, 1.0]])
    case = Case((x, y), {"alpha": 0.25, "gamma": 2.0, "reduction": "mean"})
    got = both(twice, other_class).compute(focal.reference, case)
    want = ref.focal(1 / (1 + np.exp(-x)), y, alpha=0.75, gamma=2.0, reduction="mean")
    assert np.allclose(got, want) and not np.allclose(got, ref.focal(x, y, alpha=0.25, gamma=2.0, reduction="mean"))
    assert both(twice, other_class).name == "sigmoid applied twice and alpha on the other class"
    named = [v.name for v in pairs((*focal.variants, *COMMON))]
    assert len(named) == len(set(named)) and "alpha on the other class and sigmoid applied twice" in named
    assert not any("BCE with logits" in name for name in named)  # a variant with a fitted parameter: never in a product


class TwiceSigmoidSwappedAlphaFocal:
    """Sigmoid applied twice and alpha on the wrong class: two known mistakes in one focal loss."""

    def __init__(self, alpha=0.25, gamma=2.0):
        self.alpha, self.gamma = alpha, gamma

    def __call__(self, input, target):
        x = torch.sigmoid(input)
        p = torch.sigmoid(x)
        ce = F.binary_cross_entropy_with_logits(x, target, reduction="none")
        p_t = p * target + (1 - p) * (1 - target)
        alpha_t = (1 - self.alpha) * target + self.alpha * (1 - target)
        return (alpha_t * (1 - p_t) ** self.gamma * ce).mean()


def test_two_mistakes_are_named_in_one_message():
    result = audit(TwiceSigmoidSwappedAlphaFocal(), as_="focal", max_examples=20)
    head = result.groups[0].headline
    assert head.code == "LC102" and head.data["variant"] in (
        "sigmoid applied twice and alpha on the other class", "alpha on the other class and sigmoid applied twice")
    assert not any("caps the loss" in f.message or "region" in f.data for f in result.findings)  # nothing guessed
    assert len(result.groups) == 1, [(g.headline.code, g.headline.message) for g in result.groups]


def test_a_reduction_finding_of_the_diagnosed_variant_joins_its_headline():
    result = audit(str(SAMPLES / "sample_losses.py") + ":SumMSE", as_="mse", max_examples=20)
    head = result.groups[0]
    assert head.headline.code == "LC102" and head.cause == "sum instead of mean"
    batch = next(f for f in result.findings if f.code == "LC405")
    assert batch.data["explained_by"] == "sum instead of mean" and any(f is batch for f in head.others)


# -- the shipped mistakes -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("example", gallery(), ids=lambda e: e.name)
def test_each_shipped_mistake_is_named_first_on_one_screen(example):
    result = audit(example.target, as_=example.loss_id, **example.opt_in)
    text = render(result, "text")
    (code, words), = example.expect.items()
    first = next(line for line in text.splitlines() if re.match(r"LC\d{3} ", line))
    head = result.groups[0].headline
    assert first.startswith(f"{head.code} ") and head.code == code, text
    assert words in f"{head.title} {head.message}".lower(), text
    assert len(text.splitlines()) <= SCREEN, text
    doc = json.loads(render(result, "json"))
    assert len(doc["findings"]) == len(result.findings)
    assert sorted(i for g in doc["groups"] for i in g["findings"]) == list(range(len(result.findings)))
