"""The judge's handle on one worker process (losscheck.suspect.worker runs inside it): started before any
candidate code is imported, by fork through its keeper (losscheck.suspect.keeper: the worker's parent, so that
the candidate cannot signal the judge), spoken to directly over a pipe with a deadline per request, killed with
its whole process group and everything left under its keeper.

A request (one of losscheck.suspect.protocol's) returns the value of its reply or raises what went wrong, never
hangs the judge: what the reply stands for (protocol.decode_reply: what the candidate raised as a CandidateError under
the name of its own type, a time limit, an unusable target), CallTimeout when no answer comes within the wait
(the worker is killed), WorkerLost when the worker died, exited (with any code, 0 included), was signalled or
its keeper was (keeper.what_ended says which), closed its pipe or broke the protocol, with the tail of the
candidate's own output. `stop_all` kills every live worker (the judge told to stop).
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import tempfile
import time

from losscheck.suspect import protocol, wire
from losscheck.suspect.calls import CallTimeout
from losscheck.suspect.keeper import News, keep, what_ended
from losscheck.suspect.protocol import WorkerLost
from losscheck.suspect.worker import serve_forked

LOG_TAIL = 300  # characters of the candidate's own output quoted when its worker dies
SWEEP_WAIT = 6.0  # seconds the keeper has to kill what the candidate left and end (keeper.SWEEP_SECONDS, and 1)


class Worker:
    """One worker process: started by fork through its keeper, spoken to over a pipe, killed with its whole
    process group. `pid` is the worker's (None while none runs), `keeper` its parent's."""

    def __init__(self, source, timeout: float, memory_limit: int | None):
        self.source, self.timeout, self.memory_limit = source, timeout, memory_limit
        self.dir = tempfile.mkdtemp(prefix="losscheck-worker-")
        self.log = os.path.join(self.dir, "candidate-output.log")
        self.pid = self.keeper = self.conn = self.news = None

    def start(self) -> None:
        """Fork the keeper, which forks the worker; raises WorkerLost when the keeper does not name it."""
        here, there = multiprocessing.Pipe(duplex=True)
        workdir = tempfile.mkdtemp(dir=self.dir, prefix="cwd-")
        news, says = os.pipe()
        keeper = os.fork()
        if keeper == 0:  # the keeper: never returns
            here.close()
            os.close(news)
            keep(says, there, lambda parent: serve_forked(there, self.source, self.timeout, workdir, self.log,
                                                          self.memory_limit, parent))
        there.close()
        os.close(says)
        self.keeper, self.conn, self.news = keeper, here, News(news)
        LIVE.add(self)
        said = self.news.next(wait=10.0)
        if not said or said[0] != "worker":
            self.kill()
            raise WorkerLost("losscheck's keeper process could not start the worker")
        self.pid = int(said[1])

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
        if self.news.pending():  # the keeper was signalled while the worker answered: its side is over
            raise WorkerLost(self._death())
        try:
            return protocol.decode_reply(reply, request)
        except WorkerLost:
            self.kill()
            raise

    def _death(self) -> str:
        said = self.news.next(wait=2.0)
        status = self._reap_keeper(wait=2.0) if said is None else None  # killed: its own status says how
        self.kill()
        output = self._log_tail()
        return what_ended(said, status) + (f"; its last output: {output}" if output else "")

    def _log_tail(self) -> str:
        try:
            with open(self.log, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log) - LOG_TAIL))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return " ".join(text.split())[-LOG_TAIL:]

    def _reap_keeper(self, wait: float) -> int | None:
        """The keeper's wait status once it has ended (None when it has not within `wait` s); forgets it then."""
        deadline = time.monotonic() + wait
        while self.keeper is not None:
            try:
                pid, status = os.waitpid(self.keeper, os.WNOHANG)
            except ChildProcessError:
                self.keeper = None
                return None
            if pid:
                self.keeper = None
                return status
            if time.monotonic() > deadline:
                return None
            time.sleep(0.005)
        return None

    def kill(self) -> None:
        """Kill the worker, its threads and every process in its group; the keeper then kills what is left under
        it and says so (it is killed when it does not within a few seconds); forget them. A keeper that said so
        is reaped once it has exited, later if need be (its exit costs as much as a fork)."""
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
        if self.keeper is not None:
            with contextlib.suppress(OSError):
                os.kill(self.keeper, signal.SIGTERM)
            deadline = time.monotonic() + SWEEP_WAIT
            while (said := self.news.next(wait=max(0.0, deadline - time.monotonic()))) not in (None, ["swept"]):
                pass
            if said is None:  # it did not sweep in time (or was killed): end it
                with contextlib.suppress(OSError):
                    os.kill(self.keeper, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(self.keeper, 0)
            else:
                EXITING.add(self.keeper)
        _reap_exiting()
        for end in (self.conn, self.news):
            if end is not None:
                with contextlib.suppress(OSError):
                    end.close()
        self.pid = self.keeper = self.conn = self.news = None
        LIVE.discard(self)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


LIVE: set = set()  # workers to kill if the judge is told to stop (see stop_all)
EXITING: set = set()  # keepers that have swept and are exiting, to reap


def _reap_exiting() -> None:
    for pid in list(EXITING):
        try:
            done = os.waitpid(pid, os.WNOHANG)[0]
        except ChildProcessError:
            done = True
        if done:
            EXITING.discard(pid)


def stop_all() -> None:
    for w in list(LIVE):
        w.kill()
