"""Hypothesis profiles for the test suite: 'ci' (derandomized, no example database) under CI, 'dev' otherwise.

The audit engine itself does not use these profiles: it seeds hypothesis explicitly (--seed), so an audit is
deterministic everywhere.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
