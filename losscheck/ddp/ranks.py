"""The rank processes of device.ddp: N local CPU processes in one gloo group on 127.0.0.1, kept for the whole
check. Rank 0 hosts the TCPStore on a free port (port 0) and the others learn it through the audit, so there
is no port race. Ranks are forked from the audit worker where fork exists (spawned otherwise), die with
their parent, and are waited for with deadlines: a rank that dies or does not answer is a RankFailure.
"""
from __future__ import annotations

import contextlib
import datetime
import os
import re
import signal
import socket
import sys
import time

from losscheck.ddp.step import step
from losscheck.suspect.calls import Caller
from losscheck.suspect.candidate import resolve
from losscheck.suspect.lifeline import die_with_parent, how_it_ended

START_METHOD = None   # "fork" or "spawn"; None: fork where the platform has it (tests may override)
STARTUP_SECONDS = 45.0  # forming the group (spawned ranks import torch first); under the worker's 60 s


def unavailable() -> str | None:
    """Why torch.distributed with gloo cannot run here, or None."""
    try:
        import torch.distributed as dist
    except ImportError as e:  # pragma: no cover - torch always ships it on the supported platforms
        return f"torch.distributed cannot be imported ({e})"
    if not dist.is_available():
        return "this torch build has no torch.distributed"
    if not dist.is_gloo_available():
        return "this torch build has no gloo backend"
    return None


class RankFailure(Exception):
    """A rank died or did not answer in time; the message says which and how."""


def _loopback() -> str | None:
    with contextlib.suppress(Exception):
        names = [name for _, name in socket.if_nameindex()]
        return next((n for n in ("lo", "lo0") if n in names), None)
    return None


def _rank_main(rank, world, conn, payload, timeout, pg_timeout):
    """One rank: form the group, then answer ("step", ...) messages until ("stop",) or EOF."""
    die_with_parent()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        import torch
        import torch.distributed as dist

        torch.set_num_threads(1)
        if isinstance(payload, tuple):  # spawned: import the candidate again
            payload = resolve(payload[1], payload[2])
        candidate, caller = payload, Caller(timeout)
        if "GLOO_SOCKET_IFNAME" not in os.environ and _loopback():
            os.environ["GLOO_SOCKET_IFNAME"] = _loopback()
        td = datetime.timedelta(seconds=pg_timeout)
        if rank == 0:
            store = dist.TCPStore("127.0.0.1", 0, world, True, timeout=td, wait_for_workers=False)
            port = store.port
            conn.send(("port", port))
        else:
            port = conn.recv()
            store = dist.TCPStore("127.0.0.1", port, world, False, timeout=td)
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                          LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world))
        dist.init_process_group("gloo", store=store, rank=rank, world_size=world, timeout=td)
    except BaseException as e:  # noqa: BLE001
        with contextlib.suppress(Exception):
            conn.send(("fatal", f"{type(e).__name__}: {e}"))
        os._exit(1)
    conn.send(("ready",))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            break
        if msg[0] != "step":
            break
        try:
            reply = step(rank, world, candidate, caller, *msg[1:])
        except BaseException as e:  # noqa: BLE001 - a collective failed: the group is unusable
            text = re.sub(r"^\[[^\]]*\]\s*", "", " ".join(str(e).split()))  # gloo's "[file.cc:78] " prefix
            reply = ("fatal", f"{type(e).__name__}: {text[:300]}")
        try:
            conn.send(reply)
        except (EOFError, OSError):
            break
        if reply[0] == "fatal":
            break
    with contextlib.suppress(BaseException):
        dist.destroy_process_group()
    os._exit(0)


class _Forked:
    """A forked rank with the Process methods Ranks uses (multiprocessing refuses children of the daemonic
    audit worker, and a forked rank needs nothing pickled)."""

    def __init__(self, target, args, keep):
        self.exitcode = None
        self.pid = os.fork()
        if self.pid == 0:  # the rank
            try:
                for conn in keep:  # the other ranks' pipe ends: their EOF must reach the audit when they die
                    conn.close()
                target(*args)
            finally:
                os._exit(1)

    def _reap(self, flags) -> None:
        if self.exitcode is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self.pid, flags)
                if pid:
                    self.exitcode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)

    def is_alive(self) -> bool:
        self._reap(os.WNOHANG)
        return self.exitcode is None

    def join(self, timeout=None) -> None:
        end = time.monotonic() + (timeout or 0.0)
        while self.is_alive() and time.monotonic() < end:
            time.sleep(0.01)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


class Ranks:
    """N rank processes in one gloo group, kept for the whole check."""

    def __init__(self, candidate, world: int, timeout: float):
        import multiprocessing as mp

        self.world, self.timeout = world, timeout
        self.method = START_METHOD or ("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self.step_seconds = 2 * timeout + 5.0
        self.conns, self.procs = [], []
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            for rank in range(world):
                parent, child = mp.Pipe()
                args = (rank, world, child, candidate.for_ranks(), timeout, timeout + 3.0)
                if self.method == "fork":
                    proc = _Forked(_rank_main, args, keep=[*self.conns, parent])
                else:
                    import torch.multiprocessing as tmp
                    args = (*args[:3], ("resolve", candidate.target, dict(candidate.init)), *args[4:])
                    proc = tmp.get_context(self.method).Process(target=_rank_main, args=args,
                                                                name=f"losscheck-rank{rank}")
                    proc.start()
                child.close()
                self.conns.append(parent)
                self.procs.append(proc)
            deadline = time.monotonic() + STARTUP_SECONDS
            first = self._collect([0], deadline, "forming the process group", STARTUP_SECONDS)[0]
            if first[0] != "port":
                raise RankFailure(f"rank 0 could not host the store: {first[-1]}")
            for conn in self.conns[1:]:
                conn.send(first[1])
            replies = self._collect(range(world), deadline, "forming the process group", STARTUP_SECONDS)
            for rank, reply in enumerate(replies):
                if reply[0] != "ready":
                    raise RankFailure(f"rank {rank} could not join the gloo group: {reply[-1]}")
        except BaseException:
            self.close()
            raise

    def _collect(self, ranks, deadline, doing, seconds):
        """One reply from each of `ranks`; RankFailure when one dies, or when some stay silent past the deadline.

        A rank whose collective failed (it answers "fatal") usually waits for a peer that hangs or died: the
        others get one more second, then the silent ones are named.
        """
        from multiprocessing.connection import wait

        ranks = list(ranks)
        replies, dead, pending, cut = {}, [], set(ranks), False
        while pending:
            for rank in sorted(pending):
                conn, proc = self.conns[rank], self.procs[rank]
                if conn.poll(0):
                    try:
                        replies[rank] = conn.recv()
                        if replies[rank][0] == "fatal" and time.monotonic() + 1.0 < deadline:
                            deadline, cut = time.monotonic() + 1.0, True
                    except (EOFError, OSError):
                        dead.append(self._death(rank, doing))
                    pending.discard(rank)
                elif not proc.is_alive() and not conn.poll(0):
                    dead.append(self._death(rank, doing))
                    pending.discard(rank)
            if dead:
                raise RankFailure("; ".join(dead))
            if pending and time.monotonic() > deadline:
                silent = sorted(pending)
                within = "" if cut else f" within {seconds:g} s"
                fatal = [f"rank {r} gave up waiting: {replies[r][1]}" for r in ranks if r in replies and
                         replies[r][0] == "fatal"]
                raise RankFailure("; ".join([f"rank{'s' * (len(silent) > 1)} {', '.join(map(str, silent))} did not answer"
                                       f"{within} while {doing} (a call that no signal interrupts, or a collective "
                                       "that not every rank reaches)", *fatal]))
            if pending:
                wait([self.conns[r] for r in pending], timeout=0.05)
        fatal = [f"rank {r} failed while {doing}: {replies[r][1]}" for r in ranks if replies[r][0] == "fatal"]
        if fatal:
            raise RankFailure("; ".join(fatal))
        return [replies[r] for r in ranks]

    def _death(self, rank, doing) -> str:
        proc = self.procs[rank]
        proc.join(1.0)
        code = proc.exitcode
        how = "closed its connection" if code is None else f"ended ({how_it_ended(exitcode=code)})"
        return f"rank {rank} {how} while {doing}"

    def step(self, shards, grad_args, kwargs, kind, seed, chunked=None):
        for rank, conn in enumerate(self.conns):
            try:
                conn.send(("step", shards[rank], tuple(grad_args), kwargs, kind, seed, chunked))
            except (OSError, EOFError):
                raise RankFailure(self._death(rank, "receiving its shard")) from None
        deadline = time.monotonic() + self.step_seconds
        return self._collect(range(self.world), deadline, "computing the loss on its shard", self.step_seconds)

    def close(self, grace: float = 2.0):
        """Stop the ranks: ask, wait up to `grace` seconds, then kill."""
        for conn in self.conns:
            with contextlib.suppress(Exception):
                conn.send(("stop",))
        end = time.monotonic() + grace
        for proc in self.procs:
            proc.join(max(0.0, end - time.monotonic()))
        for proc in self.procs:
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)
        for conn in self.conns:
            with contextlib.suppress(Exception):
                conn.close()
        self.conns, self.procs = [], []
