"""Processes that must not outlive the audit, and how to say how one ended.

`die_with_parent` asks Linux to signal this process when its parent dies (prctl PR_SET_PDEATHSIG), so a
worker, its keeper, a rank or a pool process never outlives the audit that started it, however the audit ends.
`become_subreaper` makes the processes orphaned below this one its children instead of init's
(PR_SET_CHILD_SUBREAPER), so that the keeper (losscheck.suspect.keeper) can kill what the candidate left.
`how_it_ended` names a wait status or a multiprocessing exit code: 'exit code 3', 'killed by SIGSEGV, a
native crash'.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
HINTS = {"SIGSEGV": ", a native crash", "SIGKILL": ", possibly out of memory", "SIGABRT": ", an abort"}


def die_with_parent(sig: int = signal.SIGKILL, parent: int | None = None) -> None:
    """Get `sig` when the parent dies; with `parent` (its pid before the fork), exit at once if it already has."""
    _prctl(PR_SET_PDEATHSIG, int(sig))
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def become_subreaper() -> None:
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


def _prctl(option: int, value: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(option, value)
        except (OSError, AttributeError):
            pass


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def how_it_ended(*, status: int | None = None, exitcode: int | None = None) -> str:
    """From an os.waitpid `status`, or a multiprocessing `exitcode` (negative: the signal that killed it)."""
    if status is not None:
        if os.WIFSIGNALED(status):
            exitcode = -os.WTERMSIG(status)
        elif os.WIFEXITED(status):
            exitcode = os.WEXITSTATUS(status)
    if exitcode is None:
        return "no exit status"
    if exitcode >= 0:
        return f"exit code {exitcode}"
    name = signal_name(-exitcode)
    return f"killed by {name}{HINTS.get(name, '')}"
