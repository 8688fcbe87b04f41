"""A child process for the orphan tests: start a BinaryServer, print where it is, then block.

Usage: python servers_child.py RUNTIME_DIR [--no-die-with-parent]
Prints one JSON line {"pid", "temp_dir", "client_url"} and blocks on stdin until killed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from simulator.servers import BinaryServer

__all__ = ["main"]


def main(argv: list[str]) -> None:
    """Start the server as asked and block."""
    runtime_dir = Path(argv[0])
    server = BinaryServer(
        runtime_dir=runtime_dir, die_with_parent="--no-die-with-parent" not in argv
    )
    server.start()
    info = {"pid": server.pid, "temp_dir": str(server.temp_dir), "client_url": server.client_url}
    print(json.dumps(info), flush=True)
    sys.stdin.read()  # blocks until the test kills us (or closes our stdin)
    server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
