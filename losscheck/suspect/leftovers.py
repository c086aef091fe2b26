"""What the candidate left running: the threads and processes it started and did not end (issue 25).

A loss that starts a thread or forks a process in forward and does not end it leaks one on every training
step; one started at import outlives the training it serves. The worker (losscheck.suspect.worker) takes a
`Leftovers` when it starts serving and asks it after every request: what runs now that did not then. A thread
or process first seen is given GRACE seconds to end by itself (a daemon thread that finishes its small job
just after the call returns is not a leak); what still runs is named with the request it was first seen
after, and the worker reports it instead of the request's reply (protocol.LEFT), so that the judge records a
finding and replaces the worker.

Threads are those of `threading` (native threads of torch's own pools are not the candidate's). Processes are
the worker's descendants and the members of its process group (the worker leads its own), found through
/proc only when the worker has a child at all (os.waitid, which reaps nothing), so a clean call costs two
system calls. A grandchild whose parent ended and which left the group is not seen; it dies with the group's
kill when the worker is replaced, or with the audit (losscheck.suspect.lifeline).
"""
from __future__ import annotations

import os
import threading
import time

GRACE = 0.5  # seconds a thread or process first seen after a request has to end by itself


class Leftovers:
    """The threads and processes of this process that were not running when it was made, and where each was
    first seen."""

    def __init__(self):
        self.threads = set(threading.enumerate())
        self.pid = os.getpid()
        self.processes = set(self._processes())
        self.first_seen: dict = {}  # key -> the request after which it was first seen

    def after(self, request: str) -> list[str]:
        """What runs now that did not at the start, each named with where it was first seen (after `request` for
        what is new, which first has GRACE seconds to end)."""
        running = self._running()
        fresh = [key for key in running if key not in self.first_seen]
        if fresh:
            deadline = time.monotonic() + GRACE
            while fresh and time.monotonic() < deadline:
                time.sleep(0.01)
                running = self._running()
                fresh = [key for key in fresh if key in running]
            self.first_seen.update(dict.fromkeys(fresh, request))
        return [f"{what} (first seen after {self.first_seen[key]})" for key, what in running.items()
                if key in self.first_seen]

    def _running(self) -> dict:
        """key -> a description, for every thread and process that was not running at the start."""
        out = {("thread", t.ident): f"thread {t.name!r}" + (" (daemon)" if t.daemon else "")
               for t in threading.enumerate() if t not in self.threads and t.is_alive()}
        out.update({("process", pid): f"process {pid} ({_command_line(pid)})" for pid in self._processes()
                    if pid not in self.processes})
        return out

    def _processes(self) -> list[int]:
        """The live (not zombie) descendants of this process and members of the group it leads."""
        try:
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return []  # no child at all: nothing to look for
        parents, live, group = {}, set(), set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == self.pid:
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            pid, state, ppid, pgrp = int(entry), fields[0], int(fields[1]), int(fields[2])
            parents[pid] = ppid
            if state != "Z":
                live.add(pid)
            if pgrp == self.pid:
                group.add(pid)

        def descends(pid: int) -> bool:
            for _ in range(64):
                pid = parents.get(pid, 0)
                if pid == self.pid:
                    return True
                if pid <= 1:
                    return False
            return False

        return sorted(pid for pid in live if pid in group or descends(pid))


def _command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            text = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return "its command line unreadable"
    return (text[:100] + "...") if len(text) > 100 else text or "no command line"
