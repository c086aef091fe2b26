"""A candidate that crashes its process (segfault, a signal, os._exit) or hangs becomes LC706 naming what
happened; the audit replaces its worker, finishes and reports (issue: isolation)."""
import ctypes
import os
import signal
import time

import pytest

from losscheck import audit


def segfault_on_grad(input, target):
    if input.requires_grad:
        ctypes.string_at(0)  # reads address 0: SIGSEGV
    return ((input - target) ** 2).mean()


def killed_on_grad(input, target):
    if input.requires_grad:
        os.kill(os.getpid(), signal.SIGTERM)
    return ((input - target) ** 2).mean()


def exits_on_grad(input, target):
    if input.requires_grad:
        os._exit(7)
    return ((input - target) ** 2).mean()


def hangs_on_grad(input, target):
    if input.requires_grad:
        time.sleep(600)
    return ((input - target) ** 2).mean()


@pytest.mark.parametrize("candidate, words", [(segfault_on_grad, "SIGSEGV"), (killed_on_grad, "SIGTERM"),
                                              (exits_on_grad, "exit code 7"), (hangs_on_grad, "timed out")])
def test_crash_becomes_lc706_and_the_audit_goes_on(candidate, words):
    result = audit(candidate, as_="mse", max_examples=5, timeout=1.0)
    lost = [f for f in result.findings if f.code == "LC706"]
    assert lost and any(words in f.message for f in lost), [f.message for f in result.findings]
    assert result.exit_code() == 1
    # the checks after the crash still ran in a fresh worker (the value check passed before it)
    by_name = {c.name: c for c in result.checks}
    assert by_name["value.reference"].status == "pass"
    if words != "timed out":
        assert by_name["api.purity"].status == "pass"
