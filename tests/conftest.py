"""Shared test configuration.

Hypothesis profiles: ``ci`` (the default: 50 examples, no deadline),
``dev`` (Hypothesis defaults without a deadline) and ``thorough`` (500
examples). Pick one with ``HYPOTHESIS_PROFILE=thorough pytest``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
