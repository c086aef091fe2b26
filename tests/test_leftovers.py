"""What a candidate leaves running is a finding (issue 25): a thread or process it starts in a call or at import
and does not end is LC708 naming it, and its worker is replaced; a daemon thread that ends by itself is nothing.

Each candidate is a correct MSE written to a temporary folder with one leak added, audited by file path."""
import os
import textwrap
import time

import pytest

from losscheck import audit
from losscheck.suspect import protocol
from losscheck.suspect.leftovers import Leftovers

FORWARD = """
import os, threading, time
import torch

{prelude}

class MSE(torch.nn.Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
{leak}
        return torch.nn.functional.mse_loss(input, target, reduction=self.reduction)
"""

SLEEPER = "threading.Thread(target=time.sleep, args=(600,), name='{name}', daemon={daemon}).start()"
FORK = "if os.fork() == 0:\n    time.sleep(600)\n    os._exit(0)"


def _audit(tmp_path, prelude="", leak="pass"):
    path = tmp_path / "cand.py"
    path.write_text(FORWARD.format(prelude=prelude, leak=textwrap.indent(leak, " " * 8)))
    return audit(f"{path}:MSE", as_="mse", max_examples=3)


def _left(result) -> list:
    return [f for f in result.findings if f.code == "LC708"]


def test_a_thread_left_running_by_forward_is_lc708_naming_it(tmp_path):
    result = _audit(tmp_path, leak=SLEEPER.format(name="uploader", daemon=False))
    left = _left(result)
    assert left and result.exit_code() == 1, [f.message for f in result.findings]
    assert "thread 'uploader'" in left[0].message and "first seen after call" in left[0].message
    assert left[0].severity == "error"


def test_a_thread_started_at_import_is_lc708(tmp_path):
    result = _audit(tmp_path, prelude=SLEEPER.format(name="poller", daemon=True))
    left = _left(result)
    assert left and result.exit_code() == 1, [f.message for f in result.findings]
    assert "thread 'poller' (daemon) (first seen after import)" in left[0].message


def test_a_child_process_left_running_is_lc708_naming_it(tmp_path):
    result = _audit(tmp_path, leak=FORK)
    left = _left(result)
    assert left and result.exit_code() == 1, [f.message for f in result.findings]
    assert "process " in left[0].message and "first seen after call" in left[0].message


def test_a_daemon_thread_that_ends_within_the_call_is_no_finding(tmp_path):
    leak = "threading.Thread(target=time.sleep, args=(0.05,), daemon=True).start()"
    result = _audit(tmp_path, leak=leak)
    assert not result.findings and result.exit_code() == 0, [f.message for f in result.findings]


@pytest.mark.parametrize("start, expected", [
    (lambda: None, []),
    (lambda: __import__("threading").Thread(target=time.sleep, args=(0.05,)).start(), []),
    (lambda: __import__("threading").Thread(target=time.sleep, args=(3,), name="slow").start(),
     ["thread 'slow' (first seen after call)"]),
])
def test_leftovers_wait_a_grace_then_name_what_runs(start, expected):
    leftovers = Leftovers()
    start()
    assert leftovers.after("call") == expected
    assert leftovers.after("seed") == expected  # still first seen after the call


def test_a_child_is_named_by_its_command_line():
    leftovers = Leftovers()
    pid = os.fork()
    if pid == 0:
        time.sleep(3)
        os._exit(0)
    try:
        (left,) = leftovers.after("call")
        assert left.startswith(f"process {pid} (") and "first seen after call" in left
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert leftovers.after("seed") == []


def test_a_left_reply_is_a_lost_worker_that_names_what_runs():
    with pytest.raises(protocol.WorkerLost, match="thread 'uploader'") as raised:
        protocol.decode_reply(protocol.Failed(protocol.LEFT, "LeftRunning", "thread 'uploader'"), protocol.Seed(0))
    assert isinstance(raised.value, protocol.LeftRunning)
