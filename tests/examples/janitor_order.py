"""Each server's janitor lets go of it before the server's fixture stops it.

Run as two test modules (each gets its own module-scoped server) and the default session-scoped
``nats_server``: at each stop, ``stops.txt`` gets the janitor connections the server still had.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from pytest_mistersmith import factories
from pytest_mistersmith.janitor import TopologyState
from simulator.servers import BinaryServer

module_server = factories.nats_server_factory(scope="module")
module_topology = factories.topology_factory("module_server")


def _janitor_connections(server: BinaryServer) -> int:
    with urllib.request.urlopen(f"{server.monitor_url}/connz", timeout=5) as response:
        connz = json.load(response)
    return sum(c.get("name") == "mistersmith-janitor" for c in connz.get("connections") or ())


def _record_at_stop(server: BinaryServer, label: str) -> None:
    """Make ``server.stop`` write down, first, the janitor connections still open on it."""
    stop = server.stop

    def stop_and_record() -> None:
        deadline = time.monotonic() + 2  # a closed connection leaves connz within ms
        while (left := _janitor_connections(server)) and time.monotonic() < deadline:
            time.sleep(0.01)
        with Path("stops.txt").open("a") as out:
            out.write(f"{label} {left}\n")
        stop()

    server.stop = stop_and_record  # type: ignore[method-assign]


def test_module_server(module_server: BinaryServer, module_topology: TopologyState) -> None:
    assert _janitor_connections(module_server) == 1
    _record_at_stop(module_server, f"module {__name__}")


def test_module_server_again(module_topology: TopologyState) -> None:
    assert module_topology.streams


def test_session_server(nats_server: BinaryServer, mistersmith_topology: TopologyState) -> None:
    if __name__.endswith("one"):
        _record_at_stop(nats_server, "session")
