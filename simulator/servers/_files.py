"""A BinaryServer's files: where its temp dir goes, its ports file and log, its failed start.

The process writes the ports file (``--ports_file_dir``) and the log; the URLs come from the
ports; a start that fails says what failed, how to fix it, and the tail of the log.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
from datetime import datetime
from pathlib import Path

from simulator.errors import ServerNotReadyError, ServerStartError
from simulator.servers.health import POLL_INTERVAL

__all__ = [
    "connect_host",
    "default_base_dir",
    "log_since",
    "log_tail",
    "read_from",
    "start_error",
    "wait_ports",
]

#: Free space a memory file system needs to hold our temp dirs.
_MIN_SHM_FREE = 1 << 30
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")
_CONF_LINE = re.compile(r"nats\.conf:(\d+):")
_TIMEOUT_FIX = "raise the start timeout (BinaryServer(start_timeout=...)) on a slow machine"


def default_base_dir() -> Path | None:
    """/dev/shm (no fsync cost) when TMPDIR is not set and it has 1 GiB free; else None."""
    if os.environ.get("TMPDIR"):  # read per call, never at import: the user chose a place
        return None
    shm = Path("/dev/shm")
    try:
        stat = os.statvfs(shm)
    except (OSError, AttributeError):
        return None
    if not os.access(shm, os.W_OK) or stat.f_bavail * stat.f_frsize < _MIN_SHM_FREE:
        return None
    return shm


def connect_host(host: str) -> str:
    """The host a client dials for a listener on ``host`` (loopback for a wildcard)."""
    if host in _WILDCARD_HOSTS:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def wait_ports(
    process: subprocess.Popen[bytes], ports_dir: Path, deadline: float, timeout: float
) -> dict[str, list[str]]:
    """Poll for the ports file of ``process`` (``--ports_file_dir``) until ``deadline``."""
    suffix = f"_{process.pid}.ports"  # nats-server names it <executable>_<pid>.ports
    while True:
        if process.poll() is not None:
            raise ServerStartError(
                f"nats-server exited with code {process.returncode} during start",
                exit_code=process.returncode,
            )
        for candidate in _ports_files(ports_dir, suffix):
            with contextlib.suppress(OSError, ValueError):
                ports = json.loads(candidate.read_text())
                if ports.get("nats") and ports.get("monitoring"):
                    return {key: list(value) for key, value in ports.items()}
        if time.monotonic() >= deadline:
            raise ServerNotReadyError(
                f"nats-server wrote no ports file in {ports_dir} within {timeout} s",
                timeout=timeout,
            )
        time.sleep(POLL_INTERVAL)


def _ports_files(ports_dir: Path, suffix: str) -> list[Path]:
    """The files in ``ports_dir`` whose names end with ``suffix`` (no glob: no regex per pid)."""
    try:
        return [ports_dir / name for name in os.listdir(ports_dir) if name.endswith(suffix)]
    except OSError:
        return []


def log_tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of ``path`` ("" when it cannot be read)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 256 * lines), os.SEEK_SET)
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


#: The local time nats-server writes before each line (``logtime: true``).
_STAMP = re.compile(rb"^\[\d+\] (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6}) ")
#: How much of the end of a log :func:`log_since` reads at most.
_SINCE_BYTES = 4 << 20


def log_since(path: Path, since: float) -> list[str]:
    """The lines of ``path`` logged at or after ``since`` (``time.time()``), from its last 4 MiB.

    nats-server stamps each line with the local time; lines without a stamp (a panic's
    trace) go with the stamped line before them.
    """
    cut = datetime.fromtimestamp(since).strftime("%Y/%m/%d %H:%M:%S.%f").encode()
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - _SINCE_BYTES), os.SEEK_SET)
            raw = handle.read().splitlines()
    except OSError:
        return []
    if size > _SINCE_BYTES:
        raw = raw[1:]  # the first may be cut
    for i, line in enumerate(raw):
        stamp = _STAMP.match(line)
        if stamp is not None and stamp.group(1) >= cut:
            return [each.decode("utf-8", "replace") for each in raw[i:]]
    return []


def read_from(path: Path, offset: int) -> str:
    """The text of ``path`` after byte ``offset`` ("" when it cannot be read)."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def start_error(
    exc: ServerStartError, where: str, tail: str, timeout: float, config_text: str
) -> ServerStartError:
    """The error for a failed start: what failed, how to fix it, the tail of the log."""
    error: type[ServerStartError] = type(exc)
    if isinstance(exc, ServerNotReadyError):
        head = f"{where} was not ready within {timeout} s ({exc}). Fix: {_TIMEOUT_FIX}"
    else:
        head = f"{where} exited with code {exc.exit_code} during start. Fix: correct the "
        head += "config the log complains about (ServerConfig fields, extra)"
        match = _CONF_LINE.search(tail)
        lines = config_text.splitlines()
        if match and 0 < int(match[1]) <= len(lines):
            head += f"; config line {match[1]} is {lines[int(match[1]) - 1]!r}"
    message = f"{head}.\n--- last lines of the server log ---\n{tail}"
    return error(message, exit_code=exc.exit_code, timeout=timeout, log_tail=tail)
