"""Hypothesis profiles for the test suite: 'ci' (derandomized, no example database) under CI, 'dev' otherwise;
and the tiers: the `slow` and `ddp` marks (tests/tiers.py says which tests), and under pytest-xdist one
worker for all the tests of a module that share a module-scoped fixture, so it runs once (`--dist loadgroup`).

The audit engine itself does not use these profiles: it seeds hypothesis explicitly (--seed), so an audit is
deterministic everywhere.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

from tiers import DDP_MODULES, is_slow

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def _module_fixture(item) -> bool:
    """Whether `item` uses a module-scoped fixture of its own test module (a cold start worth sharing)."""
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info else ()):
        if defs and defs[-1].scope == "module" and defs[-1].baseid.endswith(item.path.name):
            return True
    return False


def pytest_collection_modifyitems(config, items):
    for item in items:
        function = getattr(item, "originalname", None) or item.name.split("[")[0]
        if is_slow(item.path.name, function):
            item.add_marker(pytest.mark.slow)
        if item.path.name in DDP_MODULES:
            item.add_marker(pytest.mark.ddp)
        if _module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
