"""What the plugin adds to a failing test's report: the servers' logs, a hint on a stream.

The log of a server shows what happened during the test: its warnings and errors first, then
the lines logged since the test started (or since the server was ready, when the test started
it), bounded; a start-up banner inside the test folds into one line, and a message said again
(``Healthcheck failed`` while a node restarts) is counted on its first line.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterable

import pytest

from pytest_mistersmith.factories.server import READY_KEY, SERVERS_KEY, USED_KEY
from pytest_mistersmith.factories.topology import TOPOLOGY_USED_KEY

__all__ = [
    "AUTOUSE_FOR",
    "LOG_LINES",
    "STARTED_KEY",
    "format_log",
    "log_sections",
    "missing_stream_hint",
]

#: The default fixtures that put a test on the session's server (the autouse topology's cue).
AUTOUSE_FOR = frozenset(
    {"nats_server", "nats_client", "jetstream", "nats_capture", "mistersmith_contracts", "swarm"}
)
#: Lines of each server's log in a failure report at most (warnings and errors included).
LOG_LINES = 40
#: When the test item started (``time.time()`` at its setup).
STARTED_KEY = pytest.StashKey[float]()

_LINE = re.compile(r"^\[\d+\] \S+ \S+ \[(?P<level>[A-Z]{3})\] (?P<message>.*)$")
_PROBLEMS = frozenset({"WRN", "ERR", "FTL"})


def _parse(line: str) -> tuple[str | None, str]:
    match = _LINE.match(line)
    return (match["level"], match["message"]) if match else (None, line)


def _folded(lines: Iterable[str]) -> list[tuple[str, str | None]]:
    """(line, level) pairs: each start-up banner folded into one line (its warnings and errors
    kept), and a message said again (``Healthcheck failed`` while a node restarts) counted on
    its first line instead of shown again."""
    out: list[list[str | None]] = []
    counts: list[int] = []
    first: dict[tuple[str | None, str], int] = {}
    banner = 0
    for line in lines:
        level, message = _parse(line)
        if banner or (level == "INF" and message.startswith("Starting nats-server")):
            banner += 1
            if message == "Server is ready":
                stamp = line.split(" [INF]", 1)[0]
                line, message = f"{stamp} [INF] (nats-server started: {banner} lines)", ""
                banner = 0
            elif level not in _PROBLEMS:
                continue
        key = (level, message)
        if level is not None and message and key in first:
            counts[first[key]] += 1
            continue
        first[key] = len(out)
        out.append([line, level])
        counts.append(1)
    if banner:
        out.append([f"(nats-server starting: {banner} lines so far)", "INF"])
        counts.append(1)
    return [
        (f"{line}  (x{count})" if count > 1 else str(line), level)
        for (line, level), count in zip(out, counts, strict=True)
    ]


def format_log(lines: list[str], where: str, limit: int = LOG_LINES) -> str:
    """What a failure report shows of a server's log since the test started, in ``limit`` lines.

    Warnings and errors first (the earliest), then the latest lines; a last line says how
    many more there are in ``where`` (the file, or the command that shows them).
    """
    folded = list(_folded(lines))
    if not folded:
        return f"(nothing logged since the test started; the whole log: {where})"
    problems = [line for line, level in folded if level in _PROBLEMS]
    out: list[str] = []
    shown_problems = problems[: limit // 2]
    if shown_problems:
        out.append(f"warnings and errors since the test started ({len(problems)}):")
        out += shown_problems
        if len(problems) > len(shown_problems):
            out.append(f"... {len(problems) - len(shown_problems)} more warnings and errors")
    room = max(limit - len(out) - 2, 1)
    latest = folded[-room:]
    out.append(f"lines logged since the test started ({len(folded)}, the latest last):")
    out += [line for line, _ in latest]
    left = len(folded) - len(latest)
    if left:
        out.append(f"... {left} lines more in {where}")
    return "\n".join(out)


def _where(server: object) -> str:
    from simulator.servers import BinaryServer, DockerServer

    if isinstance(server, BinaryServer):
        return str(server.log_path)
    if isinstance(server, DockerServer):
        return f"`docker logs {server.name}`"
    return "the server's log"


def log_sections(item: pytest.Item) -> list[tuple[str, str]]:
    """A report section per server (per node of a cluster) the test used, with its log."""
    config = item.config
    started = config.stash.get(SERVERS_KEY, [])
    funcargs = item.funcargs.values() if isinstance(item, pytest.Function) else ()
    used = [*item.stash.get(USED_KEY, []), *(s for s in started if s in funcargs)]
    if not used:
        return []
    from simulator.servers import BinaryServer, DockerServer, NatsCluster

    test_start = item.stash.get(STARTED_KEY, time.time())
    ready = config.stash.get(READY_KEY, {})
    sections = []
    for server in dict.fromkeys(used):
        since = max(test_start, ready.get(id(server), 0.0))
        if isinstance(server, NatsCluster):
            for i, node in enumerate(server.nodes):
                text = format_log(node.log_since(since), _where(node))
                title = f"nats-server log (node {i}, {server.server_names[i]}, {node.client_url})"
                sections.append((title, text))
        elif isinstance(server, BinaryServer | DockerServer):  # an external log is not ours
            text = format_log(server.log_since(since), _where(server))
            sections.append((f"nats-server log ({server.client_url})", text))
    return sections


# JetStream's "stream not found" and "consumer not found" (nats.js.errors.NotFoundError).
_NOT_FOUND_CODES = {10059: "stream", 10014: "consumer"}


def _missing(excinfo: pytest.ExceptionInfo[BaseException]) -> str | None:
    errors = sys.modules.get("nats.js.errors")
    if errors is None:  # nats-py never loaded: no JetStream call failed
        return None
    seen: set[int] = set()
    exc: BaseException | None = excinfo.value
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, errors.NoStreamResponseError):
            return "no stream stores the subject published to (NoStreamResponseError)"
        if isinstance(exc, errors.NotFoundError) and exc.err_code in _NOT_FOUND_CODES:
            return f"the {_NOT_FOUND_CODES[exc.err_code]} was not found ({exc.description})"
        exc = exc.__cause__ or exc.__context__
    return None


def missing_stream_hint(item: pytest.Item, call: pytest.CallInfo[None]) -> str | None:
    """Which fixture to add, when the test failed on a missing stream and used no topology."""
    if call.excinfo is None or item.stash.get(TOPOLOGY_USED_KEY, False):
        return None
    what = _missing(call.excinfo)
    if what is None:
        return None
    return (
        f"{what}: this test did not use the mistersmith_topology fixture, so the streams and "
        "consumers are whatever earlier tests left (it may pass after one that used it and "
        "fail alone). Fix: add mistersmith_topology to the test's arguments, or set the ini "
        "key mistersmith_autouse_topology = true (--mistersmith-autouse-topology)."
    )
