"""Headless Chromium for the tests: open a page offline, hear what it logs and asks for.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: it reads
commands on fd 3 and writes answers on fd 4, one JSON message each, NUL-terminated), the
transport Puppeteer and Playwright use. Nothing listens on a port and no client library is
needed: the messages are plain JSON, and what is asked of the page is read from the protocol's
own events, not scraped from a log:

- every request the page makes (``Network.requestWillBeSent``), with the network made
  unreachable (``--host-resolver-rules`` resolves no name, ``--proxy-server`` points at a closed
  port) so that a request a page should not make fails here instead of leaving the machine;
- every console error (``Runtime.consoleAPICalled``), uncaught exception
  (``Runtime.exceptionThrown``) and browser-logged error such as a failed load
  (``Log.entryAdded``);
- the DOM as Chromium laid it out (``Runtime.evaluate``) and a full-page screenshot
  (``Page.captureScreenshot``).

Each browser gets a temporary profile directory and its own process group; :func:`headless`
closes it (``Browser.close``), kills whatever of the group is left, and removes the profile.
Every wait has a deadline. Chromium refuses its sandbox as root, so ``--no-sandbox`` is added
only then.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Browser", "ChromiumError", "Loaded", "find_chromium", "headless", "leftovers"]

TIMEOUT = 60.0  # seconds for one answer: a browser starting on a loaded 2-core machine
WIDTH, HEIGHT = 1280, 900  # a laptop's viewport


class ChromiumError(RuntimeError):
    """Chromium did not answer in time, answered with an error, or exited."""


def find_chromium() -> str | None:
    """The Chromium on PATH (Debian's ``chromium``, or ``chromium-browser``), if any."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Loaded:
    """A page Chromium loaded: what it asked for and said, and a handle to ask it more."""

    url: str
    requests: list[str]  # every URL requested, the page's own first
    errors: list[str]  # console errors, uncaught exceptions, errors the browser logged
    _browser: Browser = field(repr=False)
    _session: str = field(repr=False)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (as JSON)."""
        answer = self._browser.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True},
            self._session,
        )
        if "exceptionDetails" in answer:
            raise ChromiumError(f"{expression[:60]!r} threw: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def screenshot(self) -> bytes:
        """A PNG of the whole page (beyond the viewport too)."""
        answer = self._browser.call(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True},
            self._session,
        )
        return base64.b64decode(answer["data"])

    def close(self) -> None:
        """Close the page's tab."""
        self._browser.call("Target.closeTarget", {"targetId": self._browser.targets[self._session]})


class Browser:
    """One headless Chromium on a DevTools pipe (see the module's docstring)."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        to_browser: int,
        from_browser: int,
        profile: Path,
        log: Path,
    ) -> None:
        self.process = process
        self.profile = profile
        self.log = log
        self._out = to_browser
        self._in = from_browser
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self.targets: dict[str, str] = {}  # session id -> target id

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._in], [], [], max(left, 0))
            if not ready:
                raise ChromiumError(f"no answer from Chromium in {TIMEOUT:.0f} s")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                tail = self.log.read_text(errors="replace").splitlines()[-5:]
                raise ChromiumError(f"Chromium exited ({self.process.poll()}): {tail}")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        data: dict[str, Any] = json.loads(message)
        return data

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        """Send one command (to a page's ``session``, or the browser); its result."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise ChromiumError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer["result"]
                return result
            self._events.append(answer)

    def _wait_for(self, method: str, session: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not any(
            e.get("method") == method and e.get("sessionId") == session for e in self._events
        ):
            self._events.append(self._read(deadline))

    def load(self, path: Path) -> Loaded:
        """Open ``path`` in a new tab of a laptop's width; return once its load event fired."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self.targets[session] = target
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=session)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        self._events.clear()  # what about:blank did is not the page's
        url = path.resolve().as_uri()
        navigated = self.call("Page.navigate", {"url": url}, session)
        if "errorText" in navigated:
            raise ChromiumError(f"{url}: {navigated['errorText']}")
        self._wait_for("Page.loadEventFired", session)
        # what the page logs after its load event still counts: let a no-op round-trip drain
        self.call("Runtime.evaluate", {"expression": "0"}, session)
        events = [e for e in self._events if e.get("sessionId") == session]
        return Loaded(url, _requests(events), _errors(events), self, session)


def _requests(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["params"]["request"]["url"]
        for e in events
        if e.get("method") == "Network.requestWillBeSent"
    ]


def _errors(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
            found.append(f"console.{params['type']}: {args}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            found.append(f"exception: {details.get('exception', {}).get('description', details)}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            found.append(f"{entry['source']}: {entry['text']} {entry.get('url', '')}".strip())
    return found


def _arguments(profile: Path) -> list[str]:
    arguments = [
        "--headless=new",
        "--remote-debugging-pipe",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-breakpad",
        "--mute-audio",
        # no request leaves the machine: no name resolves and every proxied one is refused
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        f"--window-size={WIDTH},{HEIGHT}",
    ]
    if os.geteuid() == 0:
        arguments.append("--no-sandbox")  # Chromium's sandbox refuses to start as root
    return [*arguments, "about:blank"]


def leftovers(profile: Path) -> list[int]:
    """Processes still running with ``profile`` on their command line (crashpad's too)."""
    found = []
    mark = str(profile).encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if mark in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


@contextlib.contextmanager
def headless(binary: str) -> Iterator[Browser]:
    """A headless Chromium on a pipe; closed, killed if need be, its profile removed after."""
    profile = Path(tempfile.mkdtemp(prefix="mistersmith-chromium-"))
    commands_r, commands_w = os.pipe()
    answers_r, answers_w = os.pipe()

    def onto_fds_3_and_4() -> None:  # in the child, before exec: fd 3 reads, fd 4 writes
        reads = fcntl.fcntl(commands_r, fcntl.F_DUPFD, 10)  # above 4, so no dup2 clobbers
        writes = fcntl.fcntl(answers_w, fcntl.F_DUPFD, 10)
        os.dup2(reads, 3)
        os.dup2(writes, 4)
        os.close(reads)
        os.close(writes)

    log = (profile.parent / f"{profile.name}.log").open("wb")
    try:
        process = subprocess.Popen(
            [binary, *_arguments(profile)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            preexec_fn=onto_fds_3_and_4,
            close_fds=False,  # Python's own descriptors are not inheritable (PEP 446)
            start_new_session=True,
        )
    except BaseException:
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
        raise
    finally:
        os.close(commands_r)
        os.close(answers_w)
    browser = Browser(process, commands_w, answers_r, profile, Path(log.name))
    try:
        yield browser
    finally:
        with contextlib.suppress(ChromiumError, OSError):
            browser.call("Browser.close")
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for pid in leftovers(profile):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.close(commands_w)
        os.close(answers_r)
        log.close()
        Path(log.name).unlink(missing_ok=True)
        shutil.rmtree(profile, ignore_errors=True)
