"""The ``mistersmith-ci`` hypothesis profile (private to pytest_mistersmith: the hypothesis entry
point registers it, :mod:`pytest_mistersmith.contracts` names it).

Registered when hypothesis is imported, through ``_hypothesis_entry``, so that it exists before
hypothesis' pytest plugin loads ``--hypothesis-profile mistersmith-ci``, in whatever order pytest
configures its plugins, and outside pytest too (``settings.load_profile("mistersmith-ci")``).
Imports hypothesis only.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

__all__ = ["CI_PROFILE", "register_profile"]

CI_PROFILE = "mistersmith-ci"
"""The hypothesis profile for CI: ``pytest --hypothesis-profile mistersmith-ci``."""


def register_profile() -> None:
    """Register :data:`CI_PROFILE`: reproducible (derandomized), blobs printed, no deadline.

    50 examples per test and per contract check (``--mistersmith-examples`` overrides it for
    contract checks); no example database, since derandomized runs replay by themselves.
    """
    settings.register_profile(
        CI_PROFILE,
        max_examples=50,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
