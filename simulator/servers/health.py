"""Readiness checks shared by every server backend: ``/healthz`` and the NATS INFO banner.

Both poll every few milliseconds under one absolute deadline (``time.monotonic()`` based) and
never sleep-and-hope. HTTP goes through ``http.client`` directly so proxy settings in the
environment never route a loopback health check elsewhere.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from simulator.errors import ServerNotReadyError, ServerStartError

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = [
    "HEALTHZ",
    "HEALTHZ_JS",
    "POLL_INTERVAL",
    "get_json",
    "probe_http",
    "read_info",
    "wait_healthy",
    "wait_info",
]

#: Readiness of one node: healthy once JetStream is enabled.
HEALTHZ_JS = "/healthz?js-enabled-only=true"
#: Full health (streams and consumers current): every node of a cluster.
HEALTHZ = "/healthz"
#: Seconds between two probes.
POLL_INTERVAL = 0.001
_MAX_PROBE_TIMEOUT = 1.0


def probe_http(url: str, timeout: float) -> tuple[int, str]:
    """GET ``url`` once; the status code and the body (``OSError`` when unreachable)."""
    parts = urlsplit(url)
    if parts.hostname is None:
        raise ValueError(f"not an http URL: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    conn_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    conn = conn_class(parts.hostname, port, timeout=timeout)
    try:
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        conn.request("GET", target)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    except http.client.HTTPException as exc:
        raise OSError(f"bad HTTP response from {url}: {exc!r}") from exc
    finally:
        conn.close()


def get_json(url: str, timeout: float = 5.0) -> dict[str, JsonValue]:
    """GET ``url`` and decode its JSON object (monitoring endpoints: /varz, /jsz, /connz)."""
    status, body = probe_http(url, timeout)
    if status != 200:
        raise OSError(f"GET {url} answered {status}: {body.strip()[:200]}")
    data = json.loads(body)
    if not isinstance(data, dict):
        raise OSError(f"GET {url} did not answer a JSON object")
    return data


def wait_healthy(
    monitor_url: str,
    deadline: float,
    path: str = HEALTHZ_JS,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Poll ``monitor_url + path`` until it answers 200, before ``deadline`` (monotonic).

    Raises ``ServerStartError`` (with the exit code) as soon as ``process`` exits, and
    ``ServerNotReadyError`` (with the last answer or error) when the deadline passes.
    """
    url = monitor_url.rstrip("/") + path
    last = "no answer yet"
    started = time.monotonic()
    while True:
        if process is not None and process.poll() is not None:
            raise ServerStartError(
                f"nats-server exited with code {process.returncode} before {url} was healthy",
                exit_code=process.returncode,
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timeout = round(deadline - started, 3)
            raise ServerNotReadyError(
                f"{url} was not healthy within {timeout} s (last: {last})", timeout=timeout
            )
        try:
            status, body = probe_http(url, min(remaining, _MAX_PROBE_TIMEOUT))
        except OSError as exc:
            last = repr(exc)
        else:
            if status == 200:
                return
            last = f"HTTP {status} {body.strip()[:200]}"
        time.sleep(POLL_INTERVAL)


def read_info(host: str, port: int, timeout: float) -> dict[str, JsonValue]:
    """Connect once and read the server's ``INFO {...}`` banner (``OSError`` otherwise)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        buffer = b""
        while b"\r\n" not in buffer:
            chunk = sock.recv(4096)
            if not chunk:
                raise OSError(f"{host}:{port} closed the connection before sending INFO")
            buffer += chunk
            if len(buffer) > 1024 * 1024:
                raise OSError(f"{host}:{port} sent no line break in 1 MiB: not a NATS server")
    line = buffer.split(b"\r\n", 1)[0].decode("utf-8", "replace")
    if not line.startswith("INFO "):
        raise OSError(f"{host}:{port} answered {line[:80]!r}, not a NATS INFO banner")
    try:
        info = json.loads(line[5:])
    except json.JSONDecodeError as exc:
        raise OSError(f"{host}:{port} sent an INFO banner that is not JSON: {exc}") from exc
    if not isinstance(info, dict):
        raise OSError(f"{host}:{port} sent an INFO banner that is not a JSON object")
    return info


def wait_info(host: str, port: int, deadline: float) -> dict[str, JsonValue]:
    """Poll ``read_info`` until the banner arrives, before ``deadline`` (monotonic)."""
    last = "no answer yet"
    started = time.monotonic()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timeout = round(deadline - started, 3)
            raise ServerNotReadyError(
                f"nats://{host}:{port} sent no INFO banner within {timeout} s (last: {last})",
                timeout=timeout,
            )
        try:
            return read_info(host, port, min(remaining, _MAX_PROBE_TIMEOUT))
        except OSError as exc:
            last = repr(exc)
        time.sleep(POLL_INTERVAL)
