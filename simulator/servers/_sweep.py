"""Pid files of the servers we start, and the sweep of servers earlier runs left behind.

Each BinaryServer writes ``<runtime dir>/<temp dir name>.json`` holding its server pid, the
owner pid (and start time, against pid reuse), the temp dir and the config path. A start sweeps
every record whose owner is dead: a server that is still alive and whose command line names that
config is killed, its temp dir removed (unless kept), the record removed.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from simulator.servers._guard import forget
from simulator.servers._proc import alive_since, cmdline, pid_alive, send_signal

__all__ = [
    "TEMP_PREFIX",
    "PidRecord",
    "default_runtime_dir",
    "reap",
    "remove_record",
    "sweep",
    "write_record",
]

#: Prefix of every BinaryServer temp dir; the sweep removes nothing else.
TEMP_PREFIX = "mistersmith-nats-"
_KILL_WAIT = 5.0
_SIGKILL: int = getattr(signal, "SIGKILL", signal.SIGTERM)


@dataclass(frozen=True)
class PidRecord:
    """What a sweep needs to know about one server we started."""

    server_pid: int
    owner_pid: int
    owner_start: int | None
    temp_dir: str
    conf_path: str
    keep_data: bool


def default_runtime_dir() -> Path:
    """The per-user directory of pid files: ``<tempdir>/mistersmith-<uid>``."""
    user = str(os.getuid()) if hasattr(os, "getuid") else getpass.getuser()
    return Path(tempfile.gettempdir()) / f"mistersmith-{user}"


def _ensure(directory: Path) -> Path:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def write_record(directory: Path, record: PidRecord) -> Path:
    """Write (or replace, atomically) the record of one server; its path."""
    path = _ensure(directory) / f"{Path(record.temp_dir).name}.json"
    scratch = path.with_suffix(f".{os.getpid()}.tmp")
    scratch.write_text(json.dumps(asdict(record)))
    os.replace(scratch, path)
    return path


def remove_record(path: Path) -> None:
    """Remove one record (missing is fine)."""
    with contextlib.suppress(OSError):
        path.unlink()


def _owner_alive(record: PidRecord) -> bool:
    alive, current = alive_since(record.owner_pid)
    if not alive:
        return False
    if record.owner_start is None:
        return True
    return current is None or current == record.owner_start


def _is_our_server(record: PidRecord) -> bool:
    args = cmdline(record.server_pid)
    if not args:
        return False
    return "nats-server" in Path(args[0]).name and record.conf_path in args


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.002)
    return True


def _load(path: Path) -> PidRecord | None:
    try:
        data = json.loads(path.read_text())
        return PidRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


def sweep(directory: Path | None = None) -> list[PidRecord]:
    """Kill and clean up after servers whose owners died; the records swept."""
    directory = default_runtime_dir() if directory is None else directory
    swept: list[PidRecord] = []
    try:
        paths = sorted(directory.glob("*.json"))
    except OSError:
        return swept
    for path in paths:
        record = _load(path)
        if record is None:
            # Unreadable: written by something else, or a torn write of a crashed run.
            with contextlib.suppress(OSError):
                if time.time() - path.stat().st_mtime > 60:
                    path.unlink()
            continue
        if _owner_alive(record):
            continue
        if pid_alive(record.server_pid) and _is_our_server(record):
            send_signal(record.server_pid, _SIGKILL)
            if not _wait_gone(record.server_pid, _KILL_WAIT):
                continue  # leave the record; a later sweep tries again
        temp_dir = Path(record.temp_dir)
        if not record.keep_data and temp_dir.name.startswith(TEMP_PREFIX):
            shutil.rmtree(temp_dir, ignore_errors=True)
        remove_record(path)
        swept.append(record)
    return swept


def reap(process: subprocess.Popen[bytes], temp_dir: Path | None, record: Path | None) -> None:
    """Kill and clean up after a server whose handle was collected or is alive at exit."""
    if process.poll() is None:
        process.kill()
        process.wait()
    forget(process.pid)
    if record is not None:
        remove_record(record)
    if temp_dir is not None:
        shutil.rmtree(temp_dir, ignore_errors=True)
