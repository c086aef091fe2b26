"""Calling candidate code safely: a per-call time limit, every exception caught, warnings recorded.

A call that exceeds the limit is interrupted by SIGALRM (where the platform has it) and the candidate is
marked as hung: later calls fail at once with the same error, so one hang costs one time limit, not one
per example. Exits (SystemExit) and KeyboardInterrupt raised by the candidate are caught like errors.
"""
from __future__ import annotations

import signal
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


class CallTimeout(Exception):
    """A call of the candidate ran past its time limit (here, or in the worker: losscheck.suspect.protocol)."""


@dataclass
class CallResult:
    """What one safe call gave: its value, or the exception it raised (`error`), and the warnings it emitted."""

    value: Any = None
    error: BaseException | None = None
    warnings: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def describe_error(self) -> str:
        e = self.error
        text = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return f"{type(e).__name__}: {text}"[:300] if text else type(e).__name__


class Caller:
    """Runs candidate calls under a time limit; remembers whether the candidate ever hung.

    `hung` is the audit's one record of a hang (losscheck.suspect.protocol, "The hang flag"): only `call` sets
    it, and every later call fails at once with the same error."""

    def __init__(self, timeout: float, *, local: bool = True):
        """`local`: candidate code runs in this process (SIGALRM bounds a call; SystemExit and KeyboardInterrupt
        are the candidate's). Otherwise a worker bounds its own calls, and those two stop the audit."""
        self.timeout, self.local = timeout, local
        self.caught = BaseException if local else Exception
        self.hung: CallTimeout | None = None

    @contextmanager
    def _alarm(self):
        usable = self.local and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        if not usable or not self.timeout:
            yield
            return

        def on_alarm(signum, frame):
            raise CallTimeout(f"the call did not return within {self.timeout:g} s")

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, self.timeout)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def call(self, fn, *args, **kwargs) -> CallResult:
        if self.hung is not None:
            return CallResult(error=self.hung)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with self._alarm():
                    value = fn(*args, **kwargs)
            except CallTimeout as e:
                self.hung = e
                return CallResult(error=e)
            except self.caught as e:  # noqa: BLE001 - candidate code may raise anything, even SystemExit
                return CallResult(error=e, warnings=list(caught))
        return CallResult(value=value, warnings=list(caught))
