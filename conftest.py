"""Root conftest: hypothesis profiles for this repository's own tests, and CI's strictness.

Pick a profile with pytest's ``--hypothesis-profile NAME`` (hypothesis' own option); under CI
(``CI`` set, as ``.ci/run`` does) the ``ci`` profile is the default, and a missing
prerequisite fails instead of skipping: Docker as with ``--nats-require-docker``, the others
through :func:`tests.prerequisites.missing`.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, settings

from pytest_mistersmith.config import CONFIG_KEY
from tests.prerequisites import under_ci

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

if under_ci():
    settings.load_profile("ci")


def pytest_configure(config: pytest.Config) -> None:
    """Under CI, tests marked docker fail where no engine answers (after the plugin's own)."""
    if under_ci() and CONFIG_KEY in config.stash:
        options = config.stash[CONFIG_KEY]
        config.stash[CONFIG_KEY] = dataclasses.replace(options, require_docker=True)
