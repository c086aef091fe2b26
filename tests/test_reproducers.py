"""Reproducers are runnable: a finding's script, written to a file and run with a fresh interpreter, imports
the fixture, rebuilds the shrunk input and shows the problem.

One finding per family (stability, gradient, reduction, target, device, api). The audits are the cached
ones of test_checks.py (tests/helpers.py), so these tests add only the subprocess runs.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from helpers import ROOT, audited


def run_reproducer(result, code, tmp_path):
    """(finding, completed process) for the first finding with `code`, its reproducer run in tmp_path."""
    finding = next(f for f in result.findings if f.code == code)
    script = tmp_path / f"repro_{code}.py"
    script.write_text(finding.reproducer)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    return finding, proc


def _numbers(text):
    return [float(x) for x in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?|-?\d+(?:e[-+]?\d+)?|nan|inf", text)]


# (fixture, catalogue id, code, text the reproducer must print)
SHOWS = [
    ("naive_bce_with_logits", "bce_with_logits", "LC201", ["candidate: tensor(inf)", "reference:"]),
    ("SqrtDistanceContrastive", "contrastive", "LC302", ["grad x1:", "nan"]),
    ("MSEPerSampleNone", "mse", "LC403", ["candidate:", "reference:"]),
    ("CEIgnoreIndexCountsPadding", "cross_entropy", "LC503", ["candidate:", "reference:"]),
    ("FocalSigmoidInplace", "focal", "LC701", ["before:", "after:"]),
]


@pytest.mark.parametrize("fixture, loss_id, code, expected", SHOWS, ids=[s[2] for s in SHOWS])
def test_reproducer_runs_and_shows_the_problem(fixture, loss_id, code, expected, tmp_path):
    finding, proc = run_reproducer(audited(fixture, loss_id), code, tmp_path)
    assert proc.returncode == 0, f"{finding.reproducer}\n--- stderr:\n{proc.stderr[-2000:]}"
    for text in expected:
        assert text in proc.stdout, f"{text!r} not in:\n{proc.stdout}"


def test_reproducer_values_differ_from_the_reference(tmp_path):
    """LC503: the printed candidate is not the printed reference (the script shows the defect, not just runs)."""
    _, proc = run_reproducer(audited("CEIgnoreIndexCountsPadding", "cross_entropy"), "LC503", tmp_path)
    lines = dict(line.split(":", 1) for line in proc.stdout.splitlines() if ":" in line)
    candidate = _numbers(lines["candidate"])[0]
    reference = _numbers(lines["reference"])[0]
    assert abs(candidate - reference) > 1e-3, proc.stdout


def test_inplace_reproducer_shows_changed_input(tmp_path):
    _, proc = run_reproducer(audited("FocalSigmoidInplace", "focal"), "LC701", tmp_path)
    before = proc.stdout.split("after:")[0].split("before:")[1]
    after = proc.stdout.split("after:")[1]
    assert _numbers(before) != _numbers(after), proc.stdout


def test_fake_cuda_reproducer_raises_the_device_mismatch(tmp_path):
    """LC601's script needs no GPU: under FakeTensorMode it raises the error a real GPU run would raise."""
    finding, proc = run_reproducer(audited("NTXentCPUMask", "info_nce"), "LC601", tmp_path)
    assert "FakeTensorMode" in finding.reproducer
    assert proc.returncode != 0
    assert "FakeTensorDeviceMismatchError" in proc.stderr and "cuda:0 and cpu" in proc.stderr, proc.stderr[-2000:]


def test_hidden_state_reproducer_shows_two_values(tmp_path):
    _, proc = run_reproducer(audited("SmoothedMSE", "mse"), "LC703", tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    values = [_numbers(line)[0] for line in proc.stdout.splitlines() if line.strip()]
    assert len(set(values)) > 1, proc.stdout


def test_crash_reproducer_exits_like_the_candidate(tmp_path):
    result = audited("AbortOnNaNLogCosh", "log_cosh")
    finding, proc = run_reproducer(result, "LC706", tmp_path)
    assert proc.returncode == 3, f"{finding.reproducer}\n--- stdout:\n{proc.stdout}"
