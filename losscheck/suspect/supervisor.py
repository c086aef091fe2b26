"""The judge's handle on one worker process (losscheck.suspect.worker runs inside it): started by fork before any
candidate code is imported, spoken to over a pipe with a deadline per request, killed with its whole
process group.

A request (one of losscheck.suspect.protocol's) returns the value of its reply or raises what went wrong, never
hangs the judge: what the reply stands for (protocol.decode_reply: what the candidate raised as a CandidateError under
the name of its own type, a time limit, an unusable target), CallTimeout when no answer comes within the wait
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
import time

from losscheck.suspect import protocol, wire
from losscheck.suspect.calls import CallTimeout
from losscheck.suspect.lifeline import how_it_ended
from losscheck.suspect.protocol import WorkerLost
from losscheck.suspect.worker import serve_forked

LOG_TAIL = 300  # characters of the candidate's own output quoted when its worker dies


class Worker:
    """One worker process: started by fork, spoken to over a pipe, killed with its whole process group."""

    def __init__(self, source, timeout: float, memory_limit: int | None):
        self.source, self.timeout, self.memory_limit = source, timeout, memory_limit
        self.dir = tempfile.mkdtemp(prefix="losscheck-worker-")
        self.log = os.path.join(self.dir, "candidate-output.log")
        self.pid = self.conn = None

    def start(self) -> None:
        here, there = multiprocessing.Pipe(duplex=True)
        workdir = tempfile.mkdtemp(dir=self.dir, prefix="cwd-")
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            here.close()
            serve_forked(there, self.source, self.timeout, workdir, self.log, self.memory_limit)
        there.close()
        self.pid, self.conn = pid, here
        LIVE.add(self)

    def request(self, request, wait: float):
        """The value of the worker's reply to `request` (a protocol request); raises what the reply stands for
        (protocol.decode_reply), CallTimeout when none comes within `wait`, WorkerLost when the worker ended or broke
        the protocol (it is killed then)."""
        if self.pid is None:
            self.start()
        try:
            self.conn.send_bytes(wire.dumps(request))
        except (OSError, ValueError):
            raise WorkerLost(self._death()) from None
        if not self.conn.poll(wait):
            self.kill()
            raise CallTimeout(f"the call did not return within {wait:g} s and the worker had to be killed")
        try:
            reply = wire.loads(self.conn.recv_bytes(), classes=protocol.REPLY_TYPES)
        except (EOFError, OSError):
            raise WorkerLost(self._death()) from None
        except wire.WireError as e:
            self.kill()
            raise WorkerLost(f"the worker broke the protocol: {e}") from None
        try:
            return protocol.decode_reply(reply, request)
        except WorkerLost:
            self.kill()
            raise

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
