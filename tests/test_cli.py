"""The `losscheck` command end to end, in subprocesses: exit codes, one-line usage errors, report formats,
--select/--ignore, --seed reproducibility, both entry points, and a clean working directory.

Every CLI run the module needs is declared in RUNS and launched once, concurrently, by the module-scoped
`runs` fixture (each in its own empty working directory); the tests then only read the results. This keeps
the module at about a minute on two idle cores although it starts ~30 interpreters that import torch.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from xml.etree import ElementTree as ET

import pytest
from markdown_it import MarkdownIt

from losscheck.pitfalls import FAMILIES, PITFALLS
from losscheck.specs import SPECS

SAMPLES = Path(__file__).resolve().parent / "data" / "sample_losses.py"
EXAMPLES = "5"
RUN_TIMEOUT = 300  # seconds for one CLI run; an audit here takes ~5 s
CHECK_STATUSES = {"pass", "fail", "skip", "error"}
SEVERITIES = {"error", "warning", "info"}
JSON_KEYS = {"target", "reference", "seed", "max_examples", "versions", "tolerances", "parameters", "conventions",
             "verdict", "counts", "seconds", "checks", "findings"}
CHECK_KEYS = {"name", "family", "status", "examples", "seconds", "detail", "findings"}
FINDING_KEYS = {"code", "family", "severity", "title", "check", "message", "example", "reproducer", "data"}


def sample(name: str) -> str:
    return f"{SAMPLES}:{name}"


@dataclass(frozen=True)
class Run:
    args: tuple
    files: tuple = ()            # (name, text) written into the run's empty cwd first; "name/": a folder
    console_script: bool = False  # `losscheck ...` instead of `python -m losscheck ...`


@dataclass(repr=False)
class Result:
    rc: int | None
    stdout: str
    stderr: str
    cwd: Path
    files_before: frozenset

    def new_files(self) -> set:
        return {p.relative_to(self.cwd).as_posix() for p in self.cwd.rglob("*")} - self.files_before

    def json(self, name="report.json") -> dict:
        return json.loads((self.cwd / name).read_text(encoding="utf-8"))

    def __repr__(self):
        return f"<run {self.cwd.name}: exit {self.rc}>"

    def __str__(self):
        return f"exit {self.rc}\n--- stdout ---\n{self.stdout[-3000:]}\n--- stderr ---\n{self.stderr[-3000:]}"


def _console_script() -> str | None:
    script = Path(sys.executable).with_name("losscheck")
    return str(script) if script.exists() else shutil.which("losscheck")


def audit(*args, **kw) -> Run:
    return Run(("audit", *args, "--max-examples", EXAMPLES), **kw)


BOOM_MULTILINE = 'raise RuntimeError("cannot load the weights\\nsee the log for details")\n'
HOSTILE_IMPORT = 'raise RuntimeError("\\x1b]0;pwned\\x07\\x1b[31mred \\u202eevil \\x00nul \\rback")\n'
NOMOD = "lc_no_such_module_xyz:Loss"
CHDIR_AT_IMPORT = ('import os, tempfile\nos.chdir(tempfile.mkdtemp(prefix="lc-elsewhere-"))\nimport torch\n\n\n'
                   'class Loss(torch.nn.MSELoss):\n    pass\n')
# what no stdout or stderr may carry raw: C0 controls but newline and tab, DEL, C1, bidi controls, surrogates
RAW_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

# Audits first (they are the long ones), then usage errors. Keys name the behaviour.
RUNS: dict[str, Run] = {
    # audits
    "mse_json": audit("torch.nn.MSELoss", "--format", "json", "-o", "report.json"),
    "buggy_json": audit(sample("SumMSE"), "--as", "mse", "--seed", "7", "--format", "json", "-o", "report.json"),
    "buggy_json_again": audit(sample("SumMSE"), "--as", "mse", "--seed", "7", "--format", "json",
                              "-o", "report.json"),
    "buggy_select": audit(sample("SumMSE"), "--as", "mse", "--seed", "7", "--select", "lc4, LC202",
                          "--format", "json", "-o", "report.json"),
    "buggy_ignore": audit(sample("SumMSE"), "--as", "mse", "--seed", "7", "--ignore", "LC2,LC4,LC5",
                          "--format", "json", "-o", "report.json"),
    "buggy_md": audit(sample("SumMSE"), "--as", "mse", "--format", "md"),
    "warning_only": audit(sample("Float64MSE"), "--as", "mse"),
    "warning_only_fail_on_warning": audit(sample("Float64MSE"), "--as", "mse", "--fail-on", "warning"),
    "script_html": audit(sample("ScriptInMessage"), "--as", "mse", "--format", "html", "-o", "report.html"),
    "options_accepted": audit("torch.nn.MSELoss", "--ddp", "0", "--memory-limit", "2G", "--select", "LC1,LC30",
                              "--timeout", "30", "--seed", "18446744073709551615", "--format", "json"),
    "hostile_reports": audit(sample("HostileMessage"), "--as", "mse", "--format", "md,html,json,junit",
                             "--output-dir", "out"),
    "hostile_json_stdout": audit(sample("HostileMessage"), "--as", "mse", "--format", "json"),
    # -o is resolved at the door: a candidate that changes directory at import cannot move the report
    "import_chdirs": audit("lc_chdir:Loss", "--as", "mse", "--format", "json", "-o", "report.json",
                           files=(("lc_chdir.py", CHDIR_AT_IMPORT),)),
    # `losscheck` itself (python -m where the script is missing); GoodMSE has an info finding only
    "console_script": audit(sample("GoodMSE"), "--as", "mse", "--fail-on", "warning", console_script=True),
    # usage errors (exit 2, one line on stderr)
    "no_arguments": Run(()),
    "unknown_subcommand": Run(("frobnicate", "torch.nn.MSELoss")),
    "unknown_flag": audit("torch.nn.MSELoss", "--bogus"),
    "missing_target": Run(("audit",)),
    "bad_fail_on": audit("torch.nn.MSELoss", "--fail-on", "never"),
    "non_integer_max_examples": Run(("audit", "torch.nn.MSELoss", "--max-examples", "many")),
    # a candidate that fails at once, so that the run stays short while --max-examples 0 is accepted
    "zero_max_examples": Run(("audit", sample("ScriptInMessage"), "--as", "mse", "--max-examples", "0")),
    "zero_timeout": audit(sample("ScriptInMessage"), "--as", "mse", "--timeout", "0"),
    "unknown_module": audit("lc_no_such_module_xyz:Loss", "--as", "mse"),
    "unknown_attribute": audit("torch.nn:NoSuchLoss"),
    "missing_file": audit("no_such_file.py:Loss", "--as", "mse"),
    "several_callables": audit(str(SAMPLES), "--as", "mse"),
    "unknown_as": audit("torch.nn.MSELoss", "--as", "not_a_loss"),
    "missing_as": audit(sample("Criterion")),  # a name no id can be guessed from
    "bad_init_json": audit("torch.nn.MSELoss", "--init", "{gamma: 2"),
    "init_not_object": audit("torch.nn.MSELoss", "--init", "[1, 2]"),
    "unknown_init_key": audit("torch.nn.MSELoss", "--init", '{"gamma": 2.0}'),
    "unknown_format": audit("torch.nn.MSELoss", "--format", "pdf"),
    # output paths are checked before the audit: the target does not exist, so an error that names it would
    # mean the audit ran first (root can write anywhere, so "unwritable" means a path below a regular file)
    "output_below_a_file": audit(NOMOD, "--as", "mse", "-o", "blocker/report.txt", files=(("blocker", ""),)),
    "output_is_a_directory": audit(NOMOD, "--as", "mse", "-o", "reports", files=(("reports/", ""),)),
    "output_is_the_cwd": audit(NOMOD, "--as", "mse", "-o", "."),
    "output_names_a_folder": audit(NOMOD, "--as", "mse", "-o", "new/"),
    "output_missing_folder": audit(NOMOD, "--as", "mse", "-o", "nowhere/report.json"),
    "output_dir_is_a_file": audit(NOMOD, "--as", "mse", "--format", "md,json", "--output-dir", "blocker",
                                  files=(("blocker", ""),)),
    # every option is checked at the door, before the target is even looked at
    "timeout_nan": audit(NOMOD, "--as", "mse", "--timeout", "nan"),
    "timeout_inf": audit(NOMOD, "--as", "mse", "--timeout", "inf"),
    "timeout_negative": audit(NOMOD, "--as", "mse", "--timeout", "-1"),
    "seed_too_large": audit(NOMOD, "--as", "mse", "--seed", "100000000000000000000000"),
    "seed_negative": audit(NOMOD, "--as", "mse", "--seed", "-1"),
    "max_examples_too_large": Run(("audit", NOMOD, "--as", "mse", "--max-examples", "1000000000")),
    "select_typo": audit(NOMOD, "--as", "mse", "--select", "LC1O1"),
    "select_unknown": audit(NOMOD, "--as", "mse", "--select", "LC2,LC999"),
    "ignore_typo": audit(NOMOD, "--as", "mse", "--ignore", "LC7O1"),
    "ddp_one": audit(NOMOD, "--as", "mse", "--ddp", "1"),
    "memory_limit_unreadable": audit(NOMOD, "--as", "mse", "--memory-limit", "lots"),
    "memory_limit_in_bytes": audit(NOMOD, "--as", "mse", "--memory-limit", "512"),
    "fail_on_unknown": audit(NOMOD, "--as", "mse", "--fail-on", "fatal"),
    "import_raises_hostile": audit("lc_evil:Loss", "--as", "mse", files=(("lc_evil.py", HOSTILE_IMPORT),)),
    "import_raises_multiline": audit("lc_boom:Loss", "--as", "mse", files=(("lc_boom.py", BOOM_MULTILINE),)),
    "import_exits_zero": audit("lc_bye:Loss", "--as", "mse",
                               files=(("lc_bye.py", "import sys\nsys.exit(0)\n"),)),
}

# (run, words its stderr line must contain)
USAGE_ERRORS = {
    "no_arguments": [],
    "unknown_subcommand": ["frobnicate"],
    "unknown_flag": ["--bogus"],
    "missing_target": ["target"],
    "bad_fail_on": ["--fail-on", "never"],
    "non_integer_max_examples": ["--max-examples"],
    "zero_max_examples": ["--max-examples", "not '0'"],
    "zero_timeout": ["--timeout", "not '0'"],
    "unknown_module": ["lc_no_such_module_xyz"],
    "unknown_attribute": ["NoSuchLoss"],
    "missing_file": ["no_such_file.py"],
    "several_callables": ["GoodMSE", "SumMSE", "Float64MSE", "ScriptInMessage"],
    "unknown_as": ["not_a_loss", *SPECS],
    "missing_as": ["--as", *SPECS],
    "bad_init_json": ["--init"],
    "init_not_object": ["--init"],
    "unknown_init_key": ["gamma"],
    "unknown_format": ["pdf", "text", "md", "json", "html"],
    "output_below_a_file": ["--output blocker/report.txt", "is not a folder"],
    "output_is_a_directory": ["--output reports is a folder"],
    "output_is_the_cwd": ["--output . is a folder"],
    "output_names_a_folder": ["--output new/ is a folder"],
    "output_missing_folder": ["--output nowhere/report.json", "does not exist"],
    "output_dir_is_a_file": ["--output-dir blocker is a file"],
    "timeout_nan": ["--timeout must be a finite number of seconds", "not 'nan'"],
    "timeout_inf": ["--timeout must be a finite number of seconds", "not 'inf'"],
    "timeout_negative": ["--timeout must be", "not '-1'"],
    "seed_too_large": ["--seed must be an integer from 0 to 18446744073709551615", "'100000000000000000000000'"],
    "seed_negative": ["--seed must be an integer from 0", "not '-1'"],
    "max_examples_too_large": ["--max-examples must be an integer from 1 to 10000", "'1000000000'"],
    "select_typo": ["--select: 'LC1O1' is no pitfall code", "did you mean LC101?"],
    "select_unknown": ["--select: 'LC999' is no pitfall code"],
    "ignore_typo": ["--ignore: 'LC7O1'", "did you mean LC701?"],
    "ddp_one": ["--ddp must be 0 (off) or a number of processes from 2 to 64, not '1'"],
    "memory_limit_unreadable": ["--memory-limit must be a size such as 4G or 1536M", "not 'lots'"],
    "memory_limit_in_bytes": ["--memory-limit must be", "(at least 1G)", "not '512'"],
    "fail_on_unknown": ["--fail-on must be \"error\" or \"warning\", not 'fatal'"],
    "import_raises_hostile": ["lc_evil", "RuntimeError", "\\x1b]0;pwned\\x07\\x1b[31mred", "\\u202eevil",
                              "\\x00nul back"],  # CR is whitespace: one line
    "import_raises_multiline": ["lc_boom", "RuntimeError"],
    "import_exits_zero": ["lc_bye", "SystemExit"],
}


def _command(run: Run) -> list[str]:
    if run.console_script and _console_script():
        return [_console_script(), *run.args]
    return [sys.executable, "-m", "losscheck", *run.args]


def _execute(root: Path, key: str, run: Run) -> Result:
    cwd = root / key
    cwd.mkdir()
    for name, text in run.files:
        if name.endswith("/"):
            (cwd / name).mkdir()
        else:
            (cwd / name).write_text(text, encoding="utf-8")
    before = frozenset(p.relative_to(cwd).as_posix() for p in cwd.rglob("*"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPOTHESIS")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # the candidate modules written into cwd must not leave __pycache__
    try:
        p = subprocess.run(_command(run), cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else e.stdout or ""
        return Result(None, out, f"timed out after {RUN_TIMEOUT} s", cwd, before)
    return Result(p.returncode, p.stdout, p.stderr, cwd, before)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Result]:
    root = tmp_path_factory.mktemp("cli")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2
    workers = min(6, cores + 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {key: pool.submit(_execute, root, key, run) for key, run in RUNS.items()}
        return {key: f.result() for key, f in futures.items()}


def _findings(report: dict) -> list[tuple]:
    return [(f["code"], f["check"], f["message"]) for f in report["findings"]]


# -- exit codes --------------------------------------------------------------------------------------------

def test_builtin_passes(runs):
    r = runs["mse_json"]
    assert r.rc == 0, r
    assert "PASS" in r.stdout, r  # with -o, a text summary still goes to stdout
    assert r.stdout.rstrip().splitlines()[-1].startswith("PASS"), r
    assert r.stderr == "", r


def test_buggy_loss_exits_1_with_error_findings(runs):
    r = runs["buggy_json"]  # with -o the text report goes to stdout
    assert r.rc == 1, r
    assert r.stdout.rstrip().splitlines()[-1].startswith("FAIL"), r
    assert re.search(r"^LC\d{3} error ", r.stdout, re.M), r
    assert "Traceback" not in r.stdout + r.stderr


def test_fail_on_warning(runs):
    default, strict = runs["warning_only"], runs["warning_only_fail_on_warning"]
    assert default.rc == 0, default
    assert re.search(r"^LC\d{3} warning ", default.stdout, re.M), default
    assert not re.search(r"^LC\d{3} error ", default.stdout, re.M), default
    assert strict.rc == 1, strict


def test_the_verdict_line_agrees_with_the_exit_code_and_fail_on(runs):
    default, strict = runs["warning_only"], runs["warning_only_fail_on_warning"]
    assert default.stdout.rstrip().splitlines()[-1].startswith("PASS: 0 error(s)"), default
    last = strict.stdout.rstrip().splitlines()[-1]
    assert last.startswith("FAIL: 0 error(s)") and last.endswith("(--fail-on warning)"), strict


def test_info_findings_never_fail(runs):
    r = runs["console_script"]  # GoodMSE, --fail-on warning
    assert r.rc == 0, r
    assert re.search(r"^LC\d{3} info ", r.stdout, re.M), r
    assert r.stdout.rstrip().splitlines()[-1].startswith("PASS: 0 error(s), 0 warning(s)"), r


@pytest.mark.parametrize("key", sorted(USAGE_ERRORS))
def test_usage_errors_exit_2_with_one_line(runs, key):
    r = runs[key]
    assert r.rc == 2, r
    assert "Traceback" not in r.stderr + r.stdout, r
    lines = r.stderr.splitlines()
    assert len(lines) == 1, f"expected exactly one stderr line\n{r}"
    assert lines[0].startswith("losscheck: error:"), r
    for word in USAGE_ERRORS[key]:
        assert word in lines[0], f"{word!r} missing from {lines[0]!r}"


def test_every_usage_error_run_is_declared():
    assert set(USAGE_ERRORS) <= set(RUNS)


# -- report formats ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["mse_json", "buggy_json"])
def test_json_report(runs, key):
    r = runs[key]
    assert r.rc in (0, 1), r
    report = r.json()
    assert set(report) >= JSON_KEYS
    assert report["max_examples"] == int(EXAMPLES)
    assert report["seed"] == (7 if key == "buggy_json" else 0)
    assert report["reference"].startswith("losscheck.references.")
    assert report["parameters"]["loss"] == "mse"
    assert {"losscheck", "python", "torch"} <= set(report["versions"])
    assert report["checks"], "no checks ran"
    for check in report["checks"]:
        assert set(check) >= CHECK_KEYS, check
        assert check["status"] in CHECK_STATUSES, check
        assert check["family"] in FAMILIES, check
        assert (check["status"] == "fail") == bool(check["findings"]), check
    for finding in report["findings"]:
        assert set(finding) >= FINDING_KEYS, finding
        assert finding["severity"] in SEVERITIES, finding
        assert finding["code"] in PITFALLS, finding
        assert finding["family"] == PITFALLS[finding["code"]].family
        assert finding["reproducer"].strip() and finding["example"].strip(), finding
    # every check's codes are the findings listed under it, and the counts add up
    per_check = Counter((c["name"], code) for c in report["checks"] for code in c["findings"])
    assert per_check == Counter((f["check"], f["code"]) for f in report["findings"])
    counts = Counter(f["severity"] for f in report["findings"])
    assert report["counts"] == {s: counts.get(s, 0) for s in ("error", "warning", "info")}
    assert report["verdict"] == ("fail" if counts["error"] else "pass")
    assert r.rc == (1 if counts["error"] else 0)


def test_json_verdicts(runs):
    assert runs["mse_json"].json()["verdict"] == "pass"
    buggy = runs["buggy_json"].json()
    assert buggy["verdict"] == "fail"
    assert buggy["counts"]["error"] > 0


def test_markdown_report(runs):
    r = runs["buggy_md"]
    assert r.rc == 1, r
    lines = r.stdout.splitlines()
    header = next((i for i, line in enumerate(lines) if re.fullmatch(r"\|\s*family\s*\|.*\|", line)), None)
    assert header is not None, r.stdout
    assert re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[header + 1]), lines[header + 1]
    assert lines[header].count("|") == lines[header + 1].count("|")
    fences = [line for line in lines if line.startswith("```")]
    assert "```python" in fences
    assert len(fences) % 2 == 0 and len(fences) >= 4, fences  # example + reproducer per finding, all closed
    assert re.search(r"^## LC\d{3} \(error, ", r.stdout, re.M), r.stdout


def ran_to_the_end(r) -> bool:
    """The audit ran its checks: a verdict (exit 0 or 1), or exit 2 for a candidate that accepts no input at all,
    whose reports are still written."""
    return r.rc in (0, 1) or (r.rc == 2 and "accepts none of the inputs" in r.stderr)


def test_html_escapes_candidate_text(runs):
    r = runs["script_html"]
    assert r.rc == 2 and ran_to_the_end(r), r  # it raises on every call: unusable, but the report is written
    html = (r.cwd / "report.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "alert(1)" in html, "the candidate's message is not in the report"
    # the report may carry scripts of its own; none of the candidate's text may arrive as markup
    assert "<script>alert(1)" not in html, "raw markup from the candidate reached the HTML report"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "LC705" in html


# -- filtering, reproducibility ----------------------------------------------------------------------------

def test_select_keeps_only_the_selected_codes(runs):
    baseline = _findings(runs["buggy_json"].json())
    r = runs["buggy_select"]
    report = r.json()
    kept = _findings(report)
    assert kept, "the selected codes were found without --select; they must still be there"
    assert kept == [f for f in baseline if f[0].startswith(("LC4", "LC202"))]  # lower case and spaces accepted
    assert r.rc == 1, r


def test_ignore_drops_the_ignored_codes(runs):
    base_report = runs["buggy_json"].json()
    baseline = _findings(base_report)
    assert any(f[0].startswith(("LC2", "LC4", "LC5")) for f in baseline), "nothing to ignore in the baseline"
    r = runs["buggy_ignore"]
    report = r.json()
    assert _findings(report) == [f for f in baseline if not f[0].startswith(("LC2", "LC4", "LC5"))]
    # a check whose only findings were ignored no longer fails
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    for c in base_report["checks"]:
        if c["findings"] and all(code.startswith(("LC2", "LC4", "LC5")) for code in c["findings"]):
            assert statuses[c["name"]] == "pass", c["name"]
    assert r.rc == (1 if report["counts"]["error"] else 0), r


def test_same_seed_same_findings(runs):
    first, second = runs["buggy_json"].json(), runs["buggy_json_again"].json()
    assert first["findings"] == second["findings"]
    assert [(c["name"], c["status"], c["findings"]) for c in first["checks"]] == \
           [(c["name"], c["status"], c["findings"]) for c in second["checks"]]


# -- entry points and side effects -------------------------------------------------------------------------

@pytest.mark.skipif(_console_script() is None, reason="the losscheck console script is not installed")
def test_python_dash_m_and_console_script(runs):
    module_run, script_run = runs["mse_json"], runs["console_script"]
    assert module_run.rc == 0, module_run
    assert script_run.rc == 0, script_run
    assert script_run.stdout.startswith(f"losscheck audit: {sample('GoodMSE')} as mse"), script_run
    assert "PASS" in script_run.stdout


def test_no_arguments_shows_usage(runs):
    r = runs["no_arguments"]
    assert r.rc == 2, r
    assert "audit" in r.stdout + r.stderr, r


@pytest.mark.parametrize("key", ["mse_json", "buggy_json", "buggy_md", "script_html", "console_script"])
def test_audit_leaves_no_hypothesis_directory(runs, key):
    r = runs[key]
    assert ran_to_the_end(r), r
    assert not (r.cwd / ".hypothesis").exists(), sorted(r.new_files())


@pytest.mark.parametrize("key", sorted(RUNS))
def test_nothing_but_the_requested_report_is_written(runs, key):
    r = runs[key]
    args = RUNS[key].args
    wanted = {args[args.index("-o") + 1]} if "-o" in args and ran_to_the_end(r) else set()
    if "--output-dir" in args and ran_to_the_end(r):
        folder = args[args.index("--output-dir") + 1]
        formats = args[args.index("--format") + 1].split(",")
        wanted = {folder} | {f"{folder}/{p.name}" for p in (r.cwd / folder).iterdir()}
        assert len(wanted) == 1 + len(formats), wanted
    assert r.new_files() == wanted, r


@pytest.mark.parametrize("key", sorted(RUNS))
def test_no_raw_control_character_reaches_the_terminal(runs, key):
    r = runs[key]
    for stream in (r.stdout, r.stderr):
        found = sorted({f"U+{ord(c):04X}" for c in RAW_CONTROLS.findall(stream)})
        assert not found, f"{found}\n{r}"


# -- options accepted at the door; a hostile candidate in every report ---------------------------------------

def test_accepted_options_and_json_on_stdout(runs):
    r = runs["options_accepted"]  # --ddp 0 is off, as ddp = 0 in the config; the largest seed torch takes
    assert r.rc == 0, r
    report = json.loads(r.stdout)  # the JSON report on stdout is the whole of stdout
    assert report["seed"] == 2**64 - 1 and report["verdict"] == "pass"
    assert not any(c["name"] == "device.ddp" for c in report["checks"])
    assert all(code.startswith(("LC1", "LC30")) for c in report["checks"] for code in c["findings"])


def test_hostile_candidate_text_in_every_report(runs):
    r = runs["hostile_reports"]
    assert ran_to_the_end(r) and r.rc == 2, r
    assert len(r.stderr.splitlines()) == 1 and "\\x1b[31mred" in r.stderr, r
    assert "\\x1b[31mred" in r.stdout and "\\u202eevil" in r.stdout, r  # the text summary, escaped
    out = r.cwd / "out"
    stem = sample("HostileMessage").replace("/", "_").replace(":", "_").strip("_")
    files = {p.suffix: p.read_text(encoding="utf-8") for p in out.iterdir()}
    assert set(files) == {".md", ".html", ".json", ".xml"}, sorted(out.iterdir())
    for suffix, text in files.items():
        assert not RAW_CONTROLS.search(text), suffix
    assert stem in {p.stem for p in out.iterdir()}
    ET.fromstring(files[".xml"].encode("utf-8"))  # well-formed
    assert "<img" not in files[".html"] and "&lt;img src=x onerror=alert(1)&gt;" in files[".html"]
    assert "\udcff" in json.loads(files[".json"])["unusable"]  # JSON keeps the text as it was
    md_html = MarkdownIt("commonmark", {"html": True}).enable("table").render(files[".md"])
    assert "<img" not in md_html and "&lt;img src=x onerror=alert(1)&gt;" in md_html


def test_output_path_is_fixed_before_the_candidate_runs(runs):
    r = runs["import_chdirs"]
    assert r.rc == 0, r
    assert r.json()["target"] == "lc_chdir:Loss"  # here, not in the folder the candidate moved to


def test_hostile_candidate_json_on_stdout_is_valid(runs):
    r = runs["hostile_json_stdout"]
    assert ran_to_the_end(r) and r.rc == 2, r
    report = json.loads(r.stdout)
    assert r.stdout.isascii() and report["verdict"] == "unusable"
    assert any("\x1b[31mred" in f["message"] for f in report["findings"])
