"""The pytest plugin, on a small external repository built by pytester (tests/external_repo.py): a correct MSE
and one whose 'mean' sums, both listed in [[tool.losscheck.loss]] with max-examples = 5.

Every run is a subprocess (`runpytest_subprocess`): the plugin is loaded from its pytest11 entry point as
in a user's repository, and each run imports the repository's `mypkg` afresh. The repository's conftest.py
logs every audit (pid and target) so that the tests can count them.
"""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from external_repo import BUGGY, CORRECT_MEAN, FAMILIES, GOOD, make_repo, write_losses

pytest_plugins = ["pytester"]

AUDIT_LOG_CONFTEST = '''\
import os
import sys
from pathlib import Path

import losscheck.judge.auditor

LOG = Path(__file__).parent / "audits.log"
_audit = losscheck.judge.auditor.audit_request


def _logged(request, options, **kwargs):
    target = request.target
    with open(LOG, "a") as fh:
        fh.write(f"{os.getpid()} {target if isinstance(target, str) else type(target).__name__}\\n")
    return _audit(request, options, **kwargs)


losscheck.judge.auditor.audit_request = _logged


def pytest_collection_finish(session):
    (Path(__file__).parent / "collection.log").write_text(f"torch imported: {'torch' in sys.modules}\\n")
'''

VERDICT = re.compile(r"^(PASSED|FAILED|ERROR) (\S+)")


@pytest.fixture
def repo(pytester):
    make_repo(pytester.path)
    pytester.makeconftest(AUDIT_LOG_CONFTEST)
    return pytester


def verdicts(result) -> dict:
    """node id -> PASSED/FAILED from a run with -rA (skipped items are not listed)."""
    out = {}
    for line in result.outlines:
        m = VERDICT.match(line)
        if m:
            out[m.group(2)] = m.group(1)
    return out


def audits(pytester) -> list[tuple[str, str]]:
    log = pytester.path / "audits.log"
    lines = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return [tuple(line.split(" ", 1)) for line in lines]


def test_import_is_cheap():
    code = ("import sys, losscheck.pytest_plugin, losscheck.gate.config, losscheck.gate.runner, losscheck.gate.baseline, "
            "losscheck.report.run_summary, losscheck.commands.ci; "
            "print(sorted(m for m in ('torch', 'hypothesis', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_configured_losses_collected_with_family_ids(repo):
    result = repo.runpytest_subprocess("--collect-only", "-q")
    assert result.ret == 0, result.stdout.str()
    ids = [line for line in result.outlines if line.startswith("losscheck::")]
    assert ids == [f"losscheck::{t}::{f}" for t in (GOOD, BUGGY) for f in FAMILIES]
    assert (repo.path / "collection.log").read_text() == "torch imported: False\n"
    assert audits(repo) == []
    # naming only a test file leaves the configured losses out; --losscheck-collect forces them in
    repo.makepyfile(test_other="def test_x():\n    pass\n")
    assert "losscheck::" not in repo.runpytest_subprocess("--collect-only", "-q", "test_other.py").stdout.str()
    forced = repo.runpytest_subprocess("--collect-only", "-q", "test_other.py", "--losscheck-collect")
    assert f"losscheck::{GOOD}::value" in forced.stdout.str()
    none = repo.runpytest_subprocess("--collect-only", "-q", "--losscheck-no-collect")
    assert "losscheck::" not in none.stdout.str()


def test_buggy_loss_fails_by_family_same_under_xdist_and_fixed_passes(repo):
    serial = repo.runpytest_subprocess("-rA", "--losscheck-report", "reports")
    out = serial.stdout.str()
    assert serial.ret == 1, out
    v = verdicts(serial)
    assert v[f"losscheck::{BUGGY}::reduction"] == "FAILED"
    assert all(v.get(f"losscheck::{GOOD}::{f}", "PASSED") == "PASSED" for f in FAMILIES), v
    assert {k for k, s in v.items() if s == "FAILED"} <= {f"losscheck::{BUGGY}::{f}" for f in FAMILIES}
    assert "LC405 reduction 'mean' depends on batch size" in out
    assert "Reproducer:" in out and "from mypkg.losses import SumMSE" in out
    assert sorted(t for _, t in audits(repo)) == [GOOD, BUGGY]  # once per loss, not once per family
    reports = repo.path / "reports"
    for stem in ("mypkg.losses_GoodMSE", "mypkg.losses_SumMSE"):
        assert {p.name for p in reports.glob(f"{stem}.*")} == {f"{stem}.{e}" for e in ("md", "html", "json", "xml")}
    assert "# losscheck (pytest): FAIL" in (reports / "summary.md").read_text()

    parallel = repo.runpytest_subprocess("-n", "2", "-rA", "--losscheck-report", "reports-xdist")
    assert parallel.ret == 1, parallel.stdout.str()
    assert verdicts(parallel) == v
    logged = audits(repo)
    assert sorted(t for _, t in logged) == [GOOD, BUGGY]  # the workers share one audit per loss
    assert (repo.path / "reports-xdist" / "mypkg.losses_SumMSE.json").is_file()
    assert (repo.path / "reports-xdist" / "summary.md").is_file()

    write_losses(repo.path, SumMSE=CORRECT_MEAN)  # the fix
    fixed = repo.runpytest_subprocess("-rA")
    assert fixed.ret == 0, fixed.stdout.str()
    assert set(verdicts(fixed).values()) == {"PASSED"}


def test_fixture_and_marker_in_hand_written_tests(repo):
    repo.makepyfile(test_losses=f'''
        import pytest
        from mypkg.losses import GoodMSE

        def test_good(loss_audit):
            loss_audit("{GOOD}", as_="mse").assert_ok()

        def test_buggy(loss_audit):
            loss_audit("{BUGGY}", as_="mse").assert_ok()

        def test_buggy_plain_assert(loss_audit):
            result = loss_audit("{BUGGY}", as_="mse")
            assert result.ok

        def test_object(loss_audit):
            result = loss_audit(GoodMSE(), as_="mse")
            assert result.ok and result.parameters["loss"] == "mse"

        @pytest.mark.losscheck("{GOOD}", "{BUGGY}", as_="mse")
        def test_each(loss_audit, loss_target):
            loss_audit(loss_target).assert_ok()

        @pytest.mark.parametrize("target", [
            # every family in which SumMSE's 'mean'-sums bug can show (LC504: a batch of one, when a drawn
            # sample has more than one element), so the marker's own `ignore` is what makes it pass
            pytest.param("{BUGGY}", marks=pytest.mark.losscheck(as_="mse", ignore=["LC1", "LC2", "LC4", "LC5"]),
                         id="accepted"),
        ])
        def test_marker_options(loss_audit, target):
            loss_audit(target).assert_ok()

        def test_unusable(loss_audit):
            loss_audit("mypkg.losses:Missing", as_="mse")
    ''')
    result = repo.runpytest_subprocess("-rA", "--losscheck-no-collect", "test_losses.py")
    out = result.stdout.str()
    assert verdicts(result) == {
        "test_losses.py::test_good": "PASSED", "test_losses.py::test_buggy": "FAILED",
        "test_losses.py::test_buggy_plain_assert": "FAILED", "test_losses.py::test_object": "PASSED",
        f"test_losses.py::test_each[{GOOD}]": "PASSED", f"test_losses.py::test_each[{BUGGY}]": "FAILED",
        "test_losses.py::test_marker_options[accepted]": "PASSED", "test_losses.py::test_unusable": "FAILED",
    }, out
    assert re.search(r"AssertionError: losscheck .*LC405.* in mypkg\.losses:SumMSE \(as mse\)", out)
    assert "E       LC405 reduction 'mean' depends on batch size" in out
    assert f"<AuditResult {BUGGY} as mse: FAIL" in out
    assert "losscheck: cannot audit mypkg.losses:Missing:" in out
    # the same target and settings are audited once per session; the object and the ignore variant apart
    assert sorted(t for _, t in audits(repo)) == sorted([GOOD, BUGGY, "GoodMSE", BUGGY, "mypkg.losses:Missing"])


@pytest.mark.parametrize("extra, message", [
    ("max_exmaples = 3", "[tool.losscheck]: unknown key 'max_exmaples'; did you mean 'max-examples'?"),
    ("fail-on = 'fatal'", "[tool.losscheck]: 'fail-on' must be \"error\" or \"warning\", not 'fatal'"),
    ("timeout = inf",
     "[tool.losscheck]: 'timeout' must be a finite number of seconds, more than 0 and at most 86400, not inf"),
    ("select = ['LC1O1']",
     "[tool.losscheck]: 'select': 'LC1O1' is no pitfall code and no prefix of one; did you mean LC101?"),
    ("memory-limit = 'lots'", "[tool.losscheck]: 'memory-limit' must be a size such as 4G or 1536M"),
])
def test_bad_configuration_is_a_usage_error(pytester, extra, message):
    make_repo(pytester.path, extra)
    result = pytester.runpytest_subprocess("--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: losscheck: pyproject.toml: {message}" in result.stderr.str()


def test_unknown_key_in_a_loss_table_names_the_table(pytester):
    make_repo(pytester.path)
    path = pytester.path / "pyproject.toml"
    path.write_text(path.read_text().replace('as = "mse"\n', 'as = "mse"\ngama = 2.0\n', 1))
    result = pytester.runpytest_subprocess("--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (f"[[tool.losscheck.loss]] #1 ({GOOD}): unknown key 'gama'") in result.stderr.str()


@pytest.mark.parametrize("args, message", [
    (["--losscheck-seed", "-1"], "losscheck: --losscheck-seed must be an integer from 0 to 18446744073709551615"),
    (["--losscheck-seed", "100000000000000000000000"], "losscheck: --losscheck-seed must be an integer from 0"),
    (["--losscheck-max-examples", "0"], "losscheck: --losscheck-max-examples must be an integer from 1 to 10000"),
    (["--losscheck-max-examples", "many"], "losscheck: --losscheck-max-examples must be an integer from 1 to 10000, "
                                           "not 'many'"),
    (["--losscheck-report", "a-file"], "losscheck: --losscheck-report "),
])
def test_bad_plugin_options_are_usage_errors(pytester, args, message):
    make_repo(pytester.path)
    (pytester.path / "a-file").write_text("")
    result = pytester.runpytest_subprocess("--collect-only", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {message}" in result.stderr.str()


HOSTILE_TESTS = r'''
import pytest

HOSTILE = "\x1b[31mred\x1b[0m \x1b]0;pwned\x07 \x00nul \u202eevil"


class Hostile:
    def __call__(self, input, target):
        raise ValueError(HOSTILE)


def test_nan_timeout(loss_audit):
    loss_audit("mypkg.losses:GoodMSE", as_="mse", timeout=float("nan"))


@pytest.mark.losscheck(select=["LC1O1"])
def test_marker_typo(loss_audit):
    loss_audit("mypkg.losses:GoodMSE", as_="mse")


def test_memory_limit(loss_audit):
    loss_audit("mypkg.losses:GoodMSE", as_="mse", memory_limit="1")


def test_hostile(loss_audit):
    loss_audit(Hostile(), as_="mse", max_examples=2)
'''


def test_fixture_options_are_checked_and_candidate_text_escaped(repo):
    repo.makepyfile(test_hostile=HOSTILE_TESTS)
    result = repo.runpytest_subprocess("-rA", "--losscheck-no-collect", "test_hostile.py")
    out = result.stdout.str()
    assert set(verdicts(result).values()) == {"FAILED"} and len(verdicts(result)) == 4, out
    assert "losscheck: error: loss_audit(timeout=...) must be a finite number of seconds" in out
    assert ("losscheck: error: @pytest.mark.losscheck(select=...): 'LC1O1' is no pitfall code and no prefix of "
            "one; did you mean LC101?") in out
    assert "losscheck: error: loss_audit(memory_limit=...) must be a size such as 4G" in out
    assert "\\x1b[31mred\\x1b[0m \\x1b]0;pwned\\x07 \\x00nul \\u202eevil" in out
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", out + result.stderr.str())
    assert [t for _, t in audits(repo)] == ["Hostile"]  # the refused options audited nothing


def test_a_loss_that_exits_at_import_fails_the_session(repo):
    (repo.path / "mypkg" / "exits.py").write_text("import os\nos._exit(0)\n")
    with open(repo.path / "pyproject.toml", "a") as fh:
        fh.write('\n[[tool.losscheck.loss]]\ntarget = "mypkg.exits:Gone"\nas = "mse"\n')
    result = repo.runpytest_subprocess("-rA", "-k", "Gone or GoodMSE")
    out = result.stdout.str()
    assert result.ret == 1, out
    v = verdicts(result)
    assert any(k.startswith("losscheck::mypkg.exits:Gone") and s in ("FAILED", "ERROR") for k, s in v.items()), v
    assert all(s == "PASSED" for k, s in v.items() if GOOD in k), v
    assert "exit code 0" in out


def test_a_loss_configured_without_isolation_is_named_as_trusted_in_the_header(pytester):
    make_repo(pytester.path, "isolation = false")
    result = pytester.runpytest_subprocess("--collect-only")
    header = result.stdout.str()
    for target in (GOOD, BUGGY):
        assert f"losscheck: {target} runs in this process, trusted (isolation = false)" in header


def test_isolated_losses_get_no_trusted_line(pytester):
    make_repo(pytester.path)
    result = pytester.runpytest_subprocess("--collect-only")
    assert "runs in this process, trusted" not in result.stdout.str()
