"""The api.call probe: which input layouts and target formats a candidate accepts, recorded in the result (and
JSON `layouts`), the checks drawing only those, and exit 2 with one line for a candidate that accepts none."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from losscheck import audit
from tests.helpers import ROOT

FIXTURES = "tests.fixtures.layouts"


def run(name, as_):
    return audit(f"{FIXTURES}:{name}", as_=as_, seed=0, max_examples=10)


@pytest.mark.parametrize("name, as_, layouts, formats, codes", [
    ("Dice2D", "dice", ["spatial2d", "single"], ["binary", "onehot"], []),
    ("Dice3D", "dice", ["spatial3d"], ["binary", "onehot"], []),
    ("IndexMapDice", "dice", ["spatial2d", "single", "spatial3d"], ["index_map"], []),
    ("OneHotDice", "dice", ["spatial2d", "single", "spatial3d"], ["onehot"], []),
    ("BroadcastingDice", "dice", ["spatial2d", "single", "spatial3d"], ["binary", "onehot"], []),
    # a soft-target cross entropy that refuses class indices keeps its own contract: LC502 info, not an error
    ("SoftTargetCrossEntropy", "cross_entropy", ["batch", "single"], ["probabilities"], []),
])
def test_probe_recognises_the_layout(name, as_, layouts, formats, codes):
    result = run(name, as_)
    assert result.layouts["accepted"] == layouts, result.layouts
    assert result.parameters["target_formats"] == formats, result.layouts
    # drawn only from what it accepts: no other finding than info about what it rejects
    assert sorted({f.code for f in result.findings if f.severity != "info"}) == codes, \
        [f"{f.code} {f.message[:120]}" for f in result.findings]
    for layout, outcomes in result.layouts["probed"].items():
        if layout not in layouts:
            assert not any(outcome == "accepted" for outcome in outcomes.values()), (layout, outcomes)


def test_rejected_layouts_say_what_the_candidate_raised():
    probed = run("Dice2D", "dice").layouts["probed"]
    assert "expected (N, C, H, W) input" in probed["spatial3d"]["binary"]


def test_a_candidate_accepting_nothing_is_unusable():
    result = run("AcceptsNothing", "mse")
    assert result.layouts["accepted"] == [] and result.exit_code() == 2
    assert "accepts none of the inputs of 'mse'" in result.unusable
    assert "expected input of rank 7, got rank 2" in result.unusable
    assert all(c.status == "skip" for c in result.checks if c.name != "api.call")


def test_cli_exits_2_with_one_line_and_still_writes_json(tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "losscheck", "audit", f"{FIXTURES}:AcceptsNothing", "--as", "mse",
                           "--max-examples", "5", "--format", "json", "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("losscheck: error: ") and "rank 7" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(out.read_text())
    assert report["verdict"] == "unusable" and report["layouts"]["accepted"] == []
    assert report["unusable"] in lines[0]


def test_a_defect_of_the_probe_does_not_silence_the_audit(monkeypatch):
    """An internal error in api.call is reported as such, and the other checks run on every layout."""
    import losscheck.checks.probe

    def broken(*args, **kwargs):
        raise RuntimeError("probe defect")

    monkeypatch.setattr(losscheck.checks.probe, "_probe_cases", broken)
    result = audit(f"{FIXTURES}:Dice2D", as_="dice", seed=0, max_examples=5, isolate=False)
    statuses = {c.name: c.status for c in result.checks}
    assert statuses["api.call"] == "error"
    assert statuses["value.reference"] == "pass"
    assert result.layouts["accepted"] == ["spatial2d", "single", "spatial3d"]
