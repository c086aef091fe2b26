"""Reproducers are runnable: a finding's script, written to a file and run with a fresh interpreter, imports
the fixture, rebuilds the shrunk input and shows the problem.

One finding per family (stability, gradient, reduction, target, device, api). The audits are the cached
ones of test_checks.py (tests/helpers.py), so these tests add only the subprocess runs.

Then every reproducer of the gallery (each entry audited as `losscheck report` audits it), and those of the pytest
fixture's instances (a repository built by pytester), run from a temporary folder with no PYTHONPATH, as a user runs
one copied from a report: each prints the numbers the audit recorded (the candidate's and the reference's).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from helpers import ROOT, audited
from losscheck.commands.gallery import entries
from losscheck.gate.config import Loss
from losscheck.gate.runner import audit_one
from losscheck.options import AuditOptions

pytest_plugins = ["pytester"]


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
    ("MSEBatchMeanNone", "mse", "LC403", ["candidate:", "reference:"]),
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


# -- every reproducer of the gallery, and of the fixture's instances ------------------------------------------
GALLERY = entries()
LABEL = re.compile(r"^([A-Za-z][\w .-]*?): ", re.M)


def run_anywhere(source: str, folder: Path) -> subprocess.CompletedProcess:
    """`source` written to a file in `folder` and run there by a fresh interpreter without PYTHONPATH."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / f"repro_{len(list(folder.iterdir()))}.py"
    script.write_text(source)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, str(script)], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=120)


def assert_runs_or_raises_what_the_audit_saw(message: str, reproducer: str, proc) -> None:
    """The script exits 0, or raises the error the finding reports the candidate raising (a loss that fails on
    non-contiguous input, a fake-CUDA device mismatch): its last line names an exception type the message names."""
    if proc.returncode == 0:
        return
    last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
    error = last.partition(":")[0].rpartition(".")[2]
    assert error and "raise" in message and error in message, \
        f"{message}\n{reproducer}\n--- stderr:\n{proc.stderr[-2000:]}"


def printed(stdout: str) -> dict:
    """label -> the numbers printed after it (`candidate: tensor(...)`, over several lines for a tensor)."""
    labels = list(LABEL.finditer(stdout))
    blocks = {}
    for m, end in zip(labels, [n.start() for n in labels[1:]] + [len(stdout)]):
        text = re.sub(r"dtype=torch\.\w+|grad_fn=<\w+>", "", stdout[m.end():end])
        blocks[m.group(1)] = [float(x) for x in re.findall(r"-?(?:\d+\.?\d*(?:e[-+]?\d+)?|nan|inf)", text)]
    return blocks


def assert_prints_the_recorded_numbers(family: str, message: str, data: dict, reproducer: str, stdout: str):
    """The candidate's and the reference's numbers the reproducer prints are those the finding recorded: the
    loss's value, or for a gradient finding the gradient of the input its message names."""
    if family == "gradient":
        assert "reference grad" in stdout, f"a gradient reproducer prints the reference's gradient:\n{stdout}"
        named = re.search(r"gradient of `(\w+)`", message)
        labels = (f"grad {named.group(1)}", f"reference grad {named.group(1)}") if named else ()
    else:
        labels = ("candidate", "reference") if 'print("candidate:", out)' in reproducer else ()
    blocks = printed(stdout)
    for label, key in zip(labels, ("candidate", "reference")):
        if key in data:
            assert label in blocks, f"{label!r} not printed:\n{stdout}"
            got, want = np.asarray(blocks[label]), np.ravel(np.asarray(data[key], dtype=float))
            assert got.shape == want.shape and np.allclose(got, want, rtol=1e-6, atol=1e-7, equal_nan=True), \
                f"{label}: printed {got}, recorded {want}\n{reproducer}\n{stdout}"


@pytest.mark.parametrize("target, loss_id, opt_in", [(t, i, o) for t, i, _, o in GALLERY], ids=[t for t, *_ in GALLERY])
def test_every_gallery_reproducer_runs_anywhere_and_prints_the_recorded_numbers(target, loss_id, opt_in, tmp_path):
    result = audit_one(ROOT, Loss(target=target, name=target, as_=loss_id, options=AuditOptions().update(opt_in)))
    for f in result.findings:
        assert "import functools" not in f.reproducer
        proc = run_anywhere(f.reproducer, tmp_path)
        assert_runs_or_raises_what_the_audit_saw(f.message, f.reproducer, proc)
        assert_prints_the_recorded_numbers(f.family, f.message, f.data, f.reproducer, proc.stdout)


FOCAL = """\
import torch
import torch.nn.functional as F


class Focal(torch.nn.Module):
    \"\"\"A focal loss with the sigmoid applied twice.\"\"\"

    def __init__(self, alpha=0.25, gamma=2.0, reduction="mean"):
        super().__init__()
        self.alpha, self.gamma, self.reduction = alpha, gamma, reduction

    def forward(self, input, target):
        p = torch.sigmoid(torch.sigmoid(input))
        ce = F.binary_cross_entropy(p, target, reduction="none")
        p_t = p * target + (1 - p) * (1 - target)
        loss = (self.alpha * target + (1 - self.alpha) * (1 - target)) * (1 - p_t) ** self.gamma * ce
        return loss.mean() if self.reduction == "mean" else loss.sum() if self.reduction == "sum" else loss


class Doubled(Focal):
    \"\"\"Keeps twice the gamma it is given: its argument cannot be read back.\"\"\"

    def __init__(self, gamma=2.0):
        super().__init__(gamma=2 * gamma)
"""


def test_fixture_instances_have_their_own_reports_and_reproducers_that_rebuild_them(pytester, tmp_path):
    """The plugin audits one loss three ways (configured, and the fixture on two instances): three report names,
    three summary rows linking them. Each instance's reproducer builds it again (`Focal(gamma=0.5)`) and prints
    the numbers its audit recorded, from any folder; one whose arguments cannot be read back exits 1 saying how to
    build it, and computes nothing."""
    (pytester.path / "mypkg").mkdir()
    (pytester.path / "mypkg" / "__init__.py").write_text("")
    (pytester.path / "mypkg" / "focal.py").write_text(FOCAL)
    (pytester.path / "pyproject.toml").write_text(textwrap.dedent("""\
        [tool.pytest.ini_options]
        pythonpath = ["."]
        addopts = "-p no:cacheprovider"

        [tool.losscheck]
        max-examples = 5

        [[tool.losscheck.loss]]
        target = "mypkg.focal:Focal"
        as = "focal"
        """))
    pytester.makepyfile(test_focal="""
        from mypkg.focal import Doubled, Focal

        def test_gamma_two(loss_audit):
            loss_audit(Focal(gamma=2.0), as_="focal")

        def test_gamma_half(loss_audit):
            loss_audit(Focal(gamma=0.5), as_="focal")

        def test_doubled(loss_audit):
            loss_audit(Doubled(gamma=0.5), as_="focal")
    """)
    pytester.runpytest_subprocess("-q", "--losscheck-report", "reports")
    reports = pytester.path / "reports"
    stems = sorted(p.stem for p in reports.glob("*.json"))
    assert len(stems) == 4 and "mypkg.focal_Focal" in stems and "Doubled" in stems, stems
    assert len([s for s in stems if re.fullmatch(r"Focal-[0-9a-f]{8}", s)]) == 2, stems
    links = re.findall(r"\]\(([^)]+\.json)\)", (reports / "summary.md").read_text())
    assert sorted(Path(link).stem for link in links) == stems

    built = []
    for stem in stems:
        for f in json.loads((reports / f"{stem}.json").read_text())["findings"]:
            proc = run_anywhere(f["reproducer"], tmp_path / "elsewhere")
            if stem == "Doubled":
                assert proc.returncode == 1 and "candidate" not in proc.stdout, proc.stdout + proc.stderr
                assert proc.stderr.strip().splitlines()[-1].startswith("losscheck cannot rebuild the Doubled"), \
                    proc.stderr
                continue
            assert_runs_or_raises_what_the_audit_saw(f["message"], f["reproducer"], proc)
            assert_prints_the_recorded_numbers(f["family"], f["message"], f["data"], f["reproducer"], proc.stdout)
            built += re.findall(r"^loss_fn = (.*)$", f["reproducer"], re.M)
    assert {"Focal()", "Focal(gamma=0.5)"} <= set(built), built
