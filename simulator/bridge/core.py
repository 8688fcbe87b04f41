"""The bridge itself: one Claude Code hook input in, the spec's hook flow over NATS, one answer out.

:class:`HookBridge` holds one NATS connection (the ``command`` hook makes one per call, ``hook
serve`` one for its life). :meth:`HookBridge.handle` never raises: whatever goes wrong (stdin,
agent id, no server, no answer within the timeout, a malformed answer, anything else) becomes
:func:`~simulator.bridge.claude.failure_answer` with the cause, because Claude Code lets a tool
call through when a hook crashes or times out (spec-notes 27).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from simulator.bridge.claude import (
    ANNOUNCED,
    CONTEXT,
    Answer,
    BridgeError,
    ClaudeInput,
    OnFailure,
    agent_id_for,
    claude_answer,
    context_record,
    failure_answer,
    hook_event,
    parse_input,
)
from simulator.bridge.record import Recorder
from simulator.protocol import channels
from simulator.protocol.headers import HOOK_EVENT_ID, SERVICE_ERROR
from simulator.protocol.models import (
    ClaudeContext,
    HookDecision,
    HookEvent,
    HookResponse,
    HookType,
    problem,
)
from simulator.servers.credentials import ClientCredentials

__all__ = ["BridgeConfig", "Exchange", "HookBridge"]

Dialect = Literal["12.1", "2.1"]
_STAGES = {HookType.PRE_TASK: "pre", HookType.POST_TASK: "post", HookType.ON_ERROR: "error"}


@dataclass(frozen=True)
class BridgeConfig:
    """How the bridge reaches the hook service and what it does when it cannot."""

    url: str = "nats://127.0.0.1:4222"
    #: Seconds to wait for the answer (keep it under Claude Code's own hook timeout).
    timeout: float = 5.0
    on_failure: OnFailure = "deny"
    #: ``--agent-id``; ``None``: the session id, made a subject token.
    agent_id: str | None = None
    dialect: Dialect = "12.1"
    #: The largest hook input read, in bytes (a larger one is a failure, not a truncation).
    max_input: int = 1 << 20
    #: Credentials and TLS (files, read at connect): ``--user``/``--password-file``,
    #: ``--nkey-seed``, ``--token-file``, ``--creds``, ``--tls-*``, ``--inbox-prefix``.
    credentials: ClientCredentials = field(default_factory=ClientCredentials)

    def connect_options(self) -> dict[str, object]:
        """Keyword arguments of ``nats.connect`` for the credentials and TLS above;
        :class:`BridgeError` names the option whose file cannot be read."""
        from simulator.errors import ConfigError

        try:
            return self.credentials.connect_options()
        except ConfigError as error:
            raise BridgeError(str(error)) from None


@dataclass(frozen=True)
class Exchange:
    """One hook as the bridge handled it: the answer, and what went over NATS (or None)."""

    answer: Answer
    event: HookEvent | ClaudeContext | None = None
    response: HookResponse | None = None


class HookBridge:
    """Carries Claude Code hook inputs to the hook service over NATS and maps the answers."""

    def __init__(
        self,
        config: BridgeConfig,
        recorder: Recorder | None = None,
        *,
        connect_options: Mapping[str, object] | None = None,
    ) -> None:
        self.config = config
        self.recorder = recorder
        #: ``nats.connect`` keywords used instead of ``config.credentials`` (a swarm's own).
        self.connect_options = connect_options
        self._client: Client | None = None
        self._subs: dict[str, Subscription] = {}
        self._pending: dict[str, asyncio.Future[bytes]] = {}
        self._connecting = asyncio.Lock()
        self._phase = ""

    async def connect(self) -> None:
        """Open the connection: two quick attempts, then :class:`BridgeError` naming the URL and
        the cause (nats-py's own error reports are kept off stderr)."""
        errors: list[Exception] = []

        async def keep(error: Exception) -> None:
            errors.append(error)

        if self._client is not None and not self._client.is_closed:
            await self._client.close()
        self._subs.clear()
        options = (
            dict(self.connect_options)
            if self.connect_options is not None
            else self.config.connect_options()
        )
        try:
            self._client = await nats.connect(
                self.config.url,
                **options,
                name="mistersmith-bridge",
                connect_timeout=max(0.1, min(self.config.timeout, 2.0)),
                max_reconnect_attempts=1,
                reconnect_time_wait=0.05,
                error_cb=keep,
            )
        except Exception as error:
            cause = errors[-1] if errors else error
            raise BridgeError(f"cannot reach NATS at {self.config.url} ({cause})") from None

    async def close(self) -> None:
        """Close the connection if open."""
        client, self._client = self._client, None
        self._subs.clear()
        if client is not None and not client.is_closed:
            await client.close()

    @property
    def _flush_timeout(self) -> int:
        return max(1, math.ceil(self.config.timeout))

    @property
    def connected(self) -> bool:
        """Whether the NATS connection is up."""
        return self._client is not None and self._client.is_connected

    async def handle(self, raw: bytes) -> Answer:
        """The answer to one hook input; every failure becomes the configured failure answer."""
        return (await self.exchange(raw)).answer

    async def exchange(self, raw: bytes) -> Exchange:
        """:meth:`handle`, with the messages published and received along the answer."""
        name = ""
        try:
            if len(raw) > self.config.max_input:
                raise BridgeError(
                    f"hook input of {len(raw)} bytes exceeds the limit of {self.config.max_input}"
                )
            claude = parse_input(raw)
            name = claude.hook_event_name
            answer, event, response = await asyncio.wait_for(
                self._carry(claude), self.config.timeout
            )
        except asyncio.TimeoutError:
            within = f"within {self.config.timeout:g} s"
            cause = (
                f"cannot reach NATS at {self.config.url} {within} (connecting)"
                if self._phase == "connecting"
                else f"no hook answer {within}"
            )
            answer = failure_answer(name, cause, self.config.on_failure)
            event = response = None
        except BridgeError as error:
            name = name or error.event_name
            answer, event, response = (
                failure_answer(name, str(error), self.config.on_failure),
                None,
                None,
            )
        except Exception as error:  # fail closed on anything: a crash lets the call through
            cause = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            answer, event, response = (
                failure_answer(name, cause, self.config.on_failure),
                None,
                None,
            )
        if self.recorder is not None:
            self.recorder.write(raw, event, response, answer)
        return Exchange(answer, event, response)

    async def _carry(
        self, claude: ClaudeInput
    ) -> tuple[Answer, HookEvent | ClaudeContext | None, HookResponse | None]:
        name = claude.hook_event_name
        agent_id = agent_id_for(self.config.agent_id, claude.session_id)
        at = datetime.now(timezone.utc)
        if name in CONTEXT:
            record = context_record(claude, agent_id, at, str(uuid.uuid4()))
            await self._connect()
            await self._context(record)
            return Answer(0, {}, event_name=name), record, None
        event = hook_event(claude, agent_id, at)
        await self._connect()
        if name in ANNOUNCED:
            await self._announce(event, agent_id_for(None, claude.session_id))
            return Answer(0, {}, event_name=name), event, None
        if self.config.dialect == "2.1":
            response = await self._ask_21(event)
        else:
            response = await self._ask_121(event)
        return claude_answer(claude, response), event, response

    async def _connect(self) -> None:
        async with self._connecting:  # one connection, however many hooks arrive at once
            if self._client is None or not self._client.is_connected:
                self._phase = "connecting"  # left as it is if the deadline cancels the connect
                await self.connect()
                self._phase = "connected"

    async def _context(self, record: ClaudeContext) -> None:
        """Publish an event the spec has no hook type for on ``cli.context`` (both dialects:
        2.1 has no context channel but its file changes; spec-notes 27)."""
        assert self._client is not None
        subject = channels.channel("cli_context").subject_for(record.model_dump(mode="json"))
        await self._client.publish(subject, _dump(record))
        await self._client.flush(self._flush_timeout)

    async def _announce(self, event: HookEvent, group_id: str) -> None:
        assert self._client is not None
        payload = event.model_dump(mode="json")
        if self.config.dialect == "2.1":
            subject = channels.channel("ctx_file_change").subject_for(payload, group_id=group_id)
        else:
            subject = channels.channel("cli_file_change").subject_for(payload, group_id=group_id)
        await self._client.publish(subject, _dump(event))
        await self._client.flush(self._flush_timeout)

    async def _ask_121(self, event: HookEvent) -> HookResponse:
        assert self._client is not None
        payload = event.model_dump(mode="json")
        row = "cli_startup" if event.hook_type is HookType.STARTUP else "cli_hook"
        subject = channels.channel(row).subject_for(payload)
        await self._listen(event.agent_id)
        event_id = str(uuid.uuid4())
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[event_id] = future
        try:
            await self._client.publish(subject, _dump(event), headers={HOOK_EVENT_ID: event_id})
            data = await future
        finally:
            self._pending.pop(event_id, None)
        return _response(data, channels.channel("cli_response").subject_for(payload))

    async def _listen(self, agent_id: str) -> None:
        """Subscribe once per agent id to its answers (``cli.responses.{agent_id}``)."""
        assert self._client is not None
        if agent_id in self._subs:
            return
        subject = channels.channel("cli_response").subject_for({"agent_id": agent_id})
        self._subs[agent_id] = await self._client.subscribe(subject, cb=self._on_response)
        await self._client.flush(self._flush_timeout)

    async def _on_response(self, msg: Msg) -> None:
        event_id = (msg.headers or {}).get(HOOK_EVENT_ID)
        future = self._pending.get(event_id) if event_id else None
        if future is not None and not future.done():
            future.set_result(msg.data)

    async def _ask_21(self, event: HookEvent) -> HookResponse:
        assert self._client is not None
        payload = event.model_dump(mode="json")
        if event.hook_type is HookType.STARTUP:  # 2.1 announces startup without an answer
            subject = channels.channel("control_startup").subject_for(payload)
            await self._client.publish(subject, _dump(event))
            await self._client.flush(self._flush_timeout)
            return HookResponse(decision=HookDecision.APPROVE)
        subject = channels.channel("agent_hook").subject_for(payload)
        msg = await self._client.request(subject, _dump(event), timeout=self.config.timeout)
        if msg.headers and SERVICE_ERROR in msg.headers:
            raise BridgeError(f"{subject}: the hook service refused: {msg.headers[SERVICE_ERROR]}")
        return _response(msg.data, subject)


def _dump(event: HookEvent | ClaudeContext) -> bytes:
    return event.model_dump_json(by_alias=True, exclude_none=True).encode()


def _response(data: bytes, subject: str) -> HookResponse:
    try:
        return HookResponse.model_validate_json(data)
    except ValidationError:
        why = problem(HookResponse, data) or "not a HookResponse"
        raise BridgeError(f"malformed answer on {subject}: {why}") from None
