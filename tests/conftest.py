"""Hypothesis profiles for the test suite: 'ci' (derandomized, no example database) under CI, 'dev' otherwise;
and the tiers: the `slow` and `ddp` marks (tests/tiers.py says which tests), and under pytest-xdist one
worker for all the tests of a module that share a module-scoped fixture, so that fixture runs once.

The audit engine itself does not use these profiles: it seeds hypothesis explicitly (--seed), so an audit is
deterministic everywhere.
"""
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tiers import DDP_MODULES, SHARED_FIXTURE_MODULES, is_slow

try:
    from xdist.scheduler import LoadScopeScheduling
except ImportError:  # without pytest-xdist the suite runs in one process
    LoadScopeScheduling = None

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_collection_modifyitems(config, items):
    """The `slow` and `ddp` marks, from tests/tiers.py."""
    for item in items:
        function = getattr(item, "originalname", None) or item.name.split("[")[0]
        if is_slow(item.path.name, function):
            item.add_marker(pytest.mark.slow)
        if item.path.name in DDP_MODULES:
            item.add_marker(pytest.mark.ddp)


if LoadScopeScheduling is not None:
    class SharedFixtureScheduling(LoadScopeScheduling):
        """`--dist load`, except that each module of SHARED_FIXTURE_MODULES goes to one worker as a whole."""

        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if Path(module).name in SHARED_FIXTURE_MODULES else nodeid

    def pytest_xdist_make_scheduler(config, log):
        """Under `-n N` (pytest-xdist's default `--dist load`) schedule with SharedFixtureScheduling.

        (`--dist loadgroup` would do it with xdist_group marks, but it does not group on pytest 9.2.)
        """
        return SharedFixtureScheduling(config, log) if config.getvalue("dist") == "load" else None
