"""`losscheck ci` on a small external repository (tests/external_repo.py: a correct MSE and one whose 'mean'
sums, max-examples = 5), and the baseline logic on synthetic results.

The end-to-end flow runs the command `losscheck ci -j 2` five times on one repository: no baseline fails on
the buggy loss, --update-baseline makes it pass, a new bug fails again, a fixed loss leaves its baseline
entries stale (reported; failing with --fail-on-stale). Each audit imports the repository's `mypkg` afresh in
its own worker process, wherever the command runs. The first two runs are the real command in a subprocess
(`python -m losscheck ci`), one per exit code a CI user sees (1, then 0; exit 2 is test_ci_usage_errors');
the other three go through the same entry point, losscheck.cli.main, in this process, which has torch and
the audit engine imported already: a cold `losscheck ci` spends about 2.5 s of its 3.5 s on those imports.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from external_repo import BUGGY, BUGGY_MEAN, CORRECT_MEAN, make_repo, write_losses
from losscheck.gate.baseline import TODO_REASON, compare, load_baseline, updated_baseline
from losscheck.commands import ci as ci_command
from losscheck.gate.config import Loss
from losscheck.errors import UsageError
from losscheck.findings import AuditResult, CheckResult, Finding
from losscheck.gate.github import annotation, on_github
from losscheck.gate.runner import LossOutcome

STEMS = ("mypkg.losses_GoodMSE", "mypkg.losses_SumMSE")


def ci(root, *args, github=False, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    if github:
        env["GITHUB_ACTIONS"] = "true"
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "losscheck", "ci", "-j", "2", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def ci_in_process(root, monkeypatch, capsys, *args):
    """`losscheck ci -j 2 ARGS` run by losscheck.cli.main in this process, from `root`, outside GitHub Actions:
    its exit code, stdout and stderr, as `ci` gives them."""
    from losscheck.cli import main

    monkeypatch.chdir(root)
    for name in [k for k in os.environ if k.startswith("GITHUB_")]:
        monkeypatch.delenv(name)
    capsys.readouterr()
    path = list(sys.path)
    try:
        code = main(["ci", "-j", "2", *args])
    finally:
        sys.path[:] = path  # the audits put the repository's root on sys.path
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["losscheck", "ci", "-j", "2", *args], code, out, err)


def baseline(root) -> dict:
    return {(e["target"], e["code"]): e["reason"]
            for e in json.loads((root / "losscheck-baseline.json").read_text())["accepted"]}


def test_ci_baseline_flow(tmp_path, monkeypatch, capsys):
    root = make_repo(tmp_path)
    step_summary = tmp_path / "step-summary.md"

    # 1. no baseline: the buggy loss fails the gate, with GitHub annotations and reports (a subprocess: exit 1)
    first = ci(root, github=True, env_extra={"GITHUB_STEP_SUMMARY": str(step_summary)})
    assert first.returncode == 1, first.stdout + first.stderr
    assert "NEW FINDINGS  mypkg.losses:SumMSE" in first.stdout
    assert "PASS  mypkg.losses:GoodMSE" in first.stdout
    class_line = (root / "mypkg" / "losses.py").read_text().splitlines().index("class SumMSE(torch.nn.Module):") + 1
    assert f"::error file=mypkg/losses.py,line={class_line},title=losscheck LC405 reduction%3A 'mean' depends on " \
           "batch size::mypkg.losses:SumMSE: " in first.stdout  # on the loss's own definition
    reports = root / "losscheck-reports"
    for stem in STEMS:
        assert {p.name for p in reports.glob(f"{stem}.*")} == {f"{stem}.{e}" for e in ("md", "html", "json", "xml")}
    summary = (reports / "summary.md").read_text()
    assert summary.startswith("# losscheck ci: FAIL") and "## New findings" in summary and "LC405" in summary
    assert step_summary.read_text().strip() == summary.strip()

    # 2. --update-baseline accepts what is there (and passes; a subprocess: exit 0); a reason is then written
    # by hand
    update = ci(root, "--update-baseline")
    assert update.returncode == 0, update.stdout + update.stderr
    accepted = baseline(root)
    assert (BUGGY, "LC405") in accepted and all(t == BUGGY for t, _ in accepted)
    assert set(accepted.values()) == {TODO_REASON}
    assert "::" not in update.stdout  # no annotations outside GitHub Actions
    data = json.loads((root / "losscheck-baseline.json").read_text())
    for e in data["accepted"]:
        e["reason"] = "legacy: the trainer divides by the batch size"
    (root / "losscheck-baseline.json").write_text(json.dumps(data))

    # 3. a new bug in the other loss fails the gate again; the accepted findings still pass (from here on in
    # this process, through losscheck.cli.main)
    write_losses(root, GoodMSE=BUGGY_MEAN)
    regressed = ci_in_process(root, monkeypatch, capsys)
    assert regressed.returncode == 1, regressed.stdout + regressed.stderr
    assert "NEW FINDINGS  mypkg.losses:GoodMSE" in regressed.stdout
    assert "ACCEPTED  mypkg.losses:SumMSE" in regressed.stdout

    # 4. both fixed: SumMSE's baseline entries match nothing and are reported stale
    write_losses(root, GoodMSE=CORRECT_MEAN, SumMSE=CORRECT_MEAN)
    fixed = ci_in_process(root, monkeypatch, capsys, "--fail-on-stale")
    assert fixed.returncode == 1, fixed.stdout + fixed.stderr
    assert f"STALE  {BUGGY} LC405 in losscheck-baseline.json: no longer found" in fixed.stdout
    assert "## Stale baseline entries" in (reports / "summary.md").read_text()
    cleaned = ci_in_process(root, monkeypatch, capsys, "--update-baseline")
    assert cleaned.returncode == 0 and baseline(root) == {}
    assert "removed" in cleaned.stdout


def test_ci_usage_errors(tmp_path):
    root = make_repo(tmp_path, "report_dir = 'out'")
    bad = ci(root)
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("losscheck: error: pyproject.toml: [tool.losscheck]: unknown key 'report_dir'; "
                                  "did you mean 'report-dir'?")
    assert ci(root, "--config", "missing.toml").stderr.startswith("losscheck: error: no such configuration file")
    (root / "empty.toml").write_text("[tool.losscheck]\nseed = 1\n")
    assert "lists no losses" in ci(root, "--config", "empty.toml").stderr


# -- the baseline on synthetic results ------------------------------------------------------------------
def result(target: str, *codes: str) -> AuditResult:
    findings = [Finding(code=c, check="x.y", message=f"{c} seen", reproducer=f"print('{c}')") for c in codes]
    return AuditResult(target=target, reference="ref", seed=0, max_examples=5, versions={}, tolerances={},
                       parameters={"loss": "mse"}, checks=[CheckResult("x.y", "value", "fail", findings=findings)])


def outcome(name, *codes, error=None):
    loss = Loss(target=name, name=name, as_="mse")
    return LossOutcome(loss, error=error) if error else LossOutcome(loss, result=result(name, *codes))


def test_compare_new_accepted_stale():
    outcomes = [outcome("a", "LC101", "LC405", "LC501"), outcome("b"), outcome("c", error="cannot import")]
    base = [{"target": "a", "code": "LC405", "reason": "known"}, {"target": "b", "code": "LC202", "reason": "fixed"},
            {"target": "c", "code": "LC101", "reason": "unaudited"}, {"target": "gone", "code": "LC101", "reason": ""}]
    cmp = compare(outcomes, base, configured={"a", "b", "c"})
    assert {n: list(v) for n, v in cmp.new.items()} == {"a": ["LC101"]}  # LC501 is info: below fail-on
    assert {n: {c: r for c, (r, _) in v.items()} for n, v in cmp.accepted.items()} == {"a": {"LC405": "known"}}
    assert [(e["target"], why) for e, why in cmp.stale] == [("b", "no longer found"), ("gone", "not a configured loss")]


def test_update_keeps_reasons_and_unaudited_entries_drops_the_rest():
    outcomes = [outcome("a", "LC101", "LC405"), outcome("b"), outcome("c", error="cannot import")]
    base = [{"target": "a", "code": "LC405", "reason": "known"}, {"target": "b", "code": "LC202", "reason": "fixed"},
            {"target": "c", "code": "LC101", "reason": "unaudited"}, {"target": "gone", "code": "LC101", "reason": ""}]
    entries, added, removed = updated_baseline(outcomes, base, configured={"a", "b", "c"})
    assert {(e["target"], e["code"]): e["reason"] for e in entries} == {
        ("c", "LC101"): "unaudited", ("a", "LC101"): TODO_REASON, ("a", "LC405"): "known"}
    assert (added, removed) == (1, 2)


def test_annotation_escaping():
    line = annotation("error", "LC101: a, b", "50% off\nsecond line", "pyproject.toml", 12)
    assert line == "::error file=pyproject.toml,line=12,title=LC101%3A a%2C b::50%25 off%0Asecond line"


@pytest.mark.parametrize("value, expected", [("true", True), ("", False), ("false", False)])
def test_github_detection(monkeypatch, value, expected):
    monkeypatch.setenv("GITHUB_ACTIONS", value)
    assert on_github() is expected


def test_bad_baseline_is_a_usage_error(tmp_path):
    path = tmp_path / "losscheck-baseline.json"
    path.write_text('{"accepted": [{"target": "a"}]}')
    with pytest.raises(UsageError, match=r"entry #1 needs string \"target\" and \"code\""):
        load_baseline(path)
    assert load_baseline(tmp_path / "absent.json") == []



# -- the door: options, the baseline and output paths are refused before any loss is audited ---------------
def _ci_quick(root, *args):
    """`losscheck ci` that must stop at the door: one line on stderr, exit 2, and no report written."""
    run = ci(root, *args)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stdout == "" and len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr, run.stderr
    assert not (root / "losscheck-reports").exists()
    return run.stderr.strip()


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "losscheck: error: --seed must be an integer from 0 to 18446744073709551615 (2**64-1), "
                       "not '-1'"),
    (["--seed", "100000000000000000000000"], "losscheck: error: --seed must be an integer from 0"),
    (["--max-examples", "0"], "losscheck: error: --max-examples must be an integer from 1 to 10000, not '0'"),
    (["--max-examples", "1000000000"], "losscheck: error: --max-examples must be an integer from 1 to 10000"),
    (["--memory-limit", "lots"], "losscheck: error: --memory-limit must be a size such as 4G or 1536M"),
    (["--fail-on", "fatal"], "losscheck: error: --fail-on must be \"error\" or \"warning\", not 'fatal'"),
    (["--baseline", "a-folder"], "losscheck: error: the baseline a-folder is a folder; name a JSON file"),
    (["--update-baseline", "--baseline", "a-folder"], "losscheck: error: --baseline a-folder is a folder"),
    (["--update-baseline", "--baseline", "nowhere/b.json"], "losscheck: error: --baseline nowhere/b.json: the "
                                                            "folder"),
    (["--output-dir", "a-file"], "losscheck: error: --output-dir a-file is a file; name a folder"),
    (["--output-dir", "a-file/reports"], "losscheck: error: --output-dir a-file/reports lies below the file"),
])
def test_ci_refuses_bad_arguments_before_auditing(tmp_path, args, message):
    root = make_repo(tmp_path)
    (root / "a-folder").mkdir()
    (root / "a-file").write_text("")
    assert _ci_quick(root, *args).startswith(message)


@pytest.mark.parametrize("extra, message", [
    ("timeout = nan", "[tool.losscheck]: 'timeout' must be a finite number of seconds, more than 0 and at most "
                      "86400, not nan"),
    ("timeout = inf", "[tool.losscheck]: 'timeout' must be a finite number of seconds"),
    ("seed = 100000000000000000000", "[tool.losscheck]: 'seed' must be an integer from 0 to 18446744073709551615 "
                                     "(2**64-1), not 100000000000000000000"),
    ("seed = -1", "[tool.losscheck]: 'seed' must be an integer from 0 to 18446744073709551615 (2**64-1), not -1"),
    ("isolation = 'no'", "[tool.losscheck]: 'isolation' must be true or false, not 'no'"),
    ("select = ['LC1O1']", "[tool.losscheck]: 'select': 'LC1O1' is no pitfall code and no prefix of one; did you "
                           "mean LC101?"),
    ("memory-limit = '12'", "[tool.losscheck]: 'memory-limit' must be a size such as 4G or 1536M (at least 1G)"),
    ("ddp = 1", "[tool.losscheck]: 'ddp' must be 0 (off) or a number of processes from 2 to 64, not 1"),
    ("report-dir = 'a-file'", "[tool.losscheck] 'report-dir' "),
    ("baseline = 'a-folder'", "the baseline "),
])
def test_ci_refuses_a_bad_configuration_before_auditing(tmp_path, extra, message):
    root = make_repo(tmp_path, extra)
    (root / "a-folder").mkdir()
    (root / "a-file").write_text("")
    line = _ci_quick(root)
    assert line.startswith("losscheck: error: ") and message in line, line


def test_ci_options_reach_every_loss(tmp_path, monkeypatch, capsys):
    """--memory-limit, --seed, --max-examples and --fail-on override the configuration of every loss; ddp = 0
    and memory-limit in the configuration arrive as audit() keywords."""
    from losscheck.cli import main

    root = make_repo(tmp_path, "ddp = 0\nmemory-limit = '3G'\n")
    seen = []

    def fake_audit_all(config, losses, jobs=1, max_examples=None, seed=None):
        seen.extend(losses)
        return []

    monkeypatch.setattr(ci_command, "audit_all", fake_audit_all)
    assert main(["ci", "--config", str(root / "pyproject.toml")]) == 0
    assert [loss.audit_kwargs()["memory_limit"] for loss in seen] == [3 * 2**30] * 2
    assert all(loss.audit_kwargs()["ddp"] == 0 for loss in seen)
    seen.clear()
    assert main(["ci", "--config", str(root / "pyproject.toml"), "--memory-limit", "none", "--seed", "5",
                 "--max-examples", "2", "--fail-on", "warning"]) == 0
    kwargs = [loss.audit_kwargs() for loss in seen]
    assert [(k["memory_limit"], k["seed"], k["max_examples"]) for k in kwargs] == [(0, 5, 2)] * 2
    assert [loss.fail_on for loss in seen] == ["warning"] * 2
    capsys.readouterr()


def test_baseline_that_is_not_a_regular_file(tmp_path):
    with pytest.raises(UsageError, match=r"^the baseline .* is a folder; name a JSON file$"):
        load_baseline(tmp_path)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        with pytest.raises(UsageError, match=r"is not a regular file"):
            load_baseline(tmp_path / "fifo")


def test_ci_counts_and_seconds_agree_between_stdout_and_summary(tmp_path, monkeypatch, capsys):
    """One clock and one line of counts, each saying what it counts, in `ci`'s last line and in summary.md; a code
    that fails on one layout and is a warning on another is listed as new only."""
    from losscheck.cli import main

    root = make_repo(tmp_path)

    def fake_audit_all(config, losses, jobs=1):
        time.sleep(0.25)
        good, buggy = (outcome(loss.name) for loss in losses)
        buggy = outcome(buggy.name, "LC101", "LC504", "LC504", "LC501")
        buggy.result.checks[0].findings[2].severity_override = "warning"  # LC504 on another layout
        return [good, buggy]

    monkeypatch.setattr(ci_command, "audit_all", fake_audit_all)
    monkeypatch.chdir(root)
    assert main(["ci"]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert f"NEW FINDINGS  {BUGGY}  (new: LC101, LC504; below fail-on: LC501)" in lines
    last = lines[-1]
    assert last.startswith("losscheck ci: FAIL: 2 loss(es) (1 passing, 1 with new findings); 2 new finding(s) of "
                           "2 code(s), 0 accepted finding(s), 0 stale baseline entries; in 0."), last
    summary = (root / "losscheck-reports" / "summary.md").read_text().splitlines()[2]
    assert summary == last.removeprefix("losscheck ci: FAIL: ").partition("; reports in")[0] + "."
