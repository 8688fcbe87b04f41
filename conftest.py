"""Root conftest: hypothesis profiles for this repository's own tests.

Pick one with pytest's ``--hypothesis-profile NAME`` (hypothesis' own option); ``.ci/run`` and
tox use ``ci``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=50)
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=2000, deadline=None)
