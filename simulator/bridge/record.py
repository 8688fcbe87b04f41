"""Record what the bridge handled (JSONL, one hook per line) and replay it through a bridge.

A record line: ``at`` (when the hook came, RFC 3339), ``input`` (Claude Code's document as
received; a string if it was not JSON), ``event`` and ``response`` (what was published and
received: a ``HookEvent`` or a ``ClaudeContext``, a ``HookResponse``, or null), ``answer``
(``exit_code``, ``output``, ``message``). :func:`replay` feeds the recorded
inputs back through a :class:`~simulator.bridge.core.HookBridge` in order, at the recorded pace
divided by ``speed``, each session fanned out to ``agents`` copies (session ``S`` becomes
``S-0``, ``S-1``, ...), so a hook service sees real sessions' shapes at scale.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING

from pydantic import JsonValue

if TYPE_CHECKING:
    from simulator.bridge.claude import Answer
    from simulator.protocol.models import ClaudeContext, HookEvent, HookResponse

__all__ = ["Record", "Recorder", "read_records", "replay"]


@dataclass(frozen=True)
class Record:
    """One recorded hook: when it came, Claude Code's input, and the answer given."""

    at: datetime
    input: JsonValue
    event: JsonValue
    response: JsonValue
    answer: JsonValue


class Recorder:
    """Appends one JSON line per handled hook to ``path`` (created if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: IO[str] | None = None

    def write(
        self,
        raw: bytes,
        event: HookEvent | ClaudeContext | None,
        response: HookResponse | None,
        answer: Answer,
    ) -> None:
        """Append the hook ``raw`` and what came of it."""
        try:
            document: JsonValue = json.loads(raw)
        except ValueError:
            document = raw.decode(errors="replace")
        line = {
            "at": datetime.now(timezone.utc).isoformat(),
            "input": document,
            "event": None if event is None else event.model_dump(mode="json", exclude_none=True),
            "response": None
            if response is None
            else response.model_dump(mode="json", by_alias=True, exclude_none=True),
            "answer": {
                "exit_code": answer.exit_code,
                "output": answer.output,
                "message": answer.message,
            },
        }
        text = json.dumps(line, separators=(",", ":")) + "\n"
        with self._lock:
            if self._file is None:
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(text)
            self._file.flush()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read_records(path: Path) -> Iterator[Record]:
    """The records of ``path``, in order; ``ValueError`` names the line that is not one."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                yield Record(
                    at=datetime.fromisoformat(data["at"]),
                    input=data["input"],
                    event=data.get("event"),
                    response=data.get("response"),
                    answer=data.get("answer"),
                )
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{path}:{number}: not a bridge record ({error})") from None


Handle = Callable[[bytes], Awaitable["Answer"]]


async def replay(
    records: Sequence[Record], handle: Handle, *, speed: float = 1.0, agents: int = 1
) -> list[Answer]:
    """Feed each record's input to ``handle`` (a bridge's :meth:`handle`) in order, paced by
    the recorded gaps divided by ``speed`` (``0``: no pause), ``agents`` copies at a time."""
    answers: list[Answer] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
    first = records[0].at if records else None
    for record in records:
        if first is not None and speed > 0:
            due = started + (record.at - first).total_seconds() / speed
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        copies = [_copy(record.input, k, agents) for k in range(agents)]
        answers.extend(await asyncio.gather(*(handle(c) for c in copies)))
    return answers


def _copy(document: JsonValue, k: int, agents: int) -> bytes:
    if agents > 1 and isinstance(document, dict) and isinstance(document.get("session_id"), str):
        document = {**document, "session_id": f"{document['session_id']}-{k}"}
    if isinstance(document, str):
        return document.encode()
    return json.dumps(document).encode()
