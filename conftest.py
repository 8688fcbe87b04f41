"""Root conftest: hypothesis profiles for this repository's own tests.

Pick one with pytest's ``--hypothesis-profile NAME`` (hypothesis' own option); under CI
(``CI`` set, as in ``.ci/run``) the ``ci`` profile is the default.
"""

from __future__ import annotations

import os

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

if os.environ.get("CI"):
    settings.load_profile("ci")
