"""What the agents of one swarm share: the bus, the hook gateway, the seed, the task registry."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from nats.aio.msg import Msg

from simulator.agents.hooks import HookGateway
from simulator.bus import Bus
from simulator.protocol.models import TaskAssignment
from simulator.swarm.metrics import Metrics
from simulator.swarm.scenario import HookPolicy

__all__ = ["Holder", "Runtime", "Work"]


class Holder(Protocol):
    """An agent holding tasks: what a cancel needs of it."""

    async def cancel(self, task_id: str, reason: str) -> bool:
        """Cancel the task ``task_id`` it holds; whether it held it."""


_EARLY_CANCELS = 10_000
Source = Literal["stream", "queue", "command"]


@dataclass
class Work:
    """One assignment an agent holds, with the JetStream message to ack (stream source only)."""

    assignment: TaskAssignment
    source: Source
    msg: Msg | None = None
    retry: int = 0
    received: float = field(default_factory=time.monotonic)

    @property
    def task_id(self) -> str:
        """The task's id."""
        return self.assignment.task_id


@dataclass
class Runtime:
    """Shared by every agent of a swarm (one connection, one gateway, one registry)."""

    bus: Bus
    gateway: HookGateway
    seed: int
    policy: HookPolicy
    #: Which agent holds each task (queued or running), for cancels and ``wait_idle``.
    holders: dict[str, Holder] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    #: Cancels that came before their task (bounded, oldest dropped): honoured on arrival.
    early_cancels: OrderedDict[str, str] = field(default_factory=OrderedDict)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @property
    def metrics(self) -> Metrics:
        """The swarm's metrics."""
        return self.bus.metrics

    def notify(self) -> None:
        """Something changed (a state, a task): wake whoever waits on :attr:`changed`."""
        self.changed.set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run ``coro`` as a task kept alive until it ends; its errors go to the metrics."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.metrics.error(task.get_name(), repr(task.exception()))
        self.notify()

    def remember_cancel(self, task_id: str, reason: str) -> None:
        """Keep a cancel for a task not held (yet), so that it is cancelled when it comes."""
        self.early_cancels[task_id] = reason
        while len(self.early_cancels) > _EARLY_CANCELS:
            self.early_cancels.popitem(last=False)

    def cancel_tasks(self) -> None:
        """Cancel every spawned task (their connection is gone: they cannot finish)."""
        for task in self._tasks:
            task.cancel()

    async def wait_tasks(self) -> None:
        """Wait for every spawned task (stop paths, once nothing new is spawned)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
