"""The README's session-scoped client recipe: one client for the whole session."""

from __future__ import annotations

from pytest_mistersmith import factories

# A session-scoped async fixture needs a session-scoped event loop: loop_scope="session".
session_client = factories.nats_client_factory("nats_server", scope="session", loop_scope="session")
# Fixtures built on it take its name; they are sync, so any scope up to its own works.
session_jetstream = factories.jetstream_factory("session_client", scope="session")
session_capture = factories.capture_factory("session_client")
