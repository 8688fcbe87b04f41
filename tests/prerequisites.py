"""A missing prerequisite of a test: a skip on a developer's machine, a failure under CI.

CI sets ``CI`` (``.ci/run`` exports it as most CI services do); there, a test that cannot run
is a test that did not pass.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

__all__ = ["missing", "under_ci"]


def under_ci() -> bool:
    """Whether this run is CI's (``CI`` set to anything but empty, ``0`` or ``false``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def missing(what: str, fix: str) -> NoReturn:
    """Skip the test because ``what`` is missing (fail it under CI), saying ``fix``."""
    if under_ci():
        pytest.fail(f"CI={os.environ['CI']} and {what}: {fix}", pytrace=False)
    pytest.skip(f"{what}: {fix}")
