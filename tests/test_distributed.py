"""--ddp N: the candidate under torch.distributed (gloo, local CPU processes) with the batch sharded across
ranks, compared with the single-process loss and input gradient (losscheck.ddp, code LC606).

The fixtures below are the losses the check is about: a batch Dice and a cross-entropy whose padding class
is ignored (per-rank means over different numbers of kept targets) fail; the same losses written the way
DDP needs them (sums and counts all-reduced across ranks) pass; candidates that crash, hang or raise on one
rank only become findings without stalling the audit.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
import torch
import torch.nn.functional as F

from losscheck import audit
from losscheck import ddp
from losscheck.judge.engine import pick_spec, run_check
from losscheck.suspect.calls import Caller
from losscheck.suspect.candidate import wrap
from losscheck.checks.ddp import CHECK_NAME, parity
from losscheck.checks.probe import probe
from losscheck.judge.context import Context
from losscheck.judge.state import AuditState
from losscheck.errors import UsageError

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]

pytestmark = pytest.mark.skipif(ddp.unavailable() is not None or not hasattr(os, "fork"),
                                reason=f"torch.distributed/gloo or fork unavailable: {ddp.unavailable()}")


def _initialized() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


# -- fixtures: batch-level losses and their DDP-correct twins --------------------------------------------------

class BatchDice(torch.nn.Module):
    """Soft Dice over the whole batch (segmentation_models_pytorch's default): one ratio per channel."""

    def __init__(self, smooth: float = 1.0):
        super().__init__()
        self.smooth = smooth

    def sums(self, input, target):
        dims = (0, *range(2, input.dim()))
        return (input * target).sum(dims), input.sum(dims) + target.sum(dims)

    def forward(self, input, target):
        inter, card = self.sums(input, target)
        return (1 - (2 * inter + self.smooth) / (card + self.smooth)).mean()


class SyncedBatchDice(BatchDice):
    """The same batch Dice written for DDP: numerator and denominator sums all-reduced (with gradients)."""

    def forward(self, input, target):
        inter, card = self.sums(input, target)
        if _initialized():
            from torch.distributed.nn.functional import all_reduce
            inter, card = all_reduce(inter), all_reduce(card)
        return (1 - (2 * inter + self.smooth) / (card + self.smooth)).mean()


class PaddedCrossEntropy(torch.nn.Module):
    """Cross-entropy where class 0 is padding (ignore_index=0): the mean is over the kept targets only."""

    def __init__(self, ignore_index: int = 0):
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.cross_entropy(input, target, ignore_index=self.ignore_index)


class SyncedPaddedCrossEntropy(PaddedCrossEntropy):
    """The DDP recipe: sum on each rank, all-reduce the count of kept targets, divide by the global count."""

    def forward(self, input, target):
        total = F.cross_entropy(input, target, ignore_index=self.ignore_index, reduction="sum")
        count = (target != self.ignore_index).sum().to(input.dtype)
        if not _initialized():
            return total / count
        torch.distributed.all_reduce(count)
        return total * torch.distributed.get_world_size() / count


# -- fixtures: candidates that misbehave on one rank only --------------------------------------------------------

def _rank() -> int:
    return torch.distributed.get_rank() if _initialized() else -1


class CrashOnRank1(torch.nn.Module):
    def forward(self, input, target):
        if _rank() == 1:
            os._exit(3)
        return F.mse_loss(input, target)


class RaiseOnRank1(torch.nn.Module):
    def forward(self, input, target):
        if _rank() == 1:
            raise RuntimeError("rank 1 refuses")
        return F.mse_loss(input, target)


class SleepOnRank1(torch.nn.Module):
    """Sleeps on rank 1: the per-call time limit (SIGALRM in the rank) interrupts it."""

    def forward(self, input, target):
        if _rank() == 1:
            time.sleep(600)
        return F.mse_loss(input, target)


class HangOnRank1(torch.nn.Module):
    """Blocks SIGALRM, then sleeps: no per-call time limit can interrupt it, only the audit's deadline."""

    def forward(self, input, target):
        if _rank() == 1:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(600)
        return F.mse_loss(input, target)


# -- helpers -------------------------------------------------------------------------------------------------

def run_ddp(obj, as_, world=2, *, init=None, timeout=10.0, max_examples=10, seed=0):
    """Only the device.ddp check, in this process (a full audit runs every other check first)."""
    candidate = wrap(obj, init)
    spec = pick_spec(candidate, as_)
    candidate.prepare(len(spec.signature))
    ctx = Context(candidate, AuditState.begin(spec, candidate), Caller(timeout), seed, max_examples, ddp=world)
    run_check(ctx, probe)  # the layouts and target formats it accepts, as in a full audit
    return run_check(ctx, parity)


_SHARED: dict = {}


def shared_run_ddp(obj, as_, **kwargs):
    """run_ddp(obj, as_, **kwargs), run once in this process for tests that ask for the same check: the check is
    deterministic (the audit seed), and the tests only read its result. (The gloo groups are not shared between
    checks: a check's ranks are forked with its candidate, from the audit's worker process or, here, from this
    one, and die with it; forming and closing a group takes about 0.1 s of a check's 0.3 to 2 s.)"""
    key = (obj, as_, repr(sorted(kwargs.items())))
    if key not in _SHARED:
        _SHARED[key] = run_ddp(obj, as_, **kwargs)
    return _SHARED[key]


def codes(result) -> list[str]:
    return [f.code for f in result.findings]


def ddp_result(result):
    return next(c for c in result.checks if c.name == CHECK_NAME)


# -- decomposable losses pass ----------------------------------------------------------------------------------

def test_mse_passes_under_ddp_2_and_runs_last():
    t0 = time.perf_counter()
    result = audit("torch.nn.MSELoss", ddp=2, max_examples=10)
    check = result.checks[-1]
    assert check.name == "device.ddp" and check.family == "device"
    assert check.status == "pass", check
    assert check.examples >= 5 and "2 gloo ranks" in check.detail and "sum / world size" in check.detail
    assert "LC606" not in codes(result) and result.ok
    assert check.seconds < 10, check.seconds  # forking and forming the group is a fraction of a second
    assert time.perf_counter() - t0 < 60


def test_without_ddp_the_check_does_not_run():
    result = audit("torch.nn.MSELoss", max_examples=3)
    assert CHECK_NAME not in [c.name for c in result.checks]


@pytest.mark.parametrize("obj, as_, init", [
    (torch.nn.CrossEntropyLoss, None, None),       # no ignored target: a mean over every sample decomposes
    (torch.nn.MSELoss, None, {"reduction": "sum"}),  # 'sum' is all-reduced as a sum
    (torch.nn.L1Loss, None, {"reduction": "none"}),  # 'none': per-rank outputs concatenate to the full one
    (SyncedBatchDice, "dice", None),               # batch Dice with the sums all-reduced
    (SyncedPaddedCrossEntropy, "cross_entropy", None),  # sum and count all-reduced separately
], ids=["cross_entropy", "mse-sum", "l1-none", "synced-batch-dice", "synced-padded-ce"])
def test_decomposable_or_synced_losses_pass(obj, as_, init):
    result = shared_run_ddp(obj, as_, init=init)
    assert result.status == "pass", (result.detail, [f.message for f in result.findings])
    assert result.examples >= 5


def test_three_ranks():
    assert run_ddp(torch.nn.MSELoss, None, world=3, max_examples=5).status == "pass"
    result = run_ddp(BatchDice, "dice", world=3, max_examples=5)
    assert codes(result) == ["LC606"] and "over 3 ranks" in result.findings[0].message


# -- batch-level losses are flagged ----------------------------------------------------------------------------

def test_batch_dice_is_flagged_with_advice():
    result = audit(BatchDice, as_="dice", ddp=2, max_examples=10)
    check = ddp_result(result)
    assert check.status == "fail"
    f = next(f for f in result.findings if f.check == "device.ddp")
    assert f.code == "LC606" and f.family == "device" and f.severity == "error"
    assert f.title == "sharded result differs from the single-process result"
    assert "batch Dice" in f.message and "numerator and denominator" in f.message
    assert "sharded over 2 ranks" in f.message and "sum / world size" in f.message
    assert f.data["world_size"] == 2 and f.data["sharded"] != f.data["single_process"]
    assert result.exit_code("error") == 1


def test_cross_entropy_with_ignored_targets_is_flagged():
    result = run_ddp(PaddedCrossEntropy, "cross_entropy")
    assert codes(result) == ["LC606"], result.detail
    message = result.findings[0].message
    assert "'mean' over kept targets is not decomposable" in message
    assert "all-reduce the sum and the count separately" in message.lower()
    assert "keeps" in message  # the kept counts per rank, which differ


@pytest.mark.parametrize("ignore_index", [0, -100])
def test_torch_cross_entropy_with_ignore_index_in_init_is_flagged(ignore_index):
    """--init naming ignore_index says the loss is trained with ignored targets: the audit draws some."""
    result = run_ddp(torch.nn.CrossEntropyLoss, None, init={"ignore_index": ignore_index})
    assert codes(result) == ["LC606"] and "kept targets" in result.findings[0].message
    assert f"ignore_index={ignore_index}" in result.detail


def test_torch_cross_entropy_default_draws_no_ignored_target():
    result = shared_run_ddp(torch.nn.CrossEntropyLoss, None, init=None)  # test_decomposable_..._pass[cross_entropy]
    assert result.status == "pass" and "no target set to ignore_index" in result.detail


def test_reproducer_shows_the_sharded_difference(tmp_path):
    finding = shared_run_ddp(BatchDice, "dice", seed=3).findings[0]  # test_same_seed_same_finding's first run
    script = tmp_path / "repro.py"
    script.write_text(finding.reproducer)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(ROOT)])})
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("single process:"))
    single, sharded = float(line.split()[2]), float(line.split()[4])
    assert abs(single - sharded) > 1e-6, done.stdout
    assert "all_reduce(SUM) / world_size" in finding.reproducer and "tensor_split" in finding.reproducer


def test_same_seed_same_finding():
    a, b = shared_run_ddp(BatchDice, "dice", seed=3), run_ddp(BatchDice, "dice", seed=3)
    assert [f.message for f in a.findings] == [f.message for f in b.findings]
    assert [f.example for f in a.findings] == [f.example for f in b.findings]


# -- robustness: crashes, hangs and rank-specific errors ---------------------------------------------------------

def test_rank_that_dies_is_a_finding():
    t0 = time.perf_counter()
    result = run_ddp(CrashOnRank1, "mse")
    assert codes(result) == ["LC706"], result.detail
    assert "rank 1 ended (exit code 3)" in result.findings[0].message
    assert time.perf_counter() - t0 < 20


def test_rank_that_hangs_beyond_signals_is_a_finding_not_a_hang():
    t0 = time.perf_counter()
    result = run_ddp(HangOnRank1, "mse", timeout=1.0)
    assert codes(result) == ["LC706"], result.detail
    assert "rank 1 did not answer" in result.findings[0].message
    assert time.perf_counter() - t0 < 20


def test_rank_that_exceeds_the_call_time_limit_is_a_finding():
    t0 = time.perf_counter()
    result = run_ddp(SleepOnRank1, "mse", timeout=1.0)
    assert codes(result) == ["LC706"], result.detail
    assert "on rank 1 calling the loss timed out" in result.findings[0].message
    assert time.perf_counter() - t0 < 10


def test_error_on_one_rank_only_is_lc606():
    result = run_ddp(RaiseOnRank1, "mse")
    assert codes(result) == ["LC606"], result.detail
    message = result.findings[0].message
    assert "rank 1" in message and "rank 1 refuses" in message and "specific to torch.distributed" in message


def test_fewer_than_two_ranks_or_no_distributed_is_a_skip(monkeypatch):
    one = run_ddp(torch.nn.MSELoss, None, world=1)
    assert one.status == "skip" and "at least 2 processes" in one.detail
    monkeypatch.setattr(torch.distributed, "is_available", lambda: False)
    none = run_ddp(torch.nn.MSELoss, None)
    assert none.status == "skip" and "no torch.distributed" in none.detail


def test_audit_refuses_one_rank():
    with pytest.raises(UsageError, match="from 2 to 64, not 1"):
        audit("torch.nn.MSELoss", ddp=1)


# -- the command line ------------------------------------------------------------------------------------------

def _cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "losscheck", "audit", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)


def test_cli_ddp_end_to_end(tmp_path):
    out = tmp_path / "audit.json"
    done = _cli(f"{HERE.relative_to(ROOT)}:BatchDice", "--as", "dice", "--ddp", "2", "--max-examples", "5",
                "--format", "json", "-o", str(out), "-q")
    assert done.returncode == 1, done.stderr
    report = json.loads(out.read_text())
    jsonschema.validate(report, json.loads(files("losscheck.report").joinpath("schema.json").read_text()))
    assert "LC606" in [f["code"] for f in report["findings"]]
    check = next(c for c in report["checks"] if c["name"] == "device.ddp")
    assert check["status"] == "fail" and check["findings"] == ["LC606"]


@pytest.mark.parametrize("n", ["1", "-2", "65"])  # 0 is off, as `ddp = 0` in the config (tests/test_cli.py)
def test_cli_refuses_fewer_than_two_processes(n):
    done = _cli("torch.nn.MSELoss", "--ddp", n, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert f"--ddp must be 0 (off) or a number of processes from 2 to 64, not '{n}'" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
