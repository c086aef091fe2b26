"""Auditing many configured losses: what `losscheck ci`, the pytest plugin and the gallery share.

A configured loss (losscheck.gate.config.Loss) is audited from its repository's root, and its audit ends as a
`LossOutcome`: the AuditResult, or the one line saying why the loss could not be audited. `audit_all` audits
several, `jobs` at a time in forked pool processes. Nothing here imports torch at module level: the plugin
imports this module too.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from losscheck.gate.config import Loss
from losscheck.errors import UsageError
from losscheck.findings import SEVERITY_RANK, AuditResult
from losscheck.options import AuditOptions, AuditRequest
from losscheck.suspect.lifeline import die_with_parent


@dataclass
class LossOutcome:
    """The audit of one configured loss: a result, or the one-line reason it could not be audited."""

    loss: Loss
    result: AuditResult | None = None
    error: str | None = None
    fail_on: str = "error"

    @property
    def name(self) -> str:
        return self.loss.name

    def failing(self) -> list:
        return self.result.failing(self.fail_on) if self.result is not None else []

    def below(self) -> list:
        """Findings reported but below fail-on (warnings, info), of codes that do not also fail (a code that is an
        error on one layout and a warning on others is listed once, as failing)."""
        floor = SEVERITY_RANK[self.fail_on]
        failing = {f.code for f in self.failing()}
        return [f for f in self.result.findings
                if SEVERITY_RANK[f.severity] < floor and f.code not in failing] if self.result else []


@contextlib.contextmanager
def working_directory(path: Path):
    """Audit a configured loss from its repository's root: `pkg.mod:Name` imports and relative file targets
    resolve there, wherever the command or the test run was started."""
    previous = os.getcwd()
    os.chdir(path)
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
    try:
        yield
    finally:
        os.chdir(previous)


def audit_one(root, loss: Loss) -> AuditResult:
    """The AuditResult of one configured loss audited from `root`; a UsageError when it cannot be audited."""
    with working_directory(Path(root)):
        return judged(loss.request, loss.options)


def judged(request: AuditRequest, options: AuditOptions) -> AuditResult:
    """The engine's AuditResult for `request` under `options` (losscheck.judge.auditor.audit_request)."""
    from losscheck.judge.auditor import audit_request  # heavy (torch, hypothesis): the plugin loads this module

    return audit_request(request, options)


def audit_loss(root, loss: Loss) -> LossOutcome:
    """Audit one configured loss from `root`; a UsageError becomes the outcome's error, never an exception."""
    try:
        result = audit_one(root, loss)
    except UsageError as e:
        return LossOutcome(loss, error=str(e), fail_on=loss.fail_on)
    return outcome_of(loss, result)


def outcome_of(loss: Loss, result) -> LossOutcome:
    """The outcome of a finished audit: unusable (an error) when the candidate accepted no input at all."""
    if result.unusable:
        return LossOutcome(loss, error=result.unusable, fail_on=loss.fail_on)
    return LossOutcome(loss, result=result, fail_on=loss.fail_on)


def _audit_in_pool(root, loss):
    try:
        return audit_loss(root, loss)
    except Exception as e:  # a defect of losscheck: report it for this loss, keep the others
        return LossOutcome(loss, error=f"internal error: {type(e).__name__}: {e}", fail_on=loss.fail_on)


# the audit engine (torch, hypothesis, the specs and checks) and the report writers a pool process needs
_PRELOADED = ("losscheck.judge.engine", "losscheck.judge.binding", "losscheck.checks", "losscheck.suspect.remote",
              "losscheck.report.html", "losscheck.report.junit", "losscheck.report.markdown", "losscheck.specs")


def _preload() -> None:
    """Import the audit engine once, before forking the pool, so that N pool processes do not each spend
    seconds importing it (the plugin, which loads this module, must not import it at all)."""
    modules = {name: import_module(name) for name in _PRELOADED}
    modules["losscheck.checks"].ordered()
    modules["losscheck.judge.engine"]._warm_fake_tensor_mode()


def _pool_process() -> None:
    """A pool process ends with its parent, and on SIGTERM kills the worker of the audit it is running first."""
    die_with_parent(signal.SIGTERM)

    def stop(signum, frame):
        from losscheck.suspect.supervisor import stop_all  # heavy (torch): the plugin loads this module

        stop_all()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def audit_all(root, losses, jobs: int = 1) -> list[LossOutcome]:
    """Audit `losses` from `root` (in their order), `jobs` at a time in forked pool processes.

    Each audit starts its own worker for the candidate (losscheck.suspect.remote), so no loss's code runs in a pool
    process and nothing it does reaches another loss's verdict. A pool process gets SIGTERM when its parent
    dies: its audit then kills its worker on the way out.
    """
    if jobs <= 1 or len(losses) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [audit_loss(root, loss) for loss in losses]
    _preload()
    with ProcessPoolExecutor(max_workers=min(jobs, len(losses)), mp_context=multiprocessing.get_context("fork"),
                             initializer=_pool_process) as ex:
        futures = [ex.submit(_audit_in_pool, root, loss) for loss in losses]
        outcomes = []
        for loss, future in zip(losses, futures):
            try:
                outcomes.append(future.result())
            except Exception as e:  # the pool process died
                outcomes.append(LossOutcome(loss, error=f"the audit worker failed: {type(e).__name__}: {e}",
                                            fail_on=loss.fail_on))
        return outcomes
