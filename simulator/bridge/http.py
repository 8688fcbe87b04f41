"""``hook serve``: the bridge as a long-running HTTP service for Claude Code's ``http`` hooks.

One NATS connection for the server's life, on an event loop of its own thread; requests are
served by the standard library's threading HTTP server. ``POST`` (any path) takes Claude Code's
hook input as the body and always answers ``200`` with the JSON answer: Claude Code treats a
non-2xx status or a timeout as a non-blocking error (the tool call goes through), so a failure
is answered as a JSON decision (:meth:`~simulator.bridge.claude.Answer.http_body`), never as an
error status. ``GET /healthz`` answers ``200`` with ``{"status": "ok", "nats": true|false}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from simulator.bridge.claude import Answer, failure_answer
from simulator.bridge.core import BridgeConfig, HookBridge
from simulator.bridge.record import Recorder

__all__ = ["HookServer"]


class HookServer:
    """An HTTP hook endpoint on ``host:port`` (port 0: the OS picks) bridging to NATS."""

    def __init__(
        self,
        config: BridgeConfig,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        recorder: Recorder | None = None,
    ) -> None:
        self.config = config
        self.bridge = HookBridge(config, recorder)
        self._address = (host, port)
        self._loop = asyncio.new_event_loop()
        self._threads: list[threading.Thread] = []
        self._http: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The URL to put in Claude Code's settings (``http://127.0.0.1:PORT/hook``)."""
        assert self._http is not None, "start() the server first"
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def start(self) -> HookServer:
        """Start the event loop, connect to NATS (a failure here is reported per request, and
        the connection retried), and listen."""
        loop_thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        loop_thread.start()
        self._threads.append(loop_thread)
        connecting = asyncio.run_coroutine_threadsafe(self.bridge.connect(), self._loop)
        # On failure each request retries and, failing again, answers per ``on_failure``.
        with contextlib.suppress(Exception):
            connecting.result(self.config.timeout + 1)
        self._http = ThreadingHTTPServer(self._address, _handler(self))
        self._http.daemon_threads = True
        http_thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        http_thread.start()
        self._threads.append(http_thread)
        return self

    def stop(self) -> None:
        """Stop listening, close the NATS connection and the loop."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self.bridge.close(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
        for thread in self._threads:
            thread.join(5)
        self._threads.clear()
        if not self._loop.is_closed():
            self._loop.close()

    def __enter__(self) -> HookServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def answer(self, body: bytes) -> Answer:
        """The answer to one hook input (called from the HTTP threads)."""
        future = asyncio.run_coroutine_threadsafe(self.bridge.handle(body), self._loop)
        try:
            return future.result(self.config.timeout + 2)
        except Exception as error:  # the bridge answers everything; this is a last resort
            future.cancel()
            return failure_answer("", f"bridge error: {error!r}", self.config.on_failure)


def _handler(server: HookServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        #: One segment per answer: no Nagle wait for the delayed ACK (40 ms a request).
        disable_nagle_algorithm = True

        def _send(self, status: int, body: object) -> None:
            data = json.dumps(body, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/healthz":
                self._send(200, {"status": "ok", "nats": server.bridge.connected})
            else:
                self._send(404, {"error": f"no such path {self.path!r}; POST hooks, GET /healthz"})

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            limit = server.config.max_input
            if 0 <= length <= limit:
                answer = server.answer(self.rfile.read(length))
            else:  # unreadable or too long: answered as a failure, the connection closed
                self.close_connection = True
                cause = f"request body of Content-Length {length} is not 0 to {limit} bytes"
                answer = failure_answer("", cause, server.config.on_failure)
            self._send(200, answer.http_body())

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: Claude Code calls often; failures are in the answers and the record."""

    return Handler
