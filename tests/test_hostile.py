"""The candidate never touches the judge (issue 14): whatever candidate code does at import, in __init__ or
on a call, the audit ends, reports it as a finding or exit 2, and keeps its own state, files and streams.

Each candidate is a small module written to a temporary folder and audited by file path, the way a user
audits a file; `MSE` in these modules is correct, so any finding comes from the hostile behaviour alone.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from losscheck import audit
from losscheck.errors import UsageError

MSE = """
import torch

class MSE(torch.nn.Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return torch.nn.functional.mse_loss(input, target, reduction=self.reduction)
"""


def module(tmp_path, prelude="", body=MSE, name="cand"):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(prelude) + "\n" + body)
    return path


def cli(*args, cwd, timeout=120, **kw):
    return subprocess.run([sys.executable, "-m", "losscheck", "audit", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, **kw)


def codes(result):
    return {f.code for f in result.findings}


# -- import and construction ------------------------------------------------------------------------------
@pytest.mark.parametrize("prelude, words", [
    ("import os; os._exit(0)", "exit code 0"),
    ("import os; os._exit(5)", "exit code 5"),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "SIGKILL"),
    ("raise SystemExit(0)", "SystemExit"),
])
def test_dying_at_import_is_unusable_not_clean(tmp_path, prelude, words):
    path = module(tmp_path, prelude)
    with pytest.raises(UsageError, match=words):
        audit(f"{path}:MSE", as_="mse", max_examples=3)


def test_exit_zero_at_import_exits_2_with_one_line(tmp_path):
    path = module(tmp_path, "import os; os._exit(0)")
    p = cli(f"{path}:MSE", "--as", "mse", "--format", "json", "-o", "r.json", cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "exit code 0" in p.stderr
    assert "Traceback" not in p.stderr


def test_exit_in_init_is_unusable(tmp_path):
    body = MSE.replace("super().__init__()", "super().__init__(); import os; os._exit(0)")
    with pytest.raises(UsageError, match="constructing .*exit code 0"):
        audit(f"{module(tmp_path, body=body)}:MSE", as_="mse", max_examples=3)


def test_a_hang_at_import_is_bounded(tmp_path):
    path = module(tmp_path, "import time; time.sleep(600)")
    t0 = time.monotonic()
    with pytest.raises(UsageError, match="did not finish within 3 s"):
        audit(f"{path}:MSE", as_="mse", max_examples=3, start_timeout=3)
    assert time.monotonic() - t0 < 20


# -- calls ------------------------------------------------------------------------------------------------
COUNTED = """
import itertools, os, time
import torch
_calls = itertools.count(1)

def {name}(input, target):
    n = next(_calls)
    if n == {n}:
        {action}
    return torch.nn.functional.mse_loss(input, target) * {factor}
"""


@pytest.mark.parametrize("n", [2, 5, 10])
def test_a_hang_on_call_n_is_lc706_never_a_pass(tmp_path, n):
    body = COUNTED.format(name="mse", n=n, action="time.sleep(600)", factor=2.0)  # also wrong by 2x
    result = audit(f"{module(tmp_path, body=body)}:mse", as_="mse", max_examples=5, timeout=1.0)
    assert "LC706" in codes(result) and result.exit_code() == 1


@pytest.mark.parametrize("action, words", [("os._exit(0)", "exit code 0"), ("os._exit(3)", "exit code 3"),
                                           ("os.kill(os.getpid(), 9)", "SIGKILL"),
                                           ("os.close(1); os.close(2); os._exit(0)", "exit code 0")])
def test_a_worker_that_ends_on_call_n_is_lc706_and_the_audit_goes_on(tmp_path, action, words):
    once = tmp_path / "ended-once"  # the fresh worker after the first one must not end again
    action = f"if not os.path.exists({str(once)!r}):\n            open({str(once)!r}, 'w').close(); {action}"
    body = COUNTED.format(name="mse", n=3, action=action, factor=1.0)
    result = audit(f"{module(tmp_path, body=body)}:mse", as_="mse", max_examples=5, timeout=2.0)
    lost = [f for f in result.findings if f.code == "LC706"]
    assert lost and words in lost[0].message
    assert codes(result) == {"LC706"}, [f.message for f in result.findings]  # the later checks ran, and passed
    assert sum(c.status == "pass" for c in result.checks) >= 8


def test_a_meta_result_is_a_finding_not_an_internal_error(tmp_path):
    body = "import torch\ndef mse(input, target):\n    return torch.empty((), device='meta')\n"
    result = audit(f"{module(tmp_path, body=body)}:mse", as_="mse", max_examples=3)
    assert not [c for c in result.checks if c.status == "error"], [c.detail for c in result.checks]
    assert result.exit_code() in (1, 2)
    assert result.unusable or "LC707" in codes(result)


# -- the judge's state, files and streams -----------------------------------------------------------------
def test_patching_the_references_does_not_change_the_verdict(tmp_path):
    prelude = """
    import numpy as np
    import losscheck.references.regression as R
    R.mse = lambda input, target, reduction="mean": 2 * np.mean((input - target) ** 2)
    import losscheck.specs
    for spec in losscheck.specs.SPECS.values():
        object.__setattr__(spec, "reference", R.mse) if spec.id == "mse" else None
    """
    body = MSE.replace("return torch.nn.functional.mse_loss(input, target, reduction=self.reduction)",
                       "return 2 * torch.nn.functional.mse_loss(input, target, reduction=self.reduction)")
    assert body != MSE
    result = audit(f"{module(tmp_path, prelude, body)}:MSE", as_="mse", max_examples=5)
    assert {"LC101", "LC102"} & codes(result), codes(result)


def test_grad_mode_and_dtype_set_at_import_stay_in_the_worker(tmp_path):
    import torch

    prelude = "import torch; torch.set_grad_enabled(False); torch.set_default_dtype(torch.float64)"
    audit(f"{module(tmp_path, prelude)}:MSE", as_="mse", max_examples=3)
    assert torch.is_grad_enabled() and torch.get_default_dtype() == torch.float32
    clean = audit("torch.nn.MSELoss", max_examples=5)
    assert clean.exit_code() == 0, codes(clean)


def test_chdir_print_and_closed_stdout_at_import_do_not_reach_the_reports(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    prelude = f"""
    import os, sys
    print("hello from the candidate")
    open("stray.txt", "w").write("x")  # relative: lands in the worker's own folder, not the user's
    os.chdir({str(elsewhere)!r})
    sys.stdout.close()
    """
    path = module(tmp_path, prelude)
    p = cli(f"{path}:MSE", "--as", "mse", "--max-examples", "3", "--format", "json", "-q", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["target"].endswith(":MSE")  # stdout is the report, nothing else
    p = cli(f"{path}:MSE", "--as", "mse", "--max-examples", "3", "--format", "json", "-o", "r.json", "-q",
            cwd=tmp_path)
    assert p.returncode == 0 and (tmp_path / "r.json").is_file() and not (elsewhere / "r.json").exists()
    assert not (tmp_path / "stray.txt").exists()


def test_a_thread_left_running_does_not_delay_the_exit(tmp_path):
    prelude = "import threading, time\nthreading.Thread(target=time.sleep, args=(600,)).start()"
    t0 = time.monotonic()
    p = cli(f"{module(tmp_path, prelude)}:MSE", "--as", "mse", "--max-examples", "3", "-q", cwd=tmp_path,
            timeout=90)
    assert p.returncode == 1 and "LC708" in p.stdout, p.stderr  # issue 25: the thread left running is a finding
    assert time.monotonic() - t0 < 60


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead
        return f.read().split()[2] != "Z"


def test_a_child_the_candidate_forks_dies_with_the_audit(tmp_path):
    pidfile = tmp_path / "child.pid"
    prelude = f"""
    import os, time
    pid = os.fork()
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    open({str(pidfile)!r}, "w").write(str(pid))
    """
    audit(f"{module(tmp_path, prelude)}:MSE", as_="mse", max_examples=3)
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_the_audit_and_every_process_of_it(tmp_path, sig):
    pidfile = tmp_path / "worker.pid"
    body = f"""
import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)

def mse(input, target):
    open({str(pidfile)!r}, "w").write(str(os.getpid()))
    time.sleep(600)
"""
    proc = subprocess.Popen([sys.executable, "-m", "losscheck", "audit", f"{module(tmp_path, body=body)}:mse",
                             "--as", "mse", "--timeout", "300", "-o", "r.json", "--format", "json"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pidfile.exists()
    proc.send_signal(sig)
    proc.wait(timeout=60)  # 15 s timed out twice under the full suite, beside the inductor tests on the other core
    assert proc.returncode != 0
    worker = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker)
    assert not (tmp_path / "r.json").exists() or json.loads((tmp_path / "r.json").read_text())


# -- many losses: `losscheck ci` and the pytest plugin -----------------------------------------------------
CI_PYPROJECT = """
[tool.losscheck]
max-examples = 3

[[tool.losscheck.loss]]
target = "hostile.nograd:MSE"
as = "mse"

[[tool.losscheck.loss]]
target = "hostile.exits:MSE"
as = "mse"

[[tool.losscheck.loss]]
target = "torch.nn:MSELoss"

[[tool.losscheck.loss]]
target = "torch.nn:L1Loss"
"""


def ci_repo(tmp_path):
    pkg = tmp_path / "hostile"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    module(pkg, "import torch; torch.set_grad_enabled(False)", name="nograd")
    module(pkg, "import os; os._exit(0)", name="exits")
    (tmp_path / "pyproject.toml").write_text(CI_PYPROJECT)
    return tmp_path


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_one_broken_loss_fails_itself_only_under_ci(tmp_path, jobs):
    root = ci_repo(tmp_path)
    p = subprocess.run([sys.executable, "-m", "losscheck", "ci", "-j", jobs], cwd=root, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode != 0, p.stdout + p.stderr
    assert "PASS  torch.nn:MSELoss" in p.stdout and "PASS  torch.nn:L1Loss" in p.stdout, p.stdout
    assert "hostile.exits:MSE" in p.stdout and "exit code 0" in p.stdout
    assert (root / "losscheck-reports" / "summary.md").is_file()


def test_sigterm_to_ci_leaves_no_process(tmp_path):
    pkg = tmp_path / "slow"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    asleep = tmp_path / "asleep"  # each worker leaves a file here once its candidate sleeps in a call
    asleep.mkdir()
    body = (f"import os, time\n\ndef mse(input, target):\n"
            f"    open(os.path.join({str(asleep)!r}, str(os.getpid())), 'w').close()\n    time.sleep(600)\n")
    module(pkg, body=body, name="losses")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.losscheck]\ntimeout = 300\n" + "".join(f'\n[[tool.losscheck.loss]]\ntarget = "slow.losses:mse"\n'
                                                      f'as = "mse"\nname = "slow{i}"\n' for i in range(2)))
    proc = subprocess.Popen([sys.executable, "-m", "losscheck", "ci", "-j", "2"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120  # until the pool and both workers are up, each candidate asleep in a call
    while len(os.listdir(asleep)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    group = _group(proc.pid)
    assert len(group) >= 3, group
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in group) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in group if _alive(p)]


def _group(root_pid: int) -> list[int]:
    """The process and its descendants (from /proc)."""
    children: dict = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def test_the_memory_limit_bounds_the_candidate_not_the_judge(tmp_path):
    body = ("import torch\n\ndef mse(input, target):\n    hog = bytearray(8 << 30)  # 8 GiB\n"
            "    return torch.nn.functional.mse_loss(input, target)\n")
    result = audit(f"{module(tmp_path, body=body)}:mse", as_="mse", max_examples=3, memory_limit=3 << 30)
    assert result.unusable and "MemoryError" in result.unusable
    clean = audit(f"{module(tmp_path, name='fine')}:MSE", as_="mse", max_examples=3, memory_limit=3 << 30)
    assert clean.exit_code() == 0, codes(clean)
