"""Shared fixtures of the project's own tests: servers of their own, made by our factories."""

from __future__ import annotations

from pytest_mistersmith import factories

#: A server for the protocol tests (subjects against a real server), apart from the
#: plugin's default ``nats_server``, whose JetStream state the janitor owns.
raw_server = factories.nats_server_factory()

#: A server for applying topologies by hand (sized for ours: max_payload, limits).
topology_server = factories.nats_server_factory()
