"""Shared helpers for test_checks.py and test_reproducers.py (not a conftest: tests/conftest.py is owned
elsewhere). Their fixtures are the corpus's "pitfalls" table (losscheck/examples/, `suite="pitfalls"`).

Audits are slow (a forked worker per audit, ~2-5 s each), so every (fixture, catalogue id, options) audit
runs once per pytest process and is cached here; both test modules read the same cache.
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `tests.fixtures.*` must import the same way in reproducers
    sys.path.insert(0, str(ROOT))

from losscheck import audit  # noqa: E402
from losscheck.examples.registry import find  # noqa: E402

SUITE = "pitfalls"
SEED = 0
MAX_EXAMPLES = 15
DEFAULT_TIMEOUT = 10.0
# Fixtures that never return: a short per-call limit keeps the suite fast.
TIMEOUTS = {"ConvergingMSE": 1.0}


def fixture(name: str):
    """The corpus record of the pitfall fixture `name` (losscheck.examples.registry.Example)."""
    return find(name, SUITE)


def target(name: str) -> str:
    """The audit target string for a fixture, e.g. 'losscheck.examples.regression:DirectLogCosh'."""
    return fixture(name).target


@functools.lru_cache(maxsize=None)
def audited(name: str, as_: str, select: tuple = (), ignore: tuple = ()):
    """The (cached) audit of fixture `name` as catalogue id `as_`, seed 0, 15 examples per check; with the opt-in
    precision family when the fixture is one of its defects (an LC8 code), the compile family for an LC9 code."""
    return audit(target(name), as_=as_, seed=SEED, max_examples=MAX_EXAMPLES,
                 timeout=TIMEOUTS.get(name, DEFAULT_TIMEOUT), select=select, ignore=ignore,
                 **fixture(name).opt_in)


def fresh_audit(name: str, as_: str, **kwargs):
    """An uncached audit with the suite's settings (kwargs override them)."""
    options = dict(as_=as_, seed=SEED, max_examples=MAX_EXAMPLES, timeout=TIMEOUTS.get(name, DEFAULT_TIMEOUT))
    options.update(kwargs)
    return audit(target(name), **options)


def codes(result) -> list[str]:
    return [f.code for f in result.findings]


def summary(result) -> str:
    """Findings and unusual check statuses, for assertion messages."""
    lines = [f"{f.code} {f.severity} {f.check}: {f.message[:200]}" for f in result.findings]
    lines += [f"[{c.status}] {c.name}: {c.detail[:200]}" for c in result.checks if c.status == "error"]
    return "\n".join(lines) or "(no findings)"


__all__ = ["ROOT", "SUITE", "audited", "codes", "fixture", "fresh_audit", "summary", "target"]
