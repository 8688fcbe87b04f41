"""Records what the session's ``nats_server`` is, in ``probe.json`` beside the ini file."""

from __future__ import annotations

import json
from typing import Any

import pytest
from nats.aio.client import Client


@pytest.mark.asyncio
async def test_probe(nats_server: Any, nats_client: Client, pytestconfig: pytest.Config) -> None:
    await nats_client.flush()  # the server has logged this connection
    facts: dict[str, Any] = {
        "type": type(nats_server).__name__,
        "client_url": nats_server.client_url,
        "version": nats_server.version,
    }
    if hasattr(nats_server, "info"):  # ExternalServer
        facts["server_id"] = nats_server.info["server_id"]
    else:  # BinaryServer
        facts["temp_dir"] = str(nats_server.temp_dir)
        facts["binary"] = str(nats_server.binary.path)
        facts["conf"] = nats_server.conf_path.read_text()
        facts["log"] = nats_server.log_path.read_text()
    (pytestconfig.rootpath / "probe.json").write_text(json.dumps(facts))
