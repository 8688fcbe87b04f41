"""What the plugin adds to a failing test's report: a hint on a missing stream."""

from __future__ import annotations

import sys

import pytest

from pytest_mistersmith.factories.topology import TOPOLOGY_USED_KEY

__all__ = ["AUTOUSE_FOR", "missing_stream_hint"]

#: The default fixtures that put a test on the session's server (the autouse topology's cue).
AUTOUSE_FOR = frozenset(
    {"nats_server", "nats_client", "jetstream", "nats_capture", "mistersmith_contracts", "swarm"}
)

# JetStream's "stream not found" and "consumer not found" (nats.js.errors.NotFoundError).
_NOT_FOUND_CODES = {10059: "stream", 10014: "consumer"}


def _missing(excinfo: pytest.ExceptionInfo[BaseException]) -> str | None:
    errors = sys.modules.get("nats.js.errors")
    if errors is None:  # nats-py never loaded: no JetStream call failed
        return None
    seen: set[int] = set()
    exc: BaseException | None = excinfo.value
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, errors.NoStreamResponseError):
            return "no stream stores the subject published to (NoStreamResponseError)"
        if isinstance(exc, errors.NotFoundError) and exc.err_code in _NOT_FOUND_CODES:
            return f"the {_NOT_FOUND_CODES[exc.err_code]} was not found ({exc.description})"
        exc = exc.__cause__ or exc.__context__
    return None


def missing_stream_hint(item: pytest.Item, call: pytest.CallInfo[None]) -> str | None:
    """Which fixture to add, when the test failed on a missing stream and used no topology."""
    if call.excinfo is None or item.stash.get(TOPOLOGY_USED_KEY, False):
        return None
    what = _missing(call.excinfo)
    if what is None:
        return None
    return (
        f"{what}: this test did not use the mistersmith_topology fixture, so the streams and "
        "consumers are whatever earlier tests left (it may pass after one that used it and "
        "fail alone). Fix: add mistersmith_topology to the test's arguments, or set the ini "
        "key mistersmith_autouse_topology = true (--mistersmith-autouse-topology)."
    )
