"""Starts the session's server, says where it is, then blocks until the runner kills pytest.

The runner sets MISTERSMITH_ORPHAN_DIR; ``server.json`` appears there once the server runs.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

BLOCK_FOR = 120.0  # seconds; the runner kills us long before


def test_block_with_a_server(nats_server: Any) -> None:
    out = Path(os.environ["MISTERSMITH_ORPHAN_DIR"])
    facts = {"pid": nats_server.pid, "temp_dir": str(nats_server.temp_dir)}
    scratch = out / "server.json.tmp"
    scratch.write_text(json.dumps(facts))
    scratch.replace(out / "server.json")  # atomic: the runner never reads half a file
    deadline = time.monotonic() + BLOCK_FOR
    while not (out / "never").exists():
        assert time.monotonic() < deadline, "the runner did not kill this pytest process"
        time.sleep(0.01)
