"""The candidate cannot signal the judge (issue 25): its parent is losscheck's keeper and its group its own, so
SIGTERM or SIGKILL sent to os.getppid(), to its own process group or to its parent's group ends only the
suspect's side. In a call that is an LC706 finding naming what happened (exit 1; the audit goes on), at import
an unusable target (exit 2, one line); never a pass, never the judge's death, and nothing is left running.

Each candidate is a correct MSE written to a temporary folder with one hostile line, audited with the
`losscheck` command (a judge that dies must not take pytest with it). Every process the command starts
carries a tag in its environment, so what is left running is found in /proc.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from losscheck.suspect import keeper, protocol
from losscheck.suspect.lifeline import how_it_ended
from losscheck.suspect.supervisor import Worker

CANDIDATE = """
import os, signal
import torch

_calls = [0]
{at_import}

class MSE(torch.nn.Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
{in_forward}
        return torch.nn.functional.mse_loss(input, target, reduction=self.reduction)
"""

# what the candidate signals -> the words the LC706 finding (or the exit-2 line) has for each signal
ACTIONS = {
    "parent": ("os.kill(os.getppid(), signal.{sig})",
               {"SIGTERM": "the candidate sent SIGTERM to the worker's parent",
                "SIGKILL": "keeper process, the worker's parent, ended (killed by SIGKILL"}),
    "its group": ("os.killpg(0, signal.{sig})",
                  {"SIGTERM": "worker running the candidate ended (killed by SIGTERM)",
                   "SIGKILL": "worker running the candidate ended (killed by SIGKILL"}),
    "its parent's group": ("os.killpg(os.getpgid(os.getppid()), signal.{sig})",
                           {"SIGTERM": "the candidate sent SIGTERM to the worker's parent",
                            "SIGKILL": "keeper process, the worker's parent, ended (killed by SIGKILL"}),
}


def _write(folder, name="cand", at_import="", in_forward="pass"):
    path = folder / f"{name}.py"
    path.write_text(CANDIDATE.format(at_import=at_import, in_forward=textwrap.indent(in_forward, " " * 8)))
    return path


def _once(tmp_path, action: str) -> str:
    """`action` on the third call (after the probe), once (a marker file), so that the fresh workers after it
    serve the later checks."""
    mark = str(tmp_path / "done-once")
    return (f"_calls[0] += 1\nif _calls[0] == 3 and not os.path.exists({mark!r}):\n"
            f"    open({mark!r}, 'w').close()\n    {action}")


def _run(args, cwd, tag, timeout=300):
    env = dict(os.environ, LOSSCHECK_TEST_TAG=tag)
    return subprocess.run([sys.executable, "-m", "losscheck", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env, start_new_session=True)  # a signal to its group spares pytest


def _tagged(tag: str) -> list[int]:
    """The live (not zombie) processes whose environment carries `tag`."""
    found, needle = [], f"LOSSCHECK_TEST_TAG={tag}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
        except OSError:
            continue
        found.append(int(entry))
    return found


def _nothing_left(tag: str, wait: float = 10.0) -> None:
    deadline = time.monotonic() + wait
    while _tagged(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _tagged(tag), [open(f"/proc/{p}/cmdline").read() for p in _tagged(tag)]


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
@pytest.mark.parametrize("whom", list(ACTIONS))
def test_a_signal_from_forward_ends_only_the_worker_and_is_lc706(tmp_path, whom, sig):
    action, words = ACTIONS[whom]
    path = _write(tmp_path, in_forward=_once(tmp_path, action.format(sig=sig)))
    tag = uuid.uuid4().hex
    p = _run(["audit", f"{path}:MSE", "--as", "mse", "--max-examples", "3", "--format", "json", "-o", "r.json"],
             tmp_path, tag)
    assert p.returncode == 1, (p.returncode, p.stderr)
    report = json.loads((tmp_path / "r.json").read_text())
    lost = [f for f in report["findings"] if f["code"] == "LC706"]
    assert lost and words[sig] in lost[0]["message"], [f["message"] for f in report["findings"]]
    assert {f["code"] for f in report["findings"]} == {"LC706"}  # the later checks ran on a fresh worker
    assert sum(c["status"] == "pass" for c in report["checks"]) >= 8
    _nothing_left(tag)


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
@pytest.mark.parametrize("whom", ["parent", "its group"])
def test_a_signal_at_import_makes_the_target_unusable(tmp_path, whom, sig):
    """Exit 2 with one line; or, when the worker answers before its keeper's death reaches it (a SIGKILL to the
    keeper takes effect once the kernel has torn the keeper down), LC706 at the first request after."""
    action, words = ACTIONS[whom]
    path = _write(tmp_path, at_import=action.format(sig=sig))
    tag = uuid.uuid4().hex
    p = _run(["audit", f"{path}:MSE", "--as", "mse", "--max-examples", "3"], tmp_path, tag)
    assert p.returncode in (1, 2), (p.returncode, p.stderr)
    if p.returncode == 2:
        assert len(p.stderr.strip().splitlines()) == 1 and words[sig] in p.stderr, p.stderr
    else:
        assert "LC706" in p.stdout and words[sig] in " ".join(p.stdout.split()), p.stdout
    _nothing_left(tag)


def test_a_judge_killed_outright_leaves_nothing_running(tmp_path):
    """SIGKILL to the judge: the keeper is told (its parent-death signal) and kills the worker and the child the
    candidate forked into the worker's group, which nothing else would end."""
    asleep = tmp_path / "asleep"
    fork = (f"if os.fork() == 0:\n    import time; time.sleep(600); os._exit(0)\n"
            f"open({str(asleep)!r}, 'w').close()\nimport time; time.sleep(600)")
    path = _write(tmp_path, in_forward=fork)
    tag = uuid.uuid4().hex
    judge = subprocess.Popen([sys.executable, "-m", "losscheck", "audit", f"{path}:MSE", "--as", "mse",
                              "--timeout", "300"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=dict(os.environ, LOSSCHECK_TEST_TAG=tag), start_new_session=True)
    deadline = time.monotonic() + 120
    while not asleep.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert asleep.exists() and len(_tagged(tag)) >= 3  # the judge, the worker, the child (and the keeper)
    judge.kill()
    judge.wait(timeout=15)
    _nothing_left(tag)


# -- the "Done means": `audit` and `ci -j 2` over a directory of hostile candidates --------------------
HOSTILE = {  # module name -> (at import, in forward)
    "term_parent": ("", "os.kill(os.getppid(), signal.SIGTERM)"),
    "kill_parent": ("", "os.kill(os.getppid(), signal.SIGKILL)"),
    "term_group": ("", "os.killpg(0, signal.SIGTERM)"),
    "kill_group": ("", "os.killpg(0, signal.SIGKILL)"),
    "term_parent_group": ("", "os.killpg(os.getpgid(os.getppid()), signal.SIGTERM)"),
    "term_parent_at_import": ("os.kill(os.getppid(), signal.SIGTERM)", "pass"),
    "kill_group_at_import": ("os.killpg(0, signal.SIGKILL)", "pass"),
    "exit_zero": ("", "os._exit(0)"),
    "thread_left": ("", "import threading, time\n"
                        "threading.Thread(target=time.sleep, args=(600,), daemon=True).start()"),
    "child_left": ("", "import time\nif os.fork() == 0:\n    time.sleep(600)\n    os._exit(0)"),
}


def _hostile_repo(tmp_path):
    pkg = tmp_path / "hostile"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name, (at_import, in_forward) in HOSTILE.items():
        _write(pkg, name, at_import, in_forward)
    (tmp_path / "pyproject.toml").write_text("[tool.losscheck]\nmax-examples = 3\n" + "".join(
        f'\n[[tool.losscheck.loss]]\ntarget = "hostile.{name}:MSE"\nas = "mse"\n' for name in HOSTILE))
    return tmp_path


def test_every_hostile_candidate_is_a_finding_or_exit_2_under_audit(tmp_path):
    root = _hostile_repo(tmp_path)
    for name in HOSTILE:
        tag = uuid.uuid4().hex
        p = _run(["audit", f"hostile.{name}:MSE", "--as", "mse", "--max-examples", "3", "-q"], root, tag)
        assert p.returncode in (1, 2), (name, p.returncode, p.stdout, p.stderr)
        assert "LC70" in p.stdout or p.returncode == 2, (name, p.stdout)
        _nothing_left(tag)


def test_ci_over_hostile_candidates_passes_none_and_leaves_nothing(tmp_path):
    root = _hostile_repo(tmp_path)
    tag = uuid.uuid4().hex
    p = _run(["ci", "-j", "2"], root, tag, timeout=600)
    assert p.returncode != 0, p.stdout + p.stderr
    assert "BrokenProcessPool" not in p.stdout + p.stderr  # no candidate took its pool process down
    for name in HOSTILE:  # its own finding, or unusable at import
        rows = [line for line in p.stdout.splitlines() if f"hostile.{name}:MSE" in line]
        assert rows and not any(row.lstrip().startswith("PASS") for row in rows), (name, p.stdout, p.stderr)
        assert any("LC70" in row or "failed: " in row for row in rows), (name, rows)
    _nothing_left(tag)


# -- the arrangement itself --------------------------------------------------------------------------------
def _stat(pid: int) -> dict:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return {"ppid": int(fields[1]), "pgrp": int(fields[2]), "session": int(fields[3])}


def test_the_worker_is_the_keepers_child_and_neither_is_in_the_judges_group():
    worker = Worker(("target", "torch.nn.MSELoss", {}), 10.0, None)
    worker.request(protocol.Resolve(), wait=60)  # started, and confined by the time it answers
    try:
        w, k = _stat(worker.pid), _stat(worker.keeper)
        assert w["ppid"] == worker.keeper and k["ppid"] == os.getpid()
        assert w["pgrp"] == w["session"] == worker.pid and k["pgrp"] == k["session"] == worker.keeper
        assert os.getpgrp() not in (w["pgrp"], k["pgrp"]) and os.getsid(0) not in (w["session"], k["session"])
    finally:
        pids = (worker.pid, worker.keeper)
        worker.close()
    deadline = time.monotonic() + 10
    while [pid for pid in pids if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if _alive(pid)]


def _alive(pid: int) -> bool:
    """Running, not a zombie (a keeper that swept is reaped once it has exited)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("line, status, words", [
    (["ended", str(3 << 8)], None, "worker running the candidate ended (exit code 3)"),
    (["signal", str(int(signal.SIGTERM)), "a process the candidate started"], None,
     "a process the candidate started sent SIGTERM to the worker's parent"),
    (None, signal.SIGKILL, "keeper process, the worker's parent, ended (killed by SIGKILL"),
])
def test_what_ended_names_the_signal_and_who_sent_it(line, status, words):
    assert words in keeper.what_ended(line, status)
    assert how_it_ended(status=signal.SIGKILL) == "killed by SIGKILL, possibly out of memory"


def test_news_lines_come_whole_and_none_after_the_deadline():
    r, w = os.pipe()
    news = keeper.News(r)
    os.write(w, b"worker 12\nended ")
    assert news.next(wait=1.0) == ["worker", "12"]
    t0 = time.monotonic()
    assert news.next(wait=0.2) is None and time.monotonic() - t0 < 1.0
    os.write(w, b"0\n")
    assert news.next(wait=1.0) == ["ended", "0"]
    os.close(w)
    assert news.next(wait=1.0) is None
    news.close()
