"""The judge's handle on one worker process (losscheck.suspect.worker runs inside it): started by fork before any
candidate code is imported, spoken to over a pipe with a deadline per request, killed with its whole
process group.

A request returns the worker's payload or raises what went wrong, never hangs the judge: what the candidate
raised (CandidateError, under the name of its own type), CallTimeout when no answer comes within the wait
(the worker is killed), WorkerLost when the worker died, exited (with any code, 0 included), closed its pipe
or broke the protocol, with the tail of the candidate's own output. `stop_all` kills every live worker (the
judge told to stop).
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import tempfile

from losscheck.suspect import wire
from losscheck.suspect.calls import CallTimeout
from losscheck.errors import UsageError
from losscheck.suspect.lifeline import how_it_ended

LOG_TAIL = 300  # characters of the candidate's own output quoted when its worker dies


class WorkerLost(Exception):
    """The worker died, exited or broke the protocol during a request."""


class CandidateError(Exception):
    """An exception raised by candidate code in the worker, under the name of its own type."""


def _raised(type_name: str, message: str) -> CandidateError:
    name = "".join(ch for ch in str(type_name) if ch.isalnum() or ch == "_")[:60] or "Exception"
    return type(name, (CandidateError,), {})(message)


class Worker:
    """One worker process: started by fork, spoken to over a pipe, killed with its whole process group."""

    def __init__(self, source, timeout: float, memory_limit: int | None):
        self.source, self.timeout, self.memory_limit = source, timeout, memory_limit
        self.dir = tempfile.mkdtemp(prefix="losscheck-worker-")
        self.log = os.path.join(self.dir, "candidate-output.log")
        self.pid = self.conn = None

    def start(self) -> None:
        from losscheck.suspect import worker

        here, there = multiprocessing.Pipe(duplex=True)
        workdir = tempfile.mkdtemp(dir=self.dir, prefix="cwd-")
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            here.close()
            worker.main(there, self.source, self.timeout, workdir, self.log, self.memory_limit)
        there.close()
        self.pid, self.conn = pid, here
        LIVE.add(self)

    def request(self, *message, wait: float):
        """The payload of the worker's reply; raises what the candidate raised, CallTimeout or WorkerLost."""
        if self.pid is None:
            self.start()
        try:
            self.conn.send_bytes(wire.dumps(message))
        except (OSError, ValueError):
            raise WorkerLost(self._death()) from None
        if not self.conn.poll(wait):
            self.kill()
            raise CallTimeout(f"the call did not return within {wait:g} s and the worker had to be killed")
        try:
            reply = wire.loads(self.conn.recv_bytes())
        except (EOFError, OSError):
            raise WorkerLost(self._death()) from None
        except wire.WireError as e:
            self.kill()
            raise WorkerLost(f"the worker broke the protocol: {e}") from None
        if not isinstance(reply, tuple) or not reply or reply[0] not in ("ok", "error"):
            self.kill()
            raise WorkerLost("the worker broke the protocol: an unexpected reply")
        if reply[0] == "ok":
            return reply[1] if len(reply) > 1 else None
        kind, type_name, text = (tuple(reply[1:]) + ("", "", ""))[:3]
        if kind == "timeout":
            raise CallTimeout(str(text))
        if kind == "usage":
            raise UsageError(str(text))
        raise _raised(type_name, str(text))

    def _death(self) -> str:
        status = self._reap(wait=2.0)
        self.kill()
        said = self._log_tail()
        return (f"the worker running the candidate ended ({how_it_ended(status=status)}): the candidate crashed, exited "
                f"the interpreter or closed its channel" + (f"; its last output: {said}" if said else ""))

    def _log_tail(self) -> str:
        try:
            with open(self.log, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log) - LOG_TAIL))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return " ".join(text.split())[-LOG_TAIL:]

    def _reap(self, wait: float) -> int | None:
        import time

        deadline = time.monotonic() + wait
        while self.pid is not None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if pid:
                return status
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)
        return None

    def kill(self) -> None:
        """Kill the worker, its threads and every process in its group; forget them."""
        if self.pid is None:
            return
        for target in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
            try:
                target()
            except (ProcessLookupError, PermissionError, OSError):
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        try:
            self.conn.close()
        except OSError:
            pass
        self.pid = self.conn = None
        LIVE.discard(self)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


LIVE: set = set()  # workers to kill if the judge is told to stop (see stop_all)


def stop_all() -> None:
    for w in list(LIVE):
        w.kill()
