"""Record messages on subject patterns and await them, each checked against a model.

``async with capture("agents.*.status", model=AgentStatus) as cap`` subscribes (and flushes,
so nothing published inside the block is missed); ``await cap.wait_for(3, timeout=2)`` waits
for three messages; ``cap.messages`` holds what came. A message that does not fit the model
fails the test with its subject, its payload and the field errors.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, TypeVar

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import BaseModel, ValidationError

from simulator.bus import settle

__all__ = ["Capture", "CapturedMessage"]

M = TypeVar("M", bound=BaseModel)

_PAYLOAD_SHOWN = 500


@dataclass(frozen=True)
class CapturedMessage(Generic[M]):
    """One message as it arrived, and its parsed model when the capture has one."""

    subject: str
    data: bytes
    headers: dict[str, str] | None
    reply: str
    model: M | None


def _describe(subject: str, data: bytes, error: ValidationError) -> str:
    shown = data[:_PAYLOAD_SHOWN].decode("utf-8", "replace")
    more = f" ... ({len(data)} bytes)" if len(data) > _PAYLOAD_SHOWN else ""
    fields = "\n".join(
        f"    {'.'.join(str(p) for p in e['loc']) or '<payload>'}: {e['msg']} [{e['type']}]"
        for e in error.errors()
    )
    return f"  subject {subject}\n  payload {shown}{more}\n{fields}"


class Capture(Generic[M]):
    """Messages on one or more subject patterns, validated against ``model`` when given."""

    def __init__(self, client: Client, patterns: Sequence[str], model: type[M] | None = None):
        if not patterns:
            raise ValueError("capture needs at least one subject pattern, e.g. 'agents.*.status'")
        self.client = client
        self.patterns = tuple(patterns)
        self.model = model
        self.messages: list[CapturedMessage[M]] = []
        self.invalid: list[str] = []
        self._subs: list[Subscription] = []
        self._changed = asyncio.Event()

    async def __aenter__(self) -> Capture[M]:
        self._subs = [await self.client.subscribe(p, cb=self._on_message) for p in self.patterns]
        await settle(self.client)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sub in self._subs:
            await sub.unsubscribe()
        self._subs = []
        if exc_type is None:
            self.check()

    async def _on_message(self, msg: Msg) -> None:
        parsed: M | None = None
        if self.model is not None:
            try:
                parsed = self.model.model_validate_json(msg.data)
            except ValidationError as error:
                self.invalid.append(_describe(msg.subject, msg.data, error))
        self.messages.append(CapturedMessage(msg.subject, msg.data, msg.headers, msg.reply, parsed))
        self._changed.set()

    def check(self) -> None:
        """Fail the test if any captured message did not fit the model."""
        if self.invalid:
            assert self.model is not None
            pytest.fail(
                f"{len(self.invalid)} message(s) on {', '.join(self.patterns)} do not fit "
                f"{self.model.__name__}:\n" + "\n".join(self.invalid),
                pytrace=False,
            )

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[CapturedMessage[M]]:
        """Wait until ``count`` messages have arrived; fail the test after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.messages) < count:
            self.check()
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                got = [m.subject for m in self.messages]
                pytest.fail(
                    f"expected {count} message(s) on {', '.join(self.patterns)} within "
                    f"{timeout} s, got {len(got)}: {got}",
                    pytrace=False,
                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        self.check()
        return self.messages[:count]

    @property
    def models(self) -> list[M]:
        """The parsed models of the messages that fit."""
        return [m.model for m in self.messages if m.model is not None]

    @property
    def subjects(self) -> list[str]:
        """The subjects of the messages, in arrival order."""
        return [m.subject for m in self.messages]
