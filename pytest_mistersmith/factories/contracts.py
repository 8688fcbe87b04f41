"""The contract checker fixture factory (imported by the plugin at start-up, so cheap).

``contracts_factory("nats_client")`` returns a fixture giving a
:class:`~pytest_mistersmith.contracts.ContractChecker` bound to that client, to the examples of
``--mistersmith-examples`` (ini ``mistersmith_examples``) and to the test's node id, which keys
its failures in hypothesis' example database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from pytest_mistersmith.config import CONFIG_KEY, NOT_GIVEN, NotGiven, Scope, pick

if TYPE_CHECKING:
    from pytest_mistersmith.contracts import ContractChecker

__all__ = ["contracts_factory"]


def contracts_factory(
    client_fixture_name: str = "nats_client",
    *,
    examples: int | NotGiven | None = NOT_GIVEN,
    scope: Scope = "function",
) -> Callable[..., ContractChecker]:
    """A fixture of a contract checker on the client fixture ``client_fixture_name``.

    ``examples`` (examples per check) overrides ``--mistersmith-examples``.
    """

    # Sync on purpose: it only binds the client, and a sync fixture may resolve an async one.
    @pytest.fixture(scope=scope)
    def contracts_fixture(request: pytest.FixtureRequest) -> ContractChecker:
        from pytest_mistersmith.contracts import ContractChecker

        client = request.getfixturevalue(client_fixture_name)
        configured = request.config.stash[CONFIG_KEY].examples
        return ContractChecker(client, pick(examples, configured), request.node.nodeid)

    return contracts_fixture
