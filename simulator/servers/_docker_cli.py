"""The docker CLI as the docker backend uses it: calls, session labels, the stale sweep.

testcontainers' Ryuk reaper cannot be pulled offline, so every container, volume and network
we create carries the labels of the session (process) that owns it; the first start of a
session removes whatever carries a dead owner's labels, and an exit hook removes the session's
own leftovers.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from simulator.errors import ServerError
from simulator.servers._proc import pid_alive, start_time

__all__ = [
    "LABEL",
    "SESSION",
    "docker",
    "docker_available",
    "docker_ok",
    "engine",
    "host_port",
    "labels",
    "scratch_dir",
    "sweep_stale",
]

#: Label key naming the owning session; its value is the session id.
LABEL = "io.mistersmith.session"
_PID = "io.mistersmith.owner-pid"
_START = "io.mistersmith.owner-start"
#: This process's session id.
SESSION = uuid.uuid4().hex[:12]
_swept = False
_LOCK = threading.Lock()
#: Host-side scratch dirs (a secured container's credentials): the owner's pid and start time in
#: the name, so that a sweep can remove those of a process that died without cleaning up.
_SCRATCH = "mistersmith-docker-credentials-"


def labels() -> dict[str, str]:
    """The labels every object of this session carries."""
    return {
        LABEL: SESSION,
        _PID: str(os.getpid()),
        _START: str(start_time(os.getpid()) or ""),
    }


def _scratch_bases() -> list[Path]:
    from simulator.servers._files import default_base_dir

    return list(dict.fromkeys([default_base_dir() or Path(tempfile.gettempdir())]))


def scratch_dir() -> Path:
    """A new 0700 host dir owned by this process, removed by a later sweep if it dies first."""
    owner = f"{os.getpid()}-{start_time(os.getpid()) or ''}-"
    base = _scratch_bases()[0]
    return Path(tempfile.mkdtemp(prefix=f"{_SCRATCH}{owner}", dir=base))


def _sweep_scratch(mine: bool = False) -> int:
    """Remove the scratch dirs of dead owners (``mine``: of this process, at its exit)."""
    removed = 0
    for base in _scratch_bases():
        with contextlib.suppress(OSError):
            for path in base.glob(f"{_SCRATCH}*"):
                pid, start = [*path.name[len(_SCRATCH) :].split("-"), "", ""][:2]
                if (pid == str(os.getpid())) if mine else _dead(pid, start):
                    shutil.rmtree(path, ignore_errors=True)
                    removed += 1
    return removed


_engine: list[Any] = []
_ENGINE_LOCK = threading.Lock()


def engine() -> Any:
    """This process's docker SDK client (``docker.DockerClient``), made on first use.

    The calls on a container's way to ready go through it: an API call over the engine's socket
    takes milliseconds, where each ``docker`` CLI call starts a Go program (50-100 ms, more on a
    loaded machine). Raises ``ServerError`` when no engine answers.
    """
    with _ENGINE_LOCK:
        if not _engine:
            import docker as docker_sdk  # loaded with the first container, never at import

            try:
                _engine.append(docker_sdk.from_env(timeout=120))
            except docker_sdk.errors.DockerException as exc:
                raise ServerError(
                    f"no Docker engine answers: {exc}. Fix: start the Docker engine "
                    "(`docker info` must answer), or use the binary backend"
                ) from None
        return _engine[0]


def docker(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run ``docker ARGS`` and return the completed process (never raises on exit codes)."""
    cli = shutil.which("docker")
    if cli is None:
        raise ServerError(
            "the docker CLI is not on PATH; install Docker (Debian: apt-get install docker.io) "
            "or use the binary backend"
        )
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}  # the legacy builder needs no base image
    try:
        return subprocess.run(
            [cli, *args], capture_output=True, text=True, timeout=timeout, check=False, env=env
        )
    except subprocess.TimeoutExpired:
        raise ServerError(
            f"`docker {' '.join(args)}` did not finish within {timeout:g} s; "
            "is the Docker engine overloaded or stuck? (`docker info` should answer)"
        ) from None


def docker_ok(*args: str, timeout: float = 120.0) -> str:
    """Run ``docker ARGS``; its stdout, or ``ServerError`` with its stderr."""
    result = docker(*args, timeout=timeout)
    if result.returncode != 0:
        raise ServerError(
            f"`docker {' '.join(args)}` failed (exit {result.returncode}): "
            f"{result.stderr.strip()[-1000:]}"
        )
    return result.stdout


def docker_available(timeout: float = 10.0) -> str | None:
    """None when a Docker engine answers, else why not (for a skip reason)."""
    try:
        result = docker("info", "--format", "{{.ServerVersion}}", timeout=timeout)
    except ServerError as exc:
        return str(exc)
    if result.returncode != 0:
        return f"no Docker engine answers: {result.stderr.strip()[-300:]}"
    return None


def host_port(container: str, port: int) -> int:
    """The loopback host port that ``port/tcp`` of ``container`` is published on."""
    text = docker_ok("inspect", "--format", "{{json .NetworkSettings.Ports}}", container)
    bindings = (json.loads(text) or {}).get(f"{port}/tcp") or []
    for binding in bindings:
        if binding.get("HostPort"):
            return int(binding["HostPort"])
    raise ServerError(f"container {container[:12]} publishes no host port for {port}/tcp")


def _dead(owner_pid: str, owner_start: str) -> bool:
    try:
        pid = int(owner_pid)
    except ValueError:
        return True
    if not pid_alive(pid):
        return True
    current = start_time(pid)
    return bool(owner_start) and current is not None and str(current) != owner_start


def _owners(kind: str) -> list[tuple[str, str, str]]:
    ident = "{{.Name}}" if kind == "volume" else "{{.ID}}"
    template = f'{ident}\t{{{{.Label "{_PID}"}}}}\t{{{{.Label "{_START}"}}}}'
    if kind == "container":
        args = ["ps", "-a", "--filter", f"label={LABEL}", "--format", template]
    else:
        args = [kind, "ls", "--filter", f"label={LABEL}", "--format", template]
    rows = docker_ok(*args, timeout=60).splitlines()
    owners = []
    for row in rows:
        if row.strip():
            ident, pid, start = [*row.split("\t"), "", ""][:3]
            owners.append((ident, pid, start))
    return owners


def sweep_stale() -> int:
    """Remove the containers, networks and volumes of dead sessions (once per process)."""
    global _swept
    with _LOCK:
        if _swept:
            return 0
        _swept = True
        atexit.register(_remove_session)
        return _sweep()


def _sweep() -> int:
    removed = _sweep_scratch()
    for kind in ("container", "network", "volume"):
        stale = [ident for ident, pid, start in _owners(kind) if _dead(pid, start)]
        if stale:
            args = ["rm", "-f", "-v", *stale] if kind == "container" else [kind, "rm", *stale]
            docker(*args, timeout=120)
            removed += len(stale)
    return removed


def _remove_session() -> None:
    """At exit: remove whatever this session still owns (a handle that was never stopped)."""
    _sweep_scratch(mine=True)
    with contextlib.suppress(Exception):
        mine = f"label={LABEL}={SESSION}"
        ids = docker_ok("ps", "-aq", "--filter", mine, timeout=60).split()
        if ids:
            docker("rm", "-f", "-v", *ids, timeout=60)
        for kind in ("network", "volume"):
            ids = docker_ok(kind, "ls", "-q", "--filter", mine, timeout=60).split()
            if ids:
                docker(kind, "rm", *ids, timeout=60)
