"""losscheck.report.files: the one atomic writer (unique temporary names, concurrent writers of one path,
permissions, clean failures), report names (one per distinct audit of a run), and the output paths checked at the
door."""
from __future__ import annotations

import json
import multiprocessing
import os
import stat
import sys
import threading
from pathlib import Path

import pytest

from losscheck.errors import UsageError
from losscheck.findings import AuditResult
from losscheck.gate.config import Loss
from losscheck.gate.runner import LossOutcome
from losscheck.report.files import output_dir, output_file, report_stem, report_stems, settings_key, write_atomic

ROUNDS = 150


def _report(writer: int, k: int) -> str:
    """A complete JSON report, large enough (~300 kB) that a torn write would show."""
    return json.dumps({"writer": writer, "round": k, "payload": [writer] * 60_000}) + "\n"


def _write_many(path: str, writer: int, rounds: int = ROUNDS) -> None:
    for k in range(rounds):
        write_atomic(Path(path), _report(writer, k))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _read_while(path: Path, running) -> tuple[int, list]:
    """Read `path` until `running()` is false: (complete reads, anything that was not one complete report)."""
    reads, bad = 0, []
    while running() or reads == 0:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        try:
            doc = json.loads(text)
            assert len(doc["payload"]) == 60_000 and set(doc["payload"]) == {doc["writer"]}
            reads += 1
        except Exception as e:  # a half-written or mixed file
            bad.append(f"{type(e).__name__}: {len(text)} characters")
    return reads, bad


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_two_processes_writing_one_path(tmp_path):
    path = tmp_path / "out" / "report.json"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_write_many, args=(str(path), n)) for n in (1, 2)]
    for p in procs:
        p.start()
    reads, bad = _read_while(path, lambda: any(p.is_alive() for p in procs))
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]  # no traceback, no collision on a temporary name
    assert bad == [] and reads > 0
    assert json.loads(path.read_text())["round"] == ROUNDS - 1
    assert _leftovers(path.parent) == []


def test_threads_writing_one_path(tmp_path):
    path = tmp_path / "summary.json"
    errors = []

    def work(n):
        try:
            _write_many(str(path), n, rounds=60)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    reads, bad = _read_while(path, lambda: any(t.is_alive() for t in threads))
    for t in threads:
        t.join()
    assert errors == [] and bad == [] and reads > 0
    assert _leftovers(tmp_path) == []


def test_two_cli_processes_writing_one_output_path(tmp_path):
    """The same through `losscheck`'s own code path in separate interpreters (the race of two audits with one
    -o): each process writes many complete reports."""
    code = ("import sys; from pathlib import Path; from losscheck.report.files import write_atomic\n"
            "for k in range(100): write_atomic(Path(sys.argv[1]), sys.argv[2] * 100_000 + '\\n')\n")
    import subprocess

    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "r.txt"), c], stderr=subprocess.PIPE,
                              text=True) for c in "ab"]
    outs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0] and outs == ["", ""]
    text = (tmp_path / "r.txt").read_text()
    assert text in ("a" * 100_000 + "\n", "b" * 100_000 + "\n")
    assert _leftovers(tmp_path) == []


def test_text_bytes_newlines_and_folders(tmp_path):
    write_atomic(tmp_path / "a" / "b" / "r.md", "one\ntwo\n")
    assert (tmp_path / "a" / "b" / "r.md").read_bytes() == b"one\ntwo\n"
    write_atomic(tmp_path / "crlf.toml", "x = 1\r\n", newline="")
    assert (tmp_path / "crlf.toml").read_bytes() == b"x = 1\r\n"
    write_atomic(tmp_path / "data.pickle", b"\x00\x01")
    assert (tmp_path / "data.pickle").read_bytes() == b"\x00\x01"
    write_atomic(tmp_path / "odd.txt", "lone surrogate \udcff")  # never lost to an encoding error
    assert (tmp_path / "odd.txt").read_text() == "lone surrogate \\udcff"


def test_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "new.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o644  # not mkstemp's 0600
    (tmp_path / "kept.toml").write_text("a = 1\n")
    os.chmod(tmp_path / "kept.toml", 0o640)
    write_atomic(tmp_path / "kept.toml", "a = 2\n")
    assert stat.S_IMODE((tmp_path / "kept.toml").stat().st_mode) == 0o640


def test_failures_are_one_line_and_leave_nothing(tmp_path):
    (tmp_path / "blocker").write_text("")
    with pytest.raises(UsageError, match=r"^cannot write .*blocker/r.json: "):
        write_atomic(tmp_path / "blocker" / "r.json", "{}")
    (tmp_path / "folder").mkdir()
    with pytest.raises(UsageError, match=r"^cannot write .*folder: Is a directory"):
        write_atomic(tmp_path / "folder", "{}")
    assert _leftovers(tmp_path) == []


def test_report_stem():
    assert report_stem("mypkg.losses:FocalLoss") == "mypkg.losses_FocalLoss"
    assert report_stem("src/x.py:dice loss") == "src_x.py_dice_loss"
    assert report_stem("../../etc/passwd") == "etc_passwd"
    assert report_stem("\x1b[31m") == "31m" and report_stem("::") == "audit"


# -- output paths at the door ------------------------------------------------------------------------------
def _unwritable_folder(tmp_path) -> Path | None:
    """A folder in which this process cannot create a file, or None."""
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        os.chmod(folder, 0o500)
        return folder
    for folder in (Path("/proc"), Path("/sys")):  # root writes everywhere but in pseudo file systems
        if folder.is_dir():
            try:
                with open(folder / "losscheck-probe", "w"):
                    pass
            except OSError:
                return folder
    return None


def test_output_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports").mkdir()
    (tmp_path / "blocker").write_text("")
    assert output_file("r.json", "-o") == tmp_path / "r.json"  # absolute: a later chdir cannot move it
    assert not (tmp_path / "r.json").exists() and _leftovers(tmp_path) == []
    (tmp_path / "old.json").write_text("{}")
    assert output_file("old.json", "-o") == tmp_path / "old.json"  # an existing file is replaced
    refusals = {
        "reports": "-o reports is a folder; name a file",
        "reports/": "-o reports/ is a folder; name a file",
        "new/": "-o new/ is a folder; name a file",
        ".": "-o . is a folder",
        "missing/r.json": f"-o missing/r.json: the folder {tmp_path / 'missing'} does not exist",
        "blocker/r.json": f"-o blocker/r.json: the folder {tmp_path / 'blocker'} is not a folder",
    }
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe")
        refusals["pipe"] = "-o pipe is not a regular file; name a file"
    for path, message in refusals.items():
        with pytest.raises(UsageError) as e:
            output_file(path, "-o")
        assert str(e.value).startswith(message), (path, str(e.value))
    locked = _unwritable_folder(tmp_path)
    if locked is not None:
        with pytest.raises(UsageError, match=r"^-o .*report.json: cannot create a file in "):
            output_file(locked / "report.json", "-o")


def test_output_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blocker").write_text("")
    assert output_dir("reports/new", "--output-dir") == tmp_path / "reports" / "new"
    assert not (tmp_path / "reports").exists()  # checked, not created: an audit that fails leaves nothing
    assert output_dir(".", "--output-dir") == tmp_path
    with pytest.raises(UsageError, match=r"^--output-dir blocker is a file; name a folder$"):
        output_dir("blocker", "--output-dir")
    with pytest.raises(UsageError, match=r"^--output-dir blocker/r lies below the file .*blocker; name a folder$"):
        output_dir("blocker/r", "--output-dir")
    locked = _unwritable_folder(tmp_path)
    if locked is not None:
        with pytest.raises(UsageError, match=r"^--output-dir .*reports: cannot create a file in "):
            output_dir(locked / "reports", "--output-dir")


# -- report names of a run over many audits ----------------------------------------------------------------
def _outcome(name: str, seed: int = 0, unusable: bool = False) -> LossOutcome:
    loss = Loss(target=name, name=name, as_="focal")
    if unusable:
        return LossOutcome(loss, error="cannot import")
    return LossOutcome(loss, result=AuditResult(target=name, reference="ref", seed=seed, max_examples=5, versions={},
                                                tolerances={}, parameters={"loss": "focal", "defaults": {"gamma": 2}}))


def test_report_stems_one_name_per_distinct_audit():
    """Names audited once keep report_stem's name; one name audited with other settings (the plugin's fixture on
    two instances) gets a settings hash each; the same settings twice, a counter."""
    outcomes = [_outcome("mypkg.losses:Focal"), _outcome("Focal", seed=0), _outcome("Focal", seed=1),
                _outcome("Focal", seed=1), _outcome("Broken", unusable=True)]
    stems = report_stems(outcomes)
    assert stems[0] == "mypkg.losses_Focal" and stems[4] == "Broken"
    assert len(set(stems)) == len(stems)
    first, second, third = stems[1:4]
    assert first.startswith("Focal-") and len(first) == len("Focal-") + 8 and second.startswith("Focal-")
    assert third == f"{second}-2"
    assert report_stems(outcomes[1:4]) == [first, second, third]  # the hash is of the settings, not the run


def test_settings_key_ignores_timings_and_findings():
    a, b = _outcome("Focal").result, _outcome("Focal").result
    b.seconds = 12.5
    assert settings_key(a) == settings_key(b)
    b.parameters["defaults"]["gamma"] = 0.5
    assert settings_key(a) != settings_key(b)
