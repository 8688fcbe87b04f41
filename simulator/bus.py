"""The only place the simulator touches nats-py: publish a model, subscribe, request, gather
replies, JetStream publish and pull-consume, and :func:`settle`.

Payloads go out as ``model_dump_json(by_alias=True, exclude_none=True)`` (:func:`dump`), or as
bytes already serialized (heartbeats are pre-serialized). Every publish counts one message of
its subject family (the taxonomy template's name) in :class:`~simulator.swarm.metrics.Metrics`.

Heartbeats go out on a second connection of their own, opened with ``no_echo``: a heartbeat
subscription made there (:meth:`Bus.subscribe_heartbeats`, the monitor's) receives the beats of
every other connection but not this bus's own, which reach their listeners in-process
(:meth:`Bus.on_heartbeat`) instead. At 50,000 agents a second, receiving our own beats back
through nats-py cost as much CPU as sending them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import (
    ConnectionClosedError,
    ConnectionReconnectingError,
    NoRespondersError,
    StaleConnectionError,
    UnexpectedEOF,
)
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import ServiceUnavailableError
from pydantic import BaseModel

from simulator.protocol import subjects
from simulator.protocol.headers import SERVICE_ERROR, SERVICE_ERROR_CODE
from simulator.swarm.metrics import Metrics

if TYPE_CHECKING:
    from simulator.faults.history import History

__all__ = ["MSG_ID_HEADER", "Bus", "Handler", "dump", "now", "settle", "until_closed"]

#: JetStream's de-duplication header (the dispatcher sets it to the task id).
MSG_ID_HEADER = "Nats-Msg-Id"

Handler = Callable[[Msg], Awaitable[None]]
BeatListener = Callable[[list[str]], None]
Payload = BaseModel | bytes
_logger = logging.getLogger("nats.aio.client")


async def settle(client: Client, timeout: int = 5) -> None:
    """Return once the server has processed every command ``client`` sent before the call.

    nats-py's ``flush()`` writes its PING straight to the socket, ahead of the commands
    (SUB, PUB, UNSUB) still queued for its flusher task, so its PONG proves nothing about
    them: a subscription may not exist yet when ``flush()`` returns. While the first flush
    waits, the flusher writes the queue; the second PING follows it on the wire.
    """
    await client.flush(timeout)
    await client.flush(timeout)


def dump(payload: Payload) -> bytes:
    """The wire form of a model (aliases, no nulls), or ``payload`` if it is already bytes."""
    if isinstance(payload, bytes):
        return payload
    return payload.model_dump_json(by_alias=True, exclude_none=True).encode()


def now() -> datetime:
    """The current time, timezone-aware UTC (what every timestamp is made of)."""
    return datetime.now(timezone.utc)


async def until_closed(loop: Awaitable[None]) -> None:
    """Run a background ``loop`` that publishes or fetches; when its connection closes for
    good (the server gone, the reconnects spent) it ends quietly: the run says so once."""
    with contextlib.suppress(ConnectionClosedError):
        await loop


def _error_callback(metrics: Metrics) -> Callable[[Exception], Awaitable[None]]:
    """nats-py's asynchronous errors: a permissions violation is counted (the server refused
    a publish or subscribe and the connection goes on); the rest are logged as nats-py does."""

    async def on_error(exc: Exception) -> None:
        text = " ".join(str(exc).split())
        if "permissions violation" in text.lower():
            metrics.denied(text)
        elif isinstance(exc, OSError | UnexpectedEOF | StaleConnectionError):
            # a node that is down or went away: the reconnects follow, and a connection that
            # closes for good ends the run with one line (``mistersmith run``)
            _logger.debug("nats: %s", text)
        else:
            _logger.error("nats: encountered error", exc_info=exc)

    return on_error


class Bus:
    """One nats-py connection shared by a swarm's agents, dispatcher, monitor and responder."""

    def __init__(
        self,
        client: Client,
        metrics: Metrics,
        *,
        owned: bool = False,
        beats: Client | None = None,
    ) -> None:
        self.client = client
        self.metrics = metrics
        self.js: JetStreamContext = client.jetstream()
        #: The connection heartbeats go out on (``client`` unless one was opened for them).
        self.beats = client if beats is None else beats
        self._owned = owned
        self._listeners: list[BeatListener] = []
        #: Where JetStream publishes are recorded (and retried), if anywhere.
        self.history: History | None = None

    @classmethod
    async def connect(
        cls,
        url: str | list[str],
        metrics: Metrics,
        *,
        name: str = "mistersmith",
        heartbeats: bool = False,
        options: Mapping[str, object] | None = None,
    ) -> Bus:
        """Connect to ``url`` (or a list: a cluster's nodes) and, with ``heartbeats``, open a
        ``no_echo`` heartbeat connection.

        ``options`` go to ``nats.connect`` (a secured server's credentials and TLS). The bus
        closes the connections it made in :meth:`close`.
        """
        on_error = _error_callback(metrics)
        extra = {"max_reconnect_attempts": 2, **(options or {})}  # options may override it
        client = await nats.connect(url, name=name, error_cb=on_error, **extra)
        beats = None
        if heartbeats:
            try:
                beats = await nats.connect(
                    url,
                    name=f"{name}-heartbeats",
                    no_echo=True,
                    error_cb=on_error,
                    **extra,
                )
            except BaseException:
                await client.close()
                raise
        return cls(client, metrics, owned=True, beats=beats)

    async def publish_heartbeats(self, beats: list[tuple[str, str, bytes]]) -> None:
        """Publish pre-serialized heartbeats, ``(agent_id, subject, payload)`` each.

        One call per slot of a swarm's heartbeat wheel: the count and the in-process listeners
        are told once, with every agent id of the batch.
        """
        publish = self.beats.publish
        for _, subject, payload in beats:
            await publish(subject, payload)
        self.metrics.message("agent_heartbeat", len(beats))
        if self._listeners:
            ids = [agent_id for agent_id, _, _ in beats]
            for listener in self._listeners:
                listener(ids)

    def on_heartbeat(self, listener: BeatListener) -> Callable[[], None]:
        """Call ``listener(agent_ids)`` after each batch of heartbeats this bus publishes.

        Returns a function that removes the listener.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def subscribe_heartbeats(self, handler: Handler) -> Subscription:
        """Subscribe ``handler`` to ``agents.*.heartbeat`` of other connections.

        With a heartbeat connection of its own the bus's own beats are not echoed back (see
        :meth:`on_heartbeat` for them); without one they arrive here too.
        """
        pattern = subjects.template("agent_heartbeat").wildcard
        return await self.beats.subscribe(pattern, cb=handler)

    async def publish(
        self,
        family: str,
        subject: str,
        payload: Payload,
        *,
        headers: dict[str, str] | None = None,
        reply: str = "",
        counted: bool = True,
    ) -> None:
        """Core publish of ``payload`` on ``subject`` (a subject of template ``family``);
        ``counted=False`` when the caller counted it already (a worker's final figures, which
        count themselves)."""
        await self.client.publish(subject, dump(payload), reply=reply, headers=headers)
        if counted:
            self.metrics.message(family)

    async def reply_error(self, reply: str, description: str, code: int = 400) -> None:
        """Answer a bad request at once, as NATS services do: an empty body with the headers
        ``Nats-Service-Error`` (what is wrong, naming the field) and ``Nats-Service-Error-Code``
        (spec-notes 23)."""
        headers = {SERVICE_ERROR: description, SERVICE_ERROR_CODE: str(code)}
        await self.client.publish(reply, b"", headers=headers)
        self.metrics.message("error_reply")

    async def js_publish(
        self, family: str, subject: str, payload: Payload, *, msg_id: str | None = None
    ) -> PubAck:
        """JetStream publish (waits for the PubAck); ``msg_id`` sets ``Nats-Msg-Id``.

        With a :attr:`history` set, the publish is recorded there and a failed attempt is
        retried (same ``Nats-Msg-Id``) until the history's ``retry_for`` runs out.
        """
        headers = {MSG_ID_HEADER: msg_id} if msg_id is not None else None
        if self.history is None:
            ack = await self.js.publish(subject, dump(payload), headers=headers)
        else:
            ack = await self._recorded_publish(self.history, subject, dump(payload), msg_id)
        self.metrics.message(family)
        return ack

    async def _recorded_publish(
        self, history: History, subject: str, data: bytes, msg_id: str | None
    ) -> PubAck:
        headers = {MSG_ID_HEADER: msg_id} if msg_id is not None else None
        op = history.invoke(subject, msg_id)
        pause = 0.05
        while True:
            try:
                ack = await self.js.publish(
                    subject, data, headers=headers, timeout=history.attempt_timeout
                )
            except (NatsError, asyncio.TimeoutError) as exc:
                timed_out = isinstance(exc, NatsTimeoutError | asyncio.TimeoutError)
                history.attempt_failed(op, exc, timeout=timed_out)
                if history.clock() + pause >= history.deadline(op):
                    history.gave_up(op)
                    raise
                # a back-off between attempts (the cluster is electing or a node is down)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            history.acked(op, ack.stream, ack.seq, bool(ack.duplicate))
            return ack

    async def subscribe(self, subject: str, handler: Handler, *, queue: str = "") -> Subscription:
        """Subscribe ``handler``; call :meth:`settle` before relying on the subscription."""
        return await self.client.subscribe(subject, queue=queue, cb=handler)

    async def request(
        self,
        family: str,
        subject: str,
        payload: Payload,
        *,
        timeout: float,
        headers: dict[str, str] | None = None,
    ) -> Msg:
        """Core request-reply (only on subjects no stream stores, ERRATA 10)."""
        msg = await self.client.request(subject, dump(payload), timeout=timeout, headers=headers)
        self.metrics.message(family)
        return msg

    async def gather(
        self, family: str, subject: str, payload: Payload, *, expected: int, timeout: float
    ) -> list[Msg]:
        """Publish a request and collect replies until ``expected`` came or ``timeout`` passed."""
        inbox = self.client.new_inbox()
        replies: list[Msg] = []
        enough = asyncio.Event()

        async def collect(msg: Msg) -> None:
            replies.append(msg)
            if len(replies) >= expected:
                enough.set()

        sub = await self.client.subscribe(inbox, cb=collect)
        try:
            await self.settle()
            await self.publish(family, subject, payload, reply=inbox)
            if expected > 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(enough.wait(), timeout)
        finally:
            await sub.unsubscribe()
        return list(replies)

    async def pull(self, stream: str, durable: str) -> JetStreamContext.PullSubscription:
        """Bind to the durable pull consumer ``durable`` of ``stream``."""
        return await self.js.pull_subscribe_bind(durable, stream)

    @staticmethod
    async def fetch(
        psub: JetStreamContext.PullSubscription, batch: int, timeout: float
    ) -> list[Msg]:
        """Fetch up to ``batch`` messages; an empty list when none came within ``timeout``.

        While the consumer has no leader (a node down, an election: no responders or a 503)
        also an empty list, after a pause of at most ``timeout``, so the caller's loop goes on.
        """
        try:
            return await psub.fetch(batch, timeout=timeout)
        except (NatsTimeoutError, asyncio.TimeoutError):
            return []
        except (NoRespondersError, ServiceUnavailableError, ConnectionReconnectingError):
            await asyncio.sleep(min(timeout, 0.25))  # a back-off while the cluster elects
            return []

    async def settle(self, timeout: int = 30) -> None:
        """:func:`settle` on this bus's connection (a swarm's start queues a lot before it)."""
        await settle(self.client, timeout)
        if self.beats is not self.client:
            await settle(self.beats, timeout)

    async def close(self) -> None:
        """Drain the connections if this bus made them (else leave them to their owner)."""
        if not self._owned:
            return
        for client in {id(c): c for c in (self.beats, self.client)}.values():
            if client.is_closed:
                continue
            if client.is_connected:
                await client.drain()
            else:  # reconnecting to a server that went away: its socket may be gone too
                with contextlib.suppress(OSError):
                    await client.close()
