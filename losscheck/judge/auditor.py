"""audit() and audit_request(): the door every front end audits through (the CLI, `ci`, the pytest plugin, the
gallery, Python callers), cheap to import: the engine (losscheck.judge.engine, torch and the checks) loads on the
first audit, so the plugin collects without torch.
"""
from __future__ import annotations

from losscheck.findings import AuditResult
from losscheck.options import AuditOptions, AuditRequest


def audit(target, *, as_: str | None = None, init: dict | None = None, conventions: dict | None = None,
          layouts=(), progress=None, start_timeout: float | None = None, **options) -> AuditResult:
    """Audit `target` (a target string, or a class, function or instance) and return an AuditResult: the
    keyword form of `audit_request`, for Python callers.

    `as_`, `init`, `conventions` and `layouts` are the AuditRequest's (`layouts`: layouts the user relies on,
    `--layout`, each one then graded as required). `options` are the fields of losscheck.options.AuditOptions,
    checked there as the CLI's are: `seed`, `max_examples`, `timeout` (seconds per call), `select`, `ignore`,
    `isolate`, `ddp`, `memory_limit` (the worker's address-space limit in bytes, 0 for none; default a share of
    physical memory). With `ddp` >= 2 the device.ddp check (losscheck.checks.ddp) runs last: the candidate
    under torch.distributed with the batch sharded across that many local gloo processes. `progress` and
    `start_timeout` are audit_request's.
    """
    return audit_request(AuditRequest(target, as_, init, conventions, layouts), AuditOptions(**options),
                         progress=progress, start_timeout=start_timeout)


def audit_request(request: AuditRequest, options: AuditOptions, *, progress=None,
                  start_timeout: float | None = None) -> AuditResult:
    """Audit what `request` names under `options`: the engine every front end calls.

    `progress(check, k, n)` is told each check as it starts; `start_timeout` bounds importing and constructing
    the candidate (default losscheck.judge.engine.START_TIMEOUT, at least 6 x `options.timeout`).
    """
    from losscheck.judge.engine import run_audit  # heavy (torch, hypothesis, the checks): loaded by the first audit

    return run_audit(request, options, progress=progress, start_timeout=start_timeout)
