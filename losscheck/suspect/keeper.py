"""The keeper: a small process between the judge and the worker, so that no signal the candidate sends to the
processes it can name reaches the judge (issue 25).

Who is whose parent:

    judge (the audit's process, or a `ci` pool process)        its own session and group, untouched
      └─ keeper      a session and group of its own, a subreaper; gets SIGTERM when the judge dies
           └─ worker  a session and group of its own (losscheck.suspect.worker: the candidate runs here);
                      killed when the keeper dies

Why. A candidate names other processes through its parent (os.getppid()), its own group (os.kill(0, ...),
os.killpg(0, ...)) and its parent's group (os.killpg(os.getpgid(os.getppid()), ...)). With the keeper in
between, each of these is a suspect-side process: the parent is the keeper, the group is the worker's own,
the parent's group is the keeper's own. No suspect process is ever in the judge's group or session, so a
group signal the candidate sends never reaches the judge, and a signal to the judge's group (a CI runner's
SIGTERM, Ctrl-C) is the judge's to obey: whatever SIGTERM reaches the judge's group comes from the judge's
side, which is why the judge needs no sender check of its own (Python's handlers are given no siginfo, and
sigwaitinfo would need SIGTERM blocked in every thread of the judge, torch's included, which a library called
in the user's process must not impose). The one way left to reach the judge is to look its pid up (the
keeper's parent, in /proc) and signal it on purpose; only a PID namespace would hide it, and unprivileged
namespaces are off in many containers and CI runners.

What the keeper does. It blocks every signal it can and takes them one at a time with sigwaitinfo, which
names the sender. SIGCHLD from the worker: the worker ended, and only its parent can read how (its wait
status), so the keeper tells the judge. Any other signal, from the candidate, from anyone, or from the judge
ending the worker, ends the suspect's side: the keeper tells the judge which signal came from whom. Either way
it then kills the worker's group and every process left under it (as a subreaper, it inherits the candidate's
orphans, even those that left the worker's group) and exits. SIGKILL cannot be caught: the worker then dies
with the keeper (PR_SET_PDEATHSIG) and the judge reads the keeper's own status. The judge sees the worker's
pipe close, and the request in flight raises WorkerLost with what the keeper said (the check records LC706).

The judge speaks to the worker directly, over the pipe made before the keeper was forked; the keeper only
watches, so a request costs nothing more and starting a worker costs one more fork.

The keeper's news, one line each on its pipe to the judge: `worker PID` once the worker is forked, then one of
`ended STATUS` (an os.waitpid status) or `signal NUMBER SENDER` (SENDER in words), then `swept` once nothing
is left under it (the judge need not wait for the keeper's own exit, which costs as much as a fork).
"""
from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import time

from losscheck.suspect.lifeline import become_subreaper, die_with_parent, how_it_ended, signal_name

# every signal the keeper takes: all but those it cannot block (SIGKILL, SIGSTOP) and those that are harmless
WATCHED = signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP, signal.SIGCONT, signal.SIGWINCH, signal.SIGURG}
SWEEP_SECONDS = 5.0  # at most this long killing what the candidate left under the keeper


def keep(news: int, conn, serve) -> None:
    """The keeper's body after the judge forked it (never returns): its own session, the worker forked with
    `conn` (the worker's end of the judge's pipe) and run by `serve(keeper_pid)`, then watch, tell the judge on
    the `news` pipe, and clean up."""
    code = 0
    try:
        gc.disable()  # a collection would write to (and so copy) the judge's whole heap, shared since the fork
        judge = os.getppid()
        signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # ignored, it would reap the worker before the keeper can
        os.setsid()
        die_with_parent(signal.SIGTERM, parent=judge)
        become_subreaper()
        me = os.getpid()
        worker = os.fork()
        if worker == 0:
            os.close(news)
            serve(me)  # never returns
        conn.close()
        _tell(news, f"worker {worker}")
        _tell(news, _wait_for_end(worker, judge))
        _sweep(worker)
        _tell(news, "swept")
    except BaseException:  # noqa: BLE001 - the keeper never runs the judge's code after the fork
        code = 70
    finally:
        os._exit(code)


def _wait_for_end(worker: int, judge: int) -> str:
    """Wait for the worker's end or a signal; the news line that says which. Orphans of the candidate that
    came here and ended are reaped on the way."""
    while True:
        info = signal.sigwaitinfo(WATCHED)
        if info.si_signo != signal.SIGCHLD:
            return f"signal {info.si_signo} {_sender(info.si_pid, worker, judge)}"
        with contextlib.suppress(ChildProcessError):
            while True:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == worker:
                    return f"ended {status}"
                if not pid:
                    break


def _sender(pid: int, worker: int, judge: int) -> str:
    if pid == worker:
        return "the candidate"
    if pid == judge:
        return "the audit"
    try:
        with open(f"/proc/{pid}/stat") as f:
            session = int(f.read().rsplit(")", 1)[1].split()[3])
    except (OSError, IndexError, ValueError):
        return f"process {pid}"
    return "a process the candidate started" if session == worker else f"process {pid}"


def _sweep(worker: int) -> None:
    """Kill the worker's group, then every process left under the keeper, until none is left to reap."""
    with contextlib.suppress(OSError):
        os.killpg(worker, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(worker, 0)  # killed, it ends now (unless _wait_for_end reaped it already)
    deadline = time.monotonic() + SWEEP_SECONDS
    while time.monotonic() < deadline:
        _reap_any()
        try:
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return  # no child left
        for pid in _children():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


def _reap_any() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _children() -> list[int]:
    me, out = os.getpid(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return out


def _tell(news: int, line: str) -> None:
    with contextlib.suppress(OSError):
        os.write(news, (line + "\n").encode())


class News:
    """The judge's end of the keeper's pipe: its lines, read with a deadline."""

    def __init__(self, fd: int):
        self.fd, self.buffer = fd, b""

    def next(self, wait: float) -> list[str] | None:
        """The next line split into words, or None when none comes within `wait` s or the keeper is gone."""
        deadline = time.monotonic() + wait
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if self.fd is None or left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            chunk = os.read(self.fd, 4096)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode("utf-8", "replace").split(" ", 2)

    def pending(self) -> bool:
        """Whether the keeper has said something more, or ended, by now (it never does while the worker serves)."""
        return b"\n" in self.buffer or (self.fd is not None and bool(select.select([self.fd], [], [], 0)[0]))

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


def what_ended(news: list[str] | None, keeper_status: int | None) -> str:
    """How the suspect's side ended, in words, from the keeper's last line (None: it said nothing) or, when it
    said nothing, its own wait status."""
    if news and news[0] == "ended":
        return (f"the worker running the candidate ended ({how_it_ended(status=int(news[1]))}): the candidate "
                "crashed, exited the interpreter, closed its channel or was signalled")
    if news and news[0] == "signal":
        return (f"{news[2]} sent {signal_name(int(news[1]))} to the worker's parent (losscheck's keeper process, "
                "not the audit), which ended the worker")
    return (f"losscheck's keeper process, the worker's parent, ended ({how_it_ended(status=keeper_status)}) and "
            "the worker with it: a signal to the candidate's parent process")
